"""BG/NBD: how many purchases a customer will make, and whether they are still alive.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "'Counting your customers'
the easy way: an alternative to the Pareto/NBD model", *Marketing Science*
24(2):275–284 (FHL 2005 below), with the derivations of Fader, Hardie & Lee,
"Computing P(alive) using the BG/NBD model" (2008 note).

The model, per customer: while alive, purchases follow a Poisson process with
rate λ; after each purchase the customer drops out with probability p. Across
customers λ ~ Gamma(r, α) and p ~ Beta(a, b). The data per customer are
``x`` repeat transactions (the first purchase excluded), ``t_x`` the time of
the last of them and ``T`` the time observed, all measured from the first
purchase in the caller's time unit (α carries that unit).
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
    dedupe_rows,
    optional_weights,
    recency_frequency,
    same_length,
    sum_by_group,
)

_LOG_BOUND = 25.0
"""Parameters are searched in [e^-25, e^25]: wide enough for any unit of time."""


@dataclass(frozen=True, slots=True)
class BgNbdFit:
    """Maximum-likelihood BG/NBD parameters and the predictions they imply.

    ``r`` and ``alpha`` are the shape and rate of the Gamma over purchase rates
    (α in the caller's time unit); ``a`` and ``b`` the Beta over dropout
    probabilities; ``log_likelihood`` is eq. (6) of FHL 2005 summed over the
    (weighted) customers at those parameters.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: float
    converged: bool

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> F64:  # noqa: N803
        """P(customer still alive at T | x, t_x, T).

        Fader, Hardie & Lee (2008 note), eq. (2), the denominator of FHL 2005
        eq. (10)::

            P(alive) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

        A customer with no repeat purchase is alive with probability one: in the
        BG/NBD a customer can only drop out right after a purchase.
        """
        xs, t_xs, ts = recency_frequency(x, t_x, T)
        return 1.0 / (1.0 + self._dead_odds(xs, t_xs, ts))

    def expected_transactions(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,  # noqa: N803
    ) -> F64:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` after T.

        FHL 2005 eq. (10)::

            E[Y(t) | …] = (a+b+x−1)/(a−1)
                          · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
                          / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

        Inputs broadcast against each other; the result has their common shape.
        """
        horizon = as_float("t", t)
        if np.any(horizon < 0):
            raise ValueError("t must be >= 0 (a horizon after the end of observation)")
        xs, t_xs, ts = recency_frequency(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + ts + horizon)
        hyp = special.hyp2f1(r + xs, b + xs, a + b + xs - 1.0, z)
        log_decay = -(r + xs) * np.log1p(horizon / (alpha + ts))
        # 1 − decay·₂F₁ cancels to rounding noise for tiny t; counts are never negative.
        alive_part = (a + b + xs - 1.0) / (a - 1.0) * -np.expm1(log_decay + np.log(hyp))
        alive_part = np.maximum(alive_part, 0.0)
        return np.asarray(alive_part / (1.0 + self._dead_odds(xs, t_xs, ts)), dtype=np.float64)

    def expected_transactions_unconditional(self, t: ArrayLike) -> F64:
        """E[X(t)]: expected repeat purchases in ``t`` after a randomly chosen first purchase.

        FHL 2005 eq. (7)::

            E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]

        Summed over each customer's time since first purchase, this gives the
        aggregate tracking curves of the paper (its Figure 3).
        """
        horizon = as_float("t", t)
        if np.any(horizon < 0):
            raise ValueError("t must be >= 0")
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        hyp = special.hyp2f1(r, b, a + b - 1.0, horizon / (alpha + horizon))
        log_decay = -r * np.log1p(horizon / alpha)
        expected = (a + b - 1.0) / (a - 1.0) * -np.expm1(log_decay + np.log(hyp))
        return np.asarray(np.maximum(expected, 0.0), dtype=np.float64)

    def _dead_odds(self, x: F64, t_x: F64, T: F64) -> F64:  # noqa: N803
        """P(dead)/P(alive): δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), in log space."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        safe_x = np.where(repeat, x, 1.0)
        log_odds = (
            np.log(a)
            - np.log(b + safe_x - 1.0)
            + (r + safe_x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    weights: ArrayLike | None = None,
) -> BgNbdFit:
    """Fit the BG/NBD by maximum likelihood (FHL 2005 eq. 6).

    ``x`` repeat transactions, ``t_x`` time of the last one, ``T`` time observed,
    one value per customer (or per group of identical customers, counted by
    ``weights``). Identical (x, t_x, T) rows are merged before fitting in any
    case. The four parameters are searched on the log scale by L-BFGS-B with
    the analytic gradient of the log-likelihood.
    """
    xs = as_float("x", x)
    t_xs = as_float("t_x", t_x)
    ts = as_float("T", T)
    size = same_length(x=xs, t_x=t_xs, T=ts)
    if size == 0:
        raise ValueError("no customers to fit")
    xs, t_xs, ts = recency_frequency(xs, t_xs, ts)
    w = optional_weights(weights, size)
    (xs, t_xs, ts), w = dedupe_rows([xs, t_xs, ts], w)
    data = _Data(xs, t_xs, ts, w)
    # Start from a Poisson with the observed rate and a mild dropout.
    rate = float(np.sum(w * xs) / np.sum(w * ts)) if np.sum(w * ts) > 0 else 1.0
    start = np.log([1.0, 1.0 / max(rate, 1e-6), 1.0, 1.0])
    from scipy import optimize  # a second to import; only fitting needs it

    result = optimize.minimize(
        data.objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
        options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8},
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(np.sum(w * bgnbd_log_likelihood(r, alpha, a, b, xs, t_xs, ts))),
        n_customers=float(np.sum(w)),
        converged=converged(result),
    )


def bgnbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: F64,
    t_x: F64,
    T: F64,  # noqa: N803
) -> F64:
    """Per-customer log-likelihood, FHL 2005 eq. (6), in log space::

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
      + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))
    """
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    base = special.betaln(a, b)
    still_alive = special.betaln(a, b + x) - base - (r + x) * np.log(alpha + T)
    safe_x = np.maximum(x, 1.0)
    dropped = special.betaln(a + 1.0, b + safe_x - 1.0) - base - (r + x) * np.log(alpha + t_x)
    dropped = np.where(x > 0, dropped, -np.inf)
    return np.asarray(common + np.logaddexp(still_alive, dropped), dtype=np.float64)


class _Data:
    """Customers split for speed: those with x = 0 need one logarithm each; the
    others are grouped by x, so every term of eq. (6) that depends on x alone is
    computed once per distinct x. The per-row work is two logarithms, a softplus
    and a logistic.

    For a repeat customer, write eq. (6) as L = A·(1 + e^d) with
    A = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x)) and
    d = log[B(a+1, b+x−1)/B(a, b+x)] + (r+x)·log[(α+T)/(α+t_x)];
    e^d/(1+e^d) is then P(dropped out | data), the weight of the second term
    in every derivative.
    """

    def __init__(self, x: F64, t_x: F64, T: F64, w: F64) -> None:  # noqa: N803
        zero = x == 0
        self.T_zero = T[zero]
        self.w_zero = w[zero]
        self.w_zero_total = float(self.w_zero.sum())
        repeat = ~zero
        self.x_values, inverse = np.unique(x[repeat], return_inverse=True)
        self.group = inverse.ravel()
        self.T = T[repeat]
        self.t_x = t_x[repeat]
        self.w = w[repeat]
        self.wx = self.w * x[repeat]
        self.w_by_x = sum_by_group(self.group, self.w, self.x_values.size)
        self.w_total = float(w.sum())
        self.w_repeat_total = float(self.w.sum())

    def objective(self, theta: F64) -> tuple[float, F64]:
        """Minus the mean log-likelihood and its gradient in log-parameters."""
        r, alpha, a, b = (float(v) for v in np.exp(theta))
        log_alpha = np.log(alpha)

        # x = 0: log L = r·log α − r·log(α+T); a and b drop out.
        log_at0 = np.log(alpha + self.T_zero)
        sum_log_at0 = float(_dot(self.w_zero, log_at0))
        loglik = r * (self.w_zero_total * log_alpha - sum_log_at0)
        d_r = self.w_zero_total * log_alpha - sum_log_at0
        d_alpha = r * (
            self.w_zero_total / alpha - float(_dot(self.w_zero, 1.0 / (alpha + self.T_zero)))
        )
        d_a = 0.0
        d_b = 0.0

        if self.x_values.size:
            xv = self.x_values
            base = special.betaln(a, b)
            alive_const = special.betaln(a, b + xv) - base
            common = special.gammaln(r + xv) - special.gammaln(r) + r * log_alpha
            odds_const = special.betaln(a + 1.0, b + xv - 1.0) - base - alive_const

            log_at = np.log(alpha + self.T)
            log_atx = np.log(alpha + self.t_x)
            log_ratio = log_at - log_atx
            d = odds_const[self.group] + (r + xv)[self.group] * log_ratio
            tail = np.exp(-np.abs(d))
            one_plus = 1.0 + tail
            softplus = np.maximum(d, 0.0) + np.log(one_plus)
            share_dropped = np.where(d >= 0.0, 1.0, tail) / one_plus
            w, wx = self.w, self.wx
            sum_w_log_at = float(_dot(w, log_at))
            loglik += float(
                _dot(self.w_by_x, common + alive_const)
                - r * sum_w_log_at
                - _dot(wx, log_at)
                + _dot(w, softplus)
            )
            w_dropped = w * share_dropped
            w_dropped_by_x = sum_by_group(self.group, w_dropped, xv.size)
            w_alive_by_x = self.w_by_x - w_dropped_by_x

            d_r += float(
                _dot(self.w_by_x, special.digamma(r + xv) - special.digamma(r) + log_alpha)
                - sum_w_log_at
                + _dot(w_dropped, log_ratio)
            )
            inv_at = 1.0 / (alpha + self.T)
            gap = 1.0 / (alpha + self.t_x) - inv_at
            d_alpha += float(
                self.w_repeat_total * r / alpha
                - r * _dot(w, inv_at)
                - _dot(wx, inv_at)
                - _dot(w_dropped * (r + xv)[self.group], gap)
            )
            psi_ab = special.digamma(a + b)
            psi_abx = special.digamma(a + b + xv)
            psi_a = special.digamma(a)
            d_a = float(
                -self.w_repeat_total * (psi_a - psi_ab)
                + _dot(w_alive_by_x, psi_a - psi_abx)
                + _dot(w_dropped_by_x, special.digamma(a + 1.0) - psi_abx)
            )
            d_b = float(
                -self.w_repeat_total * (special.digamma(b) - psi_ab)
                + _dot(w_alive_by_x, special.digamma(b + xv) - psi_abx)
                + _dot(w_dropped_by_x, special.digamma(b + xv - 1.0) - psi_abx)
            )

        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) / self.w_total
        return -loglik / self.w_total, -grad


def _dot(u: F64, v: F64) -> float:
    """Σ u·v without BLAS: OpenBLAS threads for a 1-D dot stall a busy two-core machine."""
    return float(np.einsum("i,i->", u, v))
