"""One inference rule: Bonferroni-level intervals within a family, flag = interval excludes 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from scipy.stats import t as t_dist

from hsc_research.stats.gaps import diff_proportions, finish
from hsc_research.stats.multiplicity import (
    adjust_p,
    check_correction,
    family_sizes,
    finish_p,
    finish_t,
    interval_label,
)


def _wilson(k, n, z):
    # Wilson (1927) score interval, written out.
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _newcombe(k1, n1, k2, n2, alpha):
    # Newcombe (1998) method 10, written out from the two Wilson intervals.
    z = norm.ppf(1 - alpha / 2)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def _pairs(rows):
    table = diff_proportions(*(np.array(c) for c in zip(*rows, strict=True)))
    return table.assign(family=["a"] * len(rows))


def test_bonferroni_interval_of_a_family_of_three_by_hand():
    rows = [(56, 70, 48, 80), (9, 10, 3, 10), (30, 60, 30, 60)]
    out = finish(_pairs(rows), "bonferroni", family=["family"])
    for i, (k1, n1, k2, n2) in enumerate(rows):
        low, high = _newcombe(k1, n1, k2, n2, 0.05 / 3)
        assert out.loc[i, "ci_low"] == pytest.approx(low, abs=1e-10)
        assert out.loc[i, "ci_high"] == pytest.approx(high, abs=1e-10)
    assert out["family_size"].tolist() == [3, 3, 3]
    assert out["ci_level"].tolist() == pytest.approx([1 - 0.05 / 3] * 3)


def test_flag_follows_the_printed_interval_not_the_unadjusted_one():
    # 56/70 vs 48/80: the 95% interval (0.0524 to 0.3339, Newcombe 1998) excludes 0, but
    # in a family of 20 the 99.75% interval does not: not significant.
    rows = [(56, 70, 48, 80)] + [(5, 10, 5, 10)] * 19
    out = finish(_pairs(rows), "bonferroni", family=["family"])
    low, _ = _newcombe(56, 70, 48, 80, 0.05 / 20)
    assert low < 0
    assert not out.loc[0, "significant"]
    single = finish(_pairs(rows[:1]), "bonferroni", family=["family"])
    assert single.loc[0, "ci_low"] == pytest.approx(0.0524, abs=5e-5)
    assert single.loc[0, "significant"]


def test_significant_exactly_when_interval_excludes_zero():
    rng = np.random.default_rng(1)
    n1, n2 = rng.integers(10, 200, 300), rng.integers(10, 200, 300)
    k1, k2 = rng.binomial(n1, 0.5), rng.binomial(n2, 0.45)
    table = diff_proportions(k1, n1, k2, n2).assign(family=rng.integers(0, 30, 300))
    out = finish(table, "bonferroni", family=["family"])
    excludes = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    assert (out["significant"] == excludes).all()


def test_hidden_rows_are_not_tested_and_not_counted():
    rows = [(56, 70, 48, 80), (9, 10, 3, 10), (30, 60, 30, 60)]
    out = finish(_pairs(rows), "bonferroni", family=["family"], hidden=[False, True, False])
    assert out["family_size"].tolist() == [2, 0, 2]
    assert np.isnan(out.loc[1, "ci_low"]) and not out.loc[1, "significant"]
    low, _ = _newcombe(56, 70, 48, 80, 0.05 / 2)
    assert out.loc[0, "ci_low"] == pytest.approx(low, abs=1e-10)


def test_families_are_separate():
    t = pd.DataFrame({"site": ["a", "a", "b"]})
    assert family_sizes(t, ["site"], np.array([True, True, True])).tolist() == [2, 2, 1]


def test_welch_interval_at_family_level_by_hand():
    # Two pairs: diff 0.5, se 0.2, df 40 -> 97.5% interval 0.5 +/- t(0.9875, 40) * 0.2.
    t = pd.DataFrame({"diff": [0.5, -0.1], "se": [0.2, 0.2], "df": [40.0, 40.0]})
    out = finish_t(t, "bonferroni")
    q = t_dist.ppf(1 - 0.025 / 2, 40)
    assert out.loc[0, "ci_low"] == pytest.approx(0.5 - q * 0.2)
    assert out.loc[0, "ci_high"] == pytest.approx(0.5 + q * 0.2)
    # Exactly dual to the Welch test at alpha / m: p < 0.025 <=> interval excludes 0.
    p = 2 * t_dist.sf(0.5 / 0.2, 40)
    assert out.loc[0, "significant"] == (p < 0.025)


def test_chi_square_family_uses_bonferroni_p():
    out = finish_p(pd.DataFrame({"p": [0.01, 0.04, np.nan]}))
    assert out["p_adj"].tolist()[:2] == pytest.approx([0.02, 0.08])
    assert out["significant"].tolist() == [True, False, False]


def test_interval_label_names_level_and_family():
    assert interval_label(9) == "99.44% CI, Bonferroni-adjusted for 9 comparisons"
    assert interval_label(2) == "97.5% CI, Bonferroni-adjusted for 2 comparisons"
    assert interval_label(1) == "95% CI"
    assert interval_label(9, correction="none") == "95% CI"


def test_holm_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no matching interval"):
        check_correction("holm")


def test_holm_and_bh_by_hand():
    p = np.array([0.01, 0.04, 0.03, np.nan])
    # Holm: sorted 0.01, 0.03, 0.04 -> 0.03, 0.06, 0.06 (monotone).
    np.testing.assert_allclose(adjust_p(p, "holm")[:3], [0.03, 0.06, 0.06])
    # BH: 0.01*3/1 = 0.03; 0.03*3/2 = 0.045; 0.04*3/3 = 0.04 -> monotone: 0.03, 0.04, 0.04.
    np.testing.assert_allclose(adjust_p(p, "fdr_bh")[:3], [0.03, 0.04, 0.04])
    assert np.isnan(adjust_p(p)[3])


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_grouped_adjustment_matches_statsmodels_per_family(method):
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.2, size=60) ** 2
    groups = rng.integers(0, 5, size=60)
    got = adjust_p(p, method, groups)
    for g in range(5):
        sel = groups == g
        np.testing.assert_allclose(got[sel], multipletests(p[sel], method=method)[1])
