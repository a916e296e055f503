"""The researcher's surface: load a survey, then statistics on any breakdown.

Everything here is re-exported by the package, so in JupyterLab::

    import hsc_research as hsc

    survey = hsc.load("path/to/project")          # after `hsc-research clean`
    hsc.proportion_high(survey, "trust", by=["site", "profession"])

Every statistic takes a :class:`Survey` (or the ``responses`` table), breaks down by any
respondent field in :data:`FIELDS` and applies the reports' disclosure control:
a cell resting on fewer than ``min_cell`` answers (default :data:`~hsc_research.config.MIN_CELL`),
and the further cells that would let it be recovered by subtraction from a margin (the
cells of each breakdown field add up to the total over that field, professions to their
group), are marked in ``suppressed`` (``"primary"`` / ``"secondary"``) with their numbers
missing, never 0. Comparisons with a hidden side are not tested and do not count in the
family of their Bonferroni-level intervals (:mod:`~hsc_research.stats.multiplicity`).

An unknown field, value or question is a one-line :class:`SurveyError` (a
``ValueError``) naming what is known, never an empty result.

Examples
--------
>>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
>>> survey
<Survey hsc2019: 80 respondents at 2 sites, wave 2019; 2,880 answers, 0 exclusions>
>>> t = proportion_high(survey, "trust", by="group")
>>> t.columns.tolist()
['group', 'question', 'item', 'measure', 'n', 'k', 'estimate', 'ci_low', 'ci_high', 'reason', 'suppressed']
"""

from hsc_research.api.cells import cell_status
from hsc_research.api.statistics import (
    between_raters,
    directional_gaps,
    diverging_bars,
    fit_ordinal,
    in_out_group,
    likert_distribution,
    likert_summary,
    proportion_high,
    rating_matrix,
)
from hsc_research.api.survey import FIELDS, Survey, SurveyError, demo_survey, load

__all__ = [
    "FIELDS", "Survey", "SurveyError", "between_raters", "cell_status", "demo_survey",
    "directional_gaps", "diverging_bars", "fit_ordinal", "in_out_group", "likert_distribution",
    "likert_summary", "load", "proportion_high", "rating_matrix",
]  # fmt: skip
