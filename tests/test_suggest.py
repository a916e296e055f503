"""`map --suggest`: matching export wording to the codebook."""

from __future__ import annotations

import yaml
from conftest import ROOT

from hsc_research.suggest import similarity, suggest_mapping

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
