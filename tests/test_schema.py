"""The declared tables: every table documented, docs/tables.md generated from the declarations."""

from pathlib import Path

from perfdata import schema

ROOT = Path(__file__).resolve().parents[1]


def test_every_table_has_a_one_line_meaning():
    assert set(schema.TABLE_DOCS) == set(schema.TABLES)


def test_contract_columns_of_the_design_are_declared():
    # the names other tools rely on (the design's table contract): present, never renamed
    contract = {
        "forms": "form_id source_file line_start line_end region department unit project_name year budget_initial "
                 "budget_full_year executed exec_rate_reported exec_weight exec_score_reported total_score_reported "
                 "goal_planned goal_achieved",
        "funding": "form_id fund_source budget_initial budget_full_year executed",
        "indicators": "form_id seq level1 level2 name target_raw actual_raw weight score deviation_note",
        "summary_rows": "source_file line_start unit seq project_name budget executed exec_rate_reported output_rate "
                        "benefit_rate satisfaction_rate total_score",
        "statements": "source_file line subject metric value",
        "anomalies": "rule category severity form_id project_name field expected found message source_file line",
        "leftovers": "source_file line text reason",
        "target_indicators": "level1 level2 level3 description target_raw basis",
        "targets": "table_no title",
    }
    for table, names in contract.items():
        declared = {c.name for c in schema.TABLES[table]}
        assert set(names.split()) <= declared, (table, set(names.split()) - declared)


def test_docs_tables_md_is_generated_from_the_schema():
    assert (ROOT / "docs" / "tables.md").read_text(encoding="utf-8") == schema.markdown()
