"""One report in a worker process: run its notebook (warm kernel), export, write atomically.

Also what each worker of the local pool does first: die with the build, quiet its kernels.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from hsc_research.errors import HscError
from hsc_research.report.export import export_html
from hsc_research.report.tasks import ReportResult, ReportTask

#: Papermill engine of the reports: a warm kernel per worker (:mod:`hsc_research.report.engine`).
#: ``None`` is papermill's own engine, a fresh kernel per report.
ENGINE: str | None = "hsc-warm"

#: Jupyter kernel of the report notebooks.
KERNEL_NAME = "python3"


def execute(task: ReportTask, executed: Path):
    """Run the task's notebook with :data:`ENGINE`; a kernel that dies is replaced by a
    fresh one and the report tried once more."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    from hsc_research.report import engine

    if ENGINE == engine.ENGINE_NAME:
        engine.register()
    run = functools.partial(
        pm.execute_notebook,
        str(task.notebook),
        str(executed),
        parameters=task.parameters,
        kernel_name=KERNEL_NAME,
        engine_name=ENGINE,
        progress_bar=False,
        log_output=False,
        # One write at the end instead of after every cell: the executed notebook
        # is a by-product, and each write costs the worker CPU the kernels need.
        request_save_on_cell_execute=False,
        cwd=str(task.notebook.parent),
    )
    try:
        return run()
    except DeadKernelError:
        engine.discard_warm_kernel()
        try:
            return run()
        except DeadKernelError:
            engine.discard_warm_kernel()
            raise HscError(
                "the report's kernel died, also when tried again in a fresh kernel (out of "
                "memory, the notebook ends its own process, or the kernel stopped answering)"
            ) from None


#: Reports this process has run (:attr:`ReportResult.worker_report`).
_reports_run = 0


def run_task(task: ReportTask, out_dir: Path, work_dir: Path) -> ReportResult:
    """Execute one notebook and write its HTML (runs in a worker process)."""
    global _reports_run
    _reports_run += 1
    start = time.perf_counter()
    target = out_dir / f"{task.slug}.html"
    executed = work_dir / f"{task.slug}.ipynb"
    try:
        nb = execute(task, executed)
        page = export_html(nb, f"{task.name}: HSC interface survey findings")
        write_report(target, page)
        status, error = "ok", None
    except Exception as exc:  # one failing report must not stop the others
        status, error = "failed", error_line(exc)
        # The traceback log is a by-product: on a full disk it cannot be written either,
        # and that must not turn one failed report into a crashed build.
        with contextlib.suppress(OSError):
            (work_dir / f"{task.slug}.error.txt").write_text(
                traceback.format_exc(), encoding="utf-8"
            )
        with contextlib.suppress(OSError):
            target.unlink(missing_ok=True)
    return ReportResult(
        name=task.name, slug=task.slug, kind=task.kind, status=status,
        seconds=round(time.perf_counter() - start, 2),
        html=target.name if status == "ok" else None, error=error, parameters=task.parameters,
        worker_report=_reports_run,
    )  # fmt: skip


def write_report(target: Path, page: str) -> None:
    """Write under a temporary name in the same folder, then rename: a failed write
    (full disk) leaves neither a half-written report nor the temporary file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(target)  # a failed write() names no file
        raise


#: ``prctl`` option that asks Linux to signal a process when its parent dies.
_PR_SET_PDEATHSIG = 1


def init_worker(work_dir: Path, parent: int) -> None:
    """Pool initializer: die with the build, and quiet the kernels (which draw without
    a screen: matplotlib's backend comes from their environment)."""
    _die_with_parent(parent)
    _quiet_kernels(work_dir)
    os.environ["MPLBACKEND"] = "Agg"
    prewarm(work_dir)


def _warm_up_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell("pass")]
    return nb


def import_build_libraries() -> None:
    """Import papermill and compile the HTML template (exporting an empty notebook)."""
    import papermill  # noqa: F401 - imported now, not during the first report

    export_html(_warm_up_notebook(), "warm-up")


def prewarm(cwd: Path) -> None:
    """Start this worker's warm kernel now, before its first report, and load papermill
    and the HTML exporter while the kernel imports the report libraries.

    A kernel that fails to start here is no error: the first report starts one (and
    fails with the reason if that cannot start either).
    """
    from hsc_research.report import engine

    if ENGINE != engine.ENGINE_NAME:
        import_build_libraries()
        return
    try:
        engine.warm_kernel(KERNEL_NAME, str(cwd), while_warming=import_build_libraries)
        # One cell through papermill: its client to the kernel and the notebook
        # validation are ready before the first report. Nothing is written.
        import papermill as pm

        engine.register()
        pm.execute_notebook(_warm_up_notebook(), None, kernel_name=KERNEL_NAME,
                            engine_name=ENGINE, progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False, cwd=str(cwd))  # fmt: skip
    except Exception:  # noqa: BLE001 - reported by the first report instead
        engine.discard_warm_kernel()


def _die_with_parent(parent: int) -> None:
    """Make this worker die when the build process dies, even by SIGKILL: an orphaned
    worker would go on writing reports after the build that owned them is gone."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # the build died before the signal was armed
        os._exit(1)
    if not armed:  # elsewhere: poll for the parent
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _quiet_kernels(work_dir: Path) -> None:
    """Send the worker's stderr, which its kernels inherit, to a log file; their
    start-up warnings would otherwise scroll through the progress bar."""
    try:
        fd = os.open(
            work_dir / f"kernels-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
        )
    except OSError:  # no log (full disk) is no reason to fail the reports
        return
    os.dup2(fd, 2)
    os.close(fd)


def error_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{exc.filename or 'a file'}: no space left on the device; free disk space and build again"
    text = str(exc).strip()
    # papermill's PapermillExecutionError carries the notebook's own exception.
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}"
    line = text.splitlines()[-1] if text else type(exc).__name__
    return line[:300]
