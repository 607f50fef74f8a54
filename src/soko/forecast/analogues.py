"""New products: demand borrowed from analogous products until a SKU has history.

An analogue is a SKU of the same category and item type (staple or seasonal) whose price
lies within ``PRICE_BAND`` of the new SKU's and which has sold for at least ``LAUNCH_DAYS``
days. Its launch curve is its demand on each day since its launch (first sale, or season
start for a seasonal item). The new SKU's forecast is the mean launch curve of its
analogues, smoothed over a week: forecasting by analogy (Goodwin, Dyussekeneva & Meeran
2013, "The use of analogies in forecasting the annual sales of new electronics
products"). With fewer than ``MIN_ANALOGUES`` the price band is dropped; a buyer's sales
plan (販売計画数), when entered, replaces the analogy.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

PRICE_BAND = 0.3
LAUNCH_DAYS = 56
MIN_ANALOGUES = 3


def launch_curves(demand: pl.DataFrame, launches: pl.DataFrame, days: int) -> pl.DataFrame:
    """``sku``, ``k`` (day since launch, 0..days−1), ``y``: each SKU's demand by age.
    ``demand``: ``sku``, ``ds``, ``y``; ``launches``: ``sku``, ``launch`` (a date)."""
    grid = launches.join(pl.DataFrame({"k": list(range(days))}), how="cross").with_columns(
        (pl.col("launch") + pl.duration(days=pl.col("k"))).alias("ds")
    )
    return (
        grid.join(demand.select("sku", "ds", "y"), on=["sku", "ds"], how="left")
        .with_columns(pl.col("y").fill_null(0.0))
        .select("sku", "k", "y")
    )


def analogue_forecast(
    new: pl.DataFrame,
    catalogue: pl.DataFrame,
    demand: pl.DataFrame,
    *,
    as_of: dt.date,
    horizon: int,
) -> pl.DataFrame:
    """``sku``, ``ds``, ``mean``, ``analogues`` for each new SKU over ``horizon`` days from
    ``as_of``.

    ``new``: ``sku``, ``launch`` (the day it starts selling, on or after ``as_of`` or its
    first sale), ``category``, ``item_type``, ``price``. ``catalogue``: ``sku``,
    ``category``, ``item_type``, ``price``, ``launch`` (for every SKU that has launched).
    ``demand``: ``sku``, ``ds``, ``y`` (cleaned, before ``as_of``).
    """
    last = as_of - dt.timedelta(days=1)
    ages = catalogue.filter(pl.col("launch") <= last - dt.timedelta(days=LAUNCH_DAYS - 1))
    span = max(LAUNCH_DAYS, horizon)
    curves = launch_curves(demand, ages.select("sku", "launch"), span).with_columns(
        # Days past the history are unknown, not zero.
        pl.col("y")
    )
    known = ages.select("sku", "launch").join(pl.DataFrame({"k": list(range(span))}), how="cross")
    known = known.filter(pl.col("launch") + pl.duration(days=pl.col("k")) <= last).select(
        "sku", "k"
    )
    curves = curves.join(known, on=["sku", "k"], how="semi")
    rows: list[pl.DataFrame] = []
    for item in new.iter_rows(named=True):
        pool = ages.filter(
            (pl.col("category") == item["category"]) & (pl.col("item_type") == item["item_type"])
        )
        price = item["price"]
        if price:
            banded = pool.filter(
                (pl.col("price") >= price * (1 - PRICE_BAND))
                & (pl.col("price") <= price * (1 + PRICE_BAND))
            )
            if banded.height >= MIN_ANALOGUES:
                pool = banded
        if pool.height == 0:
            pool = ages.filter(pl.col("category") == item["category"])
        curve = (
            curves.join(pool.select("sku"), on="sku", how="semi")
            .group_by("k")
            .agg(pl.col("y").mean())
            .sort("k")
            .with_columns(pl.col("y").rolling_mean(7, min_samples=1, center=True))
        )
        days = pl.DataFrame(
            {"ds": pl.date_range(as_of, as_of + dt.timedelta(days=horizon - 1), eager=True)}
        ).with_columns((pl.col("ds") - pl.lit(item["launch"])).dt.total_days().alias("k"))
        tail = float(curve["y"].tail(28).mean() or 0.0) if curve.height else 0.0  # type: ignore[arg-type]
        path = (
            days.join(curve, on="k", how="left")
            .with_columns(
                pl.when(pl.col("k") < 0)
                .then(0.0)
                .otherwise(pl.col("y").fill_null(tail))
                .alias("mean")
            )
            .select(
                pl.lit(item["sku"]).alias("sku"),
                "ds",
                "mean",
                pl.lit(pool.height).alias("analogues"),
            )
        )
        rows.append(path)
    if not rows:
        return pl.DataFrame(
            schema={"sku": pl.String, "ds": pl.Date, "mean": pl.Float64, "analogues": pl.Int64}
        )
    return pl.concat(rows).with_columns(pl.col("analogues").cast(pl.Int64))
