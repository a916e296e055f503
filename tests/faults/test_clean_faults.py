"""Runtime faults around clean and the cleaned tables: a full disk mid-write, a read-only
or unreadable processed folder, a corrupt table. Each is one line naming the path (exit 2),
and the previous tables survive."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from hsc_research.cli import main

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
TABLES = ("responses.parquet", "respondents.parquet", "exclusions.parquet")


def _clean(root: Path, export: Path = EXPORTS / "template.csv") -> int:
    return main(["--root", str(root), "clean", "--input", str(export)])


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    return err


@pytest.fixture
def project(tmp_path, capsys):
    """A project cleaned once, with aggregates-like files and a README beside the tables."""
    assert _clean(tmp_path) == 0
    processed = tmp_path / "data" / "processed"
    (processed / "README.md").write_text("kept\n")
    (processed / "aggregates").mkdir()
    (processed / "aggregates" / "meta.json").write_text("{}")
    capsys.readouterr()
    return tmp_path


def _snapshot(processed: Path) -> dict[str, bytes]:
    return {name: (processed / name).read_bytes() for name in TABLES}


def _second_export(tmp_path: Path) -> Path:
    # The template export without its first respondent (T1): 6 of 8 rows kept, not 7 of 9.
    lines = (EXPORTS / "template.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "second.csv"
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n", encoding="utf-8")
    return path


def test_full_disk_on_the_second_table_keeps_the_previous_tables(project, monkeypatch, capsys):
    processed = project / "data" / "processed"
    before = _snapshot(processed)
    calls = []
    real = pd.DataFrame.to_parquet

    def failing(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing)
    assert _clean(project, _second_export(project)) == 2
    err = _one_line(capsys)
    assert f"{processed}: cannot write the cleaned tables (the disk is full" in err
    assert _snapshot(processed) == before  # formerly new responses beside old respondents
    assert (processed / "aggregates" / "meta.json").exists()  # nothing changed at all
    leftovers = [p.name for p in (project / "data").iterdir() if p.name not in ("raw", "processed")]
    assert leftovers == []  # no .tmp file or folder
    assert not [p for p in processed.rglob("*") if ".tmp" in p.name]


def test_a_new_clean_replaces_the_tables_and_drops_stale_aggregates(project, capsys):
    processed = project / "data" / "processed"
    before = _snapshot(processed)
    assert _clean(project, _second_export(project)) == 0
    assert "removed" in capsys.readouterr().out
    assert _snapshot(processed) != before
    assert len(pd.read_parquet(processed / "respondents.parquet")) == 6  # 7 kept before
    assert not (processed / "aggregates").exists()  # computed from the old tables
    assert (processed / "README.md").read_text() == "kept\n"
    assert sorted(p.name for p in (project / "data").iterdir()) == ["processed", "raw"]


def test_processed_folder_that_cannot_be_written_is_one_line(project, monkeypatch, capsys):
    processed = project / "data" / "processed"
    before = _snapshot(processed)

    def denied(self, path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", denied)
    assert _clean(project) == 2
    assert f"{processed}: cannot write the cleaned tables (permission denied" in _one_line(capsys)
    assert _snapshot(processed) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file modes")
def test_read_only_processed_folder_is_one_line(project, capsys):
    processed = project / "data" / "processed"
    processed.chmod(0o555)
    try:
        assert _clean(project) == 2
        assert f"{processed}: cannot write the cleaned tables" in _one_line(capsys)
    finally:
        processed.chmod(0o755)


def test_aggregate_into_a_read_only_folder_is_one_line(project, monkeypatch, capsys):
    from hsc_research import aggregate

    def denied(tables, out, meta, *codebook_text):
        raise PermissionError(errno.EACCES, "Permission denied", str(out / "indicators.parquet"))

    monkeypatch.setattr(aggregate, "write", denied)
    assert main(["--root", str(project), "aggregate"]) == 2
    err = _one_line(capsys)
    assert "aggregates/indicators.parquet: cannot write the aggregates (Permission denied)" in err


def test_corrupt_responses_table_is_one_line(project, capsys):
    path = project / "data" / "processed" / "responses.parquet"
    path.write_bytes(b"PAR1 this is not a parquet file")
    assert main(["--root", str(project), "aggregate"]) == 2
    err = _one_line(capsys)
    assert f"{path}: cannot read the cleaned table" in err and "re-run hsc-research clean" in err


def test_unreadable_responses_table_is_one_line(project, monkeypatch, capsys):
    path = project / "data" / "processed" / "responses.parquet"
    real = pd.read_parquet

    def denied(p, *args, **kwargs):
        if Path(p) == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(p))
        return real(p, *args, **kwargs)

    monkeypatch.setattr(pd, "read_parquet", denied)
    assert main(["--root", str(project), "aggregate"]) == 2
    assert f"{path}: cannot read the cleaned table (Permission denied)" in _one_line(capsys)
