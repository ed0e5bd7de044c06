"""The rule tables: every shipped CSV loads strictly; a shifted row is an error naming its line."""

from importlib import resources

import pytest

from perfdata import rules

SHIPPED = sorted(p.name for p in resources.files("perfdata.rules").iterdir() if p.name.endswith(".csv"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_rules_table_loads(name):
    rows = rules.table(name)
    assert rows, name
    assert all(all(v is not None for v in r.values()) for r in rows)


def test_a_row_with_an_unquoted_comma_names_its_line():
    text = "id,title,why\n# comment\na,标题,fine\nb,标题,because of x, y and z\n"
    with pytest.raises(ValueError, match=r"perfdata/rules/t.csv:4: 4 fields, the header has 3"):
        rules.parse_table(text, "t.csv")


def test_quoted_commas_are_one_field():
    assert rules.parse_table('id,why\na,"x, y"\n', "t.csv") == ({"id": "a", "why": "x, y"},)
