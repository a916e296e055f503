"""Aggregates that are missing, corrupt or stale are found before any report starts,
and recomputed from the cleaned tables (or refused with one line); a full disk while
writing them is a one-line error, never a set that looks complete."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil

import pandas as pd
import pytest
from conftest import ROOT

from hsc_research.aggregate.io import AggregatesError, verify
from hsc_research.cli import main
from hsc_research.config import project_paths
from hsc_research.pipeline import ensure_aggregates
from hsc_research.report import build as report_build

PACKAGED = ROOT / "src/hsc_research/instrument/hsc2019.yaml"


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory):
    """A tiny project, cleaned and aggregated with the packaged codebook."""
    root = tmp_path_factory.mktemp("agg")
    main(["--root", str(root), "synth", "--sites", "2", "--respondents", "40", "--seed", "11"])
    main(["--root", str(root), "clean"])
    assert main(["--root", str(root), "aggregate"]) == 0
    return root


@pytest.fixture
def project(aggregated, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(aggregated, root)
    return project_paths(root)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_meta_lists_every_table_with_its_content_hash(project):
    meta = json.loads((project.aggregates / "meta.json").read_text())
    files = sorted(project.aggregates.glob("*.parquet"))
    assert sorted(meta["tables"]) == [p.stem for p in files]
    assert all(meta["tables"][p.stem] == _sha(p) for p in files)


def test_codebook_travels_with_the_aggregates(project):
    copy = project.aggregates / "codebook.yaml"
    assert copy.read_text(encoding="utf-8") == PACKAGED.read_text(encoding="utf-8")
    meta = json.loads((project.aggregates / "meta.json").read_text())
    assert meta["codebook_sha256"] == _sha(copy)


def test_meta_records_the_hash_of_the_cleaned_tables(project):
    h = hashlib.sha256()
    for name in ("responses", "respondents", "exclusions"):
        h.update(name.encode() + (project.processed / f"{name}.parquet").read_bytes())
    meta = json.loads((project.aggregates / "meta.json").read_text())
    assert meta["input_sha256"] == h.hexdigest()


def test_missing_table_is_named(project):
    (project.aggregates / "trust_gaps.parquet").unlink()
    with pytest.raises(AggregatesError, match=r"trust_gaps\.parquet: missing"):
        verify(project.aggregates)


def test_corrupt_table_is_named(project):
    path = project.aggregates / "indicators.parquet"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(AggregatesError, match=r"indicators\.parquet: changed or corrupt"):
        verify(project.aggregates)


def test_missing_table_is_recomputed(project):
    before = _sha(project.aggregates / "trust_gaps.parquet")
    (project.aggregates / "trust_gaps.parquet").unlink()
    reason = ensure_aggregates(project)
    assert "trust_gaps.parquet: missing" in reason
    assert _sha(project.aggregates / "trust_gaps.parquet") == before


def test_corrupt_table_is_recomputed(project):
    path = project.aggregates / "indicators.parquet"
    before = _sha(path)
    path.write_bytes(b"PAR1 not parquet")
    assert "indicators.parquet: changed or corrupt" in ensure_aggregates(project)
    assert _sha(path) == before


def test_aggregates_are_recomputed_after_cleaning_again(project):
    # Same rows written again with other compression: other bytes, so other input.
    resp = project.processed / "respondents.parquet"
    pd.read_parquet(resp).to_parquet(resp, index=False, compression="gzip")
    assert "stale" in ensure_aggregates(project)
    meta = verify(project.aggregates)
    assert (
        meta["input_sha256"]
        == hashlib.sha256(
            b"".join(
                n.encode() + (project.processed / f"{n}.parquet").read_bytes()
                for n in ("responses", "respondents", "exclusions")
            )
        ).hexdigest()
    )


def test_current_aggregates_are_left_alone(project):
    mtime = (project.aggregates / "meta.json").stat().st_mtime_ns
    assert ensure_aggregates(project) is None
    assert (project.aggregates / "meta.json").stat().st_mtime_ns == mtime


def test_recompute_keeps_the_codebook_of_the_aggregates(project, tmp_path):
    text = PACKAGED.read_text(encoding="utf-8").replace(
        "label: Strongly agree}", "label: Agree completely}"
    )
    custom = tmp_path / "custom.yaml"
    custom.write_text(text, encoding="utf-8")
    assert main(["--root", str(project.root), "--codebook", str(custom), "aggregate"]) == 0
    (project.aggregates / "likert.parquet").unlink()
    ensure_aggregates(project)
    assert (project.aggregates / "codebook.yaml").read_text(encoding="utf-8") == text


def test_build_without_cleaned_tables_names_the_missing_table(project, capsys):
    (project.aggregates / "trust_gaps.parquet").unlink()
    (project.processed / "responses.parquet").unlink()
    code = main(["--root", str(project.root), "build", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "trust_gaps.parquet: missing" in err[0] and "run `hsc-research clean`" in err[0]


def test_build_verifies_before_starting_a_report(project, monkeypatch):
    def no_report(*args):
        raise AssertionError("a report was started")

    monkeypatch.setattr(report_build, "run_task", no_report)
    (project.aggregates / "indicators.parquet").unlink()
    with pytest.raises(AggregatesError, match=r"indicators\.parquet: missing"):
        report_build.build(project, progress=False)


def test_full_disk_while_aggregating_is_one_line_and_leaves_no_complete_set(
    project, monkeypatch, capsys
):
    def full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code = main(["--root", str(project.root), "aggregate"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "cannot write the aggregates (No space left on device)" in err[0]
    assert "free disk space" in err[0]
    assert not (project.aggregates / "meta.json").exists()
    assert not list(project.aggregates.glob(".*.tmp"))
