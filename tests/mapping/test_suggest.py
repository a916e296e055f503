"""`map --suggest`: matching export wording to the codebook."""

from __future__ import annotations

import csv
import importlib.util

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from hsc_research.mapping import load_mapping
from hsc_research.mapping.suggest import _comment, _q, similarity, suggest_mapping

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


# Issue 12: drafts that are right or say so.

_spec = importlib.util.spec_from_file_location(
    "suggest_accuracy", ROOT / "tests" / "fixtures" / "suggest_accuracy.py"
)
accuracy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accuracy)


@pytest.mark.parametrize(("export", "example"), accuracy.CASES)
def test_at_least_95_percent_right_and_every_wrong_match_says_check(export, example, codebook):
    got = accuracy.measure(EXPORTS / export, ROOT / "examples" / "mappings" / example, codebook)
    assert got["right"] >= 0.95 * got["total"] and got["unmarked"] == 0, got


def _forms_csv(tmp_path, first: list[str], second: list[str]):
    """A Forms export with two columns headed "GPs", holding ``first`` and ``second``."""
    path = tmp_path / "forms.csv"
    lines = ["ID,Start time,Completion time,GPs,GPs"]
    lines += [f"{i},2019-03-0{i},2019-03-0{i},{a},{b}" for i, (a, b) in enumerate(zip(first, second, strict=True), 1)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _item_line(text: str, key: str) -> str:
    return next(li for li in text.split("\n") if li.startswith(f"  {_q(key)}:"))


def test_answers_tell_apart_questions_with_the_same_statement(tmp_path, codebook):
    path = _forms_csv(tmp_path, ["Agree", "Disagree", "Agree"], ["4", "5 (strong)", "2"])
    text = _draft(path, codebook)
    assert yaml.safe_load(text)["items"] == {"GPs #1": "trust.gp", "GPs #2": "relationships.gp"}
    assert "CHECK" not in _item_line(text, "GPs #1") + _item_line(text, "GPs #2")


def test_same_statements_with_no_answers_go_by_form_order_and_say_check(tmp_path, codebook):
    text = _draft(_forms_csv(tmp_path, ["", "", ""], ["", "", ""]), codebook)
    # discharge_influence, trust and relationships all list "GPs": the order decides.
    assert yaml.safe_load(text)["items"] == {
        "GPs #1": "discharge_influence.gp", "GPs #2": "trust.gp"}  # fmt: skip
    assert "CHECK" in _item_line(text, "GPs #1") and "CHECK" in _item_line(text, "GPs #2")


def test_common_non_substantive_labels_are_recognised(codebook):
    answers = yaml.safe_load(_draft(EXPORTS / "surveymonkey.csv", codebook))["answers"]
    assert answers["frequency5"] == {"N/A": "Not applicable", "Not sure": "Don't know"}


def test_prefer_not_to_say_is_offered_for_checking(tmp_path, codebook):
    text = _draft(_qualtrics_with(tmp_path, first_trust_cell="Prefer not to say"), codebook)
    line = next(li for li in text.split("\n") if li.strip().startswith('"Prefer not to say"'))
    assert '"Don\'t know"' in line and "CHECK" in line


def test_role_levels_holding_the_codebook_words_are_suggested(codebook):
    values = yaml.safe_load(_draft(EXPORTS / "msforms.xlsx", codebook))["values"]
    assert values["role_level"] == {
        "Senior leader (director or above)": "senior_leader",
        "Manager or team leader": "manager", "Frontline staff": "frontline"}  # fmt: skip


def test_site_values_are_matched_to_the_register(codebook):
    sites = pd.DataFrame({"site_id": ["ns", "southvale"],
                          "site_name": ["Northshire Trust", "Southvale"]})  # fmt: skip
    text, _ = suggest_mapping(EXPORTS / "surveymonkey.csv", codebook, sites=sites)
    assert yaml.safe_load(text)["values"]["site"] == {"Northshire": "ns"}


def test_collector_id_is_drafted_as_the_site_and_each_collector_as_todo(tmp_path, codebook):
    rows = list(csv.reader(open(EXPORTS / "surveymonkey.csv", encoding="utf-8", newline="")))
    at = rows[0].index("site")
    path = tmp_path / "sm.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([r[:at] + r[at + 1 :] for r in rows])
    text = _draft(path, codebook)
    assert next(li for li in text.split("\n") if li.startswith("  site:")).startswith(
        '  site: "Collector ID"  # CHECK'
    )
    assert '    # "2500001": TODO  (4 respondents; one of the site\'s name)' in text.split("\n")


def test_partial_responses_get_their_own_rule_to_check(codebook):
    text = _draft(EXPORTS / "qualtrics.csv", codebook)
    rules = yaml.safe_load(text)["exclude"]
    assert rules[1] == {"column": "Finished", "values": ["False"], "reason": "partial_response"}


def test_forms_repeats_are_drafted_by_e_mail(codebook):
    assert yaml.safe_load(_draft(EXPORTS / "msforms.xlsx", codebook))["duplicates"] == {
        "identity": "Email"
    }


def test_the_draft_says_how_dates_will_be_read(codebook):
    text = _draft(EXPORTS / "surveymonkey.csv", codebook)
    assert "# dates: read as mdy (month first, shown by 5 value(s)" in text


def test_a_rival_within_the_margin_says_check(tmp_path, codebook):
    rows = list(csv.reader(open(EXPORTS / "surveymonkey.csv", encoding="utf-8", newline="")))
    # Two local wordings that fit both admission items about community services.
    i = rows[1].index("Not trusting community services to manage the person")
    j = rows[1].index("Community services lacking capacity")
    rows[1][i], rows[1][j] = "Trust in community services", "Community services capacity"
    path = tmp_path / "sm.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    lines = [li for li in _draft(path, codebook).split("\n") if "- Trust in comm" in li
             or "- Community services capacity" in li]  # fmt: skip
    assert len(lines) == 2 and all("CHECK" in li for li in lines)
