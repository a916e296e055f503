"""The command line: the pipeline end to end on a tiny survey, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hsc_research.cli import main


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hsc_research.cli", "--root", str(cwd), *args],
                          capture_output=True, text=True, cwd=cwd)  # fmt: skip


def test_synth_then_clean(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "synth", "--sites", "2", "--respondents", "15",
                 "--waves", "2019", "--seed", "3", "--messy"]) == 0  # fmt: skip
    assert (tmp_path / "data/raw/survey_export.csv").is_file()
    assert main(["--root", str(tmp_path), "clean"]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "data/processed/clean_summary.json").read_text())
    raw_lines = (tmp_path / "data/raw/survey_export.csv").read_text().count("\n") - 1
    assert summary["raw_rows"] == raw_lines
    assert f"{raw_lines} raw = {summary['kept_respondents']} kept" in out
    for name in ("responses", "respondents", "exclusions"):
        assert (tmp_path / f"data/processed/{name}.parquet").is_file()


def test_clean_with_aggregate_writes_the_aggregates_too(tmp_path, capsys):
    main(["--root", str(tmp_path), "synth", "--sites", "2", "--respondents", "30",
          "--waves", "2019", "--seed", "3"])  # fmt: skip
    assert main(["--root", str(tmp_path), "clean", "--aggregate", "--min-cell", "12"]) == 0
    out = capsys.readouterr().out
    meta = json.loads((tmp_path / "data/processed/aggregates/meta.json").read_text())
    assert meta["min_cell"] == 12
    assert f"wrote {len(meta['tables'])} aggregate tables to " in out
    assert "removed" not in out


def test_processed_tables_hold_no_free_text(tmp_path):
    main(
        ["--root", str(tmp_path), "synth", "--sites", "1", "--respondents", "30", "--waves", "2019"]
    )
    main(["--root", str(tmp_path), "clean"])
    import pandas as pd

    for name in ("responses", "respondents", "exclusions"):
        df = pd.read_parquet(tmp_path / f"data/processed/{name}.parquet")
        assert "comment" not in df.columns
        assert not df.isin(["See my comments at the meeting."]).any().any()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["clean", "--input", "missing.csv"], "missing.csv: file not found"),
        (["clean", "--input", "empty.csv"], "empty.csv: file is empty"),
        (["--codebook", "nope.yaml", "clean"], "nope.yaml: cannot read codebook"),
        (["build"], ".parquet: not found; run `hsc-research clean` first"),
        (["aggregate"], ".parquet: not found; run `hsc-research clean` first"),
        (["clean", "--sites-register", "nope.csv"], "nope.csv: site register not found"),
        (["clean", "--min-cell", "5"], "--min-cell: only used with --aggregate"),
        (["clean", "--correction", "none"], "--correction: only used with --aggregate"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path, args, expected):
    (tmp_path / "empty.csv").write_text("")
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hsc-research: error: ") and expected in lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_option_value_is_one_usage_error(tmp_path):
    proc = run("synth", "--respondents", "many", cwd=tmp_path)
    assert proc.returncode == 2
    assert "give a number or LOW:HIGH" in proc.stderr and "Traceback" not in proc.stderr


def test_build_imports_nbformat_without_the_iri_checker():
    # A process of its own, as the build command's: jsonschema loaded without the IRI
    # format checker, nbformat validating notebooks as before, the package importable.
    code = (
        "import sys\n"
        "from hsc_research.cli import import_nbformat_without_iri_checker as f\n"
        "f()\n"
        "import jsonschema, nbformat\n"
        "assert 'rfc3987_syntax' not in sys.modules\n"
        "assert 'iri' not in jsonschema.Draft7Validator.FORMAT_CHECKER.checkers\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.v4.new_notebook(); bad.cells = [{'cell_type': 'nope'}]\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "    raise SystemExit('invalid notebook accepted')\n"
        "except nbformat.ValidationError:\n"
        "    pass\n"
        "import rfc3987_syntax\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
