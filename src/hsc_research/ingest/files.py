"""Reading an export file into a grid of text cells, whatever its format.

CSV (and other delimited text), Excel ``.xlsx`` and SPSS ``.sav`` all become a
:class:`Grid`: the header rows and the data rows as lists of strings, exactly as written.
Nothing is interpreted here except the bytes: the encoding (UTF-8, UTF-8 with a
byte-order mark, UTF-16 from Excel's "Unicode text", Windows-1252), the delimiter, and
Excel's and SPSS's typed cells, which are written back as the text a spreadsheet shows.
Every failure is an :class:`~hsc_research.errors.InputError` of one line naming the file
and what to do.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from hsc_research.config import MAX_EXPORT_COLUMNS
from hsc_research.errors import InputError

#: Formats by file suffix; anything else is read as delimited text.
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
SPSS_SUFFIXES = (".sav", ".zsav")
DELIMITERS = (",", ";", "\t", "|")
#: Compound-file (OLE) magic: legacy .xls, or an .xlsx saved with a password.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptionInfo".encode("utf-16-le")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
#: Bytes of the first line read to count the header's columns before parsing the file.
_HEADER_PROBE_BYTES = 64 * 1024 * 1024


@dataclass
class Grid:
    """Every row of an export as text, before the layout is known.

    ``rows`` holds all rows, header rows included (``rows[0]`` is spreadsheet row 1).
    ``labels`` carries what a format stores beside the cells: SPSS variable labels
    (the question text) by column name.
    """

    path: Path
    fmt: str
    rows: list[list[str]]
    encoding: str | None = None
    delimiter: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def read_grid(path: str | Path) -> Grid:
    """Read an export of any supported format into a :class:`Grid`.

    Parameters
    ----------
    path
        A ``.csv``/``.txt``/``.tsv`` (any supported encoding and delimiter), ``.xlsx`` or
        ``.sav`` file.

    Raises
    ------
    InputError
        The file is missing, empty, binary, password-protected, corrupt, in an unknown
        encoding, or its rows cannot be split into cells.
    """
    path = Path(path)
    check_export_file(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise InputError(f"{path}: file is empty; export the survey again")
    suffix = path.suffix.casefold()
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_STREAM in data:
            raise InputError(
                f"{path}: the workbook is password-protected; open it in Excel, remove the "
                "password (File > Info > Protect Workbook) and save it again"
            )
        raise InputError(
            f"{path}: this is an old Excel 97-2003 (.xls) file; save it as .xlsx or CSV UTF-8"
        )
    if suffix in EXCEL_SUFFIXES or data.startswith(b"PK\x03\x04"):
        grid = _read_xlsx(path)
        _check_width(path, _width(grid.rows))
        return grid
    if suffix in SPSS_SUFFIXES or data.startswith((b"$FL2", b"$FL3")):
        grid = _read_sav(path)
        _check_width(path, _width(grid.rows))
        return grid
    text, encoding = decode(data, path)
    delimiter = sniff_delimiter(text)
    grid = Grid(path, "csv", split_rows(text, delimiter, path), encoding, delimiter)
    _check_width(path, _width(grid.rows))
    return grid


def require_regular_file(path: Path, what: str = "export") -> None:
    """Refuse a path that is missing or is not a regular file.

    Opening a FIFO waits for a writer forever, and a device can be endless, so the file
    type is checked with :func:`os.stat` (which never blocks) before anything opens it.

    Raises
    ------
    InputError
        One line naming the path and what it is instead.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(
            f"{path}: file not found; check the path (`hsc-research synth` makes a demo export)"
            if what == "export"
            else f"{path}: {what} not found; check the path"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder; give the {what} file itself")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{path}: is not a regular file (a pipe, device or socket); save the {what} "
            "to a file and give that file's path"
        )


def check_export_file(path: str | Path) -> None:
    """Check an export before any reader opens it: a regular file, not too wide.

    Counting the delimiter bytes of the first line bounds its columns from above; only a
    line over the limit is parsed (so delimiters inside quoted names do not count). A
    file of a hundred thousand columns is refused in milliseconds, instead of being
    parsed or misreported as empty. :func:`read_grid` checks the rows it read as well.

    Raises
    ------
    InputError
        The path is missing or not a regular file (:func:`require_regular_file`), or its
        header has more than :data:`~hsc_research.config.MAX_EXPORT_COLUMNS` columns.
    """
    path = Path(path)
    require_regular_file(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(8).startswith((b"PK\x03\x04", _OLE_MAGIC, b"$FL2", b"$FL3")):
                return  # binary formats: their width is checked after reading (read_grid)
            fh.seek(0)
            head = fh.readline(_HEADER_PROBE_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    upper, delimiter = max((head.count(d.encode()) + 1, d) for d in DELIMITERS)
    if upper <= MAX_EXPORT_COLUMNS:
        return
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    first = head.decode("utf-16" if utf16 else "utf-8-sig", errors="replace").rstrip("\r\n\x00")
    try:  # the exact count: delimiters inside quoted names do not split
        width = len(next(csv.reader([first], delimiter=delimiter), []))
    except csv.Error:
        width = upper
    _check_width(path, width)


def _width(rows: list[list[str]]) -> int:
    """Cells in the widest of the rows that may be a header (a title line can come first)."""
    return max((len(r) for r in rows[:4]), default=0)


def _check_width(path: Path, width: int) -> None:
    if width > MAX_EXPORT_COLUMNS:
        raise InputError(
            f"{path}: the header has {width:,} columns, more than the {MAX_EXPORT_COLUMNS:,} "
            "an export may have (MAX_EXPORT_COLUMNS in config.py); check that this is the "
            "survey tool's export, with only the survey's columns"
        )


def decode(data: bytes, path: Path) -> tuple[str, str]:
    """Decode an export's bytes, naming the encoding that worked.

    UTF-8 (with or without a byte-order mark) is tried first, then UTF-16 (with its
    byte-order mark), then Windows-1252, which is what Excel on Windows writes for
    "CSV" without "UTF-8". A file that mixes UTF-8 lines with Windows-1252 lines is
    refused: guessing would corrupt one set of names silently.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InputError(f"{path}: not valid UTF-16; save the export as CSV UTF-8") from None
    if b"\x00" in data[:65536]:
        where = data.index(b"\x00")
        raise InputError(
            f"{path}: binary data at byte {where}, not a CSV, Excel or SPSS export; "
            "check that this is the file the survey tool downloaded"
        )
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    line = data.count(b"\n", 0, bad) + 1
    if bom or _UTF8_MULTIBYTE.search(data[:bad]) or _valid_utf8_after(data, bad):
        raise InputError(
            f"{path}: mixed encodings: line {line} is not UTF-8 but other lines are; "
            "open the file in a spreadsheet and save it again as CSV UTF-8"
        )
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: line {line}, byte {exc.start} is neither UTF-8 nor Windows-1252; "
            "save the export as CSV UTF-8"
        ) from None


def _valid_utf8_after(data: bytes, start: int) -> bool:
    """Whether a real multi-byte UTF-8 character occurs after ``start``."""
    for match in _UTF8_MULTIBYTE.finditer(data, start):
        try:
            match.group().decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first line into the most cells (comma on a tie).

    Counting cells of the header line with a real CSV parser, instead of
    :class:`csv.Sniffer`'s character statistics, is not fooled by commas inside quoted
    question text.
    """
    first = next(iter(text.splitlines()), "")
    best, best_n = ",", 0
    for delim in DELIMITERS:
        try:
            n = len(next(csv.reader([first], delimiter=delim)))
        except (csv.Error, StopIteration):
            continue
        if n > best_n:
            best, best_n = delim, n
    return best


def split_rows(text: str, delimiter: str, path: Path) -> list[list[str]]:
    """Split delimited text into rows of cells; quoted cells may hold newlines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
    except csv.Error as exc:
        raise InputError(
            f"{path}: row {len(rows) + 1} (line {reader.line_num}): {exc}; look for an "
            'unmatched double quote (") in that row'
        ) from None
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()  # trailing blank lines are not respondents
    return rows


def _excel_text(value: object) -> str:
    """A typed Excel cell as the text the spreadsheet shows."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path) -> Grid:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: the cached values a user sees, not formulas; error cells stay "#N/A".
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}); the file may be "
            "corrupt or cut short: download the export again"
        ) from None
    try:
        sheet = book.worksheets[0]
        rows = [[_excel_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(
            f"{path}: the first worksheet cannot be read ({type(exc).__name__}); "
            "download the export again"
        ) from None
    finally:
        book.close()
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    width = max((len(r) for r in rows), default=0)
    for r in rows:  # a worksheet row stops at its last filled cell
        r.extend([""] * (width - len(r)))
    if not rows:
        raise InputError(f"{path}: the first worksheet is empty; export the responses again")
    return Grid(path, "xlsx", rows)


def _read_sav(path: Path) -> Grid:
    import pyreadstat

    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False, user_missing=False)
    except Exception as exc:  # pyreadstat raises its own and plain exceptions alike
        raise InputError(
            f"{path}: not a readable SPSS .sav file ({type(exc).__name__}); save it again "
            "from SPSS or export CSV instead"
        ) from None
    names = list(meta.column_names)
    labels = {n: lab for n, lab in zip(names, meta.column_labels, strict=True) if lab}
    value_labels = {
        col: {_excel_text(k): str(v) for k, v in mapping.items()}
        for col, mapping in (meta.variable_value_labels or {}).items()
    }
    rows = [names]
    for record in df.itertuples(index=False, name=None):
        cells = []
        for v in record:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("")
            else:
                cells.append(_excel_text(v))
        rows.append(cells)
    return Grid(path, "sav", rows, labels=labels, value_labels=value_labels)
