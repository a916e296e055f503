"""Ordinal logistic regression against the UCLA ologit example (Stata / R values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from hsc_research.stats.models import ModelError, _OrderedLogit, fit_ordinal

UCLA = Path(statsmodels.__file__).parent / "miscmodels/tests/results/ologit_ucla.csv"


@pytest.fixture(scope="module")
def ucla():
    df = pd.read_csv(UCLA)
    df["apply"] = pd.Categorical(
        df["apply"], categories=["unlikely", "somewhat likely", "very likely"], ordered=True
    )
    return df


def test_coefficients_match_published_values(ucla):
    # UCLA IDRE "Ordered logistic regression" (Stata ologit; same as R MASS::polr):
    # pared 1.047664, public -0.0586828, gpa 0.6157458, cut1 2.203323, cut2 4.298767.
    out = fit_ordinal(
        ucla, "apply", ["pared", "public", "gpa"], numeric=["pared", "public", "gpa"]
    ).tidy()
    est = out.set_index("term")["estimate"]
    # To the published precision (6 decimals): BFGS alone missed in the 4th decimal.
    assert est["pared"] == pytest.approx(1.047664, abs=1e-6)
    assert est["public"] == pytest.approx(-0.0586828, abs=1e-6)
    assert est["gpa"] == pytest.approx(0.6157458, abs=1e-6)
    cuts = out[out["kind"] == "threshold"]["estimate"].tolist()
    assert cuts == [pytest.approx(2.203323, abs=1e-6), pytest.approx(4.298767, abs=1e-6)]


def test_standard_errors_match_published_values(ucla):
    # Same source: Std. Err. pared .2657891, public .2978588, gpa .2606311.
    out = fit_ordinal(
        ucla, "apply", ["pared", "public", "gpa"], numeric=["pared", "public", "gpa"]
    ).tidy()
    se = out.set_index("term")["se"]
    assert se["pared"] == pytest.approx(0.2657891, abs=1e-5)
    assert se["public"] == pytest.approx(0.2978588, abs=1e-5)
    assert se["gpa"] == pytest.approx(0.2606311, abs=1e-5)


def test_text_outcome_is_refused_not_sorted_alphabetically(ucla):
    with pytest.raises(ModelError, match="'apply' is text"):
        fit_ordinal(ucla.assign(apply=ucla["apply"].astype(str)), "apply", ["pared"],
                    numeric=["pared"])  # fmt: skip


def test_categorical_predictor_gives_odds_ratio(ucla):
    ucla = ucla.assign(school=ucla["public"].map({0: "private", 1: "public"}))
    out = fit_ordinal(ucla, "apply", ["school"]).tidy().set_index("term")
    row = out.loc["school=public"]
    assert row["odds_ratio"] == pytest.approx(2.718281828 ** row["estimate"])
    assert row["or_low"] < row["odds_ratio"] < row["or_high"]


def test_predictor_with_one_level_is_a_clear_error(ucla):
    with pytest.raises(ModelError, match="predictor 'site' has one level"):
        fit_ordinal(ucla.assign(site="north"), "apply", ["site"])


def test_threshold_standard_errors_match_published_values(ucla):
    # UCLA IDRE Stata ologit output: /cut1 2.203323 se .7795353 (95% CI .6754621 to
    # 3.731184); /cut2 4.298767 se .8043147 (2.72234 to 5.875195).
    fit = fit_ordinal(ucla, "apply", ["pared", "public", "gpa"], numeric=["pared", "public", "gpa"])
    cuts = fit.tidy().query("kind == 'threshold'")
    assert cuts["se"].tolist() == [pytest.approx(0.7795353, abs=1e-5),
                                   pytest.approx(0.8043147, abs=1e-5)]  # fmt: skip
    assert cuts["ci_low"].tolist() == [pytest.approx(0.6754621, abs=1e-4),
                                       pytest.approx(2.72234, abs=1e-4)]  # fmt: skip
    assert cuts["ci_high"].tolist() == [pytest.approx(3.731184, abs=1e-4),
                                        pytest.approx(5.875195, abs=1e-4)]  # fmt: skip


def test_fit_gives_the_statsmodels_result(ucla):
    fit = fit_ordinal(ucla, "apply", ["pared"], numeric=["pared"])
    assert fit.result.nobs == 400 == fit.nobs
    assert fit.result.params["pared"] == fit.tidy().set_index("term").loc["pared", "estimate"]


def test_small_predictor_level_is_left_out_with_a_note(ucla):
    # 7 rows in a third school type: below min_cell 10, so no coefficient of its own.
    school = ucla["public"].map({0: "private", 1: "public"}).copy()
    school.iloc[:7] = "charter"
    fit = fit_ordinal(ucla.assign(school=school), "apply", ["school"], min_cell=10)
    assert "school=charter" not in set(fit.tidy()["term"])
    assert fit.nobs == 393
    assert fit.notes == ["school charter left out (fewer than 10 answers)"]


def test_logistic_cdf_is_scipys_at_every_point():
    # The model evaluates the logistic cdf directly: the same numbers as
    # scipy.stats.logistic.cdf, the outer thresholds (+-inf) and a missing value included.
    x = np.array([-np.inf, -800.0, -36.5, -1.0, -1e-12, 0.0, 0.3, 2.203323, 40.0, np.inf, np.nan])
    got = _OrderedLogit.cdf(None, x)
    np.testing.assert_array_equal(got, stats.logistic.cdf(x))


def test_fit_is_the_same_as_statsmodels_logit_model_number_for_number(ucla):
    fit = fit_ordinal(ucla, "apply", ["pared", "gpa"], numeric=["pared", "gpa"])
    plain = OrderedModel(ucla["apply"], ucla[["pared", "gpa"]].astype(float), distr="logit")
    ref = plain.fit(method="bfgs", disp=False, maxiter=2000)
    ref = plain.fit(method="newton", start_params=ref.params, disp=False, maxiter=100)
    assert fit.result.params.tolist() == ref.params.tolist()
    assert fit.result.bse.tolist() == ref.bse.tolist()


def test_a_fit_in_another_thread_hides_no_warning_of_this_one(ucla):
    """The warnings filters are one list for the whole process, and aggregate fits the
    model in a second thread: the fit silences its own warnings without a filter, so a
    RuntimeWarning this thread raises meanwhile is still shown."""
    import threading
    import warnings

    done = threading.Event()

    def fit():
        try:
            fit_ordinal(ucla, "apply", ["pared", "gpa"], numeric=["pared", "gpa"])
        finally:
            done.set()

    raised = 0
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        worker = threading.Thread(target=fit)
        worker.start()
        while not done.is_set() or raised == 0:
            warnings.warn(f"meanwhile {raised}", RuntimeWarning, stacklevel=1)
            raised += 1
        worker.join()
    shown = [w for w in seen if str(w.message).startswith("meanwhile")]
    assert len(shown) == raised


def test_fit_warns_the_caller_of_neither_convergence_nor_overflow(ucla):
    """What the fit silenced with a filter before is silenced per thread: statsmodels'
    convergence warning (BFGS stopping early at maxiter) and numpy's overflow."""
    import warnings

    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = _OrderedLogit(ucla["apply"], ucla[["pared", "gpa"]].astype(float))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model.fit(method="bfgs", disp=False, maxiter=1)  # stops unconverged: warns
        assert any(issubclass(w.category, ConvergenceWarning) for w in seen)
        seen.clear()
        fit_ordinal(ucla, "apply", ["pared", "gpa"], numeric=["pared", "gpa"])
    assert not [w for w in seen if issubclass(w.category, (ConvergenceWarning, RuntimeWarning))]


def _with_extra_school(ucla, answer):
    """The UCLA data (pared, public, gpa and a three-level school) plus 12 students of a
    fourth school who all give ``answer``."""
    df = ucla.assign(school=np.where(ucla["public"] == 1, "public", "private"))
    df.loc[df.index % 3 == 0, "school"] = "charter"
    extra = df.head(12).assign(school="academy", apply=answer)
    return pd.concat([df, extra], ignore_index=True).astype({"apply": ucla["apply"].dtype})


@pytest.mark.parametrize("answer", ["very likely", "unlikely"])
def test_a_level_with_every_answer_at_one_end_is_left_out(ucla, answer):
    """Every "academy" student gives the top (or bottom) answer: its coefficient has no
    finite estimate, so the level and its rows are left out with a note, and the rest is
    fitted as statsmodels fits the data without them."""
    df = _with_extra_school(ucla, answer)
    fit = fit_ordinal(df, "apply", ["school", "gpa"], numeric=["gpa"], min_cell=None)
    assert fit.notes == [f"school academy left out (every answer {answer}: no finite estimate)"]
    assert fit.nobs == 400
    rest = df[df["school"] != "academy"]
    x = pd.get_dummies(rest["school"], prefix="school", prefix_sep="=", dtype=float)
    x = pd.concat([x.drop(columns="school=charter"), rest[["gpa"]]], axis=1)
    plain = OrderedModel(rest["apply"], x, distr="logit")
    ref = plain.fit(method="bfgs", disp=False, maxiter=2000)
    ref = plain.fit(method="newton", start_params=ref.params, disp=False, maxiter=100)
    got = fit.tidy().set_index("term")["estimate"]
    for term in ("school=private", "school=public", "gpa"):
        assert got[term] == pytest.approx(ref.params[term], abs=1e-6)


def test_a_reference_with_every_answer_at_one_end_is_refused(ucla):
    df = _with_extra_school(ucla, "very likely")
    with pytest.raises(ModelError, match="reference 'academy' of predictor 'school'"):
        fit_ordinal(df, "apply", ["school"], reference={"school": "academy"}, min_cell=None)
