"""Pipeline steps that read from and write to the project folders."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from hsc_research import aggregate
from hsc_research.clean import read_tables
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import InputError
from hsc_research.instrument import load_codebook
from hsc_research.provenance import CLEANED_TABLES, data_hash


def run_aggregate(
    paths: Paths,
    codebook: str | Path | None = None,
    min_cell: int = MIN_CELL,
    correction: str = "bonferroni",
) -> tuple[float, dict[str, pd.DataFrame]]:
    """Read the cleaned tables, compute every aggregate and write them; returns the
    seconds taken and the tables."""
    start = time.perf_counter()
    cb = load_codebook(codebook)
    cleaned = read_tables(paths.processed)
    tables = aggregate.aggregate(cleaned, cb, min_cell, correction)
    try:
        digest = data_hash(paths.processed)
    except OSError as exc:
        raise InputError(
            f"{exc.filename or paths.processed}: cannot read the cleaned tables "
            f"({exc.strerror}); re-run hsc-research clean"
        ) from None
    meta = aggregate.metadata(cleaned, cb, min_cell, correction, digest)
    try:
        aggregate.write(tables, paths.aggregates, meta)
    except OSError as exc:
        # A read-only data/processed or a full disk is the machine's state, not a bug.
        raise InputError(
            f"{exc.filename or paths.aggregates}: cannot write the aggregates "
            f"({exc.strerror or exc}); make {paths.processed} writable or free disk space, "
            "then run hsc-research aggregate again"
        ) from None
    return time.perf_counter() - start, tables


def aggregates_current(paths: Paths, min_cell: int) -> bool:
    """Whether the aggregates on disk were computed from the current cleaned tables
    with this disclosure threshold."""
    meta_path = paths.aggregates / "meta.json"
    cleaned = [paths.processed / f"{name}.parquet" for name in CLEANED_TABLES]
    if not meta_path.is_file() or not all(p.is_file() for p in cleaned):
        return False
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return (
        meta.get("input_sha256") == data_hash(paths.processed) and meta.get("min_cell") == min_cell
    )
