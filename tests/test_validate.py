"""`validate`: what cleaning would do, printed, with nothing written."""

from __future__ import annotations

from conftest import ROOT

from hsc_research.validate import validate

EXPORTS = ROOT / "tests" / "fixtures" / "exports"
MAPPINGS = ROOT / "examples" / "mappings"


def _lines(codebook, name="qualtrics.csv", mapping="qualtrics.yaml"):
    outcome = validate(EXPORTS / name, codebook, MAPPINGS / mapping)
    assert outcome.ok
    return outcome.lines


def test_reports_the_layout(codebook):
    assert "layout:   qualtrics (csv, utf-8-sig, delimiter ','; 3 header row(s))" in _lines(
        codebook
    )


def test_reports_dropped_identifying_columns(codebook):
    line = next(li for li in _lines(codebook) if li.startswith("dropped identifying"))
    assert "RecipientEmail" in line and "IPAddress" in line


def test_unknown_labels_with_count_and_rows(codebook):
    assert "  Q4_5 (trust.community_health): '#N/A' x1 (rows 7)" in _lines(codebook)


def test_exclusions_by_reason_and_accounting(codebook):
    lines = _lines(codebook)
    assert "  duplicate_submission          1 (rows 12)" in lines
    assert lines[-1] == (
        "accounting: respondents 11 raw = 7 kept + 4 excluded; "
        "answers 396 raw = 250 kept + 146 excluded"
    )


def test_nothing_is_written(codebook, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _lines(codebook)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_cleaned_gives_one_line(codebook):
    outcome = validate(EXPORTS / "qualtrics.csv", codebook, None)
    assert not outcome.ok and "needs a mapping" in outcome.reason and "\n" not in outcome.reason
