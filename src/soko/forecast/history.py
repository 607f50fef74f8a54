"""History cleaning: days out of stock are not zero demand, and one-off spikes are not rhythm.

A day that ends with nothing on hand at a location that stocks the item is *censored*:
its sales are a lower bound of its demand (Nahmias 1994, "Demand estimation in lost
sales inventory systems"). Such a day's demand there is estimated as the larger of its
sales and the location's mean daily sales over the uncensored active days of the previous
``WINDOW`` days (a longer window when too few are clean); the rest of the history is kept.

Spikes are days far above the series' own recent level (``SPIKE_FACTOR`` times the
trailing mean and at least ``SPIKE_MIN_UNITS``): a TV mention or a bulk order. They are
flagged for review, and left out (replaced by the trailing level) only when a user tagged
them, because a flagged day may also be a real campaign peak.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

WINDOW = 28
LONG_WINDOW = 91
MIN_CLEAN_DAYS = 7
SPIKE_FACTOR = 8.0
SPIKE_MIN_UNITS = 10.0


def _trailing(values: F64, weights: F64, window: int) -> tuple[F64, F64]:
    """Sums of ``values·weights`` and of ``weights`` over the ``window`` days before each day
    (the day itself excluded), row by row of a (series × day) matrix."""
    zeros = np.zeros((values.shape[0], 1))
    cv = np.concatenate([zeros, np.cumsum(values * weights, axis=1)], axis=1)
    cw = np.concatenate([zeros, np.cumsum(weights, axis=1)], axis=1)
    days = values.shape[1]
    idx = np.arange(days)
    lo = np.maximum(idx - window, 0)
    return cv[:, idx] - cv[:, lo], cw[:, idx] - cw[:, lo]


def estimate_censored(sales: F64, censored: Bools, active: Bools) -> F64:
    """Demand per (series, day): sales, or on censored days the larger of sales and the
    trailing clean mean (``WINDOW`` days, else ``LONG_WINDOW``, else the series' clean mean)."""
    clean = (active & ~censored).astype(np.float64)
    s_short, n_short = _trailing(sales, clean, WINDOW)
    s_long, n_long = _trailing(sales, clean, LONG_WINDOW)
    total = (sales * clean).sum(axis=1, keepdims=True)
    count = clean.sum(axis=1, keepdims=True)
    overall = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.where(
            n_short >= MIN_CLEAN_DAYS,
            s_short / np.maximum(n_short, 1),
            np.where(n_long >= MIN_CLEAN_DAYS, s_long / np.maximum(n_long, 1), overall),
        )
    return np.where(censored & active, np.maximum(sales, level), sales)


def flag_spikes(y: F64) -> Bools:
    """Days whose value is ``SPIKE_FACTOR`` × the trailing ``LONG_WINDOW``-day mean and at
    least ``SPIKE_MIN_UNITS`` units (a one-off, for review)."""
    ones = np.ones_like(y)
    s, n = _trailing(y, ones, LONG_WINDOW)
    mean = s / np.maximum(n, 1)
    return (y >= SPIKE_MIN_UNITS) & (y > SPIKE_FACTOR * np.maximum(mean, 0.25)) & (n >= 28)


def replace_tagged(y: F64, tagged: Bools) -> F64:
    """Tagged spike days replaced by the trailing ``LONG_WINDOW``-day mean of untagged days."""
    keep = (~tagged).astype(np.float64)
    s, n = _trailing(y, keep, LONG_WINDOW)
    level = s / np.maximum(n, 1)
    return np.where(tagged, level, y)


def on_hand_end_of_day(final_on_hand: F64, net_flow: F64) -> F64:
    """On hand at the end of each day, rebuilt backwards from the last count:
    on_hand(d) = final − Σ_{t>d} net_flow(t), for a (series × day) matrix of net flows
    (receipts + returns + adjustments − sales) whose last column is the count's day."""
    after = np.cumsum(net_flow[:, ::-1], axis=1)[:, ::-1]
    later = np.concatenate([after[:, 1:], np.zeros((net_flow.shape[0], 1))], axis=1)
    on_hand: F64 = final_on_hand[:, None] - later
    return on_hand


def matrix(
    frame: pl.DataFrame, keys: list[str], value: str, key_order: pl.DataFrame, days: list[object]
) -> F64:
    """A (key × day) float matrix of ``value`` summed, rows in ``key_order``'s order."""
    out = np.zeros((key_order.height, len(days)))
    if frame.height == 0:
        return out
    day_index = pl.DataFrame({"ds": days, "_d": np.arange(len(days))}).with_columns(
        pl.col("ds").cast(pl.Date)
    )
    rows = key_order.with_row_index("_k")
    located = (
        frame.join(rows, on=keys)
        .join(day_index, on="ds")
        .group_by("_k", "_d")
        .agg(pl.col(value).sum())
    )
    np.add.at(
        out,
        (located["_k"].to_numpy(), located["_d"].to_numpy()),
        located[value].to_numpy().astype(np.float64),
    )
    return out
