"""Reading and writing the aggregate tables (kept free of the statistics imports, so
that a report kernel starts fast)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from hsc_research.errors import InputError

#: Scope of national rows (site ids are slugs, which never start with "_").
NATIONAL = "_national"


class AggregateTables(Mapping):
    """The aggregate tables of a folder, each read from parquet on first use.

    Parameters
    ----------
    folder
        ``data/processed/aggregates``.
    scopes
        When given, only rows of these scopes are read from tables that have a
        ``scope`` column (a site report needs its site and the nation only).
    """

    def __init__(self, folder: Path, scopes: Sequence[str] | None = None):
        self.folder = Path(folder)
        self.scopes = list(scopes) if scopes is not None else None
        self._names = sorted(p.stem for p in self.folder.glob("*.parquet"))
        self._cache: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._names:
            raise KeyError(name)
        if name not in self._cache:
            path = self.folder / f"{name}.parquet"
            filters = None
            if self.scopes is not None and "scope" in pq.read_schema(path).names:
                filters = [("scope", "in", self.scopes)]
            self._cache[name] = pd.read_parquet(path, filters=filters)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def read_meta(folder: Path) -> dict:
    """The run metadata written beside the tables."""
    meta_path = Path(folder) / "meta.json"
    if not meta_path.is_file():
        raise InputError(f"{meta_path}: not found; run `hsc-research aggregate` first")
    return json.loads(meta_path.read_text(encoding="utf-8"))


def read(folder: Path, scopes: Sequence[str] | None = None) -> tuple[AggregateTables, dict]:
    """The aggregate tables (read lazily) and the metadata."""
    meta = read_meta(folder)
    return AggregateTables(folder, scopes), meta


def write(tables: dict[str, pd.DataFrame], folder: Path, meta: dict) -> None:
    """Write each table as parquet and ``meta.json`` into ``folder`` (atomically per file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        tmp = folder / f".{name}.parquet.tmp"
        table.to_parquet(tmp, index=False)
        tmp.replace(folder / f"{name}.parquet")
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
