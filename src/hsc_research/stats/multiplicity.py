"""Multiple comparisons: one rule for every published difference.

**The rule.** A difference is called significant exactly when the interval printed beside
it excludes 0. When a table shows a *family* of ``m`` comparisons, every interval in it is
a Bonferroni-level interval: computed at confidence level ``1 - alpha / m``, so that all
``m`` intervals cover their true differences together with probability at least
``1 - alpha``. The decision is read off that interval, so a flag can never contradict the
interval beside it.

**The family** is what one reader sees in one place: the rows of one table (a site's
headline indicators in its gap analysis, the pairs of one directional-trust table), or
every cell of one figure (the national sites x indicators heatmap). Rows that are
suppressed or have no data are not tested and do not count towards ``m``.

Why Bonferroni and not Holm or Benjamini-Hochberg: their decisions have no matching
interval of a useful width (a Holm-compatible interval is uninformative for rejected
hypotheses), so a table would show an interval that does not support its own flag.
Bonferroni is slightly conservative; with the families we publish (2 to 120 comparisons)
it is the scheme whose intervals and flags agree by construction. The Holm and
Benjamini-Hochberg adjusted p-values remain available to researchers through
:func:`adjust_p`, for their own analyses.

Examples
--------
>>> family_alpha([9, 9, 1], alpha=0.05).round(5).tolist()
[0.00556, 0.00556, 0.05]
>>> interval_label(9)
'99.44% CI, Bonferroni-adjusted for 9 comparisons'
>>> interval_label(1)
'95% CI'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Corrections offered for families of tests (name -> how the methods section says it).
CORRECTIONS = {"bonferroni": "Bonferroni", "none": "no correction"}
#: Adjusted p-values for researchers' own use (not used by the reports).
P_ADJUSTMENTS = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}
ALPHA = 0.05


def check_correction(correction: str) -> str:
    """Return ``correction`` if it is offered, else raise a one-line ``ValueError``."""
    if correction not in CORRECTIONS:
        hint = (
            " (its decisions have no matching interval; the reports use Bonferroni-level "
            "intervals so that every flag agrees with the interval beside it)"
            if correction in ("holm", "fdr_bh")
            else ""
        )
        raise ValueError(
            f"correction must be one of {', '.join(CORRECTIONS)}, not {correction!r}{hint}"
        )
    return correction


def family_sizes(
    table: pd.DataFrame, family: Sequence[str], tested: np.ndarray | pd.Series
) -> np.ndarray:
    """Number of tested rows in each row's family (0 for rows not tested).

    Parameters
    ----------
    table
        One row per comparison.
    family
        Columns whose values define a family (the whole table when empty).
    tested
        Boolean per row: the comparison is published and has data.

    Examples
    --------
    >>> t = pd.DataFrame({"site": ["a", "a", "a", "b"]})
    >>> family_sizes(t, ["site"], np.array([True, True, False, True])).tolist()
    [2, 2, 0, 1]
    """
    tested = np.asarray(tested, dtype=bool)
    if family:
        keys = table.groupby(list(family), observed=True, sort=False, dropna=False).ngroup()
        keys = keys.to_numpy()
    else:
        keys = np.zeros(len(table), dtype=np.int64)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    sizes = np.bincount(keys, weights=tested.astype(float), minlength=keys.max() + 1)
    return np.where(tested, sizes[keys], 0).astype(np.int64)


def family_alpha(m, alpha: float = ALPHA, correction: str = "bonferroni") -> np.ndarray:
    """Per-comparison alpha: ``alpha / m`` (Bonferroni) or ``alpha`` (no correction)."""
    m = np.maximum(np.asarray(m, dtype=float), 1.0)
    if check_correction(correction) == "none":
        return np.full_like(m, alpha)
    return alpha / m


def level_text(level: float) -> str:
    """Confidence level as printed, with two significant digits of what it leaves out.

    Examples
    --------
    >>> [level_text(x) for x in (0.95, 1 - 0.05 / 2, 1 - 0.05 / 9, 1 - 0.05 / 120, 0.998)]
    ['95%', '97.5%', '99.44%', '99.958%', '99.8%']
    """
    miss = 100 * (1 - level)
    decimals = max(0, 1 - int(np.floor(np.log10(miss)))) if miss > 0 else 0
    text = f"{100 * level:.{decimals}f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "%"


def interval_label(m: int, alpha: float = ALPHA, correction: str = "bonferroni") -> str:
    """How an interval of a family of ``m`` is labelled in tables and sentences."""
    m = int(m)
    level = 1 - float(family_alpha(m, alpha, correction))
    if correction == "none" or m <= 1:
        return f"{level_text(level)} CI"
    return f"{level_text(level)} CI, {CORRECTIONS[correction]}-adjusted for {m} comparisons"


def excludes_zero(low, high) -> np.ndarray:
    """The rule: significant exactly when the interval excludes 0 (NaN is not)."""
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    with np.errstate(invalid="ignore"):
        return (low > 0) | (high < 0)


def finish_t(
    table: pd.DataFrame,
    correction: str = "bonferroni",
    family: Sequence[str] = (),
    hidden=None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Family-wise t intervals (``diff +/- t(1 - a/2, df) * se``) and the flag.

    For Welch comparisons of means: the interval at level ``1 - a`` excludes 0 exactly
    when the two-sided Welch test has ``p < a``, so the flag and the interval agree.

    Parameters
    ----------
    table
        With ``diff``, ``se`` and ``df`` columns.
    correction, family, hidden, alpha
        As :func:`hsc_research.stats.gaps.finish`.

    Examples
    --------
    Two comparisons, so 97.5% intervals: ``0.9 - t(0.9875, 30) * 0.4 = 0.9 - 2.360 * 0.4``.

    >>> t = pd.DataFrame({"diff": [0.9, 0.5], "se": [0.4, 0.4], "df": [30.0, 30.0]})
    >>> finish_t(t)[["ci_low", "significant"]].round(3).values.tolist()
    [[-0.044, False], [-0.444, False]]
    >>> finish_t(t, "none")["significant"].tolist()
    [True, False]
    """
    from scipy import stats as sps

    diff, se = table["diff"].to_numpy(dtype=float), table["se"].to_numpy(dtype=float)
    df = table["df"].to_numpy(dtype=float)

    def t_interval(a):
        with np.errstate(invalid="ignore"):
            q = sps.t.ppf(1 - a / 2, df)
        return diff - q * se, diff + q * se

    tested = ~np.isnan(diff) & (se > 0) & ~np.isnan(df)
    return family_intervals(table, t_interval, tested, correction, family, hidden, alpha)


def family_intervals(
    table: pd.DataFrame,
    interval,
    tested,
    correction: str = "bonferroni",
    family: Sequence[str] = (),
    hidden=None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """The rule, for any interval: each tested row of a family of ``m`` gets
    ``interval(a)`` at ``a = alpha / m`` (per row), ``significant`` when it excludes 0.

    Parameters
    ----------
    table
        One row per comparison.
    interval
        Function of the per-row alpha array returning ``(low, high)`` arrays.
    tested
        Boolean per row: the comparison has data.
    correction, family, hidden, alpha
        As :func:`hsc_research.stats.gaps.finish`.
    """
    out = table.copy()
    tested = np.asarray(tested, dtype=bool)
    if hidden is not None:
        tested = tested & ~np.asarray(hidden, dtype=bool)
    m = family_sizes(out, family, tested)
    a = family_alpha(m, alpha, correction)
    low, high = interval(a)
    out["ci_low"] = np.where(tested, low, np.nan)
    out["ci_high"] = np.where(tested, high, np.nan)
    out["ci_level"] = np.where(tested, 1 - a, np.nan)
    out["family_size"] = m
    out["correction"] = CORRECTIONS[correction]
    out["significant"] = excludes_zero(out["ci_low"], out["ci_high"])
    return out


def finish_p(
    table: pd.DataFrame,
    correction: str = "bonferroni",
    family: Sequence[str] = (),
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Bonferroni-adjusted p and the flag, for tests with no interval (chi-square).

    Examples
    --------
    >>> finish_p(pd.DataFrame({"p": [0.01, 0.04, np.nan]}))[["p_adj", "significant"]].values.tolist()
    [[0.02, True], [0.08, False], [nan, False]]
    """
    out = table.copy()
    p = out["p"].to_numpy(dtype=float)
    m = family_sizes(out, family, ~np.isnan(p))
    factor = m if check_correction(correction) == "bonferroni" else 1
    out["p_adj"] = np.minimum(p * factor, 1.0)
    out["family_size"] = m
    out["correction"] = CORRECTIONS[correction]
    out["significant"] = out["p_adj"].to_numpy() < alpha
    return out


def adjust_p(p, method: str = "holm", groups=None) -> np.ndarray:
    """Holm, Benjamini-Hochberg or Bonferroni adjusted p-values, per family.

    For researchers' own analyses; the reports decide from intervals (module docstring).

    Parameters
    ----------
    p
        P-values; NaN stays NaN and does not count towards a family's size.
    method
        ``"holm"``, ``"fdr_bh"`` or ``"bonferroni"`` (statsmodels ``multipletests`` names).
    groups
        Family label per p-value; each family is adjusted on its own. All one family
        when ``None``.

    Notes
    -----
    The same formulas as statsmodels ``multipletests`` (the tests check they agree),
    computed for all families in one sorted pass: ``multipletests`` runs a full garbage
    collection on every call, which costs seconds when there is a family per site.

    Examples
    --------
    >>> adjust_p([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    if method not in P_ADJUSTMENTS:
        raise ValueError(f"method must be one of {', '.join(P_ADJUSTMENTS)}, not {method!r}")
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
    key = -p[ok] if method == "fdr_bh" else p[ok]
    order = np.lexsort((key, fam))
    f, ps = fam[order], p[ok][order]
    size = np.bincount(f)[f]
    start = np.r_[0, np.flatnonzero(np.diff(f)) + 1]
    pos = np.arange(len(f)) - np.repeat(start, np.diff(np.r_[start, len(f)]))
    if method == "bonferroni":
        adj = ps * size
    elif method == "holm":
        adj = pd.Series(ps * (size - pos)).groupby(f).cummax().to_numpy()
    else:
        rank = size - pos
        adj = pd.Series(ps * size / rank).groupby(f).cummin().to_numpy()
    out[ok[order]] = np.minimum(adj, 1.0)
    return out
