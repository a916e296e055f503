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
    families = [list(g) for g in groups] or [[]]
    members = [
        np.asarray(idx)
        for keys in families
        for idx in (
            out.groupby(keys, observed=True, sort=False).indices.values()
            if keys
            else [np.arange(len(out))]
        )
    ]
    status = suppress_linked(n, members, min_cell)
    out[count] = pd.array(np.where(status == None, n, np.nan), dtype="Int64")  # noqa: E711
    out["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return out


def suppress_linked(
    n: np.ndarray, families: list[np.ndarray], min_cell: int = MIN_CELL, hidden=None
) -> np.ndarray:
    """Primary and secondary suppression over any set of additive families.

    Parameters
    ----------
    n
        Counts, one per published cell.
    families
        Index arrays into ``n``; each lists cells that add up to a published total
        (the total may itself be one of the cells, which then counts as a member).
    min_cell
        Smallest publishable count.
    hidden
        Cells already hidden by another table's suppression (marked ``"secondary"``
        unless small themselves): the same cell is never shown in one table and hidden
        in another.

    Returns
    -------
    numpy.ndarray
        ``"primary"``, ``"secondary"`` or ``None`` per cell.
    """
    n = np.asarray(n, dtype=float)
    status = np.where((n > 0) & (n < min_cell), "primary", None).astype(object)
    if hidden is not None:
        status = np.where(np.asarray(hidden, dtype=bool) & (status == None), "secondary", status)  # noqa: E711
    if not families:
        return status
    # Only families holding a hidden cell can need more; re-check until nothing changes.
    cell_family = [[] for _ in range(len(n))]
    for f, idx in enumerate(families):
        for i in idx:
            cell_family[i].append(f)
    todo = {f for i in np.flatnonzero(status != None) for f in cell_family[i]}  # noqa: E711
    while todo:
        f = todo.pop()
        for i in _protect_family(families[f], n, status, min_cell):
            todo.update(cell_family[i])
    return status


def _protect_family(idx: np.ndarray, n: np.ndarray, status: np.ndarray, min_cell: int) -> list[int]:
    """Hide more cells of one family until its hidden cells cannot be recovered;
    returns the cells newly hidden."""
    newly = []
    while True:
        hidden = idx[status[idx] != None]  # noqa: E711
        shown = idx[status[idx] == None]  # noqa: E711
        if len(hidden) == 0 or len(shown) == 0:
            return newly
        if len(hidden) >= 2 and n[hidden].sum() >= min_cell:
            return newly
        # Hide the smallest published cell, preferring non-zero ones (a hidden zero
        # next to one hidden count would still give that count away to anyone who
        # guesses the zero).
        order = np.lexsort((n[shown], n[shown] == 0))
        status[shown[order[0]]] = "secondary"
        newly.append(int(shown[order[0]]))


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
