"""Cleaning: hand-made raw rows with hand-worked expected outcomes."""

from __future__ import annotations

import hashlib
import hmac
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsc_research.clean import accounting, clean, read_tables, write_tables
from hsc_research.clean.sites import read_site_register
from hsc_research.cli import main
from hsc_research.demo import synth
from hsc_research.errors import InputError
from hsc_research.ingest import read_template
from hsc_research.ingest.dates import infer_date_order, parse_dates
from hsc_research.ingest.frame import DATE_DEFAULT_ATTR
from hsc_research.mapping import load_mapping, read_mapped

KEY = bytes(range(32))  # a fixed pseudonym key, so expected ids can be computed here


def pid(rid: str, wave: int = 2019, site: str = "north") -> str:
    """The documented pseudonym: HMAC-SHA256 of "id<US>wave<US>site", 16 hex digits."""
    msg = f"{rid}\x1f{wave}\x1f{site}".encode()
    return hmac.new(KEY, msg, hashlib.sha256).hexdigest()[:16]


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
    return clean(raw, codebook, SITES, key=KEY)


def test_kept_respondents(result):
    assert result.respondents["raw_row"].tolist() == [2, 3, 8, 10]


def test_respondent_ids_are_keyed_hashes(result):
    assert result.respondents["respondent_id"].tolist() == [
        pid("R1"), pid("R2"), pid("R6", site="south"), pid("R8", wave=2014),
    ]  # fmt: skip


def test_respondent_exclusions_have_reason_and_raw_row(result):
    ex = result.exclusions[result.exclusions["level"] == "respondent"]
    got = list(zip(ex["raw_row"], ex["reason"].astype(str), strict=True))
    assert got == [
        (4, "unknown_site"),
        (5, "unknown_profession"),
        (6, "invalid_wave"),
        (7, "duplicate_submission"),
        (9, "no_substantive_answer"),
    ]


def test_answer_exclusions(result):
    ex = result.exclusions[result.exclusions["level"] == "answer"]
    got = list(zip(ex["raw_row"], ex["column"], ex["value"], ex["reason"].astype(str), strict=True))
    assert got == [(3, "relationships.gp", "4", "self_rating"),
                   (10, "relationships.asc", "7", "invalid_value")]  # fmt: skip


def test_row_and_answer_accounting_by_hand(result):
    s = result.summary()
    assert (s["raw_rows"], s["kept_respondents"], s["excluded_respondents"]) == (9, 4, 5)
    assert s["raw_answers"] == 9 * N_ITEMS
    assert s["kept_answers"] == 4 * N_ITEMS - 2
    assert s["excluded_answers"] == 5 * N_ITEMS + 2
    assert accounting(result) == (True, True)


def test_latest_duplicate_is_kept(result):
    r = result.responses
    r6 = pid("R6", site="south")
    row = r[(r["respondent_id"] == r6) & (r["question"] == "trust") & (r["item"] == "asc")]
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
    r1 = r[r["respondent_id"] == pid("R1")]
    assert r1["status"].value_counts().to_dict() == {
        "valid": 2, "blank": 33, "not_asked": 1, "dont_know": 0, "not_applicable": 0,
    }  # fmt: skip
    own = r1[(r1["question"] == "relationships") & (r1["item"] == "asc")]
    assert own["status"].tolist() == ["not_asked"]


def test_respondent_fields(result):
    r = result.respondents.set_index("raw_row")  # R1, R2 and R8 are rows 2, 3 and 10
    assert r.loc[3, "site"] == "north"
    assert r.loc[3, "group"] == "community"
    assert r.loc[10, "wave"] == 2014
    assert pd.isna(r.loc[10, "role_level"])
    assert r.loc[2, "n_valid"] == 2


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


def test_times_with_and_without_an_offset_in_one_column_are_read():
    """Qualtrics' "Z" and "+01:00" beside plain times: offsets read as UTC, plain times
    as written, one resolution (pandas alone refuses the mix)."""
    got = parse_dates(pd.Series(
        ["2019-05-01T10:00:00+01:00", "2019-05-01 09:30", "2019-05-01T10:00:00Z",
         "02/05/2019 10:00+02:00"], dtype="str",
    ))  # fmt: skip
    assert str(got.dtype) == "datetime64[us]"
    assert got.tolist() == [
        pd.Timestamp("2019-05-01 09:00"),
        pd.Timestamp("2019-05-01 09:30"),
        pd.Timestamp("2019-05-01 10:00"),
        pd.Timestamp("2019-05-02 08:00"),
    ]


def test_sites_from_data_when_no_register(write_export, codebook):
    rows = [dict(ROWS[0], site="North Vale"), dict(ROWS[1], site="South")]
    res = clean(read_template(write_export(rows), codebook), codebook, None)
    assert res.respondents["site"].astype(str).tolist() == ["north-vale", "south"]


@pytest.mark.parametrize("variant", ["north vale", "North-Vale", "NORTH  VALE"])
def test_site_names_written_two_ways_are_refused_without_register(variant, write_export, codebook):
    # Formerly merged or swapped silently; a register must say which site each is.
    rows = [dict(ROWS[0], site="North Vale"), dict(ROWS[1], site=variant)]
    raw = read_template(write_export(rows), codebook)
    with pytest.raises(InputError, match=r"rows 2 and 3: site names 'North Vale' and .*register"):
        clean(raw, codebook, None)


def test_register_site_matches_its_name_written_another_way(write_export, codebook):
    register = pd.DataFrame({"site_id": ["nv", "south"], "site_name": ["North Vale", "South"]})
    rows = [dict(ROWS[0], respondent_id=f"R{i}", site=s)
            for i, s in enumerate(("North Vale", "north vale", "North-Vale", "NV"))]  # fmt: skip
    res = clean(read_template(write_export(rows), codebook), codebook, register)
    assert res.respondents["site"].astype(str).tolist() == ["nv"] * 4


def _register(tmp_path, text):
    path = tmp_path / "sites.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("site_id,site_name\nnorth,North\nnorth,South\n",
         r"rows 2 and 3: site_id 'north' appears twice \('North' and 'South'\)"),
        ("site_id,site_name\nnorth,North\nnorth-2,North\n",
         r"rows 2 and 3: site_name 'North' appears twice \(ids 'north' and 'north-2'\)"),
        ("site_id,site_name\nnv,North Vale\nnv2,north vale\n",
         r"rows 2 and 3: site names 'North Vale' and 'north vale' are the same name"),
        ("site_id,site_name\nnv,North Vale\nnv2,North-Vale\n",
         r"rows 2 and 3: site names 'North Vale' and 'North-Vale' are the same name"),
        ("site_id,site_name\nnorth,South\nsouth,North\n",
         r"rows 2 and 3: site_name 'South' \(row 2, id 'north'\) reads as the site_id of row 3"),
        ("site_id,site_name\nnorth,North\nsouth,\n", r"row 3: site_name is blank"),
    ],
    ids=["duplicate_id", "two_ids_one_name", "names_by_case", "names_by_dash", "swapped", "blank"],
)  # fmt: skip
def test_confusable_register_is_refused_naming_both_rows(tmp_path, text, message):
    path = _register(tmp_path, text)
    with pytest.raises(InputError, match=message) as err:
        read_site_register(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_duplicate_site_id_is_a_user_error_not_a_bug(write_export, tmp_path, capsys):
    # Formerly exit 3 "internal error: Categorical categories must be unique".
    export = write_export([ROWS[0]])
    register = _register(tmp_path, "site_id,site_name\nnorth,North\nnorth,South\n")
    args = ["--root", str(tmp_path), "clean", "--input", str(export)]
    assert main([*args, "--sites-register", str(register)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "rows 2 and 3" in err and str(register) in err


def test_respondents_keep_their_site_when_names_look_alike(write_export, codebook):
    register = pd.DataFrame({"site_id": ["north", "south"], "site_name": ["North", "South"]})
    rows = [dict(ROWS[0], respondent_id=f"R{i}", site=s)
            for i, s in enumerate(["North", "south", "NORTH", "South"])]  # fmt: skip
    res = clean(read_template(write_export(rows), codebook), codebook, register, key=KEY)
    got = res.respondents.set_index("raw_row")["site"].astype(str).to_dict()
    assert got == {2: "north", 3: "south", 4: "north", 5: "south"}


# Duplicate submissions: the same id in the same wave and site.


def _dup_rows(spec):
    """Rows of (id, wave, site, submitted) with one answer each."""
    return [dict(respondent_id=r, wave=str(w), site=s, submitted_at=t, profession="GPs",
                 **{"trust.asc": "Agree"}) for r, w, s, t in spec]  # fmt: skip


def test_ids_reused_in_the_next_wave_keep_both_waves(write_export, codebook):
    rows = _dup_rows(
        [
            ("R1", 2014, "North", "2014-05-01"),
            ("R2", 2014, "North", "2014-05-01"),
            ("R1", 2019, "North", "2019-05-01"),
            ("R2", 2019, "North", "2019-05-01"),
        ]
    )
    res = clean(read_template(write_export(rows), codebook), codebook, SITES, key=KEY)
    assert res.respondents["wave"].tolist() == [2014, 2014, 2019, 2019]
    assert len(res.exclusions) == 0
    assert res.respondents["respondent_id"].tolist() == [
        pid("R1", 2014), pid("R2", 2014), pid("R1"), pid("R2")]  # fmt: skip


def test_ids_numbered_per_site_keep_every_respondent(write_export, codebook):
    rows = _dup_rows(
        [(f"R{i}", 2019, s, "2019-05-01") for s in ("North", "South") for i in (1, 2, 3)]
    )
    res = clean(read_template(write_export(rows), codebook), codebook, SITES, key=KEY)
    assert len(res.respondents) == 6 and len(res.exclusions) == 0
    assert res.respondents["respondent_id"].is_unique
    assert res.responses.groupby("respondent_id", observed=True).ngroups == 6


def test_true_duplicate_in_one_wave_and_site_is_excluded(write_export, codebook):
    rows = _dup_rows(
        [
            ("R1", 2019, "North", "2019-05-02"),
            ("R1", 2019, "South", "2019-05-01"),
            ("R1", 2019, "North", "2019-05-01"),
            ("R1", 2014, "North", "2014-05-01"),
        ]
    )
    res = clean(read_template(write_export(rows), codebook), codebook, SITES, key=KEY)
    assert res.respondents["raw_row"].tolist() == [2, 3, 5]
    ex = res.exclusions
    assert ex[["raw_row", "reason", "detail"]].astype(str).values.tolist() == [
        ["4", "duplicate_submission", "earlier submission; kept raw row 2"]
    ]
    assert ex["value"].isna().all() or (ex["value"] == "").all()  # not the raw id


def test_duplicate_key_can_make_ids_global(write_export, codebook):
    rows = _dup_rows([("R1", 2019, "North", "2019-05-02"), ("R1", 2019, "South", "2019-05-01")])
    raw = read_template(write_export(rows), codebook)
    res = clean(raw, codebook, SITES, key=KEY, duplicate_key=["respondent_id"])
    assert res.respondents["raw_row"].tolist() == [2]
    assert res.exclusions["reason"].astype(str).tolist() == ["duplicate_submission"]
    want = hmac.new(KEY, b"R1", hashlib.sha256).hexdigest()[:16]
    assert res.respondents["respondent_id"].tolist() == [want]


MAPPING = """layout: plain
fields: {respondent_id: id, site: site, wave: wave, profession: profession}
items: {trust_asc: trust.asc}
"""


def test_mapping_duplicate_key_reaches_clean(tmp_path, codebook):
    export = tmp_path / "plain.csv"
    export.write_text("id,site,wave,profession,trust_asc\nP1,North,2019,GPs,Agree\n"
                      "P1,South,2019,GPs,Agree\n", encoding="utf-8")  # fmt: skip
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING + "duplicates: {key: [respondent_id, wave]}\n", encoding="utf-8")
    _, _, frame, _ = read_mapped(export, codebook, mapping)
    res = clean(frame, codebook, SITES)
    assert res.exclusions["reason"].astype(str).tolist() == ["duplicate_submission"]
    mapping.write_text(MAPPING, encoding="utf-8")  # default: id, wave and site
    _, _, frame, _ = read_mapped(export, codebook, mapping)
    assert len(clean(frame, codebook, SITES).respondents) == 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [("{key: [wave, site]}", "duplicates.key: must list respondent_id"),
     ("{key: [respondent_id, profession]}", "duplicates.key: 'profession' cannot be part"),
     ("{key: respondent_id}", "duplicates: give {key: [respondent_id, ...]}"),
     ("[respondent_id]", "duplicates: give {key: [respondent_id, ...]}")],
)  # fmt: skip
def test_bad_duplicate_key_is_one_line(tmp_path, codebook, spec, message):
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING + f"duplicates: {spec}\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(f"{mapping}: {message}")):
        load_mapping(mapping, codebook)


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


# Dates: each column's order, from the values that show it (issue 12).

_ROWS3 = pd.Series([2, 3, 4])
_SM = ("mdy", "SurveyMonkey writes month first")


def test_a_day_above_12_in_second_place_makes_the_column_month_first():
    order = infer_date_order(pd.Series(["03/04/2019 08:08", "03/13/2019 09:00", None]), _ROWS3)
    assert order.order == "mdy" and "row 3 '03/13/2019 09:00'" in order.why


def test_a_day_above_12_in_first_place_makes_the_column_day_first():
    order = infer_date_order(pd.Series(["13/03/2019", "03/04/2019", None]), _ROWS3, _SM)
    assert order.order == "dmy"


def test_month_first_reading_puts_03_04_in_march():
    assert parse_dates(pd.Series(["03/04/2019 08:08:18 AM"]), "mdy").iloc[0] == pd.Timestamp(
        "2019-03-04 08:08:18"
    )


def test_dates_written_both_ways_are_refused_naming_a_row_of_each():
    with pytest.raises(InputError) as info:
        infer_date_order(pd.Series(["13/03/2019", "03/14/2019", "01/02/2019"]), _ROWS3)
    msg = str(info.value)
    assert "\n" not in msg
    assert "day first (row 2 '13/03/2019')" in msg and "month first (row 3 '03/14/2019')" in msg


def test_the_layout_convention_decides_when_no_value_shows_the_order():
    order = infer_date_order(pd.Series(["03/04/2019", "05/06/2019", None]), _ROWS3, _SM)
    assert order.order == "mdy" and "SurveyMonkey" in order.why


def test_the_mapping_order_is_used_when_no_value_contradicts_it():
    assert infer_date_order(pd.Series(["03/04/2019"]), _ROWS3, _SM, forced="dmy").order == "dmy"


def test_the_mapping_order_contradicted_by_a_value_is_refused():
    with pytest.raises(InputError, match="row 3 '13/03/2019', which can only be day first"):
        infer_date_order(pd.Series(["03/04/2019", "13/03/2019"]), _ROWS3, forced="mdy")


def test_slash_dates_in_an_iso_tool_s_export_with_no_telling_value_are_refused():
    with pytest.raises(InputError, match=r"say which in the mapping: dates: \{order: dmy\}"):
        infer_date_order(pd.Series(["03/04/2019"]), _ROWS3, ("ymd", "Qualtrics writes ISO"))


def test_iso_dates_say_nothing_about_the_order():
    order = infer_date_order(pd.Series(["2019-03-13 09:00", "2019-03-04 10:00"]), _ROWS3[:2], _SM)
    assert order.order == "mdy" and order.why.startswith("no day-month dates")


def test_repeat_submission_read_month_first_keeps_the_13_march_one(write_export, codebook):
    # SurveyMonkey's 03/04/2019 is 4 March: the 13 March submission is the later one.
    rows = _dup_rows([("R1", 2019, "North", "03/13/2019 09:00:00 AM"),
                      ("R1", 2019, "North", "03/04/2019 08:08:18 AM")])  # fmt: skip
    frame = read_template(write_export(rows), codebook)
    frame.attrs[DATE_DEFAULT_ATTR] = _SM
    res = clean(frame, codebook, SITES, key=KEY)
    assert res.respondents["raw_row"].tolist() == [2]
    assert res.respondents["submitted_at"].iloc[0] == pd.Timestamp("2019-03-13 09:00")


# Exclude rules and repeat submissions by an identity column.


def test_each_exclude_rule_is_logged_under_its_own_reason(write_export, codebook):
    rows = _dup_rows([("R1", 2019, "North", ""), ("R2", 2019, "North", ""),
                      ("R3", 2019, "North", "")])  # fmt: skip
    frame = read_template(write_export(rows), codebook)
    frame["exclude_reason"] = ["test_response", "partial_response", None]
    frame["exclude_column"] = ["Status", "Finished", None]
    frame["exclude_value"] = ["Survey Preview", "False", None]
    ex = clean(frame, codebook, SITES, key=KEY).exclusions
    assert ex[["raw_row", "reason", "column", "value"]].astype(str).values.tolist() == [
        ["2", "test_response", "Status", "Survey Preview"],
        ["3", "partial_response", "Finished", "False"],
    ]


def test_the_same_identity_in_the_same_wave_and_site_is_one_respondent(write_export, codebook):
    rows = _dup_rows([("1", 2019, "North", "2019-03-01"), ("2", 2019, "North", "2019-03-02"),
                      ("3", 2019, "North", "2019-03-03"), ("4", 2019, "North", "2019-03-04")])  # fmt: skip
    frame = read_template(write_export(rows), codebook)
    frame["identity"] = ["h1", "h1", None, None]  # rows 4 and 5 have no e-mail: never merged
    frame.attrs["duplicate_key"] = ("identity", "wave", "site")
    res = clean(frame, codebook, SITES, key=KEY)
    assert res.respondents["raw_row"].tolist() == [3, 4, 5]
    assert res.exclusions["detail"].tolist() == ["earlier submission; kept raw row 3"]


def test_forms_12_hour_clock_is_the_us_locale_month_first():
    from hsc_research.ingest.dates import layout_date_order

    assert layout_date_order("msforms", pd.Series(["3/4/2019 8:08:18 AM"]))[0] == "mdy"
    assert layout_date_order("msforms", pd.Series(["04/03/2019 08:08:18"]))[0] == "dmy"
