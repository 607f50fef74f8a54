"""Gamma-Gamma spend against Fader, Hardie & Lee (2005), JMR 42(4), and CLV built on it."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from soko.customers import (
    GammaGammaFit,
    clv,
    customer_summary,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from soko.customers.simulate import simulate_mean_spend
from tests.unit.cdnow import CDNOW, CDNOW_BGNBD, read_cdnow

PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}

CDNOW_SPEND = GammaGammaFit(
    p=6.25, q=3.74, gamma=15.44, log_likelihood=math.nan, n_customers=0, converged=True
)


@pytest.fixture(scope="module")
def cdnow_repeaters() -> pl.DataFrame:
    """Calibration-period customers with at least one repeat purchase, as in FHL 2005 JMR."""
    if not CDNOW.exists():
        pytest.skip(f"CDNOW reference data not found at {CDNOW}")
    summary = customer_summary(read_cdnow(CDNOW), calibration_end=dt.date(1997, 9, 30))
    return summary.filter(pl.col("x") > 0)


@pytest.mark.refdata
def test_cdnow_gamma_gamma_parameters_match_fader_hardie_lee_2005_jmr(
    cdnow_repeaters: pl.DataFrame,
) -> None:
    """Published figures come from the 946 repeaters' mean value of *repeat* transactions."""
    assert cdnow_repeaters.height == 946
    fit = fit_gamma_gamma(cdnow_repeaters["x"], cdnow_repeaters["mean_spend"])
    fitted = {"p": fit.p, "q": fit.q, "gamma": fit.gamma}
    assert fit.converged
    for name, published in PUBLISHED.items():
        assert fitted[name] == pytest.approx(published, rel=0.02), name


def test_fit_recovers_simulated_parameters_within_10_percent_for_20000_customers() -> None:
    truth = {"p": 4.0, "q": 10.0, "gamma": 60.0}
    rng = np.random.default_rng(20_000)
    x = rng.integers(1, 10, 20_000)
    fit = fit_gamma_gamma(x, simulate_mean_spend(rng, x, **truth))
    fitted = {"p": fit.p, "q": fit.q, "gamma": fit.gamma}
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.10), name


def test_fit_is_a_maximum_no_nearby_parameters_score_higher() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 2_000).astype(np.float64)
    spend = simulate_mean_spend(rng, x, p=6.25, q=3.74, gamma=15.44)
    fit = fit_gamma_gamma(x, spend)
    best = np.array([fit.p, fit.q, fit.gamma])
    for step in rng.normal(scale=0.02, size=(30, 3)):
        nearby = best * np.exp(step)
        p, q, gamma = (float(v) for v in nearby)
        assert gamma_gamma_log_likelihood(p, q, gamma, x, spend).sum() <= fit.log_likelihood


def test_customers_without_a_repeat_transaction_are_refused_with_count_and_first_index() -> None:
    with pytest.raises(
        ValueError, match=r"x must be > 0 .*2 rows break this, the first at index 1"
    ):
        fit_gamma_gamma([3, 0, 2, 0], [10.0, 0.0, 12.0, 0.0])


@given(x=st.integers(0, 200), own=st.floats(0.01, 1_000.0))
def test_expected_spend_lies_between_the_population_mean_and_the_customers_own_mean(
    x: int, own: float
) -> None:
    expected = float(CDNOW_SPEND.expected_spend(x, own))
    population = CDNOW_SPEND.population_mean_spend()
    low, high = sorted((population, own))
    assert low * (1 - 1e-12) <= expected <= high * (1 + 1e-12)


def test_expected_spend_moves_toward_the_customers_own_mean_as_purchases_accumulate() -> None:
    gaps = [abs(float(CDNOW_SPEND.expected_spend(x, 100.0)) - 100.0) for x in (1, 5, 50, 500)]
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 1.0


def test_clv_without_discount_is_expected_purchases_times_spend_times_margin() -> None:
    x, t_x, t_obs, spend = np.array([0, 2, 7]), np.array([0.0, 30.43, 35.0]), 38.86, 22.0
    value = clv(
        CDNOW_BGNBD,
        CDNOW_SPEND,
        x,
        t_x,
        t_obs,
        spend,
        horizon=52.0,
        margin=0.3,
        discount_rate=0.0,
        period=52 / 12,
    )
    purchases = CDNOW_BGNBD.expected_transactions(52.0, x, t_x, t_obs)
    assert value == pytest.approx(
        purchases * CDNOW_SPEND.expected_spend(x, [0.0, 22.0, 22.0]) * 0.3
    )


def test_clv_of_a_single_period_is_discounted_once() -> None:
    kwargs = {"horizon": 13.0, "margin": 1.0, "period": 13.0}
    plain = clv(CDNOW_BGNBD, CDNOW_SPEND, 2, 30.43, 38.86, 22.0, discount_rate=0.0, **kwargs)
    discounted = clv(CDNOW_BGNBD, CDNOW_SPEND, 2, 30.43, 38.86, 22.0, discount_rate=0.1, **kwargs)
    assert float(discounted) == pytest.approx(float(plain) / 1.1)


@given(rate=st.floats(0.0, 0.5), more=st.floats(0.001, 0.5))
def test_clv_falls_as_the_discount_rate_rises(rate: float, more: float) -> None:
    kwargs = {"horizon": 104.0, "margin": 0.4, "period": 52 / 12}
    lower = clv(CDNOW_BGNBD, CDNOW_SPEND, 3, 20.0, 38.0, 30.0, discount_rate=rate, **kwargs)
    higher = clv(CDNOW_BGNBD, CDNOW_SPEND, 3, 20.0, 38.0, 30.0, discount_rate=rate + more, **kwargs)
    assert 0.0 < float(higher) < float(lower)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0.0}, "horizon must be a positive number"),
        ({"margin": 1.5}, "margin must be a share of revenue between 0 and 1"),
        ({"discount_rate": -1.0}, "discount_rate must be > -1"),
        ({"period": -4.0}, "period must be a positive number"),
    ],
)
def test_clv_refuses_meaningless_settings(kwargs: dict[str, float], message: str) -> None:
    settings = {"horizon": 52.0, "margin": 0.3, "discount_rate": 0.01, "period": 4.0} | kwargs
    with pytest.raises(ValueError, match=message):
        clv(CDNOW_BGNBD, CDNOW_SPEND, 1, 2.0, 10.0, 20.0, **settings)
