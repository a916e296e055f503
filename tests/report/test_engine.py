"""The warm-kernel engine: reports built in a warm kernel equal reports built in a fresh
one, a leaking notebook cannot reach the next report, a crashed kernel is replaced.

Notebooks run here in this process's warm kernel (hsc_research.report.engine), as a build
worker runs them."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest
from conftest import ROOT

from hsc_research.cli import main
from hsc_research.config import project_paths
from hsc_research.report import engine, tasks, worker


@pytest.fixture(autouse=True)
def own_kernel():
    """Each test starts without a warm kernel and leaves none running."""
    engine.discard_warm_kernel()
    yield
    engine.discard_warm_kernel()


def _notebook(path, *cells: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def _task(notebook, slug="probe", parameters=None):
    return tasks.ReportTask(slug, slug, notebook, parameters or {}, "site")


def _outputs(nb) -> list[str]:
    """Lines the notebook printed."""
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])).splitlines()


LEAK = """
import matplotlib, matplotlib.pyplot as plt, os, sys, warnings
import pandas as pd
LEAKED = 1
matplotlib.rcParams["font.size"] = 30
matplotlib.rcParams["svg.hashsalt"] = "leaked"
plt.switch_backend("pdf")
plt.figure()
pd.set_option("display.precision", 1)
os.environ["HSC_LEAK"] = "1"
sys.path.insert(0, "/leaked")
warnings.simplefilter("ignore")
os.chdir("/")
"""

PROBE = """
import matplotlib, matplotlib.pyplot as plt, os, sys, warnings
import pandas as pd
print(sorted(k for k in globals() if not k.startswith("_") and k not in
             ("In", "Out", "get_ipython", "exit", "quit", "open")))
print(matplotlib.get_backend().lower(), matplotlib.rcParams["font.size"],
      matplotlib.rcParams["svg.hashsalt"], plt.get_fignums())
print(pd.get_option("display.precision"), os.environ.get("HSC_LEAK"), "/leaked" in sys.path,
      ("ignore", None, Warning, None, 0) in warnings.filters, os.getcwd())
"""


def test_probe_in_a_fresh_kernel_sees_agg_and_the_build_settings(tmp_path):
    probe = _notebook(tmp_path / "probe.ipynb", PROBE)
    out = _outputs(worker.execute(_task(probe), tmp_path / "out.ipynb"))
    assert out[1].split() == ["agg", "10.0", "hsc-research", "[]"]
    assert out[2].split() == ["6", "None", "False", "False", str(tmp_path)]


def test_leaking_notebook_cannot_affect_the_next_one(tmp_path):
    probe = _notebook(tmp_path / "probe.ipynb", PROBE)
    fresh = _outputs(worker.execute(_task(probe), tmp_path / "out.ipynb"))
    leak = _notebook(tmp_path / "leak.ipynb", LEAK)
    kernel = engine._kernel
    worker.execute(_task(leak), tmp_path / "leak_out.ipynb")
    after = _outputs(worker.execute(_task(probe), tmp_path / "out2.ipynb"))
    assert engine._kernel is kernel  # the same warm kernel ran all three
    assert after == fresh


CRASH = """
with open({marker!r}, "a") as fh:
    fh.write("attempt\\n")
import os
if {always} or len(open({marker!r}).read().splitlines()) == 1:
    os._exit(1)
print("survived")
"""


def test_kernel_that_dies_is_retried_once_in_a_fresh_kernel_then_failed(tmp_path):
    marker = tmp_path / "attempts.txt"
    nb = _notebook(tmp_path / "crash.ipynb", CRASH.format(marker=str(marker), always=True))
    (tmp_path / "out").mkdir()
    res = worker.run_task(_task(nb, "crash"), tmp_path / "out", tmp_path)
    assert res.status == "failed"
    assert "kernel died, also when tried again in a fresh kernel" in res.error
    assert marker.read_text().splitlines() == ["attempt", "attempt"]
    assert not (tmp_path / "out" / "crash.html").exists()


def test_kernel_that_dies_once_is_replaced_and_the_report_built(tmp_path):
    marker = tmp_path / "attempts.txt"
    nb = _notebook(tmp_path / "crash.ipynb", CRASH.format(marker=str(marker), always=False))
    out = _outputs(worker.execute(_task(nb), tmp_path / "out.ipynb"))
    assert out == ["survived"]
    assert len(marker.read_text().splitlines()) == 2


def test_report_after_a_crash_runs_in_a_new_kernel(tmp_path):
    marker = tmp_path / "attempts.txt"
    crash = _notebook(tmp_path / "crash.ipynb", CRASH.format(marker=str(marker), always=True))
    (tmp_path / "out").mkdir()
    worker.run_task(_task(crash, "crash"), tmp_path / "out", tmp_path)
    probe = _notebook(tmp_path / "probe.ipynb", 'print("ok")')
    assert _outputs(worker.execute(_task(probe), tmp_path / "p.ipynb")) == ["ok"]


def _comparable(page: str) -> str:
    """A report without its run date, the dates inside its SVG figures and the random id
    papermill gives the cell it injects (which differ between any two runs)."""
    page = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "DATE", page)
    page = re.sub(r"cell-id=[0-9a-f-]+", "cell-id=ID", page)

    def svg(m: re.Match) -> str:
        text = base64.b64decode(m.group(1)).decode()
        return "SVG:" + re.sub(r"<dc:date>.*?</dc:date>", "", text, flags=re.S)

    return re.sub(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", svg, page)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("warm")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    main(["--root", str(root), "synth", "--sites", "2", "--respondents", "40", "--seed", "5"])
    main(["--root", str(root), "clean"])
    assert main(["--root", str(root), "aggregate"]) == 0
    return project_paths(root)


@pytest.mark.slow
def test_report_built_in_a_warm_kernel_equals_one_built_in_a_fresh_kernel(demo, tmp_path):
    planned = {t.slug: t for t in tasks.plan_tasks(demo, [("ashford-vale", "Ashford Vale"),
                                                          ("brackenmoor", "Brackenmoor")])}  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()

    def build(slug: str) -> str:
        assert worker.run_task(planned[slug], out, tmp_path).status == "ok"
        return _comparable((out / f"{slug}.html").read_text())

    fresh_site, fresh_national = build("site-ashford-vale"), None
    engine.discard_warm_kernel()
    fresh_national = build("national")
    # The same kernel now builds another site, runs a leaking notebook, then both again.
    build("site-brackenmoor")
    worker.execute(_task(_notebook(tmp_path / "leak.ipynb", LEAK)), tmp_path / "l.ipynb")
    assert build("national") == fresh_national
    assert build("site-ashford-vale") == fresh_site


def test_library_import_leaves_the_matplotlib_backend_alone():
    code = ("import matplotlib; matplotlib.use('pdf'); import hsc_research.report.plots, "
            "hsc_research.report.figures; print(matplotlib.get_backend())")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "pdf"


def test_engine_is_declared_as_a_papermill_entry_point():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    target = project["entry-points"]["papermill.engine"][engine.ENGINE_NAME]
    module, _, name = target.partition(":")
    assert (module, name) == ("hsc_research.report.engine", "WarmKernelEngine")


def test_engine_is_registered_with_papermill():
    from papermill.engines import papermill_engines

    engine.register()
    assert papermill_engines.get_engine(engine.ENGINE_NAME) is engine.WarmKernelEngine


def test_engine_module_imports_before_papermill():
    """papermill loads its entry points (this engine's too) when it is imported: the
    engine module imported first must not make that a circular import."""
    code = ("import hsc_research.report.engine as e, papermill; "
            "from papermill.engines import papermill_engines as p; e.register(); "
            "print(p.get_engine('hsc-warm') is e.WarmKernelEngine)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_prewarm_starts_the_kernel_the_first_report_then_runs_in(tmp_path):
    worker.prewarm(tmp_path)
    kernel = engine._kernel
    assert kernel is not None
    probe = _notebook(tmp_path / "probe.ipynb", 'print("ok")')
    assert _outputs(worker.execute(_task(probe), tmp_path / "p.ipynb")) == ["ok"]
    assert engine._kernel is kernel


def _plain(folder, site):
    from hsc_research.aggregate.io import NATIONAL, read

    tables, _ = read(folder, scopes=[site, NATIONAL] if site else None)
    return {name: tables[name] for name in tables}


@pytest.fixture
def shared(monkeypatch):
    from hsc_research.report import context

    monkeypatch.setattr(context, "SHARE_TABLES", True)
    monkeypatch.setattr(context, "_SHARED", {})
    return context


@pytest.mark.parametrize("site", ["ashford-vale", None])
def test_shared_tables_equal_the_tables_read_from_parquet(demo, shared, site):
    import pandas as pd

    shared.load_context(demo.aggregates, site="brackenmoor")  # fills the shared tables
    got = shared.load_context(demo.aggregates, site=site).tables
    assert isinstance(got, shared.SharedTables)
    expected = _plain(demo.aggregates, site)
    assert sorted(got) == sorted(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True)


def test_a_report_changing_its_tables_leaves_the_next_report_alone(demo, shared):
    import pandas as pd

    for site in ("ashford-vale", None):
        tables = shared.load_context(demo.aggregates, site=site).tables
        for name in tables:
            frame = tables[name]
            frame.iloc[:, 0] = frame.iloc[:, 0].iloc[::-1].to_numpy()
    for site in ("ashford-vale", None):
        tables = shared.load_context(demo.aggregates, site=site).tables
        for name, frame in _plain(demo.aggregates, site).items():
            pd.testing.assert_frame_equal(tables[name], frame, check_exact=True)


def test_shared_tables_of_new_aggregates_are_read_again(demo, shared, tmp_path):
    import json

    import pandas as pd

    from hsc_research.aggregate.io import file_sha256

    folder = tmp_path / "aggregates"
    shutil.copytree(demo.aggregates, folder)
    assert len(shared.load_context(folder).tables["profile"]) > 1
    # New aggregates in the same folder: one row fewer, and meta.json lists the new hash.
    path = folder / "profile.parquet"
    pd.read_parquet(path).iloc[1:].to_parquet(path)
    meta = json.loads((folder / "meta.json").read_text())
    old = len(pd.read_parquet(demo.aggregates / "profile.parquet"))
    meta["tables"]["profile"] = file_sha256(path)
    (folder / "meta.json").write_text(json.dumps(meta))
    assert len(shared.load_context(folder).tables["profile"]) == old - 1


def test_reports_run_from_another_thread_use_the_same_warm_kernel(tmp_path):
    """A dask worker may run its next report in another thread."""
    from concurrent.futures import ThreadPoolExecutor

    probe = _notebook(tmp_path / "probe.ipynb", 'print("ok")')
    assert _outputs(worker.execute(_task(probe), tmp_path / "a.ipynb")) == ["ok"]
    kernel = engine._kernel
    with ThreadPoolExecutor(1) as pool:
        nb = pool.submit(worker.execute, _task(probe), tmp_path / "b.ipynb").result()
    assert _outputs(nb) == ["ok"]
    assert _outputs(worker.execute(_task(probe), tmp_path / "c.ipynb")) == ["ok"]
    assert engine._kernel is kernel


def test_kernel_code_that_raises_is_reported_by_its_error(tmp_path):
    kernel = engine.warm_kernel("python3", str(tmp_path))
    with pytest.raises(engine.KernelCodeError, match="ZeroDivisionError"):
        kernel.run("1 / 0")
    kernel.run("x = 1")  # the kernel goes on serving


def test_reset_client_keeps_no_report_output(tmp_path):
    """Only the notebook client reads the kernel's output: a second subscriber would
    hold every message of every report until the next reset read them all."""
    loud = _notebook(tmp_path / "loud.ipynb", 'print("x" * 1_000_000)')
    worker.execute(_task(loud), tmp_path / "out.ipynb")
    kernel = engine._kernel
    assert not kernel.client.iopub_channel.is_alive()
    probe = _notebook(tmp_path / "probe.ipynb", 'print("ok")')
    assert _outputs(worker.execute(_task(probe), tmp_path / "p.ipynb")) == ["ok"]


def test_kernel_that_stops_answering_is_given_up_as_dead(tmp_path, monkeypatch):
    """The worker then tries the report again in a fresh kernel."""
    from nbclient.exceptions import DeadKernelError

    kernel = engine.warm_kernel("python3", str(tmp_path))
    monkeypatch.setattr(engine, "RESET_TIMEOUT", 1)
    with pytest.raises(DeadKernelError, match="no reply within 1 s"):
        kernel.run("import time; time.sleep(30)")


def test_kernel_that_dies_while_resetting_is_given_up_as_dead(tmp_path):
    from nbclient.exceptions import DeadKernelError

    kernel = engine.warm_kernel("python3", str(tmp_path))
    with pytest.raises(DeadKernelError, match="stopped"):
        kernel.run("import os; os._exit(1)")
