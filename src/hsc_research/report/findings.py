"""Headline sentences written from the aggregate tables.

Rules (tested in ``tests/report/test_findings.py``):

* numbers are whole percentage points (proportions x 100, rounded half away from zero,
  :mod:`~hsc_research.report.formatting`);
* a difference is called higher / lower exactly when the interval quoted beside it
  excludes 0 (:mod:`~hsc_research.stats.multiplicity`); the interval is quoted with its
  level and family, as in the table it comes from;
* a suppressed value is never quoted: the sentence says there were too few respondents.
"""

from __future__ import annotations

import pandas as pd

from hsc_research.report.formatting import bound, fixed, pct, points
from hsc_research.stats.multiplicity import interval_label

TOO_FEW = "too few respondents to report"


def interval(low: float, high: float, unit: str = "%", label: str = "95% CI") -> str:
    """An interval in whole points: "95% CI 9 to 27 points" or "95% CI 30% to 41%".

    Examples
    --------
    >>> interval(0.05, 0.255, "points", "99.44% CI, Bonferroni-adjusted for 9 comparisons")
    '99.44% CI, Bonferroni-adjusted for 9 comparisons: 5 to 26 points'
    >>> interval(0.3, 0.41)
    '95% CI 30% to 41%'
    """
    sep = ": " if "," in label else " "
    if unit == "%":
        return f"{label}{sep}{points(low)}% to {points(high)}%"
    return f"{label}{sep}{bound(low)} to {bound(high)} points"


def row_label(row: pd.Series) -> str:
    """The interval label of a difference row: its level and family."""
    m = row.get("family_size")
    if m is None or pd.isna(m):
        return "95% CI"
    correction = {"Bonferroni": "bonferroni"}.get(row.get("correction"), "none")
    return interval_label(int(m), correction=correction)


def _hidden(row: pd.Series, *cols: str) -> bool:
    return bool(row.get("suppressed", False)) or any(pd.isna(row.get(c)) for c in cols)


def compare_sentence(row: pd.Series, subject: str, this: str, other: str) -> str:
    """One sentence on a difference of proportions.

    Parameters
    ----------
    row
        A row with ``p1, p2, diff, ci_low, ci_high, significant`` (and ``suppressed``).
    subject
        What is measured, e.g. "Trust in adult social care among hospital staff".
    this, other
        Names of the two groups, e.g. "this site", "the rest of the sites".
    """
    if _hidden(row, "p1", "p2", "diff"):
        return f"{subject}: {TOO_FEW} in {this}."
    head = f"{subject} is {pct(row['p1'])} in {this} and {pct(row['p2'])} in {other}"
    label = row_label(row)
    if bool(row.get("significant", False)):
        size = abs(points(row["diff"]))
        direction = "higher" if row["diff"] > 0 else "lower"
        # Both bounds share the sign of the difference: quote the interval of its size.
        lo, hi = sorted((abs(row["ci_low"]), abs(row["ci_high"])))
        return f"{head}: {size} points {direction} ({interval(lo, hi, 'points', label)})."
    ci = interval(row["ci_low"], row["ci_high"], "points", label)
    return f"{head}; no evidence of a difference ({ci})."


def top_item_sentence(ranked: pd.DataFrame, what: str, where: str) -> str:
    """The most often "frequent" item of a ranked frequency table."""
    shown = ranked[~ranked["suppressed"]] if "suppressed" in ranked else ranked
    if shown.empty:
        return f"{what}: {TOO_FEW} in {where}."
    top = shown.sort_values("estimate", ascending=False).iloc[0]
    return (f"The most often cited {what} in {where} is \u201c{top['label']}\u201d: "
            f"{pct(top['estimate'])} say it happens frequently ({interval(top['ci_low'], top['ci_high'])}).")  # fmt: skip


def tag_share_sentence(share: pd.DataFrame, where: str, k: int = 5) -> str:
    """How many of the top ``k`` admission factors are behavioural."""
    if share.empty:
        return f"Admission factors: {TOO_FEW} in {where}."
    counts = share.set_index("tag")["count"]
    b = int(counts.get("behaviour", 0))
    return (f"{b} of the {int(counts.sum())} most frequent drivers of unnecessary admissions in {where} "
            f"are behaviours and culture rather than process.")  # fmt: skip


def tie_sentence(ties: pd.DataFrame, labels: dict[str, str], where: str) -> str:
    """The weakest and strongest relationship cells."""
    weak = ties[(ties["end"] == "weakest") & (ties["rank"] == 1)]
    strong = ties[(ties["end"] == "strongest") & (ties["rank"] == 1)]
    if weak.empty or strong.empty:
        return f"Relationships: {TOO_FEW} in {where}."
    w, s = weak.iloc[0], strong.iloc[0]
    return (f"The weakest relationship in {where} is {labels[w['rater']]} rating {labels[w['target']]} "
            f"(mean {fixed(w['mean'], 1)} of 5); the strongest is {labels[s['rater']]} rating "
            f"{labels[s['target']]} ({fixed(s['mean'], 1)}).")  # fmt: skip


def significant_count_sentence(svr: pd.DataFrame) -> str:
    """How many headline indicators differ significantly from the rest of the sites."""
    shown = svr[~svr["suppressed"]]
    higher = int((shown["flag"] == "significantly higher").sum())
    lower = int((shown["flag"] == "significantly lower").sum())
    basis = (row_label(shown.iloc[0]) if len(shown) else "95% CI").replace(" CI", " intervals")
    if higher + lower == 0:
        return (f"On none of the {len(shown)} reportable headline indicators does this site differ "
                f"significantly from the rest of the sites ({basis}).")  # fmt: skip
    return (f"On {higher + lower} of {len(shown)} reportable headline indicators this site differs "
            f"significantly from the rest of the sites ({higher} higher, {lower} lower; "
            f"{basis}).")  # fmt: skip
