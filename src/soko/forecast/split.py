"""Splitting a SKU's forecast to locations and channels by recent shares.

Top-down disaggregation by historical proportions (Gross & Sohl 1990, "Disaggregation
methods to expedite product line forecasting", method A): each part gets the SKU's mean
times its share of the SKU's recent demand, so the parts add up to the SKU total. A
part's quantiles are the SKU's quantiles times its share (comonotone parts), which
overstates a part's spread a little: the safe side for the stock it sets.
"""

from __future__ import annotations

import datetime as dt

import polars as pl


def recent_shares(
    demand: pl.DataFrame, part: list[str], *, since: dt.date, fallback: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``sku``, ``part...``, ``share``: each part's share of the SKU's demand since ``since``,
    falling back to the whole history, then to ``fallback`` (``sku``, ``part...``, ``share``)."""
    keys = ["sku", *part]

    def shares(frame: pl.DataFrame) -> pl.DataFrame:
        totals = frame.group_by(keys).agg(pl.col("y").sum()).filter(pl.col("y") > 0)
        return totals.with_columns(
            (pl.col("y") / pl.col("y").sum().over("sku")).alias("share")
        ).select(*keys, "share")

    recent = shares(demand.filter(pl.col("ds") >= since))
    everything = shares(demand).join(recent, on="sku", how="anti")
    out = pl.concat([recent, everything])
    if fallback is not None:
        out = pl.concat([out, fallback.join(out, on="sku", how="anti").select(out.columns)])
    return out
