"""Identifying column names, as the survey tools write them, and pseudonymous respondent
ids: no raw id reaches data/processed/."""

from __future__ import annotations

import csv
import stat

import pandas as pd
import pytest
from conftest import ROOT

from hsc_research.cli import main
from hsc_research.ingest.privacy import is_identifying
from hsc_research.instrument import load_codebook
from hsc_research.mapping import read_mapped


@pytest.mark.parametrize(
    "name",
    ["IPAddress", "IP Address", "RecipientEmail", "Email Address", "Email", "Name",
     "First Name", "Last Name", "RecipientFirstName", "ExternalReference",
     "ExternalDataReference", "LocationLatitude", "LocationLongitude", "e-mail address"],
)  # fmt: skip
def test_identifying(name):
    assert is_identifying(name)


@pytest.mark.parametrize(
    "name", ["ResponseId", "Respondent ID", "Site", "Status", "Q4_1", "What is your profession?"]
)
def test_not_identifying(name):
    assert not is_identifying(name)


# Raw respondent ids never reach data/processed: the tables hold keyed-hash pseudonyms.

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
MAPPINGS = ROOT / "examples" / "mappings"
FIXTURES = [
    ("template.csv", None), ("template.xlsx", None), ("qualtrics.csv", "qualtrics.yaml"),
    ("qualtrics_numeric.csv", "qualtrics_numeric.yaml"),
    ("qualtrics_legacy.csv", "qualtrics_legacy.yaml"), ("surveymonkey.csv", "surveymonkey.yaml"),
    ("surveymonkey.xlsx", "surveymonkey.yaml"), ("msforms.xlsx", "msforms.yaml"),
    ("spss.sav", "spss.yaml"),
]  # fmt: skip


def _clean(root, export, mapping=None, *extra):
    args = ["--root", str(root), "clean", "--input", str(export), *extra]
    assert main([*args, *(["--mapping", str(mapping)] if mapping else [])]) == 0
    return root / "data" / "processed"


def _text_cells(processed):
    """Every text a processed file holds: parquet cells, categories, column names, JSON."""
    cells = set()
    for path in processed.rglob("*"):
        if path.suffix == ".parquet":
            df = pd.read_parquet(path)
            cells |= {str(c) for c in df.columns}
            for col in df.columns:
                s = df[col]
                values = s.cat.categories if isinstance(s.dtype, pd.CategoricalDtype) else s
                cells |= {str(v) for v in values if isinstance(v, str)}
        elif path.is_file():
            cells |= set(path.read_text(encoding="utf-8", errors="replace").split())
    return cells


def test_every_layout_fixture_is_covered():
    assert {name for name, _ in FIXTURES} == {p.name for p in EXPORTS.iterdir()}


@pytest.mark.parametrize(("name", "mapping"), FIXTURES)
def test_no_raw_respondent_id_survives_in_processed(name, mapping, tmp_path, capsys):
    map_path = MAPPINGS / mapping if mapping else None
    _, _, frame, _ = read_mapped(EXPORTS / name, load_codebook(), map_path)
    raw_ids = {str(v).strip() for v in frame["respondent_id"].dropna()} - {""}
    assert raw_ids
    processed = _clean(tmp_path, EXPORTS / name, map_path, "--keep-free-text")
    cells = _text_cells(processed)
    # No cell is a raw id and no text contains one. Ids as short as Microsoft Forms' "1"
    # are also answer values and counts, so for them the id columns are checked instead.
    wordy = {r for r in raw_ids if not (r.isdigit() and len(r) <= 2)}
    assert not wordy & cells
    assert not [(r, c) for r in wordy if len(r) >= 4 for c in cells if r in c]
    for table in ("responses", "respondents", "exclusions", "free_text"):
        ids = pd.read_parquet(processed / f"{table}.parquet")["respondent_id"].dropna()
        assert ids.astype(str).str.fullmatch(r"[0-9a-f]{16}").all(), table
    ex = pd.read_parquet(processed / "exclusions.parquet")
    logged = ex.loc[ex["column"] == "respondent_id", "value"].fillna("")
    assert (logged == "").all()  # a duplicate's log names its kept row, not its id


def test_email_ids_never_reach_processed(tmp_path, capsys):
    # Formerly stored as they are in responses, respondents and exclusions.
    rows = list(csv.reader((EXPORTS / "template.csv").open(encoding="utf-8")))
    for row in rows[1:]:
        row[0] = f"person.{row[0].lower()}@hospital.example.net"
    rows[2][4] = "Porter"  # an excluded respondent's id must not be logged either
    export = tmp_path / "emails.csv"
    with export.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    processed = _clean(tmp_path, export, None, "--keep-free-text")
    for path in processed.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"example.net" not in data and b"person." not in data, path.name
    assert not any("@" in c for c in _text_cells(processed))


def test_pseudonym_key_is_made_once_beside_the_raw_data(tmp_path, capsys):
    export = EXPORTS / "template.csv"
    first = pd.read_parquet(_clean(tmp_path, export) / "respondents.parquet")["respondent_id"]
    key = tmp_path / "data" / "raw" / ".hsc_pseudonym_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    again = pd.read_parquet(_clean(tmp_path, export) / "respondents.parquet")["respondent_id"]
    assert again.tolist() == first.tolist()  # stable across re-cleans
    assert not list((tmp_path / "data" / "processed").rglob("*key*"))


def test_another_project_gets_other_pseudonyms(tmp_path, capsys):
    export = EXPORTS / "template.csv"
    a = pd.read_parquet(_clean(tmp_path / "a", export) / "respondents.parquet")
    b = pd.read_parquet(_clean(tmp_path / "b", export) / "respondents.parquet")
    assert not set(a["respondent_id"]) & set(b["respondent_id"])


def test_a_damaged_key_is_one_line(tmp_path, capsys):
    key = tmp_path / "data" / "raw" / ".hsc_pseudonym_key"
    key.parent.mkdir(parents=True)
    key.write_text("not hex\n")
    args = ["--root", str(tmp_path), "clean", "--input", str(EXPORTS / "template.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{key}: not a pseudonym key" in err
