"""Response profile and data-quality tables for the reports.

The response profile counts respondents by group, profession and role level in each
wave; counts go through :func:`~hsc_research.stats.disclosure.suppress_counts` with the
wave total as the published margin. The data-quality table counts exclusions by reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsc_research.config import MIN_CELL
from hsc_research.instrument import Codebook
from hsc_research.stats.disclosure import suppress_linked

PROFILE_DIMENSIONS = ("group", "profession", "role_level")
REASON_TEXT = {
    "test_response": "Preview or test response (excluded by the export's mapping)",
    "partial_response": "Partial response (excluded by the export's mapping)",
    "missing_respondent_id": "No respondent id",
    "unknown_site": "Site not in the site register",
    "unknown_profession": "Profession not in the codebook",
    "invalid_wave": "Survey year missing or invalid",
    "duplicate_submission": "Earlier submission by the same respondent (latest kept)",
    "no_substantive_answer": "No substantive answer to any question",
    "invalid_value": "Answer outside the scale or unreadable",
    "self_rating": "Rated own profession where the question does not ask for it",
    "unknown_role_level": "Role level not in the codebook (respondent kept, role not stated)",
}


def response_profile(
    respondents: pd.DataFrame,
    codebook: Codebook,
    min_cell: int = MIN_CELL,
    national_scope: str = "_national",
) -> pd.DataFrame:
    """Respondents by group, profession and role level, per wave, for every site and
    nationally, with primary and secondary suppression.

    Parameters
    ----------
    respondents
        The cleaned respondents table.
    codebook
        For category order and labels.
    min_cell
        Disclosure threshold.
    national_scope
        Scope value of the national rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``scope, dimension, category, label, wave, n, pct, suppressed``; ``pct``
        is the share of the scope's wave total (missing when ``n`` is hidden). Rows with
        ``dimension == "all"`` carry the totals. Categories of a dimension add up to the
        total (a missing role level counts as "not_stated"), and sites add up to the
        nation: suppression protects both.
    """
    data = respondents.assign(
        site=respondents["site"].astype(str),
        role_level=respondents["role_level"].astype(object).fillna("not_stated"),
    )
    parts = []
    for dim in (*PROFILE_DIMENSIONS, "all"):
        keys = ["wave"] if dim == "all" else [dim, "wave"]
        site_rows = data.groupby(["site", *keys], observed=False).size().rename("n").reset_index()
        nat_rows = data.groupby(keys, observed=False).size().rename("n").reset_index()
        nat_rows.insert(0, "site", national_scope)
        rows = pd.concat([site_rows, nat_rows], ignore_index=True).rename(columns={"site": "scope"})
        rows["category"] = "total" if dim == "all" else rows[dim].astype(str)
        labels = {
            "all": {},
            "role_level": {**codebook.labels("role_level"), "not_stated": "Not stated"},
        }
        rows["label"] = (
            "All respondents"
            if dim == "all"
            else rows["category"].map(labels.get(dim) or codebook.labels(dim))
        )
        rows["dimension"] = dim
        parts.append(rows[["scope", "dimension", "category", "label", "wave", "n"]])
    table = pd.concat(parts, ignore_index=True)
    # Keep only scope x wave combinations that have respondents.
    present = table[(table["dimension"] == "all") & (table["n"] > 0)][["scope", "wave"]]
    table = table.merge(present, on=["scope", "wave"]).reset_index(drop=True)

    families = []
    for dim in PROFILE_DIMENSIONS:
        sub = table[table["dimension"].isin([dim, "all"])]
        families += [
            sub.index.to_numpy()[i] for i in sub.groupby(["scope", "wave"]).indices.values()
        ]
    # Professions add up to their group: without this family a hidden profession is the
    # group minus its published siblings.
    group_of = codebook.profession_group
    pg = table[table["dimension"].isin(["profession", "group"])]
    parent = np.where(
        pg["dimension"] == "group", pg["category"], pg["category"].map(group_of).fillna("")
    )
    families += [
        pg.index.to_numpy()[i]
        for i in pg.groupby([pg["scope"], pg["wave"], parent]).indices.values()
    ]
    families += list(table.groupby(["dimension", "category", "wave"]).indices.values())
    status = suppress_linked(table["n"].to_numpy(), [f for f in families if len(f) > 1], min_cell)
    hidden = status != None  # noqa: E711
    totals = table[table["dimension"] == "all"].set_index(["scope", "wave"])["n"]
    total = totals.reindex(pd.MultiIndex.from_frame(table[["scope", "wave"]])).to_numpy(dtype=float)
    table["pct"] = np.where(hidden, np.nan, 100 * table["n"] / total)
    table["n"] = table["n"].astype("Int64").mask(hidden)
    table["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return table


def exclusion_summary(exclusions: pd.DataFrame, national_scope: str = "_national") -> pd.DataFrame:
    """Exclusions by reason, for every site and nationally.

    Exclusion counts describe records, not respondents' answers or characteristics,
    and are published unsuppressed. National rows include exclusions whose site is
    unknown.

    Returns
    -------
    pandas.DataFrame
        Columns ``scope, level, reason, description, records, answers``, one row per
        reason that occurred in the scope.
    """
    agg = {"records": ("reason", "size"), "answers": ("n_answers", "sum")}
    known = exclusions[exclusions["site"].notna()].assign(site=lambda d: d["site"].astype(str))
    sites = known.groupby(["site", "level", "reason"], observed=True).agg(**agg).reset_index()
    nation = exclusions.groupby(["level", "reason"], observed=True).agg(**agg).reset_index()
    nation.insert(0, "site", national_scope)
    out = pd.concat([sites, nation], ignore_index=True).rename(columns={"site": "scope"})
    out["level"], out["reason"] = out["level"].astype(str), out["reason"].astype(str)
    out.insert(3, "description", out["reason"].map(REASON_TEXT))
    return out
