"""Statistics on any breakdown of a :class:`~hsc_research.api.survey.Survey`, with disclosure
control, and the plot that draws a distribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hsc_research.api.cells import (
    broadcast_cells,
    cell_status,
    finish_diff,
    lookup_cells,
    mask_hidden,
)

# The Examples below build their survey with it.
from hsc_research.api.survey import (
    FIELDS,
    Survey,
    SurveyError,
    as_list,
    as_survey,
    default_codebook,
    demo_survey,  # noqa: F401
    is_responses,
    list_text,
    question_of,
)
from hsc_research.config import MIN_CELL
from hsc_research.instrument import COLUMN_SEP, Codebook
from hsc_research.stats import gaps, likert, matrices, models, proportions


def proportion_high(
    data: Survey | pd.DataFrame,
    question: str | Sequence[str] | None = None,
    by: str | Sequence[str] = (),
    *,
    min_cell: int = MIN_CELL,
    alpha: float = 0.05,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Share of substantive answers at the high end of the scale, with Wilson intervals.

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        A question id, a list of them, or ``None`` for every question.
    by
        Breakdown fields (any of :data:`FIELDS`).
    min_cell
        Cells with fewer substantive answers, and the cells that would reveal them by
        subtraction, are suppressed.
    alpha
        1 - confidence level.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, measure, n, k, estimate, ci_low, ci_high, reason,
        suppressed``; ``estimate`` is a proportion in [0, 1].

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> t = proportion_high(survey, "trust", by=["site", "profession"], min_cell=10)
    >>> bool(t.loc[t["suppressed"].notna(), "estimate"].isna().all())
    True
    >>> proportion_high(survey, "trust", by="team")
    Traceback (most recent call last):
    ...
    hsc_research.api.survey.SurveyError: unknown breakdown field 'team'; fields: site, wave, profession, group, role_level
    """
    responses, cb, by = _inputs(data, codebook, by)
    questions = None if question is None else as_list(question)
    for q in questions or ():
        _check_question(responses, cb, q)
    table = proportions.proportion_high(responses, cb, by, questions=questions, alpha=alpha)
    status = cell_status(table, by, ["question", "item"], cb, min_cell)
    return mask_hidden(table, status, ("n", "k", "estimate", "ci_low", "ci_high"))


def likert_distribution(
    data: Survey | pd.DataFrame,
    question: str,
    by: str | Sequence[str] = (),
    *,
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Count and percentage of each answer level per item (what diverging bars draw).

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        Question id.
    by
        Breakdown fields (any of :data:`FIELDS`).
    min_cell
        Items whose base (substantive answers) is below it, or would reveal such a base
        by subtraction, are suppressed: their counts and percentages are missing.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, level, code, count, n, pct, suppressed``, every level
        of the scale present; ``level`` is an ordered categorical of the labels.
        :func:`diverging_bars` draws it as it is.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> d = likert_distribution(survey, "trust", by="role_level")
    >>> totals = d.groupby(["role_level", "item"], observed=True)["pct"].sum(min_count=1)
    >>> totals.dropna().round(6).unique().tolist()
    [100.0]
    """
    responses, cb, by = _inputs(data, codebook, by)
    _check_question(responses, cb, question)
    dist = likert.distribution(responses, cb, question, by)
    keys = [*by, "item"]
    cells = dist.groupby(keys, observed=True, sort=False)["n"].first().reset_index()
    status = cell_status(cells, by, ["item"], cb, min_cell)
    return mask_hidden(dist, broadcast_cells(cells, status, dist, keys), ("count", "n", "pct"))


def likert_summary(
    data: Survey | pd.DataFrame,
    question: str,
    by: str | Sequence[str] = (),
    *,
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Low / neutral / high percentages, mean and sd per item (R ``likert`` summary).

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        Question id.
    by
        Breakdown fields (any of :data:`FIELDS`).
    min_cell
        Disclosure threshold, as in :func:`proportion_high`.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, n, low, neutral, high, mean, sd, mean_code, suppressed``.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> s = likert_summary(survey, "relationships", by="group")
    >>> bool(((s["low"] + s["neutral"] + s["high"]).dropna().round(6) == 100).all())
    True
    """
    responses, cb, by = _inputs(data, codebook, by)
    _check_question(responses, cb, question)
    table = likert.likert_summary(responses, cb, question, by)
    status = cell_status(table, by, ["item"], cb, min_cell)
    return mask_hidden(table, status, ("n", "low", "neutral", "high", "mean", "sd", "mean_code"))


def rating_matrix(
    data: Survey | pd.DataFrame,
    question: str = "relationships",
    rater: str = "profession",
    by: str | Sequence[str] = (),
    *,
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Mean rating per rater x target profession, with t intervals.

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        A question asked about each profession (relationships, trust,
        discharge_influence).
    rater
        The field whose values are the rows (any of :data:`FIELDS`).
    by
        Further breakdown fields.
    min_cell
        Disclosure threshold, as in :func:`proportion_high`.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, rater, target, n, mean, sd, ci_low, ci_high, self, suppressed``.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> m = rating_matrix(survey, "relationships", rater="group")
    >>> sorted(m["rater"].unique())
    ['asc', 'community', 'hospital']
    """
    responses, cb, by = _inputs(data, codebook, by, [rater])
    _check_question(responses, cb, question)
    if not cb.question(question).by_profession:
        raise SurveyError(
            f"{question!r} is not asked about each profession; questions that are: "
            + ", ".join(q.id for q in cb.questions if q.by_profession)
        )
    table = matrices.rating_matrix(responses, cb, question, rater, by)
    profession = "rater" if rater == "profession" else None
    status = cell_status(table, [*by, "rater"], ["target"], cb, min_cell, profession)
    return mask_hidden(table, status, ("n", "mean", "sd", "ci_low", "ci_high"))


def between_raters(
    data: Survey | pd.DataFrame,
    question: str,
    rater: str = "group",
    by: str | Sequence[str] = (),
    *,
    correction: str = "bonferroni",
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """For each item, every pair of ``rater`` values compared (% high, Newcombe interval).

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        Question id.
    rater
        The field whose values are compared (group, profession, role_level, site, wave).
    by
        Further breakdown fields: each combination is one family of comparisons.
    correction
        ``"bonferroni"`` (intervals at ``1 - 0.05 / m``) or ``"none"``.
    min_cell
        A comparison with a side below it (or hidden to protect another cell) is
        suppressed, not tested and not counted in its family.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, item, rater1, rater2, n1, k1, p1, n2, k2, p2, diff, ci_low, ci_high, p,
        reason, ci_level, family_size, correction, significant, suppressed``;
        ``diff = p1 - p2``, significant exactly when the interval excludes 0.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> t = between_raters(survey, "trust", rater="role_level")
    >>> t[["rater1", "rater2"]].drop_duplicates().values.tolist()
    [['senior_leader', 'manager'], ['senior_leader', 'frontline'], ['manager', 'frontline']]
    """
    responses, cb, by = _inputs(data, codebook, by, [rater])
    _check_question(responses, cb, question)
    table = gaps.between_raters(responses, cb, question, rater, by, correction)
    cells = gaps.high_cells(responses, cb, question, [*by, rater, "item"])
    status = cell_status(cells, [*by, rater], ["item"], cb, min_cell)
    keys = [*by, rater, "item"]
    s1 = lookup_cells(cells, status, keys, table, [*by, "rater1", "item"])
    s2 = lookup_cells(cells, status, keys, table, [*by, "rater2", "item"])
    return finish_diff(table, s1, s2, correction, by)


def directional_gaps(
    data: Survey | pd.DataFrame,
    question: str = "trust",
    by: str | Sequence[str] = (),
    *,
    correction: str = "bonferroni",
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Profession A's view of B against B's view of A, for every pair of professions.

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        A question asked about each profession (trust, relationships, ...).
    by
        Breakdown fields (for example ``"site"``: one family per site).
    correction
        ``"bonferroni"`` or ``"none"``.
    min_cell
        Disclosure threshold, as in :func:`between_raters`.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, a, b, n1, k1, p1 (A rating B), n2, k2, p2 (B rating A), diff, ci_low,
        ci_high, ..., significant, suppressed``.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> g = directional_gaps(survey, "trust", by="site")
    >>> g.query("a == 'asc' and b == 'hospital_discharge'")["site"].tolist()
    ['ashford-vale', 'brackenmoor']
    """
    responses, cb, by = _inputs(data, codebook, by)
    _check_question(responses, cb, question)
    table = gaps.directional_gaps(responses, cb, question, by, correction)
    cells = gaps.high_cells(responses, cb, question, [*by, "profession", "item"])
    status = cell_status(cells, [*by, "profession"], ["item"], cb, min_cell)
    keys = [*by, "profession", "item"]
    s1 = lookup_cells(cells, status, keys, table, [*by, "a", "b"])
    s2 = lookup_cells(cells, status, keys, table, [*by, "b", "a"])
    return finish_diff(table, s1, s2, correction, by)


def in_out_group(
    data: Survey | pd.DataFrame,
    question: str = "trust",
    by: str | Sequence[str] = (),
    *,
    correction: str = "bonferroni",
    min_cell: int = MIN_CELL,
    codebook: Codebook | None = None,
) -> pd.DataFrame:
    """Each profession's own members' view of it against everyone else's.

    Parameters
    ----------
    data
        A :class:`Survey` or a ``responses`` table.
    question
        A question asked about each profession that allows self-ratings.
    by
        Breakdown fields.
    correction
        ``"bonferroni"`` or ``"none"``.
    min_cell
        Disclosure threshold. The out-group is everyone but the in-group, so when one
        side is hidden the other is too (it would give it away by subtraction).
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    pandas.DataFrame
        ``*by, target, n1, k1, p1 (in-group), n2, k2, p2 (out-group), diff, ...,
        significant, suppressed``.

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> in_out_group(survey, "trust")["target"].tolist()[:2]
    ['asc', 'care_provider']
    """
    responses, cb, by = _inputs(data, codebook, by)
    _check_question(responses, cb, question)
    table = gaps.in_out_group(responses, cb, question, by, correction)
    cells = gaps.high_cells(responses, cb, question, [*by, "profession", "item"])
    status = cell_status(cells, [*by, "profession"], ["item"], cb, min_cell)
    keys = [*by, "profession", "item"]
    s_in = lookup_cells(cells, status, keys, table, [*by, "target", "target"])
    small_out = ((table["n2"] > 0) & (table["n2"] < min_cell)).to_numpy()
    s_out = np.where(small_out, "primary", np.where(s_in != None, "secondary", None))  # noqa: E711
    return finish_diff(table, s_in, s_out.astype(object), correction, by)


def fit_ordinal(
    data: Survey | pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    *,
    reference: dict[str, str] | None = None,
    numeric: Sequence[str] = (),
    min_cell: int = MIN_CELL,
    alpha: float = 0.05,
    codebook: Codebook | None = None,
) -> models.OrdinalFit:
    """Proportional-odds (ordered logit) model of one item on respondent fields.

    Parameters
    ----------
    data
        A :class:`Survey` or ``responses`` table (then ``outcome`` is
        ``"question.item"``), or any one-row-per-respondent DataFrame holding the
        ``outcome`` column (ordered categorical or numeric codes).
    outcome
        ``"trust.asc"`` for a survey; a column name for a wide DataFrame.
    predictors
        Respondent fields or columns, entered as categories (treatment coded).
    reference
        Reference level per predictor (default: the first level in sorted order).
    numeric
        Predictors entered as numbers.
    min_cell
        Levels of a predictor with fewer answers get no coefficient of their own (their
        rows are left out; ``.notes`` says which). So does a level whose every answer is
        the lowest, or every answer the highest (no finite estimate).
    alpha
        1 - confidence level.
    codebook
        Only for a ``responses`` table from another codebook.

    Returns
    -------
    OrdinalFit
        ``.result`` (the statsmodels result: ``.summary()``, ``.predict()``) and
        ``.tidy()`` (coefficients with odds ratios; thresholds with delta-method SEs).

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=60, waves=(2019,))
    >>> fit = fit_ordinal(survey, "trust.asc", ["role_level"],
    ...                   reference={"role_level": "frontline"})
    >>> fit.tidy().query("kind == 'coefficient'")["term"].tolist()
    ['role_level=manager']
    >>> fit.notes  # too few senior leaders for a coefficient of their own
    ['role_level senior_leader left out (fewer than 10 answers)']
    """
    if isinstance(data, Survey) or is_responses(data):
        survey = as_survey(data, codebook)
        question, sep, item = outcome.partition(COLUMN_SEP)
        q = question_of(survey.codebook, question)
        if not sep or item not in {it.id for it in q.items}:
            raise SurveyError(
                f"outcome {outcome!r} must be question.item; items of {question}: "
                + ", ".join(f"{question}.{it.id}" for it in q.items)
            )
        frame = survey.wide(question).rename(columns={item: outcome})
    else:
        frame = data
    missing = [c for c in [outcome, *predictors] if c not in frame.columns]
    if missing:
        raise SurveyError(
            f"unknown column {missing[0]!r}; columns: {list_text(list(frame.columns))}"
        )
    return models.fit_ordinal(
        frame, outcome, predictors, reference=reference, alpha=alpha, numeric=numeric,
        min_cell=min_cell,
    )  # fmt: skip


def diverging_bars(dist: pd.DataFrame, scale=None, title: str | None = None, **kwargs):
    """Diverging stacked bars of a :func:`likert_distribution`, one bar per item and
    breakdown value (see :func:`hsc_research.report.plots.diverging_bars`).

    Parameters
    ----------
    dist
        A :func:`likert_distribution` table (suppressed bars are drawn empty and
        labelled suppressed).
    scale
        A :class:`~hsc_research.instrument.Scale` or codebook (default: the packaged
        codebook's scale of the question).
    title
        Figure title (default: the question's short title).
    **kwargs
        Passed to :func:`hsc_research.report.plots.diverging_bars`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
    >>> fig = diverging_bars(likert_distribution(survey.filter(role_level="manager"), "trust"))
    >>> fig.axes[0].get_title()
    'Trust'
    """
    from hsc_research.report import plots

    return plots.diverging_bars(dist, scale, title, **kwargs)


def _inputs(
    data: Survey | pd.DataFrame,
    codebook: Codebook | None,
    by: str | Sequence[str],
    extra: Sequence[str] = (),
) -> tuple[pd.DataFrame, Codebook, list[str]]:
    """The responses, the codebook and the checked breakdown fields."""
    if isinstance(data, Survey):
        responses, cb = data.responses, codebook or data.codebook
    elif is_responses(data):
        responses, cb = data, codebook or default_codebook()
    else:
        raise SurveyError(
            f"expected a Survey (hsc.load) or the responses table, not {type(data).__name__}"
        )
    by = as_list(by)
    for f in [*by, *extra]:
        if f not in FIELDS or f not in responses.columns:
            known = ", ".join(k for k in FIELDS if k in responses.columns)
            raise SurveyError(f"unknown breakdown field {f!r}; fields: {known}")
    return responses, cb, by


def _check_question(responses: pd.DataFrame, cb: Codebook, question: str) -> None:
    question_of(cb, question)
    has = ((responses["question"] == question) & (responses["status"] == "valid")).any()
    if not has:
        raise SurveyError(f"no substantive answers to {question!r} in these data")
