"""Disclosure control: no published cell rests on fewer than ``min_cell`` respondents.

Two kinds of published number:

* **counts** (how many respondents are in a cell): *primary* suppression hides any
  count with ``0 < n < min_cell``; *secondary* suppression then hides further cells so
  that a hidden count cannot be recovered by subtracting the published cells of its
  row or column from a published total. A group (row or column of siblings that add up
  to a published total) with hidden cells always hides at least two of them, and
  together they hold at least ``min_cell`` respondents (so the difference from the
  total does not reveal that they are small), unless every cell of the group is hidden.
* **estimates** (percentages, means, differences) resting on a base ``n``: hidden when
  the base is below ``min_cell``.

Hidden values become missing and are marked in a ``suppressed`` column (``"primary"``
or ``"secondary"``); they are never shown as 0. Reports print them as
:func:`suppressed_text`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hsc_research.config import MIN_CELL


def suppressed_text(min_cell: int = MIN_CELL) -> str:
    """How a hidden value reads in a report."""
    return f"suppressed (n<{min_cell})"


def suppress_counts(
    table: pd.DataFrame,
    count: str = "n",
    groups: Sequence[Sequence[str]] = (),
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Primary and secondary suppression of a table of counts.

    Parameters
    ----------
    table
        Long table, one row per cell, with a count column.
    count
        Name of the count column.
    groups
        Each entry lists the key columns that define one family of sibling cells whose
        total is published. For a one-way distribution within sites pass
        ``[["site"]]``; for a two-way table of rows x columns with both margins pass
        ``[["row_key"], ["col_key"]]``. An empty list means the whole table adds up to
        one published total.
    min_cell
        Smallest publishable count.

    Returns
    -------
    pandas.DataFrame
        A copy with ``count`` set to missing (nullable integer) where hidden and a
        ``suppressed`` column: ``"primary"``, ``"secondary"`` or missing.
    """
    out = table.copy()
    n = out[count].to_numpy(dtype=float)
    status = np.where((n > 0) & (n < min_cell), "primary", None).astype(object)
    families = [list(g) for g in groups] or [[]]
    # Iterate: hiding a cell for one family can break another family's protection.
    changed = True
    while changed:
        changed = False
        for keys in families:
            members = (
                out.groupby(keys, observed=True, sort=False).indices.values()
                if keys
                else [np.arange(len(out))]
            )
            for idx in members:
                changed |= _protect_family(np.asarray(idx), n, status, min_cell)
    out[count] = pd.array(np.where(status == None, n, np.nan), dtype="Int64")  # noqa: E711
    out["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return out


def _protect_family(idx: np.ndarray, n: np.ndarray, status: np.ndarray, min_cell: int) -> bool:
    """Hide more cells of one family until its hidden cells cannot be recovered."""
    changed = False
    while True:
        hidden = idx[status[idx] != None]  # noqa: E711
        shown = idx[status[idx] == None]  # noqa: E711
        if len(hidden) == 0 or len(shown) == 0:
            return changed
        if len(hidden) >= 2 and n[hidden].sum() >= min_cell:
            return changed
        # Hide the smallest published cell, preferring non-zero ones (a hidden zero
        # next to one hidden count would still give that count away to anyone who
        # guesses the zero).
        order = np.lexsort((n[shown], n[shown] == 0))
        status[shown[order[0]]] = "secondary"
        changed = True


def suppress_estimates(
    table: pd.DataFrame,
    base: str = "n",
    columns: Sequence[str] = (),
    min_cell: int = MIN_CELL,
) -> pd.DataFrame:
    """Hide estimates resting on a base below ``min_cell``.

    Parameters
    ----------
    table
        One row per published estimate with its base.
    base
        Column with the number of respondents each estimate rests on.
    columns
        Estimate columns to hide (for example ``["pct", "ci_low", "ci_high"]``).
    min_cell
        Smallest publishable base.

    Returns
    -------
    pandas.DataFrame
        A copy with ``columns`` and the base itself missing where
        ``0 < base < min_cell``, and a ``suppressed`` column (``"primary"`` or missing).
        A base of 0 publishes no estimate anyway and is not marked.
    """
    out = table.copy()
    small = ((out[base] > 0) & (out[base] < min_cell)).to_numpy()
    out[base] = out[base].astype("Int64").mask(small)
    for col in columns:
        out[col] = out[col].astype("float64").mask(small)
    out["suppressed"] = pd.array(
        np.where(small, "primary", None), dtype=pd.StringDtype(na_value=pd.NA)
    )
    return out
