"""Differences of proportions: trust gaps, wave changes, site vs rest.

Each difference ``p1 - p2`` gets the Newcombe hybrid score interval (statsmodels
``confint_proportions_2indep(method="newcomb")``, Newcombe 1998 method 10) and a
two-sided score test (``test_proportions_2indep(method="score")``, Miettinen-Nurminen).
P-values of a family are corrected with Holm (default) or Benjamini-Hochberg.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts, high_flag

CORRECTIONS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg"}
TEST_NAME = "score test for two independent proportions (Miettinen-Nurminen)"


def diff_proportions(k1, n1, k2, n2, alpha: float = 0.05) -> pd.DataFrame:
    """Difference of two independent proportions with Newcombe interval and score test.

    Returns
    -------
    pandas.DataFrame
        ``n1, k1, p1, n2, k2, p2, diff, ci_low, ci_high, p, reason``. Where either base
        is 0 the estimate, interval and p are NaN and ``reason`` says why.
    """
    k1, n1, k2, n2 = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (k1, n1, k2, n2))
    ok = (n1 > 0) & (n2 > 0)
    s1, s2 = np.where(ok, n1, 1.0), np.where(ok, n2, 1.0)
    c1, c2 = np.where(ok, k1, 0.0), np.where(ok, k2, 0.0)
    low, high = confint_proportions_2indep(c1, s1, c2, s2, method="newcomb", alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        test = test_proportions_2indep(c1, s1, c2, s2, method="score")
        pvalue = np.asarray(test.pvalue, dtype=float)
    # The score test is undefined when both groups are all 0 or all 1: no evidence.
    pvalue = np.where(np.isnan(pvalue) & ok, 1.0, pvalue)
    p1, p2 = c1 / s1, c2 / s2
    nan = np.nan
    return pd.DataFrame(
        {
            "n1": n1.astype(np.int64), "k1": k1.astype(np.int64), "p1": np.where(ok, p1, nan),
            "n2": n2.astype(np.int64), "k2": k2.astype(np.int64), "p2": np.where(ok, p2, nan),
            "diff": np.where(ok, p1 - p2, nan),
            "ci_low": np.where(ok, low, nan), "ci_high": np.where(ok, high, nan),
            "p": np.where(ok, pvalue, nan),
            "reason": pd.array(np.where(ok, None, "a base of 0"), dtype=pd.StringDtype(na_value=pd.NA)),
        }
    )  # fmt: skip


def adjust(p: pd.Series | np.ndarray, method: str = "holm", groups=None) -> np.ndarray:
    """Holm (family-wise) or Benjamini-Hochberg (false discovery rate) adjusted p-values.

    Parameters
    ----------
    p
        P-values; NaN stays NaN and does not count towards a family's size.
    method
        ``"holm"`` or ``"fdr_bh"`` (the names statsmodels ``multipletests`` uses).
    groups
        Family label per p-value; each family is adjusted on its own. All one family
        when ``None``.

    Notes
    -----
    The same step-down (Holm) and step-up (BH) formulas as statsmodels
    ``multipletests`` (the tests check they agree), computed for all families in one
    sorted pass: ``multipletests`` itself runs a full garbage collection on every
    Holm call, which costs seconds when there is a family per site and wave.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, not {method!r}")
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if len(ok) == 0:
        return out
    fam = (
        np.zeros(len(ok), dtype=np.int64)
        if groups is None
        else pd.factorize(np.asarray(groups)[ok])[0]
    )
    # Sort by family, then by p (descending for BH's step-up, ascending for Holm).
    key = -p[ok] if method == "fdr_bh" else p[ok]
    order = np.lexsort((key, fam))
    f, ps = fam[order], p[ok][order]
    size = np.bincount(f)[f]
    start = np.r_[0, np.flatnonzero(np.diff(f)) + 1]
    pos = np.arange(len(f)) - np.repeat(
        start, np.diff(np.r_[start, len(f)])
    )  # 0-based rank within family
    if method == "holm":
        raw = ps * (size - pos)
        adj = pd.Series(raw).groupby(f).cummax().to_numpy()
    else:
        rank = size - pos  # ascending rank of p (largest p has rank m)
        raw = ps * size / rank
        adj = pd.Series(raw).groupby(f).cummin().to_numpy()
    out[ok[order]] = np.minimum(adj, 1.0)
    return out


def finish(
    table: pd.DataFrame, correction: str = "holm", family: Sequence[str] = ()
) -> pd.DataFrame:
    """Add ``p_adj``, ``correction`` and ``significant`` (adjusted p < 0.05, i.e. the
    difference is significant after correction) to a table of differences, correcting
    within each ``family`` group (the whole table when empty)."""
    out = table.copy()
    groups = (
        out.groupby(list(family), observed=True, sort=False).ngroup().to_numpy() if family else None
    )
    out["p_adj"] = adjust(out["p"].to_numpy(), correction, groups)
    out["correction"] = CORRECTIONS[correction]
    out["significant"] = out["p_adj"] < 0.05
    return out


def _high_by(
    data: pd.DataFrame, codebook: Codebook, question: str, keys: Sequence[str]
) -> pd.DataFrame:
    counts = answer_counts(data, [k for k in keys if k != "item"])
    counts = counts[counts["question"] == question]
    counts = counts.assign(high=np.where(high_flag(counts, codebook), counts["count"], 0))
    return (
        counts.groupby([*keys], observed=True)
        .agg(n=("count", "sum"), k=("high", "sum"))
        .reset_index()
    )


def directional_gaps(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str = "trust",
    by: Sequence[str] = (),
    correction: str = "holm",
) -> pd.DataFrame:
    """A's view of B vs B's view of A, for every pair of professions.

    Returns
    -------
    pandas.DataFrame
        ``*by, a, b, n1, k1, p1 (A rating B), n2, k2, p2 (B rating A), diff, ci_low,
        ci_high, p, p_adj, correction, significant``.
    """
    cells = _high_by(data, codebook, question, [*by, "profession", "item"])
    cells["profession"] = cells["profession"].astype(str)
    cells["item"] = cells["item"].astype(str)
    ids = [p.id for p in codebook.professions]
    pairs = pd.DataFrame(
        [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]], columns=["a", "b"]
    )
    ab = cells.rename(columns={"profession": "a", "item": "b", "n": "n1", "k": "k1"})
    ba = cells.rename(columns={"profession": "b", "item": "a", "n": "n2", "k": "k2"})
    merged = (
        pairs.merge(ab, on=["a", "b"], how="left") if not by else ab.merge(pairs, on=["a", "b"])
    )
    merged = merged.merge(ba, on=[*by, "a", "b"], how="left").fillna(
        {"n1": 0, "k1": 0, "n2": 0, "k2": 0}
    )
    diff = diff_proportions(merged["k1"], merged["n1"], merged["k2"], merged["n2"])
    out = pd.concat([merged[[*by, "a", "b"]].reset_index(drop=True), diff], axis=1)
    return finish(out, correction, family=by)


def in_out_group(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str = "trust",
    by: Sequence[str] = (),
    correction: str = "holm",
) -> pd.DataFrame:
    """For each target profession: its own members' view (in-group) vs everyone else's.

    Returns
    -------
    pandas.DataFrame
        ``*by, target, n1, k1, p1 (in-group), n2, k2, p2 (out-group), diff, ...``.
    """
    cells = _high_by(data, codebook, question, [*by, "profession", "item"])
    own = cells["profession"].astype(str) == cells["item"].astype(str)
    cells = cells.assign(side=np.where(own, "in", "out"), target=cells["item"].astype(str))
    g = (
        cells.groupby([*by, "target", "side"], observed=True)[["n", "k"]]
        .sum()
        .unstack("side", fill_value=0)
    )
    g.columns = [f"{a}_{b}" for a, b in g.columns]
    g = g.reindex(columns=["n_in", "k_in", "n_out", "k_out"], fill_value=0).reset_index()
    diff = diff_proportions(g["k_in"], g["n_in"], g["k_out"], g["n_out"])
    return finish(pd.concat([g[[*by, "target"]], diff], axis=1), correction, family=by)


def between_raters(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str,
    rater: str = "group",
    by: Sequence[str] = (),
    correction: str = "holm",
) -> pd.DataFrame:
    """For each item: every pair of rater groups (or professions) compared.

    Returns
    -------
    pandas.DataFrame
        ``*by, item, rater1, rater2, n1, k1, p1, n2, k2, p2, diff, ...``; corrected
        across the whole table within ``by``.
    """
    cells = _high_by(data, codebook, question, [*by, rater, "item"])
    cells[rater] = cells[rater].astype(str)
    order = (
        [g.id for g in codebook.groups]
        if rater == "group"
        else [p.id for p in codebook.professions]
    )
    pairs = pd.DataFrame(
        [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]], columns=["rater1", "rater2"]
    )
    left = cells.rename(columns={rater: "rater1", "n": "n1", "k": "k1"})
    right = cells.rename(columns={rater: "rater2", "n": "n2", "k": "k2"})
    merged = left.merge(pairs, on="rater1").merge(right, on=[*by, "item", "rater2"])
    diff = diff_proportions(merged["k1"], merged["n1"], merged["k2"], merged["n2"])
    out = pd.concat(
        [merged[[*by, "item", "rater1", "rater2"]].reset_index(drop=True), diff], axis=1
    )
    return finish(out, correction, family=by)


def wave_change(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str,
    wave_from: int,
    wave_to: int,
    by: Sequence[str] = (),
    correction: str = "holm",
) -> pd.DataFrame:
    """Change in % high between two waves, per item (``p1`` = later wave).

    Returns
    -------
    pandas.DataFrame
        ``*by, item, n1, k1, p1 (wave_to), n2, k2, p2 (wave_from), diff, ...``.
    """
    cells = _high_by(data, codebook, question, [*by, "wave", "item"])
    later = (
        cells[cells["wave"] == wave_to].drop(columns="wave").rename(columns={"n": "n1", "k": "k1"})
    )
    earlier = (
        cells[cells["wave"] == wave_from]
        .drop(columns="wave")
        .rename(columns={"n": "n2", "k": "k2"})
    )
    merged = later.merge(earlier, on=[*by, "item"], how="outer").fillna(
        {"n1": 0, "k1": 0, "n2": 0, "k2": 0}
    )
    diff = diff_proportions(merged["k1"], merged["n1"], merged["k2"], merged["n2"])
    out = pd.concat([merged[[*by, "item"]].reset_index(drop=True), diff], axis=1)
    out.insert(len(by), "wave_from", wave_from)
    out.insert(len(by) + 1, "wave_to", wave_to)
    return finish(out, correction, family=by)
