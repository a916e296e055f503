"""Answer counts: the one pass over the responses that every statistic starts from.

A counts table has one row per (grouping keys, question, item, code) with the number
of substantive answers in ``count``. Every proportion, distribution, mean and standard
deviation the reports need follows from it exactly, so a million respondents are
reduced once and each statistic then works on a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hsc_research.instrument import Codebook

#: Respondent fields a counts table can be grouped by.
KEYS = ("site", "wave", "profession", "group", "role_level")


def answer_counts(data: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Counts of substantive answers by ``by`` keys, question, item and code.

    Parameters
    ----------
    data
        The ``responses`` table (or a filtered view of it), or a counts table that
        is summed up to ``by`` again.
    by
        Respondent fields to keep (any of :data:`KEYS`).

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, question, item, code, count``; only combinations that occur.
    """
    keys = [*by, "question", "item", "code"]
    if "count" in data.columns:
        if all(_encodable(data[k]) for k in keys):
            return _sum_encoded(data, keys)
        return data.groupby(keys, observed=True, sort=False)["count"].sum().reset_index()
    rows = (data["status"] == "valid").to_numpy()
    if all(_encodable(data[k], rows) for k in keys):
        # Codes picked from the full columns: no copy of tens of millions of rows.
        return _count_encoded(data, keys, rows)
    valid = data.loc[rows, keys]
    out = valid.groupby(keys, observed=True, sort=False).size().rename("count").reset_index()
    out["code"] = out["code"].astype("int8")
    return out


def _encodable(col: pd.Series, rows: np.ndarray | None = None) -> bool:
    """Whether ``col`` (its ``rows``, a boolean mask, when given) is categorical or
    integer with no missing value."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return True
    if not pd.api.types.is_integer_dtype(col.dtype):
        return False
    missing = col.isna().to_numpy()
    return not (missing[rows] if rows is not None else missing).any()


def _count_encoded(
    valid: pd.DataFrame, keys: list[str], rows: np.ndarray | None = None
) -> pd.DataFrame:
    """The same counts as ``groupby(keys, observed=True).size()`` for categorical and
    integer keys (of the ``rows`` of ``valid``, a boolean mask, when given), by one
    ``np.unique`` over a combined integer key: several times faster on tens of millions
    of answers (``tests/stats/test_counts.py`` checks they agree)."""
    combined, sizes, decode = _combined(valid, keys, rows)
    total = int(np.prod(sizes, dtype=np.float64))
    if total <= 50_000_000:  # a dense count array is cheaper than sorting
        dense = np.bincount(combined, minlength=total)
        uniq = np.flatnonzero(dense)
        count = dense[uniq]
    else:
        uniq, count = np.unique(combined, return_counts=True)
    frame = _decoded(uniq, keys, sizes, decode)
    frame["count"] = count
    return frame


def recount(counts: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Counts by fewer keys from a counts table of the responses.

    ``recount(answer_counts(responses, [*by, *more]), by)`` is the same table as
    ``answer_counts(responses, by)``, row for row (order, dtypes, a missing key kept as
    missing), when every key is categorical or integer: the responses are then read
    once for both.
    """
    keys = [*by, "question", "item", "code"]
    combined, sizes, decode = _combined(counts, keys)
    uniq, inverse = np.unique(combined, return_inverse=True)
    # Float sums of integer counts are exact below 2**53 answers.
    total = np.bincount(inverse, weights=counts["count"].to_numpy(dtype=np.float64))
    frame = _decoded(uniq, keys, sizes, decode)
    frame["count"] = total.astype(np.int64)
    return frame


def _combined(
    frame: pd.DataFrame, keys: list[str], rows: np.ndarray | None = None
) -> tuple[np.ndarray, list[int], list]:
    """One integer per row (of ``rows``, a boolean mask, when given) combining the
    ``keys`` columns (categorical codes, with missing as 0 when a code is missing, and
    integers less their minimum or numbered among those present), each key's size and
    its decoder. The keys sort as the rows' values do. Integer keys must have no missing
    value in ``rows``."""
    # With ``rows``, every column is combined whole and the key selected once at the
    # end: one selection instead of one per column (tens of millions of rows each).
    # Categorical codes are read from the arrays themselves: ``Series.cat.codes`` copies
    # them (tens of millions of answers for each key).
    # A key numbers only what can occur: no slot for a missing category when no code is
    # missing, and only the integers present when few of a short range are (two survey
    # years among six). The numbering keeps the values' order, so the keys sort the same
    # way, with a dense count of a fraction of the size.
    parts, luts, offsets, sizes, decode = [], [], [], [], []
    for k in keys:
        col = frame[k]
        lut = None
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.array.codes
            parts.append(codes)
            n_cat = len(col.cat.categories)
            if n_cat and len(codes) and int(codes.min()) >= 0:
                offsets.append(0)
                sizes.append(n_cat)
                decode.append(lambda d, dt=col.dtype: pd.Categorical.from_codes(d, dtype=dt))
            else:
                offsets.append(1)  # missing (-1) -> 0
                sizes.append(n_cat + 1)
                decode.append(lambda d, dt=col.dtype: pd.Categorical.from_codes(d - 1, dtype=dt))
        else:
            if rows is None:
                values = col.to_numpy(dtype=np.int32)
                lo, hi = (int(values.min()), int(values.max())) if len(values) else (0, 0)
            elif not hasattr(col.dtype, "numpy_dtype"):  # numpy integers: never missing
                values = col.to_numpy()
                # The range of every row (not only ``rows``): a wider range numbers the
                # same keys in the same order.
                lo, hi = (int(values.min()), int(values.max())) if len(values) else (0, 0)
            else:  # missing outside ``rows`` only: any stand-in will do
                values = col.to_numpy(dtype=col.dtype.numpy_dtype, na_value=0)
                info = np.iinfo(values.dtype)
                lo = int(values.min(where=rows, initial=info.max))
                hi = int(values.max(where=rows, initial=info.min))
                lo, hi = (lo, hi) if lo <= hi else (0, 0)  # no row selected
            target = (
                "int8"
                if k == "code"
                else col.dtype.numpy_dtype
                if hasattr(col.dtype, "numpy_dtype")
                else col.dtype
            )
            present = None
            if 2 < hi - lo + 1 <= _SHORT_RANGE and (
                rows is None or not hasattr(col.dtype, "numpy_dtype")
            ):
                # The values present in the whole column (those of ``rows`` and maybe
                # more: the same keys in the same order), marked a block at a time.
                seen = np.zeros(hi - lo + 1, dtype=bool)
                for start in range(0, len(values), _BLOCK):
                    seen[values[start : start + _BLOCK] - lo] = True
                if not seen.all():
                    present = np.flatnonzero(seen) + lo
            parts.append(values)
            if present is None:
                offsets.append(-lo)
                sizes.append(hi - lo + 1)
                decode.append(lambda d, lo=lo, t=target: (d + lo).astype(t))
            else:
                lut = np.zeros(hi - lo + 1, dtype=np.int32)
                lut[present - lo] = np.arange(len(present))
                lut = (lut, lo)
                offsets.append(0)
                sizes.append(len(present))
                decode.append(lambda d, v=present, t=target: v[d].astype(t))
        luts.append(lut)
    total = int(np.prod(sizes, dtype=np.float64))
    # 32-bit keys where they fit: the work is memory-bound, half the bytes is faster.
    itype = np.int32 if total < 2**31 else np.int64
    # The raw codes are combined in place (no widened copy of each column) and the
    # offsets, combined the same way, are added once at the end. Integer arithmetic
    # wraps around, so an intermediate value out of range (a raw year times the sizes
    # after it) still ends at the exact key, which is in range.
    offset = 0
    for off, size in zip(offsets, sizes, strict=True):
        offset = offset * size + off
    bits = np.iinfo(itype).bits
    offset = itype((offset + 2 ** (bits - 1)) % 2**bits - 2 ** (bits - 1))
    n = len(frame)
    combined = np.empty(n if rows is None else int(np.count_nonzero(rows)), dtype=itype)
    # Rows are combined a block at a time: a block's keys stay in the processor's cache
    # through every column, instead of a pass over memory for each column.
    block = np.empty(min(n, _BLOCK), dtype=itype)
    done = 0
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        key = block[: stop - start]
        key.fill(0)
        for part, lut, size in zip(parts, luts, sizes, strict=True):
            key *= size
            if lut is None:
                np.add(key, part[start:stop], out=key, casting="unsafe")
            else:
                np.add(key, lut[0][part[start:stop] - lut[1]], out=key, casting="unsafe")
        if offset:
            key += offset
        if rows is None:
            combined[start:stop] = key
        else:
            sel = rows[start:stop]
            k = int(np.count_nonzero(sel))
            np.compress(sel, key, out=combined[done : done + k])
            done += k
    return combined, sizes, decode


#: Rows combined at a time by :func:`_combined` (1 MiB of 32-bit keys).
_BLOCK = 1 << 18
#: Integer keys spanning at most this many values are numbered by the values present.
_SHORT_RANGE = 16


def _decoded(uniq: np.ndarray, keys: list[str], sizes: list[int], decode: list) -> pd.DataFrame:
    out = {}
    for k, size, dec in zip(reversed(keys), reversed(sizes), reversed(decode), strict=True):
        uniq, digit = np.divmod(uniq, size)
        out[k] = dec(digit)
    return pd.DataFrame({k: out[k] for k in keys})


def _sum_encoded(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The same as ``groupby(keys, observed=True, sort=False)["count"].sum()`` for
    categorical and integer keys (groups in order of first appearance, rows with a
    missing key left out), without pandas' per-call grouping overhead: aggregate sums a
    counts table up dozens of times."""
    present = np.ones(len(counts), dtype=bool)
    for k in keys:
        if isinstance(counts[k].dtype, pd.CategoricalDtype):
            present &= counts[k].array.codes >= 0
    if not present.all():
        counts = counts.loc[present]
    combined, sizes, decode = _combined(counts, keys)
    uniq, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    # Float sums of integer counts are exact below 2**53 answers.
    total = np.bincount(inverse, weights=counts["count"].to_numpy(dtype=np.float64))
    order = np.argsort(first, kind="stable")
    frame = _decoded(uniq[order], keys, sizes, decode)
    frame["count"] = total[order].astype(counts["count"].dtype)
    return frame


def with_group(counts: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Add the respondent ``group`` derived from ``profession`` when missing."""
    if "group" in counts.columns or "profession" not in counts.columns:
        return counts
    out = counts.copy()
    dtype = codebook.dtype("group")
    prof = out["profession"]
    if isinstance(prof.dtype, pd.CategoricalDtype):
        # Each profession's group looked up once, then taken by code: no text per row.
        group_of = codebook.profession_group
        lut = np.array(
            [
                dtype.categories.get_loc(group_of[c]) if group_of.get(c) in dtype.categories else -1
                for c in prof.cat.categories.astype(str)
            ]
            + [-1],
            dtype=np.int64,
        )  # fmt: skip  (the last entry is where a missing profession's -1 lands)
        out["group"] = pd.Categorical.from_codes(lut[prof.array.codes], dtype=dtype)
    else:
        group = prof.astype(str).map(codebook.profession_group)
        out["group"] = pd.Categorical(group, dtype=dtype)
    return out


def text_equals(col: pd.Series, value: str) -> pd.Series:
    """``col.astype(str) == value``; for a categorical column, compared once per category
    instead of once per row."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        lut = np.append(np.asarray(col.cat.categories.astype(str) == value, dtype=bool), False)
        return pd.Series(lut[col.array.codes], index=col.index)
    return col.astype(str) == value


def high_flag(counts: pd.DataFrame, codebook: Codebook) -> pd.Series:
    """Whether each row's code is at the high end of its question's scale."""
    flags = pd.Series(False, index=counts.index)
    for q in codebook.questions:
        rows = counts["question"] == q.id
        flags[rows] = counts.loc[rows, "code"].isin(codebook.scales[q.scale].high)
    return flags
