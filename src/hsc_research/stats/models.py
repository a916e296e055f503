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


#: Largest absolute score (gradient of the log-likelihood) accepted at the optimum.
SCORE_TOL = 1e-4


def _fit_to_mle(model: OrderedModel, outcome: str):
    """Fit to the maximum-likelihood estimate and check that it is one.

    BFGS alone stops on a gradient tolerance of the *mean* log-likelihood and leaves
    coefficients off in the 4th decimal; Newton steps from the BFGS solution converge
    quadratically. The fit is accepted only when the score of the full log-likelihood
    is below :data:`SCORE_TOL` in every parameter.
    """
    with warnings.catch_warnings():
        # statsmodels warns through the warnings module; this filter is local to the fit.
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            start = model.fit(method="bfgs", disp=False, maxiter=2000).params
            res = model.fit(method="newton", start_params=start, disp=False, maxiter=100)
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise ModelError(
                f"ordinal model of {outcome!r} could not be fitted ({type(exc).__name__}); "
                "simplify the predictors"
            ) from None
    score = np.abs(model.score(res.params.to_numpy()))
    if not np.all(np.isfinite(res.params)) or not np.all(score < SCORE_TOL):
        raise ModelError(
            f"ordinal model of {outcome!r} did not converge (largest score "
            f"{np.nanmax(score):.2g}); simplify the predictors"
        )
    return res


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
    if isinstance(y.dtype, pd.CategoricalDtype):
        if not y.cat.ordered:
            raise ModelError(
                f"outcome {outcome!r} is an unordered categorical; give it an order "
                "(pd.CategoricalDtype(levels, ordered=True)) or use numeric codes"
            )
    elif pd.api.types.is_numeric_dtype(y.dtype):
        y = pd.Categorical(y, ordered=True)
    else:
        # Text would be ordered alphabetically ("somewhat likely" < "unlikely"): refuse.
        raise ModelError(
            f"outcome {outcome!r} is text; give it as an ordered categorical "
            "(pd.CategoricalDtype(levels, ordered=True)) or as numeric codes"
        )
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
    res = _fit_to_mle(model, outcome)
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
