"""Audit analyses across forms, departments and years: what a reviewer does after the checks.

Each analysis takes the tidy tables (as `perfdata.load` returns them) and returns tables declared in
`schema.AUDIT_TABLES`, every row with the file and line of its evidence:

- `sample(tables, method, n, seed)` (sampling.py): forms drawn for 抽查复核, and why each was drawn;
- `compare_years(tables)` (years.py): each project linked to its form of the year before, and what changed;
- `digit_tables(tables)`, `digit_tests(tables)`, `amounts(tables)` (digits.py): Benford and last-digit tests;
- `copies(tables)` (copies.py): the same text in other departments' forms, reused indicator sets, a form
  copied from last year, actuals copied from the targets;
- `runs(reports_dir)`, `previous_run(...)`, `change_since_previous(...)` (runs.py): the report runs and what
  changed since the last run of the same inputs.

The names `runs` and `copies` here are the functions; their modules' other helpers are imported from the
modules themselves (`from perfdata.audit.runs import read_counts`).
"""

from perfdata.audit.copies import copies
from perfdata.audit.digits import amounts, digit_tables, digit_tests
from perfdata.audit.runs import change_since_previous, previous_run, runs
from perfdata.audit.sampling import allocate, sample
from perfdata.audit.years import compare_years

__all__ = ["allocate", "amounts", "change_since_previous", "compare_years", "copies", "digit_tables", "digit_tests",
           "previous_run", "runs", "sample"]
