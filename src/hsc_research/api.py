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

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hsc_research.clean import CleanResult, read_tables
from hsc_research.config import DEFAULT_SEED, MIN_CELL, project_paths
from hsc_research.errors import HscError
from hsc_research.instrument import COLUMN_SEP, Codebook, load_codebook
from hsc_research.stats import gaps, likert, matrices, models, proportions
from hsc_research.stats.counts import KEYS
from hsc_research.stats.disclosure import suppress_linked

#: Respondent fields every statistic can break down by.
FIELDS: tuple[str, ...] = KEYS
#: Columns of a difference table hidden when either side's base is hidden.
DIFF_COLUMNS = ("n1", "k1", "p1", "n2", "k2", "p2", "diff", "ci_low", "ci_high", "p", "significant")


class SurveyError(HscError, ValueError):
    """An unknown field, value or question, or data with nothing to compute."""


@dataclass(repr=False, eq=False)
class Survey:
    """A cleaned survey: the tidy tables and the codebook they follow.

    Attributes
    ----------
    responses
        One row per respondent x item (``respondent_id, site, wave, profession, group,
        role_level, question, item, target, code, label, status``); only
        ``status == "valid"`` answers enter a base.
    respondents
        One row per kept respondent (``respondent_id, raw_row, site, site_name, wave,
        profession, group, role_level, submitted_at, n_valid``).
    exclusions
        One row per exclusion with its reason (``raw_row, site, level, reason, ...``).
    codebook
        Questions, items, scales and professions.
    root
        The project folder it was loaded from (``None`` when built in memory).
    """

    responses: pd.DataFrame
    respondents: pd.DataFrame
    exclusions: pd.DataFrame
    codebook: Codebook
    root: Path | None = None

    def __repr__(self) -> str:
        r = self.respondents
        waves = sorted(int(w) for w in r["wave"].unique())
        wave_text = ("wave " if len(waves) == 1 else "waves ") + ", ".join(map(str, waves))
        return (
            f"<Survey {self.codebook.id}: {len(r):,} respondents at {r['site'].nunique()} "
            f"sites, {wave_text}; {len(self.responses):,} answers, "
            f"{len(self.exclusions):,} exclusions>"
        )

    @property
    def fields(self) -> list[str]:
        """Respondent fields :meth:`filter` accepts."""
        return list(self.respondents.columns)

    def filter(self, **criteria: Any) -> Survey:
        """The respondents (and their answers) whose fields match every criterion.

        Parameters
        ----------
        **criteria
            A respondent field (see :attr:`fields`) and one value or a list of values,
            for example ``site="north-vale"`` or ``role_level=["manager", "frontline"]``.
            Exclusions are filtered by the criteria on fields they have (``site``).

        Returns
        -------
        Survey
            A new survey; the tables keep their dtypes (and categories).

        Raises
        ------
        SurveyError
            An unknown field or value, naming the known ones.

        Examples
        --------
        >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
        >>> managers = survey.filter(role_level=["manager", "senior_leader"])
        >>> sorted(managers.respondents["role_level"].unique())
        ['manager', 'senior_leader']
        >>> survey.filter(grade="band 5")
        Traceback (most recent call last):
        ...
        hsc_research.api.SurveyError: unknown field 'grade'; respondent fields: respondent_id, raw_row, site, site_name, wave, profession, group, role_level, submitted_at, n_valid
        >>> survey.filter(role_level="director")
        Traceback (most recent call last):
        ...
        hsc_research.api.SurveyError: unknown role_level 'director'; known values: frontline, manager, senior_leader
        """
        resp, answers, excl = self.respondents, self.responses, self.exclusions
        for field_name, wanted in criteria.items():
            values = _as_list(wanted)
            known = _known_values(self.respondents, field_name)
            for v in values:
                if str(v) not in known:
                    raise SurveyError(
                        f"unknown {field_name} {v!r}; known values: {_list_text(known)}"
                    )
            wanted_text = {str(v) for v in values}
            resp = resp[_matches(resp[field_name], wanted_text)]
            if field_name in answers.columns:
                answers = answers[_matches(answers[field_name], wanted_text)]
            if field_name in excl.columns:
                excl = excl[_matches(excl[field_name], wanted_text)]
        if not set(criteria) <= set(answers.columns):
            answers = answers[answers["respondent_id"].isin(resp["respondent_id"]).to_numpy()]
        return replace(self, responses=answers, respondents=resp, exclusions=excl)

    def wide(self, question: str) -> pd.DataFrame:
        """One row per respondent with the question's items as ordered categorical columns.

        Parameters
        ----------
        question
            Question id (``survey.codebook.questions`` lists them).

        Returns
        -------
        pandas.DataFrame
            The respondent fields (``respondent_id, site, site_name, wave, profession,
            group, role_level``), then one column per item (named by the item id), whose
            values are the answer labels as an ordered categorical (low to high). Answers
            that are not substantive (don't know, not applicable, blank, not asked) are
            missing.

        Examples
        --------
        >>> survey = demo_survey(sites=2, respondents=40, waves=(2019,))
        >>> w = survey.wide("trust")
        >>> len(w) == len(survey.respondents), w["asc"].cat.categories.tolist()
        (True, ['Strongly disagree', 'Disagree', 'Agree', 'Strongly agree'])
        """
        q = _question(self.codebook, question)
        scale = self.codebook.scale_of(question)
        r = self.responses
        sel = r.loc[
            ((r["question"] == question) & (r["status"] == "valid")).to_numpy(),
            ["respondent_id", "item", "code"],
        ]
        codes = (
            sel.astype({"respondent_id": str, "item": str, "code": "int64"})
            .set_index(["respondent_id", "item"])["code"]
            .unstack("item")
        )
        wanted = dict.fromkeys(("respondent_id", "site", "site_name", *FIELDS))
        fields = [c for c in wanted if c in self.respondents.columns]
        out = self.respondents[fields].reset_index(drop=True)
        ids = out["respondent_id"].astype(str)
        label = dict(zip(scale.codes, scale.labels, strict=True))
        for item in q.items:
            col = (
                codes[item.id].reindex(ids).map(label).to_numpy(dtype=object)
                if item.id in codes
                else np.full(len(out), np.nan, dtype=object)
            )
            out[item.id] = pd.Categorical(col, dtype=scale.dtype)
        return out


def load(root: str | Path = ".", codebook: str | Path | None = None) -> Survey:
    """Load a project's cleaned survey (``data/processed/`` under ``root``).

    Parameters
    ----------
    root
        The project folder (the one holding ``data/``), as a path or a string.
    codebook
        A codebook YAML (default: the packaged ``hsc2019.yaml``).

    Returns
    -------
    Survey

    Raises
    ------
    InputError
        No cleaned tables (run ``hsc-research clean`` first) or unreadable ones.

    Examples
    --------
    >>> load("no/such/project")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hsc_research.errors.InputError: .../no/such/project/data/processed/responses.parquet: not found; run `hsc-research clean` first
    """
    paths = project_paths(root)
    cb = load_codebook(codebook) if codebook is not None else _default_codebook()
    tables = read_tables(paths.processed)
    return _survey(tables, cb, paths.root)


def demo_survey(
    sites: int = 3,
    respondents: int = 60,
    waves: Sequence[int] = (2014, 2019),
    seed: int = DEFAULT_SEED,
) -> Survey:
    """A synthetic survey built in memory (nothing is written): for trying the API.

    Parameters
    ----------
    sites
        Number of sites.
    respondents
        Respondents per site and wave.
    waves
        Survey years.
    seed
        Random seed (the same seed gives the same survey).

    Returns
    -------
    Survey

    Examples
    --------
    >>> demo_survey(sites=2, respondents=30, waves=(2019,)).respondents["site"].nunique()
    2
    """
    from hsc_research import clean
    from hsc_research.demo import synth

    cb = _default_codebook()
    spec = synth.SynthSpec(
        sites=sites, respondents=(respondents, respondents), waves=tuple(waves), seed=seed
    )
    export, register = synth.generate(cb, spec)
    # The cleaner reads text cells, as an export file gives them.
    raw = export.astype(object).where(export.notna(), "").astype(str)
    raw.insert(0, "raw_row", np.arange(2, len(raw) + 2))
    result = clean.clean(raw, cb, register, key=seed.to_bytes(8, "big") * 4)
    return _survey(result, cb, None)


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
    hsc_research.api.SurveyError: unknown breakdown field 'team'; fields: site, wave, profession, group, role_level
    """
    responses, cb, by = _inputs(data, codebook, by)
    questions = None if question is None else _as_list(question)
    for q in questions or ():
        _check_question(responses, cb, q)
    table = proportions.proportion_high(responses, cb, by, questions=questions, alpha=alpha)
    status = cell_status(table, by, ["question", "item"], cb, min_cell)
    return _mask(table, status, ("n", "k", "estimate", "ci_low", "ci_high"))


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
    return _mask(dist, _broadcast(cells, status, dist, keys), ("count", "n", "pct"))


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
    return _mask(table, status, ("n", "low", "neutral", "high", "mean", "sd", "mean_code"))


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
    return _mask(table, status, ("n", "mean", "sd", "ci_low", "ci_high"))


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
    s1 = _lookup(cells, status, keys, table, [*by, "rater1", "item"])
    s2 = _lookup(cells, status, keys, table, [*by, "rater2", "item"])
    return _finish_diff(table, s1, s2, correction, by)


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
    s1 = _lookup(cells, status, keys, table, [*by, "a", "b"])
    s2 = _lookup(cells, status, keys, table, [*by, "b", "a"])
    return _finish_diff(table, s1, s2, correction, by)


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
    s_in = _lookup(cells, status, keys, table, [*by, "target", "target"])
    small_out = ((table["n2"] > 0) & (table["n2"] < min_cell)).to_numpy()
    s_out = np.where(small_out, "primary", np.where(s_in != None, "secondary", None))  # noqa: E711
    return _finish_diff(table, s_in, s_out.astype(object), correction, by)


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
        rows are left out; ``.notes`` says which).
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
    if isinstance(data, Survey) or _is_responses(data):
        survey = _as_survey(data, codebook)
        question, sep, item = outcome.partition(COLUMN_SEP)
        q = _question(survey.codebook, question)
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
            f"unknown column {missing[0]!r}; columns: {_list_text(list(frame.columns))}"
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


def cell_status(
    table: pd.DataFrame,
    keys: Sequence[str],
    item_cols: Sequence[str],
    codebook: Codebook,
    min_cell: int = MIN_CELL,
    profession: str | None = "profession",
    base: str = "n",
) -> np.ndarray:
    """Primary and secondary suppression of the cells of a breakdown, as the reports do.

    Each row of ``table`` is one cell with its base. Along every breakdown field the
    cells that differ only in that field add up to a total a researcher can publish
    (the same statistic without that field), and professions add up to their group; so
    each such set is a family for :func:`~hsc_research.stats.disclosure.suppress_linked`.

    Parameters
    ----------
    table
        One row per cell.
    keys
        Breakdown fields.
    item_cols
        Columns that name what is counted (question, item): cells of different items
        never add up.
    codebook
        For the profession's group.
    min_cell
        Disclosure threshold.
    profession
        The key column holding profession ids (used only when it is one of ``keys``).
    base
        The base column.

    Returns
    -------
    numpy.ndarray
        ``"primary"``, ``"secondary"`` or ``None`` per row.

    Examples
    --------
    Professions at one site: 12 and 4 answers, 9 and 30 at another. The 4 and the 9
    are primary; each needs a second hidden cell in its site (the 12, the 30), and the
    column families are then already protected.

    >>> from hsc_research.instrument import load_codebook
    >>> t = pd.DataFrame({"site": ["a", "a", "b", "b"], "profession": ["gp", "asc"] * 2,
    ...                   "item": "x", "n": [12, 4, 9, 30]})
    >>> cell_status(t, ["site", "profession"], ["item"], load_codebook(), 10).tolist()
    ['secondary', 'primary', 'primary', 'secondary']
    """
    n = table[base].to_numpy(dtype=float)
    cols = [*keys, *item_cols]
    frame = pd.DataFrame({c: table[c].astype(str).to_numpy() for c in cols})
    families: list[np.ndarray] = []
    for k in keys:
        others = [c for c in cols if c != k]
        families += _groups(frame, others)
    if profession in keys:
        grouped = frame.assign(_group=frame[profession].map(codebook.profession_group))
        families += _groups(grouped, [*(c for c in cols if c != profession), "_group"])
    return suppress_linked(n, [f for f in families if len(f) > 1], min_cell)


# --- helpers -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _default_codebook() -> Codebook:
    return load_codebook()


def _survey(tables: CleanResult, cb: Codebook, root: Path | None) -> Survey:
    return Survey(tables.responses, tables.respondents, tables.exclusions, cb, root)


def _is_responses(data: object) -> bool:
    return isinstance(data, pd.DataFrame) and {"question", "item", "status"} <= set(data.columns)


def _as_survey(data: Survey | pd.DataFrame, codebook: Codebook | None) -> Survey:
    if isinstance(data, Survey):
        return data
    cb = codebook or _default_codebook()
    fields = [c for c in ("respondent_id", *FIELDS) if c in data.columns]
    respondents = data[fields].drop_duplicates("respondent_id").reset_index(drop=True)
    return Survey(data, respondents, pd.DataFrame(), cb)


def _inputs(
    data: Survey | pd.DataFrame,
    codebook: Codebook | None,
    by: str | Sequence[str],
    extra: Sequence[str] = (),
) -> tuple[pd.DataFrame, Codebook, list[str]]:
    """The responses, the codebook and the checked breakdown fields."""
    if isinstance(data, Survey):
        responses, cb = data.responses, codebook or data.codebook
    elif _is_responses(data):
        responses, cb = data, codebook or _default_codebook()
    else:
        raise SurveyError(
            f"expected a Survey (hsc.load) or the responses table, not {type(data).__name__}"
        )
    by = _as_list(by)
    for f in [*by, *extra]:
        if f not in FIELDS or f not in responses.columns:
            known = ", ".join(k for k in FIELDS if k in responses.columns)
            raise SurveyError(f"unknown breakdown field {f!r}; fields: {known}")
    return responses, cb, by


def _question(cb: Codebook, question: str):
    try:
        return cb.question(question)
    except KeyError:
        known = ", ".join(q.id for q in cb.questions)
        raise SurveyError(f"unknown question {question!r}; questions: {known}") from None


def _check_question(responses: pd.DataFrame, cb: Codebook, question: str) -> None:
    _question(cb, question)
    has = ((responses["question"] == question) & (responses["status"] == "valid")).any()
    if not has:
        raise SurveyError(f"no substantive answers to {question!r} in these data")


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _known_values(frame: pd.DataFrame, field_name: str) -> list[str]:
    if field_name not in frame.columns:
        raise SurveyError(
            f"unknown field {field_name!r}; respondent fields: {', '.join(frame.columns)}"
        )
    return sorted({str(v) for v in frame[field_name].dropna().unique()})


def _matches(col: pd.Series, wanted: set[str]) -> np.ndarray:
    """Rows whose value, as text, is one of ``wanted`` (a wave matches 2019 or "2019")."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        # Compare the few categories, not tens of millions of cells.
        ok = np.append(col.cat.categories.astype(str).isin(wanted), False)
        return ok[col.cat.codes.to_numpy()]  # code -1 (missing) picks the final False
    return col.astype(str).isin(wanted).to_numpy()


def _list_text(values: list[str], limit: int = 20) -> str:
    text = ", ".join(map(str, values[:limit]))
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def _groups(frame: pd.DataFrame, cols: list[str]) -> list[np.ndarray]:
    if not cols:
        return [np.arange(len(frame))]
    return [np.asarray(i) for i in frame.groupby(cols, sort=False).indices.values()]


def _key_index(frame: pd.DataFrame, cols: Sequence[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame[c].astype(str).to_numpy() for c in cols])


def _lookup(
    cells: pd.DataFrame,
    status: np.ndarray,
    cell_keys: Sequence[str],
    table: pd.DataFrame,
    table_keys: Sequence[str],
) -> np.ndarray:
    """``status`` of the cell each row of ``table`` rests on (``None`` if none)."""
    series = pd.Series(status, index=_key_index(cells, cell_keys), dtype=object)
    found = series.reindex(_key_index(table, table_keys)).to_numpy(dtype=object)
    return np.where(pd.isna(found), None, found).astype(object)


def _broadcast(cells, status, table, keys) -> np.ndarray:
    return _lookup(cells, status, keys, table, keys)


def _mask(table: pd.DataFrame, status: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
    """Hide ``columns`` of the rows with a status; mark them in ``suppressed``."""
    hidden = np.asarray([s is not None for s in status], dtype=bool)
    out = table.copy()
    for col in columns:
        if col not in out.columns:
            continue
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("boolean").mask(hidden)
        elif pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].astype("Int64").mask(hidden)
        else:
            out[col] = out[col].astype("float64").mask(hidden)
    out["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return out


def _finish_diff(
    table: pd.DataFrame, s1: np.ndarray, s2: np.ndarray, correction: str, by: Sequence[str]
) -> pd.DataFrame:
    """Family-wise intervals over the published comparisons, then hide the rest."""
    # A comparison is as hidden as its more hidden side.
    status = np.where((s1 == "primary") | (s2 == "primary"), "primary",
                      np.where((s1 != None) | (s2 != None), "secondary", None)).astype(object)  # noqa: E711  # fmt: skip
    hidden = status != None  # noqa: E711
    finished = gaps.finish(table, correction, family=list(by), hidden=hidden)
    return _mask(finished, status, DIFF_COLUMNS)
