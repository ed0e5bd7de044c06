"""Progress of long commands: bars only on a terminal, one plain line per step otherwise (cron)."""

from __future__ import annotations

import io
import types

import pytest

from perfdata.report import progress


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_step_lines_when_not_on_a_terminal():
    out = io.StringIO()
    steps = progress.Steps(stream=out)
    assert not steps.bars
    with steps.step("check", "27 条规则"):
        bar = steps.bar(3, "check", "条规则")
        bar.update(3)
        bar.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("check    27 条规则 …") and "check    done (" in lines[1]
    assert "\r" not in out.getvalue() and "%|" not in out.getvalue()  # no bar in a log


def test_bars_on_a_terminal_and_no_step_lines():
    out = _Tty()
    steps = progress.Steps(stream=out)
    assert steps.bars
    calls = []
    checks = types.SimpleNamespace(RULES={"a": lambda: calls.append("a"), "b": lambda: calls.append("b")})
    original = dict(checks.RULES)
    with steps.step("check"), progress.rule_bar(checks, steps):
        for fn in checks.RULES.values():
            fn()
    assert calls == ["a", "b"] and original == checks.RULES  # the rules unwrapped again
    assert "check" in out.getvalue() and "…" not in out.getvalue()


def test_ingest_draws_no_bar_into_a_redirected_log(tmp_path, monkeypatch):
    from perfdata import cli

    seen = {}

    def fake_ingest(raw, jobs=None, progress=None):
        seen["progress"] = progress
        raise SystemExit(0)

    monkeypatch.setattr(cli, "ingest", fake_ingest)
    with pytest.raises(SystemExit):
        cli.main(["ingest", str(tmp_path), "--out", str(tmp_path / "out")])
    assert seen["progress"] is False  # stderr is not a terminal here
    with pytest.raises(SystemExit):
        cli.main(["ingest", str(tmp_path), "--out", str(tmp_path / "out"), "--progress"])
    assert seen["progress"] is True
