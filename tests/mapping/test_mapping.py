"""Mappings: YAML checks with one-line errors, and the translation to the template layout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hsc_research.errors import InputError
from hsc_research.ingest import read_export
from hsc_research.mapping import apply_mapping, load_mapping

MINIMAL = """
fields: {respondent_id: id, site: site, wave: {value: 2019}, profession: job}
items: {t1: trust.asc, r1: relationships.gp}
"""


def _mapping(tmp_path, codebook, text=MINIMAL, extra=""):
    path = tmp_path / "m.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return load_mapping(path, codebook)


def _export(tmp_path, body: str):
    path = tmp_path / "e.csv"
    path.write_text("id,site,job,t1,r1\n" + body, encoding="utf-8")
    return read_export(path, "plain")


def _error(tmp_path, codebook, extra: str) -> str:
    with pytest.raises(InputError) as info:
        _mapping(tmp_path, codebook, extra=extra)
    assert "\n" not in str(info.value) and "m.yaml" in str(info.value)
    return str(info.value)


def test_constant_wave_is_given_to_every_respondent(tmp_path, codebook):
    raw = _export(tmp_path, "A,North,GPs,Agree,4\nB,North,GPs,Agree,5\n")
    frame, _ = apply_mapping(raw, _mapping(tmp_path, codebook), codebook)
    assert frame["wave"].tolist() == ["2019", "2019"]


def test_unmapped_codebook_items_are_blank(tmp_path, codebook):
    raw = _export(tmp_path, "A,North,GPs,Agree,4\n")
    frame, _ = apply_mapping(raw, _mapping(tmp_path, codebook), codebook)
    assert frame["trust.gp"].isna().all() and frame["trust.asc"].tolist() == ["Agree"]


def test_local_answer_wordings_become_codebook_labels(tmp_path, codebook):
    extra = 'answers: {agree4: {"Agree strongly": Strongly agree}, rating5: {"5 - Strong": 5}}\n'
    raw = _export(tmp_path, "A,North,GPs,agree  STRONGLY,5 - Strong\n")
    frame, _ = apply_mapping(raw, _mapping(tmp_path, codebook, extra=extra), codebook)
    assert frame[["trust.asc", "relationships.gp"]].values.tolist() == [
        ["Strongly agree", "5 (strong)"]
    ]


def test_field_values_are_translated(tmp_path, codebook):
    extra = "values: {profession: {GP: gp}}\n"
    raw = _export(tmp_path, "A,North,GP,Agree,4\n")
    frame, _ = apply_mapping(raw, _mapping(tmp_path, codebook, extra=extra), codebook)
    assert frame["profession"].tolist() == ["gp"]


def test_numeric_codes_on_a_worded_scale_are_refused(tmp_path, codebook):
    raw = _export(tmp_path, "A,North,GPs,3,4\nB,North,GPs,1,4\n")
    with pytest.raises(InputError, match=r"column 't1' \(trust.asc\) holds numeric codes \[1, 3\]"):
        apply_mapping(raw, _mapping(tmp_path, codebook), codebook)


def test_numeric_codes_mapped_under_answers_are_accepted(tmp_path, codebook):
    extra = "answers: {agree4: {1: Strongly disagree, 3: Agree}}\n"
    raw = _export(tmp_path, "A,North,GPs,3,4\nB,North,GPs,1,4\n")
    frame, _ = apply_mapping(raw, _mapping(tmp_path, codebook, extra=extra), codebook)
    assert frame["trust.asc"].tolist() == ["Agree", "Strongly disagree"]


def test_layout_mismatch_is_refused(tmp_path, codebook):
    raw = _export(tmp_path, "A,North,GPs,Agree,4\n")
    with pytest.raises(InputError, match="the export is plain but .* is for qualtrics"):
        apply_mapping(raw, _mapping(tmp_path, codebook, extra="layout: qualtrics\n"), codebook)


def test_exclude_rule_flags_rows(tmp_path, codebook):
    path = tmp_path / "e.csv"
    path.write_text(
        "id,site,job,t1,r1,Status\nA,N,GPs,Agree,4,Survey Preview\nB,N,GPs,Agree,4,IP Address\n"
    )
    mapping = _mapping(
        tmp_path, codebook, extra="exclude: {column: Status, values: [Survey Preview]}\n"
    )
    frame, _ = apply_mapping(read_export(path, "plain"), mapping, codebook)
    assert frame["exclude_reason"].fillna("").tolist() == ["test_response", ""]


def test_unknown_top_level_key(tmp_path, codebook):
    assert "colums: unknown key" in _error(tmp_path, codebook, "colums: {}\n")


def test_item_that_is_not_in_the_codebook(tmp_path, codebook):
    text = MINIMAL.replace("trust.asc", "trust.porters")
    with pytest.raises(InputError, match=r"items.t1: .trust.porters. is not a codebook item"):
        _mapping(tmp_path, codebook, text=text)


def test_required_field_missing(tmp_path, codebook):
    text = MINIMAL.replace("profession: job", "")
    with pytest.raises(InputError, match="fields: missing profession"):
        _mapping(tmp_path, codebook, text=text.replace(", }", "}"))


def test_answer_target_not_on_the_scale(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "answers: {agree4: {Yes: Sometimes}}\n")
    assert "answers.agree4.Yes: 'Sometimes' is not a label of that scale" in msg


def test_profession_value_not_in_the_codebook(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "values: {profession: {Porter: porters}}\n")
    assert "values.profession.Porter: 'porters' is not a codebook profession" in msg


def test_invalid_yaml_names_the_line(tmp_path, codebook):
    path = tmp_path / "m.yaml"
    path.write_text("fields:\n  site: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"m.yaml: not valid YAML at line \d"):
        load_mapping(path, codebook)


def test_yes_and_no_stay_labels_not_booleans(tmp_path, codebook):
    mapping = _mapping(tmp_path, codebook, extra="answers: {agree4: {Yes: Agree, No: Disagree}}\n")
    assert mapping.answers["agree4"] == {"yes": "Agree", "no": "Disagree"}


# Hidden line breaks: YAML ends a line at U+2028, U+2029 and U+0085; many editors and
# viewers do not, so a rule after one inside a comment is read by YAML but not by a person.
@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85"])
def test_hidden_line_break_in_a_comment_is_refused(tmp_path, codebook, brk):
    # MINIMAL starts with a blank line: the comment is line 4.
    message = _error(
        tmp_path, codebook, f"# checked{brk}answers: {{agree4: {{Agree: Disagree}}}}\n"
    )
    assert "line 4" in message and "hidden line break" in message


def test_hidden_line_break_in_an_unquoted_value_is_refused(tmp_path, codebook):
    text = MINIMAL.replace("profession: job", "profession: job\u2028x")
    with pytest.raises(InputError, match="line 2: a hidden line break"):
        _mapping(tmp_path, codebook, text=text)


def test_hidden_line_break_inside_quotes_is_data(tmp_path, codebook):
    extra = "exclude: {column: Status, values: [\"Preview\u2028one\", 'Test\u2029two']}\n"
    assert _mapping(tmp_path, codebook, extra=extra).exclude_column == "Status"


def test_escaped_line_separator_in_quotes_is_data(tmp_path, codebook):
    mapping = _mapping(tmp_path, codebook, extra='exclude: {column: "Sta\\Ltus"}\n')
    assert mapping.exclude_column == "Sta\u2028tus"


def test_anchor_and_alias_are_refused(tmp_path, codebook):
    text = "fields: &f {respondent_id: id, site: site, wave: {value: 2019}, profession: job}\n"
    message = _error(tmp_path, codebook, text + "items: {t1: trust.asc}\n")
    assert "line 4" in message and "anchors and aliases" in message  # after MINIMAL


def test_alias_bomb_fails_fast_with_one_line(tmp_path):
    # Nine levels of nine aliases (9**9 strings if expanded) in the free_text list, which
    # the loader turns into text: before the fix this took 15 s and 3 GB. Run in a child
    # process with a memory cap and a timeout, so a regression fails instead of
    # exhausting the machine or hanging the suite.
    bomb = ['  - &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"  - &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text(MINIMAL + "free_text:\n" + "\n".join(bomb) + "\n", encoding="utf-8")
    assert len(path.read_bytes()) < 700
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30));"
        "from hsc_research.instrument import load_codebook;"
        "from hsc_research.mapping import load_mapping;"
        "load_mapping(sys.argv[1], load_codebook())"
    )
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("hsc_research.errors.InputError: ")
    assert "bomb.yaml: line 5: YAML anchors and aliases" in last


# Issue 12: several exclude rules, dates, accept, identity, null role level, column names.


def test_exclude_takes_a_list_of_rules_each_with_its_reason(tmp_path, codebook):
    extra = ("exclude:\n  - {column: Status, values: [Survey Preview]}\n"
             "  - {column: Finished, values: [\"False\"], reason: partial_response}\n")  # fmt: skip
    rules = _mapping(tmp_path, codebook, extra=extra).excludes
    assert [(r.column, r.values, r.reason) for r in rules] == [
        ("Status", ("Survey Preview",), "test_response"),
        ("Finished", ("False",), "partial_response"),
    ]


def test_an_exclude_reason_outside_the_list_is_refused(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "exclude: [{column: S, values: [x], reason: bored}]\n")
    assert "exclude[1].reason: 'bored' is not one of test_response, partial_response" in msg


def test_rows_meeting_two_rules_get_the_first_rule_s_reason(tmp_path, codebook):
    path = tmp_path / "e.csv"
    path.write_text("id,site,job,t1,r1,Status,Finished\nA,N,GPs,Agree,4,Survey Preview,False\n"
                    "B,N,GPs,Agree,4,IP Address,False\nC,N,GPs,Agree,4,IP Address,True\n")  # fmt: skip
    extra = ("exclude:\n  - {column: Status, values: [Survey Preview]}\n"
             "  - {column: Finished, values: [\"False\"], reason: partial_response}\n")  # fmt: skip
    frame, _ = apply_mapping(read_export(path, "plain"), _mapping(tmp_path, codebook, extra=extra),
                             codebook)  # fmt: skip
    assert frame["exclude_reason"].fillna("").tolist() == ["test_response", "partial_response", ""]


def test_date_order_must_be_one_of_three(tmp_path, codebook):
    assert "dates: give {order: ...} with one of dmy, mdy, ymd" in _error(
        tmp_path, codebook, "dates: {order: dym}\n"
    )


def test_accept_names_only_codebook_items(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "accept: {unmapped_items: [trust.porters]}\n")
    assert "accept.unmapped_items.trust.porters: not a codebook item" in msg


def test_accepted_share_is_between_0_and_1(tmp_path, codebook):
    assert "accept.excluded_share: 30: give a share from 0 to 1" in _error(
        tmp_path, codebook, "accept: {excluded_share: 30}\n"
    )


def test_identity_makes_the_default_key_identity_wave_and_site(tmp_path, codebook):
    mapping = _mapping(tmp_path, codebook, extra="duplicates: {identity: Email}\n")
    assert (mapping.identity, mapping.duplicate_key) == ("Email", ("identity", "wave", "site"))


def test_identity_in_the_key_without_a_column_is_refused(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "duplicates: {key: [identity, wave]}\n")
    assert "identity in the key needs identity: <column>" in msg


def test_a_role_level_mapped_to_null_reads_as_not_stated(tmp_path, codebook):
    mapping = _mapping(
        tmp_path, codebook, extra="values: {role_level: {Prefer not to say: null}}\n"
    )
    assert mapping.values["role_level"] == {"prefer not to say": ""}


def test_a_profession_mapped_to_null_is_refused(tmp_path, codebook):
    msg = _error(tmp_path, codebook, "values: {profession: {Prefer not to say: null}}\n")
    assert "every respondent needs a profession" in msg


def test_items_may_name_repeated_headers_by_order(tmp_path, codebook):
    path = tmp_path / "f.csv"
    path.write_text("ID,Start time,Completion time,Site,Job,GPs,GPs\n"
                    "1,2019-03-01,2019-03-01,N,GPs,Agree,4\n")  # fmt: skip
    text = ("fields: {respondent_id: ID, site: Site, wave: {value: 2019}, profession: Job}\n"
            "items: {'GPs #1': trust.gp, '#7': relationships.gp}\n")  # fmt: skip
    mapping = _mapping(tmp_path, codebook, text=text)
    frame, _ = apply_mapping(read_export(path), mapping, codebook)
    assert frame[["trust.gp", "relationships.gp"]].values.tolist() == [["Agree", "4"]]
