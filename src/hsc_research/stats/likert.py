"""Likert distributions and summaries, with the R ``likert`` package's conventions.

``likert::summary`` reports, per item, the percentage of substantive answers in the
levels below the centre (``low``), at the centre (``neutral``, odd-length scales only)
and above it (``high``), plus the ``mean`` and ``sd`` (n - 1) of the level numbers
1..k. We follow it exactly and add ``mean_code`` on the codebook's own codes (which for
frequency5 run 0..4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts


def distribution(
    data: pd.DataFrame, codebook: Codebook, question: str, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Count and percentage of each level, per item, of substantive answers.

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, level, code, count, n, pct`` with every level present
        (zero counts included); ``level`` is an ordered categorical of the labels.
    """
    scale = codebook.scale_of(question)
    counts = answer_counts(data, by)
    counts = counts[counts["question"] == question]
    keys = [*by, "item"]
    wide = counts.pivot_table(index=keys, columns="code", values="count", aggfunc="sum",
                              fill_value=0, observed=True)  # fmt: skip
    wide = wide.reindex(columns=scale.codes, fill_value=0)
    long = wide.stack().rename("count").reset_index()
    long["n"] = long.groupby(keys, observed=True)["count"].transform("sum")
    long["pct"] = np.where(
        long["n"] > 0, 100 * long["count"] / long["n"].where(long["n"] > 0, 1), np.nan
    )
    long["level"] = pd.Categorical(long["code"].map(dict(zip(scale.codes, scale.labels, strict=True))),
                                   dtype=scale.dtype)  # fmt: skip
    long.insert(len(by), "question", question)
    return long[[*by, "question", "item", "level", "code", "count", "n", "pct"]]


def likert_summary(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str,
    by: Sequence[str] = (),
    *,
    dist: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Low / neutral / high percentages, mean and sd per item (R ``likert`` summary).

    Parameters
    ----------
    data
        ``responses`` or a counts table.
    codebook
        Scales.
    question
        Question id.
    by
        Respondent fields to group by.
    dist
        ``distribution(data, codebook, question, by)`` when the caller has it already
        (it is not computed again).

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, n, low, neutral, high, mean, sd, mean_code``.
        ``neutral`` is NaN for scales without a midpoint (agree4).
    """
    scale = codebook.scale_of(question)
    if dist is None:
        dist = distribution(data, codebook, question, by)
    keys = [*by, "item"]
    position = dist["code"].map({c: i + 1 for i, c in enumerate(scale.codes)}).astype(float)
    centre = (len(scale.codes) + 1) / 2
    dist = dist.assign(
        low=np.where(position < centre, dist["count"], 0),
        mid=np.where(position == centre, dist["count"], 0),
        high=np.where(position > centre, dist["count"], 0),
        sx=position * dist["count"],
        sxx=position**2 * dist["count"],
        sc=dist["code"].astype(float) * dist["count"],
    )
    g = dist.groupby(keys, observed=True, sort=True)[
        ["count", "low", "mid", "high", "sx", "sxx", "sc"]
    ].sum()
    n = g["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = g["sx"] / n
        var = (g["sxx"] - n * mean**2) / (n - 1)
        out = pd.DataFrame(
            {
                "n": g["count"].astype(int),
                "low": 100 * g["low"] / n,
                "neutral": 100 * g["mid"] / n if scale.midpoint is not None else np.nan,
                "high": 100 * g["high"] / n,
                "mean": mean,
                "sd": np.sqrt(var.clip(lower=0)),
                "mean_code": g["sc"] / n,
            }
        ).reset_index()
    out.insert(len(by), "question", question)
    return out
