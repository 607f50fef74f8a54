"""Gamma-Gamma: what a customer spends per transaction.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "RFM and CLV: using
iso-value curves for customer base analysis", *Journal of Marketing Research*
42(4):415–430 (FHL JMR 2005 below), §"Adding monetary value", and Fader &
Hardie (2013), "The Gamma-Gamma model of monetary value" (FH 2013 below).

Per customer, transaction values are z ~ Gamma(p, ν); across customers
ν ~ Gamma(q, γ). What is observed is the mean value m_x of the customer's x
transactions, independent of how many there are (the model's key assumption,
worth checking: the correlation of x and m_x should be near zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from soko.customers._arrays import (
    F64,
    ArrayLike,
    as_float,
    converged,
    counts,
    dedupe_rows,
    optional_weights,
    require,
    same_length,
    sum_by_group,
)

_LOG_BOUND = 25.0


@dataclass(frozen=True, slots=True)
class GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters (FH 2013 eq. 3).

    ``p`` is the shape of the per-transaction Gamma, ``q`` and ``gamma`` the
    shape and rate of the Gamma over customers' ν. The population mean spend
    per transaction is p·γ/(q−1) when q > 1.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: float
    converged: bool

    def expected_spend(self, x: ArrayLike, mean_spend: ArrayLike) -> F64:
        """E[Z | x, m_x]: a customer's expected value per transaction.

        FH 2013 eq. (5) (FHL JMR 2005 eq. 5)::

            E[Z | p, q, γ, m_x, x] = p (γ + m_x x) / (p x + q − 1)
                                   = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m_x

        a weighted mean of the population mean and the customer's own mean.
        ``x`` = 0 is allowed here and gives the population mean, p·γ/(q−1).
        """
        xs, spend = np.broadcast_arrays(counts("x", x), as_float("mean_spend", mean_spend))
        require("mean_spend", spend >= 0, "be >= 0")
        p, q, gamma = self.p, self.q, self.gamma
        return np.asarray(p * (gamma + spend * xs) / (p * xs + q - 1.0), dtype=np.float64)

    def population_mean_spend(self) -> float:
        """E[Z] = p·γ/(q−1), the mean transaction value of a new customer (FH 2013 eq. 4)."""
        if self.q <= 1.0:
            return float("inf")
        return self.p * self.gamma / (self.q - 1.0)


def fit_gamma_gamma(
    x: ArrayLike,
    mean_spend: ArrayLike,
    weights: ArrayLike | None = None,
) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood (FH 2013 eq. 3).

    ``x`` is the number of transactions behind each customer's ``mean_spend``;
    every x must be > 0, since a customer without a transaction has no mean.
    In FHL JMR 2005 (and to reproduce its CDNOW figures) x counts repeat
    transactions and ``mean_spend`` is their mean value, the first purchase
    left out. Parameters are searched on the log scale by L-BFGS-B with the
    analytic gradient.
    """
    xs = counts("x", x, positive=True)
    spend = as_float("mean_spend", mean_spend)
    size = same_length(x=xs, mean_spend=spend)
    if size == 0:
        raise ValueError("no customers to fit")
    require("mean_spend", spend > 0, "be > 0")
    w = optional_weights(weights, size)
    (xs, spend), w = dedupe_rows([xs, spend], w)
    data = _Data(xs, spend, w)
    # Moment-style start: q a little above 1 keeps the population mean finite.
    mean = float(np.sum(w * spend) / np.sum(w))
    start = np.log([1.0, 2.0, mean])
    from scipy import optimize  # a second to import; only fitting needs it

    result = optimize.minimize(
        data.objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3,
        options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8},
    )
    p, q, gamma = (float(v) for v in np.exp(result.x))
    loglik = float(np.sum(w * gamma_gamma_log_likelihood(p, q, gamma, xs, spend)))
    return GammaGammaFit(
        p=p,
        q=q,
        gamma=gamma,
        log_likelihood=loglik,
        n_customers=float(np.sum(w)),
        converged=converged(result),
    )


def gamma_gamma_log_likelihood(p: float, q: float, gamma: float, x: F64, mean_spend: F64) -> F64:
    """Per-customer log density of m_x, FH 2013 eq. (3), in log space::

    f(m_x | p, q, γ; x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px−1) x^(px) / (γ + m_x x)^(px+q)
    """
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(mean_spend)
        + px * np.log(x)
        - (px + q) * np.log(gamma + mean_spend * x),
        dtype=np.float64,
    )


class _Data:
    """Customers grouped by x: the Gamma functions depend on x alone."""

    def __init__(self, x: F64, mean_spend: F64, w: F64) -> None:
        self.x_values, inverse = np.unique(x, return_inverse=True)
        self.group = inverse.ravel()
        self.w = w
        self.w_total = float(w.sum())
        self.w_by_x = sum_by_group(self.group, w, self.x_values.size)
        self.wx = w * x
        self.spend_x = mean_spend * x
        self.log_spend = np.log(mean_spend)
        self.sum_w_log_spend = float(_dot(w, self.log_spend))
        self.sum_wx_log_spend_x = float(_dot(w * x, self.log_spend + np.log(x)))

    def objective(self, theta: F64) -> tuple[float, F64]:
        """Minus the mean log-likelihood and its gradient in log-parameters."""
        p, q, gamma = (float(v) for v in np.exp(theta))
        xv = self.x_values
        w, wx = self.w, self.wx
        # One logarithm and one reciprocal per customer; the rest is per distinct x.
        shifted = gamma + self.spend_x
        log_tail = np.log(shifted)
        inv_tail = 1.0 / shifted
        sum_w_log_tail = _dot(w, log_tail)
        sum_wx_log_tail = _dot(wx, log_tail)
        log_gamma = float(np.log(gamma))
        loglik = float(
            _dot(self.w_by_x, special.gammaln(p * xv + q) - special.gammaln(p * xv))
            + self.w_total * (q * log_gamma - special.gammaln(q))
            + p * self.sum_wx_log_spend_x
            - self.sum_w_log_spend
            - p * sum_wx_log_tail
            - q * sum_w_log_tail
        )
        psi_pxq = special.digamma(p * xv + q)
        d_p = float(
            _dot(self.w_by_x * xv, psi_pxq - special.digamma(p * xv))
            + self.sum_wx_log_spend_x
            - sum_wx_log_tail
        )
        d_q = float(
            _dot(self.w_by_x, psi_pxq)
            + self.w_total * (log_gamma - special.digamma(q))
            - sum_w_log_tail
        )
        d_gamma = self.w_total * q / gamma - p * _dot(wx, inv_tail) - q * _dot(w, inv_tail)
        grad = np.array([d_p * p, d_q * q, d_gamma * gamma]) / self.w_total
        return -loglik / self.w_total, -grad


def _dot(u: F64, v: F64) -> float:
    """Σ u·v without BLAS: OpenBLAS threads for a 1-D dot stall a busy two-core machine."""
    return float(np.einsum("i,i->", u, v))
