"""Cleaning: labels to codes (:mod:`.scales`), the site register (:mod:`.sites`), and the
cleaning pass with its exclusions and the tidy tables it writes (:mod:`.run`)."""

from hsc_research.clean.run import (
    AGGREGATES_DIR,
    FIELD_REASONS,
    FREE_TEXT_NAME,
    INVALID,
    STATUS_DTYPE,
    WAVE_MAX,
    WAVE_MIN,
    CleanResult,
    S,
    accounting,
    clean,
    nothing_kept,
    pseudonym_key,
    read_tables,
    write_tables,
)

__all__ = [
    "pseudonym_key",
    "FREE_TEXT_NAME",
    "AGGREGATES_DIR",
    "CleanResult",
    "FIELD_REASONS",
    "INVALID",
    "S",
    "STATUS_DTYPE",
    "WAVE_MAX",
    "WAVE_MIN",
    "accounting",
    "clean",
    "nothing_kept",
    "read_tables",
    "write_tables",
]
