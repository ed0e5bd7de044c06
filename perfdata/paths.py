"""Where things live in a checkout (the CLI's defaults); everything else takes paths as arguments."""

from pathlib import Path

ROOT = Path.cwd()
RAW = ROOT / "data" / "raw"
PROCESSED = ROOT / "data" / "processed"
REPORTS = ROOT / "reports"
