"""Every layout's fixture, mapped and cleaned, gives the template's tidy tables; identifying
columns never reach data/processed/."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT

from hsc_research.clean import clean
from hsc_research.cli import main
from hsc_research.ingest import read_export
from hsc_research.mapping import read_mapped

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
MAPPINGS = ROOT / "examples" / "mappings"
# (fixture, mapping, detected layout)
LAYOUT_CASES = [
    ("qualtrics.csv", "qualtrics.yaml", "qualtrics"),
    ("qualtrics_numeric.csv", "qualtrics_numeric.yaml", "qualtrics"),
    ("qualtrics_legacy.csv", "qualtrics_legacy.yaml", "qualtrics_legacy"),
    ("surveymonkey.csv", "surveymonkey.yaml", "surveymonkey"),
    ("surveymonkey.xlsx", "surveymonkey.yaml", "surveymonkey"),
    ("msforms.xlsx", "msforms.yaml", "msforms"),
    ("spss.sav", "spss.yaml", "spss"),
    ("template.xlsx", None, "template"),
]
# Made-up identifying values written into the fixtures (see make_exports.py).
PII_MARKS = ("example.org", "192.0.2.", "Firstname", "Lastname", "EXT-", "53.4808", "07700",
             "SN9021")  # fmt: skip


def _cleaned(name, mapping, codebook):
    _, _, frame, _ = read_mapped(EXPORTS / name, codebook, MAPPINGS / mapping if mapping else None)
    return clean(frame, codebook)


@pytest.fixture(scope="module")
def template(codebook):
    return _cleaned("template.csv", None, codebook)


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    # Ids and spreadsheet rows are each tool's own; everything else must agree.
    return df.drop(columns=["respondent_id", "raw_row"], errors="ignore").reset_index(drop=True)


@pytest.mark.parametrize(("name", "mapping", "layout"), LAYOUT_CASES)
def test_layout_is_detected(name, mapping, layout):
    assert read_export(EXPORTS / name).layout == layout


@pytest.mark.parametrize(("name", "mapping", "layout"), LAYOUT_CASES)
def test_layout_gives_the_template_responses(name, mapping, layout, codebook, template):
    got = _cleaned(name, mapping, codebook)
    pd.testing.assert_frame_equal(_comparable(got.responses), _comparable(template.responses))


@pytest.mark.parametrize(("name", "mapping", "layout"), LAYOUT_CASES)
def test_layout_gives_the_template_respondents(name, mapping, layout, codebook, template):
    got = _cleaned(name, mapping, codebook)
    pd.testing.assert_frame_equal(_comparable(got.respondents), _comparable(template.respondents))


@pytest.mark.parametrize(("name", "mapping", "layout"), LAYOUT_CASES)
def test_layout_gives_the_template_exclusions(name, mapping, layout, codebook, template):
    got = _cleaned(name, mapping, codebook).exclusions
    # Previews and partial responses exist only in the Qualtrics files.
    got = got[~got["reason"].isin(["test_response", "partial_response"])]
    cols = ["level", "reason", "column", "n_answers"]
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True), template.exclusions[cols].reset_index(drop=True)
    )


def test_template_fixture_holds_what_make_exports_wrote(template):
    # Hand check of the shared answers: 9 rows = 7 kept + duplicate + all-blank.
    s = template.summary()
    assert (s["raw_rows"], s["kept_respondents"], s["excluded_respondents"]) == (9, 7, 2)
    assert dict(template.exclusions["reason"].value_counts()[lambda c: c > 0]) == {
        "duplicate_submission": 1, "no_substantive_answer": 1, "invalid_value": 1,
        "self_rating": 1,
    }  # fmt: skip


def test_qualtrics_preview_is_excluded_as_a_test_response(codebook):
    ex = _cleaned("qualtrics.csv", "qualtrics.yaml", codebook).exclusions
    preview = ex[ex["reason"] == "test_response"]
    assert preview["raw_row"].tolist() == [5]  # rows 1-3 are headers, row 5 the preview


def test_spreadsheet_rows_count_the_header_rows(codebook):
    ex = _cleaned("qualtrics_legacy.csv", "qualtrics_legacy.yaml", codebook).exclusions
    # R3's #N/A: third respondent, after two header rows -> spreadsheet row 5.
    assert ex.loc[ex["reason"] == "invalid_value", "raw_row"].tolist() == [5]


@pytest.mark.parametrize(("name", "mapping", "layout"), LAYOUT_CASES)
def test_identifying_columns_never_reach_processed(name, mapping, layout, tmp_path, capsys):
    out = tmp_path / "processed"
    args = ["--root", str(tmp_path), "clean", "--input", str(EXPORTS / name), "--out", str(out)]
    assert main([*args, *(["--mapping", str(MAPPINGS / mapping)] if mapping else [])]) == 0
    written = list(out.iterdir())
    assert {p.name for p in written} >= {"responses.parquet", "respondents.parquet"}
    for path in written:
        data = path.read_bytes()
        for mark in PII_MARKS:
            assert mark.encode() not in data, (path.name, mark)
    assert "07700" not in capsys.readouterr().out


def test_identifying_columns_are_dropped_at_read():
    raw = read_export(EXPORTS / "qualtrics.csv")
    assert set(raw.dropped) == {
        "IPAddress", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
        "ExternalReference", "LocationLatitude", "LocationLongitude",
    }  # fmt: skip
    assert not set(raw.dropped) & set(raw.data.columns)


def test_free_text_is_kept_only_when_asked(tmp_path, capsys):
    out = tmp_path / "processed"
    args = ["--root", str(tmp_path), "clean", "--input", str(EXPORTS / "qualtrics.csv"), "--out", str(out),
            "--mapping", str(MAPPINGS / "qualtrics.yaml")]  # fmt: skip
    assert main(args) == 0
    assert not (out / "free_text.parquet").exists()
    assert main([*args, "--keep-free-text"]) == 0
    text = pd.read_parquet(out / "free_text.parquet")
    # Row 4 (R_1a2B) wrote a comment; the preview copy of it (row 5) is not kept.
    assert text[["raw_row", "column"]].values.tolist() == [[4, "Q8_TEXT"]]
    assert main(args) == 0
    assert not (out / "free_text.parquet").exists()  # a later run removes it again


# Issue 12: each tool's own conventions in the fixtures.


def _kept_and_dropped(name, mapping, codebook):
    res = _cleaned(name, mapping, codebook)
    dup = res.exclusions[res.exclusions["reason"] == "duplicate_submission"]
    return res, dup["raw_row"].tolist()


def test_surveymonkey_month_first_repeat_keeps_the_13_march_submission(codebook):
    # Rows 10 (03/04/2019: 4 March) and 11 (03/13/2019) are one person; 11 is later.
    res, dropped = _kept_and_dropped("surveymonkey.csv", "surveymonkey.yaml", codebook)
    kept = res.respondents.set_index("raw_row")["submitted_at"]
    assert dropped == [10] and kept[11] == pd.Timestamp("2019-03-13 09:05")


def test_forms_repeat_submission_is_found_by_e_mail(codebook):
    # Forms ids 8 and 9 (rows 9 and 10) come from the same address.
    _, dropped = _kept_and_dropped("msforms.xlsx", "msforms.yaml", codebook)
    assert dropped == [9]


def test_qualtrics_partial_response_is_logged_as_such(codebook):
    ex = _cleaned("qualtrics.csv", "qualtrics.yaml", codebook).exclusions
    partial = ex[ex["reason"] == "partial_response"]
    assert partial[["raw_row", "column", "value"]].values.tolist() == [[14, "Finished", "False"]]


def test_unmapped_columns_do_not_leave_the_reader(codebook):
    raw, *_ = read_mapped(EXPORTS / "surveymonkey.csv", codebook, MAPPINGS / "surveymonkey.yaml")
    assert "Custom Data 1" in raw.unread and "Custom Data 1" not in raw.data.columns
