"""Answer labels to scale codes: normalisation of the wordings real exports contain.

Exports vary in case, spacing, Unicode dashes and quotes ("Don’t know", "strongly  AGREE").
:func:`normalise_label` folds those differences away and :func:`code_answers` turns a
column of raw answers into codes and an answer status, working on the distinct values
only so that a million rows cost no more than a handful of look-ups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsc_research.ingest.labels import normalise_label
from hsc_research.instrument import Codebook, Scale

#: Status of one answer cell. Only ``valid`` answers enter percentage bases.
STATUSES: tuple[str, ...] = ("valid", "dont_know", "not_applicable", "blank", "not_asked")
STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
#: Returned by :func:`code_answers` for cells that fit no scale level: the caller
#: excludes them with a reason, they never reach the responses table.
INVALID = "invalid"
#: Integer status codes used while cleaning (positions in :data:`STATUSES`, then the
#: two exclusion states), so that a million-row survey is coded without strings.
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)} | {
    INVALID: len(STATUSES),
    "self_rating": len(STATUSES) + 1,
}


def _lookup(scale: Scale, non_substantive: dict[str, str]) -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {"": ("blank", -1)}
    for status, label in non_substantive.items():
        table[normalise_label(label)] = (status, -1)
    for lv in scale.levels:
        table[normalise_label(lv.label)] = ("valid", lv.code)
    return table


def _classify(value: str, scale: Scale, table: dict[str, tuple[str, int]]) -> tuple[str, int]:
    key = normalise_label(value)
    if key in table:
        return table[key]
    if scale.numeric:
        # Bare numbers ("4", "4.0") are codes on numeric scales; anything else is invalid.
        try:
            number = float(key)
        except ValueError:
            return (INVALID, -1)
        if number.is_integer() and int(number) in scale.codes:
            return ("valid", int(number))
    return (INVALID, -1)


def code_answers(
    values: pd.Series, scale: Scale, codebook: Codebook, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Code one column of raw answers on a scale.

    Parameters
    ----------
    values
        Raw answer cells (strings or missing).
    scale
        The question's scale.
    codebook
        Supplies the non-substantive labels.
    rows
        Positions of the cells to code (all when ``None``): the same as coding
        ``values.iloc[rows]``, without copying a million texts first.

    Returns
    -------
    codes : numpy.ndarray of int8
        The scale code, or -1 where the answer is not a valid level.
    status : numpy.ndarray of int8
        Codes of :data:`STATUS_CODE`: a status of :data:`STATUSES` (except
        ``not_asked``) or :data:`INVALID`.
    """
    table = _lookup(scale, codebook.non_substantive)
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    if rows is not None:
        idx = idx[rows]
    classes = [_classify(u, scale, table) for u in uniques]
    # The extra last entry is where factorize's -1 (missing) lands: a blank cell.
    u_status = np.array(
        [STATUS_CODE[c[0]] for c in classes] + [STATUS_CODE["blank"]], dtype=np.int8
    )
    u_code = np.array([c[1] for c in classes] + [-1], dtype=np.int8)
    return u_code[idx], u_status[idx]


def match_categories(values: pd.Series, known: dict[str, str]) -> pd.Series:
    """Map free labels onto known ids by normalised label or id.

    Parameters
    ----------
    values
        Raw cells, e.g. the profession column.
    known
        Id to display label.

    Returns
    -------
    pandas.Series
        The matched id, or missing where nothing matched.
    """
    table = {normalise_label(label): key for key, label in known.items()}
    table.update({normalise_label(key): key for key in known})
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([table.get(normalise_label(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[idx], index=values.index, dtype="object")
