"""Reading template exports: every cell as text, one-line errors."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hsc_research.errors import InputError
from hsc_research.ingest import read_export, read_template
from hsc_research.ingest.layouts import Column, find_column


def _error(path, codebook) -> str:
    with pytest.raises(InputError) as info:
        read_template(path, codebook)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_excel_error_values_stay_text(write_export, codebook):
    path = write_export([{"respondent_id": "R1", "site": "A", "wave": "2019", "profession": "GPs",
                          "trust.asc": "#N/A", "trust.gp": "N/A"}])  # fmt: skip
    df = read_template(path, codebook)
    assert df.loc[0, "trust.asc"] == "#N/A"
    assert df.loc[0, "trust.gp"] == "N/A"
    assert df.loc[0, ["trust.care_provider"]].isna().all()  # only an empty cell is missing


def test_raw_row_is_the_spreadsheet_row(write_export, codebook):
    path = write_export([{"respondent_id": f"R{i}"} for i in range(3)])
    assert read_template(path, codebook)["raw_row"].tolist() == [2, 3, 4]


def test_byte_order_mark_is_accepted(write_export, codebook, tmp_path):
    path = write_export([{"respondent_id": "R1"}])
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_template(bom, codebook).columns[1] == "respondent_id"


def test_missing_file(tmp_path, codebook):
    assert "file not found" in _error(tmp_path / "none.csv", codebook)


def test_empty_file(tmp_path, codebook):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "empty" in _error(path, codebook)


def test_header_only(write_export, codebook):
    assert "header only" in _error(write_export([]), codebook)


def test_missing_columns_are_listed(tmp_path, codebook):
    path = tmp_path / "short.csv"
    path.write_text("respondent_id,site\nR1,A\n")
    msg = _error(path, codebook)
    assert "missing column(s) wave, profession" in msg


def test_duplicate_column(write_export, codebook):
    cols = ["respondent_id", "site", "wave", "profession", "site",
            *[it.column for it in codebook.items]]  # fmt: skip
    path = write_export([{"respondent_id": "R1"}], columns=cols)
    assert "'site' appears twice" in _error(path, codebook)


def test_not_utf8(write_export, codebook, tmp_path):
    path = write_export([{"respondent_id": "R1", "site": "Caf\u00e9"}])
    latin = tmp_path / "latin.csv"
    latin.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    assert "not UTF-8" in _error(latin, codebook)


def test_ragged_rows(write_export, codebook, tmp_path):
    path = write_export([{"respondent_id": "R1"}])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(path.read_text() + "R2,x,y" + "," * 60 + "\n")
    assert "cannot parse as CSV" in _error(ragged, codebook)


# Column names, repeated Forms headers, and what leaves the reader (issue 12).

_FORMS = (
    "ID,Start time,Completion time,Email,Staff no,GPs,Adult social care,GPs,Adult social care\n"
    "1,2019-03-01,2019-03-01,Ann@Example.net ,S1,Agree,Disagree,4,3\n"
    "2,2019-03-02,2019-03-02,ann@example.net,S2,Agree,Agree,5,2\n"
    "3,2019-03-03,2019-03-03,anonymous,S3,Agree,Agree,5,2\n"
    "4,2019-03-04,2019-03-04,Anonymous,S4,Agree,Agree,5,2\n"
)


def _forms(tmp_path):
    path = tmp_path / "forms.csv"
    path.write_text(_FORMS, encoding="utf-8")
    return path


def test_repeated_forms_headers_are_keyed_in_form_order(tmp_path):
    keys = [c.key for c in read_export(_forms(tmp_path)).columns][-4:]
    assert keys == ["GPs #1", "Adult social care #1", "GPs #2", "Adult social care #2"]


_COLS = [Column("GPs #1", "GPs", "", 5), Column("Site", "Site", "", 6),
         Column("GPs #2", "GPs", "", 7)]  # fmt: skip


def test_a_column_is_named_by_header_k():
    assert find_column(_COLS, "GPs #2").position == 7


def test_a_column_is_named_by_its_position_counted_from_1():
    assert find_column(_COLS, "#7").key == "Site"


def test_a_repeated_header_named_bare_says_how_to_name_one():
    with pytest.raises(LookupError, match=r"'GPs' heads 2 columns \(6, 8\); name one as 'GPs #1'"):
        find_column(_COLS, "GPs")


def test_only_the_columns_asked_for_leave_the_reader(tmp_path):
    raw = read_export(_forms(tmp_path), keep={"ID", "GPs #2"})
    assert list(raw.data.columns) == ["raw_row", "ID", "GPs #2"]
    assert "Staff no" in raw.unread and "GPs #1" in raw.unread


def test_identity_column_is_kept_only_as_a_keyed_hash(tmp_path):
    key = bytes(32)
    raw = read_export(_forms(tmp_path), keep={"ID"}, identity="Email", key=key)
    want = hmac.new(key, b"ann@example.net", hashlib.sha256).hexdigest()
    assert raw.data["Email"].tolist()[:2] == [want, want]  # case and spaces folded


def test_forms_anonymous_names_nobody(tmp_path):
    raw = read_export(_forms(tmp_path), keep={"ID"}, identity="Email")
    assert raw.data["Email"].iloc[2:].isna().all()
