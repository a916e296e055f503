"""Bytes to cells: encodings, delimiters, typed spreadsheet cells."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from hsc_research.errors import InputError
from hsc_research.ingest.files import _excel_text, decode, sniff_delimiter, split_rows

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
