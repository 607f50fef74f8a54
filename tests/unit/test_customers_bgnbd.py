"""BG/NBD against Fader, Hardie & Lee (2005), Marketing Science 24(2), and its own algebra."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soko.customers import BgNbdFit, bgnbd_log_likelihood, customer_summary, fit_bgnbd
from soko.customers.simulate import simulate_bgnbd
from tests.unit.cdnow import CDNOW, read_cdnow
from tests.unit.cdnow import CDNOW_BGNBD as CDNOW_FIT

CALIBRATION_END = dt.date(1997, 9, 30)
HOLDOUT_END = dt.date(1998, 6, 30)
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LOG_LIKELIHOOD = -9582.4
HOLDOUT_ACTUAL = 1882


@pytest.fixture(scope="module")
def cdnow_summary() -> pl.DataFrame:
    if not CDNOW.exists():
        pytest.skip(f"CDNOW reference data not found at {CDNOW}")
    return customer_summary(
        read_cdnow(CDNOW), calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END
    )


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary: pl.DataFrame) -> BgNbdFit:
    return fit_bgnbd(cdnow_summary["x"], cdnow_summary["t_x"], cdnow_summary["T"])


@pytest.mark.refdata
def test_cdnow_summary_has_the_published_2357_customers_2457_repeat_and_1882_holdout_purchases(
    cdnow_summary: pl.DataFrame,
) -> None:
    assert cdnow_summary.height == 2357
    assert cdnow_summary["x"].sum() == 2457
    assert cdnow_summary["x_holdout"].sum() == HOLDOUT_ACTUAL
    first_day = cdnow_summary.filter(pl.col("first_purchase") == dt.datetime(1997, 1, 1))
    assert first_day["T"].unique().to_list() == [pytest.approx(38.86, abs=0.005)]


@pytest.mark.refdata
def test_cdnow_bgnbd_parameters_match_fader_hardie_lee_2005(cdnow_fit: BgNbdFit) -> None:
    fitted = {"r": cdnow_fit.r, "alpha": cdnow_fit.alpha, "a": cdnow_fit.a, "b": cdnow_fit.b}
    assert cdnow_fit.converged
    for name, published in PUBLISHED.items():
        assert fitted[name] == pytest.approx(published, rel=0.01), name


@pytest.mark.refdata
def test_cdnow_bgnbd_log_likelihood_is_the_published_minus_9582_4(cdnow_fit: BgNbdFit) -> None:
    assert cdnow_fit.log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.5)


@pytest.mark.refdata
def test_cdnow_example_customer_expects_1_226_purchases_in_the_next_39_weeks(
    cdnow_fit: BgNbdFit,
) -> None:
    expected = cdnow_fit.expected_transactions(39, 2, 30.43, 38.86)
    assert round(float(expected), 3) == 1.226


@pytest.mark.refdata
def test_cdnow_holdout_weeks_40_to_78_prediction_is_printed_beside_the_actual_1882(
    cdnow_fit: BgNbdFit, cdnow_summary: pl.DataFrame
) -> None:
    """The published BG/NBD under-forecasts the CDNOW holdout by about 11 % (FHL 2005, Fig. 4):
    the fitted parameters are the published ones, so the gap is the model's, not the fit's.
    Both routes to the aggregate, conditional (eq. 10) and unconditional (eq. 7), must agree.
    """
    x, t_x, t_obs = (cdnow_summary[c].to_numpy() for c in ("x", "t_x", "T"))
    holdout_weeks = (HOLDOUT_END - CALIBRATION_END).days / 7
    conditional = float(cdnow_fit.expected_transactions(holdout_weeks, x, t_x, t_obs).sum())
    unconditional = float(
        (
            cdnow_fit.expected_transactions_unconditional(t_obs + holdout_weeks)
            - cdnow_fit.expected_transactions_unconditional(t_obs)
        ).sum()
    )
    print(
        f"\nCDNOW holdout weeks 40–78, repeat transactions: actual {HOLDOUT_ACTUAL}, "
        f"BG/NBD conditional {conditional:.0f} ({conditional / HOLDOUT_ACTUAL - 1:+.1%}), "
        f"unconditional {unconditional:.0f} ({unconditional / HOLDOUT_ACTUAL - 1:+.1%})"
    )
    assert conditional == pytest.approx(unconditional, rel=0.02)
    assert conditional == pytest.approx(HOLDOUT_ACTUAL, rel=0.15)


@pytest.mark.refdata
def test_cdnow_fit_is_a_maximum_no_nearby_parameters_score_higher(
    cdnow_fit: BgNbdFit, cdnow_summary: pl.DataFrame
) -> None:
    x, t_x, t_obs = (cdnow_summary[c].to_numpy().astype(np.float64) for c in ("x", "t_x", "T"))
    best = np.array([cdnow_fit.r, cdnow_fit.alpha, cdnow_fit.a, cdnow_fit.b])
    rng = np.random.default_rng(5)
    for step in rng.normal(scale=0.02, size=(40, 4)):
        nearby = best * np.exp(step)
        r, alpha, a, b = (float(v) for v in nearby)
        loglik = bgnbd_log_likelihood(r, alpha, a, b, x, t_x, t_obs).sum()
        assert loglik <= cdnow_fit.log_likelihood


def test_fit_recovers_simulated_parameters_within_10_percent_for_20000_customers() -> None:
    truth = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 4.0}
    rng = np.random.default_rng(20_000)
    customers = simulate_bgnbd(rng, rng.uniform(52, 104, 20_000), **truth)
    fit = fit_bgnbd(customers.x, customers.t_x, customers.T)
    fitted = {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.10), name


def test_simulated_mean_repeat_purchases_match_the_unconditional_expectation_eq_7() -> None:
    rng = np.random.default_rng(7)
    customers = simulate_bgnbd(rng, np.full(200_000, 39.0), r=0.5, alpha=5.0, a=0.9, b=3.0)
    model = BgNbdFit(
        r=0.5, alpha=5.0, a=0.9, b=3.0, log_likelihood=math.nan, n_customers=0, converged=True
    )
    expected = float(model.expected_transactions_unconditional(39.0))
    standard_error = customers.x.std() / math.sqrt(customers.x.size)
    assert abs(customers.x.mean() - expected) < 4 * standard_error


def test_weights_count_identical_customers_as_repeated_rows() -> None:
    x = np.array([0, 1, 3, 2, 0, 5])
    t_x = np.array([0.0, 4.0, 20.0, 9.0, 0.0, 30.0])
    t_obs = np.array([30.0, 35.0, 38.0, 25.0, 12.0, 39.0])
    counts = np.array([40, 7, 3, 5, 20, 2])
    weighted = fit_bgnbd(x, t_x, t_obs, weights=counts)
    repeated = fit_bgnbd(np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(t_obs, counts))
    assert weighted.n_customers == repeated.n_customers == counts.sum()
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, abs=1e-6)
    assert weighted.r == pytest.approx(repeated.r, rel=1e-4)
    assert weighted.b == pytest.approx(repeated.b, rel=1e-4)


def test_log_likelihood_equals_eq_6_evaluated_directly() -> None:
    r, alpha, a, b = 0.3, 4.0, 0.8, 2.5
    for x, t_x, t_obs in [(0, 0.0, 30.0), (1, 2.0, 38.0), (4, 20.5, 31.0), (12, 35.0, 36.0)]:
        common = math.gamma(r + x) * alpha**r / math.gamma(r)
        alive = math.exp(math.lgamma(a) + math.lgamma(b + x) - math.lgamma(a + b + x))
        beta_ab = math.exp(math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
        direct = alive / beta_ab * common / (alpha + t_obs) ** (r + x)
        if x > 0:
            dropped = math.exp(math.lgamma(a + 1) + math.lgamma(b + x - 1) - math.lgamma(a + b + x))
            direct += dropped / beta_ab * common / (alpha + t_x) ** (r + x)
        value = bgnbd_log_likelihood(
            r, alpha, a, b, *(np.array([v], float) for v in (x, t_x, t_obs))
        )
        assert float(value[0]) == pytest.approx(math.log(direct), rel=1e-10)


histories = st.integers(0, 40).flatmap(
    lambda x: st.tuples(
        st.just(x),
        st.floats(0.0, 1.0) if x > 0 else st.just(0.0),
        st.floats(0.1, 200.0),
    )
)


@given(T=st.floats(0.0, 500.0))
def test_a_customer_without_repeat_purchase_is_alive_for_sure(T: float) -> None:  # noqa: N803
    assert float(CDNOW_FIT.p_alive(0, 0.0, T)) == 1.0


@given(history=histories, t=st.floats(0.0, 100.0), more=st.floats(0.01, 100.0))
def test_expected_purchases_grow_with_the_horizon(
    history: tuple[int, float, float], t: float, more: float
) -> None:
    x, share, t_obs = history
    shorter = float(CDNOW_FIT.expected_transactions(t, x, share * t_obs, t_obs))
    longer = float(CDNOW_FIT.expected_transactions(t + more, x, share * t_obs, t_obs))
    assert 0.0 <= shorter <= longer


@given(x=st.integers(1, 40), T=st.floats(1.0, 200.0), earlier=st.floats(0.0, 0.99))
def test_the_longer_a_customer_has_been_silent_the_less_likely_alive(
    x: int,
    T: float,  # noqa: N803
    earlier: float,
) -> None:
    recent = float(CDNOW_FIT.p_alive(x, T, T))
    silent = float(CDNOW_FIT.p_alive(x, earlier * T, T))
    assert 0.0 < silent <= recent <= 1.0


@settings(deadline=None)
@given(t=st.floats(0.0, 300.0))
def test_a_brand_new_customer_expects_the_unconditional_eq_7(t: float) -> None:
    conditional = float(CDNOW_FIT.expected_transactions(t, 0, 0.0, 0.0))
    unconditional = float(CDNOW_FIT.expected_transactions_unconditional(t))
    assert conditional == pytest.approx(unconditional, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        (
            [1, -1],
            [1.0, 0.0],
            [5.0, 5.0],
            "x must be >= 0: 1 row breaks this, the first at index 1",
        ),
        ([1, 2], [1.0, 6.0], [5.0, 5.0], "t_x must be <= T"),
        ([0, 0, 2], [0.0, 1.0, 1.0], [5.0, 5.0, 5.0], "t_x must be 0 where x is 0"),
        ([1.5], [1.0], [5.0], "x must be whole numbers"),
        ([1, 2], [1.0], [5.0, 5.0], "inputs must have the same length, got x=2, t_x=1, T=2"),
        ([1], [float("nan")], [5.0], "t_x must be finite"),
        ([], [], [], "no customers to fit"),
    ],
)
def test_bad_inputs_are_refused_with_a_message_naming_the_rule(
    x: list[float],
    t_x: list[float],
    T: list[float],  # noqa: N803
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        fit_bgnbd(x, t_x, T)
