"""Disclosure control of a researcher's breakdown: which cells to hide, and hiding them.

The same rule as the reports (:func:`~hsc_research.stats.disclosure.suppress_linked`):
no cell below ``min_cell``, and no hidden cell recoverable by subtraction from a margin.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hsc_research.config import MIN_CELL
from hsc_research.instrument import Codebook
from hsc_research.stats import gaps
from hsc_research.stats.disclosure import suppress_linked

#: Columns of a difference table hidden when either side's base is hidden.
DIFF_COLUMNS = ("n1", "k1", "p1", "n2", "k2", "p2", "diff", "ci_low", "ci_high", "p", "significant")


def cell_status(
    table: pd.DataFrame,
    keys: Sequence[str],
    item_cols: Sequence[str],
    codebook: Codebook,
    min_cell: int = MIN_CELL,
    profession: str | None = "profession",
    base: str = "n",
) -> np.ndarray:
    """Primary and secondary suppression of the cells of a breakdown, as the reports do.

    Each row of ``table`` is one cell with its base. Along every breakdown field the
    cells that differ only in that field add up to a total a researcher can publish
    (the same statistic without that field), and professions add up to their group; so
    each such set is a family for :func:`~hsc_research.stats.disclosure.suppress_linked`.

    Parameters
    ----------
    table
        One row per cell.
    keys
        Breakdown fields.
    item_cols
        Columns that name what is counted (question, item): cells of different items
        never add up.
    codebook
        For the profession's group.
    min_cell
        Disclosure threshold.
    profession
        The key column holding profession ids (used only when it is one of ``keys``).
    base
        The base column.

    Returns
    -------
    numpy.ndarray
        ``"primary"``, ``"secondary"`` or ``None`` per row.

    Examples
    --------
    Professions at one site: 12 and 4 answers, 9 and 30 at another. The 4 and the 9
    are primary; each needs a second hidden cell in its site (the 12, the 30), and the
    column families are then already protected.

    >>> from hsc_research.instrument import load_codebook
    >>> t = pd.DataFrame({"site": ["a", "a", "b", "b"], "profession": ["gp", "asc"] * 2,
    ...                   "item": "x", "n": [12, 4, 9, 30]})
    >>> cell_status(t, ["site", "profession"], ["item"], load_codebook(), 10).tolist()
    ['secondary', 'primary', 'primary', 'secondary']
    """
    n = table[base].to_numpy(dtype=float)
    cols = [*keys, *item_cols]
    frame = pd.DataFrame({c: table[c].astype(str).to_numpy() for c in cols})
    families: list[np.ndarray] = []
    for k in keys:
        others = [c for c in cols if c != k]
        families += _groups(frame, others)
    if profession in keys:
        grouped = frame.assign(_group=frame[profession].map(codebook.profession_group))
        families += _groups(grouped, [*(c for c in cols if c != profession), "_group"])
    return suppress_linked(n, [f for f in families if len(f) > 1], min_cell)


def _groups(frame: pd.DataFrame, cols: list[str]) -> list[np.ndarray]:
    if not cols:
        return [np.arange(len(frame))]
    return [np.asarray(i) for i in frame.groupby(cols, sort=False).indices.values()]


def _key_index(frame: pd.DataFrame, cols: Sequence[str]) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([frame[c].astype(str).to_numpy() for c in cols])


def lookup_cells(
    cells: pd.DataFrame,
    status: np.ndarray,
    cell_keys: Sequence[str],
    table: pd.DataFrame,
    table_keys: Sequence[str],
) -> np.ndarray:
    """``status`` of the cell each row of ``table`` rests on (``None`` if none)."""
    series = pd.Series(status, index=_key_index(cells, cell_keys), dtype=object)
    found = series.reindex(_key_index(table, table_keys)).to_numpy(dtype=object)
    return np.where(pd.isna(found), None, found).astype(object)


def broadcast_cells(cells, status, table, keys) -> np.ndarray:
    return lookup_cells(cells, status, keys, table, keys)


def mask_hidden(table: pd.DataFrame, status: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
    """Hide ``columns`` of the rows with a status; mark them in ``suppressed``."""
    hidden = np.asarray([s is not None for s in status], dtype=bool)
    out = table.copy()
    for col in columns:
        if col not in out.columns:
            continue
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].astype("boolean").mask(hidden)
        elif pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].astype("Int64").mask(hidden)
        else:
            out[col] = out[col].astype("float64").mask(hidden)
    out["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return out


def finish_diff(
    table: pd.DataFrame, s1: np.ndarray, s2: np.ndarray, correction: str, by: Sequence[str]
) -> pd.DataFrame:
    """Family-wise intervals over the published comparisons, then hide the rest."""
    # A comparison is as hidden as its more hidden side.
    status = np.where((s1 == "primary") | (s2 == "primary"), "primary",
                      np.where((s1 != None) | (s2 != None), "secondary", None)).astype(object)  # noqa: E711  # fmt: skip
    hidden = status != None  # noqa: E711
    finished = gaps.finish(table, correction, family=list(by), hidden=hidden)
    return mask_hidden(finished, status, DIFF_COLUMNS)
