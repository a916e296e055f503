"""Aggregates: every published table respects disclosure control; the pipeline step
writes what the reports read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsc_research import aggregate
from hsc_research.clean import clean
from hsc_research.demo import synth
from hsc_research.ingest import read_template

MIN_CELL = 10


@pytest.fixture(scope="module")
def tables(codebook, tmp_path_factory):
    # Small sites so that many cells fall below the threshold.
    spec = synth.SynthSpec(sites=4, respondents=(25, 60), seed=8, messy=True)
    export, sites = synth.generate(codebook, spec)
    path, _ = synth.write(export, sites, tmp_path_factory.mktemp("raw"))
    cleaned = clean(read_template(path, codebook), codebook, sites)
    return cleaned, aggregate.aggregate(cleaned, codebook, MIN_CELL)


BASE_COLUMNS = ("n", "n1", "n2", "n_ab", "n_ba")


def test_no_published_base_below_min_cell(tables):
    _, t = tables
    checked = 0
    for name, table in t.items():
        for col in BASE_COLUMNS:
            if col in table.columns and name != "rater_differences":
                shown = pd.to_numeric(table[col], errors="coerce").dropna()
                assert not ((shown > 0) & (shown < MIN_CELL)).any(), f"{name}.{col}"
                checked += 1
    assert checked > 10


def test_suppression_fired(tables):
    _, t = tables
    assert t["bases"]["suppressed"].eq("primary").any()
    assert t["bases"]["suppressed"].eq("secondary").any()
    assert t["matrix"]["suppressed"].any()


def test_hidden_estimates_are_missing_not_zero(tables):
    _, t = tables
    m = t["matrix"]
    hidden = m[m["suppressed"]]
    assert hidden["mean"].isna().all() and hidden["n"].isna().all()


def test_hidden_profession_base_not_recoverable_from_group_total(tables):
    _, t = tables
    b = t["bases"]
    group_of = {"asc": "asc", "hospital_discharge": "hospital", "hospital_clinical": "hospital",
                "gp": "community", "community_health": "community", "care_provider": "community"}  # fmt: skip
    prof = b[b["level"] == "profession"].assign(group=lambda d: d["rater"].map(group_of))
    grp = b[b["level"] == "group"].set_index(["scope", "wave", "question", "item", "rater"])[
        "hidden"
    ]
    for key, fam in prof.groupby(["scope", "wave", "question", "item", "group"]):
        group_hidden = bool(grp.get(key, True))
        hidden = int(fam["hidden"].sum()) + group_hidden
        # Exactly one hidden number in {group total} + {its professions} would be recoverable.
        assert hidden != 1, key


def test_national_indicator_matches_a_direct_count(tables, codebook):
    cleaned, t = tables
    r = cleaned.responses
    sel = (
        (r["question"] == "trust")
        & (r["item"] == "asc")
        & (r["group"] == "hospital")
        & (r["status"] == "valid")
        & (r["wave"] == 2019)
    )
    expected = r.loc[sel, "code"].isin([3, 4]).mean()
    ind = t["indicators"].set_index(["scope", "wave", "indicator"])
    assert ind.loc[("_national", 2019, "trust_hospital_in_asc"), "estimate"] == pytest.approx(
        expected
    )


def test_site_vs_rest_rows_for_every_site_and_indicator(tables, codebook):
    cleaned, t = tables
    svr = t["site_vs_rest"]
    n_sites = cleaned.respondents["site"].nunique()
    n_waves = cleaned.respondents["wave"].nunique()
    assert len(svr) == n_sites * len(codebook.indicators) * n_waves
    assert set(svr["correction"]) == {"Bonferroni"}


def test_every_table_has_a_scope_with_national_rows(tables):
    _, t = tables
    for name in (
        "proportions",
        "likert",
        "matrix",
        "indicators",
        "frequency",
        "profile",
        "trust_gaps",
    ):
        assert (t[name]["scope"] == aggregate.NATIONAL).any(), name


def test_tables_round_trip(tables, tmp_path):
    _, t = tables
    aggregate.write(t, tmp_path, {"min_cell": MIN_CELL})
    back, meta = aggregate.read(tmp_path)
    assert set(back) == set(t) and meta["min_cell"] == MIN_CELL
    assert np.array_equal(back["indicators"]["n"].isna(), t["indicators"]["n"].isna())


def _cleaned_from(codebook, tmp_path, spec):
    export, sites = synth.generate(codebook, spec)
    path, _ = synth.write(export, sites, tmp_path)
    return clean(read_template(path, codebook), codebook, sites)


def test_model_has_no_coefficient_for_a_site_below_min_cell(codebook, tmp_path):
    # Six sites of 5 to 14 respondents: non-ASC answers per site fall below 10 in
    # some; those sites are pooled (or left out), never given their own odds ratio.
    cleaned = _cleaned_from(
        codebook, tmp_path, synth.SynthSpec(sites=6, respondents=(5, 14), waves=(2019,), seed=4)
    )
    r = cleaned.responses
    sel = (r["question"] == "trust") & (r["item"] == "asc") & (r["status"] == "valid")
    per_site = r[sel & (r["group"] != "asc")]["site"].astype(str).value_counts()
    small = set(per_site.index[per_site < MIN_CELL])
    assert small, "the fixture must have a small site"
    model = aggregate._ordinal(cleaned, codebook, [2019], MIN_CELL)
    terms = set(model["term"].dropna())
    assert not {f"site={s}" for s in small} & terms
    assert "fewer than 10 answers" in model["note"].dropna().iloc[0]


def test_model_that_cannot_be_fitted_is_a_note_not_a_crash(codebook, tmp_path):
    # One site, one wave, everyone ASC: nobody rates ASC from outside; no model.
    cleaned = _cleaned_from(
        codebook, tmp_path, synth.SynthSpec(sites=1, respondents=(30, 30), waves=(2019,))
    )
    asc = cleaned.responses["profession"].astype(str) == "asc"
    cleaned.responses = cleaned.responses[asc]
    out = aggregate.aggregate(cleaned, codebook, MIN_CELL)
    model = out["ordinal_model"]
    assert model["term"].isna().all() and model["error"].notna().all()


def test_role_levels_hide_no_small_group_behind_the_indicator_total(tables, codebook):
    # Independent count: respondents answering each indicator, by site, wave and role
    # level (missing role = "not stated", which is never published). Whatever is hidden
    # in a published total (including "not stated") must hold 0 or >= 10 people.
    cleaned, t = tables
    r = cleaned.responses[cleaned.responses["status"] == "valid"]
    ind = t["indicators"].set_index(["scope", "wave", "indicator"])
    roles = t["role_levels"]
    checked = 0
    for spec in codebook.indicators:
        sel = (r["question"] == spec.question) & (r["item"] == spec.item)
        if spec.rater_field:
            sel &= r[spec.rater_field].astype(str) == spec.rater_value
        sub = r[sel].assign(role=r["role_level"].astype(object).fillna("not_stated"))
        counts = sub.groupby([sub["site"].astype(str), "wave", "role"]).size()
        for (site, wave), shown in roles[(roles["indicator"] == spec.id)
                                         & (roles["scope"] != aggregate.NATIONAL)].groupby(["scope", "wave"]):  # fmt: skip
            if ind.loc[(site, wave, spec.id), "suppressed"]:
                continue
            hidden = [x for x in shown.itertuples() if x.suppressed]
            true = {role: int(counts.get((site, wave, role), 0)) for role in
                    ("senior_leader", "manager", "frontline", "not_stated")}  # fmt: skip
            unseen = sum(true[x.role_level] for x in hidden) + true["not_stated"]
            assert unseen == 0 or unseen >= MIN_CELL, (site, wave, spec.id, true)
            for x in shown.itertuples():
                assert x.suppressed or x.n >= MIN_CELL
            checked += 1
    assert checked > 10


def test_role_gaps_are_one_family_per_scope_and_wave(tables):
    _, t = tables
    g = t["role_gaps"]
    tested = g[~g["suppressed"]]
    sizes = tested.groupby(["scope", "wave"])["family_size"].agg(["min", "max", "size"])
    assert (sizes["min"] == sizes["max"]).all() and (sizes["max"] == sizes["size"]).all()


def test_trend_compares_first_and_latest_wave(tables):
    _, t = tables
    tr = t["indicator_trend"]
    assert set(tr["wave_from"]) == {2014} and set(tr["wave_to"]) == {2019}


def test_tables_come_whole_and_in_their_order(tables):
    # The answer-level tables are computed in a second thread; each takes the place it
    # had when everything ran in one (the order the tables are written and listed in).
    _, t = tables
    assert list(t) == [
        "proportions", "likert", "distributions", "matrix", "asymmetry", "ties",
        "self_vs_others", "trust_gaps", "wave_change", "frequency", "tag_share",
        "tag_comparison", "rater_differences", "indicators", "site_vs_rest", "site_heatmap",
        "funnel", "funnel_limits", "indicator_change", "indicator_trend", "role_levels",
        "role_gaps", "ordinal_model", "profile", "exclusions", "bases",
    ]  # fmt: skip
    assert all(isinstance(v, pd.DataFrame) for v in t.values())


def test_an_error_in_the_second_thread_reaches_the_caller(tables, codebook, monkeypatch):
    cleaned, _ = tables

    def broken(*args, **kwargs):
        raise RuntimeError("profile failed")

    monkeypatch.setattr(aggregate.tables, "response_profile", broken)
    with pytest.raises(RuntimeError, match="profile failed"):
        aggregate.aggregate(cleaned, codebook, MIN_CELL)
