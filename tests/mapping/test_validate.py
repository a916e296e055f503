"""`validate`: what cleaning would do, printed, with nothing written."""

from __future__ import annotations

import pandas as pd
from conftest import ROOT

from hsc_research.mapping.validate import validate

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


# Issue 12: dates printed, what was dropped, and the checks that stop a bad clean.

PLAIN = "id,site,wave,profession,submitted,t1\n"


#: A register with North only (without one, every site name is accepted).
NORTH = pd.DataFrame({"site_id": ["north"], "site_name": ["North"]})


def _plain(tmp_path, codebook, rows: str, extra: str = "", accept: str = "", sites=None):
    export = tmp_path / "e.csv"
    export.write_text(PLAIN + rows, encoding="utf-8")
    rest = [it.column for it in codebook.items if it.column != "trust.asc"]
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "layout: plain\nfields: {respondent_id: id, site: site, wave: wave, profession: profession, "
        "submitted_at: submitted}\nitems: {t1: trust.asc}\n"
        f"accept: {{unmapped_items: [{', '.join(rest)}]{accept}}}\n{extra}",
        encoding="utf-8",
    )
    return validate(export, codebook, mapping, sites=sites)


_FIVE = "".join(f"P{i},North,2019,GPs,03/0{i}/2019,Agree\n" for i in range(1, 5))


def test_prints_the_date_order_and_why(codebook):
    lines = _lines(codebook, "surveymonkey.csv", "surveymonkey.yaml")
    assert "dates:    submitted_at read as mdy (month first, shown by 5 value(s) such as row 6 " \
        "'03/14/2019 01:30:00 PM')" in lines  # fmt: skip


def test_lists_the_columns_dropped_because_they_are_not_mapped(codebook):
    lines = _lines(codebook, "surveymonkey.csv", "surveymonkey.yaml")
    at = lines.index("dropped at ingest, not mapped (3):")
    assert lines[at + 1 : at + 4] == ["  Collector ID", "  Start Date", "  Custom Data 1"]


def test_an_unknown_site_stops_with_the_fix_in_one_line(tmp_path, codebook):
    out = _plain(tmp_path, codebook, _FIVE + "P5,Head office,2019,GPs,03/05/2019,Agree\n",
                 sites=NORTH)  # fmt: skip
    assert not out.ok and "\n" not in out.reason
    assert "1 respondent(s) would be excluded for a site that fits nothing ('Head office' x1; " \
        "rows 6)" in out.reason and "accept: {unknown_values: {site: ['Head office']}}" in out.reason  # fmt: skip


def test_an_accepted_unknown_site_passes(tmp_path, codebook):
    out = _plain(tmp_path, codebook, _FIVE + "P5,Head office,2019,GPs,03/05/2019,Agree\n",
                 accept=", unknown_values: {site: [head office]}", sites=NORTH)  # fmt: skip
    assert out.ok


def test_a_codebook_item_with_no_column_stops(codebook, tmp_path):
    mapping = tmp_path / "m.yaml"
    text = (MAPPINGS / "qualtrics.yaml").read_text(encoding="utf-8")
    mapping.write_text(text.replace('  "Q4_1": trust.asc', ""), encoding="utf-8")
    out = validate(EXPORTS / "qualtrics.csv", codebook, mapping)
    assert not out.ok and "1 codebook item(s) have no column (trust.asc)" in out.reason


def test_more_than_a_fifth_excluded_stops(tmp_path, codebook):
    out = _plain(tmp_path, codebook, _FIVE + "P5,North,2019,GPs,03/05/2019,\n"
                 "P6,North,2019,GPs,03/06/2019,\n")  # fmt: skip
    # 2 of 6 (33%) have no substantive answer.
    assert not out.ok and "2 of 6 respondents (33%) would be excluded" in out.reason
    assert "accept: {excluded_share: 0.34}" in out.reason


def test_an_accepted_share_passes(tmp_path, codebook):
    out = _plain(tmp_path, codebook, _FIVE + "P5,North,2019,GPs,03/05/2019,\n"
                 "P6,North,2019,GPs,03/06/2019,\n", accept=", excluded_share: 0.34")  # fmt: skip
    assert out.ok


def test_previews_partials_and_repeats_do_not_count_towards_the_share(codebook):
    # Qualtrics fixture: preview, partial and repeat (3 of 11) and one blank respondent.
    assert validate(EXPORTS / "qualtrics.csv", codebook, MAPPINGS / "qualtrics.yaml").ok
