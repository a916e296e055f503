"""Pipeline steps that read from and write to the project folders.

The command line (:mod:`hsc_research.cli`) is a thin layer over these: each command
calls one step and prints what it returns.
"""

from __future__ import annotations

import importlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hsc_research import aggregate
from hsc_research.aggregate import io as aggregate_io
from hsc_research.aggregate.io import CODEBOOK_NAME, AggregatesError
from hsc_research.clean import AGGREGATES_DIR, CleanResult, read_tables
from hsc_research.config import MIN_CELL, Paths
from hsc_research.errors import HscError, InputError
from hsc_research.instrument import DEFAULT_CODEBOOK, Codebook, load_codebook
from hsc_research.provenance import CLEANED_TABLES, data_hash


def site_register(paths: Paths, given: str | Path | None = None) -> pd.DataFrame | None:
    """The site register: ``given``, else the project's ``data/raw/sites.csv`` when there
    is one, else ``None`` (sites are then taken from the data).

    Raises
    ------
    HscError
        ``given`` does not exist; the register is malformed (one line naming the row).
    """
    from hsc_research.clean.sites import read_site_register

    if given is not None and not Path(given).is_file():
        raise HscError(f"{given}: site register not found")
    default = paths.sites_register if paths.sites_register.is_file() else None
    return read_site_register(Path(given) if given is not None else default)


@dataclass
class CleanRun:
    """What :func:`run_clean` read and wrote."""

    source: Path
    layout: str  # the survey tool's layout the export was read as
    dropped: list[str]  # identifying columns dropped on reading
    unread: list[str]  # columns the mapping does not read
    result: CleanResult
    out: Path
    free_text: int | None  # free-text answers kept, when asked for
    removed_aggregates: bool  # aggregates of the previous tables were removed


def run_clean(
    paths: Paths,
    codebook: str | Path | None = None,
    source: str | Path | None = None,
    mapping: str | Path | None = None,
    layout: str | None = None,
    sites_register: str | Path | None = None,
    out: str | Path | None = None,
    keep_free_text: bool = False,
) -> CleanRun:
    """Read an export through its mapping, clean it and write the tidy tables.

    Parameters
    ----------
    paths
        Project paths (``data/raw/export.csv`` and ``data/processed`` by default).
    codebook, source, mapping, layout, sites_register, out
        As ``hsc-research clean`` takes them; ``None`` means the project's default.
    keep_free_text
        Also write the free-text answers, linked by the pseudonymous id.

    Raises
    ------
    HscError
        The export, mapping or register cannot be read or cleaned, or no respondent can
        be kept (one line naming what to fix); the tables cannot be written (the
        previous ones are left).
    """
    from hsc_research import clean

    run, kept_text = _clean_export(paths, load_codebook(codebook), source, mapping, layout,
                                   sites_register, out, keep_free_text)  # fmt: skip
    clean.write_tables(run.result, run.out, kept_text)
    return run


def _clean_export(
    paths: Paths, cb: Codebook, source: str | Path | None, mapping: str | Path | None,
    layout: str | None, sites_register: str | Path | None, out: str | Path | None,
    keep_free_text: bool,
) -> tuple[CleanRun, pd.DataFrame | None]:  # fmt: skip
    """Read and clean an export (nothing written): the run and the free text to keep.

    The raw export is not kept past this call, so a caller holds only the cleaned
    tables."""
    from hsc_research import clean
    from hsc_research.mapping import read_mapped

    source = Path(source) if source is not None else paths.raw_export
    register = site_register(paths, sites_register)
    key = clean.pseudonym_key(paths.raw)  # also hashes a mapping's identity column
    raw, _, frame, free_text = read_mapped(source, cb, mapping, layout, key)
    result = clean.clean(frame, cb, register, key=key)
    if reason := clean.nothing_kept(result, source):
        raise HscError(f"{reason} (`hsc-research validate` shows why)")
    out = Path(out) if out is not None else paths.processed
    kept_text = None
    if keep_free_text:
        # Free text is linked to its respondent by the pseudonymous id, never the raw one.
        ids = dict(zip(result.respondents["raw_row"], result.respondents["respondent_id"],
                       strict=True))  # fmt: skip
        kept_text = free_text[free_text["raw_row"].isin(ids)].copy()
        kept_text["respondent_id"] = kept_text["raw_row"].map(ids).astype(object)
    stale = (out / clean.AGGREGATES_DIR).exists()
    run = CleanRun(source, raw.layout, list(raw.dropped), list(raw.unread), result, out,
                   None if kept_text is None else len(kept_text), stale)  # fmt: skip
    return run, kept_text


def run_clean_aggregate(
    paths: Paths,
    codebook: str | Path | None = None,
    source: str | Path | None = None,
    mapping: str | Path | None = None,
    layout: str | None = None,
    sites_register: str | Path | None = None,
    out: str | Path | None = None,
    keep_free_text: bool = False,
    min_cell: int = MIN_CELL,
    correction: str = "bonferroni",
) -> tuple[CleanRun, float, dict[str, pd.DataFrame]]:
    """:func:`run_clean` then :func:`run_aggregate` in one process
    (``hsc-research clean --aggregate``): the same files, faster.

    The aggregates are computed from the cleaned tables in memory while another thread
    writes those tables, instead of being read back from disk after they are written;
    they are identical to what ``hsc-research aggregate`` computes from the files, and
    are tied to the files by the same hash. The aggregates go into the output folder's
    ``aggregates``.

    Returns
    -------
    tuple
        The clean run, the seconds the aggregates took beyond cleaning, and the tables.

    Raises
    ------
    HscError
        As :func:`run_clean` and :func:`run_aggregate` raise it.
    """
    from hsc_research import clean

    cb = load_codebook(codebook)
    # Statistics libraries load in a second thread while the export is read and cleaned.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsc-clean-aggregate") as pool:
        pool.submit(importlib.import_module, "hsc_research.aggregate.tables")
        run, kept_text = _clean_export(paths, cb, source, mapping, layout, sites_register,
                                       out, keep_free_text)  # fmt: skip
        start = time.perf_counter()
        # pyarrow encodes the files without the GIL: they are written while this thread
        # computes every aggregate from the same tables in memory.
        written = pool.submit(clean.write_tables, run.result, run.out, kept_text)
        try:
            tables = aggregate.aggregate(run.result, cb, min_cell, correction)
        except Exception:
            # A failed write (a full disk, permissions) is what the user must fix first:
            # it is reported before whatever the aggregates then raised.
            if (failed := written.exception()) is not None:
                raise failed from None
            raise
        written.result()
    _publish(run.result, cb, tables, run.out, min_cell, correction,
             again="hsc-research clean --aggregate")  # fmt: skip
    return run, time.perf_counter() - start, tables


def run_aggregate(
    paths: Paths,
    codebook: str | Path | None = None,
    min_cell: int = MIN_CELL,
    correction: str = "bonferroni",
) -> tuple[float, dict[str, pd.DataFrame]]:
    """Read the cleaned tables, compute every aggregate and write them; returns the
    seconds taken and the tables.

    The codebook's exact text is written beside the tables (``codebook.yaml``): the
    reports read it from there, so a reworded codebook copy travels with its numbers.
    """
    import pyarrow.parquet  # noqa: F401  (read_tables' reader, loaded before the thread starts)

    start = time.perf_counter()
    cb = load_codebook(codebook)
    # Loading the statistics (scipy and statsmodels, most of a second) and hashing the
    # cleaned tables need the GIL little: a second thread does both while this one
    # reads the tables and computes.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsc-aggregate-io") as pool:
        pool.submit(importlib.import_module, "hsc_research.aggregate.tables")
        hashed = pool.submit(_digest, paths.processed)
        cleaned = read_tables(paths.processed, responses_columns=aggregate.RESPONSE_COLUMNS)
        tables = aggregate.aggregate(cleaned, cb, min_cell, correction)
        digest = hashed.result()
    _publish(cleaned, cb, tables, paths.processed, min_cell, correction, digest)
    return time.perf_counter() - start, tables


def _digest(processed: Path) -> str:
    """:func:`~hsc_research.provenance.data_hash` of the cleaned tables, an unreadable
    table being the user's to fix (one line)."""
    try:
        return data_hash(processed)
    except OSError as exc:
        raise InputError(
            f"{exc.filename or processed}: cannot read the cleaned tables "
            f"({exc.strerror}); re-run hsc-research clean"
        ) from None


def _publish(
    cleaned: CleanResult, cb: Codebook, tables: dict[str, pd.DataFrame], processed: Path,
    min_cell: int, correction: str, digest: str | None = None,
    again: str = "hsc-research aggregate",
) -> None:  # fmt: skip
    """Write the aggregates of the cleaned tables in ``processed`` into its
    ``aggregates`` folder, with their metadata and the codebook's exact text; ``again``
    is the command a failed write tells the user to run again."""
    if digest is None:
        digest = _digest(processed)
    folder = Path(processed) / AGGREGATES_DIR
    meta = aggregate.metadata(cleaned, cb, min_cell, correction, digest)
    meta["correction_method"] = correction  # the option's value, to recompute alike
    codebook_text = Path(cb.path).read_text(encoding="utf-8")
    try:
        aggregate.write(tables, folder, meta, codebook_text)
    except OSError as exc:
        # A read-only data/processed or a full disk is the machine's state, not a bug.
        raise InputError(
            f"{exc.filename or folder}: cannot write the aggregates "
            f"({exc.strerror or exc}); make {processed} writable or free disk space, "
            f"then run {again} again"
        ) from None


def _cleaned_hash(paths: Paths) -> str | None:
    """Hash of the cleaned tables, or ``None`` when one of them is missing or unreadable."""
    try:
        return data_hash(paths.processed)
    except OSError:
        return None


def aggregates_current(paths: Paths, min_cell: int, codebook: str | Path | None = None) -> bool:
    """Whether the aggregates on disk are intact (every file as ``meta.json`` lists it),
    were computed from the current cleaned tables with this disclosure threshold and,
    when ``codebook`` is given, with that codebook."""
    return _aggregates_problem(paths, min_cell, codebook, _cleaned_hash(paths))[0] is None


def _aggregates_problem(
    paths: Paths, min_cell: int, codebook: str | Path | None, cleaned_sha: str | None
) -> tuple[str | None, dict | None]:
    """(what is wrong with the aggregates or None, their metadata if readable)."""
    try:
        meta = aggregate_io.verify(paths.aggregates, cleaned_sha)
    except AggregatesError as exc:
        try:
            meta = aggregate_io.read_meta(paths.aggregates)
        except AggregatesError:
            meta = None
        return str(exc), meta
    if meta.get("min_cell") != min_cell:
        return (f"{paths.aggregates}: computed with min_cell={meta.get('min_cell')}, "
                f"not {min_cell}"), meta  # fmt: skip
    if codebook is not None and aggregate_io.text_sha256(codebook) != meta["codebook_sha256"]:
        return f"{paths.aggregates}: computed with another codebook than {codebook}", meta
    return None, meta


def ensure_aggregates(
    paths: Paths, min_cell: int = MIN_CELL, codebook: str | Path | None = None
) -> str | None:
    """Make sure the aggregates ``build`` is about to read are intact and current.

    Missing, corrupt or stale aggregates (a table deleted or changed, the cleaned
    tables cleaned again, another ``min_cell`` or codebook) are recomputed from the
    cleaned tables, with the codebook and correction they were computed with unless
    ``codebook`` is given.

    Returns
    -------
    str or None
        Why the aggregates were recomputed, or ``None`` when they were current.

    Raises
    ------
    AggregatesError
        One line naming the file and what to do, when they cannot be recomputed (no
        cleaned tables, or their codebook is lost).
    """
    cleaned_sha = _cleaned_hash(paths)
    problem, meta = _aggregates_problem(paths, min_cell, codebook, cleaned_sha)
    if problem is None:
        return None
    if cleaned_sha is None:
        tables = [paths.processed / f"{n}.parquet" for n in CLEANED_TABLES]
        lost = next((t for t in tables if not t.is_file()), None)
        why = f"{lost}: not found" if lost else f"{paths.processed}: cleaned tables unreadable"
        if meta is None:  # nothing aggregated and nothing to aggregate from
            raise AggregatesError(f"{why}; run `hsc-research clean` first")
        raise AggregatesError(
            f"{problem.split('; ')[0]}, and cannot be recomputed: {why}; "
            "run `hsc-research clean` first"
        )
    meta = meta or {}
    if codebook is None:
        codebook = _codebook_of(paths, meta)
    same = {"correction": meta["correction_method"]} if "correction_method" in meta else {}
    run_aggregate(paths, codebook, min_cell, **same)
    if meta == {}:
        return "no aggregates yet"
    return problem.split("; ")[0]


def _codebook_of(paths: Paths, meta: dict) -> Path:
    """The codebook earlier aggregates were computed with: their intact copy, else the
    packaged one when it is that codebook; a lost custom codebook is an error."""
    copy = paths.aggregates / CODEBOOK_NAME
    expected = meta.get("codebook_sha256")
    # No aggregates yet, or aggregates from before codebooks travelled with them.
    if expected is None and meta.get("codebook", load_codebook().id) == load_codebook().id:
        return DEFAULT_CODEBOOK
    if copy.is_file() and aggregate_io.file_sha256(copy) == expected:
        return copy
    if aggregate_io.text_sha256(DEFAULT_CODEBOOK) == expected:
        return DEFAULT_CODEBOOK
    raise AggregatesError(
        f"{copy}: missing or changed, and the aggregates were computed with a codebook other "
        "than the packaged one; run `hsc-research --codebook YOUR_CODEBOOK.yaml build`"
    )
