"""Rater x target matrices: relationship ratings and discharge influence.

A cell is how raters of one profession (or group) answer about one target profession:
mean code, n, sd and a t-based 95% interval (mean +/- t(n-1) * sd / sqrt(n)). The
asymmetry matrix is M - M^T: for each pair, A's rating of B minus B's rating of A,
with Welch's unequal-variance t-test (scipy ``ttest_ind_from_stats``) and a family-wise
correction across pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts
from hsc_research.stats.multiplicity import finish_t

ALPHA = 0.05


def rating_matrix(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str = "relationships",
    rater: str = "profession",
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Mean rating per rater x target cell.

    Parameters
    ----------
    data
        ``responses`` or a counts table with the ``rater`` and ``by`` fields.
    codebook
        For the items' target professions.
    question
        A by-profession question (relationships, trust, discharge_influence).
    rater
        ``"profession"`` or ``"group"``.
    by
        Further keys (site, wave).

    Returns
    -------
    pandas.DataFrame
        ``*by, rater, target, n, mean, sd, ci_low, ci_high, self``. ``self`` marks a
        rater's own profession; such cells exist only where the question allows them.
    """
    q = codebook.question(question)
    if not q.by_profession:
        raise ValueError(f"{question} is not asked about each profession")
    counts = answer_counts(data, [*by, rater])
    counts = counts[counts["question"] == question]
    c = counts["count"].to_numpy(dtype=float)
    x = counts["code"].to_numpy(dtype=float)
    counts = counts.assign(sx=x * c, sxx=x * x * c)
    g = (
        counts.groupby([*by, rater, "item"], observed=True)[["count", "sx", "sxx"]]
        .sum()
        .reset_index()
    )
    n = g["count"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = g["sx"].to_numpy() / n
        sd = np.sqrt(np.clip((g["sxx"].to_numpy() - n * mean**2) / (n - 1), 0, None))
        half = sps.t.ppf(1 - ALPHA / 2, n - 1) * sd / np.sqrt(n)
    out = g[[*by, rater]].copy()
    out = out.rename(columns={rater: "rater"})
    out["target"] = g["item"].astype(str).to_numpy()
    out["rater"] = out["rater"].astype(str)
    out["n"] = n.astype(np.int64)
    out["mean"] = mean
    out["sd"] = np.where(n > 1, sd, np.nan)
    out["ci_low"] = np.where(n > 1, mean - half, np.nan)
    out["ci_high"] = np.where(n > 1, mean + half, np.nan)
    if rater == "profession":
        out["self"] = out["rater"] == out["target"]
    else:
        out["self"] = out["target"].map(codebook.profession_group) == out["rater"]
    return out.reset_index(drop=True)


def asymmetry(
    matrix: pd.DataFrame, by: Sequence[str] = (), correction: str = "bonferroni"
) -> pd.DataFrame:
    """M - M^T for a profession x profession matrix from :func:`rating_matrix`.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair: ``*by, a, b, n_ab, mean_ab (A rating B), n_ba,
        mean_ba (B rating A), diff (mean_ab - mean_ba), se, t, df, p (unadjusted Welch),
        test, ci_low, ci_high (Bonferroni level within ``by``), ci_level, family_size,
        correction, significant``.
    """
    m = matrix[~matrix["self"]]
    ab = m.rename(columns={"rater": "a", "target": "b"})
    ba = m.rename(columns={"rater": "b", "target": "a"})
    merged = ab.merge(ba, on=[*by, "a", "b"], suffixes=("_ab", "_ba"))
    merged = merged[merged["a"] < merged["b"]].reset_index(drop=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols = ["mean_ab", "sd_ab", "n_ab", "mean_ba", "sd_ba", "n_ba"]
        t, p = sps.ttest_ind_from_stats(
            *(merged[c].to_numpy(dtype=float) for c in cols), equal_var=False
        )
        v1 = merged["sd_ab"] ** 2 / merged["n_ab"]
        v2 = merged["sd_ba"] ** 2 / merged["n_ba"]
        dof = (v1 + v2) ** 2 / (v1**2 / (merged["n_ab"] - 1) + v2**2 / (merged["n_ba"] - 1))
    out = merged[[*by, "a", "b", "n_ab", "mean_ab", "n_ba", "mean_ba"]].copy()
    out["diff"] = out["mean_ab"] - out["mean_ba"]
    out["se"] = np.sqrt(np.asarray(v1 + v2, dtype=float))
    out["t"], out["df"], out["p"] = np.asarray(t), np.asarray(dof), np.asarray(p)
    out["test"] = "Welch t-test"
    return finish_t(out, correction, family=by)


def ranked_ties(matrix: pd.DataFrame, k: int = 3, by: Sequence[str] = ()) -> pd.DataFrame:
    """The ``k`` weakest and ``k`` strongest cells (self cells left out).

    Returns
    -------
    pandas.DataFrame
        The matrix rows with ``end`` ("weakest" / "strongest") and ``rank`` (1 = most
        extreme), within each ``by`` group.
    """
    m = matrix[~matrix["self"] & matrix["mean"].notna()]
    parts = []
    for end, ascending in (("weakest", True), ("strongest", False)):
        ranked = m.sort_values([*by, "mean"], ascending=[True] * len(by) + [ascending])
        top = ranked.groupby(list(by), observed=True).head(k) if by else ranked.head(k)
        top = top.assign(end=end)
        top["rank"] = (
            top.groupby(list(by), observed=True).cumcount() + 1
            if by
            else np.arange(1, len(top) + 1)
        )
        parts.append(top)
    return pd.concat(parts, ignore_index=True)
