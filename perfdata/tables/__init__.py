"""Grid → tidy tables: where tables start (layout), cells to header columns (align), and one module
per table kind (project forms, department forms, summaries, target tables, narrative statements)."""
