"""perfdata: read budget performance self-evaluation documents into tidy tables for auditors."""

from perfdata.checks import check
from perfdata.ingest import ingest, read
from perfdata.scoring import rescore
from perfdata.store import load

__version__ = "0.1.0"
__all__ = ["check", "ingest", "load", "read", "rescore", "__version__"]
