"""Differences of proportions against Newcombe (1998b), Table II, method 10."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from hsc_research.stats.gaps import (
    diff_proportions,
    directional_gaps,
    in_out_group,
    wave_change,
)

NEWCOMBE = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
]


@pytest.mark.parametrize("k1, n1, k2, n2, low, high", NEWCOMBE)
def test_newcombe_hybrid_score_interval(k1, n1, k2, n2, low, high):
    out = diff_proportions([k1], [n1], [k2], [n2])
    assert out.loc[0, "ci_low"] == pytest.approx(low, abs=5e-5)
    assert out.loc[0, "ci_high"] == pytest.approx(high, abs=5e-5)
    assert out.loc[0, "diff"] == pytest.approx(k1 / n1 - k2 / n2)


def test_score_test_p_value_by_hand():
    # Miettinen-Nurminen score statistic for 56/70 vs 48/80 reduces, for the test of
    # no difference, to the pooled z with variance scaled by N / (N - 1):
    # p = 104/150, var = p(1-p)(1/70 + 1/80) * 150/149.
    p = 104 / 150
    z = (56 / 70 - 48 / 80) / np.sqrt(p * (1 - p) * (1 / 70 + 1 / 80) * 150 / 149)
    out = diff_proportions([56], [70], [48], [80])
    assert out.loc[0, "p"] == pytest.approx(2 * norm.sf(z), rel=1e-6)


def test_zero_base_is_nan_with_reason():
    out = diff_proportions([0], [0], [3], [10])
    assert np.isnan(out.loc[0, "diff"]) and np.isnan(out.loc[0, "p"])
    assert out.loc[0, "reason"] == "a base of 0"


def _trust(rows):
    """rows: (wave, rater profession, target, code)."""
    return pd.DataFrame(
        {
            "wave": [r[0] for r in rows],
            "profession": [r[1] for r in rows],
            "question": "trust",
            "item": [r[2] for r in rows],
            "code": pd.array([r[3] for r in rows], dtype="Int8"),
            "status": "valid",
        }
    )


def test_directional_gap_asc_vs_hospital_discharge(codebook):
    # ASC rating discharge staff: 3 of 4 agree; discharge staff rating ASC: 1 of 4.
    rows = [(2019, "asc", "hospital_discharge", c) for c in (4, 3, 3, 1)]
    rows += [(2019, "hospital_discharge", "asc", c) for c in (3, 2, 1, 1)]
    out = directional_gaps(_trust(rows), codebook)
    row = out[(out["a"] == "asc") & (out["b"] == "hospital_discharge")].iloc[0]
    assert (row["k1"], row["n1"], row["k2"], row["n2"]) == (3, 4, 1, 4)
    assert row["diff"] == pytest.approx(0.5)
    ref = diff_proportions([3], [4], [1], [4])
    assert row["ci_low"] == pytest.approx(ref.loc[0, "ci_low"])
    assert row["correction"] == "Bonferroni"


def test_in_group_vs_out_group(codebook):
    rows = [(2019, "gp", "gp", c) for c in (4, 4, 3)] + [
        (2019, "asc", "gp", c) for c in (3, 2, 1, 1)
    ]
    out = in_out_group(_trust(rows), codebook).set_index("target")
    assert (out.loc["gp", "k1"], out.loc["gp", "n1"]) == (3, 3)
    assert (out.loc["gp", "k2"], out.loc["gp", "n2"]) == (1, 4)


def test_wave_change_later_minus_earlier(codebook):
    rows = [(2014, "asc", "gp", c) for c in (4, 3, 3, 3)] + [
        (2019, "asc", "gp", c) for c in (4, 1, 1, 1)
    ]
    out = wave_change(_trust(rows), codebook, "trust", 2014, 2019).set_index("item")
    assert out.loc["gp", "diff"] == pytest.approx(0.25 - 1.0)


def test_between_rater_groups_for_one_target(codebook):
    # Target GPs: ASC raters 3 of 4 agree, hospital raters 1 of 4.
    rows = [("asc", c) for c in (4, 3, 3, 1)] + [("hospital", c) for c in (3, 2, 1, 1)]
    df = pd.DataFrame({"group": [r[0] for r in rows], "question": "trust", "item": "gp",
                       "code": pd.array([r[1] for r in rows], dtype="Int8"), "status": "valid"})  # fmt: skip
    from hsc_research.stats.gaps import between_raters

    out = between_raters(df, codebook, "trust").iloc[0]
    assert (out["rater1"], out["rater2"], out["k1"], out["n1"], out["k2"], out["n2"]) == (
        "asc",
        "hospital",
        3,
        4,
        1,
        4,
    )
    assert out["ci_low"] == pytest.approx(diff_proportions([3], [4], [1], [4]).loc[0, "ci_low"])


def test_between_raters_by_role_level_is_not_empty(codebook):
    # Any breakdown field in the data works, not only group and profession.
    rows = [("manager", c) for c in (4, 3, 3, 1)] + [("frontline", c) for c in (3, 2, 1, 1)]
    df = pd.DataFrame({"role_level": [r[0] for r in rows], "question": "trust", "item": "gp",
                       "code": pd.array([r[1] for r in rows], dtype="Int8"), "status": "valid"})  # fmt: skip
    from hsc_research.stats.gaps import between_raters

    out = between_raters(df, codebook, "trust", rater="role_level")
    assert len(out) == 1
    assert {out.iloc[0]["rater1"], out.iloc[0]["rater2"]} == {"manager", "frontline"}


def test_between_raters_unknown_rater_field_is_one_line(codebook):
    df = pd.DataFrame({"group": ["asc"], "question": "trust", "item": "gp",
                       "code": pd.array([3], dtype="Int8"), "status": "valid"})  # fmt: skip
    from hsc_research.stats.gaps import between_raters

    with pytest.raises(ValueError, match=r"^rater field 'band' is not in the data; fields: group$"):
        between_raters(df, codebook, "trust", rater="band")


def test_pairs_are_every_unordered_pair_in_order():
    from hsc_research.stats.gaps import pairs

    assert pairs(["a", "b", "c"], ("r1", "r2")).values.tolist() == [
        ["a", "b"],
        ["a", "c"],
        ["b", "c"],
    ]
