"""Customer value (P2): RFM and segments, BG/NBD, Gamma-Gamma and CLV.

The pure core of customer value: numpy, SciPy and Polars in, numbers and
frames out; no database, no HTTP. The public API that planners' notebooks and
acceptance checks use::

    fit = fit_bgnbd(x, t_x, T)              # r, alpha, a, b, log_likelihood
    fit.expected_transactions(t, x, t_x, T)
    fit.p_alive(x, t_x, T)
    lapse = fit_bgnbd_with_lapse(x, t_x, T, c)  # c: each customer's stockout-lapse hazard
    lapse.natural                           # the BgNbdFit of the customers without stockouts
    lapse.p_alive(x, t_x, T, c); lapse.p_lapsed(x, t_x, T, c)
    spend = fit_gamma_gamma(x, mean_spend)  # p, q, gamma; every x > 0
    spend.expected_spend(x, mean_spend)
    clv(fit, spend, x, t_x, T, mean_spend, horizon=52, margin=0.3,
        discount_rate=0.01, period=52 / 12)

x counts repeat transactions (the first purchase excluded); t_x and T are in
the caller's time unit.
"""

from soko.customers.bgnbd import (
    BgNbdFit,
    BgNbdLapseFit,
    bgnbd_lapse_log_likelihood,
    bgnbd_log_likelihood,
    fit_bgnbd,
    fit_bgnbd_with_lapse,
)
from soko.customers.clv import clv
from soko.customers.cohorts import cohort_retention
from soko.customers.exposure import ShortageCost, shortage_cost
from soko.customers.gamma_gamma import GammaGammaFit, fit_gamma_gamma, gamma_gamma_log_likelihood
from soko.customers.rfm import SEGMENT_RULES, SEGMENTS, rfm_scores, segment_counts, segment_of
from soko.customers.summary import customer_summary, merge_same_day, purchase_metrics

__all__ = [
    "SEGMENTS",
    "SEGMENT_RULES",
    "BgNbdFit",
    "BgNbdLapseFit",
    "GammaGammaFit",
    "ShortageCost",
    "bgnbd_lapse_log_likelihood",
    "bgnbd_log_likelihood",
    "clv",
    "cohort_retention",
    "customer_summary",
    "fit_bgnbd",
    "fit_bgnbd_with_lapse",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "merge_same_day",
    "purchase_metrics",
    "rfm_scores",
    "segment_counts",
    "segment_of",
    "shortage_cost",
]
