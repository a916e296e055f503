"""build --scheduler: the report fan-out on a dask.distributed LocalCluster of two
workers gives the same reports as the local pool, and isolates and reports failures."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import ROOT
from test_engine import _comparable

from hsc_research.cli import main
from hsc_research.config import project_paths
from hsc_research.errors import HscError
from hsc_research.report import build as report_build
from hsc_research.report import cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_built(tmp_path_factory):
    """A two-site demo built by the local pool."""
    root = tmp_path_factory.mktemp("dask")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    main(["--root", str(root), "synth", "--sites", "2", "--respondents", "40", "--seed", "3"])
    main(["--root", str(root), "clean"])
    assert main(["--root", str(root), "build", "--jobs", "2", "--no-progress"]) == 0
    return root


@pytest.fixture(scope="module")
def scheduler():
    """The address of a LocalCluster with two single-threaded worker processes."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as lc:  # fmt: skip
        yield lc.scheduler_address


def _copy(root, dest):
    shutil.copytree(root, dest)
    for page in (dest / "reports").glob("*.html"):
        page.unlink()
    return dest


def _pages(root) -> dict[str, str]:
    return {p.name: _comparable(p.read_text()) for p in sorted((root / "reports").glob("*.html"))
            if p.name != "index.html"}  # fmt: skip


def test_cluster_build_gives_the_same_reports_as_the_local_pool(local_built, scheduler, tmp_path):
    other = _copy(local_built, tmp_path / "proj")
    results = report_build.build(project_paths(other), progress=False, scheduler=scheduler)
    assert {r.status for r in results} == {"ok"}
    assert _pages(other) == _pages(local_built)


def test_cluster_build_records_its_scheduler_in_the_manifest(local_built, scheduler, tmp_path):
    other = tmp_path / "proj"
    shutil.copytree(local_built, other)  # the other site's report is kept and listed
    agg = str(other / "data/processed/aggregates")
    report_build.build(project_paths(other), sites=["ashford-vale"], progress=False,
                  scheduler=scheduler, worker_aggregates=agg)  # fmt: skip
    manifest = json.loads((other / "reports/manifest.json").read_text())
    assert manifest["parameters"]["scheduler"] == scheduler
    assert {r["slug"]: r["status"] for r in manifest["reports"]} == {
        "site-ashford-vale": "ok", "site-brackenmoor": "ok", "national": "ok"}  # fmt: skip


def test_failing_report_on_a_local_cluster_is_isolated_and_reported(local_built, tmp_path, capsys):
    broken = _copy(local_built, tmp_path / "proj")
    nb = json.loads((broken / "notebooks/national_report.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                        "source": "raise RuntimeError('deliberate failure')"})  # fmt: skip
    (broken / "notebooks/national_report.ipynb").write_text(json.dumps(nb))
    agg = str(broken / "data/processed/aggregates")
    code = main(["--root", str(broken), "build", "--no-progress", "--jobs", "2",
                 "--scheduler", "local", "--worker-aggregates", agg])  # fmt: skip
    assert code == 1
    manifest = json.loads((broken / "reports/manifest.json").read_text())
    assert {r["slug"]: r["status"] for r in manifest["reports"]} == {
        "site-ashford-vale": "ok", "site-brackenmoor": "ok", "national": "failed"}  # fmt: skip
    assert not (broken / "reports/national.html").exists()
    index = (broken / "reports/index.html").read_text()
    assert "FAILED" in index and "deliberate failure" in index
    assert "FAILED national: RuntimeError: deliberate failure" in capsys.readouterr().err
    assert (
        "deliberate failure"
        in (broken / "data/processed/report_runs/national.error.txt").read_text()
    )


def test_unreachable_scheduler_is_one_line(local_built, tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    other = _copy(local_built, tmp_path / "proj")
    with pytest.raises(HscError, match=r"^--scheduler tcp://127.0.0.1:9: cannot connect") as err:
        report_build.build(project_paths(other), progress=False, scheduler="tcp://127.0.0.1:9")
    assert "\n" not in str(err.value)


def test_worker_aggregates_without_scheduler_is_refused(local_built, capsys):
    code = main(["--root", str(local_built), "build", "--no-progress",
                 "--worker-aggregates", "/shared/aggregates"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and re.search(r"--worker-aggregates: only used", err[0])


def test_received_aggregates_are_written_once_per_worker(tmp_path):
    files = {"meta.json": b"{}", "a.parquet": b"\x00\x01"}
    first = cluster._materialise(files, "sha-x")
    second = cluster._materialise(files, "sha-x")
    assert first == second
    assert {p.name: p.read_bytes() for p in first.iterdir()} == files
    cluster._forget_received()
    assert not first.exists()
