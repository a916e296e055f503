"""The bad-input catalogue (tests/bad_inputs/expected.yaml): every file gets its exact
outcome from `hsc-research clean` and `validate`, with one line and no traceback."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from hsc_research.cli import main

HERE = ROOT / "tests" / "bad_inputs"
CASES = yaml.safe_load((HERE / "expected.yaml").read_text(encoding="utf-8"))


def _args(name: str, case: dict) -> list[str]:
    extra = []
    if "mapping" in case:
        extra += ["--mapping", str(HERE / case["mapping"])]
    if "sites" in case:
        extra += ["--sites-register", str(HERE / case["sites"])]
    return extra


def test_catalogue_has_at_least_thirty_files():
    files = [p for p in HERE.iterdir() if re.match(r"\d\d_", p.name)]
    assert len(files) >= 30
    assert {p.name for p in files} == set(CASES)  # every file has an expected outcome


@pytest.mark.parametrize("name", sorted(CASES))
def test_clean_outcome(name, tmp_path, capsys):
    case, out = CASES[name], tmp_path / "processed"
    code = main(
        [
            "--root",
            str(tmp_path),
            "clean",
            "--input",
            str(HERE / name),
            "--out",
            str(out),
            *_args(name, case),
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "internal error" not in captured.err
    if "error" in case:
        assert code == 2
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("hsc-research: error: ")
        assert name in lines[0] and case["error"] in lines[0], lines[0]
        assert not out.exists() or not any(out.iterdir())  # nothing written
        return
    assert code == 0, captured.err
    want = case["cleaned"]
    summary = json.loads((out / "clean_summary.json").read_text())
    assert summary["raw_rows"] == want["raw"]
    assert summary["kept_respondents"] == want["kept"]
    assert summary["raw_rows"] == summary["kept_respondents"] + summary["excluded_respondents"]
    assert summary["raw_answers"] == summary["kept_answers"] + summary["excluded_answers"]
    exclusions = pd.read_parquet(out / "exclusions.parquet")
    got = exclusions["reason"].astype(str).value_counts().to_dict()
    assert got == want["reasons"]
    if "check" in case:
        CHECKS[case["check"]](out, exclusions)


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_agrees(name, tmp_path, capsys):
    case = CASES[name]
    code = main(["--root", str(tmp_path), "validate", str(HERE / name), *_args(name, case)])
    printed = capsys.readouterr().out.strip().splitlines()
    if "error" in case:
        assert code == 1
        assert printed[-1].startswith("cannot be cleaned: ") and case["error"] in printed[-1]
    elif "validate" in case:  # clean would run, but validate stops it (issue 12)
        assert code == 1
        assert printed[-1].startswith("cannot be cleaned: ") and case["validate"] in printed[-1]
        raw, kept = case["cleaned"]["raw"], case["cleaned"]["kept"]
        assert any(f"respondents {raw} raw = {kept} kept" in line for line in printed)
    else:
        assert code == 0 and printed[-1] == "can be cleaned"
        want = case["cleaned"]
        accounting = next(line for line in printed if line.startswith("accounting:"))
        raw, kept = want["raw"], want["kept"]
        assert f"respondents {raw} raw = {kept} kept + {raw - kept} excluded" in accounting


def _windows_1252_text(out, exclusions):
    # The curly apostrophe (byte 0x92) was read as "Don't know", not as an invalid answer.
    responses = pd.read_parquet(out / "responses.parquet")
    respondents = pd.read_parquet(out / "respondents.parquet")
    p1 = respondents.loc[respondents["raw_row"] == 2, "respondent_id"].item()  # ids are pseudonyms
    cell = responses[(responses["respondent_id"] == p1) & (responses["item"] == "asc")
                     & (responses["question"] == "trust")]  # fmt: skip
    assert cell["status"].astype(str).tolist() == ["dont_know"]


def _invalid_value_in_row_3(out, exclusions):
    assert exclusions["raw_row"].tolist() == [3]


def _latest_submission_kept(out, exclusions):
    respondents = pd.read_parquet(out / "respondents.parquet")
    p1 = respondents[respondents["raw_row"].isin([2, 3])]  # P1's rows; ids are pseudonyms
    assert p1["site_name"].tolist() == ["Northshire"]  # 2 May beats 1 May, whatever the order
    assert exclusions["raw_row"].tolist() == [3]


def _safe_site_ids(out, exclusions):
    respondents = pd.read_parquet(out / "respondents.parquet")
    assert all(re.fullmatch(r"[a-z0-9-]+", s) for s in respondents["site"].astype(str))


def _row_2_is_the_duplicate(out, exclusions):
    assert exclusions[["raw_row", "detail"]].values.tolist() == [
        [2, "earlier submission; kept raw row 4"]
    ]


def _no_email_in_processed(out, exclusions):
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()  # a parquet file may hold the byte "@" by chance
            assert not any(mark in data for mark in (b"example.net", b"alice", b"carol")), path
    for table in ("responses", "respondents", "exclusions"):
        ids = pd.read_parquet(out / f"{table}.parquet")["respondent_id"].astype(str)
        assert ids.str.fullmatch(r"[0-9a-f]{16}").all(), table


def _email_hashed_and_dropped(out, exclusions):
    # The later of the two submissions by one address (rows 2 and 4) is kept.
    assert exclusions[["raw_row", "detail"]].values.tolist() == [
        [2, "earlier submission; kept raw row 4"]
    ]
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            assert b"example.net" not in data and b"alice" not in data, path


def _staff_number_dropped(out, exclusions):
    for path in out.rglob("*"):
        if path.is_file():
            assert b"SN-7788" not in path.read_bytes(), path


CHECKS = {
    "windows_1252_text": _windows_1252_text,
    "invalid_value_in_row_3": _invalid_value_in_row_3,
    "latest_submission_kept": _latest_submission_kept,
    "safe_site_ids": _safe_site_ids,
    "row_2_is_the_duplicate": _row_2_is_the_duplicate,
    "no_email_in_processed": _no_email_in_processed,
    "email_hashed_and_dropped": _email_hashed_and_dropped,
    "staff_number_dropped": _staff_number_dropped,
}


def test_ten_megabytes_of_garbage(tmp_path, capsys):
    path = tmp_path / "garbage.csv"
    path.write_bytes(random.Random(10).randbytes(10 * 1024 * 1024))
    assert (
        main(
            ["--root", str(tmp_path), "clean", "--input", str(path), "--out", str(tmp_path / "out")]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "binary data at byte" in err


@pytest.mark.parametrize(
    "name", ["01_empty.csv", "27_password_protected.xlsx", "29_spss_without_value_labels.sav"]
)
def test_real_command_line_prints_one_line(name, tmp_path):
    case = CASES[name]
    exe = [sys.executable, "-m", "hsc_research.cli"]
    run = subprocess.run(
        [*exe, "clean", "--input", str(HERE / name), "--out", str(tmp_path), *_args(name, case)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "HSC_RESEARCH_DEBUG": ""},
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
