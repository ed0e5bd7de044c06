"""Tables → what auditors read: analysis (figures behind the reports), plots (charts), excel (the
working-paper workbook) and runner (executes the parameterised notebooks into a run folder)."""
