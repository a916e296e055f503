"""Reports to build: one task per site and a national one, and what became of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hsc_research.clean.sites import slugify
from hsc_research.config import MIN_CELL, Paths

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
    #: 1 for the first report its worker process built, 2 for the next, ... (None when
    #: not known): the first report of a worker also waits for the worker's warm-up.
    worker_report: int | None = None


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


def longest_first(tasks: list[ReportTask]) -> list[ReportTask]:
    """The order to hand ``tasks`` to the workers: the national report first.

    The national report draws every site (a heatmap of all sites, a funnel plot per
    indicator) and takes about twice as long as a site report. Started last, it runs
    alone on one worker while the others have nothing left to do; started first, the
    site reports fill in around it.

    Examples
    --------
    >>> ts = [ReportTask("A", "site-a", Path("s.ipynb"), {}, "site"),
    ...       ReportTask("National", "national", Path("n.ipynb"), {}, "national")]
    >>> [t.slug for t in longest_first(ts)]
    ['national', 'site-a']
    """
    return sorted(tasks, key=lambda t: t.kind != "national")  # stable: sites keep their order
