"""The speed-ups of clean and aggregate change no published number.

Every aggregate table of the demo survey (default synth, messy) is computed twice: by
the current code, and by the code before the speed-ups (issue 14), whose replaced
functions are kept here verbatim as the reference. The tables must be identical, value
for value and dtype for dtype."""

from __future__ import annotations

import hmac

import numpy as np
import pandas as pd
import pytest

from hsc_research import aggregate, clean
from hsc_research.aggregate import tables as aggregate_tables
from hsc_research.clean import INVALID, STATUS_DTYPE, S, read_tables, write_tables
from hsc_research.clean import run as clean_run
from hsc_research.demo import synth
from hsc_research.ingest import dates
from hsc_research.mapping import read_mapped
from hsc_research.stats import compare, counts, frequency

REAL_TO_PARQUET = pd.DataFrame.to_parquet


# ----------------------------------------------------------- reference (before issue 14)


def reference_long_responses(respondents, codes, status, codebook):
    """clean._long_responses as it was before issue 14."""
    items = codebook.item_table
    n, k = codes.shape
    keep = (status < S[INVALID]).ravel()
    resp_idx = np.repeat(np.arange(n), k)[keep]
    item_idx = np.tile(np.arange(k), n)[keep]
    flat_codes = codes.ravel()[keep]
    flat_status = status.ravel()[keep]

    out = {}
    for col in ("respondent_id", "site", "wave", "profession", "group", "role_level"):
        src = respondents[col]
        if isinstance(src.dtype, pd.CategoricalDtype):
            out[col] = pd.Categorical.from_codes(
                src.cat.codes.to_numpy()[resp_idx], dtype=src.dtype
            )
        elif col == "respondent_id":
            out[col] = pd.Categorical.from_codes(resp_idx, categories=src.to_numpy())
        else:
            out[col] = src.to_numpy()[resp_idx]
    for col, kind in (("question", "question"), ("item", "item"), ("target", "profession")):
        dtype = codebook.dtype(kind)
        per_item = pd.Categorical(items[col].to_numpy(), dtype=dtype).codes
        out[col] = pd.Categorical.from_codes(per_item[item_idx], dtype=dtype)
    valid = flat_status == S["valid"]
    out["code"] = pd.arrays.IntegerArray(np.where(valid, flat_codes, 0).astype(np.int8), ~valid)
    label_dtype = codebook.all_labels_dtype
    label_codes = np.full(len(flat_codes), -1, dtype=np.int16)
    scale_of_item = items["scale"].to_numpy()
    for sid, scale in codebook.scales.items():
        lut = np.full(256, -1, dtype=np.int16)
        for lv in scale.levels:
            lut[lv.code] = label_dtype.categories.get_loc(lv.label)
        sel = valid & (scale_of_item[item_idx] == sid)
        label_codes[sel] = lut[flat_codes[sel]]
    out["label"] = pd.Categorical.from_codes(label_codes, dtype=label_dtype)
    out["status"] = pd.Categorical.from_codes(flat_status, dtype=STATUS_DTYPE)
    return pd.DataFrame(out)


def reference_to_parquet(self, path, *args, row_group_size=None, **kwargs):
    """Parquet files as written before issue 14 (pyarrow's default row groups)."""
    return REAL_TO_PARQUET(self, path, *args, **kwargs)


def reference_answers_to(responses, question):
    """Before issue 14 the tag comparison was given every response."""
    return responses


def reference_role_level_counts(responses, codebook):
    """The role-level counts as aggregate._role_levels computed them before issue 14."""
    rl = responses["role_level"]
    if aggregate.NOT_STATED not in rl.cat.categories:
        rl = rl.cat.add_categories(aggregate.NOT_STATED)
    r = responses.assign(role_level=rl.fillna(aggregate.NOT_STATED))
    by_role = compare.indicator_counts(r, codebook, by=["site", "wave", "role_level"])
    return by_role.astype({"site": str, "role_level": str})


def reference_sum_counts(data, keys):
    """stats.counts.answer_counts on a counts table before issue 14."""
    return data.groupby(keys, observed=True, sort=False)["count"].sum().reset_index()


def reference_answer_cubes(responses, codebook):
    """Before issue 14: the cube counted from the responses, and the role-level counts
    computed from the responses themselves (reference_role_level_counts)."""
    cube = counts.answer_counts(responses, ["site", "wave", "profession"])
    return counts.with_group(cube, codebook), responses


def reference_pseudonyms(keys, secret, distinct=False):
    """clean.pseudonyms before issue 14 (re-keyed for every respondent); clean() then
    checked the kept respondents' ids for a collision itself (``distinct`` ignored)."""
    idx, uniques = pd.factorize(pd.Series(keys, dtype=object))
    ids = [hmac.digest(secret, str(u).encode("utf-8"), "sha256").hex()[:clean_run.PSEUDONYM_CHARS]
           for u in uniques]  # fmt: skip
    return np.array(ids, dtype=object)[idx] if len(idx) else np.array([], dtype=object)


def reference_slash_parts(values):
    """The day-month parts as dates.infer_date_order found them before issue 14."""
    text = values.astype("object").where(values.notna(), "").astype(str)
    return text.str.extract(dates._SLASH_DATE)


def reference_combined(frame, keys):
    """stats.counts._combined before issue 14."""
    parts, sizes, decode = [], [], []
    for k in keys:
        col = frame[k]
        if isinstance(col.dtype, pd.CategoricalDtype):
            parts.append(col.cat.codes.to_numpy().astype(np.int32) + 1)
            sizes.append(len(col.cat.categories) + 1)
            decode.append(lambda d, dt=col.dtype: pd.Categorical.from_codes(d - 1, dtype=dt))
        else:
            values = col.to_numpy(dtype=np.int32)
            lo = int(values.min()) if len(values) else 0
            parts.append(values - lo)
            sizes.append(int(values.max()) - lo + 1 if len(values) else 1)
            target = ("int8" if k == "code" else col.dtype.numpy_dtype
                      if hasattr(col.dtype, "numpy_dtype") else col.dtype)  # fmt: skip
            decode.append(lambda d, lo=lo, t=target: (d + lo).astype(t))
    total = int(np.prod(sizes, dtype=np.float64))
    itype = np.int32 if total < 2**31 else np.int64
    combined = np.zeros(len(frame), dtype=itype)
    for part, size in zip(parts, sizes, strict=True):
        combined *= size
        combined += part.astype(itype, copy=False)
    return combined, sizes, decode


def reference_count_encoded(valid, keys, rows=None):
    """stats.counts._count_encoded before issue 14, given the valid rows copied out."""
    if rows is not None:
        valid = valid.loc[rows, keys]
    combined, sizes, decode = reference_combined(valid, keys)
    total = int(np.prod(sizes, dtype=np.float64))
    if total <= 50_000_000:
        dense = np.bincount(combined, minlength=total)
        uniq = np.flatnonzero(dense)
        count = dense[uniq]
    else:
        uniq, count = np.unique(combined, return_counts=True)
    frame = counts._decoded(uniq, keys, sizes, decode)
    frame["count"] = count
    return frame


def reference_tag_comparison(
    responses, codebook, question="admission_factors", tags=("behaviour", "process"), by=()
):
    """stats.frequency.tag_comparison before issue 14 (text items, pandas groupby)."""
    from scipy import stats as sps

    scale = codebook.scale_of(question)
    tag_of = {it.id: it.tag for it in codebook.question(question).items}
    r = responses[(responses["question"] == question) & (responses["status"] == "valid")]
    r = r.assign(tag=r["item"].astype(str).map(tag_of), hi=r["code"].isin(scale.high).astype(float))
    r = r[r["tag"].isin(tags)]
    per = r.groupby([*by, "respondent_id", "tag"], observed=True)["hi"].mean().unstack("tag")
    per = per.reindex(columns=list(tags)).dropna()
    per = per.assign(d=100 * (per[tags[0]] - per[tags[1]]))
    keys = list(by) if by else (lambda _: 0)
    g = per.groupby(keys, observed=True) if by else per.groupby(keys)
    out = g.agg(n=("d", "size"), mean1=(tags[0], "mean"), mean2=(tags[1], "mean"),
                diff=("d", "mean"), sd=("d", "std"))  # fmt: skip
    out[["mean1", "mean2"]] *= 100
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = out["sd"].to_numpy() / np.sqrt(n)
        half = sps.t.ppf(0.975, n - 1) * se
        tstat = out["diff"].to_numpy() / se
        p = 2 * sps.t.sf(np.abs(tstat), n - 1)
    out["ci_low"], out["ci_high"], out["p"] = out["diff"] - half, out["diff"] + half, p
    out = out.drop(columns="sd").reset_index(drop=not by)
    out.insert(len(by), "tag1", tags[0])
    out.insert(len(by) + 1, "tag2", tags[1])
    out["test"] = "paired t-test on respondents' within-person difference"
    return out


def reference_check_model_answers(r, spec):
    """The check model's answers as aggregate._ordinal selected them before issue 14."""
    sel = (
        (r["question"] == spec["question"])
        & (r["item"] == spec["item"])
        & (r["status"] == "valid")
        & (r["group"].astype(str) != spec.get("leave_out_group", ""))
    )
    return r.loc[sel, ["code", "group", "site", "wave"]].astype({"code": "int64"})


REFERENCE = {
    (clean_run, "pseudonyms"): reference_pseudonyms,
    (dates, "_slash_parts"): reference_slash_parts,
    (counts, "_count_encoded"): reference_count_encoded,
    (frequency, "tag_comparison"): reference_tag_comparison,
    (aggregate_tables, "_check_model_answers"): reference_check_model_answers,
    (aggregate_tables, "_answer_cubes"): reference_answer_cubes,
    (counts, "_sum_encoded"): reference_sum_counts,
    (aggregate_tables, "_answers_to"): reference_answers_to,
    (aggregate_tables, "_role_level_counts"): reference_role_level_counts,
    (clean_run, "_long_responses"): reference_long_responses,
    (clean_run, "latest_submissions"): lambda who, t, alive: reference_latest(who, t, alive),
    (clean_run, "_waves"): lambda cells: pd.to_numeric(cells.str.strip(), errors="coerce"),
    (pd.DataFrame, "to_parquet"): reference_to_parquet,
}


# ----------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def demo(codebook, tmp_path_factory):
    """The demo export as clean reads it, and its site register."""
    export, sites = synth.generate(codebook, synth.SynthSpec(messy=True))
    raw_path, _ = synth.write(export, sites, tmp_path_factory.mktemp("raw"))
    return read_mapped(raw_path, codebook)[2], sites


def _tables(demo, codebook, tmp, reference: bool):
    export, sites = demo
    with pytest.MonkeyPatch.context() as mp:
        if reference:
            for (owner, name), fn in REFERENCE.items():
                mp.setattr(owner, name, fn)
        cleaned = clean.clean(export.copy(), codebook, sites, key=b"k" * 32)
        write_tables(cleaned, tmp)
        return cleaned, aggregate.aggregate(read_tables(tmp), codebook)


@pytest.fixture(scope="module")
def both(demo, codebook, tmp_path_factory):
    new = _tables(demo, codebook, tmp_path_factory.mktemp("new"), reference=False)
    old = _tables(demo, codebook, tmp_path_factory.mktemp("old"), reference=True)
    return new, old


def test_cleaned_responses_are_identical(both):
    (new, _), (old, _) = both
    pd.testing.assert_frame_equal(new.responses, old.responses, check_exact=True)


def test_every_aggregate_table_is_identical(both):
    (_, new), (_, old) = both
    assert sorted(new) == sorted(old)
    for name in old:
        pd.testing.assert_frame_equal(new[name], old[name], check_exact=True, obj=name)


def test_written_responses_read_back_as_written(both, tmp_path):
    (new, _), _ = both
    write_tables(new, tmp_path)
    back = read_tables(tmp_path)
    pd.testing.assert_frame_equal(back.responses, new.responses, check_exact=True)


def test_counts_table_sums_like_pandas_groupby():
    """Groups in order of first appearance, a missing key left out, dtypes kept."""
    dtype = pd.CategoricalDtype(["a", "b", "c"])
    table = pd.DataFrame({
        "site": pd.Categorical(["b", "a", "b", None, "a"], dtype=dtype),
        "wave": np.array([2019, 2014, 2019, 2019, 2014], dtype=np.int16),
        "question": pd.Categorical(["q"] * 5), "item": pd.Categorical(["i"] * 5),
        "code": np.array([2, 1, 2, 2, 3], dtype=np.int8),
        "count": np.array([3, 4, 5, 7, 1], dtype=np.int64),
    })  # fmt: skip
    got = counts.answer_counts(table, ["site", "wave"])
    expected = pd.DataFrame({
        "site": pd.Categorical(["b", "a", "a"], dtype=dtype),
        "wave": np.array([2019, 2014, 2014], dtype=np.int16),
        "question": pd.Categorical(["q"] * 3), "item": pd.Categorical(["i"] * 3),
        "code": np.array([2, 1, 3], dtype=np.int8), "count": np.array([8, 4, 1]),
    })  # fmt: skip
    pd.testing.assert_frame_equal(got, expected)


def test_recount_equals_counting_the_responses_by_fewer_keys():
    """A missing role level is kept in the finer counts and summed like any other."""
    cat = pd.Categorical
    responses = pd.DataFrame({
        "site": cat(["b", "a", "b", "a", "b"]), "wave": np.array([1, 1, 2, 1, 1], dtype=np.int16),
        "profession": cat(["gp"] * 5),
        "role_level": cat(["frontline", None, "manager", "frontline", None]),
        "question": cat(["q"] * 5), "item": cat(["i"] * 5),
        "code": pd.array([2, 2, 1, 2, 2], dtype="Int8"),
        "status": cat(["valid"] * 5),
    })  # fmt: skip
    fine = counts.answer_counts(responses, ["site", "wave", "profession", "role_level"])
    coarse = counts.recount(fine, ["site", "wave", "profession"])
    pd.testing.assert_frame_equal(
        coarse, counts.answer_counts(responses, ["site", "wave", "profession"])
    )
    assert coarse["count"].tolist() == [2, 2, 1]


def test_cleaned_respondents_and_exclusions_are_identical(both):
    """Same pseudonymous ids, submission times and exclusion records."""
    (new, _), (old, _) = both
    pd.testing.assert_frame_equal(new.respondents, old.respondents, check_exact=True)
    pd.testing.assert_frame_equal(new.exclusions, old.exclusions, check_exact=True)


def test_pseudonyms_are_the_first_16_hex_digits_of_hmac_sha256():
    key = b"secret-key-of-the-project-000000"
    ids = clean_run.pseudonyms(
        np.array(["R1\x1f2019", "R2\x1f2019", "R1\x1f2019"], dtype=object), key
    )
    expected = [
        hmac.new(key, k.encode(), "sha256").hexdigest()[:16] for k in ("R1\x1f2019", "R2\x1f2019")
    ]
    assert ids.tolist() == [expected[0], expected[1], expected[0]]


def _answers(rows):
    cat = pd.Categorical
    ids, sites, items, codes, status = zip(*rows, strict=True)
    return pd.DataFrame({
        "respondent_id": cat(ids), "site": cat(sites),
        "wave": np.full(len(rows), 2019, dtype=np.int16),
        "question": cat(["admission_factors"] * len(rows)), "item": cat(items),
        "code": pd.array(codes, dtype="Int8"), "status": cat(status),
    })  # fmt: skip


def test_tag_comparison_equals_a_plain_computation_per_respondent(codebook):
    """Each respondent's share of frequent answers (codes 3, 4) per tag, by hand: the
    difference of shares averaged per site; a respondent with one tag only is left out."""
    q = codebook.question("admission_factors")
    beh = [it.id for it in q.items if it.tag == "behaviour"][:2]
    pro = [it.id for it in q.items if it.tag == "process"][:2]
    v = "valid"
    responses = _answers([
        ("a", "s1", beh[0], 4, v), ("a", "s1", beh[1], 0, v), ("a", "s1", pro[0], 3, v),
        ("b", "s1", beh[0], 1, v), ("b", "s1", pro[0], 4, v), ("b", "s1", pro[1], 4, v),
        ("b", "s1", beh[1], None, "dont_know"),
        ("c", "s1", beh[0], 3, v), ("c", "s1", pro[0], 0, v),
        ("d", "s2", beh[0], 4, v), ("d", "s2", pro[0], 1, v),
        ("e", "s2", beh[0], 4, v), ("e", "s2", pro[0], 4, v),
        ("f", "s2", beh[0], 4, v),  # no process answer: left out
    ])  # fmt: skip
    out = frequency.tag_comparison(responses, codebook, by=["site"]).set_index("site")
    # s1: a 0.5 - 1 = -50, b 0 - 1 = -100, c 1 - 0 = 100; s2: d 100, e 0.
    assert out.loc["s1", "n"] == 3 and out.loc["s2", "n"] == 2
    assert out.loc["s1", "diff"] == pytest.approx(-50 / 3)
    assert out.loc["s1", "mean1"] == pytest.approx(100 * 1.5 / 3)
    assert out.loc["s1", "mean2"] == pytest.approx(100 * 2 / 3)
    assert out.loc["s2", "diff"] == pytest.approx(50)
    assert out.loc["s2", "mean1"] == pytest.approx(100) and out.loc["s2", "mean2"] == pytest.approx(
        50
    )


def test_tag_comparison_by_codes_equals_the_pandas_path_value_for_value(codebook, demo):
    """Both ways of finding each respondent's shares, on the cleaned demo survey."""
    export, sites = demo
    r = clean.clean(export.copy(), codebook, sites, key=b"k" * 32).responses
    for by in (["site", "wave"], ["wave"], []):
        new = frequency.tag_comparison(r, codebook, by=by)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(frequency, "_respondent_tag_shares", lambda *a: None)
            general = frequency.tag_comparison(r, codebook, by=by)
        pd.testing.assert_frame_equal(new, general, check_exact=True)
        pd.testing.assert_frame_equal(new, reference_tag_comparison(r, codebook, by=by),
                                      check_exact=True)  # fmt: skip


def test_answer_counts_leave_out_answers_that_are_not_valid():
    """A not-valid answer has no code: it is neither counted nor a stand-in code."""
    cat = pd.Categorical
    data = pd.DataFrame({
        "wave": np.array([2019, 2014, 2019, 2019], dtype=np.int16),
        "question": cat(["q"] * 4), "item": cat(["i"] * 4),
        "code": pd.array([2, 3, None, 2], dtype="Int8"),
        "status": cat(["valid", "valid", "blank", "valid"]),
    })  # fmt: skip
    got = counts.answer_counts(data, ["wave"])
    assert got[["wave", "code", "count"]].values.tolist() == [[2014, 3, 1], [2019, 2, 2]]
    assert got["wave"].dtype == np.int16 and got["code"].dtype == np.int8


def test_day_month_parts_equal_the_regex_on_every_value():
    """ISO values set aside in one pass give the same parts as the regex on each."""
    values = ["2019-05-04 10:00", " 13/05/2019", "\u00a013.05.19", "05-13-2019 1:00 PM",
              "2019-5-1", "1234-", "20190504", "12/3/2019", "", None, "١٣/٠٥/٢٠١٩"]  # fmt: skip
    for dtype in ("str", object):
        s = pd.Series(values, dtype=dtype)
        pd.testing.assert_frame_equal(dates._slash_parts(s), reference_slash_parts(s))


def test_check_model_answers_keep_a_missing_group():
    cat = pd.Categorical
    r = pd.DataFrame({
        "question": cat(["trust"] * 4), "item": cat(["asc", "asc", "asc", "gp"]),
        "status": cat(["valid"] * 4), "code": pd.array([4, 3, 2, 1], dtype="Int8"),
        "group": cat(["asc", "hospital", None, "hospital"]), "site": cat(["x"] * 4),
        "wave": np.array([2019] * 4, dtype=np.int16),
    })  # fmt: skip
    spec = {"question": "trust", "item": "asc", "leave_out_group": "asc"}
    got = aggregate_tables._check_model_answers(r, spec)
    assert got["code"].tolist() == [3, 2]
    pd.testing.assert_frame_equal(got, reference_check_model_answers(r, spec))


def test_aggregate_reads_only_the_columns_it_needs(both, codebook, tmp_path):
    """The tables from the responses' RESPONSE_COLUMNS (as run_aggregate reads them)
    are the tables from every column."""
    (cleaned, full), _ = both
    write_tables(cleaned, tmp_path)
    few = read_tables(tmp_path, responses_columns=aggregate.RESPONSE_COLUMNS)
    assert list(few.responses.columns) == list(aggregate.RESPONSE_COLUMNS)
    tables = aggregate.aggregate(few, codebook)
    for name in full:
        pd.testing.assert_frame_equal(tables[name], full[name], check_exact=True, obj=name)


def test_template_read_by_arrow_equals_the_pandas_read(codebook, tmp_path):
    """The same text frame from pyarrow's reader as from pandas', on the demo export and
    on a file with a byte-order mark, quoted and unquoted blanks and a header only."""
    from hsc_research.ingest import template

    export, sites = synth.generate(codebook, synth.SynthSpec(messy=True))
    demo_path, _ = synth.write(export, sites, tmp_path / "raw")
    bom = tmp_path / "bom.csv"
    bom.write_bytes('\ufeffrespondent_id,site\nR1,""\nR2,\nR3,Área\n'.encode())
    header = tmp_path / "header.csv"
    header.write_text("respondent_id,site\n", encoding="utf-8")
    for path in (demo_path, bom, header):
        got = template._read_arrow(path)
        assert got is not None
        pd.testing.assert_frame_equal(got, template._read_pandas(path), check_exact=True)


@pytest.mark.parametrize(
    "content",
    [b"", "respondent_id,site\nR1,\xc1rea\n".encode("latin-1"), b"respondent_id,site\nR1,a,b\n",
     b"respondent_id,site,site\nR1,a,b\n", b"respondent_id,,site\nR1,a,b\n"],
    ids=["empty", "not-utf8", "ragged", "repeated-header", "empty-header"],
)  # fmt: skip
def test_template_arrow_reader_declines_what_pandas_must_explain(tmp_path, content):
    from hsc_research.ingest import template

    path = tmp_path / "export.csv"
    path.write_bytes(content)
    assert template._read_arrow(path) is None


def test_respondent_fields_read_from_the_respondents_equal_the_file(both, tmp_path):
    """read_tables takes site, wave, profession, group and role level from the
    respondents by id: the same columns, values and dtypes as in the responses file."""
    (cleaned, _), _ = both
    write_tables(cleaned, tmp_path)
    columns = list(aggregate.RESPONSE_COLUMNS)
    got = read_tables(tmp_path, responses_columns=columns).responses
    pd.testing.assert_frame_equal(
        got, pd.read_parquet(tmp_path / "responses.parquet", columns=columns), check_exact=True
    )
    # Every column (what hsc.load reads), the respondent ids taken by their codes.
    pd.testing.assert_frame_equal(
        read_tables(tmp_path).responses, pd.read_parquet(tmp_path / "responses.parquet"),
        check_exact=True,
    )  # fmt: skip


def test_responses_whose_ids_are_not_the_respondents_are_read_as_written(tmp_path):
    """A responses file whose respondent ids are not the respondents' (in order) keeps
    its own respondent fields."""
    site = pd.CategoricalDtype(["a", "b"])
    respondents = pd.DataFrame(
        {"respondent_id": ["r2", "r1"], "site": pd.Categorical(["a", "b"], dtype=site)}
    )
    responses = pd.DataFrame({
        "respondent_id": pd.Categorical(["r1", "r1", "r2"], categories=["r1", "r2"]),
        "site": pd.Categorical(["b", "b", "a"], dtype=site),
        "code": pd.array([1, 2, 3], dtype="Int8"),
    })  # fmt: skip
    exclusions = pd.DataFrame({"level": ["answer"], "n_answers": [1]})
    for name, table in (("responses", responses), ("respondents", respondents),
                        ("exclusions", exclusions)):  # fmt: skip
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    got = read_tables(tmp_path, responses_columns=["respondent_id", "site", "code"]).responses
    pd.testing.assert_frame_equal(got, responses)
    assert got["site"].tolist() == ["b", "b", "a"]


def test_respondent_fields_are_taken_by_each_answers_respondent(tmp_path):
    """Ids in the respondents' order: each answer gets its own respondent's site, wave
    and a missing role level stays missing."""
    site, role = pd.CategoricalDtype(["a", "b"]), pd.CategoricalDtype(["m", "f"], ordered=True)
    respondents = pd.DataFrame({
        "respondent_id": ["r1", "r2"], "site": pd.Categorical(["b", "a"], dtype=site),
        "wave": np.array([2014, 2019], dtype=np.int16),
        "role_level": pd.Categorical(["m", None], dtype=role),
    })  # fmt: skip
    responses = pd.DataFrame({
        "respondent_id": pd.Categorical(["r1", "r2", "r2"], categories=["r1", "r2"]),
        "site": pd.Categorical(["b", "a", "a"], dtype=site),
        "wave": np.array([2014, 2019, 2019], dtype=np.int16),
        "role_level": pd.Categorical(["m", None, None], dtype=role),
        "code": pd.array([1, None, 3], dtype="Int8"),
    })  # fmt: skip
    exclusions = pd.DataFrame({"level": ["answer"], "n_answers": [1]})
    for name, table in (("responses", responses), ("respondents", respondents),
                        ("exclusions", exclusions)):  # fmt: skip
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    columns = ["code", "site", "wave", "role_level"]
    got = read_tables(tmp_path, responses_columns=columns).responses
    assert list(got.columns) == columns
    assert got["site"].tolist() == ["b", "a", "a"]
    assert got["wave"].tolist() == [2014, 2019, 2019]
    pd.testing.assert_frame_equal(got, responses[columns])


@pytest.mark.parametrize("secret_len", [16, 32, 64, 65, 100])
def test_pseudonyms_equal_hmac_digest_for_any_key_length(secret_len):
    """The hand-built HMAC states give hmac.digest's ids, for keys shorter than, equal
    to and longer than SHA-256's 64-byte block (hashed first), and for non-ASCII text."""
    secret = bytes(range(7, 7 + secret_len))
    keys = np.array(["R1\x1f2019\x1fnorth", "Zoë\x1f2014", "", "R1\x1f2019\x1fnorth"], dtype=object)
    got = clean_run.pseudonyms(keys, secret)
    expected = [hmac.digest(secret, k.encode("utf-8"), "sha256").hex()[:16] for k in keys]
    assert got.tolist() == expected
    assert got.tolist() == reference_pseudonyms(keys, secret).tolist()


def _same_keys(got, ref):
    """Two key arrays number the same rows alike and sort them the same way."""
    got_rank = np.unique(got, return_inverse=True)[1]
    ref_rank = np.unique(ref, return_inverse=True)[1]
    assert got_rank.tolist() == ref_rank.tolist()


@pytest.mark.parametrize("block", [1, 2, 3, 1 << 18])
def test_keys_combined_block_by_block_equal_one_pass(monkeypatch, block):
    """_combined a few rows at a time gives keys that group and sort the rows as the old
    one-pass keys do, and decode to the same values, with and without a row selection,
    a missing category, years with gaps and a code missing outside the selection."""
    frame = pd.DataFrame({
        "site": pd.Categorical(["b", None, "a", "b", "a", "c", "a"], categories=["a", "b", "c"]),
        "wave": np.array([2019, 2014, 2019, 2014, 2019, 2016, 2014], dtype=np.int16),
        "code": pd.array([3, None, 1, 4, 0, 2, None], dtype="Int8"),
    })  # fmt: skip
    rows = np.array([True, False, True, True, True, True, False])
    keys = ["site", "wave", "code"]
    monkeypatch.setattr(counts, "_BLOCK", block)
    got, sizes, decode = counts._combined(frame, keys, rows)
    selected = frame.loc[rows].astype({"code": "int8"}).reset_index(drop=True)
    ref, _, _ = reference_combined(selected, keys)
    _same_keys(got, ref)
    pd.testing.assert_frame_equal(counts._decoded(got, keys, sizes, decode), selected)
    whole, sizes, decode = counts._combined(frame[["site", "wave"]], ["site", "wave"])
    _same_keys(whole, reference_combined(frame, ["site", "wave"])[0])
    pd.testing.assert_frame_equal(
        counts._decoded(whole, ["site", "wave"], sizes, decode), frame[["site", "wave"]]
    )


def test_keys_number_only_what_occurs():
    """No slot for a missing category when none is missing; two years of six numbered
    0 and 1; a missing category keeps its slot."""
    frame = pd.DataFrame({
        "site": pd.Categorical(["b", "a", "b"], categories=["a", "b", "c"]),
        "wave": np.array([2019, 2014, 2019], dtype=np.int16),
        "role": pd.Categorical(["x", None, "x"], categories=["x"]),
    })  # fmt: skip
    key, sizes, _ = counts._combined(frame, ["site", "wave", "role"])
    assert sizes == [3, 2, 2]
    assert key.tolist() == [(1 * 2 + 1) * 2 + 1, (0 * 2 + 0) * 2 + 0, (1 * 2 + 1) * 2 + 1]


def test_high_answers_by_look_up_equal_isin():
    """The look-up gives np.isin's flags, for missing codes (-1), the ends of the 16-bit
    range and a high value no 16-bit code can take."""
    code = np.array([-1, 0, 1, 2, 3, 4, -32768, 32767, 3], dtype=np.int16)
    for high in ([3, 4], [0], [-1, 2], [32767, -32768], [70000, 3], []):
        assert frequency._is_high(code, high).tolist() == np.isin(code, high).tolist()


def reference_latest(who, submitted, alive):
    """clean() before: a frame sorted by respondent, time (missing first) and position."""
    order = pd.DataFrame({"who": who, "t": submitted, "pos": np.arange(len(who))})[alive]
    order = order.sort_values(["who", "t", "pos"], na_position="first")
    return order.drop_duplicates("who", keep="last")["pos"].to_numpy()


def test_latest_submission_by_integer_sort_equals_the_frame_sort():
    """Each respondent's latest row, as the frame sort chose it: missing times earliest,
    ties by file order, excluded rows never chosen, respondents in code order."""
    who = np.array([2, 0, 2, 1, 0, 2, 1, 0, 3, 3])
    t = pd.Series(pd.to_datetime([
        "2019-05-02 10:00", None, "2019-05-02 10:00", "2019-05-01 00:00", "2019-04-30 00:00",
        None, "2019-05-01 00:00", "2019-04-29 00:00", None, None,
    ]))  # fmt: skip
    alive = np.array([True, True, True, True, True, True, True, False, True, True])
    got = clean_run.latest_submissions(who, t, alive)
    assert got.tolist() == reference_latest(who, t, alive).tolist()
    # By hand: respondent 0 -> row 4 (row 1 has no time, row 7 is excluded); 1 -> row 6
    # (same time as row 3, later in the file); 2 -> row 2; 3 -> row 9 (both missing).
    assert got.tolist() == [4, 6, 2, 9]


def test_latest_submission_compares_years_past_the_nanosecond_range():
    """Typo years (2919, 1019) parse at microseconds; they are compared as the times
    they are, not wrapped round as nanoseconds would be."""
    who = np.array([0, 0, 1, 1])
    t = pd.Series(pd.to_datetime(
        ["2019-05-01 10:00", "2919-05-02 10:00", "1019-05-02 10:00", "2019-05-02 10:00"],
        format="%Y-%m-%d %H:%M",
    ).as_unit("us"))  # fmt: skip
    alive = np.ones(4, dtype=bool)
    got = clean_run.latest_submissions(who, t, alive)
    assert got.tolist() == [1, 3]  # by hand: 2919 is later than 2019, 2019 than 1019
    assert got.tolist() == reference_latest(who, t, alive).tolist()
    aware = t.dt.tz_localize("UTC")  # times with a zone (the API's callers) sort alike
    assert clean_run.latest_submissions(who, aware, alive).tolist() == [1, 3]


def test_waves_parsed_once_per_text_equal_parsing_every_cell():
    cells = pd.Series(
        ["2019", " 2014 ", "2019.0", "2019.5", "", " ", "x", None, "1e3", "-7", "2019"],
        dtype="str",
    )
    got = clean_run._waves(cells)
    ref = pd.to_numeric(cells.str.strip(), errors="coerce")
    np.testing.assert_array_equal(got.to_numpy(), ref.to_numpy(dtype=float))
    assert got.index.equals(cells.index)


def test_distinct_keys_drawing_one_id_are_refused(monkeypatch):
    """Two respondents' ids collide (forced by cutting the id to one hex digit): an
    error, while one key repeated (the same respondent) is not a collision."""
    keys = np.array([f"R{i}" for i in range(40)] + ["R1"], dtype=object)
    assert len(set(clean_run.pseudonyms(keys[:2], b"k" * 32, distinct=True))) == 2
    monkeypatch.setattr(clean_run, "PSEUDONYM_CHARS", 1)
    with pytest.raises(clean_run.HscError, match="drew the same pseudonymous id"):
        clean_run.pseudonyms(keys, b"k" * 32, distinct=True)
    clean_run.pseudonyms(keys, b"k" * 32)  # not checked unless asked


@pytest.mark.parametrize("ids", ["plain text", "fewer categories", "missing id", "no id column"])
def test_responses_ids_not_written_as_the_respondents_codes_are_read_as_written(tmp_path, ids):
    """Respondent ids stored as plain text, as a dictionary of other ids than the
    respondents', or with an answer without one: the file's own columns are read."""
    site = pd.CategoricalDtype(["a", "b"])
    respondents = pd.DataFrame(
        {"respondent_id": ["r1", "r2", "r3"], "site": pd.Categorical(["a", "b", "a"], dtype=site)}
    )
    rid = {
        "plain text": pd.Series(["r1", "r2", "r2"], dtype="str"),
        "fewer categories": pd.Categorical(["r1", "r2", "r2"], categories=["r1", "r2"]),
        "missing id": pd.Categorical(["r1", None, "r2"], categories=["r1", "r2", "r3"]),
        "no id column": None,
    }[ids]
    responses = pd.DataFrame({
        "respondent_id": rid, "site": pd.Categorical(["b", "b", "a"], dtype=site),
    })  # fmt: skip
    if rid is None:
        responses = responses.drop(columns="respondent_id")
    exclusions = pd.DataFrame({"level": ["answer"], "n_answers": [1]})
    for name, table in (("responses", responses), ("respondents", respondents),
                        ("exclusions", exclusions)):  # fmt: skip
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
    got = read_tables(tmp_path).responses
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "responses.parquet"))
    assert got["site"].tolist() == ["b", "b", "a"]
