"""Site comparisons on the headline indicators: site vs rest of sites, and funnels.

An indicator (defined in the codebook) is the share of chosen raters answering one item
at the high end of its scale. Two different questions are asked of each site:

* **Does this site differ from the rest of the sites?** (:func:`site_vs_rest`, the gap
  analysis). "Rest of sites" is the national total minus the site, so the comparison is
  between independent groups: Newcombe interval and score test from
  :mod:`~hsc_research.stats.gaps`, with Bonferroni-level intervals within the family the
  reader sees (:mod:`~hsc_research.stats.multiplicity`). Crude and directly standardised
  (to the national profession mix, :func:`standardised_vs_rest`) side by side.
* **Is this site outside the variation expected between sites?** (:func:`funnel_table`,
  the funnel plot). Spiegelhalter (2005), "Handling over-dispersion of performance
  indicators", Qual Saf Health Care 14:347: z-scores against the national proportion,
  10% winsorisation, the overdispersion factor phi and its test, and the
  DerSimonian-Laird additive between-site variance tau^2. When the test finds
  overdispersion the limits are ``p0 +/- z * sqrt(s_i^2 + tau^2)``; otherwise they are
  exact binomial limits (:func:`funnel_limits`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts, high_flag, text_equals, with_group
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
    counts = with_group(answer_counts(data, list(dict.fromkeys([*by, "profession"]))), codebook)
    counts = counts.assign(high=np.where(high_flag(counts, codebook), counts["count"], 0))
    parts = []
    for ind in codebook.indicators:
        sel = (counts["question"] == ind.question) & (counts["item"] == ind.item)
        if ind.rater_field:
            sel &= text_equals(counts[ind.rater_field], ind.rater_value)
        g = counts[sel].groupby(list(by), observed=True).agg(n=("count", "sum"), k=("high", "sum"))
        parts.append(g.reset_index().assign(indicator=ind.id))
    out = pd.concat(parts, ignore_index=True)
    return out[[*by, "indicator", "n", "k"]]


def site_vs_rest(
    ind_counts: pd.DataFrame,
    codebook: Codebook,
    correction: str = "bonferroni",
    family: Sequence[str] = ("wave", "site"),
    hidden=None,
) -> pd.DataFrame:
    """Each site against the rest of the sites on every indicator, per wave.

    Parameters
    ----------
    ind_counts
        From :func:`indicator_counts` with ``by=("site", "wave")``.
    codebook
        For the indicators' labels.
    correction
        ``"bonferroni"`` or ``"none"``.
    family
        The family of comparisons one reader sees: ``("wave", "site")`` for a site's gap
        analysis (its own indicators), ``("wave",)`` for the national heatmap (every
        cell of it).
    hidden
        Whether each comparison is suppressed, indexed by ``(wave, site, indicator)``
        (a missing combination counts as hidden): suppressed comparisons are not
        tested and not counted in the family.

    Returns
    -------
    pandas.DataFrame
        ``wave, site, indicator, label, n1, k1, p1 (site), n2, k2, p2 (rest), diff,
        ci_low, ci_high, p, reason, ci_level, family_size, correction, significant,
        flag``.

    Examples
    --------
    >>> from hsc_research.instrument import load_codebook
    >>> counts = pd.DataFrame({"site": ["a", "b", "c"], "wave": 2019,
    ...                        "indicator": "trust_hospital_in_asc",
    ...                        "n": [100, 100, 100], "k": [80, 50, 50]})
    >>> out = site_vs_rest(counts, load_codebook())
    >>> row = out.iloc[0]
    >>> row["site"], round(float(row["diff"]), 2), row["flag"]
    ('a', 0.3, 'significantly higher')
    """
    full = _complete(ind_counts)
    totals = full.groupby(["wave", "indicator"], observed=True)[["n", "k"]].transform("sum")
    rest_n, rest_k = totals["n"] - full["n"], totals["k"] - full["k"]
    diff = diff_proportions(full["k"], full["n"], rest_k, rest_n)
    out = pd.concat([full[["wave", "site", "indicator"]].reset_index(drop=True), diff], axis=1)
    if hidden is not None:
        keys = pd.MultiIndex.from_arrays([out["wave"], out["site"], out["indicator"]])
        hidden = hidden.reindex(keys).fillna(True).to_numpy(dtype=bool)
    out = finish(out, correction, family=list(family), hidden=hidden)
    direction = np.sign(out["diff"].fillna(0)).astype(int) * out["significant"].astype(int)
    out["flag"] = direction.map(FLAGS)
    out.loc[out["diff"].isna(), "flag"] = None
    labels = {i.id: i.label for i in codebook.indicators}
    out.insert(3, "label", out["indicator"].map(labels))
    return out


def standardised_vs_rest(
    prof_counts: pd.DataFrame,
    levels: pd.DataFrame,
    min_cell: int = 10,
) -> pd.DataFrame:
    """Site and rest of sites directly standardised to the national profession mix.

    A group indicator such as "hospital staff who trust ASC" mixes professions in
    different proportions at each site. The directly standardised proportion weights
    each profession's proportion by its share of the indicator's raters nationally
    (the NHS Staff Survey benchmarks organisations the same way, by occupation group):

    ``p_std = sum_j w_j * p_j`` with ``w_j = N_j / N`` (national bases of the wave), and
    ``Var(p_std) = sum_j w_j^2 * p_j * (1 - p_j) / n_j`` (weights treated as fixed;
    Breslow & Day 1987, vol. II, section 2.3). The difference of the site's and the
    rest's standardised proportions gets a Wald interval
    ``d +/- z(1 - a/2) * sqrt(Var_site + Var_rest)`` at the level ``1 - a`` of the
    family given in ``levels``.

    Parameters
    ----------
    prof_counts
        From :func:`indicator_counts` with ``by=("site", "wave", "profession")``.
    levels
        ``wave, site, indicator, ci_level`` of the crude comparison (the standardised
        interval uses the same family level; rows without a level are not computed).
    min_cell
        A site whose base in any profession stratum is below ``min_cell`` gets no
        standardised value: with the crude proportion beside it, two strata would let
        a small stratum's proportion be solved for.

    Returns
    -------
    pandas.DataFrame
        ``wave, site, indicator, std_p1 (site), std_p2 (rest), std_diff, std_se,
        std_ci_low, std_ci_high, std_reason``.

    Examples
    --------
    Two strata, national weights 0.5 / 0.5; the site has 20 and 80 raters:

    >>> c = pd.DataFrame({"site": ["a", "a", "b", "b"], "wave": 2019, "indicator": "x",
    ...                   "profession": ["p", "q", "p", "q"],
    ...                   "n": [20, 80, 80, 20], "k": [18, 40, 72, 10]})
    >>> lv = pd.DataFrame({"wave": [2019, 2019], "site": ["a", "b"], "indicator": "x",
    ...                    "ci_level": [0.95, 0.95]})
    >>> out = standardised_vs_rest(c, lv)
    >>> round(float(out.loc[0, "std_p1"]), 3), round(float(out.loc[0, "std_diff"]), 3)
    (0.7, 0.0)
    """
    c = prof_counts.astype({"site": str, "profession": str})
    keys = ["wave", "indicator"]
    nat = c.groupby([*keys, "profession"], observed=True)[["n", "k"]].sum()
    nat = nat.rename(columns={"n": "N", "k": "K"}).reset_index()
    nat["w"] = nat["N"] / nat.groupby(keys)["N"].transform("sum")
    strata = levels[["wave", "site", "indicator"]].astype({"site": str}).merge(nat, on=keys)
    strata = strata.merge(
        c[["wave", "site", "indicator", "profession", "n", "k"]],
        on=["wave", "site", "indicator", "profession"],
        how="left",
    ).fillna({"n": 0, "k": 0})
    strata["n_rest"], strata["k_rest"] = strata["N"] - strata["n"], strata["K"] - strata["k"]
    with np.errstate(invalid="ignore", divide="ignore"):
        for side, n, k in (("1", "n", "k"), ("2", "n_rest", "k_rest")):
            p = strata[k] / strata[n]
            strata[f"wp{side}"] = strata["w"] * p
            strata[f"v{side}"] = strata["w"] ** 2 * p * (1 - p) / strata[n]
    keyed = ["wave", "site", "indicator"]
    g = strata.groupby(keyed, sort=False)
    out = g[["wp1", "wp2", "v1", "v2"]].sum(min_count=1).reset_index()
    # Strata too small to stand beside the crude value: one vectorised pass, not a
    # Python function per site.
    weighted = strata["w"] > 0
    here = strata[weighted & (strata["n"] < min_cell)]
    small = here.groupby(keyed, sort=False)["profession"].agg(", ".join).rename("small")
    rest = strata[weighted & (strata["n_rest"] < min_cell)][keyed].drop_duplicates()
    out = out.merge(small.reset_index(), on=keyed, how="left").fillna({"small": ""})
    out = out.merge(rest.assign(small_rest=True), on=keyed, how="left")
    out["small_rest"] = out["small_rest"].fillna(False).astype(bool)
    out = out.merge(levels.astype({"site": str}), on=keyed)
    ok = (out["small"] == "") & ~out["small_rest"] & out["ci_level"].notna()
    z = sps.norm.ppf(1 - (1 - out["ci_level"].fillna(0.95)) / 2)
    se = np.sqrt(out["v1"] + out["v2"])
    d = out["wp1"] - out["wp2"]
    res = pd.DataFrame(
        {
            "wave": out["wave"],
            "site": out["site"],
            "indicator": out["indicator"],
            "std_p1": out["wp1"].where(ok),
            "std_p2": out["wp2"].where(ok),
            "std_diff": d.where(ok),
            "std_se": se.where(ok),
            "std_ci_low": (d - z * se).where(ok),
            "std_ci_high": (d + z * se).where(ok),
        }
    )
    reason = np.where(
        out["small"] != "",
        "fewer than " + str(min_cell) + " respondents here in: " + out["small"],
        np.where(out["small_rest"], "too few respondents in the rest of the sites", None),
    )
    res["std_reason"] = pd.array(np.where(ok, None, reason), dtype=pd.StringDtype(na_value=pd.NA))
    return res


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
    """Exact binomial funnel limits for a proportion (Spiegelhalter 2005, appendix A.1.1).

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


def adjusted_limits(
    p0: float, n: np.ndarray, coverage: float, tau2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Additive-overdispersion limits ``p0 +/- z * sqrt(p0 (1 - p0) / n + tau^2)``.

    Examples
    --------
    >>> lo, hi = adjusted_limits(0.5, np.array([100.0]), 0.95, 0.0)
    >>> round(float(hi[0]), 4)  # 0.5 + 1.959964 * 0.05
    0.598
    """
    n = np.asarray(n, dtype=float)
    z = sps.norm.ppf((1 + coverage) / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = z * np.sqrt(p0 * (1 - p0) / n + tau2)
    return np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)


def overdispersion(k, n, trim: float = 0.1, alpha: float = 0.05) -> dict:
    """Spiegelhalter's overdispersion estimate for one indicator across units.

    Parameters
    ----------
    k, n
        Numerators and bases of the units (sites); units with ``n == 0`` are ignored.
    trim
        Winsorisation at each end: z-scores below the ``trim`` quantile (linear
        interpolation, R's type 7) are set to it, and above ``1 - trim`` likewise.
    alpha
        Level of the test of overdispersion.

    Returns
    -------
    dict
        ``p0`` (pooled proportion), ``z`` and ``z_w`` (per unit, raw and winsorised),
        ``units`` (I), ``phi`` (mean of squared winsorised z), ``chi2`` (I * phi),
        ``p_value`` (upper tail of chi-square with I - 1 degrees of freedom, as the
        DerSimonian-Laird Q statistic), ``overdispersed`` (``p_value < alpha``) and
        ``tau2``: ``max(0, (I phi - (I - 1)) / (sum w - sum w^2 / sum w))`` with
        ``w = 1 / s^2``, ``s^2 = p0 (1 - p0) / n`` (0 unless overdispersed).

    Examples
    --------
    >>> out = overdispersion([50, 50], [100, 100])
    >>> out["phi"], out["tau2"], out["overdispersed"]
    (0.0, 0.0, False)
    """
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    use = n > 0
    k, n = k[use], n[use]
    units = int(use.sum())
    p0 = k.sum() / n.sum() if units else np.nan
    if units < 2 or not 0 < p0 < 1:
        return {"p0": p0, "z": np.full(units, np.nan), "z_w": np.full(units, np.nan),
                "units": units, "phi": np.nan, "chi2": np.nan, "p_value": np.nan,
                "overdispersed": False, "tau2": 0.0}  # fmt: skip
    s2 = p0 * (1 - p0) / n
    z = (k / n - p0) / np.sqrt(s2)
    lo, hi = np.quantile(z, [trim, 1 - trim])
    z_w = np.clip(z, lo, hi)
    phi = float(np.mean(z_w**2))
    chi2 = units * phi
    p_value = float(sps.chi2.sf(chi2, units - 1))
    over = p_value < alpha
    w = 1 / s2
    tau2 = max(0.0, (chi2 - (units - 1)) / (w.sum() - (w**2).sum() / w.sum())) if over else 0.0
    return {"p0": float(p0), "z": z, "z_w": z_w, "units": units, "phi": phi, "chi2": chi2,
            "p_value": p_value, "overdispersed": bool(over), "tau2": float(tau2)}  # fmt: skip


def funnel_table(
    ind_counts: pd.DataFrame, levels: Sequence[float] = (0.95, 0.998), trim: float = 0.1
) -> pd.DataFrame:
    """Each site's position against funnel limits around the national proportion.

    Per wave and indicator, overdispersion is estimated across the sites
    (:func:`overdispersion`); the limits are additive-overdispersion limits when the
    test finds it, exact binomial limits otherwise.

    Returns
    -------
    pandas.DataFrame
        ``wave, indicator, site, n, k, estimate, national, z, phi, od_p, tau2,
        adjusted, lo95, hi95, lo998, hi998, outside`` where ``outside`` is
        "above 99.8%", "above 95%", "below 95%", "below 99.8%" or "within".
    """
    full = _complete(ind_counts)
    parts = []
    for (_wave, _ind), g in full.groupby(["wave", "indicator"], sort=False):
        g = g.copy()
        od = overdispersion(g["k"], g["n"], trim=trim)
        n = g["n"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            g["estimate"] = np.where(n > 0, g["k"] / np.where(n > 0, n, 1), np.nan)
        g["national"] = od["p0"]
        z = np.full(len(g), np.nan)
        z[n > 0] = od["z"]
        g["z"], g["phi"], g["od_p"] = z, od["phi"], od["p_value"]
        g["tau2"], g["adjusted"] = od["tau2"], od["overdispersed"]
        for lv in levels:
            if od["overdispersed"]:
                lo, hi = adjusted_limits(od["p0"], n, lv, od["tau2"])
            else:
                lo, hi = funnel_limits(od["p0"], n, lv)
            name = {0.95: "95", 0.998: "998"}.get(lv, str(lv))
            g[f"lo{name}"] = np.where(n > 0, lo, np.nan)
            g[f"hi{name}"] = np.where(n > 0, hi, np.nan)
        parts.append(g)
    full = pd.concat(parts, ignore_index=True)
    e = full["estimate"]
    full["outside"] = np.select(
        [e > full["hi998"], e > full["hi95"], e < full["lo998"], e < full["lo95"]],
        ["above 99.8%", "above 95%", "below 99.8%", "below 95%"],
        default="within",
    )
    return full


#: Most points a funnel curve is drawn through: every integer base up to this many, then
#: bases spread evenly on a log scale (a site of 50,000 would otherwise take 50,000 rows).
FUNNEL_POINTS = 2000


def funnel_grid(shown_n: np.ndarray) -> np.ndarray:
    """The bases at which a funnel plot draws its limits: from 80% of the smallest shown
    site base (at least 5) to 115% of the largest, every integer up to
    :data:`FUNNEL_POINTS` of them.

    Examples
    --------
    >>> g = funnel_grid(np.array([40.0, 100.0]))  # 100 * 1.15 is 114.99999999999999
    >>> int(g[0]), int(g[-1]), len(g)
    (32, 115, 84)
    """
    shown_n = np.asarray(shown_n, dtype=float)
    if not len(shown_n):
        return np.arange(5, 100, dtype=float)
    lo, hi = max(5, int(shown_n.min() * 0.8)), int(shown_n.max() * 1.15) + 2
    if hi - lo <= FUNNEL_POINTS:
        return np.arange(lo, hi, dtype=float)
    return np.unique(np.geomspace(lo, hi - 1, FUNNEL_POINTS).round())


def funnel_curve(rows: pd.DataFrame, levels: Sequence[float] = (0.95, 0.998)) -> pd.DataFrame:
    """The limit curves of one funnel plot: the rows of one wave and indicator of a
    (masked) :func:`funnel_table`, limits on the :func:`funnel_grid` of the sites shown.

    Returns
    -------
    pandas.DataFrame
        ``at_base, lo95, hi95, lo998, hi998``: the limits at each base (a number of
        respondents on the plot's axis, not a count of anyone).

    Examples
    --------
    >>> rows = pd.DataFrame({"n": [100.0], "estimate": [0.5], "national": [0.5],
    ...                      "adjusted": [True], "tau2": [0.0]})
    >>> c = funnel_curve(rows)
    >>> round(float(c.loc[c["at_base"] == 100, "hi95"].iloc[0]), 4)  # 0.5 + 1.959964 * 0.05
    0.598
    """
    grid = funnel_grid(rows.loc[rows["estimate"].notna(), "n"].to_numpy(dtype=float))
    p0 = float(rows["national"].iloc[0])
    adjusted = bool(rows["adjusted"].iloc[0]) if "adjusted" in rows else False
    out = pd.DataFrame({"at_base": grid})
    for lv in levels:
        if adjusted:
            lo, hi = adjusted_limits(p0, grid, lv, float(rows["tau2"].iloc[0]))
        else:
            lo, hi = funnel_limits(p0, grid, lv)
        name = {0.95: "95", 0.998: "998"}.get(lv, str(lv))
        out[f"lo{name}"], out[f"hi{name}"] = lo, hi
    return out


def funnel_curves(funnel: pd.DataFrame) -> pd.DataFrame:
    """The limit curves of every funnel plot (:func:`funnel_curve` per wave and
    indicator of a masked :func:`funnel_table`).

    Computed with the aggregates so that a report draws the curves without computing
    them (its kernel never imports scipy.stats). The curves hold no respondent data:
    they follow from the national proportion, tau^2 and the range of the shown sites'
    bases, all published in the ``funnel`` table.

    Returns
    -------
    pandas.DataFrame
        ``wave, indicator, at_base, lo95, hi95, lo998, hi998``.
    """
    parts = [
        funnel_curve(g).assign(wave=wave, indicator=ind)
        for (wave, ind), g in funnel.groupby(["wave", "indicator"], sort=False)
    ]
    columns = ["wave", "indicator", "at_base", "lo95", "hi95", "lo998", "hi998"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
