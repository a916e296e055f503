"""Sites: the register of participating areas, matching export values to it, and safe
ids for file names.

Site identity is never guessed. A register is refused when two of its rows could be
confused: the same ``site_id`` twice, the same ``site_name`` twice (ignoring case, spaces
and punctuation), or a name that reads as another row's id (ids and names swapped). An
export's site value matches a register row by its name or its id, ignoring case, spaces
and punctuation; a value that could match two rows is refused. Without a register, site
names found in the export that differ only in case, spaces or punctuation are refused
rather than merged: a register says which site each one is.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from hsc_research.errors import InputError
from hsc_research.ingest.labels import normalise_label

#: How a register is named in errors when it did not come from a file.
_GIVEN = "the site register"


def slugify(name: str) -> str:
    """A safe file and id stem: lower-case ASCII letters, digits and hyphens only.

    Path separators, ``..`` and markup cannot survive, so a site name from the data can
    name a report file.

    Examples
    --------
    >>> slugify("../St Mary's <b>East</b>")
    'st-mary-s-b-east-b'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug or "site"


def _folds(text: str) -> set[str]:
    """The forms under which two site names or ids count as the same (none for blank)."""
    folded = normalise_label(text)
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")
    return {f for f in (folded, slug) if f}


def read_site_register(path: str | Path | None) -> pd.DataFrame | None:
    """Read and check a site register CSV (``site_id, site_name``).

    Parameters
    ----------
    path
        The register; ``None`` or a missing file means there is none.

    Returns
    -------
    pandas.DataFrame or None
        ``site_id, site_name`` as text.

    Raises
    ------
    InputError
        One line naming the file, the row(s) and what to do (see :func:`check_register`).
    """
    if path is None or not Path(path).is_file():
        return None
    try:
        sites = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the site register ({type(exc).__name__})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the site register ({exc.strerror})") from None
    missing = {"site_id", "site_name"} - set(sites.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))} in site register")
    sites = sites[["site_id", "site_name"]].reset_index(drop=True)
    check_register(sites, path)
    return sites


def check_register(sites: pd.DataFrame, source: object = _GIVEN) -> None:
    """Refuse a register whose rows could be confused with each other.

    Rows are numbered as in a spreadsheet (the header is row 1).

    Parameters
    ----------
    sites
        ``site_id, site_name``.
    source
        The register's file, for messages.

    Raises
    ------
    InputError
        A bad or blank id or name, a repeated id or name (ignoring case, spaces and
        punctuation), or a name that reads as another row's id.
    """
    ids = [str(v).strip() for v in sites["site_id"]]
    names = [str(v).strip() for v in sites["site_name"]]
    for i, (sid, name) in enumerate(zip(ids, names, strict=True)):
        if sid != slugify(sid):
            raise InputError(
                f"{source}: row {i + 2}: site_id {sid!r} must be lower-case letters, digits "
                "and hyphens"
            )
        if not name:
            raise InputError(f"{source}: row {i + 2}: site_name is blank; give the site's name")
    seen_id: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    for i, (sid, name) in enumerate(zip(ids, names, strict=True)):
        if sid in seen_id:
            j = seen_id[sid]
            raise InputError(
                f"{source}: rows {j + 2} and {i + 2}: site_id {sid!r} appears twice "
                f"({names[j]!r} and {name!r}); give each site one row and its own id"
            )
        seen_id[sid] = i
        for fold in _folds(name):
            if fold in seen_name:
                j = seen_name[fold]
                same = (
                    f"site_name {name!r} appears twice"
                    if names[j] == name
                    else f"site names {names[j]!r} and {name!r} are the same name written "
                    "differently"
                )
                raise InputError(
                    f"{source}: rows {j + 2} and {i + 2}: {same} (ids {ids[j]!r} and {sid!r}); "
                    "keep one row per site, with names that differ by more than case, spaces "
                    "or punctuation"
                )
        for fold in _folds(name):
            seen_name[fold] = i
    for i, name in enumerate(names):
        for fold in _folds(name):
            j = seen_id.get(fold)
            if j is not None and j != i:
                raise InputError(
                    f"{source}: rows {i + 2} and {j + 2}: site_name {name!r} (row {i + 2}, id "
                    f"{ids[i]!r}) reads as the site_id of row {j + 2} ({names[j]!r}); ids and "
                    "names look swapped: check which id belongs to which site"
                )


def match_sites(values: pd.Series, sites: pd.DataFrame, rows: pd.Series | None = None) -> pd.Series:
    """The register id of each export site value, or missing where none matches.

    A value matches a row by its name or its id, ignoring case, spaces and punctuation.

    Parameters
    ----------
    values
        The export's site cells.
    sites
        A checked register (``site_id, site_name``).
    rows
        Spreadsheet rows of ``values``, for messages.

    Raises
    ------
    InputError
        A value that could be two registered sites (only possible with a register that
        :func:`check_register` has not seen).
    """
    table: dict[str, str] = {}
    for sid, name in zip(sites["site_id"], sites["site_name"], strict=True):
        for fold in _folds(str(name)) | _folds(str(sid)):
            other = table.setdefault(fold, sid)
            if other != sid:
                raise InputError(
                    f"{_GIVEN}: sites {other!r} and {sid!r} can both be written {fold!r}; "
                    "give each site a distinct id and name"
                )
    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    found = []
    for u in uniques:
        hits = {table[f] for f in _folds(str(u)) if f in table} if str(u).strip() else set()
        if len(hits) > 1:
            where = ""
            if rows is not None:
                where = f" (row {int(rows.to_numpy()[np.flatnonzero(idx == len(found))[0]])})"
            raise InputError(
                f"export site {u!r}{where} could be site {' or '.join(sorted(hits))} of the "
                "register; correct the export or the register so each site is written one way"
            )
        found.append(hits.pop() if hits else None)
    mapped = np.array([*found, None], dtype=object)
    return pd.Series(mapped[idx], index=values.index, dtype="object")


def sites_from_data(
    names: pd.Series, rows: pd.Series | None = None, source: object = "the export"
) -> pd.DataFrame:
    """A register built from the site names found in an export (no register given).

    Parameters
    ----------
    names
        The export's site cells.
    rows
        Their spreadsheet rows, for messages.
    source
        The export, for messages.

    Raises
    ------
    InputError
        Two names that differ only in case, spaces or punctuation: which site each is
        cannot be told from the export alone.
    """
    text = names.map(lambda v: v.strip() if isinstance(v, str) else v)
    uniq = pd.Series(text.dropna().unique(), dtype=object)
    uniq = uniq[uniq != ""]
    ids: list[str] = []
    seen: dict[str, str] = {}
    for name in uniq:
        # The id is a fold too: names with no letters or digits all slugify to "site".
        for fold in [*_folds(name), f"id:{slugify(name)}"]:
            other = seen.setdefault(fold, name)
            if other != name:
                where = ""
                if rows is not None:  # looked up only here: a scan per name is slow
                    first = [int(rows.to_numpy()[np.flatnonzero((text == v).to_numpy())[0]])
                             for v in (other, name)]  # fmt: skip
                    where = f"rows {first[0]} and {first[1]}: "
                raise InputError(
                    f"{source}: {where}site names {other!r} and {name!r} differ only in case, "
                    "spaces or punctuation and would be merged; list the sites in a site "
                    "register (--sites-register, columns site_id,site_name) or write each "
                    "site one way in the export"
                )
        ids.append(slugify(name))
    return pd.DataFrame({"site_id": ids, "site_name": list(uniq)})
