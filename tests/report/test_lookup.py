"""Cell lookups equal the pivot tables they replace."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hsc_research.report.lookup import first_values


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rater": pd.Categorical(["a", "a", "b", "b", "c"]),
            "target": ["b", "b", "a", "c", "a"],
            "mean": pd.array([None, 3.5, 2.0, None, 4.25], dtype="Float64"),
            "n": pd.array([12, 14, 20, pd.NA, 9], dtype="Int64"),
        }
    )


def test_first_values_equal_pivot_tables_first():
    rows = _rows()
    got = first_values(rows, ["rater", "target"], ["mean", "n"])
    for field, j in (("mean", 0), ("n", 1)):
        wide = rows.pivot_table(index="rater", columns="target", values=field, aggfunc="first",
                                observed=True)  # fmt: skip
        for (r, t), values in got.items():
            expected = wide.loc[r, t] if t in wide.columns and r in wide.index else np.nan
            if pd.isna(expected):
                assert math.isnan(values[j])
            else:
                assert values[j] == float(expected)


def test_first_values_keep_a_key_whose_values_are_all_missing():
    got = first_values(_rows(), ["rater", "target"], ["mean", "n"])
    # b rating c: no mean and no n, yet present (a suppressed cell, not an absent one).
    assert set(got) == {("a", "b"), ("b", "a"), ("b", "c"), ("c", "a")}
    assert all(math.isnan(v) for v in got[("b", "c")])
    assert got[("a", "b")] == (3.5, 12.0)
