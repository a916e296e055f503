"""The public API: load, Survey, statistics on any breakdown with disclosure control, plots
that take the statistics' outputs. Data are hand-made: each respondent answers one item
high (code 3, "Agree") or low (code 1), so every count and proportion is known."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import hsc_research as hsc
from hsc_research.api import Survey, SurveyError
from hsc_research.clean import read_tables, write_tables
from hsc_research.instrument import load_codebook

CB = load_codebook()
GROUP = CB.profession_group


def make_survey(cells: list[dict]) -> Survey:
    """Each cell: ``n`` respondents with the given fields answering ``item`` (default
    trust.gp), ``k`` of them high."""
    people, answers = [], []
    for cell in cells:
        cell = dict(cell)
        n, k = cell.pop("n"), cell.pop("k", 0)
        question, item = cell.pop("item", "trust.gp").split(".")
        fields = {"site": "a", "wave": 2019, "profession": "gp", "role_level": "frontline"}
        fields.update(cell)
        fields["group"] = GROUP[fields["profession"]]
        for i in range(n):
            rid = f"r{len(people)}"
            people.append({"respondent_id": rid, "site_name": fields["site"].upper(), **fields})
            answers.append({"respondent_id": rid, **fields, "question": question, "item": item,
                            "code": 3 if i < k else 1, "status": "valid"})  # fmt: skip
    responses = pd.DataFrame(answers).astype({"code": "Int8"})
    return Survey(responses, pd.DataFrame(people), pd.DataFrame(), CB)


def status(table: pd.DataFrame, key: str) -> dict:
    return dict(zip(table[key], table["suppressed"].astype(object).where(table["suppressed"].notna(), None), strict=True))  # fmt: skip


# --- the package surface --------------------------------------------------------------


def test_import_is_cheap_and_changes_no_global_state():
    code = (
        "import sys, hsc_research as hsc; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'statsmodels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves():
    assert hsc.__all__[0] == "__version__"
    for name in hsc.__all__:
        assert getattr(hsc, name) is not None, name


def test_version_is_written_once():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert "hsc_research.__version__" in pyproject


def test_read_tables_accepts_a_string_path(tmp_path):
    survey = hsc.demo_survey(sites=1, respondents=12, waves=(2019,))
    from hsc_research.clean import CleanResult

    write_tables(CleanResult(survey.responses, survey.respondents, survey.exclusions,
                             raw_rows=12, raw_answers=len(survey.responses)), tmp_path)  # fmt: skip
    assert len(read_tables(str(tmp_path)).respondents) == 12


def test_codebook_repr_is_one_short_line():
    assert repr(CB) == "<Codebook hsc2019: 5 questions, 36 items, 6 professions>"


def test_survey_repr_is_one_short_line():
    survey = make_survey([{"n": 3}, {"n": 2, "site": "b", "wave": 2014}])
    assert repr(survey) == (
        "<Survey hsc2019: 5 respondents at 2 sites, waves 2014, 2019; 5 answers, 0 exclusions>"
    )


def test_load_reads_a_projects_cleaned_tables(tmp_path):
    from hsc_research.cli import main

    main(["--root", str(tmp_path), "synth", "--sites", "2", "--respondents", "15"])
    main(["--root", str(tmp_path), "clean"])
    survey = hsc.load(str(tmp_path))
    assert (
        len(survey.respondents)
        == pd.read_parquet(tmp_path / "data/processed/respondents.parquet").shape[0]
    )
    assert survey.codebook.id == "hsc2019"


# --- Survey ------------------------------------------------------------------------------


def test_wide_has_one_row_per_respondent_and_ordered_item_columns():
    survey = make_survey([{"n": 2, "k": 1}, {"n": 1, "item": "trust.asc", "k": 1}])
    w = survey.wide("trust")
    assert len(w) == 3
    assert w["gp"].tolist()[:2] == ["Agree", "Strongly disagree"]
    assert pd.isna(w["gp"].iloc[2]) and w["asc"].iloc[2] == "Agree"
    assert w["gp"].cat.ordered and w["gp"].cat.categories[0] == "Strongly disagree"


def test_wide_leaves_non_substantive_answers_missing():
    survey = make_survey([{"n": 1, "k": 1}])
    survey.responses["status"] = "dont_know"
    assert survey.wide("trust")["gp"].isna().all()


def test_filter_takes_one_value_or_a_list():
    survey = make_survey([{"n": 2, "site": "a"}, {"n": 3, "site": "b"}, {"n": 4, "site": "c"}])
    assert len(survey.filter(site="b").respondents) == 3
    assert len(survey.filter(site=["a", "c"]).responses) == 6


def test_filter_takes_a_wave_as_number_or_text():
    survey = make_survey([{"n": 2, "wave": 2014}, {"n": 3, "wave": 2019}])
    assert (
        len(survey.filter(wave=2019).respondents)
        == len(survey.filter(wave="2019").respondents)
        == 3
    )


def test_filter_on_categorical_fields_keeps_their_dtype():
    survey = make_survey([{"n": 2, "site": "a"}, {"n": 3, "site": "b"}])
    survey.responses["site"] = survey.responses["site"].astype("category")
    picked = survey.filter(site="b").responses["site"]
    assert isinstance(picked.dtype, pd.CategoricalDtype) and picked.tolist() == ["b"] * 3


def test_filter_by_a_field_only_respondents_have_filters_the_answers_too():
    survey = make_survey([{"n": 2, "site": "a"}, {"n": 3, "site": "b"}])
    assert len(survey.filter(site_name="B").responses) == 3


def test_filter_unknown_field_is_one_line_naming_the_fields():
    with pytest.raises(
        SurveyError,
        match=r"^unknown field 'team'; respondent fields: respondent_id, site_name, site, wave",
    ):
        make_survey([{"n": 1}]).filter(team="x")  # fmt: skip


def test_filter_unknown_value_is_one_line_naming_the_known_values():
    with pytest.raises(SurveyError, match=r"^unknown site 'z'; known values: a, b$"):
        make_survey([{"n": 1, "site": "a"}, {"n": 1, "site": "b"}]).filter(site="z")


# --- statistics on any breakdown -----------------------------------------------------------


def test_proportion_high_by_role_level_with_wilson_interval():
    survey = make_survey([{"n": 10, "k": 7, "role_level": "manager"},
                          {"n": 20, "k": 5, "role_level": "frontline"}])  # fmt: skip
    row = (
        hsc.proportion_high(survey, "trust", by="role_level").set_index("role_level").loc["manager"]
    )
    # Wilson 95% for 7/10: (0.7 + 1.92^2...) by hand: 0.39677 to 0.89221.
    assert (row["n"], row["k"], row["estimate"]) == (10, 7, 0.7)
    assert row["ci_low"] == pytest.approx(0.39677, abs=1e-5)
    assert row["ci_high"] == pytest.approx(0.89221, abs=1e-5)


def test_responses_dataframe_works_like_a_survey():
    survey = make_survey([{"n": 10, "k": 7}])
    a = hsc.proportion_high(survey, "trust")
    b = hsc.proportion_high(survey.responses, "trust")
    pd.testing.assert_frame_equal(a, b)


def test_unknown_breakdown_field_is_one_line():
    with pytest.raises(
        SurveyError,
        match=r"^unknown breakdown field 'grade'; fields: site, wave, profession, group, role_level$",
    ):
        hsc.likert_summary(make_survey([{"n": 10}]), "trust", by=["site", "grade"])  # fmt: skip


def test_unknown_question_is_one_line():
    with pytest.raises(
        SurveyError, match=r"^unknown question 'trst'; questions: admission_factors"
    ):
        hsc.proportion_high(make_survey([{"n": 10}]), "trst")


def test_data_without_answers_to_the_question_is_an_error_not_an_empty_table():
    with pytest.raises(SurveyError, match="no substantive answers to 'relationships'"):
        hsc.between_raters(make_survey([{"n": 10}]), "relationships", rater="role_level")


def test_unknown_rater_field_is_one_line():
    with pytest.raises(SurveyError, match="unknown breakdown field 'band'"):
        hsc.between_raters(make_survey([{"n": 10}]), "trust", rater="band")


# --- disclosure control ------------------------------------------------------------------


def test_small_cell_and_its_complement_are_suppressed():
    # Sites 12, 4 and 15: the 4 is primary; the 12 is hidden too, or 4 = total - 12 - 15.
    survey = make_survey([{"n": 12, "site": "a"}, {"n": 4, "site": "b"}, {"n": 15, "site": "c"}])
    t = hsc.proportion_high(survey, "trust", by="site", min_cell=10)
    assert status(t, "site") == {"a": "secondary", "b": "primary", "c": None}
    assert t.set_index("site").loc[["a", "b"], ["n", "estimate"]].isna().all().all()


def test_professions_are_protected_within_their_group():
    # Hospital clinicians 4 (primary). Across professions, hiding ASC (11, the smallest)
    # is enough; but hospital staff = 30 + 4 is published by group, so the 30 goes too.
    survey = make_survey([{"n": 30, "profession": "hospital_discharge"},
                          {"n": 4, "profession": "hospital_clinical"},
                          {"n": 11, "profession": "asc"}, {"n": 25, "profession": "gp"}])  # fmt: skip
    t = hsc.proportion_high(survey, "trust", by="profession", min_cell=10)
    assert status(t, "profession") == {
        "asc": "secondary", "hospital_discharge": "secondary",
        "hospital_clinical": "primary", "gp": None,
    }  # fmt: skip


def test_min_cell_is_an_argument():
    survey = make_survey([{"n": 12, "site": "a"}, {"n": 14, "site": "b"}])
    t = hsc.proportion_high(survey, "trust", by="site", min_cell=13)
    assert status(t, "site") == {"a": "primary", "b": "secondary"}
    assert hsc.proportion_high(survey, "trust", by="site")["suppressed"].isna().all()


def test_suppressed_comparisons_are_not_tested_nor_counted_in_the_family():
    # Senior leaders vs frontline on two items; only 5 frontline staff answered about ASC.
    survey = make_survey([{"n": 40, "k": 30, "role_level": "senior_leader"},
                          {"n": 40, "k": 10, "role_level": "frontline"},
                          {"n": 40, "k": 20, "role_level": "senior_leader", "item": "trust.asc"},
                          {"n": 5, "k": 1, "role_level": "frontline", "item": "trust.asc"}])  # fmt: skip
    t = hsc.between_raters(survey, "trust", rater="role_level", min_cell=10).set_index("item")
    assert t.loc["asc", "suppressed"] == "primary"
    assert t.loc[["asc"], ["n2", "diff", "significant"]].isna().all().all()
    # One comparison left in the family: a plain 95% interval.
    assert (t.loc["gp", "family_size"], t.loc["gp", "ci_level"]) == (1, 0.95)


def test_directional_gap_hides_a_pair_with_a_small_side():
    survey = make_survey([{"n": 20, "k": 5, "profession": "asc", "item": "trust.gp"},
                          {"n": 6, "k": 5, "profession": "gp", "item": "trust.asc"},
                          {"n": 20, "k": 5, "profession": "care_provider", "item": "trust.asc"}])  # fmt: skip
    t = hsc.directional_gaps(survey, "trust").set_index(["a", "b"])
    assert t.loc[("asc", "gp"), "suppressed"] == "primary"
    assert pd.isna(t.loc[("asc", "gp"), "diff"])


def test_in_out_group_hides_both_sides_together():
    # 4 GPs rate GPs (in-group) beside 30 others: the out-group 30 = all - 4 would give
    # the 4 away, so the whole row is hidden.
    survey = make_survey([{"n": 4, "k": 3, "profession": "gp"},
                          {"n": 30, "k": 10, "profession": "asc"}])  # fmt: skip
    row = hsc.in_out_group(survey, "trust").set_index("target").loc["gp"]
    assert row["suppressed"] == "primary" and pd.isna(row["n1"]) and pd.isna(row["n2"])


def test_rating_matrix_by_any_rater_field_is_suppressed_like_the_rest():
    survey = make_survey([{"n": 12, "role_level": "manager", "item": "relationships.asc"},
                          {"n": 3, "role_level": "frontline", "item": "relationships.asc"}])  # fmt: skip
    m = hsc.rating_matrix(survey, "relationships", rater="role_level")
    assert status(m, "rater") == {"manager": "secondary", "frontline": "primary"}


def test_likert_summary_hides_small_bases():
    survey = make_survey([{"n": 12, "role_level": "manager"}, {"n": 3, "role_level": "frontline"},
                          {"n": 20, "role_level": "senior_leader"}])  # fmt: skip
    s = hsc.likert_summary(survey, "trust", by="role_level").set_index("role_level")
    assert s.loc["frontline", "suppressed"] == "primary" and np.isnan(s.loc["frontline", "mean"])
    assert s.loc["senior_leader", "n"] == 20


# --- models and plots ---------------------------------------------------------------------


def test_fit_ordinal_on_a_survey_item_gives_the_statsmodels_result():
    cells = [{"n": 30, "k": k, "role_level": r, "item": "trust.asc"}
             for r, k in (("frontline", 10), ("manager", 20))]  # fmt: skip
    fit = hsc.fit_ordinal(make_survey(cells), "trust.asc", ["role_level"])
    # Two levels answered (Strongly disagree, Agree): the coefficient is the log odds ratio
    # of a 2x2 table, (20 * 20) / (10 * 10) = 4.
    coef = fit.tidy().set_index("term").loc["role_level=manager"]
    assert coef["odds_ratio"] == pytest.approx(4.0, rel=1e-4)
    assert fit.result.nobs == 60


def test_fit_ordinal_outcome_must_name_an_item():
    with pytest.raises(
        SurveyError, match=r"^outcome 'trust' must be question.item; items of trust: trust.asc"
    ):
        hsc.fit_ordinal(make_survey([{"n": 10}]), "trust", ["site"])  # fmt: skip


def test_diverging_bars_draw_a_likert_distribution_as_it_is():
    survey = make_survey([{"n": 10, "k": 7, "role_level": "manager"},
                          {"n": 20, "k": 5, "role_level": "frontline"}])  # fmt: skip
    dist = hsc.likert_distribution(survey, "trust", by="role_level")
    fig = hsc.diverging_bars(dist)
    drawn = {p.get_gid(): float(p.get_width()) for p in fig.axes[0].patches if p.get_gid()}
    assert drawn["manager: gp|Agree"] == pytest.approx(70.0)
    assert drawn["manager: gp|Strongly disagree"] == pytest.approx(30.0)
    assert drawn["frontline: gp|Agree"] == pytest.approx(25.0)
    assert fig.axes[0].get_title() == "Trust"


def test_diverging_bars_show_a_suppressed_row_as_suppressed_not_zero():
    survey = make_survey([{"n": 30, "k": 7, "role_level": "senior_leader"},
                          {"n": 12, "k": 7, "role_level": "manager"},
                          {"n": 3, "k": 1, "role_level": "frontline"}])  # fmt: skip
    fig = hsc.diverging_bars(hsc.likert_distribution(survey, "trust", by="role_level"))
    drawn = {(p.get_gid() or "").split(":")[0] for p in fig.axes[0].patches}
    assert "senior_leader" in drawn and not drawn & {"manager", "frontline"}
    assert "frontline: gp: suppressed" in fig.alt_text
