"""perfdata: read budget performance self-evaluation documents into tidy tables for auditors."""

from perfdata.checks import check
from perfdata.ingest import ingest, read
from perfdata.scoring import rescore
from perfdata.store import load

__version__ = "0.1.0"
__all__ = ["check", "ingest", "load", "read", "rescore", "runs", "sample", "__version__"]

# the audit analyses (perfdata.audit) import rapidfuzz: loaded on first use, so `import perfdata` stays cheap
_AUDIT = {"sample": "perfdata.audit.sampling", "runs": "perfdata.audit.runs"}


def __getattr__(name: str):
    """perfdata.sample(tables, method=..., n=..., seed=...) and perfdata.runs("reports/"), imported when used."""
    if name in _AUDIT:
        import importlib

        value = getattr(importlib.import_module(_AUDIT[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'perfdata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_AUDIT))
