"""Site vs rest of sites, and funnel-plot limits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsc_research.stats.compare import (
    funnel_curves,
    funnel_limits,
    funnel_table,
    overdispersion,
    site_vs_rest,
    standardised_vs_rest,
)
from hsc_research.stats.gaps import diff_proportions


def _ind(rows):
    return pd.DataFrame(rows, columns=["site", "wave", "indicator", "n", "k"])


def test_site_vs_rest_uses_national_minus_site(codebook):
    ind = _ind([("a", 2019, "trust_hospital_in_asc", 50, 10), ("b", 2019, "trust_hospital_in_asc", 100, 60),
                ("c", 2019, "trust_hospital_in_asc", 50, 30)])  # fmt: skip
    out = site_vs_rest(ind, codebook).set_index("site")
    assert (out.loc["a", "n2"], out.loc["a", "k2"]) == (150, 90)
    ref = diff_proportions([10], [50], [90], [150])
    assert out.loc["a", "ci_low"] == pytest.approx(ref.loc[0, "ci_low"])
    assert out.loc["a", "flag"] == "significantly lower"
    assert out.loc["a", "label"] == "Hospital staff who trust adult social care"
    assert set(out["correction"]) == {"Bonferroni"}


def test_site_without_raters_gets_no_estimate(codebook):
    ind = _ind([("a", 2019, "wp_free_up_beds", 20, 10), ("b", 2019, "wp_free_up_beds", 30, 10),
                ("b", 2019, "adm_risk_mitigation", 30, 10)])  # fmt: skip
    out = site_vs_rest(ind, codebook).set_index(["site", "indicator"])
    row = out.loc[("a", "adm_risk_mitigation")]
    # No raters: no comparison, so no flag (never "no evidence of a difference").
    assert row["n1"] == 0 and np.isnan(row["diff"]) and pd.isna(row["flag"])


def test_funnel_limits_approach_the_normal_limits_for_large_n():
    lo, hi = funnel_limits(0.3, np.array([100_000]), 0.95)
    se = np.sqrt(0.3 * 0.7 / 100_000)
    assert lo[0] == pytest.approx(0.3 - 1.959964 * se, abs=2e-4 * 0.3)
    assert hi[0] == pytest.approx(0.3 + 1.959964 * se, abs=2e-4 * 0.3)


def test_funnel_limits_are_binomial_quantiles_at_integer_points():
    # With F(r) exactly q impossible, the limit lies between (r - 1)/n and r/n.
    n, p0 = 40, 0.5
    lo, hi = funnel_limits(p0, np.array([n]), 0.998)
    r_hi = sps.binom.ppf(0.999, n, p0)
    r_lo = sps.binom.ppf(0.001, n, p0)
    assert (r_hi - 1) / n <= hi[0] <= r_hi / n
    assert (r_lo - 1) / n <= lo[0] <= r_lo / n
    assert lo[0] < p0 < hi[0]


def test_funnel_limits_narrow_as_n_grows():
    lo, hi = funnel_limits(0.4, np.array([20, 80, 320]), 0.95)
    assert np.all(np.diff(hi - lo) < 0)


def test_funnel_table_marks_outliers_with_binomial_limits_when_not_overdispersed():
    # Eleven sites at exactly the national 35% and one far below: the winsorised z-scores
    # of the ten typical sites are 0, so phi is small and the limits stay binomial.
    rows = [(f"s{i:02d}", 2019, "x", 200, 70) for i in range(11)] + [("low", 2019, "x", 200, 40)]
    t = funnel_table(_ind(rows)).set_index("site")
    assert not t["adjusted"].any()
    assert t.loc["low", "national"] == pytest.approx(810 / 2400)
    lo, _ = funnel_limits(810 / 2400, np.array([200]), 0.998)
    assert t.loc["low", "lo998"] == pytest.approx(lo[0])
    assert t.loc["low", "outside"] == "below 99.8%"
    assert (t.drop(index="low")["outside"] == "within").all()


# Six sites (Spiegelhalter 2005, Qual Saf Health Care 14:347, appendix), by hand.
SIX_N = [100, 200, 150, 120, 80, 250]
SIX_K = [30, 80, 45, 60, 20, 75]


def test_overdispersion_six_units_every_intermediate_by_hand():
    n, k = np.array(SIX_N, float), np.array(SIX_K, float)
    p0 = 310 / 900  # sum k / sum n
    s = [math.sqrt(p0 * (1 - p0) / ni) for ni in SIX_N]
    z = [(ki / ni - p0) / si for ki, ni, si in zip(SIX_K, SIX_N, s, strict=True)]
    # 10% winsorisation, quantiles by linear interpolation (R type 7): for 6 values the
    # 10th percentile is halfway between the smallest and second smallest z.
    zs = sorted(z)
    low, high = zs[0] + 0.5 * (zs[1] - zs[0]), zs[5] - 0.5 * (zs[5] - zs[4])
    zw = [min(max(zi, low), high) for zi in z]
    phi = sum(x * x for x in zw) / 6
    w = [1 / si**2 for si in s]
    tau2 = (6 * phi - 5) / (sum(w) - sum(x * x for x in w) / sum(w))
    out = overdispersion(k, n)
    assert out["p0"] == pytest.approx(p0, abs=1e-12)
    np.testing.assert_allclose(out["z"], z, atol=1e-12)
    np.testing.assert_allclose(out["z_w"], zw, atol=1e-12)
    assert out["phi"] == pytest.approx(phi, abs=1e-12)
    assert out["p_value"] == pytest.approx(sps.chi2.sf(6 * phi, 5), abs=1e-12)
    assert out["overdispersed"]
    assert out["tau2"] == pytest.approx(tau2, abs=1e-12)
    # The same numbers written out (hand calculation, 4 decimals): z = -0.9353, 1.6534,
    # -1.1455, 3.5860, -1.7777, -1.4788; winsorised at -1.6283 and 2.6197; phi = 2.7703;
    # tau^2 = 0.00361 (tau = 6.0 points).
    np.testing.assert_allclose(out["z_w"], [-0.9353, 1.6534, -1.1455, 2.6197, -1.6283, -1.4788],
                               atol=5e-5)  # fmt: skip
    assert out["phi"] == pytest.approx(2.7703, abs=5e-5)
    assert out["tau2"] == pytest.approx(0.00361, abs=5e-6)


def test_adjusted_limits_add_tau2_to_the_binomial_variance():
    n, k = np.array(SIX_N, float), np.array(SIX_K, float)
    od = overdispersion(k, n)
    p0, tau2 = od["p0"], od["tau2"]
    t = funnel_table(_ind([(f"u{i}", 2019, "x", ni, ki) for i, (ni, ki) in
                           enumerate(zip(SIX_N, SIX_K, strict=True))])).set_index("site")  # fmt: skip
    for i, ni in enumerate(SIX_N):
        half = 1.959964 * math.sqrt(p0 * (1 - p0) / ni + tau2)
        assert t.loc[f"u{i}", "lo95"] == pytest.approx(p0 - half, abs=1e-6)
        assert t.loc[f"u{i}", "hi95"] == pytest.approx(p0 + half, abs=1e-6)
        half998 = 3.090232 * math.sqrt(p0 * (1 - p0) / ni + tau2)
        assert t.loc[f"u{i}", "hi998"] == pytest.approx(p0 + half998, abs=1e-6)
    assert t["adjusted"].all() and t["tau2"].iloc[0] == pytest.approx(tau2)


def test_no_overdispersion_falls_back_to_binomial_limits():
    # Every site at the national proportion: phi = 0, no tau^2, exact binomial limits.
    t = funnel_table(_ind([(s, 2019, "x", 100, 40) for s in "abcdef"])).set_index("site")
    assert t["phi"].iloc[0] == 0 and t["tau2"].iloc[0] == 0 and not t["adjusted"].any()
    lo, hi = funnel_limits(0.4, np.array([100]), 0.95)
    assert t.loc["a", "lo95"] == pytest.approx(lo[0]) and t.loc["a", "hi95"] == pytest.approx(hi[0])


def test_direct_standardisation_by_hand():
    # Indicator raters from two professions; nationally 90 p-raters and 110 q-raters
    # (weights 0.45 / 0.55). Site a: p 18/20, q 40/80. Rest (site b): p 36/70, q 21/30.
    c = pd.DataFrame({"site": ["a", "a", "b", "b"], "wave": 2019, "indicator": "x",
                      "profession": ["p", "q", "p", "q"], "n": [20, 80, 70, 30],
                      "k": [18, 40, 36, 21]})  # fmt: skip
    lv = pd.DataFrame({"wave": [2019, 2019], "site": ["a", "b"], "indicator": "x",
                       "ci_level": [0.975, 0.975]})  # fmt: skip
    out = standardised_vs_rest(c, lv).set_index("site").loc["a"]
    w_p, w_q = 90 / 200, 110 / 200
    s1 = w_p * 18 / 20 + w_q * 40 / 80
    s2 = w_p * 36 / 70 + w_q * 21 / 30
    v1 = w_p**2 * 0.9 * 0.1 / 20 + w_q**2 * 0.5 * 0.5 / 80
    v2 = w_p**2 * (36 / 70) * (34 / 70) / 70 + w_q**2 * 0.7 * 0.3 / 30
    z = sps.norm.ppf(1 - 0.025 / 2)
    assert out["std_p1"] == pytest.approx(s1) and out["std_p2"] == pytest.approx(s2)
    assert out["std_se"] == pytest.approx(math.sqrt(v1 + v2))
    assert out["std_ci_low"] == pytest.approx(s1 - s2 - z * math.sqrt(v1 + v2))
    assert out["std_ci_high"] == pytest.approx(s1 - s2 + z * math.sqrt(v1 + v2))


def test_no_standardised_value_when_a_stratum_is_small():
    # 5 p-raters at site a: with the crude value beside it, p's share could be solved for.
    c = pd.DataFrame({"site": ["a", "a", "b", "b"], "wave": 2019, "indicator": "x",
                      "profession": ["p", "q", "p", "q"], "n": [5, 80, 70, 30],
                      "k": [4, 40, 36, 21]})  # fmt: skip
    lv = pd.DataFrame({"wave": [2019], "site": ["a"], "indicator": "x", "ci_level": [0.95]})
    out = standardised_vs_rest(c, lv).iloc[0]
    assert pd.isna(out["std_diff"]) and "p" in out["std_reason"]


def _funnel_rows(indicator, n, estimate, national, adjusted=False, tau2=0.0):
    return pd.DataFrame({"wave": 2019, "indicator": indicator, "n": n, "estimate": estimate,
                         "national": national, "adjusted": adjusted, "tau2": tau2})  # fmt: skip


def test_funnel_curves_span_the_shown_sites_only():
    # The site of 1,000 is suppressed (no estimate): the curve runs from 0.8 * 40 = 32
    # to 200 * 1.15 = 230 (229.99999999999997 in floating point, so the last base 230).
    fun = _funnel_rows("t", [40, 200, 1000], [0.2, 0.3, np.nan], 0.25)
    c = funnel_curves(fun)
    assert c["at_base"].iloc[0] == 32 and c["at_base"].iloc[-1] == 230
    assert c["at_base"].diff().dropna().eq(1).all()


def test_funnel_curves_are_the_adjusted_limits_when_overdispersed():
    fun = _funnel_rows("t", [100, 120], [0.4, 0.6], 0.5, adjusted=True, tau2=0.01)
    c = funnel_curves(fun).set_index("at_base")
    # sqrt(0.25 / 100 + 0.01) = 0.11180340; z from statistics.NormalDist (not scipy):
    # 0.5 + 1.95996398 * 0.11180340 = 0.7191306, 0.5 - 3.09023231 * 0.11180340 = 0.1545015
    assert c.loc[100.0, "hi95"] == pytest.approx(0.7191306, abs=5e-8)
    assert c.loc[100.0, "lo998"] == pytest.approx(0.1545015, abs=5e-8)


def test_funnel_curves_are_the_exact_binomial_limits_otherwise():
    fun = _funnel_rows("t", [100, 120], [0.4, 0.6], 0.5)
    c = funnel_curves(fun).set_index("at_base")
    lo, hi = funnel_limits(0.5, np.array([100.0]), 0.95)
    assert c.loc[100.0, "lo95"] == lo[0] and c.loc[100.0, "hi95"] == hi[0]


def test_funnel_curves_one_curve_per_wave_and_indicator():
    fun = pd.concat([_funnel_rows("a", [50, 60], [0.3, 0.4], 0.35),
                     _funnel_rows("b", [50, 60], [0.3, 0.4], 0.35).assign(wave=2014)])  # fmt: skip
    c = funnel_curves(fun)
    assert sorted(c.groupby(["wave", "indicator"]).size().index) == [(2014, "b"), (2019, "a")]
