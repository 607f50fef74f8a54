"""Demand forecast from the store: history from order lines, cleaned, forecast, split, kept.

The store shell around the pure core (:mod:`soko.forecast.core`): it reads sales, stock
flows and the catalogue, rebuilds each SKU × location's end-of-day stock to find the
days it was out (censored), estimates demand there, forecasts each SKU, fills new SKUs
from analogues or the buyer's sales plan, zeroes days outside a seasonal item's season,
and splits the result to locations (and channels) by recent shares.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, delete, func, select
from sqlalchemy import true as sa_true

from soko.forecast import history as hist_mod
from soko.forecast import prices as prices_mod
from soko.forecast.analogues import LAUNCH_DAYS, analogue_forecast
from soko.forecast.core import ForecastResult, quantile_column, run
from soko.forecast.features import (
    base_channel_shares,
    campaign_features,
    campaign_index,
    campaign_split,
    campaign_uplifts,
    channel_lifts,
)
from soko.forecast.metrics import coverage, naive_scales, scaled_pinball
from soko.forecast.split import recent_shares
from soko.settings import local_now
from soko.store.tables import (
    Balance,
    Campaign,
    CampaignSku,
    Channel,
    ForecastDaily,
    ForecastRun,
    ForecastSeries,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    SalesPlan,
    Sku,
    SpikeTag,
    StockAdjustment,
    table_of,
)

Progress = Callable[[str, int, int], None]

QUANTILES = (0.1, 0.5, 0.8, 0.9, 0.95)
Z_80 = 1.2815515655446004  # standard normal 90 % point: (q90 − q10) spans 2·Z_80·σ
SHARE_DAYS = 56


@dataclass(frozen=True)
class DemandForecast:
    """A demand forecast of every SKU, daily, per location.

    ``daily``: ``sku``, ``location``, ``ds``, ``mean`` (≥ 0), ``sd`` (the spread the
    calibrated 10–90 % interval implies, (q90 − q10) / (2 · 1.2816)), and whole-unit
    quantiles ``q10``, ``q50``, ``q80``, ``q90``, ``q95``. ``series``: per SKU ``sku``,
    ``model``, ``censored_days``, ``history_days``, ``scaled_error`` (backtest RMSSE),
    plus ``demand_class`` and ``spike_days``. ``accuracy``: per SKU backtest RMSSE of the
    chosen model, naive and seasonal naive, 80 % coverage and scaled pinball loss.
    ``by_channel``: ``sku``, ``channel``, ``location``, ``ds``, ``mean``.
    """

    daily: pl.DataFrame
    series: pl.DataFrame
    accuracy: pl.DataFrame
    as_of: dt.date
    by_channel: pl.DataFrame = field(default_factory=pl.DataFrame)
    model_counts: dict[str, int] = field(default_factory=dict)
    summary: dict[str, float | int | str | None] = field(default_factory=dict)
    history: pl.DataFrame = field(default_factory=pl.DataFrame)
    run_id: int | None = None


class NoSalesHistory(ValueError):
    """The store holds no sales to forecast from."""


@dataclass(frozen=True)
class StoreHistory:
    """What the store knows, as frames keyed by codes; ``demand`` is cleaned daily demand
    per SKU × location (``sales``, ``y``, ``censored``, ``spike``, ``tagged``)."""

    demand: pl.DataFrame
    by_channel: pl.DataFrame
    catalogue: pl.DataFrame
    plans: pl.DataFrame
    first_day: dt.date
    as_of: dt.date
    campaigns: pl.DataFrame = field(default_factory=pl.DataFrame)
    """``campaign_code``, ``channel`` (null: every channel), ``kind``, ``starts_on``,
    ``ends_on``, ``discount_pct``: past and planned campaigns."""
    campaign_skus: pl.DataFrame = field(default_factory=pl.DataFrame)
    """``campaign_code``, ``sku``: what each campaign covers (none listed: every SKU)."""
    prices: pl.DataFrame = field(default_factory=pl.DataFrame)
    """``sku``, ``ds``, ``price``: the mean list price (before line discounts) of each day's
    sales."""


def _frame(engine: Engine, statement: object) -> pl.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(statement)  # type: ignore[call-overload]
        rows = result.fetchall()
        columns = list(result.keys())
    data = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    return pl.DataFrame(data, strict=False) if rows else pl.DataFrame(schema=columns)


def load_history(
    engine: Engine, *, as_of: dt.date | None = None, sku: str | None = None
) -> StoreHistory:
    """Daily demand per SKU × location before ``as_of``, censored days estimated; with
    ``sku``, that SKU's only (the Forecast page's chart)."""

    def only(statement: Any) -> Any:
        return statement.where(Sku.code == sku) if sku is not None else statement

    with engine.connect() as conn:
        last = conn.execute(select(func.max(Order.ordered_at))).scalar_one_or_none()
    if last is None:
        raise NoSalesHistory("the store holds no orders: import sales first (soko import)")
    as_of = as_of or (last.date() + dt.timedelta(days=1))
    day = func.date(Order.ordered_at)
    lines = _frame(
        engine,
        only(
            select(
                Sku.code.label("sku"),
                Location.code.label("location"),
                Channel.code.label("channel"),
                day.label("ds"),
                OrderLine.kind,
                func.sum(OrderLine.quantity).label("units"),
                func.sum(OrderLine.quantity * OrderLine.unit_price).label("list_value"),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .join(Sku, Sku.id == OrderLine.sku_id)
            .join(Channel, Channel.id == Order.channel_id)
            .join(Location, Location.id == OrderLine.location_id)
            .group_by(Sku.code, Location.code, Channel.code, day, OrderLine.kind)
        ),
    )
    if lines.height == 0:
        raise NoSalesHistory("the store holds no order lines with a location")
    lines = lines.with_columns(
        pl.col("ds").cast(pl.String).str.to_date(),
        pl.col("units").cast(pl.Float64),
        pl.col("list_value").cast(pl.Float64),
    )
    if lines.filter(pl.col("ds") < as_of).height == 0:
        raise NoSalesHistory(f"the store holds no sales before {as_of}: nothing to learn from")
    catalogue = _frame(
        engine,
        select(
            Sku.code.label("sku"),
            Product.category,
            Product.item_type,
            Product.season_start,
            Product.season_end,
            Sku.price,
        ).join(Product, Product.id == Sku.product_id),
    ).with_columns(
        pl.col("price").cast(pl.Float64),
        pl.col("season_start").cast(pl.Date),
        pl.col("season_end").cast(pl.Date),
        pl.col("category").fill_null(""),
    )
    receipts = _frame(
        engine,
        only(
            select(
                Sku.code.label("sku"),
                Location.code.label("location"),
                Receipt.received_on.label("ds"),
                func.sum(Receipt.quantity).label("units"),
            )
            .join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.purchase_order_line_id)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
            .join(Location, Location.id == PurchaseOrder.location_id)
            .group_by(Sku.code, Location.code, Receipt.received_on)
        ),
    )
    adjustments = _frame(
        engine,
        only(
            select(
                Sku.code.label("sku"),
                Location.code.label("location"),
                func.date(StockAdjustment.adjusted_at).label("ds"),
                func.sum(StockAdjustment.quantity).label("units"),
            )
            .join(Sku, Sku.id == StockAdjustment.sku_id)
            .join(Location, Location.id == StockAdjustment.location_id)
            .group_by(Sku.code, Location.code, func.date(StockAdjustment.adjusted_at))
        ),
    )
    balances = _frame(
        engine,
        select(
            Sku.code.label("sku"),
            Location.code.label("location"),
            Balance.on_hand,
            Balance.counted_at,
        )
        .join(Sku, Sku.id == Balance.sku_id)
        .join(Location, Location.id == Balance.location_id)
        .where(Sku.code == sku if sku is not None else sa_true()),
    )
    # Days reviewed as real demand stay in the history; only one-offs are left out.
    tags = _frame(
        engine,
        select(Sku.code.label("sku"), SpikeTag.day.label("ds"))
        .join(Sku, Sku.id == SpikeTag.sku_id)
        .where(SpikeTag.leave_out),
    )
    plans = _frame(
        engine,
        select(Sku.code.label("sku"), SalesPlan.starts_on, SalesPlan.ends_on, SalesPlan.units).join(
            Sku, Sku.id == SalesPlan.sku_id
        ),
    )
    history = build_history(
        lines, catalogue, receipts, adjustments, balances, tags, plans, as_of=as_of
    )
    history = dataclasses.replace(history, prices=list_prices(lines, as_of=as_of))
    campaigns = _frame(
        engine,
        select(
            Campaign.code.label("campaign_code"),
            Channel.code.label("channel"),
            Campaign.kind,
            Campaign.starts_on,
            Campaign.ends_on,
            Campaign.discount_pct,
        ).outerjoin(Channel, Channel.id == Campaign.channel_id),
    )
    if campaigns.height == 0:
        return history
    covered = _frame(
        engine,
        select(Campaign.code.label("campaign_code"), Sku.code.label("sku"))
        .select_from(CampaignSku)
        .join(Campaign, Campaign.id == CampaignSku.campaign_id)
        .join(Sku, Sku.id == CampaignSku.sku_id),
    )
    campaigns = _dates(campaigns, "starts_on", "ends_on").with_columns(
        pl.col("channel").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.col("discount_pct").cast(pl.Float64),
    )
    if covered.height == 0:
        covered = pl.DataFrame(schema={"campaign_code": pl.String, "sku": pl.String})
    return dataclasses.replace(history, campaigns=campaigns, campaign_skus=covered)


def list_prices(lines: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Each SKU's mean list price per day of sales before ``as_of`` (``lines``: ``sku``,
    ``ds``, ``kind``, ``units`` and ``list_value``, Σ units × unit price)."""
    return (
        lines.filter((pl.col("kind") == "sale") & (pl.col("ds") < as_of) & (pl.col("units") > 0))
        .group_by("sku", "ds")
        .agg((pl.col("list_value").sum() / pl.col("units").sum()).alias("price"))
        .filter(pl.col("price") > 0)
    )


def _dates(frame: pl.DataFrame, *cols: str) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    return frame.with_columns(
        pl.col(c).cast(pl.String).str.slice(0, 10).str.to_date() for c in cols
    )


def build_history(
    lines: pl.DataFrame,
    catalogue: pl.DataFrame,
    receipts: pl.DataFrame,
    adjustments: pl.DataFrame,
    balances: pl.DataFrame,
    tags: pl.DataFrame,
    plans: pl.DataFrame,
    *,
    as_of: dt.date,
) -> StoreHistory:
    """The cleaning step on plain frames (see :mod:`soko.forecast.history`)."""
    first = lines["ds"].min()
    assert isinstance(first, dt.date)
    last_sale = lines["ds"].max()
    assert isinstance(last_sale, dt.date)
    count_day = max(as_of - dt.timedelta(days=1), last_sale)
    if balances.height:
        balances = _dates(balances, "counted_at")
        counted = balances["counted_at"].drop_nulls().max()
        if isinstance(counted, dt.date):
            count_day = max(count_day, counted)
    days: list[object] = list(pl.date_range(first, count_day, eager=True).to_list())
    sales = lines.filter(pl.col("kind") == "sale")
    returns = lines.filter(pl.col("kind") == "return")
    keys = (
        pl.concat(
            [
                sales.select("sku", "location"),
                receipts.select("sku", "location")
                if receipts.height
                else sales.select("sku", "location").clear(),
                balances.select("sku", "location")
                if balances.height
                else sales.select("sku", "location").clear(),
            ]
        )
        .unique()
        .sort("sku", "location")
    )
    k = ["sku", "location"]
    sold = hist_mod.matrix(sales.rename({"units": "y"}), k, "y", keys, days)
    net = -sold + hist_mod.matrix(returns.rename({"units": "y"}), k, "y", keys, days)
    if receipts.height:
        net += hist_mod.matrix(
            _dates(receipts, "ds").with_columns(pl.col("units").cast(pl.Float64)),
            k,
            "units",
            keys,
            days,
        )
    if adjustments.height:
        net += hist_mod.matrix(
            _dates(adjustments, "ds").with_columns(pl.col("units").cast(pl.Float64)),
            k,
            "units",
            keys,
            days,
        )
    final = np.zeros(keys.height)
    if balances.height:
        b = keys.with_row_index("_k").join(balances, on=k)
        final[b["_k"].to_numpy()] = b["on_hand"].to_numpy().astype(np.float64)
    on_hand = hist_mod.on_hand_end_of_day(final, net)
    # Active: from the key's first sale or receipt on, and inside its product's season.
    touched = (sold > 0) | (net > 0)
    started = np.maximum.accumulate(touched, axis=1)
    season = keys.join(catalogue.select("sku", "season_start", "season_end"), on="sku", how="left")
    day_arr = np.array(days, dtype="datetime64[D]")
    starts = season["season_start"].to_numpy().astype("datetime64[D]")
    ends = season["season_end"].to_numpy().astype("datetime64[D]")
    in_season = np.ones_like(started)
    has = ~np.isnat(starts)
    in_season[has] = (day_arr[None, :] >= starts[has, None]) & (day_arr[None, :] <= ends[has, None])
    active = started & in_season
    censored = active & (on_hand <= 0)
    estimated = hist_mod.estimate_censored(sold, censored, active)
    tagged = np.zeros_like(censored)
    if tags.height:
        tag_frame = _dates(tags, "ds").join(keys, on="sku").with_columns(pl.lit(1.0).alias("t"))
        tagged = hist_mod.matrix(tag_frame, k, "t", keys, days) > 0
    spikes = hist_mod.flag_spikes(sold)
    cleaned = hist_mod.replace_tagged(estimated, tagged)
    n_keys, n_days = sold.shape
    del net, on_hand, touched, started, in_season, estimated
    # Integer keys first, codes joined after: no per-row Python strings on large stores.
    demand = (
        pl.DataFrame(
            {
                "_k": np.repeat(np.arange(n_keys, dtype=np.int32), n_days),
                "ds": np.tile(day_arr, n_keys),
                "sales": sold.ravel(),
                "y": cleaned.ravel(),
                "censored": censored.ravel(),
                "spike": spikes.ravel(),
                "tagged": tagged.ravel(),
                "active": active.ravel(),
            }
        )
        .with_columns(pl.col("ds").cast(pl.Date))
        .filter(pl.col("ds") < as_of)
        .join(keys.with_row_index("_k").with_columns(pl.col("_k").cast(pl.Int32)), on="_k")
        .select("sku", "location", "ds", "sales", "y", "censored", "spike", "tagged", "active")
    )
    del sold, cleaned, censored, spikes, tagged, active
    demand = demand.filter(pl.col("ds") < as_of)
    by_channel = (
        sales.filter(pl.col("ds") < as_of)
        .rename({"units": "y"})
        .select("sku", "location", "channel", "ds", "y")
    )
    launches = sales.group_by("sku").agg(pl.col("ds").min().alias("first_sale"))
    catalogue = catalogue.join(launches, on="sku", how="left")
    plans = _dates(plans, "starts_on", "ends_on") if plans.height else plans
    return StoreHistory(demand, by_channel, catalogue, plans, first, as_of)


def _sd(q10: pl.Expr, q90: pl.Expr) -> pl.Expr:
    return ((q90 - q10) / (2 * Z_80)).clip(lower_bound=0.0)


def demand_forecast(
    engine: Engine,
    *,
    as_of: dt.date | None = None,
    horizon_days: int = 91,
    progress: Progress | None = None,
    partitions: int | None = None,
) -> DemandForecast:
    """Forecast every SKU's daily demand at each location for ``horizon_days`` from
    ``as_of`` (default: the day after the last order). ``partitions`` runs the model
    fits on Dask (a distributed client, if one is active, else Dask's local scheduler)."""
    report = progress or (lambda _s, _d, _t: None)
    report("history", 0, 1)
    store = load_history(engine, as_of=as_of)
    return forecast_history(
        store, horizon_days=horizon_days, progress=progress, partitions=partitions
    )


def forecast_history(
    store: StoreHistory,
    *,
    horizon_days: int = 91,
    progress: Progress | None = None,
    partitions: int | None = None,
) -> DemandForecast:
    """The forecast of :func:`demand_forecast` from an already loaded history."""
    report = progress or (lambda _s, _d, _t: None)
    as_of = store.as_of
    demand = store.demand
    sku_daily = (
        demand.group_by("sku", "ds")
        .agg(
            pl.col("y").sum(),
            pl.col("sales").sum(),
            pl.col("censored").any(),
            pl.col("spike").any(),
            pl.col("active").any(),
        )
        .sort("sku", "ds")
    )
    first_sale = store.catalogue.select("sku", "first_sale").drop_nulls()
    # A SKU's history starts at its first sale.
    sku_daily = sku_daily.join(first_sale, on="sku").filter(pl.col("ds") >= pl.col("first_sale"))
    lengths = sku_daily.group_by("sku").agg(
        pl.len().alias("history_days"),
        pl.col("censored").sum().alias("censored_days"),
        pl.col("spike").sum().alias("spike_days"),
    )
    established = lengths.filter(pl.col("history_days") >= LAUNCH_DAYS).select("sku")
    nixtla = sku_daily.join(established, on="sku", how="semi").select(
        pl.col("sku").alias("unique_id"), "ds", "y"
    )

    def staged(stage: str, done: int, total: int) -> None:
        report(f"forecast: {stage}", done, total)

    future = calendar = lifts = None
    if nixtla.height and store.campaigns.height:
        nixtla, future, calendar, lifts = _with_campaigns(
            store, nixtla, store.catalogue["sku"], horizon_days
        )
    pricing: dict[str, float | int | str | None] = {}
    if nixtla.height and store.prices.height:
        nixtla, future, calendar, pricing = _with_prices(
            store, sku_daily, nixtla, future, calendar, horizon_days
        )
    if nixtla.height:
        result = run(
            nixtla,
            horizon_days,
            quantiles=QUANTILES,
            partitions=partitions,
            progress=staged,
            future=future,
            calendar=calendar,
        )
    else:  # every SKU is new: analogues and sales plans only
        result = _no_established(horizon_days)
    report("new products", 0, 1)
    qcols = [quantile_column(q) for q in QUANTILES]
    fc = result.forecast.rename({"unique_id": "sku"})
    # New SKUs: those with too little history, and SKUs whose season starts in the horizon.
    end = as_of + dt.timedelta(days=horizon_days - 1)
    cat = store.catalogue
    new = cat.join(established, on="sku", how="anti").with_columns(
        pl.coalesce(
            pl.col("first_sale"),
            pl.when(pl.col("season_start") >= as_of).then(pl.col("season_start")),
            pl.lit(as_of),
        ).alias("launch")
    )
    new = new.filter(pl.col("season_end").is_null() | (pl.col("season_end") >= as_of)).filter(
        pl.col("launch") <= end
    )
    analog_cat = cat.with_columns(
        pl.coalesce(
            pl.when(pl.col("season_start") <= pl.col("first_sale")).then(pl.col("season_start")),
            pl.col("first_sale"),
        ).alias("launch")
    ).filter(pl.col("launch").is_not_null())
    sku_demand = sku_daily.select("sku", "ds", "y")
    analog = analogue_forecast(
        new.select("sku", "launch", "category", "item_type", "price"),
        analog_cat.select("sku", "category", "item_type", "price", "launch"),
        sku_demand,
        as_of=as_of,
        horizon=horizon_days,
    )
    if store.plans.height:
        planned = store.plans.with_columns(
            (
                pl.col("units") / ((pl.col("ends_on") - pl.col("starts_on")).dt.total_days() + 1)
            ).alias("per_day")
        ).join(new.select("sku"), on="sku", how="semi")
        plan_days = (
            analog.select("sku", "ds")
            .join(planned, on="sku")
            .filter((pl.col("ds") >= pl.col("starts_on")) & (pl.col("ds") <= pl.col("ends_on")))
            .group_by("sku", "ds")
            .agg(pl.col("per_day").sum())
        )
        analog = (
            analog.join(plan_days, on=["sku", "ds"], how="left")
            .with_columns(
                pl.coalesce(pl.col("per_day"), pl.col("mean")).alias("mean"),
                pl.when(pl.col("sku").is_in(planned["sku"].implode()))
                .then(pl.lit("SalesPlan"))
                .otherwise(pl.lit("Analogue"))
                .alias("model"),
            )
            .drop("per_day")
        )
    else:
        analog = analog.with_columns(pl.lit("Analogue").alias("model"))
    if analog.height and calendar is not None:
        # A new SKU meets the planned campaigns too, at the store's channel mix.
        analog = (
            analog.join(calendar.rename({"unique_id": "sku"}), on=["sku", "ds"], how="left")
            .with_columns((pl.col("mean") * pl.col("cidx").fill_null(1.0)).alias("mean"))
            .drop("cidx")
        )
    if analog.height:
        from scipy import stats

        mu = np.maximum(analog["mean"].to_numpy(), 0.0)
        analog = analog.with_columns(
            pl.Series(
                quantile_column(q), stats.poisson.ppf(q, np.maximum(mu, 1e-12)).astype(np.float64)
            )
            for q in QUANTILES
        )
        fc = pl.concat([fc, analog.select(fc.columns)])
    fc = fc.with_columns(pl.col(c).clip(lower_bound=0.0) for c in ["mean", *qcols])
    # Outside its season a seasonal item sells nothing.
    fc = fc.join(
        cat.select("sku", "season_start", "season_end"), on="sku", how="left"
    ).with_columns(
        (
            pl.col("season_start").is_null()
            | ((pl.col("ds") >= pl.col("season_start")) & (pl.col("ds") <= pl.col("season_end")))
        ).alias("_in")
    )
    fc = fc.with_columns(
        pl.when(pl.col("_in")).then(pl.col(c)).otherwise(0.0).alias(c) for c in ["mean", *qcols]
    ).drop("season_start", "season_end", "_in")
    report("split", 0, 1)
    since = as_of - dt.timedelta(days=SHARE_DAYS)
    loc_demand = demand.select("sku", "location", "ds", "y")
    category_loc = (
        loc_demand.filter(pl.col("ds") >= since)
        .join(cat.select("sku", "category"), on="sku")
        .group_by("category", "location")
        .agg(pl.col("y").sum())
        .filter(pl.col("y") > 0)
        .with_columns((pl.col("y") / pl.col("y").sum().over("category")).alias("share"))
    )
    fallback = (
        cat.select("sku", "category")
        .join(category_loc.select("category", "location", "share"), on="category")
        .select("sku", "location", "share")
    )
    loc_shares = recent_shares(loc_demand, ["location"], since=since, fallback=fallback)
    by_day = None
    if lifts is not None and lifts.height:
        mix = (
            store.by_channel.filter(pl.col("ds") >= since)
            .group_by("sku", "location", "channel")
            .agg(pl.col("y").sum())
            .filter(pl.col("y") > 0)
            .with_columns((pl.col("y") / pl.col("y").sum().over("sku")).alias("share"))
            .drop("y")
        )
        by_day = campaign_split(loc_shares, mix, lifts)
    daily = fc.join(loc_shares, on="sku")
    if by_day is not None:
        # On a campaign day the split follows the channels the campaign lifts.
        marked = by_day.select("sku", "ds").unique().with_columns(pl.lit(True).alias("_c"))
        daily = (
            daily.join(marked, on=["sku", "ds"], how="left")
            .join(by_day.rename({"share": "_day"}), on=["sku", "location", "ds"], how="left")
            .with_columns(
                pl.when(pl.col("_c"))
                .then(pl.col("_day").fill_null(0.0))
                .otherwise(pl.col("share"))
                .alias("share")
            )
            .drop("_c", "_day")
        )
    daily = daily.with_columns(
        (pl.col("mean") * pl.col("share")).alias("mean"),
        *((pl.col(c) * pl.col("share")).alias(c) for c in qcols),
    )
    daily = daily.select(
        "sku",
        "location",
        "ds",
        "mean",
        _sd(pl.col(quantile_column(0.1)), pl.col(quantile_column(0.9))).alias("sd"),
        *(
            (
                (pl.col(quantile_column(q)) + 1e-9).floor()
                if q < 0.5
                else (pl.col(quantile_column(q)) - 1e-9).ceil()
            )
            .clip(lower_bound=0)
            .cast(pl.Int64)
            .alias(f"q{round(q * 100)}")
            for q in QUANTILES
        ),
    ).sort("sku", "location", "ds")
    ch_shares = (
        recent_shares(
            store.by_channel.select("sku", "location", "channel", "ds", "y").with_columns(
                pl.concat_str("sku", pl.lit("\x1f"), "location").alias("sku")
            ),
            ["channel"],
            since=since,
        )
        .with_columns(pl.col("sku").str.split("\x1f").list.to_struct(fields=["s", "location"]))
        .unnest("sku")
        .rename({"s": "sku"})
    )
    by_channel = (
        daily.select("sku", "location", "ds", "mean")
        .join(ch_shares, on=["sku", "location"])
        .select(
            "sku", "channel", "location", "ds", (pl.col("mean") * pl.col("share")).alias("mean")
        )
    )
    report("accuracy", 0, 1)
    series = (
        cat.select("sku")
        .join(lengths, on="sku", how="left")
        .join(
            result.series.select(
                pl.col("unique_id").alias("sku"),
                "model",
                "demand_class",
                "scaled_error",
                "naive",
                "seasonal_naive",
            ),
            on="sku",
            how="left",
        )
        .join(
            analog.select("sku", pl.col("model").alias("_m")).unique("sku")
            if analog.height
            else pl.DataFrame(schema={"sku": pl.String, "_m": pl.String}),
            on="sku",
            how="left",
        )
        .with_columns(
            pl.coalesce("model", "_m", pl.lit("None")).alias("model"),
            pl.col("demand_class").fill_null("new"),
            pl.col("history_days").fill_null(0),
            pl.col("censored_days").fill_null(0),
            pl.col("spike_days").fill_null(0),
        )
        .drop("_m")
        .sort("sku")
    )
    accuracy, summary = accuracy_report(result, nixtla)
    summary |= pricing
    report("done", 1, 1)
    return DemandForecast(
        daily=daily,
        series=series.select(
            "sku",
            "model",
            "censored_days",
            "history_days",
            "scaled_error",
            "demand_class",
            "spike_days",
            "naive",
            "seasonal_naive",
        ),
        accuracy=accuracy,
        as_of=as_of,
        by_channel=by_channel,
        model_counts=dict(series.group_by("model").len().iter_rows()),
        summary=summary,
        history=sku_daily.select("sku", "ds", "sales", "y", "censored", "spike"),
    )


def _with_campaigns(
    store: StoreHistory, nixtla: pl.DataFrame, every_sku: pl.Series, horizon_days: int
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The history with its campaign features, the same features over the horizon, the
    campaign index of ``every_sku`` over both and the horizon's lift per channel
    (:mod:`soko.forecast.features`): past campaigns teach their lift, planned ones raise
    the forecast in their window and move it toward the channels they lift."""
    as_of = store.as_of
    ids = nixtla["unique_id"].unique()
    sales = store.by_channel.group_by("sku", "channel", "ds").agg(pl.col("y").sum())
    all_shares = base_channel_shares(sales, store.campaigns, every_sku, as_of=as_of)
    shares = all_shares.join(ids.to_frame("sku"), on="sku", how="semi")
    first = nixtla["ds"].min()
    assert isinstance(first, dt.date)
    last = as_of + dt.timedelta(days=horizon_days - 1)
    feats = campaign_features(
        store.campaigns, store.campaign_skus, shares, first=first, last=last
    ).rename({"sku": "unique_id"})
    uplifts = campaign_uplifts(sales, store.campaigns, store.campaign_skus, as_of=as_of)
    lifts = channel_lifts(
        uplifts,
        store.campaigns,
        store.campaign_skus,
        every_sku,
        sorted(sales["channel"].unique().to_list()),
        first=first,
        last=last,
    )
    calendar = campaign_index(lifts, all_shares).rename({"sku": "unique_id"})
    future = _horizon(ids, as_of, last)
    return (
        _with_features(nixtla, feats),
        _with_features(future, feats),
        calendar,
        lifts.filter(pl.col("ds") >= as_of),
    )


def _horizon(ids: pl.Series, as_of: dt.date, last: dt.date) -> pl.DataFrame:
    """``unique_id`` × ``ds`` for every series and day from ``as_of`` to ``last``."""
    days = pl.date_range(as_of, last, eager=True).to_frame("ds")
    return ids.to_frame("unique_id").join(days, how="cross")


def _with_features(frame: pl.DataFrame, feats: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with the feature columns of ``feats`` (keyed by ``unique_id``, ``ds``);
    days ``feats`` leaves out take 0."""
    names = [c for c in feats.columns if c not in ("unique_id", "ds")]
    return frame.join(feats, on=["unique_id", "ds"], how="left").with_columns(
        pl.col(names).fill_null(0.0)
    )


def _with_prices(
    store: StoreHistory,
    sku_daily: pl.DataFrame,
    nixtla: pl.DataFrame,
    future: pl.DataFrame | None,
    calendar: pl.DataFrame | None,
    horizon_days: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, dict[str, float | int | str | None]]:
    """The history and horizon with the ``price`` feature of the global model (log of the
    day's list price over the last one, which the horizon holds), the calendar multiplied by
    the price index, and what was measured (:mod:`soko.forecast.prices`)."""
    as_of = store.as_of
    first = nixtla["ds"].min()
    assert isinstance(first, dt.date)
    last = as_of + dt.timedelta(days=horizon_days - 1)
    ids = nixtla["unique_id"].unique()
    by_category, overall, moves = prices_mod.elasticities(
        sku_daily.select("sku", "ds", "y", "active"), store.prices, store.catalogue
    )
    per_sku = (
        store.catalogue.select("sku", pl.col("category").fill_null(""))
        .join(by_category, on="category", how="left")
        .select("sku", pl.col("elasticity").fill_null(overall))
    )
    relative = prices_mod.relative_prices(
        store.prices.join(ids.to_frame("sku"), on="sku", how="semi"),
        first=first,
        last=as_of - dt.timedelta(days=1),
    )
    index = prices_mod.price_index(relative, per_sku).rename({"sku": "unique_id"})
    relative = relative.rename({"sku": "unique_id"})
    if calendar is None:
        calendar = index.rename({"pidx": "cidx"})
    else:
        calendar = calendar.join(index, on=["unique_id", "ds"], how="full", coalesce=True).select(
            "unique_id",
            "ds",
            (pl.col("cidx").fill_null(1.0) * pl.col("pidx").fill_null(1.0)).alias("cidx"),
        )
    if future is None:
        future = _horizon(ids, as_of, last)
    pricing: dict[str, float | int | str | None] = {
        "price_moves": moves,
        # None: too few moves to measure, and price moves nothing.
        "price_elasticity": round(overall, 3) if moves >= prices_mod.MIN_MOVES else None,
    }
    return _with_features(nixtla, relative), _with_features(future, relative), calendar, pricing


def _no_established(horizon_days: int) -> ForecastResult:
    schema: dict[str, pl.DataType] = {
        "unique_id": pl.String(),
        "ds": pl.Date(),
        "mean": pl.Float64(),
        "model": pl.String(),
    }
    schema.update({quantile_column(q): pl.Float64() for q in QUANTILES})
    return ForecastResult(
        forecast=pl.DataFrame(schema=schema),
        series=pl.DataFrame(
            schema={
                "unique_id": pl.String,
                "history_days": pl.UInt32,
                "demand_class": pl.String,
                "model": pl.String,
                "scaled_error": pl.Float64,
                "naive": pl.Float64,
                "seasonal_naive": pl.Float64,
            }
        ),
        backtest=pl.DataFrame(),
        model_counts={},
        expensive_groups=(),
        quantiles=QUANTILES,
    )


ACCURACY = ("scaled_error", "naive", "seasonal_naive", "coverage_80", "scaled_pinball")
"""The overall figures of :func:`accuracy_report`; None when nothing could be backtested."""


def accuracy_report(
    result: ForecastResult, history: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, float | int | str | None]]:
    """Per SKU and overall: backtest RMSSE of the chosen model against naive and seasonal
    naive, the 80 % interval's coverage and the scaled pinball loss of the quantiles."""
    bt = result.backtest
    if bt.height == 0:
        empty = pl.DataFrame(schema={"sku": pl.String} | dict.fromkeys(ACCURACY, pl.Float64))
        return empty, {"series": 0} | dict.fromkeys(ACCURACY)
    scales = naive_scales(history)
    lo, hi = quantile_column(0.1), quantile_column(0.9)
    rounded = bt.with_columns((pl.col(lo) + 1e-9).floor(), (pl.col(hi) - 1e-9).ceil())
    cov = rounded.group_by("unique_id").agg(
        ((pl.col("y") >= pl.col(lo)) & (pl.col("y") <= pl.col(hi))).mean().alias("coverage_80")
    )
    spl = scaled_pinball(bt, scales, {q: quantile_column(q) for q in result.quantiles})
    per = (
        result.series.select("unique_id", "scaled_error", "naive", "seasonal_naive")
        .join(cov, on="unique_id", how="left")
        .join(spl.rename({"spl": "scaled_pinball"}), on="unique_id", how="left")
        .rename({"unique_id": "sku"})
        .sort("sku")
    )

    def mean(col: str) -> float | None:
        value = per[col].drop_nulls().drop_nans().mean()
        return None if value is None else float(value)  # type: ignore[arg-type]

    summary: dict[str, float | int | str | None] = {
        "series": per.height,
        "scaled_error": mean("scaled_error"),
        "naive": mean("naive"),
        "seasonal_naive": mean("seasonal_naive"),
        "coverage_80": coverage(rounded, lo, hi),
        "scaled_pinball": mean("scaled_pinball"),
    }
    return per, summary


def _clean(value: object) -> object:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def save_forecast(
    engine: Engine, forecast: DemandForecast, *, plan_run_id: int | None = None
) -> int:
    """Keep a forecast in the store as a forecast run; returns its id."""
    from soko.store import bulk

    with engine.begin() as conn:
        run_id = conn.execute(
            table_of(ForecastRun)
            .insert()
            .values(
                created_at=local_now(),
                as_of=forecast.as_of,
                horizon_days=int(forecast.daily["ds"].n_unique()) if forecast.daily.height else 0,
                plan_run_id=plan_run_id,
                model_counts={str(k): int(v) for k, v in forecast.model_counts.items()},
                summary={k: _clean(v) for k, v in forecast.summary.items()},
            )
            .returning(table_of(ForecastRun).c.id)
        ).scalar_one()
        skus = pl.DataFrame(
            [tuple(r) for r in conn.execute(select(Sku.code, Sku.id)).fetchall()],
            schema=["sku", "sku_id"],
            orient="row",
        )
        locs = pl.DataFrame(
            [tuple(r) for r in conn.execute(select(Location.code, Location.id)).fetchall()],
            schema=["location", "location_id"],
            orient="row",
        )
        series = forecast.series.join(skus, on="sku").select(
            pl.lit(run_id).alias("run_id"),
            "sku_id",
            "model",
            "demand_class",
            pl.col("history_days").cast(pl.Int64),
            pl.col("censored_days").cast(pl.Int64),
            pl.col("spike_days").cast(pl.Int64),
            pl.col("scaled_error").fill_nan(None),
            pl.col("naive").fill_nan(None).alias("naive_error"),
            pl.col("seasonal_naive").fill_nan(None).alias("seasonal_naive_error"),
        )
        bulk.insert(conn, table_of(ForecastSeries), series)
        daily = (
            forecast.daily.join(skus, on="sku")
            .join(locs, on="location")
            .select(
                pl.lit(run_id).alias("run_id"),
                "sku_id",
                "location_id",
                "ds",
                "mean",
                "sd",
                "q10",
                "q50",
                "q80",
                "q90",
                "q95",
            )
        )
        bulk.insert(conn, table_of(ForecastDaily), daily)
    return int(run_id)


def latest_forecast(engine: Engine) -> DemandForecast | None:
    """The most recent forecast run in the store, or None when there is none."""
    with engine.connect() as conn:
        run_row = conn.execute(select(ForecastRun).order_by(ForecastRun.id.desc()).limit(1)).first()
    if run_row is None:
        return None
    return load_forecast(engine, int(run_row.id))


def load_forecast(engine: Engine, run_id: int) -> DemandForecast | None:
    """Forecast run ``run_id`` as a :class:`DemandForecast`, or None if it does not exist."""
    with engine.connect() as conn:
        run_row = conn.execute(select(ForecastRun).where(ForecastRun.id == run_id)).first()
    if run_row is None:
        return None
    daily = _frame(
        engine,
        select(
            Sku.code.label("sku"),
            Location.code.label("location"),
            ForecastDaily.ds,
            ForecastDaily.mean,
            ForecastDaily.sd,
            ForecastDaily.q10,
            ForecastDaily.q50,
            ForecastDaily.q80,
            ForecastDaily.q90,
            ForecastDaily.q95,
        )
        .join(Sku, Sku.id == ForecastDaily.sku_id)
        .join(Location, Location.id == ForecastDaily.location_id)
        .where(ForecastDaily.run_id == run_id)
        .order_by(Sku.code, Location.code, ForecastDaily.ds),
    )
    if daily.height:
        daily = _dates(daily, "ds").with_columns(
            pl.col("mean").cast(pl.Float64), pl.col("sd").cast(pl.Float64)
        )
    rows = _frame(
        engine,
        select(
            Sku.code.label("sku"),
            ForecastSeries.model,
            ForecastSeries.censored_days,
            ForecastSeries.history_days,
            ForecastSeries.scaled_error,
            ForecastSeries.demand_class,
            ForecastSeries.spike_days,
            ForecastSeries.naive_error.label("naive"),
            ForecastSeries.seasonal_naive_error.label("seasonal_naive"),
        )
        .join(Sku, Sku.id == ForecastSeries.sku_id)
        .where(ForecastSeries.run_id == run_id)
        .order_by(Sku.code),
    )
    accuracy = (
        rows.select("sku", "scaled_error", "naive", "seasonal_naive") if rows.height else rows
    )
    return DemandForecast(
        daily=daily,
        series=rows,
        accuracy=accuracy,
        as_of=run_row.as_of,
        model_counts=dict(run_row.model_counts),
        summary=dict(run_row.summary),
        run_id=int(run_row.id),
    )


def delete_forecast(engine: Engine, run_id: int) -> None:
    """Remove a forecast run and its rows."""
    with engine.begin() as conn:
        conn.execute(delete(ForecastDaily).where(ForecastDaily.run_id == run_id))
        conn.execute(delete(ForecastSeries).where(ForecastSeries.run_id == run_id))
        conn.execute(delete(ForecastRun).where(ForecastRun.id == run_id))
