"""Frequency questions: ranking, tag shares, within-respondent tag comparison, chi-square."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsc_research.stats.frequency import (
    ranked_items,
    rater_differences,
    tag_comparison,
    top_k_tag_share,
)


def _resp(rows):
    """rows: (respondent, group, item, code)."""
    return pd.DataFrame({"respondent_id": [r[0] for r in rows], "group": [r[1] for r in rows],
                         "question": "admission_factors", "item": [r[2] for r in rows],
                         "code": pd.array([r[3] for r in rows], dtype="Int8"), "status": "valid"})  # fmt: skip


def test_ranking_by_percent_frequent(codebook):
    rows = [(i, "asc", "risk_mitigation", c) for i, c in enumerate([4, 3, 3, 1])]  # 75%
    rows += [(i, "asc", "records_access", c) for i, c in enumerate([4, 1, 1, 0])]  # 25%
    rows += [(i, "asc", "safe_culture", c) for i, c in enumerate([3, 3, 2, 2])]  # 50%
    r = ranked_items(_resp(rows), codebook, "admission_factors")
    assert r["item"].astype(str).tolist() == ["risk_mitigation", "safe_culture", "records_access"]
    assert r["rank"].tolist() == [1, 2, 3]
    assert r["mean_code"].tolist() == [2.75, 2.5, 1.5]
    share = top_k_tag_share(r, k=2).set_index("tag")
    assert share.loc["behaviour", "share"] == 1.0


def test_tag_comparison_is_a_paired_t_test(codebook):
    # Per respondent: share of behaviour items frequent minus share of process items frequent.
    rows = [
        ("a", "asc", "risk_mitigation", 4), ("a", "asc", "safe_culture", 3), ("a", "asc", "records_access", 0),
        ("b", "asc", "risk_mitigation", 4), ("b", "asc", "safe_culture", 0), ("b", "asc", "records_access", 0),
        ("c", "asc", "risk_mitigation", 1), ("c", "asc", "safe_culture", 1), ("c", "asc", "records_access", 3),
        ("d", "asc", "risk_mitigation", 3),  # no process answer: left out
    ]  # fmt: skip
    out = tag_comparison(_resp(rows), codebook).iloc[0]
    d = np.array([100.0, 50.0, -100.0])
    ref = sps.ttest_1samp(d, 0)
    assert out["n"] == 3
    assert out["diff"] == pytest.approx(d.mean())
    assert out["p"] == pytest.approx(ref.pvalue)
    low, high = ref.confidence_interval()
    assert (out["ci_low"], out["ci_high"]) == (pytest.approx(low), pytest.approx(high))


def test_rater_differences_chi_square(codebook):
    rows = [(i, "asc", "risk_mitigation", c) for i, c in enumerate([4] * 20 + [0] * 5)]
    rows += [(i, "hospital", "risk_mitigation", c) for i, c in enumerate([4] * 5 + [0] * 20)]
    out = rater_differences(_resp(rows), codebook, "admission_factors").iloc[0]
    ref = sps.chi2_contingency(np.array([[5, 20], [20, 5]]))
    assert out["statistic"] == pytest.approx(ref.statistic)
    assert out["p"] == pytest.approx(ref.pvalue)
    assert out["dof"] == 1 and "chi-square" in out["test"]
