"""benchmarks/fuzz.py on a short seed: a few hundred mutated documents ingested in batches beside the bundled
ones, through the command line; nothing crashes, prints a traceback, hangs or loses a form of the good files."""

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz  # noqa: E402


def test_a_short_fuzz_run_loses_nothing(capsys):
    r = fuzz.main(["--n", "300", "--seed", "5", "--batch", "150", "--quiet"])
    assert r["cases"] == 300
    assert (r["crashes"], r["tracebacks"], r["hangs"], r["forms_lost"]) == (0, 0, 0, 0), r["failures"]
    assert r["peak_rss_mib"] < 1024, r["failures"]
    assert sum(r["mutant_status"].values()) == 300
    assert "cases 300  crashes 0  tracebacks 0  hangs 0" in capsys.readouterr().out


def test_the_same_seed_gives_the_same_cases():
    import random

    pool, again = fuzz.seeds(), fuzz.seeds()  # seed documents without timestamps: the same bytes every time
    assert pool == again
    a, b = random.Random(3), random.Random(3)
    assert [fuzz.mutate(a, pool) for _ in range(20)] == [fuzz.mutate(b, again) for _ in range(20)]
