"""Answer counts: the fast categorical path equals a plain groupby."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsc_research.stats.counts import answer_counts


def test_fast_counts_equal_groupby():
    rng = np.random.default_rng(1)
    n = 5000
    sites = pd.CategoricalDtype(["a", "b", "c"])
    items = pd.CategoricalDtype(["x", "y"], ordered=True)
    df = pd.DataFrame({
        "site": pd.Categorical(rng.choice(["a", "b", "c"], n), dtype=sites),
        "question": pd.Categorical(["q"] * n),
        "item": pd.Categorical(rng.choice(["x", "y"], n), dtype=items),
        "code": pd.array(rng.integers(1, 5, n), dtype="Int8"),
        "status": pd.Categorical(rng.choice(["valid", "blank"], n, p=[0.9, 0.1])),
    })  # fmt: skip
    fast = answer_counts(df, ["site"]).sort_values(["site", "item", "code"]).reset_index(drop=True)
    valid = df[df["status"] == "valid"].astype({"site": str, "item": str, "question": str})
    slow = valid.groupby(["site", "question", "item", "code"]).size().rename("count").reset_index()
    slow = slow.sort_values(["site", "item", "code"]).reset_index(drop=True)
    assert fast["count"].tolist() == slow["count"].tolist()
    assert fast["site"].astype(str).tolist() == slow["site"].tolist()
    assert fast["code"].astype(int).tolist() == slow["code"].astype(int).tolist()
    assert fast["count"].sum() == (df["status"] == "valid").sum()
