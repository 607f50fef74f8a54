"""Customers drawn from the BG/NBD and Gamma-Gamma, for tests and benchmarks with a known truth.

Vectorised, with no per-customer loop: given λ, the number N of Poisson
arrivals in (0, T] is Poisson(λT) and, given N, their times are N uniform
order statistics on (0, T). The customer drops out after repeat purchase K,
K ~ Geometric(p) on {1, 2, …} (FHL 2005 *Marketing Science* §2: dropout only
right after a purchase), so x = min(N, K) and t_x, the x-th of N uniform
order statistics, is T · Beta(x, N − x + 1). With a stockout-lapse hazard c
(the model of :func:`soko.customers.bgnbd.fit_bgnbd_with_lapse`) the customer
also lapses after repeat purchase K_c ~ Geometric(c), independently, and
leaves after min(K, K_c).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soko.customers._arrays import F64, ArrayLike, Bools, as_float


@dataclass(frozen=True, slots=True)
class SimulatedCustomers:
    """Calibration-period summaries of simulated customers, with each one's latent truth."""

    x: F64
    t_x: F64
    T: F64
    rate: F64
    """λ, purchases per time unit while alive."""
    dropout: F64
    """p, the probability of dropping out after each purchase."""
    lapsed: Bools
    """Left within T through a stockout lapse that natural dropout would not have caused
    (K_c < K); all False without a hazard."""


def simulate_bgnbd(
    rng: np.random.Generator,
    T: ArrayLike,  # noqa: N803
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    lapse_hazard: ArrayLike = 0.0,
) -> SimulatedCustomers:
    """One simulated customer per value of ``T`` (the time each is observed).

    ``lapse_hazard`` c (one value, or one per customer) is the probability of a
    stockout lapse after each repeat purchase; with c = 0 everywhere the draws
    are those of the plain BG/NBD, stream for stream.
    """
    ts = np.atleast_1d(as_float("T", T))
    n = ts.size
    hazard = np.broadcast_to(as_float("lapse_hazard", lapse_hazard), ts.shape)
    if np.any((hazard < 0.0) | (hazard >= 1.0)):
        raise ValueError("lapse_hazard must be a probability in [0, 1)")
    rate = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    dropout = rng.beta(a, b, size=n)
    arrivals = rng.poisson(rate * ts)
    lifetime_purchases = rng.geometric(dropout)
    lapsed = np.zeros(n, dtype=np.bool_)
    if np.any(hazard > 0.0):
        until_lapse = np.where(
            hazard > 0.0, rng.geometric(np.where(hazard > 0.0, hazard, 1.0)), np.iinfo(np.int64).max
        )
        lapsed = (until_lapse < lifetime_purchases) & (until_lapse <= arrivals)
        lifetime_purchases = np.minimum(lifetime_purchases, until_lapse)
    x = np.minimum(arrivals, lifetime_purchases)
    repeat = x > 0
    t_x = np.zeros(n)
    t_x[repeat] = ts[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return SimulatedCustomers(
        x=x.astype(np.float64), t_x=t_x, T=ts, rate=rate, dropout=dropout, lapsed=lapsed
    )


def simulate_mean_spend(
    rng: np.random.Generator,
    x: ArrayLike,
    *,
    p: float,
    q: float,
    gamma: float,
) -> F64:
    """Mean value of each customer's ``x`` transactions under the Gamma-Gamma.

    ν ~ Gamma(q, rate γ) per customer, each transaction z ~ Gamma(p, rate ν);
    the mean of x of them is Gamma(p·x, rate ν·x). Rows with x = 0 get NaN.
    """
    xs = np.atleast_1d(as_float("x", x))
    nu = rng.gamma(shape=q, scale=1.0 / gamma, size=xs.size)
    has = xs > 0
    spend = np.full(xs.size, np.nan)
    spend[has] = rng.gamma(shape=p * xs[has], scale=1.0 / (nu[has] * xs[has]))
    return spend
