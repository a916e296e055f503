"""Benchmark: building the default demo reports, ours vs the naive baseline.

Run on demand (``make benchmark`` or ``python benchmarks/bench_build.py``). On the same
aggregates of the default demo survey (12 sites + national) it times:

1. ``hsc-research build`` (worker processes, in-process papermill and HTMLExporter);
2. the naive baseline a user would otherwise write: for each notebook in turn, the
   ``papermill`` command line, then ``jupyter nbconvert --to html --no-input``;
3. the floor: one notebook that only starts a kernel and imports the report library.

Target: (1) at least 3 times faster than (2) on 2 cores.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        shutil.copytree(ROOT / "notebooks", proj / "notebooks")
        cli = str(BIN / "hsc-research")
        for args in (["synth"], ["clean"], ["aggregate"]):
            run([cli, "--root", str(proj), *args], proj)
        meta = json.loads((proj / "data/processed/aggregates/meta.json").read_text())
        sites = sorted(meta["sites"])
        agg = str(proj / "data/processed/aggregates")

        t = time.perf_counter()
        run([cli, "--root", str(proj), "build", "--no-progress"], proj)
        ours = time.perf_counter() - t

        naive_dir = proj / "naive"
        naive_dir.mkdir()
        t = time.perf_counter()
        jobs = [("site_report.ipynb", f"site-{s}", ["-p", "site", s]) for s in sites]
        jobs.append(("national_report.ipynb", "national", []))
        for nb, name, params in jobs:
            out = naive_dir / f"{name}.ipynb"
            run([str(BIN / "papermill"), str(proj / "notebooks" / nb), str(out), "-p", "aggregates_dir", agg,
                 *params, "--cwd", str(proj / "notebooks")], proj)  # fmt: skip
            run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], proj)
        naive = time.perf_counter() - t

        floor_nb = nbformat.v4.new_notebook()
        floor_nb.cells = [nbformat.v4.new_code_cell("from hsc_research import present")]
        floor_nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(floor_nb, proj / "floor.ipynb")
        import papermill as pm

        t = time.perf_counter()
        for _ in range(3):
            pm.execute_notebook(
                str(proj / "floor.ipynb"), str(proj / "floor_out.ipynb"), progress_bar=False
            )
        floor = (time.perf_counter() - t) / 3

        n = len(jobs)
        print(f"reports: {n} (12 sites + national)")
        print(f"hsc-research build:        {ours:7.1f} s  ({ours / n:.2f} s per report, wall)")
        print(f"naive papermill+nbconvert: {naive:7.1f} s  ({naive / n:.2f} s per report)")
        print(f"speed-up:                  {naive / ours:7.2f} x")
        print(f"floor (kernel start + imports, one report): {floor:.2f} s")


if __name__ == "__main__":
    main()
