"""Report orchestration: papermill runs the notebooks, nbconvert turns them into HTML.

One task per site plus the national report. Tasks run in a pool of worker *processes*
(papermill and the Jupyter kernel machinery are not thread-safe); each worker executes
its notebook, exports HTML in-process with an offline template (code hidden, no script
fetched from the network) and writes it under a temporary name before renaming, so a
failed report never leaves a half-written file. An index page and a JSON run manifest
record every report's status and timing.

A build first verifies the aggregates (nothing starts on missing, corrupt or stale
tables), holds the project's lock (one build at a time), runs workers that die with it
(a killed build leaves no orphan writing reports), writes the index and manifest
together through temporary files (a full disk leaves the previous pair), and then
removes every report that is not of the current aggregates. Stale reports are removed
rather than moved aside: ``reports/`` is what gets published, and a report of a site
that left the data (withdrawn, or misregistered) must not stay publishable.

``build(pdf=True)`` then prints each report to PDF through the system Chromium
(:func:`write_pdfs`); a PDF is kept only while it matches its HTML. The index sorts and
filters with one inline script and no other resource (:func:`index_html`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import multiprocessing
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path

from hsc_research import __version__
from hsc_research.aggregate import io as aggregate_io
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import HscError, InputError
from hsc_research.provenance import data_hash, package_versions
from hsc_research.report.index import headline_cells, index_html
from hsc_research.report.pdf import PdfError, write_pdfs
from hsc_research.report.tasks import ReportResult, ReportTask, longest_first, plan_tasks
from hsc_research.report.worker import error_line, import_build_libraries, init_worker, run_task

try:
    import fcntl
except ImportError:  # not on Windows: builds there are not locked
    fcntl = None

#: Lock file of a project's build, in ``reports/`` (holds the builder's pid).
LOCK_NAME = ".build.lock"


@contextlib.contextmanager
def build_lock(paths: Paths) -> Iterator[None]:
    """Hold the project's build lock: one build at a time writes ``reports/``.

    The lock is an ``flock`` on ``reports/.build.lock``, so the system releases it
    when the build dies, however it dies.

    Raises
    ------
    HscError
        Another build holds the lock ("another build is running (pid N) ...").
    """
    lock_path = paths.reports / LOCK_NAME
    try:
        paths.reports.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise HscError(
            f"{lock_path}: cannot create the build lock ({exc.strerror}); free disk space or "
            f"make {paths.reports} writable, then build again"
        ) from None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise HscError(
                    f"another build is running (pid {holder}) in {paths.root}; wait for it "
                    "to finish (or stop it), then build again"
                ) from None
            with contextlib.suppress(OSError):  # the pid is a courtesy to the next build
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def build(
    paths: Paths,
    sites: list[str] | None = None,
    jobs: int | None = None,
    min_cell: int = MIN_CELL,
    progress: bool = True,
    lock: bool = True,
    pdf: bool = False,
    scheduler: str | None = None,
    worker_aggregates: str | None = None,
) -> list[ReportResult]:
    """Build every site report, the national report, the index and the manifest.

    The aggregates are verified first (every table present and as ``meta.json``
    lists it, computed from the cleaned tables now in ``data/processed``); no report
    starts otherwise. Afterwards ``reports/`` holds exactly the reports of these
    aggregates: reports of sites they no longer hold are removed.

    Parameters
    ----------
    paths
        Project paths (aggregates are read from ``paths.aggregates``).
    sites
        Site ids to build (all when ``None``); the national report is always built.
        Reports of the other sites are kept (and listed) when the previous build used
        the same aggregates, else removed.
    jobs
        Worker processes (number of CPUs when ``None``).
    min_cell
        Disclosure threshold passed to every notebook.
    progress
        Show a progress bar.
    lock
        Take the project's build lock (:func:`build_lock`); ``False`` when the caller
        holds it.
    pdf
        Also write each built report as ``reports/<name>.pdf`` (:func:`write_pdfs`).
    scheduler
        ``None``: a pool of ``jobs`` worker processes here. A dask.distributed scheduler
        address (``tcp://host:8786``), or ``"local"`` for a new ``LocalCluster`` of
        ``jobs`` workers: the reports are built on its workers (:mod:`hsc_research.report.cluster`).
    worker_aggregates
        With ``scheduler``: the aggregates folder as the workers see it (a shared
        path); ``None`` sends the aggregates to the workers.

    Returns
    -------
    list of ReportResult

    Raises
    ------
    HscError
        Aggregates missing, corrupt or stale; another build running; the index or
        manifest cannot be written (the previous ones are then left as they were).
    PdfError
        ``pdf`` asked for and Chromium (or Playwright) missing, or a PDF could not be
        written; the HTML reports, the index and the manifest are built all the same
        (the error carries the results).
    """
    with build_lock(paths) if lock else contextlib.nullcontext():
        return _build(paths, sites, jobs, min_cell, progress, pdf, scheduler, worker_aggregates)


def _verified_meta(paths: Paths, min_cell: int) -> dict:
    try:  # without (readable) cleaned tables the aggregates stand on their own
        cleaned: str | None = data_hash(paths.processed)
    except OSError:
        cleaned = None
    meta = aggregate_io.verify(paths.aggregates, cleaned)
    if meta.get("min_cell") != min_cell:
        raise InputError(
            f"{paths.aggregates}: computed with min_cell={meta.get('min_cell')}, the build asks "
            f"for {min_cell}; run `hsc-research aggregate --min-cell {min_cell}`"
        )
    return meta


def _build(
    paths: Paths, sites: list[str] | None, jobs: int | None, min_cell: int, progress: bool,
    pdf: bool = False,
    scheduler: str | None = None, worker_aggregates: str | None = None,
) -> list[ReportResult]:  # fmt: skip
    from tqdm import tqdm

    meta = _verified_meta(paths, min_cell)
    site_list = sorted((str(s), str(n)) for s, n in meta["sites"].items())
    if sites:
        unknown = sorted(set(sites) - {s for s, _ in site_list})
        if unknown:
            raise InputError(
                f"--sites: unknown site id(s) {', '.join(unknown)}; the aggregates hold "
                f"{', '.join(s for s, _ in site_list)}"
            )
    current = plan_tasks(paths, site_list, min_cell)
    tasks = [
        t for t in current if not sites or t.kind == "national" or t.parameters["site"] in sites
    ]
    aggregates_sha = aggregate_io.file_sha256(paths.aggregates / aggregate_io.META_NAME)

    work_dir = paths.processed / "report_runs"
    try:
        paths.reports.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
    except OSError as exc:
        raise _write_error(exc, work_dir, "") from None
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results: list[ReportResult] = []
    run_order = longest_first(tasks)
    if scheduler is None:
        completed = _fan_out_local(run_order, paths.reports, work_dir, jobs)
    else:
        from hsc_research.report import cluster

        completed = cluster.fan_out(run_order, paths.reports, work_dir, paths.aggregates,
                                    aggregates_sha, scheduler, jobs, worker_aggregates)  # fmt: skip
    bar = tqdm(total=len(tasks), desc="reports", unit="report", disable=not progress)
    for res in completed:
        results.append(res)
        bar.write(
            f"  {res.status:6s} {res.seconds:6.1f}s  {res.slug}"
            + (f"  {res.error}" if res.error else "")
        )
        bar.update()
    bar.close()
    if sites:
        rebuilt = {r.slug for r in results}
        others = [t for t in current if t.slug not in rebuilt]
        results += _carried(paths.reports, aggregates_sha, others)
    order = {t.slug: i for i, t in enumerate(current)}
    results.sort(key=lambda r: order[r.slug])
    pdf_error = write_pdfs(paths.reports, results, max(meta["waves"])) if pdf else None
    manifest = {
        "package": "hsc-research",
        "version": __version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "jobs": jobs,
        "python": platform.python_version(),
        "packages": package_versions(),
        "input_sha256": meta["input_sha256"],
        "aggregates_sha256": aggregates_sha,
        "parameters": {
            "sites": sites,
            "jobs": jobs,
            "min_cell": min_cell,
            "pdf": pdf,
            "scheduler": scheduler,
        },  # fmt: skip
        "min_cell": min_cell,
        "reports": [asdict(r) for r in results],
    }
    headers, cells = headline_cells(paths.aggregates, current, min_cell)
    _publish(
        paths.reports,
        {
            "manifest.json": json.dumps(manifest, indent=2),
            "index.html": index_html(results, manifest, headers, cells),
        },
    )
    _prune(paths.reports, {r.slug for r in results if r.status == "ok"},
           {r.pdf for r in results if r.pdf})  # fmt: skip
    if pdf_error:
        raise PdfError(pdf_error, results)
    return results


def _fan_out_local(
    tasks: list[ReportTask], out_dir: Path, work_dir: Path, jobs: int
) -> Iterator[ReportResult]:
    """Run ``tasks`` in a pool of worker processes of this build; yield each result as
    it completes."""
    # fork: workers start from this process (their parent, for _die_with_parent).
    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    if context is not None:
        # Loaded once here, before the workers fork, instead of once in each worker.
        import_build_libraries()
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=init_worker,
        initargs=(work_dir, os.getpid()),
    ) as pool:  # fmt: skip
        futures = {pool.submit(run_task, t, out_dir, work_dir): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker itself died (killed, out of memory)
                t = futures[fut]
                yield ReportResult(t.name, t.slug, t.kind, "failed", 0.0,
                                   error=error_line(exc), parameters=t.parameters)  # fmt: skip


def _carried(out_dir: Path, aggregates_sha: str, tasks: list[ReportTask]) -> list[ReportResult]:
    """Reports of ``tasks`` built by the previous build from these same aggregates
    (a ``--sites`` build keeps them); any other report of them is stale."""
    try:
        previous = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        if previous.get("aggregates_sha256") != aggregates_sha:
            return []
        names = {f.name for f in fields(ReportResult)}
        earlier = {r["slug"]: ReportResult(**{k: v for k, v in r.items() if k in names})
                   for r in previous["reports"]}  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []  # no usable manifest: nothing can be shown to be current
    carried = [
        earlier[t.slug]
        for t in tasks
        if t.slug in earlier
        and earlier[t.slug].status == "ok"
        and (out_dir / f"{t.slug}.html").is_file()
    ]
    for r in carried:  # a PDF is listed only while it is there
        if r.pdf and not (out_dir / r.pdf).is_file():
            r.pdf = None
    return carried


def _prune(out_dir: Path, keep: set[str], keep_pdfs: set[str] = frozenset()) -> None:
    """Remove reports that are not of the current aggregates (sites no longer in the
    data, reports that failed this time), PDFs this build did not write or carry (they
    would no longer match their HTML) and temporary files of interrupted builds."""
    for path in out_dir.iterdir():
        report = path.suffix in (".html", ".pdf") and (
            path.name.startswith("site-") or path.stem == "national"
        )
        stale = path.stem not in keep if path.suffix == ".html" else path.name not in keep_pdfs
        if (report and stale) or (path.name.startswith(".") and path.name.endswith(".tmp")):
            with contextlib.suppress(OSError):
                path.unlink()


def _write_error(exc: OSError, path: Path, note: str) -> HscError:
    what = (
        "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
    )
    todo = "free disk space" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "fix the permissions"
    return HscError(
        f"{exc.filename or path}: cannot write ({what}); {todo}, then run `hsc-research build` "
        f"again{note}"
    )


def _publish(out_dir: Path, files: dict[str, str]) -> None:
    """Write the files of one build together: every one to a temporary file first,
    then each renamed into place, so a failure (full disk) leaves the previous set."""
    tmps: list[tuple[Path, Path]] = []
    target = out_dir
    try:
        for name, text in files.items():
            target = out_dir / name
            tmp = out_dir / f".{name}.tmp"
            tmps.append((tmp, target))
            tmp.write_text(text, encoding="utf-8")
        for tmp, target in tmps:
            os.replace(tmp, target)
    except OSError as exc:
        exc.filename = str(target)  # name the file the user knows, not our temporary one
        raise _write_error(
            exc, out_dir, f"; the previous {' and '.join(files)} are left as they were"
        ) from None
    finally:
        for tmp, _ in tmps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
