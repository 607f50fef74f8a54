"""BG/NBD with a known stockout-lapse hazard: its derivation, its c = 0 case (Fader, Hardie &
Lee 2005, eq. 6 and the CDNOW fit) and its recovery of simulated customers."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from soko.customers import (
    bgnbd_lapse_log_likelihood,
    bgnbd_log_likelihood,
    customer_summary,
    fit_bgnbd,
    fit_bgnbd_with_lapse,
)
from soko.customers.bgnbd import _Data
from soko.customers.simulate import simulate_bgnbd
from tests.unit.cdnow import CDNOW, read_cdnow

HISTORIES = [(0, 0.0, 30.0), (1, 2.0, 38.0), (4, 20.5, 31.0), (12, 35.0, 36.0)]
TRUTH = {"r": 0.8, "alpha": 4.0, "a": 0.8, "b": 4.0}


def one(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


def test_with_no_hazard_the_likelihood_is_fhl_2005_eq_6() -> None:
    r, alpha, a, b = 0.3, 4.0, 0.8, 2.5
    for x, t_x, t_obs in HISTORIES:
        lapse = bgnbd_lapse_log_likelihood(r, alpha, a, b, one(x), one(t_x), one(t_obs), one(0.0))
        plain = bgnbd_log_likelihood(r, alpha, a, b, one(x), one(t_x), one(t_obs))
        assert float(lapse[0]) == pytest.approx(float(plain[0]), rel=1e-12)


def likelihood_by_quadrature(
    r: float, alpha: float, a: float, b: float, c: float, x: int, t_x: float, t_obs: float
) -> float:
    """The model's definition: given λ and p, alive after x survived repeat purchases, or
    ended at the x-th by dropout p or lapse c(1−p); λ integrated over Gamma(r, α) in closed
    form, p over Beta(a, b) numerically."""

    def gamma_part(tau: float) -> float:
        return math.exp(
            math.lgamma(r + x)
            - math.lgamma(r)
            + r * math.log(alpha)
            - (r + x) * math.log(alpha + tau)
        )

    def given_p(p: float) -> float:
        kept = (1.0 - p) * (1.0 - c)
        value = kept**x * gamma_part(t_obs)
        if x > 0:
            value += kept ** (x - 1) * (p + c * (1.0 - p)) * gamma_part(t_x)
        return value * float(stats.beta.pdf(p, a, b))

    value, _ = integrate.quad(given_p, 0.0, 1.0, epsabs=0.0, epsrel=1e-11)
    return float(value)


def test_likelihood_is_the_two_ways_to_end_integrated_over_the_dropout_p() -> None:
    r, alpha, a, b = 0.6, 5.0, 1.3, 3.5
    for c in (0.05, 0.3):
        for x, t_x, t_obs in HISTORIES:
            direct = likelihood_by_quadrature(r, alpha, a, b, c, x, t_x, t_obs)
            value = bgnbd_lapse_log_likelihood(r, alpha, a, b, one(x), one(t_x), one(t_obs), one(c))
            assert float(value[0]) == pytest.approx(math.log(direct), rel=1e-9), (c, x)


def test_a_customer_without_repeat_purchase_is_untouched_by_the_hazard() -> None:
    for c in (0.0, 0.2, 0.9):
        value = bgnbd_lapse_log_likelihood(0.5, 3.0, 1.0, 2.0, one(0), one(0.0), one(40.0), one(c))
        assert float(value[0]) == pytest.approx(0.5 * math.log(3.0 / 43.0), rel=1e-12)


@pytest.mark.refdata
def test_cdnow_with_no_hazard_fits_fader_hardie_lee_2005_published_parameters() -> None:
    if not CDNOW.exists():
        pytest.skip(f"CDNOW reference data not found at {CDNOW}")
    summary = customer_summary(read_cdnow(CDNOW), calibration_end=dt.date(1997, 9, 30))
    x, t_x, t_obs = (summary[c].to_numpy().astype(np.float64) for c in ("x", "t_x", "T"))
    fit = fit_bgnbd_with_lapse(x, t_x, t_obs, np.zeros(x.size))
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert fit.natural.log_likelihood == pytest.approx(fit.log_likelihood, abs=1e-9)


def test_analytic_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(3)
    customers = simulate_bgnbd(rng, rng.uniform(30, 80, 3_000), r=0.7, alpha=5.0, a=0.9, b=3.0)
    hazard = rng.uniform(0.0, 0.2, 3_000)
    weights = rng.integers(1, 4, 3_000).astype(np.float64)
    data = _Data(customers.x, customers.t_x, customers.T, weights, lapse=hazard)
    theta = np.log([0.6, 4.0, 1.1, 2.5])
    _, gradient = data.objective(theta)
    numeric = optimize.approx_fprime(theta, lambda t: data.objective(t)[0], 1e-7)
    np.testing.assert_allclose(gradient, numeric, atol=1e-6)


@pytest.fixture(scope="module")
def lapsing_customers() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(20_000)
    hazard = rng.uniform(0.0, 0.2, 20_000)
    customers = simulate_bgnbd(rng, rng.uniform(52, 104, 20_000), **TRUTH, lapse_hazard=hazard)
    return customers.x, customers.t_x, customers.T, hazard, customers.lapsed


def test_fit_with_the_hazard_recovers_simulated_parameters_a_plain_fit_misreads(
    lapsing_customers: tuple[np.ndarray, ...],
) -> None:
    x, t_x, t_obs, hazard, _ = lapsing_customers
    fit = fit_bgnbd_with_lapse(x, t_x, t_obs, hazard)
    plain = fit_bgnbd(x, t_x, t_obs)
    assert fit.converged
    for name, value in TRUTH.items():
        assert getattr(fit, name) == pytest.approx(value, rel=0.10), name
    true_dropout = TRUTH["a"] / (TRUTH["a"] + TRUTH["b"])
    natural = fit.a / (fit.a + fit.b)
    all_causes = plain.a / (plain.a + plain.b)
    print(
        f"\nmean dropout, truth {true_dropout:.3f}: with the hazard {natural:.3f}, "
        f"plain BG/NBD {all_causes:.3f}"
    )
    assert natural == pytest.approx(true_dropout, rel=0.05)
    assert all_causes > 1.3 * true_dropout  # the lapses read as dropout


def test_posterior_lapses_add_up_to_the_simulated_lapses(
    lapsing_customers: tuple[np.ndarray, ...],
) -> None:
    x, t_x, t_obs, hazard, lapsed = lapsing_customers
    fit = fit_bgnbd_with_lapse(x, t_x, t_obs, hazard)
    expected = float(fit.p_lapsed(x, t_x, t_obs, hazard).sum())
    assert expected == pytest.approx(float(lapsed.sum()), rel=0.05)
    ended = 1.0 - fit.p_alive(x, t_x, t_obs, hazard)
    assert np.all(fit.p_lapsed(x, t_x, t_obs, hazard) <= ended + 1e-12)


def test_without_hazard_p_alive_and_expected_purchases_are_the_plain_models() -> None:
    rng = np.random.default_rng(11)
    customers = simulate_bgnbd(rng, rng.uniform(30, 60, 2_000), r=0.5, alpha=4.0, a=0.9, b=3.0)
    x, t_x, t_obs = customers.x, customers.t_x, customers.T
    fit = fit_bgnbd_with_lapse(x, t_x, t_obs, np.zeros(x.size))
    zero = np.zeros(x.size)
    np.testing.assert_allclose(fit.p_alive(x, t_x, t_obs, zero), fit.natural.p_alive(x, t_x, t_obs))
    np.testing.assert_allclose(
        fit.expected_transactions(20.0, x, t_x, t_obs, zero),
        fit.natural.expected_transactions(20.0, x, t_x, t_obs),
        rtol=1e-12,
    )
    assert float(fit.p_lapsed(x, t_x, t_obs, zero).max()) == 0.0


def test_a_silent_customer_at_risk_of_stockouts_is_less_likely_alive() -> None:
    rng = np.random.default_rng(12)
    customers = simulate_bgnbd(rng, rng.uniform(30, 60, 2_000), r=0.5, alpha=4.0, a=0.9, b=3.0)
    fit = fit_bgnbd_with_lapse(customers.x, customers.t_x, customers.T, np.full(2_000, 0.05))
    safe = float(fit.p_alive(3, 10.0, 40.0, 0.0))
    exposed = float(fit.p_alive(3, 10.0, 40.0, 0.3))
    assert 0.0 < exposed < safe < 1.0


def test_the_simulator_without_hazard_draws_the_plain_customers() -> None:
    plain = simulate_bgnbd(np.random.default_rng(4), np.full(500, 40.0), **TRUTH)
    zero = simulate_bgnbd(np.random.default_rng(4), np.full(500, 40.0), **TRUTH, lapse_hazard=0.0)
    np.testing.assert_array_equal(plain.x, zero.x)
    np.testing.assert_array_equal(plain.t_x, zero.t_x)
    assert not zero.lapsed.any()


@pytest.mark.parametrize("hazard", [[0.1, 1.0], [-0.1, 0.0], [0.1, float("nan")]])
def test_a_hazard_that_is_not_a_probability_is_refused(hazard: list[float]) -> None:
    with pytest.raises(ValueError, match="lapse_hazard must be"):
        fit_bgnbd_with_lapse([1, 2], [1.0, 3.0], [5.0, 5.0], hazard)


def test_weights_count_identical_customers_as_repeated_rows() -> None:
    x = np.array([0, 1, 3, 2, 0, 5])
    t_x = np.array([0.0, 4.0, 20.0, 9.0, 0.0, 30.0])
    t_obs = np.array([30.0, 35.0, 38.0, 25.0, 12.0, 39.0])
    hazard = np.array([0.0, 0.1, 0.05, 0.2, 0.1, 0.02])
    counts = np.array([40, 7, 3, 5, 20, 2])
    weighted = fit_bgnbd_with_lapse(x, t_x, t_obs, hazard, weights=counts)
    repeated = fit_bgnbd_with_lapse(*(np.repeat(v, counts) for v in (x, t_x, t_obs, hazard)))
    assert weighted.log_likelihood == pytest.approx(repeated.log_likelihood, abs=1e-6)
    assert weighted.a == pytest.approx(repeated.a, rel=1e-4)
    assert weighted.b == pytest.approx(repeated.b, rel=1e-4)
    assert weighted.n_customers == counts.sum()
