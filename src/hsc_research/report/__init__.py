"""Reports: from the aggregates to published HTML (and PDF), one notebook per report.

What a report notebook shows (each cell calls one function and displays what it returns;
nothing here computes a statistic, everything is read from the disclosure-controlled
aggregates):

- :mod:`.context`: :func:`load_context`, the aggregates, codebook and scope of one report;
- :mod:`.text`: title, headline sentences (written by :mod:`.findings`), methods;
- :mod:`.tables`: the report's HTML tables; :mod:`.glance`: the first screen;
- :mod:`.figures`: the report's figures (drawn by :mod:`.plots`), as SVG with their data;
- :mod:`.formatting`: the one rounding rule of every printed number.

How reports are built: :mod:`.tasks` (what to build), :mod:`.build` (verify, fan out,
publish), :mod:`.worker` (one report in a worker: papermill, export, atomic write),
:mod:`.engine` and :mod:`.kernel_state` (the warm kernel), :mod:`.cluster` (dask),
:mod:`.export` (nbconvert, offline template), :mod:`.index` (the index page),
:mod:`.pdf` (Chromium).

A notebook writes ``from hsc_research import report`` and then ``report.title(ctx)``:
the section functions load on first use, so building (which imports :mod:`.build`)
does not import pandas or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_SECTIONS = {
    "context": ("Context", "load_context"),
    "text": ("title", "headlines", "methods", "accounting_text"),
    "tables": (
        "html_table", "profile_table", "gap_analysis", "change_table", "self_view_table",
        "trust_gap_table", "quality_table", "model_table", "role_level_table", "trend_table",
    ),
    "glance": ("at_a_glance",),
    "figures": (
        "figure", "stack", "ranked_figure", "trust_bars", "relationship_heatmaps",
        "funnel_figures", "site_heatmap", "trend_figure",
    ),
}  # fmt: skip
_HOME = {name: module for module, names in _SECTIONS.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
