"""Project-wide settings in one place: paths, disclosure threshold, defaults.

Change the disclosure threshold here (or per run with ``--min-cell``); every published
table reads :data:`MIN_CELL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Smallest number of respondents a published cell may rest on (disclosure control).
MIN_CELL: int = 10

#: Share of respondents that may be excluded (previews, partial responses and repeat
#: submissions aside) before ``validate`` stops; a mapping's
#: ``accept: {excluded_share: ...}`` raises it for one export.
MAX_EXCLUDED_SHARE: float = 0.2

#: Seed of the synthetic demo survey: the same seed gives the same survey everywhere.
DEFAULT_SEED: int = 2019

#: File name of the raw export that ``synth`` writes and ``clean`` reads by default.
RAW_EXPORT_NAME = "survey_export.csv"
#: File name of the site register beside the raw export.
SITES_REGISTER_NAME = "sites.csv"

#: Most columns an export may have. Real survey exports have hundreds of columns, a few
#: thousand at most (Excel itself stops at 16,384); a wider file is not a survey export
#: and is refused before it is parsed.
MAX_EXPORT_COLUMNS: int = 20_000

#: Lowest and highest code a codebook scale may use: codes are stored as 8-bit integers
#: in ``data/processed/``.
SCALE_CODE_MIN: int = -128
SCALE_CODE_MAX: int = 127


@dataclass(frozen=True)
class Paths:
    """Where each pipeline stage reads and writes, relative to a project root."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def aggregates(self) -> Path:
        return self.processed / "aggregates"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"

    @property
    def raw_export(self) -> Path:
        return self.raw / RAW_EXPORT_NAME

    @property
    def sites_register(self) -> Path:
        return self.raw / SITES_REGISTER_NAME


def project_paths(root: str | Path | None = None) -> Paths:
    """Paths for a project root (the current directory when ``None``), made absolute."""
    return Paths(Path(root or Path.cwd()).resolve())
