"""Reading, writing and verifying the aggregate tables (kept free of the statistics
imports, so that a report kernel starts fast).

``meta.json`` is written last and lists every table with the SHA-256 of its file, the
codebook the tables were computed with (``codebook.yaml``, its exact text, beside the
tables) and the hash of the cleaned tables they came from, so that ``build`` can tell
missing, corrupt and stale aggregates from current ones before it starts a report.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from hsc_research.errors import HscError, InputError

#: Scope of national rows (site ids are slugs, which never start with "_").
NATIONAL = "_national"
META_NAME = "meta.json"
#: The codebook the aggregates were computed with, copied beside them.
CODEBOOK_NAME = "codebook.yaml"


class AggregatesError(InputError):
    """The aggregates are missing, corrupt or stale (the message names the file)."""


class AggregateTables(Mapping):
    """The aggregate tables of a folder, each read from parquet on first use.

    Parameters
    ----------
    folder
        ``data/processed/aggregates``.
    scopes
        When given, only rows of these scopes are read from tables that have a
        ``scope`` column (a site report needs its site and the nation only).
    names
        The tables to offer (those listed in ``meta.json``); every parquet file in
        ``folder`` when ``None``.
    """

    def __init__(
        self, folder: Path, scopes: Sequence[str] | None = None, names: Sequence[str] | None = None
    ):
        self.folder = Path(folder)
        self.scopes = list(scopes) if scopes is not None else None
        if names is None:
            names = [p.stem for p in self.folder.glob("*.parquet")]
        self._names = sorted(names)
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


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def text_sha256(path: Path) -> str:
    """SHA-256 of a text file as :func:`write` stores it (UTF-8, newlines as ``\\n``):
    compares a codebook with the copy beside the aggregates."""
    return hashlib.sha256(Path(path).read_text(encoding="utf-8").encode("utf-8")).hexdigest()


def read_meta(folder: Path) -> dict:
    """The run metadata written beside the tables."""
    meta_path = Path(folder) / META_NAME
    if not meta_path.is_file():
        raise AggregatesError(f"{meta_path}: not found; run `hsc-research aggregate` first")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise AggregatesError(
            f"{meta_path}: cannot be read (corrupt); run `hsc-research aggregate` again"
        ) from None
    if not isinstance(meta, dict):
        raise AggregatesError(f"{meta_path}: corrupt; run `hsc-research aggregate` again")
    return meta


def read(folder: Path, scopes: Sequence[str] | None = None) -> tuple[AggregateTables, dict]:
    """The aggregate tables (read lazily) and the metadata."""
    meta = read_meta(folder)
    names = list(meta["tables"]) if isinstance(meta.get("tables"), dict) else None
    return AggregateTables(folder, scopes, names), meta


def verify(folder: Path, input_sha256: str | None = None) -> dict:
    """Check the aggregates against ``meta.json`` before any report reads them.

    Parameters
    ----------
    folder
        ``data/processed/aggregates``.
    input_sha256
        Hash of the cleaned tables now on disk
        (:func:`hsc_research.provenance.data_hash`); when given, aggregates computed
        from other cleaned tables are stale.

    Returns
    -------
    dict
        The metadata.

    Raises
    ------
    AggregatesError
        One line naming the first missing, corrupt or stale file.
    """
    folder = Path(folder)
    meta = read_meta(folder)
    tables = meta.get("tables")
    if not isinstance(tables, dict) or not meta.get("codebook_sha256"):
        raise AggregatesError(
            f"{folder / META_NAME}: lists no table hashes (written by an older version); "
            "run `hsc-research aggregate` again"
        )
    files = {f"{name}.parquet": sha for name, sha in tables.items()}
    files[CODEBOOK_NAME] = meta["codebook_sha256"]
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise AggregatesError(f"{path}: missing; run `hsc-research aggregate` to recompute it")
        if file_sha256(path) != expected:
            raise AggregatesError(
                f"{path}: changed or corrupt since `hsc-research aggregate` wrote it "
                "(content hash differs from meta.json); run `hsc-research aggregate` to recompute it"
            )
    if input_sha256 is not None and meta.get("input_sha256") != input_sha256:
        raise AggregatesError(
            f"{folder}: stale, computed from other cleaned tables than data/processed holds now "
            "(cleaned again since); run `hsc-research aggregate` to recompute them"
        )
    return meta


def _write_file(path: Path, write) -> str:
    """Write through a temporary file in the same folder, rename it into place and
    return the SHA-256 of what was written."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        sha = file_sha256(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return sha


def write(
    tables: dict[str, pd.DataFrame], folder: Path, meta: dict, codebook_text: str | None = None
) -> dict:
    """Write each table as parquet, the codebook and ``meta.json`` into ``folder``.

    Every file is written atomically, ``meta.json`` last and only once every table is
    in place (it is removed first), so an interrupted write never looks complete.

    Parameters
    ----------
    tables
        Table name to data.
    folder
        ``data/processed/aggregates``.
    meta
        Run metadata; the table hashes and the codebook hash are added to it.
    codebook_text
        Exact text of the codebook YAML the tables were computed with.

    Returns
    -------
    dict
        The metadata written.

    Raises
    ------
    HscError
        The folder cannot be written (full disk, permissions), naming the file.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / META_NAME).unlink(missing_ok=True)
        hashes = {
            name: _write_file(folder / f"{name}.parquet", lambda p, t=table: t.to_parquet(p, index=False))
            for name, table in tables.items()
        }  # fmt: skip
        # Tables of an earlier run that this one did not write must not be read as its own.
        for old in folder.glob("*.parquet"):
            if old.stem not in hashes:
                old.unlink()
        meta = {**meta, "tables": hashes}
        if codebook_text is not None:
            meta["codebook_file"] = CODEBOOK_NAME
            meta["codebook_sha256"] = _write_file(
                folder / CODEBOOK_NAME, lambda p: p.write_bytes(codebook_text.encode("utf-8"))
            )
        text = json.dumps(meta, indent=2, default=str)
        _write_file(folder / META_NAME, lambda p: p.write_bytes(text.encode("utf-8")))
    except OSError as exc:
        where = exc.filename or folder
        raise HscError(
            f"{where}: cannot write the aggregates ({exc.strerror or exc}); free disk space or "
            "fix permissions, then run `hsc-research aggregate` again"
        ) from None
    return meta
