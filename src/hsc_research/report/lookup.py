"""Aggregate rows by key: what a figure or table reads cell by cell, without a pivot table.

A pivot table of a few dozen rows costs milliseconds; a report reads a dozen of them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def first_values(
    rows: pd.DataFrame, keys: list[str], fields: list[str]
) -> dict[tuple, tuple[float, ...]]:
    """The first non-missing value of each of ``fields`` (NaN when there is none) for
    each combination of ``keys``, as ``pivot_table(aggfunc="first")`` gives them.

    Parameters
    ----------
    rows
        A table with the ``keys`` and numeric ``fields`` columns.
    keys
        Columns whose values, as a tuple, key the result.
    fields
        Numeric columns, read as floats (missing as NaN).

    Returns
    -------
    dict
        Every combination of ``keys`` in ``rows``, also one whose values are all missing.

    Examples
    --------
    >>> rows = pd.DataFrame({"indicator": ["a", "a", "b"], "wave": [2017, 2017, 2019],
    ...                      "estimate": [None, 0.4, 0.5], "n": [30, 31, None]})
    >>> first_values(rows, ["indicator", "wave"], ["estimate", "n"])
    {('a', 2017): (0.4, 30.0), ('b', 2019): (0.5, nan)}
    """
    key_cols = [rows[k].tolist() for k in keys]
    value_cols = [rows[f].to_numpy(dtype=float, na_value=np.nan).tolist() for f in fields]
    out: dict[tuple, list[float]] = {}
    for key, values in zip(zip(*key_cols, strict=True), zip(*value_cols, strict=True), strict=True):
        kept = out.get(key)
        if kept is None:
            out[key] = list(values)
            continue
        for j, v in enumerate(values):  # a repeated key fills what is still missing
            if math.isnan(kept[j]):
                kept[j] = v
    return {key: tuple(values) for key, values in out.items()}
