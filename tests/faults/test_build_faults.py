"""Build under runtime faults: stale reports, two builds at once, a killed build, a
full disk. Reports are written by a stand-in for the notebook run (the orchestration
is under test, not the notebooks); workers are forked, so the stand-in reaches them."""

from __future__ import annotations

import errno
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import papermill
import pytest

from hsc_research.cli import main
from hsc_research.config import project_paths
from hsc_research.report import build as report_build
from hsc_research.report import tasks, worker

SITES = ["site-ashford-vale.html", "site-brackenmoor.html", "site-castlebridge.html"]


def fake_run_task(task, out_dir, work_dir):
    """Stand-in for the notebook run: writes a small page as run_task does."""
    target = out_dir / f"{task.slug}.html"
    worker.write_report(target, f"<h1>{task.slug}</h1>")
    return tasks.ReportResult(name=task.name, slug=task.slug, kind=task.kind, status="ok",
                                seconds=0.01, html=target.name, parameters=task.parameters)  # fmt: skip


@pytest.fixture(scope="module")
def aggregated(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    main(["--root", str(root), "synth", "--sites", "3", "--respondents", "40", "--seed", "11"])
    main(["--root", str(root), "clean"])
    assert main(["--root", str(root), "aggregate"]) == 0
    return root


@pytest.fixture
def project(aggregated, tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "proj"
    shutil.copytree(aggregated, root)
    monkeypatch.setattr(report_build, "run_task", fake_run_task)
    return project_paths(root)


def build(paths, *args) -> int:
    return main(["--root", str(paths.root), "build", "--jobs", "2", "--no-progress", *args])


def listed(paths) -> list[str]:
    manifest = json.loads((paths.reports / "manifest.json").read_text())
    return [r["html"] for r in manifest["reports"]]


def html_files(paths) -> list[str]:
    return sorted(p.name for p in paths.reports.glob("*.html") if p.name != "index.html")


def drop_site(paths, site_id: str, name: str) -> None:
    """Clean the export again without one site."""
    raw = paths.raw / "survey_export.csv"
    export = pd.read_csv(raw, dtype=str)
    export[export["site"] != name].to_csv(raw, index=False)
    register = pd.read_csv(paths.sites_register, dtype=str)
    register[register["site_id"] != site_id].to_csv(paths.sites_register, index=False)
    assert main(["--root", str(paths.root), "clean"]) == 0


def test_report_of_a_site_no_longer_in_the_data_is_removed(project):
    assert build(project) == 0
    drop_site(project, "brackenmoor", "Brackenmoor")
    assert build(project) == 0
    kept = ["site-ashford-vale.html", "site-castlebridge.html"]
    assert html_files(project) == ["national.html", *kept]
    assert listed(project) == [*kept, "national.html"]


def test_subset_build_keeps_and_lists_current_reports_of_other_sites(project):
    assert build(project) == 0
    assert build(project, "--sites", "ashford-vale") == 0
    assert html_files(project) == ["national.html", *SITES]
    assert listed(project) == [*SITES, "national.html"]


def test_subset_build_on_new_aggregates_removes_the_other_sites_reports(project):
    assert build(project) == 0
    assert main(["--root", str(project.root), "aggregate", "--correction", "none"]) == 0
    assert build(project, "--sites", "ashford-vale") == 0
    assert html_files(project) == ["national.html", "site-ashford-vale.html"]
    assert listed(project) == ["site-ashford-vale.html", "national.html"]


def test_leftover_temporary_files_are_removed(project):
    project.reports.mkdir(exist_ok=True)
    (project.reports / ".site-ashford-vale.x1y2.tmp").write_text("half a report")
    assert build(project) == 0
    assert not list(project.reports.glob(".*.tmp"))


def test_second_build_at_once_exits_with_one_line(project, capsys):
    with report_build.build_lock(project):
        code = build(project)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert f"another build is running (pid {os.getpid()})" in err[0]
    assert not (project.reports / "index.html").exists()


def test_lock_is_released_when_the_build_ends(project):
    assert build(project) == 0
    with report_build.build_lock(project):  # would raise if still held
        pass


def test_worker_that_dies_marks_its_report_failed(project, monkeypatch):
    monkeypatch.setattr(report_build, "run_task", die)
    assert build(project) == 1
    manifest = json.loads((project.reports / "manifest.json").read_text())
    assert {r["status"] for r in manifest["reports"]} == {"failed"}
    assert "FAILED" in (project.reports / "index.html").read_text()


def die(task, out_dir, work_dir):
    os._exit(1)


def _previous_index(paths) -> dict[str, str]:
    paths.reports.mkdir(parents=True, exist_ok=True)
    old = {"index.html": "<p>previous build</p>", "manifest.json": '{"previous": true}'}
    for name, text in old.items():
        (paths.reports / name).write_text(text)
    return old


def _no_space(path: str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


def test_full_disk_keeps_the_previous_index_and_manifest(project, monkeypatch, capsys):
    """The disk fills during the reports: each report fails, the failure log cannot be
    written either, and neither can the index."""

    def notebook_fails(notebook, output, **kwargs):
        raise _no_space(output)

    def write_fails(self, *args, **kwargs):
        raise _no_space(str(self))

    old = _previous_index(project)
    monkeypatch.setattr(report_build, "run_task", REAL_RUN_TASK)
    monkeypatch.setattr(papermill, "execute_notebook", notebook_fails)
    monkeypatch.setattr(pathlib.Path, "write_text", write_fails)
    code = build(project)
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2) and len(err) == 1, err
    assert "cannot write (no space left on the device); free disk space" in err[0]
    assert f"{project.reports / 'manifest.json'}: cannot write" in err[0]
    assert {n: (project.reports / n).read_text() for n in old} == old
    assert not list(project.reports.glob(".*.tmp"))


def test_full_disk_for_reports_only_marks_them_failed(project, monkeypatch):
    real_write = pathlib.Path.write_text

    def notebook_fails(notebook, output, **kwargs):
        raise _no_space(output)

    def log_fails(self, *args, **kwargs):
        if self.name.endswith(".error.txt"):
            raise _no_space(str(self))
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(report_build, "run_task", REAL_RUN_TASK)
    monkeypatch.setattr(papermill, "execute_notebook", notebook_fails)
    monkeypatch.setattr(pathlib.Path, "write_text", log_fails)
    assert build(project) == 1
    manifest = json.loads((project.reports / "manifest.json").read_text())
    assert [r["status"] for r in manifest["reports"]] == ["failed"] * 4
    assert "no space left on the device" in manifest["reports"][0]["error"]
    assert "FAILED" in (project.reports / "index.html").read_text()


REAL_RUN_TASK = report_build.run_task

KILLED_BUILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from hsc_research.report import build as report_build
    from hsc_research.config import project_paths

    markers = Path(sys.argv[2])

    def slow(task, out_dir, work_dir):
        (markers / str(os.getpid())).write_text(task.slug)
        time.sleep(4)
        (out_dir / f"{task.slug}.late.html").write_text("written after the build died")
        return None

    report_build.run_task = slow
    report_build.build(project_paths(sys.argv[1]), jobs=2, progress=False)
    """
)


def _alive(pid: int) -> bool:
    try:
        status = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux process model")
def test_killed_build_leaves_no_worker_writing_reports(project, tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(project.root), str(markers)])
    deadline = time.monotonic() + 60
    while len(list(markers.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in markers.iterdir()]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(5)  # longer than a worker would have taken to write its report
    assert not [pid for pid in workers if _alive(pid)]
    assert not list(project.reports.glob("*.late.html"))
    with report_build.build_lock(project):  # the dead build's lock is free again
        pass


def test_aggregate_while_a_build_runs_exits_with_one_line(project, capsys):
    with report_build.build_lock(project):
        code = main(["--root", str(project.root), "aggregate"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "another build is running" in err[0]


def test_full_disk_writing_a_report_names_it_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    class Full:
        def __init__(self, fd, *args, **kwargs):
            os.close(fd)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")  # as write() does: no file

    monkeypatch.setattr(worker.os, "fdopen", Full)
    with pytest.raises(OSError) as caught:
        worker.write_report(tmp_path / "site-a.html", "<p>page</p>")
    assert caught.value.filename == str(tmp_path / "site-a.html")
    assert list(tmp_path.iterdir()) == []
    assert worker.error_line(caught.value).startswith(f"{tmp_path / 'site-a.html'}: no space left")
