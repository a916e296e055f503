"""`map --suggest`: matching export wording to the codebook."""

from __future__ import annotations

import csv

import pytest
import yaml
from conftest import ROOT

from hsc_research.mapping import load_mapping
from hsc_research.suggest import _comment, _q, similarity, suggest_mapping

EXPORTS = ROOT / "tests" / "fixtures" / "exports"


def test_word_order_does_not_matter():
    assert similarity("Agree strongly", "Strongly agree") == 1.0


def test_unrelated_wordings_score_low():
    assert similarity("Lack of capacity in community services", "GPs") < 0.3


def test_suggestion_is_valid_yaml_matching_the_checked_example(codebook):
    text, _ = suggest_mapping(EXPORTS / "surveymonkey.csv", codebook)
    suggested = yaml.safe_load(text)
    example = yaml.safe_load((ROOT / "examples" / "mappings" / "surveymonkey.yaml").read_text())
    # The hand-checked example kept every suggested item as it was.
    assert suggested["items"] == example["items"]
    assert len(suggested["items"]) == len(codebook.items)


def test_local_wordings_get_codebook_labels(codebook):
    text, _ = suggest_mapping(EXPORTS / "surveymonkey.csv", codebook)
    answers = yaml.safe_load(text)["answers"]
    assert answers["agree4"]["Agree strongly"] == "Strongly agree"
    assert answers["rating5"]["5 - Strong"] == "5 (strong)"


def test_numeric_recodes_are_marked_for_checking(codebook):
    text, _ = suggest_mapping(EXPORTS / "qualtrics_numeric.csv", codebook)
    line = next(li for li in text.splitlines() if li.strip().startswith('"1": "Never"'))
    assert "CHECK" in line


def test_identifying_columns_are_never_suggested(codebook):
    text, _ = suggest_mapping(EXPORTS / "qualtrics.csv", codebook)
    assert "RecipientEmail" not in text and "IPAddress" not in text


def test_template_layout_needs_no_mapping(codebook):
    _, summary = suggest_mapping(EXPORTS / "template.csv", codebook)
    assert summary == "template layout: no mapping needed"


# Hostile exports: text from the export must stay data in the draft, never become rules.
# The payload is the trial's: after a hidden line break, an `answers:` block that reverses
# the agree scale, then `#` to comment out the closing quote.
_LS = "\u2028"
_REVERSAL = _LS.join(
    ["Notes", "answers:", "  agree4:", "    Agree: Strongly disagree",
     "    Strongly agree: Disagree", "#"]
)  # fmt: skip


def _qualtrics_with(tmp_path, header: str = "Notes", first_trust_cell: str | None = None):
    """The Qualtrics fixture plus one unmapped column named ``header``; optionally the
    first respondent's trust-in-ASC answer (Q4_1) replaced by ``first_trust_cell``."""
    rows = list(csv.reader(open(EXPORTS / "qualtrics.csv", encoding="utf-8-sig", newline="")))
    q4_1 = rows[0].index("Q4_1")
    if first_trust_cell is not None:
        rows[3][q4_1] = first_trust_cell
    rows[0].append(header)
    rows[1].append(header)
    rows[2].append('{"ImportId": "notes"}')
    for r in rows[3:]:
        r.append("x")
    path = tmp_path / "hostile.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _draft(path, codebook) -> str:
    text, _ = suggest_mapping(path, codebook)
    return text


def test_header_with_a_hidden_line_break_adds_no_rule(tmp_path, codebook):
    plain = yaml.safe_load(_draft(EXPORTS / "qualtrics.csv", codebook))
    hostile = yaml.safe_load(_draft(_qualtrics_with(tmp_path, header=_REVERSAL), codebook))
    assert hostile["answers"] == plain["answers"]  # no agree4 table appeared


def test_free_text_cell_with_a_hidden_line_break_adds_no_rule(tmp_path, codebook):
    plain = yaml.safe_load(_draft(EXPORTS / "qualtrics.csv", codebook))
    text = _draft(_qualtrics_with(tmp_path, first_trust_cell=_REVERSAL), codebook)
    # The cell is listed for the analyst (a TODO comment) and is nothing more.
    assert yaml.safe_load(text)["answers"].get("agree4") in (None, {})
    assert yaml.safe_load(text)["answers"]["rating5"] == plain["answers"]["rating5"]


def test_draft_of_a_hostile_export_is_accepted_by_the_mapping_loader(tmp_path, codebook):
    text = _draft(_qualtrics_with(tmp_path, header=_REVERSAL), codebook)
    path = tmp_path / "draft.yaml"
    path.write_text(text, encoding="utf-8")
    assert "agree4" not in load_mapping(path, codebook).answers


def test_hidden_line_break_is_shown_escaped_in_the_comment(tmp_path, codebook):
    text = _draft(_qualtrics_with(tmp_path, header=_REVERSAL), codebook)
    line = next(li for li in text.split("\n") if "Notes" in li)
    assert line.startswith("#") and "\\Lanswers:\\L" in line


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85", "\r", "\v"])
def test_no_line_break_of_any_kind_reaches_the_draft(tmp_path, codebook, brk):
    text = _draft(_qualtrics_with(tmp_path, header=f"Notes{brk}answers: x"), codebook)
    # Python's splitlines() breaks on every one of these: only our own \n may remain.
    assert text.splitlines() == text.split("\n")[:-1]


def test_export_strings_are_quoted_keys_and_values(tmp_path, codebook):
    text = _draft(_qualtrics_with(tmp_path, header="a: b # c"), codebook)
    assert '#   "a: b # c"' in text.split("\n")


def test_comment_text_escapes_bidi_and_separators():
    assert _comment("a\u202eb\u2028c\td") == "a\\u202eb\\u2028c\\u0009d"


def test_quoted_scalar_escapes_yaml_line_breaks():
    assert _q("a\u2028b\u2029c\x85d\re") == '"a\\Lb\\Pc\\Nd\\re"'
