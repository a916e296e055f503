"""Differences of proportions: trust gaps, wave changes, site vs rest.

Each difference ``p1 - p2`` gets the Newcombe hybrid score interval (statsmodels
``confint_proportions_2indep(method="newcomb")``, Newcombe 1998 method 10) and a
two-sided score test (``test_proportions_2indep(method="score")``, Miettinen-Nurminen).
Within a family of ``m`` comparisons the interval is computed at level ``1 - 0.05 / m``
(Bonferroni) and a difference is significant exactly when it excludes 0
(:mod:`~hsc_research.stats.multiplicity`). ``p`` is the unadjusted score test, kept for
reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts, high_flag
from hsc_research.stats.multiplicity import ALPHA, family_intervals

TEST_NAME = "score test for two independent proportions (Miettinen-Nurminen)"


def diff_proportions(k1, n1, k2, n2, alpha=0.05) -> pd.DataFrame:
    """Difference of two independent proportions with Newcombe interval and score test.

    ``alpha`` may be one value or one per row (a family's Bonferroni level).

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
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), c1.shape)
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


def finish(
    table: pd.DataFrame,
    correction: str = "bonferroni",
    family: Sequence[str] = (),
    hidden=None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Family-wise intervals and the significance flag for differences of proportions.

    Every tested row of a family of ``m`` gets its Newcombe interval at level
    ``1 - alpha / m`` (see :mod:`~hsc_research.stats.multiplicity`), and ``significant``
    is True exactly when that interval excludes 0.

    Parameters
    ----------
    table
        From :func:`diff_proportions` (with ``k1, n1, k2, n2``) plus key columns.
    correction
        ``"bonferroni"`` or ``"none"``.
    family
        Columns defining a family (the whole table when empty).
    hidden
        Boolean per row: suppressed rows are not tested and not counted in ``m``.
    alpha
        Family-wise error rate.

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``ci_low, ci_high`` at the family's level, ``ci_level``,
        ``family_size``, ``correction`` and ``significant``.
    """

    def newcombe(a):
        ci = diff_proportions(table["k1"], table["n1"], table["k2"], table["n2"], alpha=a)
        return ci["ci_low"].to_numpy(), ci["ci_high"].to_numpy()

    tested = table["diff"].notna().to_numpy()
    out = family_intervals(table, newcombe, tested, correction, family, hidden, alpha)
    return out.drop(columns=["p_adj"], errors="ignore")


def high_cells(
    data: pd.DataFrame, codebook: Codebook, question: str, keys: Sequence[str]
) -> pd.DataFrame:
    """Substantive answers ``n`` and high answers ``k`` to ``question`` per ``keys``.

    Parameters
    ----------
    data
        ``responses`` or a counts table.
    codebook
        Scales and their high codes.
    question
        Question id.
    keys
        Respondent fields and ``"item"``.

    Returns
    -------
    pandas.DataFrame
        ``*keys, n, k``; only combinations that occur.

    Examples
    --------
    >>> from hsc_research.instrument import load_codebook
    >>> counts = pd.DataFrame({"site": ["a", "a"], "question": "trust", "item": "gp",
    ...                        "code": [3, 1], "count": [7, 5]})
    >>> high_cells(counts, load_codebook(), "trust", ["site", "item"]).values.tolist()
    [['a', 'gp', 12, 7]]
    """
    counts = answer_counts(data, [k for k in keys if k != "item"])
    counts = counts[counts["question"] == question]
    counts = counts.assign(high=np.where(high_flag(counts, codebook), counts["count"], 0))
    return (
        counts.groupby([*keys], observed=True)
        .agg(n=("count", "sum"), k=("high", "sum"))
        .reset_index()
    )


def pairs(order: Sequence[str], names: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Every unordered pair of ``order``, the earlier one first.

    Examples
    --------
    >>> pairs(["x", "y", "z"]).values.tolist()
    [['x', 'y'], ['x', 'z'], ['y', 'z']]
    """
    order = list(order)
    return pd.DataFrame(
        [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]], columns=list(names)
    )


def directional_gaps(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str = "trust",
    by: Sequence[str] = (),
    correction: str = "bonferroni",
) -> pd.DataFrame:
    """A's view of B vs B's view of A, for every pair of professions.

    Returns
    -------
    pandas.DataFrame
        ``*by, a, b, n1, k1, p1 (A rating B), n2, k2, p2 (B rating A), diff, ci_low,
        ci_high, p, p_adj, correction, significant``.

    Examples
    --------
    ASC staff trust GPs 30 of 40; GPs trust ASC 12 of 40:

    >>> from hsc_research.instrument import load_codebook
    >>> counts = pd.DataFrame({"profession": ["asc", "asc", "gp", "gp"], "question": "trust",
    ...                        "item": ["gp", "gp", "asc", "asc"], "code": [3, 1, 3, 1],
    ...                        "count": [30, 10, 12, 28]})
    >>> t = directional_gaps(counts, load_codebook())
    >>> t.query("a == 'asc' and b == 'gp'")[["p1", "p2", "diff"]].round(2).values.tolist()
    [[0.75, 0.3, 0.45]]
    """
    cells = high_cells(data, codebook, question, [*by, "profession", "item"])
    cells["profession"] = cells["profession"].astype(str)
    cells["item"] = cells["item"].astype(str)
    pa = pairs([p.id for p in codebook.professions])
    ab = cells.rename(columns={"profession": "a", "item": "b", "n": "n1", "k": "k1"})
    ba = cells.rename(columns={"profession": "b", "item": "a", "n": "n2", "k": "k2"})
    merged = pa.merge(ab, on=["a", "b"], how="left") if not by else ab.merge(pa, on=["a", "b"])
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
    correction: str = "bonferroni",
) -> pd.DataFrame:
    """For each target profession: its own members' view (in-group) vs everyone else's.

    Returns
    -------
    pandas.DataFrame
        ``*by, target, n1, k1, p1 (in-group), n2, k2, p2 (out-group), diff, ...``.

    Examples
    --------
    ASC staff trust ASC 30 of 40; GPs trust ASC 12 of 40:

    >>> from hsc_research.instrument import load_codebook
    >>> counts = pd.DataFrame({"profession": ["asc", "asc", "gp", "gp"], "question": "trust",
    ...                        "item": "asc", "code": [3, 1, 3, 1], "count": [30, 10, 12, 28]})
    >>> in_out_group(counts, load_codebook())[["target", "p1", "p2"]].values.tolist()
    [['asc', 0.75, 0.3]]
    """
    cells = high_cells(data, codebook, question, [*by, "profession", "item"])
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
    correction: str = "bonferroni",
) -> pd.DataFrame:
    """For each item: every pair of rater groups (or professions) compared.

    Returns
    -------
    pandas.DataFrame
        ``*by, item, rater1, rater2, n1, k1, p1, n2, k2, p2, diff, ...``; corrected
        across the whole table within ``by``.

    Examples
    --------
    >>> from hsc_research.instrument import load_codebook
    >>> counts = pd.DataFrame({"role_level": ["manager"] * 2 + ["frontline"] * 2,
    ...                        "question": "trust", "item": "asc", "code": [3, 1, 3, 1],
    ...                        "count": [30, 10, 12, 28]})
    >>> t = between_raters(counts, load_codebook(), "trust", rater="role_level")
    >>> t[["rater1", "rater2", "diff"]].round(2).values.tolist()
    [['manager', 'frontline', 0.45]]
    """
    if rater not in data.columns:
        raise ValueError(
            f"rater field {rater!r} is not in the data; fields: "
            + ", ".join(
                c for c in ("site", "wave", "group", "profession", "role_level") if c in data
            )
        )
    cells = high_cells(data, codebook, question, [*by, rater, "item"])
    cells[rater] = cells[rater].astype(str)
    if rater == "group":
        order = [g.id for g in codebook.groups]
    elif rater == "profession":
        order = [p.id for p in codebook.professions]
    else:
        # Codebook order where the codebook names the levels (role level), else sorted.
        known = list(codebook.labels(rater)) if rater == "role_level" else []
        present = sorted(cells[rater].unique())
        order = [v for v in known if v in present] + [v for v in present if v not in known]
    left = cells.rename(columns={rater: "rater1", "n": "n1", "k": "k1"})
    right = cells.rename(columns={rater: "rater2", "n": "n2", "k": "k2"})
    merged = left.merge(pairs(order, ("rater1", "rater2")), on="rater1").merge(
        right, on=[*by, "item", "rater2"]
    )
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
    correction: str = "bonferroni",
) -> pd.DataFrame:
    """Change in % high between two waves, per item (``p1`` = later wave).

    Returns
    -------
    pandas.DataFrame
        ``*by, item, n1, k1, p1 (wave_to), n2, k2, p2 (wave_from), diff, ...``.
    """
    cells = high_cells(data, codebook, question, [*by, "wave", "item"])
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
