from conftest import XIANGHE, XINXIANG


def test_other_tables_are_recognised_not_read_as_project_forms(bundled):
    t = bundled["tables"]
    kinds = t.groupby(["source_file", "kind"]).size().to_dict()
    assert kinds[(XINXIANG, "summary")] == 5
    assert kinds[(XINXIANG, "department_form")] == 1
    assert kinds[(XIANGHE, "target_table")] >= 36
    assert (bundled["forms"].source_file == XIANGHE).sum() == 0
    summary_lines = t[(t.source_file == XINXIANG) & (t.kind == "summary")].line_start.tolist()
    assert summary_lines == [135, 302, 386, 492, 622]


def test_procurement_table_with_a_project_name_column_is_not_a_form(bundled):
    # 香河县 line 2729 has a "项目名称" cell in a 政府采购 table: no form there
    f = bundled["forms"]
    assert not (f.source_file == XIANGHE).any()
