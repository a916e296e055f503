"""Benchmark: clean + aggregate at 100k, 300k and 1M respondents (200 sites, two waves).

Run on demand (``make benchmark`` or ``python benchmarks/bench_clean_aggregate.py``);
prints seconds and peak memory (clean reads the export as ``hsc-research clean`` does;
``general_reader_s`` times the same export saved with semicolons in Windows-1252, which
takes the general reader every non-template layout uses). Targets on the 2-core, 24 GiB machine: clean +
aggregate of 1M respondents under 60 s and 6 GiB together, and aggregate time growing
no faster than linearly with respondents.

Each size runs in a fresh child process so that its peak resident memory
(``ru_maxrss``) is its own; generating and writing the synthetic export is not timed.
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

SITES = 200
WAVES = (2014, 2019)
#: Largest size also read through the general (non-template) reader.
GENERAL_MAX = 300_000


def child(size: int, workdir: Path) -> dict:
    from hsc_research import aggregate
    from hsc_research.clean import clean, read_tables, write_tables
    from hsc_research.demo import synth
    from hsc_research.instrument import load_codebook
    from hsc_research.mapping import read_mapped

    cb = load_codebook()
    per = size // (SITES * len(WAVES))
    t = time.perf_counter()
    export, sites = synth.generate(
        cb, synth.SynthSpec(sites=SITES, respondents=(per, per), waves=WAVES)
    )
    raw_path, _ = synth.write(export, sites, workdir / "raw")
    synth_s = time.perf_counter() - t
    del export
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    t0 = time.perf_counter()
    cleaned = clean(read_mapped(raw_path, cb)[2], cb, sites)
    write_tables(cleaned, workdir / "processed")
    clean_s = time.perf_counter() - t0
    n_resp, n_ans = len(cleaned.respondents), len(cleaned.responses)
    del cleaned

    t1 = time.perf_counter()
    tables = aggregate.aggregate(read_tables(workdir / "processed"), cb)
    aggregate.write(tables, workdir / "aggregates", {})
    agg_s = time.perf_counter() - t1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    general_s = None
    if size <= GENERAL_MAX:
        # The same export as Excel on Windows saves it (semicolons, Windows-1252): read by
        # the general reader instead of the template's fast path.
        import pandas as pd

        other = workdir / "raw" / "export_semicolon_cp1252.csv"
        pd.read_csv(raw_path, dtype=str, keep_default_na=False).to_csv(
            other, sep=";", index=False, encoding="cp1252"
        )
        t2 = time.perf_counter()
        read_mapped(other, cb)
        general_s = round(time.perf_counter() - t2, 1)
    return {"general_reader_s": general_s,"respondents": size, "kept": n_resp, "answers": n_ans, "synth_write_s": round(synth_s, 1),
            "clean_s": round(clean_s, 1), "aggregate_s": round(agg_s, 1),
            "clean_plus_aggregate_s": round(clean_s + agg_s, 1),
            "peak_rss_gib": round(peak / 2**20, 2), "rss_after_synth_gib": round(rss_before / 2**20, 2)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(args.child, Path(tmp))))
        return
    rows = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    print(
        f"\n{'respondents':>12} {'clean s':>8} {'aggregate s':>12} {'total s':>8} {'peak GiB':>9} {'agg s / 100k':>13}"
    )
    for r in rows:
        print(f"{r['respondents']:>12,} {r['clean_s']:>8} {r['aggregate_s']:>12} {r['clean_plus_aggregate_s']:>8} "
              f"{r['peak_rss_gib']:>9} {100_000 * r['aggregate_s'] / r['respondents']:>13.2f}")  # fmt: skip
    print(
        "\nPeak memory includes generating the export in the same process (see rss_after_synth_gib)."
    )


if __name__ == "__main__":
    main()
