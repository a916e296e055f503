"""The report fan-out on a dask.distributed cluster (``build --scheduler``).

The build process stays the only writer of ``reports/``: it sends each report task to
the cluster with the notebook's text and the aggregates, and writes the HTML each worker
sends back (through the same temporary-file-and-rename as a local build). A worker needs
only the installed package (and a ``python3`` Jupyter kernel): it

- receives the aggregate tables once (broadcast to every worker, written to a private
  temporary folder per worker process, kept for the build's other reports), or reads
  them from a shared folder given as ``--worker-aggregates`` (the path as the workers
  see it), and
- runs each notebook in its warm kernel (:mod:`hsc_research.report.engine`), so workers should
  run one thread each (``dask worker ADDRESS --nthreads 1``).

A report that fails on a worker is marked failed with its error, as in a local build;
a worker that dies is replaced by the scheduler, which reruns its task elsewhere (and
gives up on a task that has killed several workers: that report is marked failed).
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from hsc_research.errors import HscError

#: ``--scheduler`` value that starts a cluster on this machine.
LOCAL = "local"

#: Seconds to wait for the scheduler at ``--scheduler ADDRESS``.
CONNECT_TIMEOUT = 30

# Aggregates received by this worker process, by their meta.json hash.
_received: dict[str, Path] = {}
_received_lock = threading.Lock()


def aggregate_files(aggregates: Path) -> dict[str, bytes]:
    """Every file of an aggregates folder, by name (what a worker needs to read it)."""
    return {p.name: p.read_bytes() for p in sorted(aggregates.iterdir()) if p.is_file()}


def _materialise(files: dict[str, bytes], sha: str) -> Path:
    """The aggregates ``files`` as a folder of this worker process (written once)."""
    with _received_lock:
        if sha in _received and _received[sha].is_dir():
            return _received[sha]
        folder = Path(tempfile.mkdtemp(prefix="hsc-aggregates-"))
        for name, data in files.items():
            (folder / name).write_bytes(data)
        if not _received:
            atexit.register(_forget_received)
        _received[sha] = folder
        return folder


def _forget_received() -> None:
    for folder in _received.values():
        shutil.rmtree(folder, ignore_errors=True)
    _received.clear()


def run_remote(task, notebook_text: str, aggregates: dict[str, bytes] | str, sha: str):
    """Build one report on a worker; returns ``(ReportResult, html or None, traceback
    or None)``.

    Parameters
    ----------
    task
        The :class:`~hsc_research.report.tasks.ReportTask` as planned by the build.
    notebook_text
        The notebook (JSON text).
    aggregates
        The aggregate files, or the path of a folder the worker can read them from.
    sha
        SHA-256 of the aggregates' ``meta.json`` (names received aggregates).
    """
    from hsc_research.report import worker

    folder = aggregates if isinstance(aggregates, str) else str(_materialise(aggregates, sha))
    with tempfile.TemporaryDirectory(prefix="hsc-report-") as tmp:
        work = Path(tmp)
        notebook = work / Path(task.notebook).name
        notebook.write_text(notebook_text, encoding="utf-8")
        (work / "out").mkdir()
        local = dataclasses.replace(
            task, notebook=notebook, parameters={**task.parameters, "aggregates_dir": folder}
        )
        result = worker.run_task(local, work / "out", work)
        page = trace = None
        page_path = work / "out" / f"{task.slug}.html"
        if result.status == "ok":
            page = page_path.read_text(encoding="utf-8")
        log = work / f"{task.slug}.error.txt"
        if log.is_file():
            trace = log.read_text(encoding="utf-8")
    result.parameters = task.parameters
    return result, page, trace


@contextlib.contextmanager
def client_for(scheduler: str, jobs: int):
    """A dask client of ``scheduler``: an address, or :data:`LOCAL` for a new
    ``LocalCluster`` of ``jobs`` single-threaded worker processes.

    Raises
    ------
    HscError
        The scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler == LOCAL:
            cluster = LocalCluster(
                n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        raise HscError(
            f"--scheduler {scheduler}: cannot connect to the dask scheduler ({exc}); check "
            "the address (tcp://host:8786) and that the scheduler is running"
        ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def fan_out(
    tasks: list,
    out_dir: Path,
    work_dir: Path,
    aggregates: Path,
    aggregates_sha: str,
    scheduler: str,
    jobs: int,
    worker_aggregates: str | None = None,
) -> Iterator:
    """Run ``tasks`` on the cluster; yield each :class:`~hsc_research.report.tasks.ReportResult`
    as it completes, its HTML written to ``out_dir``."""
    from distributed import as_completed

    from hsc_research.report import worker

    with client_for(scheduler, jobs) as client:
        if worker_aggregates is None:
            [payload] = client.scatter([aggregate_files(aggregates)], broadcast=True)
        else:
            payload = worker_aggregates
        futures = {}
        for t in tasks:
            try:
                text = Path(t.notebook).read_text(encoding="utf-8")
            except OSError as exc:
                yield _failed(t, f"{t.notebook}: cannot read the notebook ({exc.strerror})")
                continue
            fut = client.submit(run_remote, t, text, payload, aggregates_sha, pure=False)
            futures[fut] = t
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                result, page, trace = fut.result()
            except Exception as exc:  # the task's worker died (each time it was tried)
                yield _failed(t, f"the worker died: {worker.error_line(exc)}")
                continue
            if trace:
                with contextlib.suppress(OSError):
                    (work_dir / f"{t.slug}.error.txt").write_text(trace, encoding="utf-8")
            if page is not None:
                try:
                    worker.write_report(out_dir / f"{t.slug}.html", page)
                except OSError as exc:
                    result = dataclasses.replace(
                        result, status="failed", html=None, error=worker.error_line(exc)
                    )
            yield result


def _failed(task, error: str):
    from hsc_research.report.tasks import ReportResult

    return ReportResult(task.name, task.slug, task.kind, "failed", 0.0, error=error,
                        parameters=task.parameters)  # fmt: skip
