"""Pipeline steps the command line and the API share: cleaning a project's export."""

from __future__ import annotations

import pytest

from hsc_research.config import project_paths
from hsc_research.errors import HscError
from hsc_research.pipeline import run_clean, site_register

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
