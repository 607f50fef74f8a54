"""Claim: Soko's whole forecast of the large preset (≈33,000 SKU-level daily series, two
years) runs in under 15 minutes on a 2-core machine, at least 3× faster than fitting
AutoETS to every series, at equal or better accuracy.

The run: ``soko.data.generate.generate("large", 1)``; history cleaned from its import
frames (stock rebuilt, censored days estimated) exactly as ``demand_forecast`` does from
the store, with the campaign calendar (campaign index and the global model's features) and
the price index, then screening, backtest selection, conformal quantiles and the split to
channel × location (:func:`soko.forecast.service.forecast_history`). The last 28 days are
held out: both forecasts start on the day after and are scored by RMSSE against the
recorded SKU sales.

Baseline, in the same process: StatsForecast's ``AutoETS(season_length=7)`` on a 1,000-series
random sample of the same cleaned SKU histories (last three years at most, as Soko's models
see), timed and scaled linearly to the full series count (each fit is independent).
Accuracy is compared on that sample.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import resource
import time

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
from statsforecast import StatsForecast
from statsforecast.models import AutoETS

from soko.data.generate import generate
from soko.forecast.core import MAX_HISTORY
from soko.forecast.metrics import naive_scales, rmsse
from soko.forecast.service import build_history, forecast_history, list_prices

SEED = 1
HOLDOUT = 28
SAMPLE = 1_000


def store_frames(tables: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The frames ``load_history`` reads from the store, taken from the import frames."""
    lines = (
        tables["order_lines"]
        .with_columns(pl.col("ordered_at").cast(pl.Datetime).dt.date().alias("ds"))
        .group_by(
            pl.col("sku"),
            pl.col("location_code").alias("location"),
            pl.col("channel_code").alias("channel"),
            "ds",
            "kind",
        )
        .agg(
            pl.col("quantity").sum().cast(pl.Float64).alias("units"),
            (pl.col("quantity") * pl.col("unit_price")).sum().cast(pl.Float64).alias("list_value"),
        )
    )
    po = tables["purchase_orders"].select(
        "po_number", "sku", pl.col("location_code").alias("location")
    )
    receipts = (
        tables["receipts"]
        .join(po, on=["po_number", "sku"])
        .group_by("sku", "location", pl.col("received_on").cast(pl.Date).alias("ds"))
        .agg(pl.col("quantity").sum().alias("units"))
    )
    products = tables["products"]
    catalogue = products.select(
        "sku",
        pl.col("category").fill_null(""),
        "item_type",
        pl.col("season_start").cast(pl.Date),
        pl.col("season_end").cast(pl.Date),
        pl.col("price").cast(pl.Float64),
    )
    balances = tables["stock"].select(
        "sku", pl.col("location_code").alias("location"), "on_hand", "counted_at"
    )
    empty = pl.DataFrame(
        schema={"sku": pl.String, "location": pl.String, "ds": pl.Date, "units": pl.Float64}
    )
    return {
        "campaigns": tables["campaigns"].select(
            "campaign_code",
            pl.col("channel_code").alias("channel"),
            "kind",
            pl.col("starts_on").cast(pl.Date),
            pl.col("ends_on").cast(pl.Date),
            pl.col("discount_pct").cast(pl.Float64),
        ),
        "campaign_skus": tables["campaign_skus"].select("campaign_code", "sku"),
        "lines": lines,
        "catalogue": catalogue,
        "receipts": receipts,
        "adjustments": empty,
        "balances": balances,
        "tags": pl.DataFrame(schema={"sku": pl.String, "ds": pl.Date}),
        "plans": pl.DataFrame(),
    }


def main() -> None:
    cores = os.cpu_count()
    t0 = time.perf_counter()
    dataset = generate("large", SEED)
    t_generate = time.perf_counter() - t0
    frames = store_frames(dataset.tables)
    del dataset
    last = frames["lines"]["ds"].max()
    assert isinstance(last, dt.date)
    as_of = last - dt.timedelta(days=HOLDOUT - 1)
    t0 = time.perf_counter()
    calendar = {k: frames.pop(k) for k in ("campaigns", "campaign_skus")}
    prices = list_prices(frames["lines"], as_of=as_of)
    history = dataclasses.replace(build_history(**frames, as_of=as_of), **calendar, prices=prices)
    result = forecast_history(history, horizon_days=HOLDOUT)
    t_soko = time.perf_counter() - t0
    sku_daily = history.demand.group_by("sku", "ds").agg(pl.col("y").sum())
    first = history.catalogue.select("sku", "first_sale").drop_nulls()
    sku_daily = sku_daily.join(first, on="sku").filter(pl.col("ds") >= pl.col("first_sale"))
    n_series = result.series.filter(pl.col("history_days") > 0).height
    truth = (
        frames["lines"]
        .filter((pl.col("kind") == "sale") & (pl.col("ds") >= as_of))
        .group_by("sku", "ds")
        .agg(pl.col("units").sum().alias("y"))
    )
    established = result.series.filter(pl.col("history_days") >= 56)["sku"].to_numpy()
    rng = np.random.default_rng(SEED)
    sample = rng.choice(established, size=min(SAMPLE, established.size), replace=False)
    hist_sample = sku_daily.filter(pl.col("sku").is_in(sample.tolist()))
    recent = hist_sample.filter(pl.col("ds") > as_of - dt.timedelta(days=MAX_HISTORY + 1))
    pdf = (
        recent.select(pl.col("sku").alias("unique_id"), "ds", "y")
        .sort("unique_id", "ds")
        .to_pandas()
    )
    pdf["ds"] = pd.to_datetime(pdf["ds"])
    t0 = time.perf_counter()
    ets = StatsForecast(models=[AutoETS(season_length=7)], freq="D").forecast(df=pdf, h=HOLDOUT)
    t_ets_sample = time.perf_counter() - t0
    t_ets_scaled = t_ets_sample * n_series / len(sample)
    ets_pl = (
        pl.from_pandas(ets)
        .with_columns(pl.col("ds").cast(pl.Date), pl.col("AutoETS").clip(lower_bound=0.0))
        .rename({"unique_id": "sku"})
    )
    ours = result.daily.group_by("sku", "ds").agg(pl.col("mean").sum().alias("soko"))
    grid = pl.DataFrame({"sku": sample.tolist()}).join(
        pl.DataFrame(
            {"ds": pl.date_range(as_of, as_of + dt.timedelta(days=HOLDOUT - 1), eager=True)}
        ),
        how="cross",
    )
    table = (
        grid.join(truth, on=["sku", "ds"], how="left")
        .join(ours, on=["sku", "ds"], how="left")
        .join(ets_pl, on=["sku", "ds"], how="left")
        .with_columns(pl.col("y", "soko", "AutoETS").fill_null(0.0))
        .rename({"sku": "unique_id"})
    )
    scales = naive_scales(hist_sample.rename({"sku": "unique_id"}))
    scores = rmsse(table, scales, ["soko", "AutoETS"]).select(pl.col("soko", "AutoETS").mean())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"machine: {cores} cores; large preset seed {SEED} generated in {t_generate:.0f} s")
    print(f"series forecast: {n_series} SKUs, {result.daily.height:,} SKU × location × day rows")
    print(f"models chosen: {result.model_counts}")
    print(f"Soko whole forecast (clean, screen, backtest, quantiles, split): {t_soko:.0f} s")
    print(
        f"AutoETS on {len(sample)} series: {t_ets_sample:.0f} s "
        f"→ scaled to {n_series}: {t_ets_scaled:.0f} s"
    )
    print(f"speed-up: {t_ets_scaled / t_soko:.1f}×")
    print(
        f"holdout {HOLDOUT} days, mean RMSSE on the sample: Soko {scores['soko'][0]:.4f}, "
        f"AutoETS {scores['AutoETS'][0]:.4f}"
    )
    print(f"peak resident memory: {peak_gb:.1f} GB")


if __name__ == "__main__":
    main()
