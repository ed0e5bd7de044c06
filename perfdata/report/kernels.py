"""Report kernels started, with the notebooks' imports loaded, before the data they report on exists.

Why: starting a kernel and importing pandas, matplotlib and perfdata costs each report notebook about 3.5 s
of CPU, and none of it depends on the data. `perfdata run` ingests and checks on one core for the first
seconds; kernels started then use the other one, so the notebooks begin with their first analysis.

One thread per notebook owns its kernel from start to shutdown (jupyter_client's asyncio sockets belong to
the event loop of the thread that made them): it starts the kernel, imports what the notebook imports
(modules only, nothing bound in the notebook's namespace), waits to be handed the notebook, executes it with
papermill on that kernel, and shuts the kernel down. A kernel that fails to start or to warm up is not an
error: the notebook then starts its own, as without warm kernels.
"""

from __future__ import annotations

import ast
import contextlib
import json
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

WARM_TIMEOUT = 120  # seconds a kernel may take to start and import before the notebook starts its own
# the kernel's own start/stop chatter would fill a cron mail; cell errors still come back through the notebook
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


def imported_modules(path: str | Path) -> list[str]:
    """Modules the code cells of a notebook import at their top level, in order (what a warm kernel loads).

    `from perfdata.report import plots` gives perfdata.report and perfdata.report.plots (a name imported
    from a package may be a submodule; a name that is not one is skipped when the kernel imports).
    Cells that are not Python (magics) are skipped.

    >>> mods = imported_modules(Path(__file__).parents[2] / "notebooks" / "forms.ipynb")
    >>> [m for m in mods if m.startswith("perfdata")]
    ['perfdata', 'perfdata.report', 'perfdata.report.analysis', 'perfdata.report.plots', 'perfdata.report.display']
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse(source if isinstance(source, str) else "".join(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                out += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                out += [node.module, *(f"{node.module}.{a.name}" for a in node.names if a.name != "*")]
    return list(dict.fromkeys(out))


def warm_code(modules: list[str]) -> str:
    """What a warm kernel runs (silently): import each module, leaving no name behind.

    >>> ns = {}
    >>> exec(warm_code(["json", "json.decoder", "json.no_such_module"]), ns)
    >>> sorted(k for k in ns if not k.startswith("__"))
    []
    """
    return ("def _perfdata_warm(names):\n"
            "    import importlib\n"
            "    for name in names:\n"
            "        try:\n"
            "            importlib.import_module(name)\n"
            "        except Exception:\n"
            "            pass\n"
            f"_perfdata_warm({modules!r})\n"
            "del _perfdata_warm\n")


class _Slot:
    """One notebook's kernel and the thread that owns it."""

    def __init__(self, name: str, path: Path, kernel: str):
        self.name, self.path, self.kernel = name, path, kernel
        self.future: Future = Future()
        self.job: tuple | None = None
        self.go = threading.Event()
        self.km = None
        self.warm_seconds: float | None = None  # start + imports, when the kernel warmed up
        self.warm_error: str | None = None  # why it did not (the notebook then started its own)
        self.thread = threading.Thread(target=self._serve, name=f"perfdata-kernel-{name}", daemon=True)
        self.thread.start()

    def _serve(self):
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import ensure_event_loop

        loop = ensure_event_loop()
        km = None
        try:
            t0 = time.perf_counter()
            try:
                km = self.km = AsyncKernelManager(kernel_name=self.kernel)
                loop.run_until_complete(_warm_up(km, warm_code(imported_modules(self.path))))
                self.warm_seconds = round(time.perf_counter() - t0, 3)
            except Exception as e:  # noqa: BLE001 - the notebook then starts its own kernel
                self.warm_error = f"{type(e).__name__}: {e}"
                if km is not None:
                    with contextlib.suppress(Exception):
                        loop.run_until_complete(_stop(km))
                km = None
            self.go.wait()
            if self.job is None:  # closed before it was needed
                return
            folder = self.job[2]
            if km is not None:
                try:
                    loop.run_until_complete(_run_silently(km, f"import os\nos.chdir({str(folder)!r})\ndel os\n"))
                except Exception:  # noqa: BLE001
                    with contextlib.suppress(Exception):
                        loop.run_until_complete(_stop(km))
                    km = None
            from perfdata.report.runner import _execute

            self.future.set_result(_execute(*self.job, km=km))
        except BaseException as e:  # noqa: BLE001 - handed to whoever waits for the notebook
            if not self.future.done():
                self.future.set_exception(e)
        finally:
            if km is not None:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(_stop(km))

    def submit(self, job: tuple) -> Future:
        self.job = job
        self.go.set()
        return self.future

    def close(self):
        """Not handed a notebook: stop the kernel now, even mid-start (its thread then sees it gone)."""
        if self.job is None:
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            with contextlib.suppress(Exception):
                if process is not None:
                    process.kill()
        self.go.set()


async def _warm_up(km, code: str):
    """Start the kernel and import the notebook's modules in it."""
    await km.start_kernel(extra_arguments=KERNEL_ARGUMENTS)
    await _run_silently(km, code)


async def _run_silently(km, code: str):
    """Run CODE in the kernel without output or history; fails when the kernel dies or takes WARM_TIMEOUT."""
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=WARM_TIMEOUT)
        msg_id = kc.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + WARM_TIMEOUT
        while True:
            try:
                reply = await kc.get_shell_msg(timeout=1)
            except queue.Empty:
                if not await km.is_alive():
                    raise RuntimeError("the kernel died") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no reply in {WARM_TIMEOUT} s") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"kernel: {reply['content'].get('ename')}: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


async def _stop(km):
    """Stop a kernel at once: its notebook, if it had one, is written already (a graceful stop waits ~0.7 s)."""
    try:
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
    finally:
        await km.cleanup_resources()


class WarmKernels:
    """Kernels for report notebooks, started now and handed their notebook later (runner.run_report).

        kernels = WarmKernels({"forms": path}, "python3")
        try:
            ...  # ingest, check
            run_report(..., kernels=kernels)
        finally:
            kernels.close()  # shuts down every kernel not handed a notebook
    """

    def __init__(self, notebooks: dict[str, Path], kernel: str = "python3"):
        self.kernel = kernel
        self.slots = {name: _Slot(name, Path(path), kernel) for name, path in notebooks.items()}

    def covers(self, notebooks: dict[str, Path], kernel: str) -> bool:
        """Whether these kernels were started for exactly these notebooks (else run_report starts its own)."""
        return kernel == self.kernel and {n: Path(p) for n, p in notebooks.items()} == {
            n: s.path for n, s in self.slots.items()}

    def submit(self, name: str, *job) -> Future:
        """Execute notebook NAME on its kernel: runner._execute(name, *job) → Future of its NotebookRun."""
        return self.slots[name].submit((name, *job))

    def warm_seconds(self) -> dict[str, float]:
        return {n: s.warm_seconds for n, s in self.slots.items() if s.warm_seconds is not None}

    def warm_errors(self) -> dict[str, str]:
        """Why a kernel did not warm up, by notebook (its notebook started a kernel of its own)."""
        return {n: s.warm_error for n, s in self.slots.items() if s.warm_error is not None}

    def close(self, timeout: float = 30):
        """Shut down every kernel (those not handed a notebook at once, the others once their notebook ends)."""
        for s in self.slots.values():
            s.close()
        for s in self.slots.values():
            s.thread.join(timeout)
