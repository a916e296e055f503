"""The speed-ups of clean and aggregate change no published number.

Every aggregate table of the demo survey (default synth, messy) is computed twice: by
the current code, and by the code before the speed-ups (issue 14), whose replaced
functions are kept here verbatim as the reference. The tables must be identical, value
for value and dtype for dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsc_research import aggregate, clean
from hsc_research.aggregate import tables as aggregate_tables
from hsc_research.clean import INVALID, STATUS_DTYPE, S, read_tables, write_tables
from hsc_research.clean import run as clean_run
from hsc_research.demo import synth
from hsc_research.mapping import read_mapped
from hsc_research.stats import compare, counts

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


REFERENCE = {
    (aggregate_tables, "_answer_cubes"): reference_answer_cubes,
    (counts, "_sum_encoded"): reference_sum_counts,
    (aggregate_tables, "_answers_to"): reference_answers_to,
    (aggregate_tables, "_role_level_counts"): reference_role_level_counts,
    (clean_run, "_long_responses"): reference_long_responses,
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
