"""Reading template exports: every cell as text, one-line errors."""

from __future__ import annotations

import pytest

from hsc_research.errors import InputError
from hsc_research.ingest import read_template


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
