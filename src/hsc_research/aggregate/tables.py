"""Aggregates: every table the reports publish, for every site, the nation and each wave.

One pass over the responses builds the answer counts by site, wave, profession, question,
item and code (:func:`~hsc_research.stats.counts.answer_counts`); every statistic is then
computed from those counts for all sites at once (``by=["site", "wave", ...]``) and for
the nation (``by=["wave", ...]``), and stacked with a ``scope`` column (a site id, or
:data:`NATIONAL`).

Disclosure control is applied here, before anything is written: :func:`bases` derives the
number of respondents behind every published estimate (by profession, group and all
raters, per site and nationally), suppresses them with the additive links between them
(professions add up to their group, groups to all raters, sites to the nation), and every
table hides the estimates that rest on a hidden base. Notebooks only read the results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from hsc_research import __version__
from hsc_research.aggregate.io import NATIONAL, read, write  # noqa: F401  (used by callers)
from hsc_research.aggregate.profile import exclusion_summary, response_profile
from hsc_research.clean import CleanResult
from hsc_research.config import MIN_CELL
from hsc_research.instrument import Codebook
from hsc_research.stats import compare, counts, frequency, gaps, likert, matrices, proportions
from hsc_research.stats.counts import _encodable, answer_counts, recount, with_group
from hsc_research.stats.disclosure import suppress_estimates, suppress_linked
from hsc_research.stats.models import ModelError, fit_ordinal
from hsc_research.stats.multiplicity import CORRECTIONS

log = logging.getLogger(__name__)


def _question_roles(codebook: Codebook) -> dict[str, list[str]]:
    """Which questions each table covers, read from the codebook (never by id):
    questions about professions make matrices; those where a profession may rate itself
    also give self vs others; a rating scale with self-ratings excluded gives the
    asymmetry and ties; the other questions are ranked frequency questions; the first
    question with tagged items gives the behaviour vs process comparison."""
    by_prof = [q for q in codebook.questions if q.by_profession]
    return {
        "matrix": [q.id for q in by_prof],
        "self_view": [q.id for q in by_prof if q.self_policy != "excluded"],
        "relationship": [q.id for q in by_prof if q.self_policy == "excluded"][:1],
        "frequency": [q.id for q in codebook.questions if not q.by_profession],
        "tagged": [q.id for q in codebook.questions if any(it.tag for it in q.items)][:1],
    }


TOP_K = 5


def _both(fn: Callable[[Sequence[str]], pd.DataFrame], extra: Sequence[str] = ()) -> pd.DataFrame:
    """Run ``fn(by)`` for all sites and for the nation; stack with a ``scope`` column."""
    sites = fn(["site", "wave", *extra]).rename(columns={"site": "scope"})
    sites["scope"] = sites["scope"].astype(str)
    nation = fn(["wave", *extra])
    nation.insert(0, "scope", NATIONAL)
    return pd.concat([sites, nation], ignore_index=True)


def bases(cube: pd.DataFrame, codebook: Codebook, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """Respondents behind every published estimate, with linked suppression.

    Returns
    -------
    pandas.DataFrame
        ``scope, wave, level ("profession" / "group" / "all"), rater, question, item, n,
        hidden, suppressed``.
    """
    per_prof = answer_counts(cube, ["site", "wave", "profession"])
    per_prof = per_prof.groupby(["site", "wave", "profession", "question", "item"], observed=True)[
        "count"
    ].sum()
    per_prof = per_prof.rename("n").reset_index()
    group_of = codebook.profession_group
    parts = []
    df = per_prof.assign(group=per_prof["profession"].astype(str).map(group_of))
    for level, key in (("profession", "profession"), ("group", "group"), ("all", None)):
        keys = ["question", "item"] + ([key] if key else [])
        site_rows = df.groupby(["site", "wave", *keys], observed=True)["n"].sum().reset_index()
        nat_rows = df.groupby(["wave", *keys], observed=True)["n"].sum().reset_index()
        nat_rows.insert(0, "site", NATIONAL)
        rows = pd.concat([site_rows.astype({"site": str}), nat_rows], ignore_index=True)
        rows["rater"] = rows[key].astype(str) if key else "all"
        rows["level"] = level
        rows["rater_group"] = (
            rows["rater"].map(group_of) if level == "profession" else rows["rater"]
        )
        parts.append(
            rows[["site", "wave", "level", "rater", "rater_group", "question", "item", "n"]]
        )
    b = pd.concat(parts, ignore_index=True).rename(columns={"site": "scope"})
    b["question"], b["item"] = b["question"].astype(str), b["item"].astype(str)

    families: list[np.ndarray] = []
    cell = ["scope", "wave", "question", "item"]
    # Professions add up to their group.
    pg = b[b["level"].isin(["profession", "group"])]
    families += [
        pg.index.to_numpy()[i] for i in pg.groupby([*cell, "rater_group"]).indices.values()
    ]
    # Groups add up to all raters.
    ga = b[b["level"].isin(["group", "all"])]
    families += [ga.index.to_numpy()[i] for i in ga.groupby(cell).indices.values()]
    # Sites add up to the nation, at every level.
    families += list(b.groupby(["wave", "question", "item", "level", "rater"]).indices.values())
    families = [f for f in families if len(f) > 1]
    status = suppress_linked(b["n"].to_numpy(), families, min_cell)
    b["hidden"] = status != None  # noqa: E711
    b["suppressed"] = pd.array(status, dtype=pd.StringDtype(na_value=pd.NA))
    return b.drop(columns="rater_group")


def _hidden_index(b: pd.DataFrame) -> pd.Series:
    """``hidden`` of :func:`bases`, indexed for look-ups (built once per aggregate run)."""
    index = b.set_index(["scope", "wave", "level", "rater", "question", "item"])["hidden"]
    index.index = index.index.set_levels([lv.astype(object) for lv in index.index.levels])
    return index


def _hidden(index: pd.Series, scope, wave, level, rater, question, item) -> np.ndarray:
    """Look up whether each (scope, wave, level, rater, question, item) base is hidden.
    A base that does not exist (no answers) counts as hidden: nothing to publish."""
    keys = pd.MultiIndex.from_arrays(
        [np.asarray(x, dtype=object) if not np.isscalar(x) else np.full(len(scope), x, dtype=object)
         for x in (scope, wave, level, rater, question, item)]
    )  # fmt: skip
    return index.reindex(keys).fillna(True).to_numpy(dtype=bool)


def _mask(table: pd.DataFrame, hidden: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
    """Hide ``columns`` where ``hidden``; mark the row ``suppressed``."""
    out = table.copy()
    for col in columns:
        if col in out.columns:
            if pd.api.types.is_integer_dtype(out[col]):
                out[col] = out[col].astype("Int64").mask(hidden)
            else:
                out[col] = out[col].astype("float64").mask(hidden)
    out["suppressed"] = hidden
    return out


EST = ("n", "k", "estimate", "ci_low", "ci_high")
DIFF = ("n1", "k1", "p1", "n2", "k2", "p2", "diff", "ci_low", "ci_high", "p", "significant")
STD = ("std_p1", "std_p2", "std_diff", "std_se", "std_ci_low", "std_ci_high")
#: Directional trust pairs the reports show (one family per scope and wave).


def aggregate(
    cleaned: CleanResult,
    codebook: Codebook,
    min_cell: int = MIN_CELL,
    correction: str = "bonferroni",
) -> dict[str, pd.DataFrame]:
    """Compute every published table.

    Parameters
    ----------
    cleaned
        The cleaned tables.
    codebook
        The instrument.
    min_cell
        Disclosure threshold.
    correction
        ``"bonferroni"`` (default) or ``"none"``: the level of the intervals printed for
        a family of comparisons (:mod:`~hsc_research.stats.multiplicity`). Each family is
        what one reader sees in one table or figure.

    Returns
    -------
    dict of str to pandas.DataFrame
        Table name to table; see :data:`TABLES` for what each holds.
    """
    roles = _question_roles(codebook)
    waves = sorted(int(w) for w in cleaned.respondents["wave"].unique())
    # The tables read from the answers themselves, not from the counts, are computed in
    # a second thread while this one counts the answers and derives the rest: numpy and
    # pandas release the GIL in their passes over tens of millions of answers, so two
    # cores work at once. Neither thread changes what the other reads.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="hsc-aggregate") as pool:
        beside = pool.submit(_answer_tables, cleaned, codebook, roles, waves, min_cell)
        out = _count_tables(cleaned, codebook, roles, waves, min_cell, correction)
        for name, table in beside.result().items():
            out[name] = table  # in the place kept for it, so the tables keep their order
    return out


def _answer_tables(
    cleaned: CleanResult, codebook: Codebook, roles: dict, waves: list[int], min_cell: int
) -> dict[str, pd.DataFrame]:
    """The tables read from the answers and respondents rather than the counts: the tag
    comparison (each respondent's shares), the check model, the response profile and
    the exclusions."""
    out = {}
    tagged = roles["tagged"][0] if roles["tagged"] else None
    adm = _answers_to(cleaned.responses, tagged)
    tc = _both(lambda by: frequency.tag_comparison(adm, codebook, tagged, by=by))
    out["tag_comparison"] = suppress_estimates(
        tc, "n", ("mean1", "mean2", "diff", "ci_low", "ci_high", "p"), min_cell
    )
    out["ordinal_model"] = _ordinal(cleaned, codebook, waves, min_cell)
    # Response profile and data quality, per site and nationally.
    out["profile"] = response_profile(cleaned.respondents, codebook, min_cell, NATIONAL)
    out["exclusions"] = exclusion_summary(cleaned.exclusions, NATIONAL)
    return out


def _count_tables(
    cleaned: CleanResult, codebook: Codebook, roles: dict, waves: list[int], min_cell: int,
    correction: str,
) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Every table derived from the answer counts, with a place (``None``) kept for each
    table of :func:`_answer_tables`."""
    responses = cleaned.responses
    cube, role_counts = _answer_cubes(responses, codebook)
    # Each question's part of the cube: a statistic of one question sums up only its
    # own rows (the same rows in the same order, so the same tables), not every question's.
    of_q = {q.id: cube[(cube["question"] == q.id).to_numpy()] for q in codebook.questions}
    b = bases(cube, codebook, min_cell)
    hx = _hidden_index(b)
    out: dict[str, pd.DataFrame | None] = {}

    # Proportions high and Likert summaries / distributions, by rater group and all raters.
    def by_rater(fn):
        grouped = _both(lambda by: fn(by), ["group"]).rename(columns={"group": "rater"})
        grouped["rater_level"] = "group"
        overall = _both(lambda by: fn(by))
        overall["rater"], overall["rater_level"] = "all", "all"
        t = pd.concat([grouped, overall], ignore_index=True)
        t["rater"], t["item"] = t["rater"].astype(str), t["item"].astype(str)
        return t

    props = by_rater(lambda by: proportions.proportion_high(cube, codebook, by))
    hidden = _hidden(
        hx,
        props["scope"],
        props["wave"],
        props["rater_level"],
        props["rater"],
        props["question"],
        props["item"],
    )
    out["proportions"] = _mask(props, hidden, EST)

    # Each question's distribution and summary by each grouping, computed once: the
    # summaries start from the distributions and the ranked items from the summaries.
    dist_of: dict[tuple, pd.DataFrame] = {}
    summary_of: dict[tuple, pd.DataFrame] = {}

    def dist(qid: str, by) -> pd.DataFrame:
        key = (qid, tuple(by))
        if key not in dist_of:
            dist_of[key] = likert.distribution(of_q[qid], codebook, qid, by)
        return dist_of[key].copy()  # callers add columns to what they are given

    def summary(qid: str, by) -> pd.DataFrame:
        key = (qid, tuple(by))
        if key not in summary_of:
            summary_of[key] = likert.likert_summary(
                of_q[qid], codebook, qid, by, dist=dist(qid, by)
            )
        return summary_of[key].copy()

    summaries, dists = [], []
    for q in codebook.questions:
        s = by_rater(lambda by, q=q: summary(q.id, by))
        summaries.append(s)
        d = by_rater(lambda by, q=q: dist(q.id, by)).drop(columns="count")
        dists.append(d)
    s = pd.concat(summaries, ignore_index=True)
    hidden = _hidden(
        hx, s["scope"], s["wave"], s["rater_level"], s["rater"], s["question"], s["item"]
    )
    out["likert"] = _mask(s, hidden, ("n", "low", "neutral", "high", "mean", "sd", "mean_code"))
    d = pd.concat(dists, ignore_index=True)
    d = d.assign(answer=d["level"].astype(str)).drop(columns="level")
    hidden = _hidden(
        hx, d["scope"], d["wave"], d["rater_level"], d["rater"], d["question"], d["item"]
    )
    d = _mask(d, hidden, ("n", "pct"))
    out["distributions"] = d

    # Rater x target matrices (profession level), asymmetry, ties, self vs others.
    spec = codebook.reports
    mats = []
    for qid in roles["matrix"]:
        m = _both(
            lambda by, qid=qid: matrices.rating_matrix(of_q[qid], codebook, qid, "profession", by)
        )
        m.insert(2, "question", qid)
        mats.append(m)
    m = pd.concat(mats, ignore_index=True)
    hidden = _hidden(
        hx, m["scope"], m["wave"], "profession", m["rater"], m["question"], m["target"]
    )
    m = _mask(m, hidden, ("n", "mean", "sd", "ci_low", "ci_high"))
    out["matrix"] = m

    rel = m[m["question"].isin(roles["relationship"]) & ~m["suppressed"]]
    asym = matrices.asymmetry(rel, by=["scope", "wave"], correction=correction)
    out["asymmetry"] = asym
    out["ties"] = matrices.ranked_ties(rel, k=3, by=["scope", "wave"])

    sv = []
    for qid in roles["self_view"]:
        t = _both(lambda by, qid=qid: gaps.in_out_group(of_q[qid], codebook, qid, by, correction))
        t.insert(2, "question", qid)
        sv.append(t)
    sv = pd.concat(sv, ignore_index=True)
    h_in = _hidden(
        hx, sv["scope"], sv["wave"], "profession", sv["target"], sv["question"], sv["target"]
    )
    h_all = _hidden(hx, sv["scope"], sv["wave"], "all", "all", sv["question"], sv["target"])
    h = h_in | h_all
    sv = gaps.finish(sv, correction, family=["scope", "wave", "question"], hidden=h)
    out["self_vs_others"] = _mask(sv, h, DIFF)

    tq = spec.trust_pair.get("question", "trust") if spec else "trust"
    pairs = list(spec.trust_gap_pairs) if spec else []
    dg = _both(lambda by: gaps.directional_gaps(of_q.get(tq, cube), codebook, tq, by, correction))
    dg = dg.merge(pd.DataFrame(pairs, columns=["a", "b"]), on=["a", "b"])
    h1 = _hidden(hx, dg["scope"], dg["wave"], "profession", dg["a"], tq, dg["b"])
    h2 = _hidden(hx, dg["scope"], dg["wave"], "profession", dg["b"], tq, dg["a"])
    dg = gaps.finish(dg, correction, family=["scope", "wave"], hidden=h1 | h2)
    out["trust_gaps"] = _mask(dg, h1 | h2, DIFF)

    if len(waves) >= 2:
        wc = _both(
            lambda by: pd.concat(
                [gaps.wave_change(of_q[q], codebook, q, waves[-2], waves[-1], [b_ for b_ in by if b_ != "wave"],
                                  correction).assign(question=q)
                 for q in roles["matrix"]], ignore_index=True),
        )  # fmt: skip
        wc = wc.drop(columns="wave", errors="ignore")
        h1 = _hidden(hx, wc["scope"], wc["wave_to"], "all", "all", wc["question"], wc["item"])
        h2 = _hidden(hx, wc["scope"], wc["wave_from"], "all", "all", wc["question"], wc["item"])
        wc = gaps.finish(wc, correction, family=["scope", "question"], hidden=h1 | h2)
        out["wave_change"] = _mask(wc, h1 | h2, DIFF)

    # Frequency questions: ranked items (all raters and by group), tag shares and comparison.
    ranked = []
    for qid in roles["frequency"]:
        ranked.append(
            by_rater(
                lambda by, qid=qid: frequency.ranked_items(
                    of_q[qid], codebook, qid, by, summary=summary(qid, by)
                )
            )  # fmt: skip
        )
    r = pd.concat(ranked, ignore_index=True)
    hidden = _hidden(
        hx, r["scope"], r["wave"], r["rater_level"], r["rater"], r["question"], r["item"]
    )
    out["frequency"] = _mask(r, hidden, (*EST, "mean_code", "rank"))
    pub = out["frequency"]
    tagged = roles["tagged"][0] if roles["tagged"] else None
    adm_all = pub[(pub["question"] == tagged) & (pub["rater"] == "all") & ~pub["suppressed"]]
    out["tag_share"] = frequency.top_k_tag_share(adm_all, TOP_K, by=["scope", "wave"])
    out["tag_comparison"] = None  # _answer_tables
    rd = []
    for q in codebook.questions:
        t = frequency.rater_differences(
            of_q[q.id], codebook, q.id, "group", by=["wave"], correction=correction
        )
        rd.append(t.assign(question=q.id))
    out["rater_differences"] = pd.concat(rd, ignore_index=True)

    # Headline indicators, site vs rest, funnel limits, change between waves.
    ind = compare.indicator_counts(cube, codebook, by=["site", "wave"])
    ind_table = _indicators(ind, codebook, hx)
    out["indicators"] = ind_table
    site_hidden = ind_table[ind_table["scope"] != NATIONAL].set_index(
        ["wave", "scope", "indicator"]
    )["suppressed"]
    # The gap analysis: each site's own indicators are one family (what its reader sees).
    svr = compare.site_vs_rest(ind, codebook, correction, ("wave", "site"), site_hidden)
    h = _site_lookup(site_hidden, svr)
    prof_ind = compare.indicator_counts(cube, codebook, by=["site", "wave", "profession"])
    std = compare.standardised_vs_rest(prof_ind, svr[["wave", "site", "indicator", "ci_level"]],
                                       min_cell)  # fmt: skip
    svr = svr.merge(std, on=["wave", "site", "indicator"], how="left")
    out["site_vs_rest"] = _mask(_mask(svr, h, STD), h, DIFF).rename(columns={"site": "scope"})
    # The national heatmap: every cell of it is one family.
    heat = compare.site_vs_rest(ind, codebook, correction, ("wave",), site_hidden)
    out["site_heatmap"] = _mask(heat, _site_lookup(site_hidden, heat), DIFF).rename(
        columns={"site": "scope"}
    )
    fun = compare.funnel_table(ind)
    out["funnel"] = _mask(fun, _site_lookup(site_hidden, fun), ("n", "k", "estimate", "z")).rename(
        columns={"site": "scope"}
    )
    # The curves the funnel plots draw, around the shown (unsuppressed) sites.
    out["funnel_limits"] = compare.funnel_curves(out["funnel"])
    if len(waves) >= 2:
        out["indicator_change"] = _indicator_change(ind_table, waves[-2], waves[-1], correction)
        # The trend over every wave: the first wave against the latest, one family a scope.
        out["indicator_trend"] = _indicator_change(ind_table, waves[0], waves[-1], correction)
    out["role_levels"], out["role_gaps"] = _role_levels(
        role_counts, codebook, ind_table, min_cell, correction
    )

    out["ordinal_model"] = out["profile"] = out["exclusions"] = None  # _answer_tables

    out["bases"] = b.assign(n=b["n"].astype("Int64").mask(b["hidden"]))
    return out


def _answer_cubes(responses: pd.DataFrame, codebook: Codebook) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The answer counts by site, wave and profession (with group: the cube every table
    starts from), and by site, wave, profession and role level, from one pass over the
    responses when their keys allow it (:func:`~hsc_research.stats.counts.recount`)."""
    keys = ["site", "wave", "profession", "role_level", "question", "item", "code"]
    # Only valid answers are counted: a code missing elsewhere (every answer that is not
    # valid has none) does not stop the one pass.
    valid = (responses["status"] == "valid").to_numpy()
    if not all(_encodable(responses[k], valid) for k in keys):
        cube = answer_counts(responses, ["site", "wave", "profession"])
        return with_group(cube, codebook), answer_counts(responses, keys[:4])
    # answer_counts(responses, keys[:4]), without checking the keys a second time.
    role_counts = counts._count_encoded(responses, keys, valid)
    cube = recount(role_counts, ["site", "wave", "profession"])
    return with_group(cube, codebook), role_counts


def _answers_to(responses: pd.DataFrame, question: str) -> pd.DataFrame:
    """The valid answers to ``question``, with the columns the tag comparison needs:
    filtering tens of millions of rows once, on few columns, instead of copying every
    column for each scope."""
    keep = ((responses["question"] == question) & (responses["status"] == "valid")).to_numpy()
    cols = [c for c in responses.columns if c in _TAG_COMPARISON_COLUMNS]
    return responses.loc[keep, cols]


#: The columns of the answers the tag comparison reads (by site and wave, per respondent).
_TAG_COMPARISON_COLUMNS = ("respondent_id", "site", "wave", "question", "item", "code", "status")


def _role_level_counts(counts: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Indicator counts by site, wave and role level ("not stated" for a missing one).

    ``counts`` are the answer counts by site, wave, profession and role level (a
    missing role level kept): renaming the missing level in them gives the same numbers
    as renaming it in every answer first, without copying the responses."""
    rl = counts["role_level"]
    if NOT_STATED not in rl.cat.categories:
        rl = rl.cat.add_categories(NOT_STATED)
    counts["role_level"] = rl.fillna(NOT_STATED)
    by_role = compare.indicator_counts(counts, codebook, by=["site", "wave", "role_level"])
    return by_role.astype({"site": str, "role_level": str})


#: Role-level comparisons the reports show: each against frontline staff.
ROLE_COMPARISONS = (("senior_leader", "frontline"), ("manager", "frontline"))
NOT_STATED = "not_stated"


def _role_levels(
    role_counts: pd.DataFrame,
    codebook: Codebook,
    ind_table: pd.DataFrame,
    min_cell: int,
    correction: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Headline indicators by role level, and each role level against frontline staff.

    Disclosure: role levels (with "not stated") add up to the indicator's base, and sites
    add up to the nation, so both links go through :func:`suppress_linked`; an indicator
    already hidden in the indicators table hides its role levels too.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``role_levels``: ``scope, wave, indicator, label, role_level, n, k, estimate,
        ci_low, ci_high, suppressed``. ``role_gaps``: ``scope, wave, indicator, label,
        role1, role2`` and the difference columns (role1 minus role2), one family per
        scope and wave (every comparison of the table).
    """
    by_role = _role_level_counts(role_counts, codebook)
    nat = by_role.groupby(["wave", "indicator", "role_level"], observed=True)[["n", "k"]].sum()
    nat = nat.reset_index().assign(site=NATIONAL)
    t = pd.concat([by_role, nat], ignore_index=True).rename(columns={"site": "scope"})
    roles = [x.id for x in codebook.role_levels] + [NOT_STATED]
    keys = t[["scope", "wave", "indicator"]].drop_duplicates()
    grid = keys.merge(pd.DataFrame({"role_level": roles}), how="cross")
    t = grid.merge(t, on=["scope", "wave", "indicator", "role_level"], how="left").fillna(
        {"n": 0, "k": 0}
    )
    # Totals (the indicator's base) as cells of the same array, so the links are checked.
    tot = t.groupby(["scope", "wave", "indicator"], sort=False)[["n", "k"]].sum().reset_index()
    tot["role_level"] = "total"
    cells = pd.concat([t, tot], ignore_index=True)
    shown = ind_table.set_index(["scope", "wave", "indicator"])["suppressed"]
    pre = shown.reindex(pd.MultiIndex.from_frame(cells[["scope", "wave", "indicator"]]))
    families = [
        *cells.groupby(["scope", "wave", "indicator"], sort=False).indices.values(),
        *cells.groupby(["wave", "indicator", "role_level"], sort=False).indices.values(),
    ]
    status = suppress_linked(
        cells["n"].to_numpy(), [f for f in families if len(f) > 1], min_cell,
        hidden=pre.fillna(True).to_numpy(dtype=bool),
    )  # fmt: skip
    hidden = status != None  # noqa: E711
    cells = pd.concat(
        [cells[["scope", "wave", "indicator", "role_level"]].reset_index(drop=True),
         proportions.from_counts(cells["k"], cells["n"])], axis=1,
    )  # fmt: skip
    cells["hidden"] = hidden
    labels = {i.id: i.label for i in codebook.indicators}
    cells.insert(3, "label", cells["indicator"].map(labels))
    est = cells[cells["role_level"].isin([x.id for x in codebook.role_levels])]
    est = est.reset_index(drop=True)
    table = _mask(est.drop(columns="hidden"), est["hidden"].to_numpy(), EST)

    pairs = []
    idx = est.set_index(["scope", "wave", "indicator", "role_level"])
    for r1, r2 in ROLE_COMPARISONS:
        a = idx.xs(r1, level="role_level")
        b = idx.xs(r2, level="role_level").reindex(a.index)
        diff = gaps.diff_proportions(a["k"], a["n"], b["k"], b["n"])
        part = pd.concat([a.reset_index()[["scope", "wave", "indicator", "label"]], diff], axis=1)
        part.insert(4, "role1", r1)
        part.insert(5, "role2", r2)
        part["_hidden"] = a["hidden"].to_numpy() | b["hidden"].to_numpy()
        pairs.append(part)
    g = pd.concat(pairs, ignore_index=True)
    h = g.pop("_hidden").to_numpy(dtype=bool)
    g = gaps.finish(g, correction, family=["scope", "wave"], hidden=h)
    return table, _mask(g, h, DIFF)


def _site_lookup(site_hidden: pd.Series, table: pd.DataFrame) -> np.ndarray:
    """``site_hidden`` (indexed by wave, site, indicator) for each row of ``table``;
    a combination with no indicator row is hidden."""
    keys = pd.MultiIndex.from_arrays([table["wave"], table["site"], table["indicator"]])
    return site_hidden.reindex(keys).fillna(True).to_numpy(dtype=bool)


def _indicators(ind: pd.DataFrame, codebook: Codebook, hx: pd.Series) -> pd.DataFrame:
    """Indicator estimates per site and nationally, hidden where their base is."""
    nat = ind.groupby(["wave", "indicator"], observed=True)[["n", "k"]].sum().reset_index()
    nat.insert(0, "site", NATIONAL)
    t = pd.concat([ind.astype({"site": str}), nat], ignore_index=True).rename(
        columns={"site": "scope"}
    )
    t = pd.concat(
        [t[["scope", "wave", "indicator"]], proportions.from_counts(t["k"], t["n"])], axis=1
    )
    spec = {i.id: i for i in codebook.indicators}
    level = t["indicator"].map(lambda i: spec[i].rater_field or "all")
    rater = t["indicator"].map(lambda i: spec[i].rater_value or "all")
    question = t["indicator"].map(lambda i: spec[i].question)
    item = t["indicator"].map(lambda i: spec[i].item)
    hidden = _hidden(hx, t["scope"], t["wave"], level, rater, question, item)
    t.insert(3, "label", t["indicator"].map(lambda i: spec[i].label))
    t.insert(4, "finding", t["indicator"].map(lambda i: spec[i].finding))
    return _mask(t, hidden, EST)


def _indicator_change(
    ind: pd.DataFrame, wave_from: int, wave_to: int, correction: str
) -> pd.DataFrame:
    later = ind.loc[ind["wave"] == wave_to, ["scope", "indicator", "label", "n", "k", "suppressed"]]
    earlier = ind.loc[ind["wave"] == wave_from, ["scope", "indicator", "n", "k", "suppressed"]]
    both = later.merge(earlier, on=["scope", "indicator"], suffixes=("1", "2")).reset_index(
        drop=True
    )
    hidden = (both["suppressed1"] | both["suppressed2"]).to_numpy()
    counts = both[["k1", "n1", "k2", "n2"]].fillna(0).astype("int64")
    diff = gaps.diff_proportions(counts["k1"], counts["n1"], counts["k2"], counts["n2"])
    t = pd.concat([both[["scope", "indicator", "label"]], diff], axis=1)
    t.insert(3, "wave_from", wave_from)
    t.insert(4, "wave_to", wave_to)
    t = gaps.finish(t, correction, family=["scope"], hidden=hidden)
    return _mask(t, hidden, DIFF)


#: The check model is fitted on at most this many answers (a fixed-seed random sample
#: beyond it) and with site as a predictor only up to this many sites: statsmodels'
#: OrderedModel uses numerical derivatives, whose cost grows with rows x parameters^2.
MODEL_MAX_ROWS = 50_000
MODEL_MAX_SITES = 30
#: Model level that stands for the sites too small for a coefficient of their own.
POOLED_SITES = "smaller sites, pooled"


def _check_model_answers(r: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The valid answers to the check model's item, without the group it leaves out:
    ``code`` (int64), ``group``, ``site``, ``wave``.

    The item is found first (categorical comparisons, no text per answer), so the group
    test runs on one item's answers only. A missing group is kept, as a comparison of
    the groups as text keeps it."""
    at = np.flatnonzero(
        ((r["question"] == spec["question"]) & (r["item"] == spec["item"])
         & (r["status"] == "valid")).to_numpy()
    )  # fmt: skip
    sub = r[["code", "group", "site", "wave"]].iloc[at]
    sel = (sub["group"].astype(object) != spec.get("leave_out_group", "")).to_numpy()
    return sub.loc[sel].astype({"code": "int64"})


def _ordinal(
    cleaned: CleanResult, codebook: Codebook, waves: list[int], min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """The codebook's check model: an ordered logit of one item on rater group, site and
    wave (the 2019 codebook: trust in ASC among everyone but ASC staff).

    Disclosure control as for every table: a site, group or wave level with fewer than
    ``min_cell`` answers gets no coefficient of its own. Small sites are pooled into one
    level ("smaller sites, pooled") when together they reach ``min_cell``, and are left
    out otherwise; any other small level is left out. Each choice is stated in ``note``.
    A model that cannot be fitted is a note in the report, not a failed build.
    """
    spec = codebook.reports.check_model if codebook.reports else {}
    if not spec:
        return pd.DataFrame(
            {"term": [None], "error": ["no check model in the codebook"], "note": [None]}
        )
    frame = _check_model_answers(cleaned.responses, spec)
    frame = frame.assign(
        group=frame["group"].astype(str), site=frame["site"].astype(str),
        wave=frame["wave"].astype(str),
    )  # fmt: skip
    notes = []
    predictors = ["group"]
    if frame["site"].nunique() <= MODEL_MAX_SITES:
        predictors.append("site")
        sizes = frame["site"].value_counts()
        small = sorted(sizes.index[sizes < min_cell])
        if small:
            if sizes[small].sum() >= min_cell and len(small) > 1:
                frame.loc[frame["site"].isin(small), "site"] = POOLED_SITES
                notes.append(f"{len(small)} sites with fewer than {min_cell} answers pooled")
            else:
                frame = frame[~frame["site"].isin(small)]
                notes.append(f"{len(small)} site(s) with fewer than {min_cell} answers left out")
    else:
        notes.append(f"site left out ({frame['site'].nunique()} sites; see the site comparisons)")
    if len(waves) > 1:
        predictors.append("wave")
    for pred in ("group", "wave"):
        sizes = frame[pred].value_counts()
        small = sorted(sizes.index[sizes < min_cell])
        if pred in predictors and small:
            frame = frame[~frame[pred].isin(small)]
            notes.append(f"{pred} {', '.join(small)} left out (fewer than {min_cell} answers)")
    for pred in list(predictors):
        if frame[pred].nunique() < 2:
            predictors.remove(pred)
            notes.append(f"{pred} left out (one level only)")
    if len(frame) > MODEL_MAX_ROWS:
        notes.append(
            f"fitted on a random sample of {MODEL_MAX_ROWS:,} of {len(frame):,} answers (seed 0)"
        )
        frame = frame.sample(MODEL_MAX_ROWS, random_state=0)
    reference = {"group": spec.get("reference_group", ""), "wave": str(waves[0])}
    reference = {k: v for k, v in reference.items() if k in predictors and v in set(frame[k])}
    try:
        if not predictors or len(frame) < min_cell:
            raise ModelError("too few answers or predictors left to fit the model")
        fit = fit_ordinal(frame, "code", predictors, reference=reference, min_cell=None)
        out = fit.tidy()
        item = codebook.item_table.set_index(["question", "item"]).loc[
            (spec["question"], spec["item"])
        ]
        codes = codebook.scale_of(spec["question"]).codes
        out["model"] = (f"ordered logit of {spec['question']}: {item['item_label']} (codes {min(codes)}-"
                        f"{max(codes)}) on {', '.join(predictors)}")  # fmt: skip
        out["nobs"] = fit.nobs
        out["note"] = "; ".join([*notes, *fit.notes]) or None
        out["error"] = None
    except ModelError as exc:
        log.warning("ordinal model skipped: %s", exc)
        out = pd.DataFrame(
            {"term": [None], "error": [str(exc)], "note": ["; ".join(notes) or None]}
        )
    return out


def metadata(
    cleaned: CleanResult, codebook: Codebook, min_cell: int, correction: str, data_sha: str
) -> dict:
    """What the reports' methods sections need to say about this run."""
    sites = cleaned.respondents.drop_duplicates("site")[["site", "site_name"]]
    return {
        "package_version": __version__,
        "codebook": codebook.id,
        "min_cell": min_cell,
        "correction": CORRECTIONS[correction],
        "waves": sorted(int(w) for w in cleaned.respondents["wave"].unique()),
        "sites": {str(s): str(n) for s, n in zip(sites["site"], sites["site_name"], strict=True)},
        "input_sha256": data_sha,
        "raw_rows": cleaned.raw_rows,
        "kept_respondents": len(cleaned.respondents),
        "tests": {
            "proportion": "Wilson score interval (statsmodels proportion_confint, method='wilson')",
            "difference": "Newcombe hybrid score interval (statsmodels confint_proportions_2indep, "
            "method='newcomb'), at the family's Bonferroni level; the unadjusted "
            + gaps.TEST_NAME
            + " is kept in the aggregates for reference",
            "matrix": "t-based interval per cell; Welch t interval (family's level) for asymmetry",
            "rater_differences": "chi-square test of independence on the full answer distribution",
            "tag_comparison": "paired t-test of each respondent's behaviour minus process share",
            "funnel": "Spiegelhalter (2005) funnel limits around the national proportion: exact "
            "binomial limits, or, when the sites are overdispersed (chi-square test of I x phi on "
            "I - 1 degrees of freedom, z-scores winsorised at 10%), p0 +/- z sqrt(p0 (1 - p0) / n "
            "+ tau^2) with the DerSimonian-Laird tau^2; the plotted curves (funnel_limits) are "
            "the same limits at every base from 80% of the smallest shown site to 115% of the "
            "largest",
            "standardised": "direct standardisation to the national profession mix of each "
            "indicator's raters; Var = sum w^2 p (1 - p) / n; Wald interval",
            "model": "proportional-odds logistic regression (statsmodels OrderedModel, logit)",
        },
    }
