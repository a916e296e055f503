"""Provenance: a hash of the cleaned input and the versions a run used."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

#: Packages whose versions reports and manifests record.
RECORDED_PACKAGES = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn",
                     "papermill", "nbconvert", "pyarrow")  # fmt: skip
CLEANED_TABLES = ("responses", "respondents", "exclusions")


def data_hash(processed: Path) -> str:
    """SHA-256 over the cleaned tables, to tie a report to the exact input."""
    h = hashlib.sha256()
    for name in CLEANED_TABLES:
        h.update(name.encode())
        with open(processed / f"{name}.parquet", "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`RECORDED_PACKAGES`."""
    out = {}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out
