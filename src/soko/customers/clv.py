"""Residual customer lifetime value: BG/NBD transactions × Gamma-Gamma spend × margin, discounted.

The combination follows Fader, Hardie & Lee (2005), "RFM and CLV: using
iso-value curves for customer base analysis", *JMR* 42(4):415–430, which
multiplies the expected number of future transactions by the expected value
per transaction (their eq. 2, valid because spend is independent of the
transaction process). Instead of their continuous-time discounted expected
transactions (which needs the Pareto/NBD), the horizon is cut into periods and
each period's expected transactions are discounted at its end, the usual
practical form (as in Fader & Hardie's spreadsheets and the ``lifetimes``
package).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from soko.customers._arrays import F64, ArrayLike, as_float, recency_frequency
from soko.customers.bgnbd import BgNbdFit
from soko.customers.gamma_gamma import GammaGammaFit


def clv(
    bgnbd_fit: BgNbdFit,
    gg_fit: GammaGammaFit,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,  # noqa: N803
    mean_spend: ArrayLike,
    *,
    horizon: float,
    margin: float,
    discount_rate: float,
    period: float,
) -> F64:
    """Discounted residual CLV of each customer over ``horizon``.

    With t_k = min(k·period, horizon) for k = 1 … K = ⌈horizon / period⌉::

        CLV = Σ_k (E[Y(t_k) | x, t_x, T] − E[Y(t_{k−1}) | x, t_x, T])
                  · E[Z | x, m_x] · margin / (1 + d)^k

    where E[Y(t) | …] is the BG/NBD conditional expectation (FHL 2005
    *Marketing Science* eq. 10), E[Z | x, m_x] the Gamma-Gamma expected spend
    (FHL 2005 *JMR* eq. 5; a customer with x = 0 gets the population mean),
    ``margin`` the share of revenue kept (0–1) and ``discount_rate`` d the rate
    per ``period``. ``horizon`` and ``period`` are in the time unit of t_x and
    T (e.g. weeks: ``horizon=52, period=52/12`` for a year discounted
    monthly). ``mean_spend`` is the mean value of the customer's repeat
    transactions (any finite number where x = 0).
    """
    if not (horizon > 0 and math.isfinite(horizon)):
        raise ValueError(f"horizon must be a positive number, got {horizon}")
    if not (period > 0 and math.isfinite(period)):
        raise ValueError(f"period must be a positive number, got {period}")
    if not 0.0 <= margin <= 1.0:
        raise ValueError(f"margin must be a share of revenue between 0 and 1, got {margin}")
    if not (discount_rate > -1.0 and math.isfinite(discount_rate)):
        raise ValueError(f"discount_rate must be > -1 per period, got {discount_rate}")
    xs, t_xs, ts = recency_frequency(x, t_x, T)
    spend = np.broadcast_to(as_float("mean_spend", mean_spend), xs.shape)
    value_per_transaction = gg_fit.expected_spend(xs, np.where(xs > 0, spend, 0.0)) * margin

    # Customers with the same (x, t_x, T) expect the same transactions: each history is
    # computed once (on the large demo preset, 285,000 histories for 489,000 customers).
    hx, ht_x, hts, inverse = _distinct_histories(xs.ravel(), t_xs.ravel(), ts.ravel())
    periods = math.ceil(horizon / period - 1e-9)
    total = np.zeros(hx.shape, dtype=np.float64)
    previous = np.zeros(hx.shape, dtype=np.float64)
    for k in range(1, periods + 1):
        cumulative = bgnbd_fit.expected_transactions(min(k * period, horizon), hx, ht_x, hts)
        total += (cumulative - previous) / (1.0 + discount_rate) ** k
        previous = cumulative
    discounted = total[inverse].reshape(xs.shape)
    return np.asarray(discounted * value_per_transaction, dtype=np.float64)


def _distinct_histories(
    x: F64,
    t_x: F64,
    T: F64,  # noqa: N803
) -> tuple[F64, F64, F64, npt.NDArray[np.intp]]:
    """The distinct (x, t_x, T) rows and, per input row, the index of its distinct row."""
    order = np.lexsort((T, t_x, x))
    sx, st_x, sT = x[order], t_x[order], T[order]  # noqa: N806
    new = np.ones(order.size, dtype=np.bool_)
    new[1:] = (sx[1:] != sx[:-1]) | (st_x[1:] != st_x[:-1]) | (sT[1:] != sT[:-1])
    inverse = np.empty(order.size, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return sx[new], st_x[new], sT[new], inverse
