"""Proportional-odds (ordinal logistic) model: a check that percentages do not mislead.

A thin wrapper over statsmodels ``OrderedModel(distr="logit")`` that turns an item's
answers and chosen respondent fields into a tidy coefficient table with odds ratios and
Wald intervals.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from hsc_research.errors import HscError


class ModelError(HscError):
    """The ordinal model cannot be fitted as asked."""


def fit_ordinal(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    reference: dict[str, str] | None = None,
    alpha: float = 0.05,
    numeric: Sequence[str] = (),
) -> pd.DataFrame:
    """Fit an ordered logit of ``outcome`` on categorical ``predictors``.

    Parameters
    ----------
    frame
        One row per respondent: an ordered outcome (codes or ordered categorical) and
        the predictors (categorical: each becomes treatment-coded dummies).
    outcome
        Outcome column.
    predictors
        Predictor columns (for example ``["group", "site", "wave"]``).
    reference
        Reference level per predictor (default: the first level present).
    alpha
        1 - confidence level of the intervals.
    numeric
        Predictors to enter as numbers instead of categories.

    Returns
    -------
    pandas.DataFrame
        ``term, kind ("coefficient" / "threshold"), estimate, se, z, p, ci_low,
        ci_high, odds_ratio, or_low, or_high`` (odds ratios for coefficients only).
        A positive coefficient means higher answers than the reference level.

    Raises
    ------
    ModelError
        A predictor with only one level, an outcome with fewer than two levels, or a
        model that does not converge.
    """
    reference = reference or {}
    data = frame[[outcome, *predictors]].dropna()
    y = data[outcome]
    if not isinstance(y.dtype, pd.CategoricalDtype):
        y = pd.Categorical(y, ordered=True)
    y = pd.Series(y, index=data.index).cat.remove_unused_categories()
    if len(y.cat.categories) < 2:
        raise ModelError(f"outcome {outcome!r} has fewer than two answer levels; nothing to model")
    dummies = []
    for pred in predictors:
        if pred in numeric:
            dummies.append(data[[pred]].astype(float))
            continue
        values = data[pred].astype(str)
        levels = sorted(values.unique())
        if len(levels) < 2:
            raise ModelError(
                f"predictor {pred!r} has one level ({levels[0] if levels else 'none'}); drop it or widen the data"
            )
        ref = reference.get(pred, levels[0])
        if ref not in levels:
            raise ModelError(f"reference {ref!r} is not a level of predictor {pred!r}")
        d = pd.get_dummies(values, prefix=pred, prefix_sep="=", dtype=float)
        dummies.append(d.drop(columns=f"{pred}={ref}"))
    x = pd.concat(dummies, axis=1)
    model = OrderedModel(y, x, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            res = model.fit(method="bfgs", disp=False, maxiter=2000)
        except (ConvergenceWarning, np.linalg.LinAlgError) as exc:
            raise ModelError(
                f"ordinal model of {outcome!r} did not converge ({type(exc).__name__})"
            ) from None
    if not res.mle_retvals.get("converged", True):
        raise ModelError(f"ordinal model of {outcome!r} did not converge; simplify the predictors")
    ci = res.conf_int(alpha=alpha)
    n_coef = x.shape[1]
    out = pd.DataFrame(
        {
            "term": res.params.index,
            "kind": ["coefficient"] * n_coef + ["threshold"] * (len(res.params) - n_coef),
            "estimate": res.params.to_numpy(),
            "se": res.bse.to_numpy(),
            "z": res.tvalues.to_numpy(),
            "p": res.pvalues.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
        }
    )
    # statsmodels estimates the first cut point and then log-increments; report the
    # cut points themselves (as R's polr and Stata's ologit do), without intervals.
    cuts = model.transform_threshold_params(res.params.to_numpy())[1:-1]
    thr = out["kind"] == "threshold"
    out.loc[thr, "estimate"] = cuts
    out.loc[thr & (out.index > n_coef), ["se", "z", "p", "ci_low", "ci_high"]] = np.nan
    coef = out["kind"] == "coefficient"
    for src, dst in (("estimate", "odds_ratio"), ("ci_low", "or_low"), ("ci_high", "or_high")):
        out[dst] = np.where(coef, np.exp(out[src]), np.nan)
    out.attrs["nobs"] = int(res.nobs)
    return out
