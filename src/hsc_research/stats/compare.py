"""Site comparisons on the headline indicators: site vs rest of sites, and funnel limits.

An indicator (defined in the codebook) is the share of chosen raters answering one item
at the high end of its scale. "Rest of sites" is the national total minus the site, so
the comparison is between independent groups: Newcombe interval and score test from
:mod:`~hsc_research.stats.gaps`, Holm-corrected across all sites and indicators of a
wave. Funnel-plot limits follow Spiegelhalter (2005): exact binomial quantiles around
the national proportion, interpolated to give smooth limits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts, high_flag, with_group
from hsc_research.stats.gaps import diff_proportions, finish

FLAGS = {1: "significantly higher", -1: "significantly lower", 0: "no evidence of a difference"}


def indicator_counts(
    data: pd.DataFrame, codebook: Codebook, by: Sequence[str] = ("site", "wave")
) -> pd.DataFrame:
    """Numerator and base of every headline indicator.

    Parameters
    ----------
    data
        ``responses`` or a counts table with ``profession`` and the ``by`` keys.

    Returns
    -------
    pandas.DataFrame
        ``*by, indicator, n, k``: respondents answering the item substantively among
        the indicator's raters, and those at the high end.
    """
    counts = with_group(answer_counts(data, [*by, "profession"]), codebook)
    counts = counts.assign(high=np.where(high_flag(counts, codebook), counts["count"], 0))
    parts = []
    for ind in codebook.indicators:
        sel = (counts["question"] == ind.question) & (counts["item"] == ind.item)
        if ind.rater_field:
            sel &= counts[ind.rater_field].astype(str) == ind.rater_value
        g = counts[sel].groupby(list(by), observed=True).agg(n=("count", "sum"), k=("high", "sum"))
        parts.append(g.reset_index().assign(indicator=ind.id))
    out = pd.concat(parts, ignore_index=True)
    return out[[*by, "indicator", "n", "k"]]


def site_vs_rest(
    ind_counts: pd.DataFrame, codebook: Codebook, correction: str = "holm"
) -> pd.DataFrame:
    """Each site against the rest of the sites on every indicator, per wave.

    Parameters
    ----------
    ind_counts
        From :func:`indicator_counts` with ``by=("site", "wave")``.

    Returns
    -------
    pandas.DataFrame
        ``wave, site, indicator, label, n1, k1, p1 (site), n2, k2, p2 (rest), diff,
        ci_low, ci_high, p, p_adj, correction, significant, flag``.
    """
    full = _complete(ind_counts)
    totals = full.groupby(["wave", "indicator"], observed=True)[["n", "k"]].transform("sum")
    rest_n, rest_k = totals["n"] - full["n"], totals["k"] - full["k"]
    diff = diff_proportions(full["k"], full["n"], rest_k, rest_n)
    out = pd.concat([full[["wave", "site", "indicator"]].reset_index(drop=True), diff], axis=1)
    out = finish(out, correction, family=["wave"])
    direction = np.sign(out["diff"].fillna(0)).astype(int) * out["significant"].astype(int)
    out["flag"] = direction.map(FLAGS)
    labels = {i.id: i.label for i in codebook.indicators}
    out.insert(3, "label", out["indicator"].map(labels))
    return out


def _complete(ind_counts: pd.DataFrame) -> pd.DataFrame:
    """Every site x wave x indicator present (absent combinations have n = k = 0)."""
    full = ind_counts.copy()
    full["site"] = full["site"].astype(str)
    idx = pd.MultiIndex.from_product(
        [
            sorted(full["wave"].unique()),
            sorted(full["site"].unique()),
            list(dict.fromkeys(full["indicator"])),
        ],
        names=["wave", "site", "indicator"],
    )
    return (
        full.set_index(["wave", "site", "indicator"])[["n", "k"]]
        .reindex(idx, fill_value=0)
        .reset_index()
    )


def funnel_limits(
    p0: float | np.ndarray, n: np.ndarray, coverage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits for a proportion (Spiegelhalter 2005, appendix A.1.1).

    For a base ``n`` and target proportion ``p0`` the limits are interpolated exact
    binomial quantiles: with ``r`` the ``q``-quantile of Binomial(n, p0) and
    ``alpha = (F(r) - q) / (F(r) - F(r - 1))``, the limit is ``(r - alpha) / n``.

    Parameters
    ----------
    p0
        Target (national) proportion.
    n
        Bases at which to evaluate the limits.
    coverage
        0.95 or 0.998, for example.

    Returns
    -------
    lower, upper : numpy.ndarray
    """
    n = np.asarray(n, dtype=float)
    out = []
    for q in ((1 - coverage) / 2, (1 + coverage) / 2):
        r = sps.binom.ppf(q, n, p0)
        f_r = sps.binom.cdf(r, n, p0)
        f_r1 = sps.binom.cdf(r - 1, n, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(f_r > f_r1, (f_r - q) / (f_r - f_r1), 0.0)
            out.append(np.clip((r - alpha) / n, 0, 1))
    return out[0], out[1]


def funnel_table(ind_counts: pd.DataFrame, levels: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """Each site's position against funnel limits around the national proportion.

    Returns
    -------
    pandas.DataFrame
        ``wave, indicator, site, n, k, estimate, national, lo95, hi95, lo998, hi998,
        outside`` where ``outside`` is "above 99.8%", "above 95%", "below 95%",
        "below 99.8%" or "within".
    """
    full = _complete(ind_counts)
    nat = full.groupby(["wave", "indicator"])[["n", "k"]].transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        full["estimate"] = np.where(
            full["n"] > 0, full["k"] / full["n"].where(full["n"] > 0, 1), np.nan
        )
        full["national"] = nat["k"] / nat["n"]
    names = {0.95: "95", 0.998: "998"}
    for lv in levels:
        lo, hi = funnel_limits(full["national"].to_numpy(), full["n"].to_numpy(), lv)
        full[f"lo{names.get(lv, lv)}"] = np.where(full["n"] > 0, lo, np.nan)
        full[f"hi{names.get(lv, lv)}"] = np.where(full["n"] > 0, hi, np.nan)
    e = full["estimate"]
    full["outside"] = np.select(
        [e > full["hi998"], e > full["hi95"], e < full["lo998"], e < full["lo95"]],
        ["above 99.8%", "above 95%", "below 99.8%", "below 95%"],
        default="within",
    )
    return full
