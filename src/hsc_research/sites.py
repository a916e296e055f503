"""Sites: the register of participating areas and safe ids for file names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from hsc_research.errors import InputError


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


def read_site_register(path: str | Path | None) -> pd.DataFrame | None:
    """Read a site register CSV (``site_id, site_name``); ``None`` if there is none."""
    if path is None or not Path(path).is_file():
        return None
    try:
        sites = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the site register ({type(exc).__name__})") from None
    missing = {"site_id", "site_name"} - set(sites.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))} in site register")
    bad = sites["site_id"] != sites["site_id"].map(slugify)
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 2
        raise InputError(
            f"{path}: row {row}: site_id {sites['site_id'].iloc[row - 2]!r} must be lower-case "
            "letters, digits and hyphens"
        )
    return sites[["site_id", "site_name"]]


def sites_from_data(names: pd.Series) -> pd.DataFrame:
    """A register built from the site names found in an export (no register given)."""
    uniq = pd.Series(names.dropna().map(str.strip).unique())
    uniq = uniq[uniq != ""]
    ids: list[str] = []
    for name in uniq:
        base = slugify(name)
        sid, k = base, 2
        while sid in ids:
            sid, k = f"{base}-{k}", k + 1
        ids.append(sid)
    return pd.DataFrame({"site_id": ids, "site_name": list(uniq)})
