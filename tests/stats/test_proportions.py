"""Wilson intervals against Newcombe (1998a), Table I, method 3 (score, no correction)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsc_research.stats.proportions import from_counts, proportion_high, wilson


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(k, n, low, high):
    lo, hi = wilson(np.array([k]), np.array([n]))
    assert lo[0] == pytest.approx(low, abs=5e-5)
    assert hi[0] == pytest.approx(high, abs=5e-5)


def test_all_successes_reaches_one():
    lo, hi = wilson(np.array([20]), np.array([20]))
    assert hi[0] == pytest.approx(1.0) and lo[0] == pytest.approx(1 - 0.1611, abs=5e-5)


def test_zero_base_gives_nan_with_reason():
    t = from_counts([0, 3], [0, 4])
    assert np.isnan(t.loc[0, "estimate"]) and np.isnan(t.loc[0, "ci_low"])
    assert t.loc[0, "reason"] == "no substantive answers"
    assert t.loc[1, "estimate"] == 0.75 and pd.isna(t.loc[1, "reason"])


def _responses(rows):
    """rows: (site, question, item, code or None for don't know)."""
    return pd.DataFrame(
        {
            "site": [r[0] for r in rows],
            "question": [r[1] for r in rows],
            "item": [r[2] for r in rows],
            "code": pd.array([r[3] for r in rows], dtype="Int8"),
            "status": ["valid" if r[3] is not None else "dont_know" for r in rows],
        }
    )


def test_percent_agree_counts_strongly_agree_and_agree_of_substantive(codebook):
    # Site a: codes 4, 3, 2, 1 and a don't know -> 2 of 4 agree. Site b: 3, 3, 1 -> 2 of 3.
    r = _responses([("a", "trust", "asc", c) for c in (4, 3, 2, 1, None)]
                   + [("b", "trust", "asc", c) for c in (3, 3, 1)])  # fmt: skip
    out = proportion_high(r, codebook, by=["site"]).set_index("site")
    assert out.loc["a", ["n", "k"]].tolist() == [4, 2]
    assert out.loc["b", ["n", "k"]].tolist() == [3, 2]
    assert out.loc["a", "measure"] == "agree"


def test_percent_frequent_and_strong(codebook):
    r = _responses([("a", "wrong_pathway", "free_up_beds", c) for c in (4, 3, 2, 0)]
                   + [("a", "relationships", "gp", c) for c in (5, 4, 3, 1, 1)])  # fmt: skip
    out = proportion_high(r, codebook).set_index("question")
    assert out.loc["wrong_pathway", "estimate"] == 0.5
    assert out.loc["relationships", "estimate"] == pytest.approx(0.4)
    assert out.loc["relationships", "measure"] == "strong"
