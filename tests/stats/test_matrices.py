"""Relationship matrices and asymmetries on a hand-made matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsc_research.stats.matrices import asymmetry, ranked_ties, rating_matrix

# (rater, target): ratings. ASC rates discharge high, discharge rates ASC low.
RATINGS = {
    ("asc", "hospital_discharge"): [5, 4, 4, 5],
    ("hospital_discharge", "asc"): [1, 2, 2],
    ("asc", "gp"): [2, 2, 3],
    ("gp", "asc"): [3, 3, 3, 3],
}


@pytest.fixture
def responses():
    rows = [(r, t, c) for (r, t), codes in RATINGS.items() for c in codes]
    return pd.DataFrame({"profession": [r for r, _, _ in rows], "question": "relationships",
                         "item": [t for _, t, _ in rows], "code": pd.array([c for *_, c in rows], dtype="Int8"),
                         "status": "valid"})  # fmt: skip


def test_cell_means_sd_and_t_interval(responses, codebook):
    m = rating_matrix(responses, codebook).set_index(["rater", "target"])
    cell = m.loc[("asc", "hospital_discharge")]
    x = np.array([5, 4, 4, 5])
    assert cell["n"] == 4 and cell["mean"] == 4.5
    assert cell["sd"] == pytest.approx(x.std(ddof=1))
    half = sps.t.ppf(0.975, 3) * x.std(ddof=1) / 2
    assert cell["ci_low"] == pytest.approx(4.5 - half)
    assert not m["self"].any()


def test_constant_cell_has_zero_sd(responses, codebook):
    m = rating_matrix(responses, codebook).set_index(["rater", "target"])
    assert m.loc[("gp", "asc"), "sd"] == 0.0


def test_asymmetry_is_m_minus_transpose_with_welch(responses, codebook):
    a = asymmetry(rating_matrix(responses, codebook)).set_index(["a", "b"])
    row = a.loc[("asc", "hospital_discharge")]
    assert row["diff"] == pytest.approx(4.5 - 5 / 3)
    ref = sps.ttest_ind([5, 4, 4, 5], [1, 2, 2], equal_var=False)
    assert row["p"] == pytest.approx(ref.pvalue)
    assert row["t"] == pytest.approx(ref.statistic)
    assert a.loc[("asc", "gp"), "diff"] == pytest.approx(7 / 3 - 3)
    assert set(a["correction"]) == {"Bonferroni"}


def test_ranked_ties(responses, codebook):
    r = ranked_ties(rating_matrix(responses, codebook), k=1)
    weakest = r[r["end"] == "weakest"].iloc[0]
    strongest = r[r["end"] == "strongest"].iloc[0]
    assert (weakest["rater"], weakest["target"]) == ("hospital_discharge", "asc")
    assert (strongest["rater"], strongest["target"]) == ("asc", "hospital_discharge")
