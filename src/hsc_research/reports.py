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
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import html
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

from hsc_research import __version__, aggregate_io
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import HscError, InputError
from hsc_research.provenance import data_hash, package_versions
from hsc_research.sites import slugify

try:
    import fcntl
except ImportError:  # not on Windows: builds there are not locked
    fcntl = None

TEMPLATES = Path(__file__).with_name("templates")
SITE_NOTEBOOK = "site_report.ipynb"
NATIONAL_NOTEBOOK = "national_report.ipynb"


@dataclass
class ReportTask:
    """One report to build."""

    name: str  # display name
    slug: str  # file stem under reports/
    notebook: Path
    parameters: dict
    kind: str  # "site" or "national"


@dataclass
class ReportResult:
    """What became of one report."""

    name: str
    slug: str
    kind: str
    status: str  # "ok" or "failed"
    seconds: float
    html: str | None = None
    error: str | None = None
    parameters: dict = field(default_factory=dict)


def plan_tasks(
    paths: Paths, sites: list[tuple[str, str]], min_cell: int = MIN_CELL
) -> list[ReportTask]:
    """One task per (site id, site name) and one national task."""
    common = {"aggregates_dir": str(paths.aggregates), "min_cell": int(min_cell)}
    tasks = [
        ReportTask(
            name=name,
            slug=f"site-{slugify(site_id)}",
            notebook=paths.notebooks / SITE_NOTEBOOK,
            parameters={"site": site_id, **common},
            kind="site",
        )
        for site_id, name in sites
    ]
    tasks.append(
        ReportTask(
            "National report",
            "national",
            paths.notebooks / NATIONAL_NOTEBOOK,
            dict(common),
            "national",
        )
    )
    return tasks


def _add_toc(body: str) -> str:
    """Insert a table of contents linking the level-2 headings."""
    heads = re.findall(r'<h2 id="([^"]+)">(.*?)<a class="anchor-link"', body, flags=re.S)
    if not heads:
        return body
    items = "".join(
        f'<li><a href="#{anchor}">{re.sub(r"<[^>]+>", "", text).strip()}</a></li>'
        for anchor, text in heads
    )
    toc = f'<nav class="report-toc" aria-label="Contents"><strong>Contents</strong><ol>{items}</ol></nav>'
    # Before the cell that follows the title (the level-1 heading), else atop <main>.
    h1 = body.find("<h1")
    nxt = body.find('<div class="jp-Cell', h1) if h1 >= 0 else -1
    if nxt >= 0:
        return body[:nxt] + toc + body[nxt:]
    return body.replace("<main>", "<main>" + toc, 1)


def export_html(nb, title: str) -> str:
    """HTML of an executed notebook: code and prompts hidden, nothing fetched online."""
    nb.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(nb)
    return _add_toc(body)


@functools.cache
def _exporter():
    """One exporter per process: loading its templates costs more than using it."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


#: Papermill engine of the reports: a warm kernel per worker (:mod:`hsc_research.engine`).
#: ``None`` is papermill's own engine, a fresh kernel per report.
ENGINE: str | None = "hsc-warm"


def _execute(task: ReportTask, executed: Path):
    """Run the task's notebook with :data:`ENGINE`; a kernel that dies is replaced by a
    fresh one and the report tried once more."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    from hsc_research import engine

    if ENGINE == engine.ENGINE_NAME:
        engine.register()
    run = functools.partial(
        pm.execute_notebook,
        str(task.notebook),
        str(executed),
        parameters=task.parameters,
        kernel_name="python3",
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
                "memory, or the notebook ends its own process)"
            ) from None


def run_task(task: ReportTask, out_dir: Path, work_dir: Path) -> ReportResult:
    """Execute one notebook and write its HTML (runs in a worker process)."""
    start = time.perf_counter()
    target = out_dir / f"{task.slug}.html"
    executed = work_dir / f"{task.slug}.ipynb"
    try:
        nb = _execute(task, executed)
        page = export_html(nb, f"{task.name}: HSC interface survey findings")
        _write_report(target, page)
        status, error = "ok", None
    except Exception as exc:  # one failing report must not stop the others
        status, error = "failed", _error_line(exc)
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
    )  # fmt: skip


def _write_report(target: Path, page: str) -> None:
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


def _init_worker(work_dir: Path, parent: int) -> None:
    """Pool initializer: die with the build, and quiet the kernels (which draw without
    a screen: matplotlib's backend comes from their environment)."""
    _die_with_parent(parent)
    _quiet_kernels(work_dir)
    os.environ["MPLBACKEND"] = "Agg"


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


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{exc.filename or 'a file'}: no space left on the device; free disk space and build again"
    text = str(exc).strip()
    # papermill's PapermillExecutionError carries the notebook's own exception.
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}"
    line = text.splitlines()[-1] if text else type(exc).__name__
    return line[:300]


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
    scheduler
        ``None``: a pool of ``jobs`` worker processes here. A dask.distributed scheduler
        address (``tcp://host:8786``), or ``"local"`` for a new ``LocalCluster`` of
        ``jobs`` workers: the reports are built on its workers (:mod:`hsc_research.cluster`).
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
    """
    with build_lock(paths) if lock else contextlib.nullcontext():
        return _build(paths, sites, jobs, min_cell, progress, scheduler, worker_aggregates)


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
    if scheduler is None:
        completed = _fan_out_local(tasks, paths.reports, work_dir, jobs)
    else:
        from hsc_research import cluster

        completed = cluster.fan_out(tasks, paths.reports, work_dir, paths.aggregates,
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
    _prune(paths.reports, {r.slug for r in results if r.status == "ok"})
    return results


def _fan_out_local(
    tasks: list[ReportTask], out_dir: Path, work_dir: Path, jobs: int
) -> Iterator[ReportResult]:
    """Run ``tasks`` in a pool of worker processes of this build; yield each result as
    it completes."""
    # fork: workers start from this process (their parent, for _die_with_parent).
    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_init_worker,
        initargs=(work_dir, os.getpid()),
    ) as pool:  # fmt: skip
        futures = {pool.submit(run_task, t, out_dir, work_dir): t for t in tasks}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except Exception as exc:  # the worker itself died (killed, out of memory)
                t = futures[fut]
                yield ReportResult(t.name, t.slug, t.kind, "failed", 0.0,
                                   error=_error_line(exc), parameters=t.parameters)  # fmt: skip


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
    return [
        earlier[t.slug]
        for t in tasks
        if t.slug in earlier
        and earlier[t.slug].status == "ok"
        and (out_dir / f"{t.slug}.html").is_file()
    ]


def _prune(out_dir: Path, keep: set[str]) -> None:
    """Remove reports that are not of the current aggregates (sites no longer in the
    data, reports that failed this time) and temporary files of interrupted builds."""
    for path in out_dir.iterdir():
        report = path.suffix == ".html" and (
            path.name.startswith("site-") or path.name == "national.html"
        )
        if (report and path.stem not in keep) or (
            path.name.startswith(".") and path.name.endswith(".tmp")
        ):
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


#: Headline indicators shown for every report on the index page.
INDEX_INDICATORS = ("trust_hospital_in_asc", "trust_asc_in_hospital_discharge", "rel_discharge_asc_strong",
                    "wp_free_up_beds")  # fmt: skip


def headline_cells(
    aggregates_dir: Path, tasks: list[ReportTask], min_cell: int
) -> tuple[list[str], dict[str, list[str]]]:
    """Latest-wave estimates of :data:`INDEX_INDICATORS` per report, as display text."""
    import pandas as pd

    from hsc_research.aggregate import NATIONAL
    from hsc_research.stats.disclosure import suppressed_text

    ind = pd.read_parquet(aggregates_dir / "indicators.parquet")
    ind = ind[(ind["wave"] == ind["wave"].max()) & ind["indicator"].isin(INDEX_INDICATORS)]
    labels = dict(zip(ind["indicator"], ind["label"], strict=False))
    headers = [labels.get(i, i) for i in INDEX_INDICATORS]
    est = ind.set_index(["scope", "indicator"])["estimate"]
    cells = {}
    for t in tasks:
        scope = t.parameters.get("site", NATIONAL)
        cells[t.slug] = [
            suppressed_text(min_cell)
            if pd.isna(v := est.get((scope, i), float("nan")))
            else f"{100 * v:.0f}%"
            for i in INDEX_INDICATORS
        ]
    return headers, cells


def index_html(
    results: list[ReportResult], manifest: dict, headers: list[str] | None = None,
    cells: dict[str, list[str]] | None = None,
) -> str:  # fmt: skip
    """The index page: every report with its status and headline indicators (all text
    escaped)."""
    headers, cells = headers or [], cells or {}
    rows = []
    for r in results:
        name = html.escape(r.name)
        link = f'<a href="{html.escape(r.html)}">{name}</a>' if r.html else name
        status = "built" if r.status == "ok" else f"FAILED: {html.escape(r.error or '')}"
        values = "".join(
            f"<td>{html.escape(v)}</td>" for v in cells.get(r.slug, [""] * len(headers))
        )
        rows.append(
            f"<tr><td>{link}</td><td>{r.kind}</td><td>{status}</td>{values}<td>{r.seconds:.1f}</td></tr>"
        )
    head_cells = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    failed = sum(r.status != "ok" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>HSC interface survey: reports</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #bbb; padding: 0.3rem 0.7rem; }}
</style></head>
<body><main>
<h1>HSC interface survey: findings reports</h1>
<p>{len(results) - failed} of {len(results)} reports built
{f"<strong>({failed} failed)</strong>" if failed else ""}.
Input data SHA-256 <code>{manifest["input_sha256"][:16]}</code>, hsc-research {html.escape(manifest["version"])},
built {html.escape(manifest["started_utc"])}. Details in <a href="manifest.json">manifest.json</a>.</p>
<p>Indicator columns: latest wave, % of substantive answers.</p>
<table><thead><tr><th>Report</th><th>Kind</th><th>Status</th>{head_cells}<th>Seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</main></body></html>
"""
