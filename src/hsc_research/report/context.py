"""The report's context: the aggregates, codebook and scope one report reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hsc_research.aggregate.io import CODEBOOK_NAME, NATIONAL, read, text_sha256
from hsc_research.config import MIN_CELL
from hsc_research.errors import InputError
from hsc_research.instrument import Codebook, load_codebook


@dataclass
class Context:
    """The aggregates and the parameters of one report."""

    tables: Mapping[str, pd.DataFrame]
    meta: dict
    codebook: Codebook
    scope: str  # a site id or NATIONAL
    wave: int
    previous_wave: int | None
    min_cell: int

    @property
    def is_site(self) -> bool:
        return self.scope != NATIONAL

    @property
    def name(self) -> str:
        """Display name of the scope."""
        return self.meta["sites"].get(self.scope, self.scope) if self.is_site else "All sites"

    @property
    def where(self) -> str:
        return "this site" if self.is_site else "all sites"

    def t(
        self, name: str, scope: str | None = None, wave: int | None | bool = True
    ) -> pd.DataFrame:
        """Rows of aggregate ``name`` for a scope (default the report's) and wave
        (default the report's; ``None`` for all waves)."""
        if wave is True:
            wave = self.wave
        table = self.tables[name]
        # One selection by both columns: two successive row filters cost twice as much.
        keep = np.ones(len(table), dtype=bool)
        if "scope" in table:
            keep &= table["scope"].eq(scope or self.scope).to_numpy(dtype=bool, na_value=False)
        if wave is not None and "wave" in table:
            keep &= table["wave"].eq(wave).to_numpy(dtype=bool, na_value=False)
        return table[keep]

    @property
    def scopes(self) -> list[tuple[str, str]]:
        """(scope, display name) to show: the site and the nation, or the nation."""
        national = (NATIONAL, "All sites")
        return [(self.scope, self.name), national] if self.is_site else [national]

    @property
    def prof_labels(self) -> dict[str, str]:
        return {p.id: p.short for p in self.codebook.professions}


#: Whether :func:`load_context` keeps the aggregate tables it reads in this process
#: (:class:`SharedTables`). Off by default; a warm build kernel turns it on when it is
#: warmed (:func:`hsc_research.report.kernel_state.warm_up_kernel`), after the build has
#: verified every table against ``meta.json``.
SHARE_TABLES = False

# (folder, table name, the table's SHA-256 in meta.json) -> every row of the table, and
# the positions of each scope's rows.
_SHARED: dict[tuple[str, str, str], tuple[pd.DataFrame, dict[str, np.ndarray]]] = {}


class SharedTables(Mapping):
    """The aggregate tables of one folder, each read once per process and kept, keyed by
    the table's content hash as ``meta.json`` lists it (new aggregates, new key).

    A report gets the rows of its scopes, as a new frame: nothing a report does to its
    tables reaches the kept ones or the next report.
    """

    def __init__(self, folder: Path, meta: dict, scopes: list[str] | None):
        self.folder = folder
        self.hashes = meta["tables"]
        self.scopes = scopes
        self._cache: dict[str, pd.DataFrame] = {}

    def _whole(self, name: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        key = (str(self.folder), name, self.hashes[name])
        if key not in _SHARED:
            whole = pd.read_parquet(self.folder / f"{name}.parquet")
            # Where each scope's rows are, found once: every report takes its own.
            rows = whole.groupby("scope", sort=False).indices if "scope" in whole else {}
            _SHARED[key] = (whole, rows)
        return _SHARED[key]

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.hashes:
            raise KeyError(name)
        if name not in self._cache:
            whole, rows = self._whole(name)
            if self.scopes is not None and "scope" in whole:
                mine = [rows[s] for s in dict.fromkeys(self.scopes) if s in rows]
                at = np.sort(np.concatenate(mine)) if mine else np.empty(0, dtype=np.intp)
                part = whole.take(at).reset_index(drop=True)
            else:
                part = whole.copy(deep=False)  # copy-on-write: changes stay in this report
            self._cache[name] = part
        return self._cache[name]

    def __iter__(self):
        return iter(sorted(self.hashes))

    def __len__(self) -> int:
        return len(self.hashes)


def load_context(
    aggregates_dir: str | Path,
    site: str | None = None,
    wave: int | None = None,
    previous_wave: int | None = None,
    min_cell: int = MIN_CELL,
    codebook: str | Path | None = None,
) -> Context:
    """Read the aggregates for a site report (``site`` given) or the national report.

    ``wave`` defaults to the latest wave, ``previous_wave`` to the one before it. The
    codebook is the one the aggregates were computed with (``codebook.yaml`` beside
    them); ``codebook``, when given, must be that same file's text.
    """
    folder = Path(aggregates_dir).resolve()
    # A site report reads only its own rows and the national ones.
    tables, meta = read(folder, scopes=[site, NATIONAL] if site else None)
    if SHARE_TABLES and isinstance(meta.get("tables"), dict):
        tables = SharedTables(folder, meta, [site, NATIONAL] if site else None)
    if meta.get("min_cell") != min_cell:
        raise InputError(
            f"aggregates were computed with min_cell={meta.get('min_cell')}, report asks for "
            f"{min_cell}; run `hsc-research aggregate --min-cell {min_cell}`"
        )
    scope = site or NATIONAL
    if site is not None and site not in meta["sites"]:
        raise InputError(
            f"site {site!r} is not in the aggregates; known: {', '.join(sorted(meta['sites']))}"
        )
    waves = meta["waves"]
    wave = wave or waves[-1]
    if wave not in waves:
        raise InputError(f"wave {wave} is not in the data; waves: {', '.join(map(str, waves))}")
    earlier = [w for w in waves if w < wave]
    previous = previous_wave or (earlier[-1] if earlier else None)
    return Context(tables, meta, _codebook(folder, meta, codebook), scope, wave, previous, min_cell)


def _codebook(folder: Path, meta: dict, given: str | Path | None) -> Codebook:
    """The aggregates' own codebook: labels in the tables match it, not the packaged one."""
    copy = folder / CODEBOOK_NAME
    if not copy.is_file():
        raise InputError(f"{copy}: not found; run `hsc-research aggregate` again")
    if given is not None and text_sha256(Path(given)) != meta.get("codebook_sha256"):
        raise InputError(
            f"{given}: not the codebook the aggregates were computed with ({copy}); leave "
            f"codebook out, or run `hsc-research --codebook {given} aggregate`"
        )
    return load_codebook(copy)
