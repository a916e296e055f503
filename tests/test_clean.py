"""Cleaning: hand-made raw rows with hand-worked expected outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsc_research import synth
from hsc_research.clean import accounting, clean, parse_dates, read_tables, write_tables
from hsc_research.ingest import read_template

SITES = pd.DataFrame({"site_id": ["north", "south"], "site_name": ["North", "South"]})
N_ITEMS = 36  # 10 admission factors + 6 discharge + 8 wrong pathway + 6 trust + 6 relationships

ROWS = [
    dict(respondent_id="R1", submitted_at="2019-05-01 10:00", site="North", wave="2019",
         profession="Adult social care", role_level="Frontline",
         **{"trust.hospital_discharge": "Agree", "relationships.gp": "2"}),
    dict(respondent_id="R2", submitted_at="2019-05-01 10:00", site="north ", wave="2019",
         profession="GPs", role_level="Manager",
         **{"trust.asc": "Strongly disagree", "relationships.gp": "4",
            "relationships.asc": "1 (poor)"}),
    dict(respondent_id="R3", site="Nowhere", wave="2019", profession="GPs",
         **{"trust.asc": "Agree"}),
    dict(respondent_id="R4", site="South", wave="2019", profession="Porter",
         **{"trust.asc": "Agree"}),
    dict(respondent_id="R5", site="South", wave="twenty", profession="GPs",
         **{"trust.asc": "Agree"}),
    dict(respondent_id="R6", submitted_at="2019-05-02 09:00", site="South", wave="2019",
         profession="Hospital discharge staff", **{"trust.asc": "Agree"}),
    dict(respondent_id="R6", submitted_at="2019-05-02 11:00", site="South", wave="2019",
         profession="Hospital discharge staff", **{"trust.asc": "Disagree"}),
    dict(respondent_id="R7", site="South", wave="2019",
         profession="HOSPITAL CLINICIANS (DOCTORS, NURSES, THERAPISTS)",
         **{"trust.gp": "Don't know"}),
    dict(respondent_id="R8", site="North", wave="2014", profession="Care providers (home care, care homes)",
         **{"trust.gp": "Agree", "relationships.asc": "7"}),
]  # fmt: skip


@pytest.fixture
def result(write_export, codebook):
    raw = read_template(write_export(ROWS), codebook)
    return clean(raw, codebook, SITES)


def test_kept_respondents(result):
    assert result.respondents["respondent_id"].tolist() == ["R1", "R2", "R6", "R8"]


def test_respondent_exclusions_have_reason_and_raw_row(result):
    ex = result.exclusions[result.exclusions["level"] == "respondent"]
    got = list(zip(ex["raw_row"], ex["respondent_id"], ex["reason"].astype(str), strict=True))
    assert got == [
        (4, "R3", "unknown_site"),
        (5, "R4", "unknown_profession"),
        (6, "R5", "invalid_wave"),
        (7, "R6", "duplicate_submission"),
        (9, "R7", "no_substantive_answer"),
    ]


def test_answer_exclusions(result):
    ex = result.exclusions[result.exclusions["level"] == "answer"]
    got = list(
        zip(ex["respondent_id"], ex["column"], ex["value"], ex["reason"].astype(str), strict=True)
    )
    assert got == [("R2", "relationships.gp", "4", "self_rating"),
                   ("R8", "relationships.asc", "7", "invalid_value")]  # fmt: skip


def test_row_and_answer_accounting_by_hand(result):
    s = result.summary()
    assert (s["raw_rows"], s["kept_respondents"], s["excluded_respondents"]) == (9, 4, 5)
    assert s["raw_answers"] == 9 * N_ITEMS
    assert s["kept_answers"] == 4 * N_ITEMS - 2
    assert s["excluded_answers"] == 5 * N_ITEMS + 2
    assert accounting(result) == (True, True)


def test_latest_duplicate_is_kept(result):
    r = result.responses
    row = r[(r["respondent_id"] == "R6") & (r["question"] == "trust") & (r["item"] == "asc")]
    assert row["label"].astype(str).tolist() == ["Disagree"]
    assert row["code"].tolist() == [2]


def test_duplicate_kept_by_time_not_file_order(write_export, codebook):
    rows = [ROWS[6], ROWS[5]]  # the later submission first in the file
    res = clean(read_template(write_export(rows), codebook), codebook, SITES)
    kept = res.responses[(res.responses["question"] == "trust") & (res.responses["item"] == "asc")]
    assert kept["label"].astype(str).tolist() == ["Disagree"]
    assert res.exclusions["raw_row"].tolist() == [3]


def test_own_profession_blank_is_not_asked(result):
    r = result.responses
    r1 = r[r["respondent_id"] == "R1"]
    assert r1["status"].value_counts().to_dict() == {
        "valid": 2, "blank": 33, "not_asked": 1, "dont_know": 0, "not_applicable": 0,
    }  # fmt: skip
    own = r1[(r1["question"] == "relationships") & (r1["item"] == "asc")]
    assert own["status"].tolist() == ["not_asked"]


def test_respondent_fields(result):
    r = result.respondents.set_index("respondent_id")
    assert r.loc["R2", "site"] == "north"
    assert r.loc["R2", "group"] == "community"
    assert r.loc["R8", "wave"] == 2014
    assert pd.isna(r.loc["R8", "role_level"])
    assert r.loc["R1", "n_valid"] == 2


def test_responses_are_ordered_categoricals(result):
    r = result.responses
    assert r["question"].cat.ordered and r["item"].cat.ordered and r["label"].cat.ordered
    assert r["code"].dtype == "Int8"


def test_tables_round_trip_through_parquet(result, tmp_path):
    write_tables(result, tmp_path)
    back = read_tables(tmp_path)
    pd.testing.assert_frame_equal(back.responses, result.responses)
    assert back.raw_rows == 9 and back.raw_answers == 9 * N_ITEMS


def test_iso_dates_are_not_read_day_first():
    got = parse_dates(pd.Series(["2019-05-04 10:00", "04/05/2019 10:00", "garbage", None]))
    assert got.iloc[0] == pd.Timestamp("2019-05-04 10:00")
    assert got.iloc[1] == pd.Timestamp("2019-05-04 10:00")
    assert got.iloc[2:].isna().all()


def test_sites_from_data_when_no_register(write_export, codebook):
    res = clean(read_template(write_export(ROWS[:2]), codebook), codebook, None)
    assert res.respondents["site"].astype(str).tolist() == ["north", "north"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), sites=st.integers(1, 4), n=st.integers(3, 40))
def test_accounting_holds_on_messy_synthetic_data(codebook, tmp_path, seed, sites, n):
    spec = synth.SynthSpec(sites=sites, respondents=(n, n), waves=(2019,), seed=seed, messy=True)
    export, register = synth.generate(codebook, spec)
    path, _ = synth.write(export, register, tmp_path / f"s{seed}")
    res = clean(read_template(path, codebook), codebook, register)
    n_items = sum(len(q.items) for q in codebook.questions)
    ex = res.exclusions
    # Expected totals come from the export itself, not from the cleaner.
    assert len(export) == len(res.respondents) + int((ex["level"] == "respondent").sum())
    assert len(export) * n_items == len(res.responses) + int(ex["n_answers"].sum())
    assert res.respondents["respondent_id"].is_unique
    # No raw row is counted twice: an excluded respondent has no answer-level records.
    assert not np.isin(ex.loc[ex["level"] == "answer", "raw_row"],
                       ex.loc[ex["level"] == "respondent", "raw_row"]).any()  # fmt: skip


def test_unknown_role_level_is_kept_as_not_stated_and_logged(write_export, codebook):
    row = dict(ROWS[0], role_level="Director of Everything")
    res = clean(read_template(write_export([row]), codebook), codebook, SITES)
    assert len(res.respondents) == 1 and pd.isna(res.respondents.loc[0, "role_level"])
    ex = res.exclusions
    assert ex[["level", "reason", "column", "value", "n_answers"]].astype(str).values.tolist() == [
        ["field", "unknown_role_level", "role_level", "Director of Everything", "0"]
    ]
    assert accounting(res) == (True, True)
