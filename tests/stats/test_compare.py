"""Site vs rest of sites, and funnel-plot limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsc_research.stats.compare import funnel_limits, funnel_table, site_vs_rest
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
    assert set(out["correction"]) == {"Holm"}


def test_site_without_raters_gets_no_estimate(codebook):
    ind = _ind([("a", 2019, "wp_free_up_beds", 20, 10), ("b", 2019, "wp_free_up_beds", 30, 10),
                ("b", 2019, "adm_risk_mitigation", 30, 10)])  # fmt: skip
    out = site_vs_rest(ind, codebook).set_index(["site", "indicator"])
    row = out.loc[("a", "adm_risk_mitigation")]
    assert row["n1"] == 0 and np.isnan(row["diff"]) and row["flag"] == "no evidence of a difference"


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


def test_funnel_table_marks_outliers():
    ind = _ind([("a", 2019, "x", 200, 20), ("b", 2019, "x", 200, 100), ("c", 2019, "x", 200, 90)])
    t = funnel_table(ind).set_index("site")
    assert t.loc["a", "national"] == pytest.approx(210 / 600)
    assert t.loc["a", "outside"] == "below 99.8%"
