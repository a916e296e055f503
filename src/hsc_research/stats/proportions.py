"""Proportions with Wilson score intervals: % agree, % frequent, % strong.

The high end of each scale comes from the codebook (agree4: Strongly agree + Agree;
frequency5: Very frequently + Frequently; rating5: 4 + 5). Intervals are statsmodels'
``proportion_confint(method="wilson")``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from hsc_research.instrument import Codebook
from hsc_research.stats.counts import answer_counts, high_flag

ALPHA = 0.05


def wilson(k: np.ndarray, n: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for k successes in n; NaN where n is 0."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    low, high = proportion_confint(k, safe_n, alpha=alpha, method="wilson")
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)


def from_counts(k, n, alpha: float = ALPHA) -> pd.DataFrame:
    """Proportion table from numerators and bases.

    Returns
    -------
    pandas.DataFrame
        ``n, k, estimate, ci_low, ci_high, reason``; ``reason`` says why an estimate
        is missing (``"no substantive answers"`` for a base of 0).
    """
    k = np.asarray(k, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    low, high = wilson(k, n, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    reason = np.where(n > 0, None, "no substantive answers")
    return pd.DataFrame({"n": n, "k": k, "estimate": est, "ci_low": low, "ci_high": high,
                         "reason": pd.array(reason, dtype=pd.StringDtype(na_value=pd.NA))})  # fmt: skip


def proportion_high(
    data: pd.DataFrame,
    codebook: Codebook,
    by: Sequence[str] = (),
    questions: Sequence[str] | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Share of substantive answers at the high end of the scale, per item.

    Parameters
    ----------
    data
        ``responses`` (or a filtered view) or a counts table.
    codebook
        Scales and their high codes.
    by
        Respondent fields to group by (site, wave, profession, group, role_level).
    questions
        Questions to include (all when ``None``).
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        ``*by, question, item, measure, n, k, estimate, ci_low, ci_high, reason``
        where ``measure`` is the scale's high label (agree / frequent / strong) and
        ``estimate`` a proportion in [0, 1].
    """
    counts = answer_counts(data, by)
    if questions is not None:
        counts = counts[counts["question"].isin(questions)]
    counts = counts.assign(high=np.where(high_flag(counts, codebook), counts["count"], 0))
    keys = [*by, "question", "item"]
    agg = counts.groupby(keys, observed=True, sort=True).agg(n=("count", "sum"), k=("high", "sum"))
    agg = agg.reset_index()
    out = pd.concat([agg[keys], from_counts(agg["k"], agg["n"], alpha)], axis=1)
    measure = {q.id: codebook.scales[q.scale].high_label for q in codebook.questions}
    out.insert(len(keys), "measure", out["question"].astype(str).map(measure))
    return out
