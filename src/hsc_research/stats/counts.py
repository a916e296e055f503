"""Answer counts: the one pass over the responses that every statistic starts from.

A counts table has one row per (grouping keys, question, item, code) with the number
of substantive answers in ``count``. Every proportion, distribution, mean and standard
deviation the reports need follows from it exactly, so a million respondents are
reduced once and each statistic then works on a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hsc_research.instrument import Codebook

#: Respondent fields a counts table can be grouped by.
KEYS = ("site", "wave", "profession", "group", "role_level")


def answer_counts(data: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Counts of substantive answers by ``by`` keys, question, item and code.

    Parameters
    ----------
    data
        The ``responses`` table (or a filtered view of it), or a counts table that
        is summed up to ``by`` again.
    by
        Respondent fields to keep (any of :data:`KEYS`).

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, question, item, code, count``; only combinations that occur.
    """
    keys = [*by, "question", "item", "code"]
    if "count" in data.columns:
        return data.groupby(keys, observed=True, sort=False)["count"].sum().reset_index()
    valid = data[data["status"] == "valid"]
    out = valid.groupby(keys, observed=True, sort=False).size().rename("count").reset_index()
    out["code"] = out["code"].astype("int8")
    return out


def with_group(counts: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Add the respondent ``group`` derived from ``profession`` when missing."""
    if "group" in counts.columns or "profession" not in counts.columns:
        return counts
    out = counts.copy()
    group = out["profession"].astype(str).map(codebook.profession_group)
    out["group"] = pd.Categorical(group, dtype=codebook.dtype("group"))
    return out


def with_target(counts: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Add ``target`` (profession asked about) and ``tag`` from the codebook items."""
    items = codebook.item_table[["question", "item", "target", "tag"]]
    out = counts.copy()
    q, it = out["question"].astype(str), out["item"].astype(str)
    lookup = items.set_index(["question", "item"])
    idx = pd.MultiIndex.from_arrays([q, it])
    out["target"] = lookup["target"].reindex(idx).to_numpy()
    out["tag"] = lookup["tag"].reindex(idx).to_numpy()
    return out


def high_flag(counts: pd.DataFrame, codebook: Codebook) -> pd.Series:
    """Whether each row's code is at the high end of its question's scale."""
    flags = pd.Series(False, index=counts.index)
    for q in codebook.questions:
        rows = counts["question"] == q.id
        flags[rows] = counts.loc[rows, "code"].isin(codebook.scales[q.scale].high)
    return flags
