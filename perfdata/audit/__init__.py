"""Audit analyses across forms, departments and years: what a reviewer does after the checks.

Each analysis takes the tidy tables (as `perfdata.load` returns them) and returns tables declared in
`schema.AUDIT_TABLES`, every row with the file and line of its evidence.
"""
