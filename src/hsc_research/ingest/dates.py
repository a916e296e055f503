"""Dates in survey exports: which order (day or month first) a column is written in, and
reading it.

Survey tools write dates in different orders (SurveyMonkey month first, Qualtrics ISO,
Microsoft Forms in its owner's locale). :func:`infer_date_order` reads the order from the
values that show it, falling back to the layout's convention (:func:`layout_date_order`);
:func:`parse_dates` then reads every cell in that order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hsc_research.errors import InputError
from hsc_research.ingest.frame import (
    DATE_COLUMN_ATTR,
    DATE_DEFAULT_ATTR,
    DATE_ORDER_ATTR,
    SOURCE_ATTR,
)

#: Orders of the day, month and year in a written date: ``ymd`` is ISO 8601.
DATE_ORDERS = ("dmy", "mdy", "ymd")
#: Each survey tool's convention for a date whose values do not show the order (every
#: day 12 or under). ISO dates are always read as ISO.
LAYOUT_DATE_ORDER = {
    "surveymonkey": ("mdy", "SurveyMonkey writes month first"),
    "qualtrics": ("ymd", "Qualtrics writes ISO dates"),
    "qualtrics_legacy": ("ymd", "Qualtrics writes ISO dates"),
}
#: The project's default for other layouts: UK day first.
DEFAULT_DATE_ORDER = ("dmy", "day first (UK), the default for this layout")
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")
_CLOCK_12H = re.compile(r"\b[AP]\.?M\.?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DateOrder:
    """The order in which a column's dates are read, and why (for ``validate``)."""

    order: str
    why: str


def layout_date_order(layout: str, values: pd.Series | None = None) -> tuple[str, str]:
    """A layout's date convention: ``(order, why)``.

    Microsoft Forms writes dates in the form owner's locale: a 12-hour clock (``AM``/``PM``)
    is the United States' month-first convention, a 24-hour clock the UK's day first.
    """
    if layout in LAYOUT_DATE_ORDER:
        return LAYOUT_DATE_ORDER[layout]
    if layout == "msforms":
        written = values.dropna().astype(str) if values is not None else pd.Series([], dtype=str)
        if written.str.contains(_CLOCK_12H).any():
            return "mdy", "Microsoft Forms in a US locale (12-hour clock) writes month first"
        return "dmy", "Microsoft Forms in a UK locale (24-hour clock) writes day first"
    return DEFAULT_DATE_ORDER


def _slash_parts(values: pd.Series) -> pd.DataFrame:
    """Day-or-month, day-or-month and year of each value written like 04/05/2019
    (:data:`_SLASH_DATE`, groups 0, 1, 2), missing for any other value."""
    # A value that starts with four ASCII digits and a dash (ISO) cannot match
    # _SLASH_DATE; text columns have them set aside in one vectorised pass, so a
    # million ISO timestamps skip the per-value regular expression.
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(
        values.dtype
    ):
        iso = pc.match_substring_regex(pa.array(values), r"^[0-9]{4}-")
        iso = iso.fill_null(False).to_numpy(zero_copy_only=False)
    else:
        iso = np.zeros(len(values), dtype=bool)
    rest = values[~iso]
    text = rest.astype("object").where(rest.notna(), "").astype(str)
    return text.str.extract(_SLASH_DATE).reindex(values.index)


def infer_date_order(
    values: pd.Series,
    rows: pd.Series,
    default: tuple[str, str] = DEFAULT_DATE_ORDER,
    forced: str | None = None,
    where: str = "submitted_at",
) -> DateOrder:
    """The order of a column's day-month dates, from the values that show it.

    A date whose first number is over 12 can only be day first, one whose second number
    is over 12 only month first. One order shown is the column's order; neither shown,
    ``forced`` (the mapping's ``dates: {order: ...}``) or the layout's ``default``.
    ISO dates (2019-05-04) say nothing about the others and are always read as ISO.

    Parameters
    ----------
    values
        Text cells.
    rows
        Spreadsheet row of each cell, for messages.
    default
        ``(order, why)`` used when no value shows the order.
    forced
        An order the mapping asks for; refused when a value contradicts it.
    where
        Names the file and column in messages.

    Raises
    ------
    InputError
        Values show both orders (one line naming a row of each), or contradict ``forced``.
    """
    parts = _slash_parts(values)
    first = pd.to_numeric(parts[0], errors="coerce")
    second = pd.to_numeric(parts[1], errors="coerce")
    day_first = (first > 12) & (second <= 12)
    month_first = (second > 12) & (first <= 12)
    dmy_rows, mdy_rows = (
        np.flatnonzero(day_first.to_numpy()),
        np.flatnonzero(month_first.to_numpy()),
    )

    def show(i: int) -> str:
        cell = values.iloc[i]
        return f"row {rows.iloc[i]} {'' if pd.isna(cell) else str(cell)!r}"

    if len(dmy_rows) and len(mdy_rows):
        raise InputError(
            f"{where}: dates are written both day first ({show(dmy_rows[0])}) and month first "
            f"({show(mdy_rows[0])}); correct the rows written the other way, or export the "
            "dates again in one format"
        )
    shown = "dmy" if len(dmy_rows) else "mdy" if len(mdy_rows) else None
    if forced is not None:
        if shown is not None and shown != forced:
            example = show((dmy_rows if shown == "dmy" else mdy_rows)[0])
            raise InputError(
                f"{where}: the mapping's dates: {{order: {forced}}} contradicts {example}, "
                f"which can only be {_ORDER_WORDS[shown]}; correct the mapping or that row"
            )
        return DateOrder(forced, "the mapping's dates: {order: " + forced + "}")
    if shown is not None:
        hits = dmy_rows if shown == "dmy" else mdy_rows
        return DateOrder(
            shown, f"{_ORDER_WORDS[shown]}, shown by {len(hits)} value(s) such as {show(hits[0])}"
        )
    order, why = default
    if not parts[0].notna().any():
        return DateOrder(order, "no day-month dates (ISO or none)")
    if order == "ymd":  # an ISO tool's file re-saved by a spreadsheet: its locale is unknown
        raise InputError(
            f"{where}: dates such as {show(int(np.flatnonzero(parts[0].notna().to_numpy())[0]))} "
            "are not ISO and no value shows whether the day or the month comes first; say "
            "which in the mapping: dates: {order: dmy} or dates: {order: mdy}"
        )
    return DateOrder(order, f"no value shows the order; {why}")


def date_order(raw: pd.DataFrame) -> DateOrder:
    """The order :func:`clean` reads ``raw["submitted_at"]`` in: the mapping's, or inferred
    (:func:`infer_date_order`) with the layout's convention as the fallback, both passed
    in ``raw.attrs``."""
    source = raw.attrs.get(SOURCE_ATTR, "the export")
    column = raw.attrs.get(DATE_COLUMN_ATTR)
    where = f"{source}: column {column!r} (submitted_at)" if column else f"{source}: submitted_at"
    return infer_date_order(
        raw["submitted_at"], raw["raw_row"], raw.attrs.get(DATE_DEFAULT_ATTR, DEFAULT_DATE_ORDER),
        raw.attrs.get(DATE_ORDER_ATTR), where,
    )  # fmt: skip


_ORDER_WORDS = {"dmy": "day first", "mdy": "month first", "ymd": "ISO (year first)"}


def parse_dates(values: pd.Series, order: str = "dmy") -> pd.Series:
    """Parse ISO (2019-05-04 10:00) and day-month timestamps in the given ``order``.

    ISO is tried first so that 2019-05-04 is never read as the 5th of April; what is
    left is read day first (``dmy``, the UK's way, and for ``ymd``, which only ISO
    dates should use) or month first (``mdy``, SurveyMonkey's and the US's).
    Unparseable cells become NaT. :func:`infer_date_order` chooses ``order``.
    """
    # One resolution whatever the input form, so tables from different exports compare.
    # A time with an offset (Qualtrics' "Z", "+01:00") is read as UTC and one without as
    # written, so that both kinds in one column compare (pandas refuses mixed offsets).
    iso = _naive(pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True))
    rest = iso.isna() & values.notna()
    if rest.any():
        other = pd.to_datetime(
            values[rest], errors="coerce", dayfirst=order != "mdy", format="mixed", utc=True
        )
        iso[rest] = _naive(other)
    return iso


def _naive(times: pd.Series) -> pd.Series:
    """UTC times without their zone, in microseconds."""
    return times.dt.tz_localize(None).astype("datetime64[us]")
