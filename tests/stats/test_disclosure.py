"""Disclosure control: primary and secondary suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from hsc_research.stats.disclosure import suppress_counts, suppress_estimates, suppressed_text


def test_primary_hides_small_nonzero_counts_only():
    t = pd.DataFrame({"cat": list("abcd"), "n": [0, 3, 40, 50]})
    out = suppress_counts(t, groups=[], min_cell=10)
    # b (3) is primary; a lone hidden cell would be recovered from the total, so the
    # smallest non-zero published cell (c, 40) is hidden too; 0 stays published.
    assert out["suppressed"].tolist() == [pd.NA, "primary", "secondary", pd.NA]
    assert out["n"].tolist() == [0, pd.NA, pd.NA, 50]


def test_no_suppression_when_all_cells_are_large():
    t = pd.DataFrame({"cat": list("abc"), "n": [10, 11, 200]})
    assert suppress_counts(t, min_cell=10)["suppressed"].isna().all()


def test_two_hidden_cells_holding_fewer_than_min_cell_need_a_third():
    # b=2 and c=3 are both primary, but together only 5: the difference from the total
    # would show that two small cells hold 5 respondents, so d (12) is hidden too.
    t = pd.DataFrame({"cat": list("abcd"), "n": [100, 2, 3, 12]})
    out = suppress_counts(t, min_cell=10)
    assert out["suppressed"].tolist() == [pd.NA, "primary", "primary", "secondary"]


def test_secondary_suppression_within_each_group():
    t = pd.DataFrame(
        {"site": ["x"] * 3 + ["y"] * 3, "cat": list("abcabc"), "n": [5, 20, 30, 15, 20, 30]}
    )
    out = suppress_counts(t, groups=[["site"]], min_cell=10)
    assert out["suppressed"].tolist() == ["primary", "secondary", pd.NA, pd.NA, pd.NA, pd.NA]


def test_two_way_table_protects_rows_and_columns():
    # Row r1 has one small cell; hiding a sibling in the row leaves a column with a
    # single hidden cell, which then needs a partner in that column.
    t = pd.DataFrame({
        "row": ["r1", "r1", "r1", "r2", "r2", "r2"],
        "col": ["c1", "c2", "c3", "c1", "c2", "c3"],
        "n":   [4,    50,   60,   30,   40,   70],
    })  # fmt: skip
    out = suppress_counts(t, groups=[["row"], ["col"]], min_cell=10)
    hidden = out[out["suppressed"].notna()]
    assert hidden.groupby("row").size().min() >= 2
    assert hidden.groupby("col").size().min() >= 2


def test_estimates_hidden_below_min_cell_with_their_base():
    t = pd.DataFrame({"n": [0, 9, 10], "pct": [np.nan, 50.0, 60.0]})
    out = suppress_estimates(t, "n", ["pct"], min_cell=10)
    assert out["pct"].isna().tolist() == [True, True, False]
    assert out["n"].tolist() == [0, pd.NA, 10]
    assert out["suppressed"].tolist() == [pd.NA, "primary", pd.NA]


def test_suppressed_text():
    assert suppressed_text(10) == "suppressed (n<10)"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 40), min_size=2, max_size=5), min_size=1, max_size=5).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    ),
    st.integers(2, 15),
)
def test_no_small_cell_published_and_none_recoverable(matrix, min_cell):
    rows = [(f"r{i}", f"c{j}", v) for i, r in enumerate(matrix) for j, v in enumerate(r)]
    t = pd.DataFrame(rows, columns=["row", "col", "n"])
    out = suppress_counts(t, groups=[["row"], ["col"]], min_cell=min_cell)
    shown = out["n"].dropna()
    assert not ((shown > 0) & (shown < min_cell)).any()
    hidden = out["suppressed"].notna()
    for key in ("row", "col"):
        for _, grp in out.groupby(key):
            h = grp["suppressed"].notna()
            if h.any() and not h.all():
                # At least two hidden cells: the total minus the published cells gives
                # only their sum, and that sum is not itself a small count.
                assert h.sum() >= 2
                assert t.loc[grp.index[h.to_numpy()], "n"].sum() >= min_cell
    assert (out.loc[~hidden, "n"].astype(int) == t.loc[~hidden, "n"]).all()


def test_linked_families_hide_a_partner_for_a_hidden_secondary():
    from hsc_research.stats.disclosure import suppress_linked

    # Cells 0..2 add up to total 3; cells 0 and 4 add up to total 5.
    n = np.array([4, 30, 40, 74, 50, 54])
    families = [np.array([0, 1, 2, 3]), np.array([0, 4, 5])]
    status = suppress_linked(n, families, min_cell=10)
    # 0 is primary; family 1 hides 1 (smallest non-zero); family 2 hides 4.
    assert status.tolist() == ["primary", "secondary", None, None, "secondary", None]
