"""hsc-research: staff surveys at the health and social care interface.

The public API (what ``import hsc_research as hsc`` offers; see :mod:`hsc_research.api`):

- ``hsc.load(root)`` -> :class:`~hsc_research.api.Survey` (responses, respondents,
  exclusions, codebook; ``.wide(question)``, ``.filter(field=value)``);
  ``hsc.demo_survey()`` builds a synthetic one in memory;
- statistics on any breakdown, with disclosure control (``min_cell``):
  ``proportion_high``, ``likert_distribution``, ``likert_summary``, ``rating_matrix``,
  ``between_raters``, ``directional_gaps``, ``in_out_group``, ``fit_ordinal``;
- ``diverging_bars`` draws a ``likert_distribution``; ``adjust_p`` gives Holm or
  Benjamini-Hochberg p-values for a researcher's own families.

Importing the package is cheap and changes no global state: the API is loaded on first
use.

Examples
--------
>>> import hsc_research as hsc
>>> "load" in hsc.__all__ and "proportion_high" in dir(hsc)
True
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: The package version: the one place it is written (pyproject.toml reads it from here).
__version__ = "0.1.0"

_API = {
    "load": "hsc_research.api",
    "demo_survey": "hsc_research.api",
    "Survey": "hsc_research.api",
    "SurveyError": "hsc_research.api",
    "FIELDS": "hsc_research.api",
    "proportion_high": "hsc_research.api",
    "likert_distribution": "hsc_research.api",
    "likert_summary": "hsc_research.api",
    "rating_matrix": "hsc_research.api",
    "between_raters": "hsc_research.api",
    "directional_gaps": "hsc_research.api",
    "in_out_group": "hsc_research.api",
    "fit_ordinal": "hsc_research.api",
    "diverging_bars": "hsc_research.api",
    "OrdinalFit": "hsc_research.stats.models",
    "adjust_p": "hsc_research.stats.multiplicity",
    "MIN_CELL": "hsc_research.config",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    # Loaded on first use (PEP 562): pandas, statsmodels and scipy stay out of a bare
    # `import hsc_research`, which the CLI and the report workers do.
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hsc_research' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
