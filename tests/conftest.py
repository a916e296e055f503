"""Shared fixtures: the packaged codebook and a writer of small template exports."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

from hsc_research.instrument import load_codebook

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close_figures():
    """Figures a test draws are closed after it: pyplot keeps every open figure."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def codebook():
    return load_codebook()


@pytest.fixture
def write_export(tmp_path, codebook):
    """Write a template export: ``rows`` give respondent fields and any answers by
    column name; every other item column is blank."""

    def _write(
        rows: list[dict], name: str = "export.csv", columns: list[str] | None = None
    ) -> Path:
        cols = columns or [
            "respondent_id", "submitted_at", "site", "wave", "profession", "role_level",
            *[it.column for it in codebook.items], "comment",
        ]  # fmt: skip
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({c: r.get(c, "") for c in cols})
        return path

    return _write
