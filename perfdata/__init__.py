"""perfdata: read budget performance self-evaluation documents into tidy tables for auditors."""

from perfdata.ingest import ingest, read
from perfdata.store import load

__version__ = "0.1.0"
__all__ = ["ingest", "load", "read", "__version__"]
