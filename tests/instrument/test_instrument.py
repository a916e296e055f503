"""Codebook loading and validation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from hsc_research.errors import CodebookError
from hsc_research.instrument import DEFAULT_CODEBOOK, load_codebook


def test_default_codebook_has_the_five_questions(codebook):
    assert [q.id for q in codebook.questions] == [
        "admission_factors", "discharge_influence", "wrong_pathway", "trust", "relationships",
    ]  # fmt: skip


def test_profession_questions_have_one_item_per_profession(codebook):
    professions = [p.id for p in codebook.professions]
    for qid in ("discharge_influence", "trust", "relationships"):
        assert [it.target for it in codebook.question(qid).items] == professions


def test_relationships_exclude_self_ratings_and_trust_allows_them(codebook):
    assert codebook.question("relationships").self_policy == "excluded"
    assert codebook.question("trust").self_policy == "allowed"


def test_scales_match_the_design(codebook):
    assert codebook.scales["frequency5"].codes == [0, 1, 2, 3, 4]
    assert codebook.scales["frequency5"].high == (3, 4)
    assert codebook.scales["agree4"].labels == [
        "Strongly disagree",
        "Disagree",
        "Agree",
        "Strongly agree",
    ]
    assert codebook.scales["agree4"].midpoint is None
    assert codebook.scales["rating5"].codes == [1, 2, 3, 4, 5]


def test_professions_roll_up_to_three_groups(codebook):
    assert codebook.profession_group == {
        "asc": "asc", "hospital_discharge": "hospital", "hospital_clinical": "hospital",
        "gp": "community", "community_health": "community", "care_provider": "community",
    }  # fmt: skip


def test_admission_factors_are_tagged_behaviour_or_process(codebook):
    tags = {it.tag for it in codebook.question("admission_factors").items}
    assert tags == {"behaviour", "process"}


def test_scale_dtype_is_ordered_low_to_high(codebook):
    dtype = codebook.scales["frequency5"].dtype
    assert dtype.ordered
    assert list(dtype.categories) == [
        "Never",
        "Infrequently",
        "Sometimes",
        "Frequently",
        "Very frequently",
    ]


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a shared object out twice: codebooks refuse YAML anchors and aliases."""

    def ignore_aliases(self, data):
        return True


def _broken(tmp_path, mutate):
    raw = yaml.safe_load(DEFAULT_CODEBOOK.read_text())
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.dump(raw, Dumper=_NoAliasDumper))
    return path


def _error(path) -> str:
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_unknown_scale_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["questions"][0].update(scale="frequency7"))
    assert "questions.admission_factors.scale" in _error(path)


def test_duplicate_question_id_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["questions"].append(dict(r["questions"][0])))
    assert "questions.admission_factors" in _error(path)
    assert "duplicate" in _error(path)


def test_duplicate_item_id_is_named(tmp_path):
    def dup(r):
        items = r["questions"][0]["items"]
        items.append(dict(items[0]))

    assert "questions.admission_factors.items.risk_mitigation" in _error(_broken(tmp_path, dup))


def test_item_without_label_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["questions"][2]["items"][1].pop("label"))
    assert "questions.wrong_pathway.items.what_is_available" in _error(path)


def test_scale_without_codes_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["scales"]["agree4"].update(levels=[]))
    assert "scales.agree4" in _error(path)
    assert "no codes" in _error(path)


def test_profession_without_group_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["professions"][3].pop("group"))
    assert "professions.gp" in _error(path)


def test_profession_with_unknown_group_is_named(tmp_path):
    path = _broken(tmp_path, lambda r: r["professions"][3].update(group="primary"))
    assert "professions.gp.group" in _error(path)


def test_missing_file_is_one_line(tmp_path):
    assert "cannot read codebook" in _error(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nscales: [unclosed\n")
    assert "not valid YAML" in _error(path)


def test_code_that_cannot_be_stored_is_named(tmp_path):
    def code_200(r):
        r["scales"]["agree4"]["levels"][3]["code"] = 200
        r["scales"]["agree4"]["high"] = [3, 200]

    message = _error(_broken(tmp_path, code_200))
    assert "scales.agree4.levels[3].code" in message and "code 200 is outside -128..127" in message


def test_boolean_code_is_not_an_integer(tmp_path):
    path = _broken(tmp_path, lambda r: r["scales"]["agree4"]["levels"][0].update(code=True))
    assert "scales.agree4.levels[0].code" in _error(path)


def test_high_codes_must_be_a_list(tmp_path):
    path = _broken(tmp_path, lambda r: r["scales"]["agree4"].update(high=4))
    assert "scales.agree4.high" in _error(path)


def test_anchor_is_refused_with_its_line(tmp_path):
    path = tmp_path / "anchored.yaml"
    path.write_text("id: x\nscales: &s {}\n")
    message = _error(path)
    assert "line 2" in message and "anchors and aliases" in message


def test_alias_bomb_fails_fast_with_one_line(tmp_path):
    # Nine levels of nine aliases in a scale label (which the loader turns into text).
    # A child process with a memory cap and a timeout: a regression fails, it does not
    # exhaust the machine or hang the suite.
    bomb = ['  - &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    bomb += [f"  - &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("id: x\nlols:\n" + "\n".join(bomb) + "\nscales: {s: {label: *a8}}\n")
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30));"
        "from hsc_research.instrument import load_codebook; load_codebook(sys.argv[1])"
    )
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("hsc_research.errors.CodebookError: ")
    assert "bomb.yaml: line 3: YAML anchors and aliases" in last


def test_each_load_returns_its_own_codebook(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_bytes(DEFAULT_CODEBOOK.read_bytes())
    first = load_codebook(path)
    first.scales.clear()  # a report that changes its copy
    first.non_substantive["x"] = "y"
    again = load_codebook(path)
    assert again is not first
    assert "x" not in again.non_substantive
    # The packaged file's agree4 scale, as written in hsc2019.yaml.
    assert again.scales["agree4"].labels == [
        "Strongly disagree", "Disagree", "Agree", "Strongly agree"
    ]  # fmt: skip
    assert again.scales["agree4"].high == (3, 4)


def test_an_edited_codebook_is_read_again(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_bytes(DEFAULT_CODEBOOK.read_bytes())
    assert load_codebook(path).title != "Edited"
    raw = yaml.safe_load(path.read_text())
    raw["title"] = "Edited"
    path.write_text(yaml.dump(raw, Dumper=_NoAliasDumper))
    assert load_codebook(path).title == "Edited"
    path.write_text("id: x\nscales: &s {}\n")
    assert "anchors and aliases" in _error(path)
