"""Command line: ``hsc-research synth | clean | validate | map | aggregate | build``.

Every user-facing failure prints one line (``hsc-research: error: ...``) and exits
non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from hsc_research import __version__
from hsc_research.config import DEFAULT_SEED, MIN_CELL, project_paths
from hsc_research.errors import HscError, InputError
from hsc_research.ingest.layouts import LAYOUTS


def _range(text: str) -> tuple[int, int]:
    """``"250"`` or ``"120:400"`` to a (low, high) range of respondents."""
    try:
        lo, _, hi = text.partition(":")
        low, high = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a number or LOW:HIGH, e.g. 120:400"
        ) from None
    if not 1 <= low <= high:
        raise argparse.ArgumentTypeError(f"{text!r}: need 1 <= LOW <= HIGH")
    return low, high


def _year(text: str) -> int:
    """A survey year, in the range ``clean`` accepts as a wave."""
    from hsc_research.clean import WAVE_MAX, WAVE_MIN

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a year, e.g. 2019") from None
    if not WAVE_MIN <= value <= WAVE_MAX:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a wave is the survey year, {WAVE_MIN} to {WAVE_MAX}, e.g. 2019"
        )
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _aggregate_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """``--min-cell`` and ``--correction``, as ``aggregate`` (and ``clean --aggregate``)
    take them."""
    parser.add_argument(
        "--min-cell",
        type=_positive,
        default=MIN_CELL,
        help=f"{prefix}disclosure threshold (default {MIN_CELL})",
    )
    parser.add_argument(
        "--correction",
        choices=["bonferroni", "none"],
        default="bonferroni",
        help=f"{prefix}intervals for a table's family of comparisons: bonferroni (default; "
        "level 1 - 0.05/m for m comparisons, so a flag always agrees with its interval) or none",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hsc-research",
        description="Staff surveys at the health and social care interface: synthetic data, "
        "cleaning and findings reports.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "--root", type=Path, default=None, help="project root (default: current directory)"
    )
    p.add_argument(
        "--codebook", type=Path, default=None, help="codebook YAML (default: packaged hsc2019)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate the synthetic demo survey into data/raw/")
    s.add_argument("--sites", type=_positive, default=12, help="number of sites (default 12)")
    s.add_argument(
        "--respondents",
        type=_range,
        default=(120, 400),
        help="respondents per site and wave: N or LOW:HIGH (default 120:400)",
    )
    s.add_argument(
        "--waves",
        type=_year,
        nargs="+",
        default=[2014, 2017, 2019],
        help="survey years (default 2014 2017 2019)",
    )
    s.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    s.add_argument(
        "--messy",
        action="store_true",
        help="add what real exports contain: label variants, duplicates, invalid values ...",
    )
    s.add_argument("--out", type=Path, default=None, help="output folder (default data/raw/)")

    c = sub.add_parser("clean", help="clean a raw export into data/processed/ (parquet)")
    c.add_argument(
        "--input", type=Path, default=None, help="raw export (default data/raw/survey_export.csv)"
    )
    c.add_argument(
        "--sites-register",
        type=Path,
        default=None,
        help="site register CSV with site_id, site_name (default data/raw/sites.csv if present)",
    )
    c.add_argument("--out", type=Path, default=None, help="output folder (default data/processed/)")
    _export_options(c)
    c.add_argument(
        "--keep-free-text",
        action="store_true",
        help="keep free-text answers in free_text.parquet (no report reads it; default: drop)",
    )
    c.add_argument(
        "--aggregate",
        action="store_true",
        help="also compute every report table into the output folder's aggregates/, as "
        "`hsc-research aggregate` would, in the same process (faster: the cleaned tables "
        "are not read back)",
    )
    _aggregate_options(c, "with --aggregate: ")
    c.set_defaults(min_cell=None, correction=None)  # to tell an option given without --aggregate

    v = sub.add_parser(
        "validate", help="check an export against its mapping without writing anything"
    )
    v.add_argument("export", type=Path, help="the export file (CSV, XLSX or SAV)")
    _export_options(v)
    v.add_argument(
        "--sites-register", type=Path, default=None, help="site register CSV (site_id, site_name)"
    )

    m = sub.add_parser("map", help="draft a mapping for an export")
    m.add_argument("--suggest", type=Path, required=True, metavar="EXPORT", help="the export")
    m.add_argument("--layout", choices=LAYOUTS, default=None, help="override the detected layout")
    m.add_argument(
        "--out", type=Path, default=None, help="write the mapping here (default: print it)"
    )
    m.add_argument(
        "--sites-register",
        type=Path,
        default=None,
        help="site register CSV: site values are matched to it (default data/raw/sites.csv "
        "if present)",
    )

    a = sub.add_parser(
        "aggregate", help="compute every report table into data/processed/aggregates/"
    )
    _aggregate_options(a)

    b = sub.add_parser("build", help="build every site report, the national report and the index")
    b.add_argument("--sites", nargs="+", default=None, help="site ids to build (default: all)")
    b.add_argument("--jobs", type=_positive, default=None, help="worker processes (default: CPUs)")
    b.add_argument(
        "--min-cell",
        type=_positive,
        default=MIN_CELL,
        help=f"disclosure threshold (default {MIN_CELL})",
    )
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument(
        "--pdf",
        action="store_true",
        help="also write each report as reports/<name>.pdf through the system Chromium "
        "(for board papers; needs the chromium package)",
    )
    b.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="build the reports on a dask.distributed cluster: its scheduler's address "
        "(tcp://host:8786), or 'local' to start one here with --jobs workers (default: a "
        "pool of worker processes here)",
    )
    b.add_argument(
        "--worker-aggregates",
        default=None,
        metavar="PATH",
        help="with --scheduler: the aggregates folder as the workers see it (a shared "
        "path); by default the aggregates are sent to the workers",
    )
    return p


def _export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mapping", type=Path, default=None, help="mapping YAML (needed unless template layout)"
    )
    p.add_argument("--layout", choices=LAYOUTS, default=None, help="override the detected layout")


def cmd_synth(args: argparse.Namespace) -> int:
    from hsc_research.demo import synth
    from hsc_research.instrument import load_codebook

    paths = project_paths(args.root)
    codebook = load_codebook(args.codebook)
    spec = synth.SynthSpec(sites=args.sites, respondents=args.respondents,
                           waves=tuple(args.waves), seed=args.seed, messy=args.messy)  # fmt: skip
    export, sites = synth.generate(codebook, spec)
    export_path, sites_path = synth.write(export, sites, args.out or paths.raw)
    print(f"wrote {len(export)} respondents across {len(sites)} sites to {export_path}")
    print(f"wrote the site register to {sites_path}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from hsc_research.clean import AGGREGATES_DIR, FIELD_REASONS, FREE_TEXT_NAME
    from hsc_research.pipeline import run_clean, run_clean_aggregate
    from hsc_research.report.build import build_lock

    paths = project_paths(args.root)
    given = [o for o in ("min_cell", "correction") if getattr(args, o) is not None]
    if given and not args.aggregate:
        raise InputError(f"--{given[0].replace('_', '-')}: only used with --aggregate; add "
                         "--aggregate or leave it out")  # fmt: skip
    how = (args.input, args.mapping, args.layout, args.sites_register, args.out,
           args.keep_free_text)  # fmt: skip
    tables = None
    if args.aggregate:
        with build_lock(paths):  # a running build reads the aggregates
            run, seconds, tables = run_clean_aggregate(
                paths, args.codebook, *how, args.min_cell or MIN_CELL,
                args.correction or "bonferroni",
            )  # fmt: skip
    else:
        run = run_clean(paths, args.codebook, *how)
    s = run.result.summary()
    if run.free_text is not None:
        print(f"kept {run.free_text} free-text answers in {run.out / FREE_TEXT_NAME} "
              "(no report reads them)")  # fmt: skip
    print(f"cleaned {run.source} ({run.layout} layout)")
    if run.dropped:
        print(f"  dropped identifying columns: {', '.join(run.dropped)}")
    if run.unread:
        print(f"  dropped {len(run.unread)} column(s) the mapping does not read")
    print(
        f"  respondents: {s['raw_rows']} raw = {s['kept_respondents']} kept + {s['excluded_respondents']} excluded"
    )
    print(
        f"  answers:     {s['raw_answers']} raw = {s['kept_answers']} kept + {s['excluded_answers']} excluded"
    )
    for reason, v in s["by_reason"].items():
        verb = "logged  " if reason in FIELD_REASONS else "excluded"
        print(f"  {verb} {reason:24s} {v['records']:7d} records {v['answers']:9d} answers")
    print(f"wrote responses, respondents and exclusions to {run.out}")
    if tables is not None:
        print(f"wrote {len(tables)} aggregate tables to {run.out / AGGREGATES_DIR} "
              f"in {seconds:.1f}s more")  # fmt: skip
    elif run.removed_aggregates:
        print(f"  removed {run.out / AGGREGATES_DIR} (from the previous tables; run aggregate)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from hsc_research.instrument import load_codebook
    from hsc_research.mapping.validate import validate
    from hsc_research.pipeline import site_register

    paths = project_paths(args.root)
    codebook = load_codebook(args.codebook)
    try:
        register = site_register(paths, args.sites_register)
    except HscError as exc:  # a register clean would refuse: the export cannot be cleaned
        print(f"cannot be cleaned: {exc}")
        return 1
    outcome = validate(args.export, codebook, args.mapping, args.layout, register)
    for line in outcome.lines:
        print(line)
    if not outcome.ok:
        print(f"cannot be cleaned: {outcome.reason}")
        return 1
    print("can be cleaned")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from hsc_research.instrument import load_codebook
    from hsc_research.mapping.suggest import suggest_mapping
    from hsc_research.pipeline import site_register

    codebook = load_codebook(args.codebook)
    sites = site_register(project_paths(args.root), args.sites_register)
    text, summary = suggest_mapping(args.suggest, codebook, args.layout, sites)
    if args.out:
        if args.out.is_dir():
            raise HscError(f"{args.out}: is a folder; give a file name, e.g. {args.out / 'mapping.yaml'}")  # fmt: skip
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise HscError(
                f"{args.out}: cannot write the mapping ({exc.strerror}); give --out a file "
                "in an existing folder you can write to"
            ) from None
        print(f"wrote a suggested mapping to {args.out}: {summary}")
        print("check every line marked CHECK or TODO, then pass it with --mapping")
    else:
        print(text, end="")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    from hsc_research.pipeline import run_aggregate
    from hsc_research.report.build import build_lock

    paths = project_paths(args.root)
    with build_lock(paths):  # a running build reads these tables
        seconds, tables = run_aggregate(paths, args.codebook, args.min_cell, args.correction)
    print(f"wrote {len(tables)} aggregate tables to {paths.aggregates} in {seconds:.1f}s")
    return 0


def import_nbformat_without_iri_checker() -> None:
    """Import nbformat (for papermill and nbconvert) without jsonschema's IRI format
    checker, in this process only.

    jsonschema registers a checker for the ``iri`` format when ``rfc3987_syntax`` is
    installed, and that package compiles some 40 grammars when imported: 0.7 s of
    every build, although no notebook schema uses the format (jsonschema issue 1428).
    Only the ``build`` command calls this, for a process that is the command's own; a
    library call leaves a researcher's process as it was. The package stays importable
    afterwards.

    Examples
    --------
    >>> import_nbformat_without_iri_checker()
    >>> "nbformat" in sys.modules
    True
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        import nbformat  # noqa: F401 - jsonschema is loaded as it is

        return
    sys.modules["rfc3987_syntax"] = None  # an import of it now raises ImportError
    try:
        import nbformat  # noqa: F401 - imports jsonschema, which skips the checker
    finally:
        del sys.modules["rfc3987_syntax"]


def cmd_build(args: argparse.Namespace) -> int:
    import time

    from hsc_research.pipeline import ensure_aggregates
    from hsc_research.report.build import build, build_lock
    from hsc_research.report.pdf import PdfError

    paths = project_paths(args.root)
    import_nbformat_without_iri_checker()
    # One build at a time, aggregating included: two would overwrite each other's files.
    with build_lock(paths):
        # Aggregate here when the aggregates are missing, corrupt or stale.
        start = time.perf_counter()
        if reason := ensure_aggregates(paths, args.min_cell, args.codebook):
            print(f"aggregated in {time.perf_counter() - start:.1f}s ({reason})")
        if args.worker_aggregates and not args.scheduler:
            raise InputError("--worker-aggregates: only used with --scheduler; add the "
                             "scheduler's address or leave it out")  # fmt: skip
        pdf_error = None
        try:
            results = build(paths, sites=args.sites, jobs=args.jobs,
                             min_cell=args.min_cell, progress=not args.no_progress,
                             lock=False, pdf=args.pdf, scheduler=args.scheduler,
                             worker_aggregates=args.worker_aggregates)  # fmt: skip
        except PdfError as exc:  # the HTML reports were built: say so, then fail
            results, pdf_error = exc.results, exc
    failed = [r for r in results if r.status != "ok"]
    print(f"built {len(results) - len(failed)} of {len(results)} reports in {paths.reports}"
          + (f" ({sum(bool(r.pdf) for r in results)} as PDF)" if args.pdf else ""))  # fmt: skip
    for r in failed:
        print(f"  FAILED {r.slug}: {r.error}", file=sys.stderr)
    if pdf_error is not None:
        raise pdf_error
    return 1 if failed else 0


COMMANDS = {
    "synth": cmd_synth,
    "clean": cmd_clean,
    "validate": cmd_validate,
    "map": cmd_map,
    "aggregate": cmd_aggregate,
    "build": cmd_build,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hsc-research`` console script."""
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HscError as exc:
        print(f"hsc-research: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hsc-research: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("HSC_RESEARCH_DEBUG"):
            raise
        print(
            f"hsc-research: internal error: {type(exc).__name__}: {exc}; this is a bug, "
            "please report it with the command you ran (HSC_RESEARCH_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
