"""Proportional-odds (ordinal logistic) model: a check that percentages do not mislead.

A thin wrapper over statsmodels ``OrderedModel(distr="logit")`` that turns an item's
answers and chosen respondent fields into a tidy coefficient table with odds ratios and
Wald intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from hsc_research.config import MIN_CELL
from hsc_research.errors import HscError


class ModelError(HscError):
    """The ordinal model cannot be fitted as asked."""


class _OrderedLogit(OrderedModel):
    """``OrderedModel(distr="logit")`` with the logistic cdf evaluated directly.

    statsmodels calls ``scipy.stats.logistic.cdf``, whose generic wrapper checks its
    arguments and support on every call: most of a fit's time on tens of thousands of
    answers. The function it ends up calling is ``scipy.special.expit``
    (``logistic._cdf``), with the same values at the infinite outer thresholds (0 and
    1), so every likelihood, estimate and standard error is the same number.
    """

    def __init__(self, endog, exog, **kwds):
        super().__init__(endog, exog, distr="logit", **kwds)

    def cdf(self, x):
        return special.expit(x)


#: Largest absolute score (gradient of the log-likelihood) accepted at the optimum.
SCORE_TOL = 1e-4


def _fit_to_mle(model: OrderedModel, outcome: str):
    """Fit to the maximum-likelihood estimate and check that it is one.

    BFGS alone stops on a gradient tolerance of the *mean* log-likelihood and leaves
    coefficients off in the 4th decimal; Newton steps from the BFGS solution converge
    quadratically. The fit is accepted only when the score of the full log-likelihood
    is below :data:`SCORE_TOL` in every parameter.
    """
    # Quiet without touching the warnings filters, which are one list for the whole
    # process (aggregate fits in a second thread): numpy's error state is the calling
    # thread's own, and statsmodels is asked not to warn of convergence (checked below).
    with np.errstate(all="ignore"):
        try:
            start = model.fit(
                method="bfgs", disp=False, maxiter=2000, warn_convergence=False
            ).params
            res = model.fit(method="newton", start_params=start, disp=False, maxiter=100,
                            warn_convergence=False)  # fmt: skip
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


@dataclass
class OrdinalFit:
    """A fitted proportional-odds model: the statsmodels result and a tidy table.

    Attributes
    ----------
    result
        The statsmodels ``OrderedResults`` (``.summary()``, ``.predict()``,
        ``.llf``, ``.nobs`` ...), in statsmodels' own parametrisation: the first
        threshold, then the logs of the increments between thresholds.
    table
        The tidy table (see :meth:`tidy`).
    notes
        What was left out for disclosure control (predictor levels below ``min_cell``).
    """

    result: Any
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def nobs(self) -> int:
        """Number of answers the model was fitted on."""
        return int(self.result.nobs)

    def tidy(self) -> pd.DataFrame:
        """One row per coefficient and threshold (cut point).

        Returns
        -------
        pandas.DataFrame
            ``term, kind ("coefficient" / "threshold"), estimate, se, z, p, ci_low,
            ci_high, odds_ratio, or_low, or_high``. Thresholds are the cut points
            themselves (as R's ``polr`` and Stata's ``ologit`` report them), with
            delta-method standard errors.

        Examples
        --------
        >>> y = pd.Categorical(["low", "mid", "high", "mid", "low", "high"] * 5,
        ...                    categories=["low", "mid", "high"], ordered=True)
        >>> x = pd.Series(["a", "b"] * 15)
        >>> fit = fit_ordinal(pd.DataFrame({"y": y, "x": x}), "y", ["x"], min_cell=None)
        >>> fit.tidy()["term"].tolist()
        ['x=b', 'low/mid', 'mid/high']
        """
        return self.table.copy()

    def __repr__(self) -> str:
        n_coef = int((self.table["kind"] == "coefficient").sum())
        return (
            f"<OrdinalFit: {n_coef} coefficients, {len(self.table) - n_coef} thresholds, "
            f"{self.nobs:,} answers>"
        )


def threshold_cov(params: np.ndarray, cov: np.ndarray, n_coef: int) -> np.ndarray:
    """Covariance of the cut points from statsmodels' threshold parametrisation.

    statsmodels estimates ``theta = (c1, log(c2 - c1), log(c3 - c2), ...)``, so
    ``c_j = c1 + sum_{i=2..j} exp(theta_i)``. By the delta method,
    ``Cov(c) = J Cov(theta) J^T`` with ``J[j, 0] = 1`` and ``J[j, i] = exp(theta_i)``
    for ``1 <= i <= j`` (0-based).

    Parameters
    ----------
    params
        All parameters: ``n_coef`` coefficients, then the threshold parameters.
    cov
        Their covariance matrix.
    n_coef
        Number of coefficients before the thresholds.

    Returns
    -------
    numpy.ndarray
        Covariance matrix of the cut points.

    Examples
    --------
    Two cut points 1 and 1 + e^0 = 2 with independent unit variances: the second
    point's variance is 1 + e^0 * 1 * e^0 = 2, and the covariance is 1.

    >>> threshold_cov(np.array([1.0, 0.0]), np.eye(2), 0).tolist()
    [[1.0, 1.0], [1.0, 2.0]]
    """
    theta = np.asarray(params, dtype=float)[n_coef:]
    k = len(theta)
    jac = np.tril(np.ones((k, k))) * np.concatenate([[1.0], np.exp(theta[1:])])
    sub = np.asarray(cov, dtype=float)[n_coef:, n_coef:]
    return jac @ sub @ jac.T


def _separated_levels(
    data: pd.DataFrame, y: pd.Series, categorical: Sequence[str]
) -> tuple[np.ndarray, list[tuple[str, str, str]]]:
    """Levels of categorical predictors whose every answer is the lowest, or every
    answer the highest, outcome level: their coefficient has no finite maximum-likelihood
    estimate (the likelihood keeps rising as it goes to infinity), so a fit would stop
    at some huge value. Such a level is left out with its rows, as Stata's ``logit``
    drops a level that predicts the outcome perfectly; leaving rows out can separate
    another level, so the check repeats until none is.

    Returns
    -------
    keep : numpy.ndarray of bool
        The rows to fit on.
    separated : list of (predictor, level, answer)
        Each level left out and the one answer all its rows gave.
    """
    keep = np.ones(len(data), dtype=bool)
    out: list[tuple[str, str, str]] = []
    codes = y.cat.codes.to_numpy()
    labels = y.cat.categories
    levels = {pred: data[pred].astype(str).to_numpy() for pred in categorical}
    while True:
        present = np.unique(codes[keep])
        if len(present) < 2:
            return keep, out
        lo, hi = present[0], present[-1]
        found = []
        for pred, values in levels.items():
            span = (
                pd.DataFrame({"level": values[keep], "code": codes[keep]})
                .groupby("level", sort=True)["code"]
                .agg(["min", "max"])
            )
            for level, row in span.iterrows():
                if row["max"] == lo or row["min"] == hi:
                    found.append((pred, str(level), str(labels[row["min"]])))
        if not found:
            return keep, out
        for pred, level, _ in found:
            keep &= levels[pred] != level
        out.extend(found)


def fit_ordinal(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    reference: dict[str, str] | None = None,
    alpha: float = 0.05,
    numeric: Sequence[str] = (),
    min_cell: int | None = MIN_CELL,
) -> OrdinalFit:
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
    min_cell
        Disclosure control: a level of a categorical predictor with fewer answers gets
        no coefficient of its own; its rows are left out and :attr:`OrdinalFit.notes`
        says so. ``None`` keeps every level. A level whose every answer is the lowest
        (or every answer the highest) outcome level has no finite estimate: it is left
        out too, with a note.

    Returns
    -------
    OrdinalFit
        ``.result`` (statsmodels) and ``.tidy()``: ``term, kind ("coefficient" /
        "threshold"), estimate, se, z, p, ci_low, ci_high, odds_ratio, or_low,
        or_high`` (odds ratios for coefficients only). A positive coefficient means
        higher answers than the reference level.

    Raises
    ------
    ModelError
        A predictor with only one level, an outcome with fewer than two levels, or a
        model that does not converge.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=200)
    >>> y = np.digitize(x + rng.logistic(size=200), [-1.0, 1.0])  # codes 0, 1, 2
    >>> fit = fit_ordinal(pd.DataFrame({"y": y, "x": x}), "y", ["x"], numeric=["x"])
    >>> fit.tidy()[["term", "kind"]].values.tolist()
    [['x', 'coefficient'], ['0/1', 'threshold'], ['1/2', 'threshold']]
    >>> bool(fit.tidy()["se"].notna().all())
    True
    """
    reference = reference or {}
    data = frame[[outcome, *predictors]].dropna()
    notes: list[str] = []
    if min_cell is not None:
        for pred in predictors:
            if pred in numeric:
                continue
            sizes = data[pred].astype(str).value_counts()
            small = sorted(sizes.index[sizes < min_cell])
            if small:
                data = data[~data[pred].astype(str).isin(small)]
                notes.append(f"{pred} {', '.join(small)} left out (fewer than {min_cell} answers)")
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
    keep, separated = _separated_levels(data, y, [p for p in predictors if p not in numeric])
    for pred, level, answer in separated:
        if reference.get(pred) == level:
            raise ModelError(
                f"reference {level!r} of predictor {pred!r}: every answer is {answer!r}, so "
                "the model has no finite estimate; choose another reference level"
            )
        notes.append(f"{pred} {level} left out (every answer {answer}: no finite estimate)")
    if separated:
        data, y = data[keep], y[keep].cat.remove_unused_categories()
        if len(y.cat.categories) < 2:
            raise ModelError(
                f"outcome {outcome!r} has fewer than two answer levels once the levels "
                "without a finite estimate are left out; nothing to model"
            )
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
    model = _OrderedLogit(y, x)
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
    # cut points themselves (as R's polr and Stata's ologit do), with delta-method SEs.
    params = res.params.to_numpy()
    cuts = model.transform_threshold_params(params)[1:-1]
    se = np.sqrt(np.diag(threshold_cov(params, np.asarray(res.cov_params()), n_coef)))
    z = stats.norm.ppf(1 - alpha / 2)
    thr = (out["kind"] == "threshold").to_numpy()
    out.loc[thr, "estimate"] = cuts
    out.loc[thr, "se"] = se
    out.loc[thr, "z"] = cuts / se
    out.loc[thr, "p"] = 2 * stats.norm.sf(np.abs(cuts / se))
    out.loc[thr, "ci_low"] = cuts - z * se
    out.loc[thr, "ci_high"] = cuts + z * se
    coef = out["kind"] == "coefficient"
    for src, dst in (("estimate", "odds_ratio"), ("ci_low", "or_low"), ("ci_high", "or_high")):
        out[dst] = np.where(coef, np.exp(out[src]), np.nan)
    return OrdinalFit(result=res, table=out, notes=notes)
