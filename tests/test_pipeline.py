"""Pipeline steps the command line and the API share: cleaning a project's export."""

from __future__ import annotations

import json
import shutil

import pytest

from hsc_research import clean, pipeline
from hsc_research.config import MIN_CELL, project_paths
from hsc_research.demo import synth
from hsc_research.errors import HscError, InputError
from hsc_research.pipeline import (
    aggregates_current,
    run_aggregate,
    run_clean,
    run_clean_aggregate,
    site_register,
)
from hsc_research.provenance import data_hash

ROWS = [
    dict(respondent_id="A1", submitted_at="2019-05-01 10:00", site="North", wave="2019",
         profession="GPs", **{"trust.asc": "Agree"}),
    dict(respondent_id="A2", submitted_at="2019-05-01 11:00", site="North", wave="2019",
         profession="Porter", **{"trust.asc": "Agree"}),
]  # fmt: skip


def _project(tmp_path, write_export):
    paths = project_paths(tmp_path)
    paths.raw.mkdir(parents=True)
    write_export(ROWS, name=str(paths.raw_export.relative_to(tmp_path)))
    paths.sites_register.write_text("site_id,site_name\nnorth,North\n", encoding="utf-8")
    return paths


def test_run_clean_writes_the_tables_and_reports_what_it_kept(tmp_path, write_export):
    paths = _project(tmp_path, write_export)
    run = run_clean(paths)
    # A2's profession is not in the codebook: one kept, one excluded, and written.
    assert (run.result.summary()["kept_respondents"], len(run.result.exclusions)) == (1, 1)
    assert run.out == paths.processed
    assert {p.name for p in paths.processed.glob("*.parquet")} >= {
        "responses.parquet", "respondents.parquet", "exclusions.parquet",
    }  # fmt: skip


def test_run_clean_says_when_it_removed_stale_aggregates(tmp_path, write_export):
    paths = _project(tmp_path, write_export)
    (paths.processed / "aggregates").mkdir(parents=True)
    assert run_clean(paths).removed_aggregates is True
    assert not (paths.processed / "aggregates").exists()


def test_missing_site_register_is_named(tmp_path):
    with pytest.raises(HscError, match=r"nowhere\.csv: site register not found"):
        site_register(project_paths(tmp_path), tmp_path / "nowhere.csv")


@pytest.fixture(scope="module")
def demo_project(codebook, tmp_path_factory):
    """A project holding a small messy demo export, its register and a pseudonym key."""
    root = tmp_path_factory.mktemp("demo")
    export, sites = synth.generate(
        codebook, synth.SynthSpec(sites=4, respondents=(25, 60), seed=8, messy=True)
    )
    paths = project_paths(root)
    synth.write(export, sites, paths.raw)
    clean.pseudonym_key(paths.raw)
    return root


def _copy_project(demo_project, tmp_path, name):
    """A copy of the demo project (same export, register and key: the same ids)."""
    root = tmp_path / name
    shutil.copytree(demo_project, root)
    return project_paths(root)


def _meta(paths):
    return json.loads((paths.aggregates / "meta.json").read_text(encoding="utf-8"))


def test_clean_and_aggregate_in_one_process_write_the_same_files(demo_project, tmp_path):
    """clean --aggregate writes what clean then aggregate write: the same cleaned tables
    (same hash) and the same aggregates (meta.json lists every table's SHA-256 and the
    input's), which build then finds current."""
    apart = _copy_project(demo_project, tmp_path, "apart")
    run_clean(apart)
    run_aggregate(apart)
    together = _copy_project(demo_project, tmp_path, "together")
    run, seconds, tables = run_clean_aggregate(together)
    assert data_hash(together.processed) == data_hash(apart.processed)
    assert _meta(together) == _meta(apart)
    assert sorted(tables) == sorted(_meta(apart)["tables"])
    assert aggregates_current(together, MIN_CELL)
    assert run.out == together.processed and seconds > 0


def test_clean_and_aggregate_take_the_threshold_and_the_output_folder(demo_project, tmp_path):
    paths = _copy_project(demo_project, tmp_path, "p")
    out = tmp_path / "elsewhere"
    run_clean_aggregate(paths, out=out, min_cell=12, correction="none")
    meta = json.loads((out / "aggregates" / "meta.json").read_text(encoding="utf-8"))
    assert (meta["min_cell"], meta["correction_method"]) == (12, "none")
    assert meta["input_sha256"] == data_hash(out)
    assert not paths.processed.exists()


def test_clean_and_aggregate_report_a_failed_write_and_write_no_aggregates(
    demo_project, tmp_path, monkeypatch
):
    paths = _copy_project(demo_project, tmp_path, "p")

    def disk_full(result, out, free_text=None):
        raise InputError(f"{out}: cannot write the cleaned tables (No space left on device)")

    monkeypatch.setattr(clean, "write_tables", disk_full)
    with pytest.raises(InputError, match="No space left on device"):
        run_clean_aggregate(paths)
    assert not paths.aggregates.exists()


def test_a_failed_write_is_reported_before_a_failed_aggregate(demo_project, tmp_path, monkeypatch):
    paths = _copy_project(demo_project, tmp_path, "p")

    def disk_full(result, out, free_text=None):
        raise InputError(f"{out}: cannot write the cleaned tables (No space left on device)")

    def broken(*args, **kwargs):
        raise RuntimeError("aggregate failed")

    monkeypatch.setattr(clean, "write_tables", disk_full)
    monkeypatch.setattr(pipeline.aggregate, "aggregate", broken)
    with pytest.raises(InputError, match="No space left on device"):
        run_clean_aggregate(paths)
