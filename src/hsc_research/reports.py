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

from hsc_research import __version__
from hsc_research.aggregate import io as aggregate_io
from hsc_research.clean.sites import slugify
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import HscError, InputError
from hsc_research.provenance import data_hash, package_versions

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
    pdf: str | None = None  # file name under reports/ when built with --pdf


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


# ----------------------------------------------------------------------------- PDF

#: Chromium flags for printing: nothing is fetched or synced, no GPU is needed.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run")  # fmt: skip


class PdfError(HscError):
    """PDFs could not be written; the HTML reports, index and manifest were."""

    def __init__(self, message: str, results: list[ReportResult]) -> None:
        super().__init__(message)
        self.results = results


def find_chromium() -> str | None:
    """Path of the system Chromium (``HSC_CHROMIUM`` overrides), or ``None``."""
    given = os.environ.get("HSC_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pdf_unavailable() -> str | None:
    """Why PDFs cannot be written here (one line naming what to install), or ``None``."""
    if find_chromium() is None:
        return ("--pdf needs the system Chromium, which is not installed: install it "
                "(Debian/Ubuntu: apt-get install chromium) or set HSC_CHROMIUM to its path; "
                "the HTML reports were built")  # fmt: skip
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("--pdf needs the Python package playwright, which is not installed: run "
                "`pip install playwright` (no browser download needed); the HTML reports were built")  # fmt: skip
    return None


def footer_html(name: str, wave: int | str) -> str:
    """Running footer of every PDF page: report name, survey wave, page n of m.

    Chromium fills the ``pageNumber`` and ``totalPages`` spans; the name comes from the
    data, so it is escaped.

    Examples
    --------
    >>> "A &amp; B &lt;i&gt;" in footer_html("A & B <i>", 2019)
    True
    """
    return (
        '<div style="font-size:9pt;font-family:sans-serif;width:100%;margin:0 12mm;'
        'display:flex;justify-content:space-between;color:#222">'
        f"<span>{html.escape(str(name))}, HSC interface survey, {html.escape(str(wave))} wave</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>'
    )


def write_pdfs(out_dir: Path, results: list[ReportResult], wave: int) -> str | None:
    """Write each built report in ``results`` as ``<slug>.pdf`` beside its HTML.

    One headless system Chromium (fresh profile, every request that is not a local file
    refused) prints every report with the reports' print styles: sections start on a new
    page, figures and tables are not split, and each page has a running footer
    (:func:`footer_html`). Each PDF is written under a temporary name and renamed.
    Sets ``pdf`` on each result whose PDF was written.

    Parameters
    ----------
    out_dir
        The ``reports/`` folder holding the HTML reports.
    results
        Reports of this build; those with status "ok" are printed.
    wave
        Survey wave the reports describe (shown in the footer).

    Returns
    -------
    str or None
        ``None`` when every PDF was written, else a one-line error naming what to install
        or which PDF failed.
    """
    if reason := pdf_unavailable():
        return reason
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    failures = []
    try:
        with sync_playwright() as pw:
            # launch() gives each run a fresh temporary profile, removed on close.
            browser = pw.chromium.launch(executable_path=find_chromium(), headless=True,
                                         args=list(CHROMIUM_FLAGS))  # fmt: skip
            try:
                context = browser.new_context(offline=True)
                context.route("**/*", _local_only)
                for r in results:
                    if r.status != "ok" or not r.html:
                        continue
                    r.pdf = None
                    target = out_dir / f"{r.slug}.pdf"
                    try:
                        _print_pdf(context, out_dir / r.html, target, footer_html(r.name, wave))
                        r.pdf = target.name
                    except (PlaywrightError, OSError) as exc:
                        failures.append(f"{target}: {_error_line(exc)}")
            finally:
                browser.close()
    except PlaywrightError as exc:  # Chromium would not start
        return (f"--pdf: Chromium ({find_chromium()}) did not start ({_error_line(exc)}); "
                "reinstall it or set HSC_CHROMIUM to a working Chromium; the HTML reports were built")  # fmt: skip
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{failures[0]}{more}; the HTML reports were built, run the build again"
    return None


def _local_only(route) -> None:
    """Reports are self-contained: anything but a local file or inline data is refused."""
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def _print_pdf(context, source: Path, target: Path, footer: str) -> None:
    page = context.new_page()
    try:
        page.goto(source.as_uri(), wait_until="load")
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            page.pdf(
                path=tmp, format="A4", print_background=True, display_header_footer=True,
                header_template="<span></span>", footer_template=footer,
                margin={"top": "15mm", "bottom": "18mm", "left": "12mm", "right": "12mm"},
                outline=True, tagged=True,
            )  # fmt: skip
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    finally:
        page.close()


# ----------------------------------------------------------------------------- index

#: Headline indicators shown for every report on the index page.
INDEX_INDICATORS = ("trust_hospital_in_asc", "trust_asc_in_hospital_discharge", "rel_discharge_asc_strong",
                    "wp_free_up_beds")  # fmt: skip


def headline_cells(
    aggregates_dir: Path, tasks: list[ReportTask], min_cell: int
) -> tuple[list[str], dict[str, list[tuple[str, float | None]]]]:
    """Latest-wave estimates of :data:`INDEX_INDICATORS` per report.

    Returns
    -------
    headers : list of str
        The indicators' labels.
    cells : dict
        Per report slug, one ``(text, sort value)`` per indicator: the estimate as the
        reports print it (:func:`hsc_research.formatting.pct`, half away from zero) and
        in percent for sorting; ``(suppressed text, None)`` when not published.
    """
    import pandas as pd

    from hsc_research.aggregate import NATIONAL
    from hsc_research.formatting import pct
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
            (suppressed_text(min_cell), None)
            if pd.isna(v := est.get((scope, i), float("nan")))
            else (pct(v), 100 * float(v))
            for i in INDEX_INDICATORS
        ]
    return headers, cells


#: The index's only script: sort by any column, filter by report name. It reads the
#: table already in the page (which is complete without it) and writes text only
#: through textContent, so nothing from the data is ever parsed as HTML.
INDEX_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("reports");
  if (!table || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var rows = Array.prototype.slice.call(body.rows);
  var status = document.getElementById("index-status");
  function announce() {
    var shown = rows.filter(function (r) { return !r.hidden; }).length;
    status.textContent = shown + " of " + rows.length + " reports shown";
  }
  function key(row, i, numeric) {
    var cell = row.cells[i];
    if (numeric) {
      var v = cell.getAttribute("data-sort");
      return v === null || v === "" ? null : parseFloat(v);
    }
    return cell.textContent.trim().toLowerCase();
  }
  function sortBy(i) {
    var th = heads[i];
    var numeric = th.getAttribute("data-type") === "number";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    for (var j = 0; j < heads.length; j++) {
      heads[j].removeAttribute("aria-sort");
      heads[j].querySelector(".sort-mark").textContent = "";
    }
    th.setAttribute("aria-sort", dir);
    th.querySelector(".sort-mark").textContent = dir === "ascending" ? " \\u25b2" : " \\u25bc";
    var sign = dir === "ascending" ? 1 : -1;
    var order = rows.map(function (r, n) { return [key(r, i, numeric), n, r]; });
    order.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {  // unpublished values last, either way
        return a[0] === b[0] ? a[1] - b[1] : (a[0] === null ? 1 : -1);
      }
      var c = numeric ? a[0] - b[0] : a[0].localeCompare(b[0]);
      return c ? sign * c : a[1] - b[1];
    });
    order.forEach(function (o) { body.appendChild(o[2]); });
    announce();
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var button = document.createElement("button");
    button.type = "button";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    var mark = document.createElement("span");
    mark.className = "sort-mark";
    mark.setAttribute("aria-hidden", "true");
    button.appendChild(mark);
    button.addEventListener("click", function () { sortBy(i); });
    th.appendChild(button);
  });
  var input = document.getElementById("report-filter");
  input.addEventListener("input", function () {
    var q = input.value.trim().toLowerCase();
    rows.forEach(function (r) {
      r.hidden = q !== "" && r.cells[0].textContent.toLowerCase().indexOf(q) < 0;
    });
    announce();
  });
  document.getElementById("index-controls").hidden = false;
  announce();
})();
"""

INDEX_CSS = """
body { font-family: sans-serif; color: #1a1a1a; background: #fff; max-width: 72rem;
       margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }
a { color: #0b57d0; }
table { border-collapse: collapse; }
caption { text-align: left; font-weight: bold; padding: 0.3rem 0; }
td, th { border: 1px solid #767676; padding: 0.3rem 0.7rem; vertical-align: top; }
td.num { text-align: right; }
th { text-align: left; }
th button { font: inherit; font-weight: bold; color: inherit; background: none; border: 0;
            padding: 0; cursor: pointer; text-align: left; text-decoration: underline dotted; }
th button:focus-visible, input:focus-visible, .table-scroll:focus-visible { outline: 2px solid #0b57d0; outline-offset: 2px; }
.table-scroll { overflow-x: auto; max-width: 100%; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
                   clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; }
#index-controls { margin: 1rem 0; }
#index-controls input { font: inherit; padding: 0.2rem 0.4rem; margin-left: 0.5rem; }
"""


def _csp(script: str) -> str:
    """A content security policy that lets the page load nothing from anywhere: only its
    own inline style and this exact inline script run."""
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; "
            "img-src data:; base-uri 'none'; form-action 'none'")  # fmt: skip


def _sort_attr(key: float | None) -> str:
    """Right-aligned number cell with its value for sorting (none when unpublished)."""
    return ' class="num"' if key is None else f' class="num" data-sort="{key:.6f}"'


def index_html(
    results: list[ReportResult], manifest: dict, headers: list[str] | None = None,
    cells: dict[str, list[tuple[str, float | None]]] | None = None,
) -> str:  # fmt: skip
    """The index page: every report with its status, headline indicators and PDF.

    The table is complete without JavaScript; a small inline script (no file, nothing
    fetched: the page's security policy allows nothing else) makes every column header
    a sort button (``aria-sort``) and adds a filter by report name. Everything from the
    data is escaped.
    """
    headers, cells = headers or [], cells or {}
    esc = html.escape
    any_pdf = any(r.pdf for r in results)
    rows = []
    for r in results:
        name = esc(r.name)
        link = f'<a href="{esc(r.html)}">{name}</a>' if r.html else name
        status = "built" if r.status == "ok" else f"FAILED: {esc(r.error or '')}"
        values = "".join(
            f"<td{_sort_attr(key)}>{esc(text)}</td>"
            for text, key in cells.get(r.slug, [("", None)] * len(headers))
        )
        pdf = ""
        if any_pdf:
            pdf = (f'<td><a href="{esc(r.pdf)}">PDF<span class="visually-hidden"> of {name}</span></a></td>'
                   if r.pdf else "<td>none</td>")  # fmt: skip
        rows.append(
            f"<tr><td>{link}</td><td>{esc(r.kind)}</td><td>{status}</td>{values}{pdf}"
            f'<td class="num" data-sort="{r.seconds:.2f}">{r.seconds:.1f}</td></tr>'
        )
    head_cells = "".join(f'<th scope="col" data-type="number">{esc(h)}</th>' for h in headers)
    pdf_head = '<th scope="col">PDF</th>' if any_pdf else ""
    failed = sum(r.status != "ok" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_csp(INDEX_SCRIPT)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>HSC interface survey: reports</title>
<style>{INDEX_CSS}</style></head>
<body><main>
<h1>HSC interface survey: findings reports</h1>
<p>{len(results) - failed} of {len(results)} reports built{f" <strong>({failed} failed)</strong>" if failed else ""}.
Input data SHA-256 <code>{esc(str(manifest["input_sha256"])[:16])}</code>, hsc-research {esc(manifest["version"])},
built {esc(manifest["started_utc"])}. Details in <a href="manifest.json">manifest.json</a>.</p>
<p>Indicator columns: latest wave, % of substantive answers. Select a column heading to sort
by it; select it again to reverse the order.</p>
<div id="index-controls" hidden><label for="report-filter">Filter reports by name</label>
<input type="search" id="report-filter" autocomplete="off">
<p id="index-status" role="status" aria-live="polite"></p></div>
<div class="table-scroll" tabindex="0" role="region" aria-label="Reports and headline indicators">
<table id="reports"><caption>Reports and headline indicators</caption>
<thead><tr><th scope="col">Report</th><th scope="col">Kind</th><th scope="col">Status</th>{head_cells}{pdf_head}<th scope="col" data-type="number">Seconds</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></div>
</main>
<script>{INDEX_SCRIPT}</script>
</body></html>
"""
