"""Progress of long commands (`check`, `report`, `run`): bars on a terminal, plain one-line step logs otherwise.

On a terminal (stderr is a TTY) each step shows a tqdm bar (files, rules, notebook cells) that disappears when
the step ends; redirected to a file or a cron mail, each step instead writes one line when it starts and one
when it ends, with the time of day, and no bar is drawn.
"""

from __future__ import annotations

import functools
import sys
import time
from contextlib import contextmanager


def on_terminal(stream=None) -> bool:
    stream = stream or sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Steps:
    """Logs of a command's steps. `bars` is None for "on a terminal only"."""

    def __init__(self, bars: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.bars = on_terminal(self.stream) if bars is None else bars

    def log(self, text: str) -> None:
        """One plain line (only when no bars are drawn: on a terminal the bars say it)."""
        if not self.bars:
            print(f"{time.strftime('%H:%M:%S')} {text}", file=self.stream, flush=True)

    def bar(self, total: int, desc: str, unit: str):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not self.bars, file=self.stream)

    @contextmanager
    def step(self, name: str, detail: str = ""):
        """`with steps.step("check", "27 rules"):` logs the start and the end with its time."""
        self.log(f"{name:<8} {detail} …".rstrip())
        t0 = time.perf_counter()
        yield
        self.log(f"{name:<8} done ({time.perf_counter() - t0:.1f} s)")


@contextmanager
def rule_bar(checks, steps: Steps):
    """A bar over the check's rules while they run (their functions in checks.RULES, wrapped meanwhile)."""
    rules = getattr(checks, "RULES", None)
    if not steps.bars or not isinstance(rules, dict) or not rules:
        yield
        return
    saved = dict(rules)
    bar = steps.bar(len(saved), "check", "条规则")

    def wrap(rid, fn):
        @functools.wraps(fn)
        def run(*args, **kw):
            bar.set_postfix_str(rid, refresh=False)
            try:
                return fn(*args, **kw)
            finally:
                bar.update(1)
        return run

    rules.update({rid: wrap(rid, fn) for rid, fn in saved.items()})
    try:
        yield
    finally:
        rules.clear()
        rules.update(saved)
        bar.close()
