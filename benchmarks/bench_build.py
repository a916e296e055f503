"""Benchmark: building the demo reports, ours vs the naive baseline, and the fan-out on a
dask.distributed cluster.

Run on demand (``make benchmark`` or ``python benchmarks/bench_build.py``); not part of
``make test``. On the aggregates of the default demo survey (12 sites + national) it
times:

1. ``hsc-research build`` (worker processes, each with one warm kernel; in-process
   papermill and HTMLExporter), with the worker seconds per report from the manifest,
   also without each worker's first report (``worker_report`` 1 in the manifest);
2. the naive baseline a user would otherwise write: for each notebook in turn, the
   ``papermill`` command line, then ``jupyter nbconvert --to html --no-input``;
3. the floor of a fresh kernel: one notebook that only starts a kernel and imports the
   report library.

Then, on a demo of ``--cluster-sites`` sites (200 by default, about 10-20 minutes on
2 cores), the local pool against ``--scheduler local`` (a LocalCluster of two workers).

``--against REV`` builds one demo alternately with this checkout's code and with REV's
(three rounds), printing the worker seconds per report of each: the machine's speed can
drift by a third within minutes, so a before-and-after needs runs side by side.

Targets on 2 cores: (1) at least 8 times faster than (2), and at most 1.0 s of worker
time per report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from machine import cpu_reference, load

ROOT = Path(__file__).resolve().parents[1]
#: Issue 14, target 1: the build against the naive loop, and worker seconds per report.
TARGET_SPEED_UP = 8.0
TARGET_WORKER_SECONDS = 1.0
BIN = Path(sys.executable).parent
CLI = str(BIN / "hsc-research")


def run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


def demo(proj: Path, *synth_args: str) -> None:
    shutil.copytree(ROOT / "notebooks", proj / "notebooks")
    for args in (["synth", *synth_args], ["clean"], ["aggregate"]):
        run([CLI, "--root", str(proj), *args], proj)


def timed_build(proj: Path, *args: str) -> tuple[float, list[float]]:
    """Wall seconds of one build and the worker seconds of each report."""
    wall, reports = timed_build_reports(proj, *args)
    return wall, [r["seconds"] for r in reports]


def timed_build_reports(proj: Path, *args: str) -> tuple[float, list[dict]]:
    """Wall seconds of one build and the manifest's record of each report."""
    t = time.perf_counter()
    run([CLI, "--root", str(proj), "build", "--no-progress", *args], proj)
    wall = time.perf_counter() - t
    manifest = json.loads((proj / "reports/manifest.json").read_text())
    bad = [r["slug"] for r in manifest["reports"] if r["status"] != "ok"]
    if bad:
        raise SystemExit(f"reports failed: {bad}")
    return wall, manifest["reports"]


def bench_build(jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        demo(proj)
        meta = json.loads((proj / "data/processed/aggregates/meta.json").read_text())
        sites = sorted(meta["sites"])
        agg = str(proj / "data/processed/aggregates")

        load_before, ref_before = load(), cpu_reference()
        ours, reports = timed_build_reports(proj, "--jobs", str(jobs))
        per_report = [r["seconds"] for r in reports]
        # A worker's first report also waited for whatever of the worker's warm-up
        # was not done when it arrived.
        later = [r["seconds"] for r in reports if (r.get("worker_report") or 1) > 1]

        naive_dir = proj / "naive"
        naive_dir.mkdir()
        t = time.perf_counter()
        jobs_ = [("site_report.ipynb", f"site-{s}", ["-p", "site", s]) for s in sites]
        jobs_.append(("national_report.ipynb", "national", []))
        for nb, name, params in jobs_:
            out = naive_dir / f"{name}.ipynb"
            run([str(BIN / "papermill"), str(proj / "notebooks" / nb), str(out), "-p", "aggregates_dir", agg,
                 *params, "--cwd", str(proj / "notebooks")], proj)  # fmt: skip
            run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)], proj)
        naive = time.perf_counter() - t

        floor_nb = nbformat.v4.new_notebook()
        floor_nb.cells = [
            nbformat.v4.new_code_cell(
                "from hsc_research.report import figures, glance, tables, text"
            )
        ]
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

        n = len(jobs_)
        mean = sum(per_report) / n
        speed_up = naive / ours
        print(f"reports: {n} ({len(sites)} sites + national), --jobs {jobs}")
        print(f"{load_before} before, {load()} after")
        print(f"machine speed: a fixed Python loop took {ref_before:.2f} s before the build and "
              f"{cpu_reference():.2f} s after the naive loop")  # fmt: skip
        print(f"hsc-research build:        {ours:7.1f} s  ({ours / n:.2f} s per report, wall)")
        print(f"  worker seconds per report: mean {mean:.2f}, max {max(per_report):.2f}")
        if later:
            print(f"  without each worker's first report: mean {sum(later) / len(later):.2f}, "
                  f"max {max(later):.2f} ({len(later)} reports)")  # fmt: skip
        print(f"naive papermill+nbconvert: {naive:7.1f} s  ({naive / n:.2f} s per report)")
        print(f"speed-up:                  {speed_up:7.2f} x")
        print(f"floor (fresh kernel start + imports, one report): {floor:.2f} s")
        print(f"target 1a, at least {TARGET_SPEED_UP:g}x the naive loop: "
              f"{'met' if speed_up >= TARGET_SPEED_UP else 'NOT met'} ({speed_up:.2f}x)")  # fmt: skip
        print(f"target 1b, at most {TARGET_WORKER_SECONDS:g} s of worker time per report (mean): "
              f"{'met' if mean <= TARGET_WORKER_SECONDS else 'NOT met'} ({mean:.2f} s)")  # fmt: skip


def bench_cluster(n_sites: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp)
        demo(proj, "--sites", str(n_sites), "--respondents", "40:120")
        local, local_per = timed_build(proj, "--jobs", str(jobs))
        cluster, cluster_per = timed_build(proj, "--jobs", str(jobs), "--scheduler", "local")
        n = len(local_per)
        print(f"reports: {n} ({n_sites} sites + national), {jobs} workers each")
        print(f"local process pool:             {local:7.1f} s  "
              f"(worker s per report {sum(local_per) / n:.2f})")  # fmt: skip
        print(f"--scheduler local (LocalCluster): {cluster:7.1f} s  "
              f"(worker s per report {sum(cluster_per) / n:.2f}; includes starting the cluster)")  # fmt: skip


def bench_against(rev: str, jobs: int, rounds: int = 3) -> None:
    """The build with this checkout's code against the build with ``rev``'s, alternately
    on one demo: on a shared machine whose speed drifts, only runs minutes apart compare.

    ``rev``'s package is a git worktree put first on ``PYTHONPATH`` (the build's worker
    processes and kernels inherit it); the demo's aggregates are this checkout's, so
    ``rev`` must read the same aggregates format.
    """
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "rev"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)  # fmt: skip
        try:
            proj = Path(tmp) / "demo"
            proj.mkdir()
            demo(proj)
            means: dict[str, list[float]] = {rev: [], "this checkout": []}
            for _ in range(rounds):
                for name in means:
                    env = dict(os.environ)
                    if name == rev:
                        env["PYTHONPATH"] = str(tree / "src")
                    subprocess.run([CLI, "--root", str(proj), "build", "--no-progress",
                                    "--jobs", str(jobs)], check=True, capture_output=True, env=env)  # fmt: skip
                    manifest = json.loads((proj / "reports/manifest.json").read_text())
                    seconds = [r["seconds"] for r in manifest["reports"]]
                    means[name].append(sum(seconds) / len(seconds))
                    print(f"{name:>14}: worker s per report, mean {means[name][-1]:.2f} "
                          f"(fixed loop {cpu_reference():.2f} s)", flush=True)  # fmt: skip
            for name, values in means.items():
                print(f"{name:>14}: {', '.join(f'{v:.2f}' for v in values)}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["build", "cluster", "all"], default="all")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cluster-sites", type=int, default=200)
    p.add_argument("--against", metavar="REV",
                   help="instead: this checkout's build against REV's, alternately")  # fmt: skip
    args = p.parse_args()
    if args.against:
        bench_against(args.against, args.jobs)
        return
    if args.part in ("build", "all"):
        bench_build(args.jobs)
    if args.part in ("cluster", "all"):
        bench_cluster(args.cluster_sites, args.jobs)


if __name__ == "__main__":
    main()
