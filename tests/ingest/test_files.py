"""Bytes to cells: encodings, delimiters, typed spreadsheet cells."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hsc_research.errors import InputError
from hsc_research.ingest.files import (
    _excel_text,
    check_export_file,
    decode,
    read_grid,
    sniff_delimiter,
    split_rows,
)
from hsc_research.instrument import load_codebook
from hsc_research.mapping import read_mapped

P = Path("x.csv")


def test_commas_inside_quoted_question_text_do_not_fool_the_sniffer():
    assert sniff_delimiter('id;"Do you agree, or not?";site\n1;2;3\n') == ";"


def test_tab_delimited():
    assert sniff_delimiter("id\tsite\twave\n") == "\t"


def test_windows_1252_apostrophe():
    assert decode(b"Don\x92t know", P) == ("Don\u2019t know", "cp1252")


def test_utf8_bom_is_removed():
    assert decode(b"\xef\xbb\xbfid", P) == ("id", "utf-8-sig")


def test_utf16_from_excel_unicode_text():
    assert decode("id\tsite".encode("utf-16"), P) == ("id\tsite", "utf-16")


def test_mixed_encodings_name_the_line():
    with pytest.raises(InputError, match="mixed encodings: line 2 is not UTF-8"):
        decode("caf\u00e9\n".encode() + b"caf\xe9\n", P)


def test_quoted_newline_stays_in_one_cell():
    assert split_rows('a,b\n"x\ny",z\n', ",", P) == [["a", "b"], ["x\ny", "z"]]


@pytest.mark.parametrize(
    ("value", "text"),
    [(4.0, "4"), (4, "4"), (2.5, "2.5"), (None, ""), (True, "TRUE"),
     (dt.datetime(2019, 5, 1, 9, 30), "2019-05-01 09:30:00")],
)  # fmt: skip
def test_typed_excel_cells_read_as_a_spreadsheet_shows_them(value, text):
    assert _excel_text(value) == text


def test_header_wider_than_the_limit_names_the_count_and_the_limit(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(20_001)) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        check_export_file(path)
    assert "the header has 20,001 columns, more than the 20,000" in str(info.value)


def test_header_at_the_limit_is_read(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n", encoding="utf-8")
    assert check_export_file(path) is None


def test_quoted_commas_do_not_count_as_columns(tmp_path):
    # 19,999 columns, one a question text holding ten commas: 20,008 commas in all, so
    # 20,009 columns if counted blindly, over the limit.
    names = [f"c{i}" for i in range(19_998)] + ['"Q1, with, ten, commas, , , , , , , "']
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n", encoding="utf-8")
    assert check_export_file(path) is None


def test_wide_template_export_is_not_reported_as_empty(tmp_path):
    # The trial: 100,000 columns after the template's respondent fields, names long
    # enough that the header passes a megabyte.
    names = ["respondent_id", "submitted_at", "site", "wave", "profession"]
    names += [f"extra_column_{i:06d}" for i in range(100_000 - 5)]
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("x" for _ in names) + "\n")
    with pytest.raises(InputError, match="the header has 100,000 columns"):
        read_mapped(path, load_codebook())


def test_folder_is_not_an_export(tmp_path):
    with pytest.raises(InputError, match="is a folder; give the export file itself"):
        read_grid(tmp_path)


def test_device_is_not_an_export():
    with pytest.raises(InputError, match="is not a regular file"):
        check_export_file(Path("/dev/null"))


def test_wide_header_below_a_title_line_is_refused(tmp_path):
    path = tmp_path / "titled.csv"
    path.write_text("Survey export 2019\n" + ",".join(f"c{i}" for i in range(20_001)) + "\n")
    with pytest.raises(InputError, match="the header has 20,001 columns"):
        read_grid(path)
