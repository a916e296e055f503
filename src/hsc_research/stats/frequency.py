"""Frequency-scale questions: ranking of items, behaviour vs process, rater differences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import _combined, _decoded, _encodable, answer_counts
from hsc_research.stats.likert import likert_summary
from hsc_research.stats.multiplicity import finish_p
from hsc_research.stats.proportions import proportion_high


def ranked_items(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str,
    by: Sequence[str] = (),
    *,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """% frequent with Wilson interval, mean code and rank of each item.

    Parameters
    ----------
    data
        ``responses`` or a counts table.
    codebook
        Scales and items.
    question
        Question id.
    by
        Respondent fields to group by.
    summary
        ``likert_summary(data, codebook, question, by)`` when the caller has it already
        (it is not computed again).

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, tag, label, n, k, estimate, ci_low, ci_high, mean_code,
        rank`` (rank 1 = most often frequent), sorted by rank within ``by``.
    """
    props = proportion_high(data, codebook, by, questions=[question])
    if summary is None:
        summary = likert_summary(data, codebook, question, by)
    summ = summary[[*by, "item", "mean_code"]]
    out = props.merge(summ, on=[*by, "item"], how="left")
    items = {it.id: it for it in codebook.question(question).items}
    out["tag"] = out["item"].astype(str).map(lambda i: items[i].tag)
    out["label"] = out["item"].astype(str).map(lambda i: items[i].label)
    grouped = out.groupby(list(by), observed=True)["estimate"] if by else out["estimate"]
    out["rank"] = grouped.rank(ascending=False, method="min").astype(int)
    return out.sort_values([*by, "rank"]).reset_index(drop=True)


def top_k_tag_share(ranked: pd.DataFrame, k: int = 5, by: Sequence[str] = ()) -> pd.DataFrame:
    """Share of each tag among the ``k`` most frequent items.

    Returns
    -------
    pandas.DataFrame
        ``*by, tag, count, share`` (share of the top k).
    """
    top = ranked[ranked["rank"] <= k]
    out = top.groupby([*by, "tag"], observed=True).size().rename("count").reset_index()
    out["share"] = (
        out["count"] / out.groupby(list(by), observed=True)["count"].transform("sum")
        if by
        else out["count"] / out["count"].sum()
    )
    return out


def tag_comparison(
    responses: pd.DataFrame,
    codebook: Codebook,
    question: str = "admission_factors",
    tags: tuple[str, str] = ("behaviour", "process"),
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Mean % frequent of items tagged ``tags[0]`` vs ``tags[1]``, within respondents.

    Each respondent's share of ``tags[0]`` items answered frequent minus their share of
    ``tags[1]`` items is a paired difference; its mean gets a one-sample t interval and
    test (the same as scipy's ``ttest_1samp``, computed for all groups in one pass).
    Respondents without a substantive answer on both sides are left out.

    Returns
    -------
    pandas.DataFrame
        ``*by, tag1, tag2, n (respondents), mean1, mean2 (percent), diff (points),
        ci_low, ci_high, p, test``.
    """
    scale = codebook.scale_of(question)
    tag_of = {it.id: it.tag for it in codebook.question(question).items}
    per = _respondent_tag_shares(responses, question, tag_of, tags, scale.high, by)
    if per is None:  # keys that are not codes: the general (slower) pandas path
        per = _respondent_tag_shares_pandas(responses, question, tag_of, tags, scale.high, by)
    per = per.assign(d=100 * (per[tags[0]] - per[tags[1]]))
    keys = list(by) if by else np.zeros(len(per), dtype=np.int64)
    g = per.groupby(keys, observed=True)
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


def _respondent_tag_shares_pandas(
    responses: pd.DataFrame, question: str, tag_of: dict, tags: tuple[str, str],
    high: Sequence[int], by: Sequence[str],
) -> pd.DataFrame:  # fmt: skip
    """Each respondent's share of frequent answers per tag, by pandas groupby (any key
    dtypes): columns ``*by, tags[0], tags[1]``, respondents with both tags only, in the
    order of ``by`` and then respondent id."""
    r = responses[(responses["question"] == question) & (responses["status"] == "valid")]
    r = r.assign(tag=r["item"].astype(str).map(tag_of), hi=r["code"].isin(high).astype(float))
    r = r[r["tag"].isin(tags)]
    per = r.groupby([*by, "respondent_id", "tag"], observed=True)["hi"].mean().unstack("tag")
    per = per.reindex(columns=list(tags)).dropna()
    return per.reset_index(list(by)).reset_index(drop=True) if by else per.reset_index(drop=True)


def _respondent_tag_shares(
    responses: pd.DataFrame, question: str, tag_of: dict, tags: tuple[str, str],
    high: Sequence[int], by: Sequence[str],
) -> pd.DataFrame | None:  # fmt: skip
    """The same table as :func:`_respondent_tag_shares_pandas`, value for value, from
    integer codes: no text per answer and no grouping by a million respondent ids in
    pandas (ten million answers at a million respondents). ``None`` when a key is not
    categorical or integer."""
    keys = [*by, "respondent_id"]
    if not all(_encodable(responses[k]) for k in keys) or not all(
        isinstance(responses[c].dtype, pd.CategoricalDtype) for c in ("question", "item", "status")
    ):
        return None
    item = responses["item"]
    tag_lut = np.array(
        [tags.index(tag_of[i]) if tag_of.get(i) in tags else -1 for i in item.cat.categories]
        + [-1],
        dtype=np.int8,
    )  # fmt: skip  (the last entry is where a missing item's -1 code lands)
    tag = tag_lut[item.array.codes]
    keep = (
        (tag >= 0)
        & (responses["question"] == question).to_numpy()
        & (responses["status"] == "valid").to_numpy()
    )
    # pandas' groupby leaves out rows with a missing key (dropna=True).
    for k in keys:
        if isinstance(responses[k].dtype, pd.CategoricalDtype):
            keep &= responses[k].array.codes >= 0
    at = np.flatnonzero(keep)
    # The keys combined from the whole columns and selected once (no copy of each column).
    combined, sizes, decode = _combined(responses, keys, keep)
    # Groups in sorted key order, as groupby(sort=True): a hash factorisation, then the
    # (few) distinct keys sorted, is much cheaper than sorting every answer.
    first, uniq = pd.factorize(combined, sort=False)
    order = np.argsort(uniq, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    group = rank[first] * 2 + tag[at]
    code = responses["code"].to_numpy(dtype=np.int16, na_value=-1)[at]
    hi = _is_high(code, high)
    n = np.bincount(group, minlength=2 * len(uniq)).reshape(-1, 2)
    k = np.bincount(group, weights=hi, minlength=2 * len(uniq)).reshape(-1, 2)
    both = (n > 0).all(axis=1)
    # A mean of 0/1 values is its exact count over n: the same float as groupby's mean.
    share = k[both] / n[both]
    # The respondent is the last (fastest-varying) key: dividing it out leaves ``by``.
    out = _decoded(uniq[order][both] // sizes[-1], list(by), sizes[:-1], decode[:-1])
    out.index = pd.RangeIndex(len(share))
    out[tags[0]], out[tags[1]] = share[:, 0], share[:, 1]
    return out


def _is_high(code: np.ndarray, high: Sequence[int]) -> np.ndarray:
    """``np.isin(code, high)`` for 16-bit codes, by one table look-up per answer."""
    lut = np.zeros(1 << 16, dtype=bool)
    h = np.asarray(list(high), dtype=np.int64)
    h = h[(h >= -(1 << 15)) & (h < (1 << 15))]  # a value outside 16 bits matches no code
    lut[h.astype(np.int16).view(np.uint16)] = True
    return lut[code.view(np.uint16)]


def rater_differences(
    data: pd.DataFrame,
    codebook: Codebook,
    question: str,
    rater: str = "group",
    by: Sequence[str] = (),
    correction: str = "bonferroni",
) -> pd.DataFrame:
    """Do rater groups answer an item differently? Chi-square on the full distribution.

    Levels with no answers in any group are dropped before the test.

    Returns
    -------
    pandas.DataFrame
        ``*by, item, n, statistic, dof, p, p_adj (Bonferroni within ``by``), family_size,
        correction, significant, test``.
    """
    counts = answer_counts(data, [*by, rater])
    counts = counts[counts["question"] == question]
    rows = []
    for key, grp in counts.groupby([*by, "item"], observed=True):
        table = grp.pivot_table(index=rater, columns="code", values="count", aggfunc="sum",
                                fill_value=0, observed=True)  # fmt: skip
        table = table.loc[table.sum(axis=1) > 0, table.sum(axis=0) > 0]
        if table.shape[0] < 2 or table.shape[1] < 2:
            stat, dof, p = np.nan, 0, np.nan
        else:
            res = sps.chi2_contingency(table.to_numpy())
            stat, dof, p = res.statistic, res.dof, res.pvalue
        rows.append((*key, int(table.to_numpy().sum()), stat, dof, p))
    out = pd.DataFrame(rows, columns=[*by, "item", "n", "statistic", "dof", "p"])
    out = finish_p(out, correction, family=by)
    out["test"] = f"chi-square test of independence ({rater} x answer level)"
    return out
