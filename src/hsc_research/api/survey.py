"""A cleaned survey in memory: :func:`load` reads a project's, :func:`demo_survey` makes a
synthetic one; :class:`Survey` filters by any respondent field.
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
from hsc_research.config import DEFAULT_SEED, project_paths
from hsc_research.errors import HscError
from hsc_research.instrument import Codebook, load_codebook
from hsc_research.stats.counts import KEYS

#: Respondent fields every statistic can break down by.
FIELDS: tuple[str, ...] = KEYS


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
        hsc_research.api.survey.SurveyError: unknown field 'grade'; respondent fields: respondent_id, raw_row, site, site_name, wave, profession, group, role_level, submitted_at, n_valid
        >>> survey.filter(role_level="director")
        Traceback (most recent call last):
        ...
        hsc_research.api.survey.SurveyError: unknown role_level 'director'; known values: frontline, manager, senior_leader
        """
        resp, answers, excl = self.respondents, self.responses, self.exclusions
        for field_name, wanted in criteria.items():
            values = as_list(wanted)
            known = _known_values(self.respondents, field_name)
            for v in values:
                if str(v) not in known:
                    raise SurveyError(
                        f"unknown {field_name} {v!r}; known values: {list_text(known)}"
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
        q = question_of(self.codebook, question)
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
    cb = load_codebook(codebook) if codebook is not None else default_codebook()
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

    cb = default_codebook()
    spec = synth.SynthSpec(
        sites=sites, respondents=(respondents, respondents), waves=tuple(waves), seed=seed
    )
    export, register = synth.generate(cb, spec)
    # The cleaner reads text cells, as an export file gives them.
    raw = export.astype(object).where(export.notna(), "").astype(str)
    raw.insert(0, "raw_row", np.arange(2, len(raw) + 2))
    result = clean.clean(raw, cb, register, key=seed.to_bytes(8, "big") * 4)
    return _survey(result, cb, None)


# --- helpers -----------------------------------------------------------------------
@lru_cache(maxsize=1)
def default_codebook() -> Codebook:
    return load_codebook()


def _survey(tables: CleanResult, cb: Codebook, root: Path | None) -> Survey:
    return Survey(tables.responses, tables.respondents, tables.exclusions, cb, root)


def is_responses(data: object) -> bool:
    return isinstance(data, pd.DataFrame) and {"question", "item", "status"} <= set(data.columns)


def as_survey(data: Survey | pd.DataFrame, codebook: Codebook | None) -> Survey:
    if isinstance(data, Survey):
        return data
    cb = codebook or default_codebook()
    fields = [c for c in ("respondent_id", *FIELDS) if c in data.columns]
    respondents = data[fields].drop_duplicates("respondent_id").reset_index(drop=True)
    return Survey(data, respondents, pd.DataFrame(), cb)


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


def list_text(values: list[str], limit: int = 20) -> str:
    text = ", ".join(map(str, values[:limit]))
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def question_of(cb: Codebook, question: str):
    try:
        return cb.question(question)
    except KeyError:
        known = ", ".join(q.id for q in cb.questions)
        raise SurveyError(f"unknown question {question!r}; questions: {known}") from None
