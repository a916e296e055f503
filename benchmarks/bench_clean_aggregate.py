"""Benchmark: clean + aggregate at 100k, 300k and 1M respondents (200 sites, two waves).

Run on demand (``make benchmark`` or ``python benchmarks/bench_clean_aggregate.py``);
prints, for each size, clean + aggregate both ways the command line runs them, each
timed after its imports:

- as two commands, ``hsc-research clean`` then ``hsc-research aggregate``
  (:func:`hsc_research.pipeline.run_clean`: reading the export and the site register,
  cleaning, writing the tables; :func:`hsc_research.pipeline.run_aggregate`: reading
  and hashing the cleaned tables, computing and writing every published table): the
  seconds of each, their total (``clean_plus_aggregate_s``) and their peak resident
  memory;
- as one, ``hsc-research clean --aggregate`` (what ``make reports`` runs;
  :func:`hsc_research.pipeline.run_clean_aggregate`: the aggregates computed from the
  cleaned tables in memory while they are written): its seconds (``one_process_s``)
  and peak memory;

then whether the targets of issue 14 are met on the 2-core machine by ``make reports``'
path: **1M respondents cleaned and aggregated in at most 20 s and 3 GiB**, and
aggregate time growing at most linearly with respondents (seconds per 100k
respondents no higher at 1M than at 100k). ``general_reader_s`` times the same export
saved with semicolons in Windows-1252, which takes the general reader every
non-template layout uses (up to 300k; not part of the targets).

Each size's row also holds the seconds of a fixed Python loop before and after it
(``fixed_loop_s``, :func:`machine.cpu_reference`): a run on a slower moment of a shared
machine reads as such.

Each size's synthetic export is generated and written by one child process, and
cleaned and aggregated by others (one per way), so that each peak resident memory
(``ru_maxrss``) is that way's own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_reference

SITES = 200
WAVES = (2014, 2019)
#: Largest size also read through the general (non-template) reader.
GENERAL_MAX = 300_000


#: Issue 14's targets for 1M respondents.
TARGET_SIZE, TARGET_S, TARGET_GIB = 1_000_000, 20.0, 3.0


def generate(size: int, workdir: Path) -> float:
    """Write the synthetic export of ``size`` respondents and its site register to the
    project ``workdir`` (``data/raw``); seconds."""
    from hsc_research.config import project_paths
    from hsc_research.demo import synth
    from hsc_research.instrument import load_codebook

    cb = load_codebook()
    per = size // (SITES * len(WAVES))
    t = time.perf_counter()
    export, sites = synth.generate(
        cb, synth.SynthSpec(sites=SITES, respondents=(per, per), waves=WAVES)
    )
    synth.write(export, sites, project_paths(workdir).raw)
    return time.perf_counter() - t


def one_process(size: int, workdir: Path) -> dict:
    """``hsc-research clean --aggregate``: seconds and peak memory."""
    from hsc_research import pipeline
    from hsc_research.config import project_paths

    paths = project_paths(workdir)
    t0 = time.perf_counter()
    pipeline.run_clean_aggregate(paths)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"one_process_s": round(seconds, 1), "one_process_peak_gib": round(peak / 2**20, 2)}


def child(size: int, workdir: Path) -> dict:
    import pandas as pd

    from hsc_research import pipeline
    from hsc_research.config import project_paths
    from hsc_research.instrument import load_codebook
    from hsc_research.mapping import read_mapped

    paths = project_paths(workdir)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    # `hsc-research clean` (the project's export and site register), then
    # `hsc-research aggregate`, as the commands run them.
    t0 = time.perf_counter()
    run = pipeline.run_clean(paths)
    clean_s = time.perf_counter() - t0
    n_resp, n_ans = len(run.result.respondents), len(run.result.responses)
    del run

    t1 = time.perf_counter()
    pipeline.run_aggregate(paths)
    agg_s = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    raw_path, cb = paths.raw_export, load_codebook()
    general_s = None
    if size <= GENERAL_MAX:
        # The same export as Excel on Windows saves it (semicolons, Windows-1252): read by
        # the general reader instead of the template's fast path.
        other = workdir / "export_semicolon_cp1252.csv"
        pd.read_csv(raw_path, dtype=str, keep_default_na=False).to_csv(
            other, sep=";", index=False, encoding="cp1252"
        )
        t2 = time.perf_counter()
        read_mapped(other, cb)
        general_s = round(time.perf_counter() - t2, 1)
    return {"respondents": size, "kept": n_resp, "answers": n_ans,
            "clean_s": round(clean_s, 1), "aggregate_s": round(agg_s, 1),
            "clean_plus_aggregate_s": round(clean_s + agg_s, 1),
            "peak_rss_gib": round(peak / 2**20, 2), "rss_at_start_gib": round(rss_before / 2**20, 2),
            "general_reader_s": general_s}  # fmt: skip


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    p.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    p.add_argument("--one-process", type=int, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.generate:
        print(json.dumps(generate(args.generate, args.workdir)))
        return
    if args.one_process:
        print(json.dumps(one_process(args.one_process, args.workdir)))
        return
    if args.child:
        print(json.dumps(child(args.child, args.workdir)))
        return
    rows = []
    for size in args.sizes:
        speed = cpu_reference()
        with tempfile.TemporaryDirectory() as tmp:
            synth_s = json.loads(_run("--generate", str(size), "--workdir", tmp))
            row = json.loads(_run("--child", str(size), "--workdir", tmp))
            row |= json.loads(_run("--one-process", str(size), "--workdir", tmp))
        row["synth_write_s"] = round(synth_s, 1)
        # A fixed Python loop before and after: the machine's speed can drift by a third.
        row["fixed_loop_s"] = [round(speed, 2), round(cpu_reference(), 2)]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'':>12} {'two commands (clean, then aggregate)':^47} {'clean --aggregate':^19}")
    print(f"{'respondents':>12} {'clean s':>8} {'aggregate s':>12} {'total s':>8} "
          f"{'peak GiB':>9} {'agg s / 100k':>13} {'total s':>9} {'peak GiB':>9}")  # fmt: skip
    for r in rows:
        print(f"{r['respondents']:>12,} {r['clean_s']:>8} {r['aggregate_s']:>12} {r['clean_plus_aggregate_s']:>8} "
              f"{r['peak_rss_gib']:>9} {100_000 * r['aggregate_s'] / r['respondents']:>13.2f} "
              f"{r['one_process_s']:>9} {r['one_process_peak_gib']:>9}")  # fmt: skip
    print()
    at = {r["respondents"]: r for r in rows}
    if TARGET_SIZE in at:
        r = at[TARGET_SIZE]
        ok_s, ok_m = r["one_process_s"] <= TARGET_S, r["one_process_peak_gib"] <= TARGET_GIB
        print(f"target {TARGET_SIZE:,}: clean --aggregate {r['one_process_s']} s "
              f"(<= {TARGET_S:g} s: {'met' if ok_s else 'NOT met'}), peak {r['one_process_peak_gib']} GiB "
              f"(<= {TARGET_GIB:g} GiB: {'met' if ok_m else 'NOT met'}); as two commands "
              f"{r['clean_plus_aggregate_s']} s, {r['peak_rss_gib']} GiB; machine speed: a fixed "
              f"Python loop took {r['fixed_loop_s'][0]} s before and {r['fixed_loop_s'][1]} s after")  # fmt: skip
    else:
        print(f"target {TARGET_SIZE:,}: not measured (add it to --sizes)")
    if len(rows) >= 2:
        small, large = (
            min(rows, key=lambda r: r["respondents"]),
            max(rows, key=lambda r: r["respondents"]),
        )
        per = [r["aggregate_s"] / r["respondents"] for r in (small, large)]
        print(f"aggregate growth {small['respondents']:,} -> {large['respondents']:,}: "
              f"{large['aggregate_s'] / max(small['aggregate_s'], 1e-9):.1f}x time for "
              f"{large['respondents'] / small['respondents']:.0f}x respondents (at most linear: "
              f"{'met' if per[1] <= per[0] else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
