"""Report orchestration: papermill runs the notebooks, nbconvert turns them into HTML.

One task per site plus the national report. Tasks run in a pool of worker *processes*
(papermill and the Jupyter kernel machinery are not thread-safe); each worker executes
its notebook, exports HTML in-process with an offline template (code hidden, no script
fetched from the network) and writes it under a temporary name before renaming, so a
failed report never leaves a half-written file. An index page and a JSON run manifest
record every report's status and timing.
"""

from __future__ import annotations

import html
import json
import os
import platform
import re
import shutil
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hsc_research import __version__
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import InputError
from hsc_research.provenance import data_hash, package_versions
from hsc_research.sites import slugify

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
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return _add_toc(body)


def run_task(task: ReportTask, out_dir: Path, work_dir: Path) -> ReportResult:
    """Execute one notebook and write its HTML (runs in a worker process)."""
    import papermill as pm

    start = time.perf_counter()
    target = out_dir / f"{task.slug}.html"
    executed = work_dir / f"{task.slug}.ipynb"
    try:
        nb = pm.execute_notebook(
            str(task.notebook),
            str(executed),
            parameters=task.parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            # One write at the end instead of after every cell: the executed notebook
            # is a by-product, and each write costs the worker CPU the kernels need.
            request_save_on_cell_execute=False,
            cwd=str(task.notebook.parent),
        )
        page = export_html(nb, f"{task.name}: HSC interface survey findings")
        fd, tmp = tempfile.mkstemp(prefix=f".{task.slug}.", suffix=".tmp", dir=out_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is for sharing
        os.replace(tmp, target)
        status, error = "ok", None
    except Exception as exc:  # one failing report must not stop the others
        status, error = "failed", _error_line(exc)
        (work_dir / f"{task.slug}.error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        target.unlink(missing_ok=True)
    return ReportResult(
        name=task.name, slug=task.slug, kind=task.kind, status=status,
        seconds=round(time.perf_counter() - start, 2),
        html=target.name if status == "ok" else None, error=error, parameters=task.parameters,
    )  # fmt: skip


def _quiet_kernels(work_dir: Path) -> None:
    """Pool initializer: send the worker's stderr, which its kernels inherit, to a log
    file; their start-up warnings would otherwise scroll through the progress bar."""
    fd = os.open(
        work_dir / f"kernels-{os.getpid()}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644
    )
    os.dup2(fd, 2)
    os.close(fd)


def _error_line(exc: Exception) -> str:
    text = str(exc).strip()
    # papermill's PapermillExecutionError carries the notebook's own exception.
    ename, evalue = getattr(exc, "ename", None), getattr(exc, "evalue", None)
    if ename:
        text = f"{ename}: {evalue}"
    line = text.splitlines()[-1] if text else type(exc).__name__
    return line[:300]


def build(
    paths: Paths,
    sites: list[str] | None = None,
    jobs: int | None = None,
    min_cell: int = MIN_CELL,
    progress: bool = True,
) -> list[ReportResult]:
    """Build every site report, the national report, the index and the manifest.

    Parameters
    ----------
    paths
        Project paths (cleaned tables are read from ``paths.processed``).
    sites
        Site ids to build (all when ``None``); the national report is always built.
    jobs
        Worker processes (number of CPUs when ``None``).
    min_cell
        Disclosure threshold passed to every notebook.
    progress
        Show a progress bar.

    Returns
    -------
    list of ReportResult
    """
    import pandas as pd
    from tqdm import tqdm

    respondents_path = paths.processed / "respondents.parquet"
    if not respondents_path.is_file():
        raise InputError(f"{respondents_path}: not found; run `hsc-research clean` first")
    respondents = pd.read_parquet(respondents_path, columns=["site", "site_name"])
    known = respondents.drop_duplicates("site").sort_values("site")
    site_list = list(zip(known["site"].astype(str), known["site_name"].astype(str), strict=True))
    if sites:
        unknown = sorted(set(sites) - {s for s, _ in site_list})
        if unknown:
            raise InputError(
                f"--sites: unknown site id(s) {', '.join(unknown)}; see data/processed/respondents"
            )
        site_list = [s for s in site_list if s[0] in set(sites)]
    tasks = plan_tasks(paths, site_list, min_cell)

    paths.reports.mkdir(parents=True, exist_ok=True)
    work_dir = paths.processed / "report_runs"
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    results: list[ReportResult] = []
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_quiet_kernels, initargs=(work_dir,)
    ) as pool:
        futures = {pool.submit(run_task, t, paths.reports, work_dir): t for t in tasks}
        bar = tqdm(total=len(tasks), desc="reports", unit="report", disable=not progress)
        for fut in as_completed(futures):
            res = fut.result()
            results.append(res)
            bar.write(
                f"  {res.status:6s} {res.seconds:6.1f}s  {res.slug}"
                + (f"  {res.error}" if res.error else "")
            )
            bar.update()
        bar.close()
    order = {t.slug: i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order[r.slug])
    manifest = {
        "package": "hsc-research",
        "version": __version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "jobs": jobs,
        "python": platform.python_version(),
        "packages": package_versions(),
        "input_sha256": data_hash(paths.processed),
        "parameters": {"sites": sites, "jobs": jobs, "min_cell": min_cell},
        "min_cell": min_cell,
        "reports": [asdict(r) for r in results],
    }
    _write_atomic(paths.reports / "manifest.json", json.dumps(manifest, indent=2))
    headers, cells = headline_cells(paths.aggregates, tasks, min_cell)
    _write_atomic(paths.reports / "index.html", index_html(results, manifest, headers, cells))
    return results


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
