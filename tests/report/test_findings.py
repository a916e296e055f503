"""Findings sentences follow the written rules."""

from __future__ import annotations

import pandas as pd

from hsc_research.report import findings
from hsc_research.report.formatting import points


def _row(**kw):
    base = dict(p1=0.27, p2=0.45, diff=-0.18, ci_low=-0.27, ci_high=-0.09, significant=True,
                suppressed=False, correction="Bonferroni", family_size=1)  # fmt: skip
    return pd.Series({**base, **kw})


def test_points_round_half_away_from_zero():
    assert (points(0.125), points(-0.125), points(0.124), points(0.135)) == (13, -13, 12, 14)


def test_significant_difference_states_direction_size_and_interval():
    s = findings.compare_sentence(
        _row(), "Trust in ASC among hospital staff", "this site", "the rest"
    )
    assert s == ("Trust in ASC among hospital staff is 27% in this site and 45% in the rest: "
                 "18 points lower (95% CI 9 to 27 points).")  # fmt: skip


def test_not_significant_says_no_evidence():
    s = findings.compare_sentence(
        _row(significant=False, ci_low=-0.30, ci_high=0.02), "X", "here", "there"
    )
    assert "no evidence of a difference" in s and "lower" not in s and "higher" not in s
    assert "(95% CI -30 to 2 points)" in s


def test_interval_is_quoted_with_its_family_level():
    s = findings.compare_sentence(
        _row(significant=False, ci_low=-0.30, ci_high=0.02, family_size=9), "X", "here", "there"
    )
    assert s.endswith("(99.44% CI, Bonferroni-adjusted for 9 comparisons: -30 to 2 points).")


def test_bound_that_rounds_to_zero_keeps_a_decimal():
    # 0.4 points above 0: printed "0.4", never "0", so the words and the interval agree.
    s = findings.compare_sentence(_row(diff=0.1, ci_low=0.004, ci_high=0.2), "X", "here", "there")
    assert "10 points higher (95% CI 0.4 to 20 points)" in s


def test_suppressed_value_is_never_quoted():
    s = findings.compare_sentence(_row(suppressed=True), "X", "this site", "the rest")
    assert s == "X: too few respondents to report in this site."
    assert "%" not in s


def test_missing_estimate_is_treated_as_suppressed():
    s = findings.compare_sentence(_row(p1=float("nan")), "X", "this site", "the rest")
    assert "too few respondents" in s


def test_top_item_skips_suppressed_rows():
    ranked = pd.DataFrame({"label": ["hidden", "shown"], "estimate": [float("nan"), 0.5], "ci_low": [None, 0.4],
                           "ci_high": [None, 0.6], "suppressed": [True, False]})  # fmt: skip
    s = findings.top_item_sentence(ranked, "factor", "this site")
    assert "\u201cshown\u201d: 50%" in s and "hidden" not in s


def test_significant_count_names_the_correction():
    svr = pd.DataFrame({"flag": ["significantly higher", "no evidence of a difference", "significantly lower"],
                        "suppressed": [False, False, False], "correction": "Bonferroni",
                        "family_size": 3})  # fmt: skip
    s = findings.significant_count_sentence(svr)
    assert s.startswith("On 2 of 3 reportable")
    assert "1 higher, 1 lower; 98.3% intervals, Bonferroni-adjusted for 3 comparisons" in s
