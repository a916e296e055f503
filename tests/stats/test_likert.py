"""Likert distributions and summaries on hand-counted data (R likert conventions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsc_research.stats.likert import distribution, likert_summary


def _resp(question, item, codes):
    return pd.DataFrame({"question": question, "item": item,
                         "code": pd.array(codes, dtype="Int8"),
                         "status": ["valid" if c is not None else "blank" for c in codes]})  # fmt: skip


def test_distribution_includes_empty_levels(codebook):
    # agree4: SD=1, D=2, A=3, SA=4; answers 4, 4, 3, 1 and a blank.
    d = distribution(_resp("trust", "gp", [4, 4, 3, 1, None]), codebook, "trust")
    assert d["level"].astype(str).tolist() == [
        "Strongly disagree",
        "Disagree",
        "Agree",
        "Strongly agree",
    ]
    assert d["count"].tolist() == [1, 0, 1, 2]
    assert d["pct"].tolist() == [25.0, 0.0, 25.0, 50.0]


def test_agree4_summary_has_no_neutral(codebook):
    s = likert_summary(_resp("trust", "gp", [4, 4, 3, 1]), codebook, "trust").iloc[0]
    assert (s["low"], s["high"]) == (25.0, 75.0)
    assert np.isnan(s["neutral"])
    # Level numbers 1..4 equal the codes: mean 3, sd of (4, 4, 3, 1) with n - 1.
    assert s["mean"] == 3.0
    assert s["sd"] == pytest.approx(np.sqrt((1 + 1 + 0 + 4) / 3))


def test_frequency5_summary_uses_level_numbers_for_mean(codebook):
    # Codes 4, 2, 2, 0 are levels 5, 3, 3, 1: low 25%, neutral 50%, high 25%.
    s = likert_summary(
        _resp("wrong_pathway", "free_up_beds", [4, 2, 2, 0]), codebook, "wrong_pathway"
    ).iloc[0]
    assert (s["low"], s["neutral"], s["high"]) == (25.0, 50.0, 25.0)
    assert s["mean"] == 3.0  # R likert: mean of levels 1..5
    assert s["mean_code"] == 2.0  # codebook codes 0..4
    assert s["sd"] == pytest.approx(np.sqrt(8 / 3))
