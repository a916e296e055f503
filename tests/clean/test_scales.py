"""Label normalisation and coding of answers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsc_research.clean.scales import STATUS_CODE, code_answers, match_categories
from hsc_research.ingest.labels import normalise_label


def _names(status):
    names = {v: k for k, v in STATUS_CODE.items()}
    return [names[s] for s in status]


def test_normalise_folds_case_space_and_typographic_quotes():
    assert normalise_label("  Don\u2019t   KNOW ") == "dont know"
    assert normalise_label("Strongly\u00a0agree") == "strongly agree"


def test_normalise_maps_unicode_dashes():
    assert normalise_label("1 \u2013 poor") == normalise_label("1 - poor")


def test_normalise_missing_is_empty():
    assert normalise_label(None) == ""
    assert normalise_label(float("nan")) == ""


def test_agree4_labels_and_non_substantive(codebook):
    values = pd.Series(["Strongly agree", "agree ", "DISAGREE", "Strongly disagree", "Don't know",
                        "Not applicable", None, "4", "#N/A"])  # fmt: skip
    codes, status = code_answers(values, codebook.scales["agree4"], codebook)
    # agree4 is not numeric: a bare "4" is not a label, so it is invalid.
    assert codes.tolist() == [4, 3, 2, 1, -1, -1, -1, -1, -1]
    assert _names(status) == ["valid", "valid", "valid", "valid", "dont_know", "not_applicable",
                               "blank", "invalid", "invalid"]  # fmt: skip


def test_rating5_accepts_bare_numbers_and_rejects_out_of_range(codebook):
    values = pd.Series(["1 (poor)", "2", "3.0", "5 (Strong)", "0", "6", "99", "three"])
    codes, status = code_answers(values, codebook.scales["rating5"], codebook)
    assert codes.tolist() == [1, 2, 3, 5, -1, -1, -1, -1]
    assert _names(status) == ["valid"] * 4 + ["invalid"] * 4


def test_frequency5_codes(codebook):
    values = pd.Series(["Never", "Infrequently", "Sometimes", "Frequently", "Very  frequently"])
    codes, _ = code_answers(values, codebook.scales["frequency5"], codebook)
    assert codes.tolist() == [0, 1, 2, 3, 4]


def test_match_categories_by_label_or_id():
    known = {"asc": "Adult social care", "gp": "GPs"}
    out = match_categories(pd.Series(["adult  SOCIAL care", "gp", "Porter", np.nan]), known)
    assert out.tolist() == ["asc", "gp", None, None]


def test_coding_chosen_rows_equals_coding_those_rows(codebook):
    """``rows`` codes the cells at those positions, as coding ``values.iloc[rows]`` does
    (a value only in a row left out is not looked at)."""
    values = pd.Series(["Agree", "banana", None, "Strongly disagree", "Don't know", "Agree"])
    rows = np.array([0, 2, 3, 4, 5])
    got = code_answers(values, codebook.scales["agree4"], codebook, rows)
    expected = code_answers(values.iloc[rows], codebook.scales["agree4"], codebook)
    assert [a.tolist() for a in got] == [a.tolist() for a in expected]
    assert got[0].tolist() == [3, -1, 1, -1, 3]
