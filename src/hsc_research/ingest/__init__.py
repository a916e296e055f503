"""Ingest: any supported export file to a table of text cells, identifying columns dropped.

:func:`read_export` reads CSV, Excel or SPSS (:mod:`~hsc_research.ingest.files`), works out
which survey tool wrote it (:mod:`~hsc_research.ingest.layouts`), drops the columns that
identify people (:mod:`~hsc_research.ingest.privacy`) and returns a :class:`RawExport`.
:mod:`hsc_research.mapping` then renames its columns to the codebook's, and
:mod:`hsc_research.clean` does the rest. The package's own CSV template has a fast path
(:func:`~hsc_research.ingest.template.read_template`) for exports of a million rows.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hsc_research.errors import InputError
from hsc_research.ingest.files import Grid, check_export_file, read_grid
from hsc_research.ingest.layouts import LAYOUTS, Column, detect, find_column, parse_header
from hsc_research.ingest.privacy import is_identifying
from hsc_research.ingest.template import read_template, template_head_ok

__all__ = ["LAYOUTS", "RawExport", "read_export", "read_template"]
log = logging.getLogger(__name__)


@dataclass
class RawExport:
    """An export read as text, before mapping.

    ``data`` holds one column per kept export column (by :attr:`Column.key`), text cells
    (missing only where empty) and ``raw_row``: the row a spreadsheet shows for the
    respondent (for SPSS, the case number plus one for the variable-name row).
    ``dropped`` lists the identifying columns removed at ingest, ``unread`` the other
    columns left out because the mapping does not read them (only mapped fields leave
    the reader). ``identity`` is the key of the identifying column kept, as a keyed hash
    only, to tell repeat submissions apart (``None`` when there is none).
    """

    path: Path
    layout: str
    fmt: str
    columns: list[Column]
    data: pd.DataFrame
    dropped: list[str] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    header_rows: int = 1
    unlabelled: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    identity: str | None = None


def read_export(
    path: str | Path,
    layout: str | None = None,
    *,
    keep: Collection[str] | None = None,
    identity: str | None = None,
    key: bytes | None = None,
) -> RawExport:
    """Read an export of any supported format and layout.

    Parameters
    ----------
    path
        CSV (UTF-8, UTF-8 with BOM, UTF-16 or Windows-1252; comma, semicolon, tab or pipe
        delimited), ``.xlsx`` or ``.sav``.
    layout
        One of :data:`LAYOUTS`; detected from the header when ``None``.
    keep
        Names of the columns to read (as a mapping names them, see
        :func:`~hsc_research.ingest.layouts.find_column`); every other column is left out
        and listed in ``unread``. ``None`` reads every column that does not identify
        people (for drafting a mapping).
    identity
        Name of an identifying column (an e-mail address) to keep as a keyed hash of its
        case-folded text, for finding repeat submissions; its text is never kept.
    key
        Secret of that hash (HMAC-SHA256); ``None`` draws a one-off key.

    Raises
    ------
    InputError
        One line naming the file, and the row or column, and what to do.
    """
    path = Path(path)
    raw = _read_all(path, layout, identity)
    if keep is None and identity is None:
        return raw
    return _select(raw, keep, identity, key)


def _read_all(path: Path, layout: str | None, identity: str | None) -> RawExport:
    check_export_file(path)  # before any open: a FIFO would block the reader forever
    if layout not in (None, *LAYOUTS):
        raise InputError(f"{path}: unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if layout in (None, "template") and template_head_ok(path):
        try:
            return _from_template(path, identity)
        except _NotFast:
            pass
    grid = read_grid(path)
    layout = layout or detect(grid)
    header = parse_header(grid, layout)
    data_rows = grid.rows[header.header_rows :] if layout != "spss" else grid.rows[1:]
    if not data_rows:
        raise InputError(f"{path}: header only, no respondents; export the responses too")
    _check_keys(header.columns, path)
    width = len(header.columns)
    first_row = header.header_rows + 1
    for i, row in enumerate(data_rows):
        if len(row) < width or any(c.strip() for c in row[width:]):
            raise InputError(
                f"{path}: row {first_row + i} has {len(row)} cells but the header has {width}; "
                "look for a stray delimiter or a line cut short in that row"
            )
    who = _find(header.columns, identity, path) if identity else None
    keep = [c for c in header.columns if not is_identifying(c.key) or c == who]
    dropped = [c.key for c in header.columns if is_identifying(c.key) and c != who]
    cells = {c.key: [row[c.position] for row in data_rows] for c in keep}
    data = pd.DataFrame(cells, dtype="str").replace("", pd.NA)
    unlabelled = _apply_value_labels(grid, keep, data)
    data.insert(0, "raw_row", range(first_row, first_row + len(data_rows)))
    if dropped:
        log.info("%s: dropped identifying columns %s", path, ", ".join(dropped))
    return RawExport(path, layout, grid.fmt, keep, data, dropped, grid.encoding,
                     grid.delimiter, header.header_rows, unlabelled,
                     identity=who.key if who else None)  # fmt: skip


def _find(columns: list[Column], ref: str, path: Path) -> Column | None:
    try:
        return find_column(columns, ref)
    except LookupError as exc:
        raise InputError(f"{path}: {exc}") from None


#: Identity cells that name nobody: Microsoft Forms writes "anonymous" for every
#: respondent of an anonymous form, who must not all become one person.
_NOBODY = {"", "anonymous"}


def _keyed(value: object, secret: bytes) -> object:
    """HMAC-SHA256 of an identity cell folded (case, spaces), or missing for nobody."""
    if pd.isna(value):
        return pd.NA
    text = " ".join(str(value).split()).casefold()
    return pd.NA if text in _NOBODY else hmac.digest(secret, text.encode(), "sha256").hex()


def _select(
    raw: RawExport, keep: Collection[str] | None, identity: str | None, key: bytes | None
) -> RawExport:
    """Only the named columns, and the identity column as a keyed hash; names that match
    no column are left for the mapping to report."""
    wanted = {c.key for ref in (keep or ()) if (c := _find(raw.columns, ref, raw.path))}
    who = raw.identity
    if identity is not None and who is None:
        col = _find(raw.columns, identity, raw.path)  # a non-identifying column, e.g. "Staff no."
        who = col.key if col else None
    if who is not None:
        secret = key if key is not None else secrets.token_bytes(32)
        raw.data[who] = raw.data[who].map(lambda v: _keyed(v, secret))
        wanted.add(who)
    unread = [c.key for c in raw.columns if c.key not in wanted and c.key != "raw_row"]
    raw.data = raw.data[["raw_row", *(c.key for c in raw.columns if c.key in wanted)]]
    raw.columns = [c for c in raw.columns if c.key in wanted]
    raw.unread = unread
    raw.identity = who
    return raw


class _NotFast(Exception):
    """The fast template reader declined; read the file the general way."""


def _from_template(path: Path, identity: str | None = None) -> RawExport:
    try:
        frame = read_template(path, codebook=None)
    except InputError as exc:
        if "not UTF-8" in str(exc) or "cannot parse" in str(exc):
            raise _NotFast from None  # the general reader names the line and encoding
        raise
    names = [c for c in frame.columns if c != "raw_row"]
    cols = [Column(c, c, "", i) for i, c in enumerate(names)]
    who = _find(cols, identity, path) if identity else None
    dropped = [c for c in names if is_identifying(c) and (who is None or c != who.key)]
    frame = frame.drop(columns=dropped)
    cols = [c for c in cols if c.key not in dropped]
    return RawExport(path, "template", "csv", cols, frame, dropped, "utf-8", ",", 1,
                     identity=who.key if who else None)  # fmt: skip


def _check_keys(columns: list[Column], path: Path) -> None:
    seen: dict[str, int] = {}
    for c in columns:
        if not c.key:
            if c.position == len(columns) - 1:
                continue
            raise InputError(
                f"{path}: column {c.position + 1} has no name; name it or delete the column"
            )
        if c.key in seen:
            raise InputError(
                f"{path}: column {c.key!r} appears twice (columns {seen[c.key] + 1} and "
                f"{c.position + 1}); rename or delete one of them"
            )
        seen[c.key] = c.position


def _apply_value_labels(grid: Grid, columns: list[Column], data: pd.DataFrame) -> list[str]:
    """Replace SPSS codes by their value labels; name numeric columns that have none."""
    if grid.fmt != "sav":
        return []
    unlabelled = []
    for c in columns:
        labels = grid.value_labels.get(c.key)
        if labels:
            data[c.key] = data[c.key].map(lambda v, lab=labels: lab.get(v, v) if pd.notna(v) else v)
        elif data[c.key].dropna().str.fullmatch(r"-?\d+(\.\d+)?").all():
            unlabelled.append(c.key)
    return unlabelled
