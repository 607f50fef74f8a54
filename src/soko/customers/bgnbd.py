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
    require,
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
        alive_part = self._expected_if_alive(horizon, xs, ts)
        return np.asarray(alive_part / (1.0 + self._dead_odds(xs, t_xs, ts)), dtype=np.float64)

    def _expected_if_alive(self, horizon: F64, x: F64, T: F64) -> F64:  # noqa: N803
        """E[Y(t) | alive at T, x, T]: the numerator of FHL 2005 eq. (10)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = horizon / (alpha + T + horizon)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        log_decay = -(r + x) * np.log1p(horizon / (alpha + T))
        # 1 − decay·₂F₁ cancels to rounding noise for tiny t; counts are never negative.
        alive_part = (a + b + x - 1.0) / (a - 1.0) * -np.expm1(log_decay + np.log(hyp))
        return np.asarray(np.maximum(alive_part, 0.0), dtype=np.float64)

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
    xs, t_xs, ts, w = _checked(x, t_x, T, weights)
    (xs, t_xs, ts), w = dedupe_rows([xs, t_xs, ts], w)
    (r, alpha, a, b), done = _maximise(_Data(xs, t_xs, ts, w), xs, ts, w)
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(np.sum(w * bgnbd_log_likelihood(r, alpha, a, b, xs, t_xs, ts))),
        n_customers=float(np.sum(w)),
        converged=done,
    )


def _checked(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    weights: ArrayLike | None,
) -> tuple[F64, F64, F64, F64]:
    """(x, t_x, T, weights) checked as one customer per row; a ``ValueError`` otherwise."""
    xs = as_float("x", x)
    t_xs = as_float("t_x", t_x)
    ts = as_float("T", T)
    size = same_length(x=xs, t_x=t_xs, T=ts)
    if size == 0:
        raise ValueError("no customers to fit")
    xs, t_xs, ts = recency_frequency(xs, t_xs, ts)
    return xs, t_xs, ts, optional_weights(weights, size)


def _maximise(
    data: _Data,
    x: F64,
    T: F64,  # noqa: N803
    w: F64,
) -> tuple[tuple[float, float, float, float], bool]:
    """(r, α, a, b) maximising ``data``'s likelihood, and whether L-BFGS-B converged."""
    # Start from a Poisson with the observed rate and a mild dropout.
    rate = float(np.sum(w * x) / np.sum(w * T)) if np.sum(w * T) > 0 else 1.0
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
    return (r, alpha, a, b), converged(result)


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


@dataclass(frozen=True, slots=True)
class BgNbdLapseFit:
    """BG/NBD with a known stockout-lapse hazard per customer, fitted by maximum likelihood.

    ``r``, ``alpha``, ``a``, ``b`` are the natural process: the purchase rates
    and the dropout the customers would have if no stockout ever met them;
    ``natural`` is that process as a plain :class:`BgNbdFit` (its
    ``log_likelihood`` is FHL 2005 eq. 6 at these parameters), for anything
    that should ignore stockouts. ``log_likelihood`` is the lapse model's own
    (see :func:`fit_bgnbd_with_lapse`). The methods take each customer's
    hazard c again, aligned with x, t_x and T.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: float
    converged: bool
    natural: BgNbdFit

    def p_alive(
        self,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,  # noqa: N803
        lapse_hazard: ArrayLike,
    ) -> F64:
        """P(neither dropped out nor lapsed by T | x, t_x, T, c)::

        P(alive) = 1 / (1 + δ(x>0) · (a/(b+x−1) + c)/(1−c) · ((α+T)/(α+t_x))^(r+x))

        the first term of the likelihood over the whole (derivation in
        :func:`fit_bgnbd_with_lapse`); with c = 0 it is FHL's (2008 note, eq. 2).
        """
        xs, t_xs, ts, cs = _with_hazard(x, t_x, T, lapse_hazard)
        return 1.0 / (1.0 + np.exp(np.minimum(self._log_end_odds(xs, t_xs, ts, cs), 700.0)))

    def p_lapsed(
        self,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,  # noqa: N803
        lapse_hazard: ArrayLike,
    ) -> F64:
        """P(the customer's last purchase was followed by a stockout lapse | x, t_x, T, c).

        The end term splits as B(a+1, b+x−1) (natural dropout, p) and c·B(a, b+x)
        (a lapse where the customer would have stayed, c(1−p)), so
        P(lapsed) = P(ended) · c / (a/(b+x−1) + c): the customers stockouts cost,
        counting none that would have left anyway.
        """
        xs, t_xs, ts, cs = _with_hazard(x, t_x, T, lapse_hazard)
        ended = 1.0 - 1.0 / (1.0 + np.exp(np.minimum(self._log_end_odds(xs, t_xs, ts, cs), 700.0)))
        natural_odds = self.a / (self.b + np.maximum(xs, 1.0) - 1.0)
        return np.asarray(np.where(xs > 0, ended * cs / (natural_odds + cs), 0.0), np.float64)

    def expected_transactions(
        self,
        t: ArrayLike,
        x: ArrayLike,
        t_x: ArrayLike,
        T: ArrayLike,  # noqa: N803
        lapse_hazard: ArrayLike,
    ) -> F64:
        """E[Y(t) | x, t_x, T, c] if no stockout meets the customer after T.

        Given alive at T, (λ, p) are Gamma(r+x, α+T) × Beta(a, b+x) as in the
        plain model ((1−c)^x does not depend on them), so this is P(alive)
        above times the numerator of FHL 2005 eq. (10): the value a customer
        keeps when the shelves are full.
        """
        horizon = as_float("t", t)
        if np.any(horizon < 0):
            raise ValueError("t must be >= 0 (a horizon after the end of observation)")
        xs, t_xs, ts, cs = _with_hazard(x, t_x, T, lapse_hazard)
        alive = 1.0 / (1.0 + np.exp(np.minimum(self._log_end_odds(xs, t_xs, ts, cs), 700.0)))
        return np.asarray(alive * self.natural._expected_if_alive(horizon, xs, ts), np.float64)

    def _log_end_odds(self, x: F64, t_x: F64, T: F64, c: F64) -> F64:  # noqa: N803
        """log P(ended)/P(alive), −∞ where x = 0 (no end before a repeat purchase)."""
        repeat = x > 0
        safe_x = np.where(repeat, x, 1.0)
        log_odds = (
            np.log(self.a / (self.b + safe_x - 1.0) + c)
            - np.log1p(-c)
            + (self.r + safe_x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x))
        )
        return np.where(repeat, log_odds, -np.inf)


def fit_bgnbd_with_lapse(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    lapse_hazard: ArrayLike,
    weights: ArrayLike | None = None,
) -> BgNbdLapseFit:
    """Fit the BG/NBD with a known stockout-lapse hazard c per customer.

    The model is FHL 2005's BG/NBD with one more way to leave: after each repeat
    purchase the customer drops out naturally with probability p (p ~ Beta(a, b))
    or, independently, lapses because of a stockout with probability c, a datum
    per customer (P(lapse | stockout met) × the chance that a purchase of theirs
    meets a stockout), not a parameter. While alive, purchases are Poisson(λ),
    λ ~ Gamma(r, α). A plain BG/NBD fitted to such customers reads the lapses as
    dropout, so its a/(a+b) is "dropout, all causes"; this fit's a/(a+b) is the
    natural dropout, what residual value should be priced at when stockouts are
    the cost being priced.

    **Likelihood.** Given λ and p, with x repeat purchases, the last at t_x, seen
    until T, each repeat purchase is survived with probability (1−p)(1−c):

    - alive at T: [(1−p)(1−c)]^x · λ^x e^(−λT);
    - left after purchase x (x > 0): [(1−p)(1−c)]^(x−1) · (p + c(1−p)) · λ^x e^(−λ t_x),
      since 1 − (1−p)(1−c) = p + c(1−p).

    Over p ~ Beta(a, b): E[(1−p)^x] = B(a, b+x)/B(a, b) and
    E[(1−p)^(x−1)·(p + c(1−p))] = (B(a+1, b+x−1) + c·B(a, b+x))/B(a, b); over
    λ ~ Gamma(r, α): E[λ^x e^(−λτ)] = Γ(r+x) α^r / (Γ(r) (α+τ)^(r+x)). So::

        L = Γ(r+x) α^r / Γ(r) · [ (1−c)^x · B(a, b+x)/B(a, b) / (α+T)^(r+x)
              + δ(x>0) · (1−c)^(x−1) · (B(a+1, b+x−1) + c·B(a, b+x))/B(a, b) / (α+t_x)^(r+x) ]

    With c = 0 each term is the matching term of FHL 2005 eq. (6). As there, a
    customer leaves only after a repeat purchase, so a customer with x = 0 has
    L = (α/(α+T))^r whatever c is: the hazard moves a and b, not the rate read
    from one-time buyers. (A lapse after the first order too, L = δ(x=0)·c +
    (1−c)·L, was tried on the demo store and moved both the rate and the
    dropout further from the truth; docs/customer-value.md has the figures.)

    **Fit.** As :func:`fit_bgnbd`: log-parameters by L-BFGS-B with the analytic
    gradient, identical (x, t_x, T, c) rows merged. It is a function of its own
    rather than a keyword of :func:`fit_bgnbd` because its answer is another
    model: P(alive) and the expected purchases need each customer's c, which a
    :class:`BgNbdFit` would silently ignore.
    """
    xs, t_xs, ts, w = _checked(x, t_x, T, weights)
    cs = as_float("lapse_hazard", lapse_hazard)
    same_length(x=xs, lapse_hazard=cs)
    require("lapse_hazard", (cs >= 0.0) & (cs < 1.0), "be a probability in [0, 1)")
    (xs, t_xs, ts, cs), w = dedupe_rows([xs, t_xs, ts, cs], w)
    (r, alpha, a, b), done = _maximise(_Data(xs, t_xs, ts, w, lapse=cs), xs, ts, w)
    n = float(np.sum(w))
    return BgNbdLapseFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(
            np.sum(w * bgnbd_lapse_log_likelihood(r, alpha, a, b, xs, t_xs, ts, cs))
        ),
        n_customers=n,
        converged=done,
        natural=BgNbdFit(
            r=r,
            alpha=alpha,
            a=a,
            b=b,
            log_likelihood=float(np.sum(w * bgnbd_log_likelihood(r, alpha, a, b, xs, t_xs, ts))),
            n_customers=n,
            converged=done,
        ),
    )


def bgnbd_lapse_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: F64,
    t_x: F64,
    T: F64,  # noqa: N803
    lapse_hazard: F64,
) -> F64:
    """Per-customer log-likelihood of the BG/NBD with lapse hazard c, in log space::

    L = Γ(r+x) α^r / Γ(r) · [ (1−c)^x · B(a, b+x)/B(a, b) / (α+T)^(r+x)
          + δ(x>0) · (1−c)^(x−1) · (B(a+1, b+x−1) + c·B(a, b+x))/B(a, b) / (α+t_x)^(r+x) ]

    (derived in :func:`fit_bgnbd_with_lapse`; c = 0 is :func:`bgnbd_log_likelihood`).
    """
    c = lapse_hazard
    common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    base = special.betaln(a, b)
    log_kept = np.log1p(-c)
    still_alive = x * log_kept + special.betaln(a, b + x) - base - (r + x) * np.log(alpha + T)
    safe_x = np.maximum(x, 1.0)
    ended = (
        (safe_x - 1.0) * log_kept
        + np.logaddexp(
            special.betaln(a + 1.0, b + safe_x - 1.0),
            np.log(np.maximum(c, 1e-300)) + special.betaln(a, b + safe_x),
        )
        - base
        - (r + x) * np.log(alpha + t_x)
    )
    ended = np.where(x > 0, ended, -np.inf)
    return np.asarray(common + np.logaddexp(still_alive, ended), dtype=np.float64)


def _with_hazard(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    lapse_hazard: ArrayLike,
) -> tuple[F64, F64, F64, F64]:
    """(x, t_x, T) checked as :func:`recency_frequency` does, and c in [0, 1), one shape."""
    xs, t_xs, ts = recency_frequency(x, t_x, T)
    cs = as_float("lapse_hazard", lapse_hazard)
    require("lapse_hazard", (cs >= 0.0) & (cs < 1.0), "be a probability in [0, 1)")
    xs, t_xs, ts, cs = np.broadcast_arrays(xs, t_xs, ts, cs)
    return xs, t_xs, ts, cs


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

    With a lapse hazard c per customer (:func:`fit_bgnbd_with_lapse`) the same
    split holds with A multiplied by (1−c)^x and
    d = log[a/(b+x−1) + c] − log(1−c) + (r+x)·log[(α+T)/(α+t_x)], so the odds
    a/(b+x−1) are computed per x and c is added row by row.
    """

    def __init__(self, x: F64, t_x: F64, T: F64, w: F64, lapse: F64 | None = None) -> None:  # noqa: N803
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
        # With a lapse hazard c per customer (see fit_bgnbd_with_lapse): x·log(1−c) is a
        # constant of the fit, and −log(1−c) enters d row by row.
        self.lapse: F64 | None = None
        self.log_survived = 0.0
        if lapse is not None:
            self.lapse = lapse[repeat]
            self.minus_log_kept = -np.log1p(-self.lapse)
            self.log_survived = -float(_dot(self.wx, self.minus_log_kept))

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
            log_at = np.log(alpha + self.T)
            log_atx = np.log(alpha + self.t_x)
            log_ratio = log_at - log_atx
            if self.lapse is None:
                odds_const = special.betaln(a + 1.0, b + xv - 1.0) - base - alive_const
                d = odds_const[self.group] + (r + xv)[self.group] * log_ratio
            else:
                # B(a+1, b+x−1)/B(a, b+x) = a/(b+x−1); the hazard adds c to these odds.
                spread = (b + xv - 1.0)[self.group]
                natural_odds = a / spread
                odds = natural_odds + self.lapse
                d = np.log(odds) + self.minus_log_kept + (r + xv)[self.group] * log_ratio
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
                + self.log_survived
            )
            w_dropped = w * share_dropped

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
            if self.lapse is None:
                w_dropped_by_x = sum_by_group(self.group, w_dropped, xv.size)
                w_alive_by_x = self.w_by_x - w_dropped_by_x
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
            else:
                # ∂log B(a, b+x)/B(a, b) plus P(dropped | data) · ∂d, with
                # ∂d/∂a = 1/((b+x−1)·odds) and ∂d/∂b = −(a/(b+x−1))/((b+x−1)·odds).
                d_odds = w_dropped / (spread * odds)
                d_a = float(
                    self.w_repeat_total * psi_ab - _dot(self.w_by_x, psi_abx) + d_odds.sum()
                )
                d_b = float(
                    self.w_repeat_total * (psi_ab - special.digamma(b))
                    + _dot(self.w_by_x, special.digamma(b + xv) - psi_abx)
                    - _dot(d_odds, natural_odds)
                )

        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b]) / self.w_total
        return -loglik / self.w_total, -grad


def _dot(u: F64, v: F64) -> float:
    """Σ u·v without BLAS: OpenBLAS threads for a 1-D dot stall a busy two-core machine."""
    return float(np.einsum("i,i->", u, v))
