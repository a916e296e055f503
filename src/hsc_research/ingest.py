"""Reading raw survey exports into a wide frame of text cells.

Today this reads the package's own template layout (CSV, one row per respondent, one
column per item named ``<question>.<item>``). Every cell is read as text, exactly as
written: nothing is turned into a missing value except a truly empty cell, so that an
Excel error such as ``#N/A`` is logged as an invalid answer instead of vanishing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa

from hsc_research.errors import InputError
from hsc_research.instrument import Codebook

#: Respondent fields of the template layout; the first four are required.
REQUIRED_FIELDS = ("respondent_id", "site", "wave", "profession")
OPTIONAL_FIELDS = ("role_level", "submitted_at")


def read_template(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read a template-layout CSV export.

    Parameters
    ----------
    path
        The export file (UTF-8, with or without a byte-order mark).
    codebook
        Gives the item columns the file must have.

    Returns
    -------
    pandas.DataFrame
        Respondent fields and item columns as text (missing only where empty), plus
        ``raw_row``: the spreadsheet row number of each respondent (header is row 1).

    Raises
    ------
    InputError
        One line naming the file and what is wrong: missing, unreadable, empty, not
        UTF-8, ragged, duplicate or missing columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found; run `hsc-research synth` or give --input")
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            engine="pyarrow",  # several times faster than the C engine on large exports
        )
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty; export the survey again") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: byte {exc.start} is not UTF-8; save the export as UTF-8 CSV"
        ) from None
    except (pd.errors.ParserError, csv.Error, pa.ArrowInvalid) as exc:
        raise InputError(f"{path}: cannot parse as CSV ({_first_line(exc)})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None

    _check_columns(df, path, codebook)
    if df.empty:
        raise InputError(f"{path}: header only, no respondents; export the responses too")
    df.columns = [c.strip() for c in df.columns]
    df.insert(0, "raw_row", range(2, len(df) + 2))
    return df


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _check_columns(df: pd.DataFrame, path: Path, codebook: Codebook) -> None:
    names = [str(c).strip() for c in df.columns]
    # pandas renames a repeated header "x" to "x.1"; the raw header tells the truth.
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh))
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name in seen:
            raise InputError(f"{path}: column {name!r} appears twice; keep one of them")
        seen.add(name)
    missing = [c for c in REQUIRED_FIELDS if c not in names]
    missing += [it.column for it in codebook.items if it.column not in names]
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        raise InputError(
            f"{path}: missing column(s) {shown}; this is not a template export "
            "(see `hsc-research synth` for the layout)"
        )
