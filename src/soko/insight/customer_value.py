"""Customer value over the store: the shell around :mod:`soko.customers`.

Reads orders, order lines, SKUs and restock notices with SQLAlchemy into Polars
frames (:func:`load_customer_data`), then answers one question per function by
calling the pure core: the fitted models and each customer's CLV
(:func:`fit_customer_models`, :func:`customer_values`), each SKU's LTV exposure
(:func:`sku_exposure`), the shortage cost the replenishment policy reads
(:func:`shortage_costs`), and the segment export for a CRM
(:func:`segment_export`).

Conventions: a transaction is an order with a customer and at least one sale
line, same-day orders merged (FHL 2005); revenue is Σ quantity × unit price −
discount of its sale lines, tax included as the shop sells; times are in days
and the data end at the day of the last order (never "today", so a store loaded
from an export or the demo reads the same every day).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, Executable, func, select

from soko.customers import (
    SEGMENTS,
    BgNbdFit,
    BgNbdLapseFit,
    GammaGammaFit,
    clv,
    cohort_retention,
    customer_summary,
    fit_bgnbd,
    fit_bgnbd_with_lapse,
    fit_gamma_gamma,
    merge_same_day,
    purchase_metrics,
    rfm_scores,
    segment_counts,
)
from soko.customers._arrays import F64
from soko.customers.exposure import (
    LapseEstimate,
    ShortageCost,
    gateway_scores,
    lapse_by_sku,
    lapse_estimate,
    lapse_events,
    matched_expectation,
    meetings_from_notices,
    meetings_from_purchases,
    residual_clv_by_sku,
    shortage_cost,
    stockout_days_from_notices,
)
from soko.customers.stockouts import (
    StockHistory,
    purchase_stockout_probability,
    short_line_shares,
)
from soko.store.tables import (
    Balance,
    Channel,
    Customer,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    RestockNotice,
    Sku,
    StockAdjustment,
)

DAY = dt.timedelta(days=1)
HORIZON_DAYS = 365.0
PERIOD_DAYS = 365.0 / 12.0
MONTHLY_DISCOUNT = 0.01
"""CLV over a year, discounted monthly at 1 % (≈ 12.7 % a year)."""


@dataclass(frozen=True)
class CustomerData:
    """The store's rows that customer value reads, as frames."""

    lines: pl.DataFrame
    """Sale lines of orders with a customer: ``order_id``, ``customer_id``, ``channel``,
    ``ordered_at``, ``date``, ``sku``, ``product_code``, ``category``, ``quantity``, ``revenue``,
    ``sku_id``, ``location_id`` (null where the store did not say)."""
    skus: pl.DataFrame
    """``sku``, ``product_code``, ``category``, ``price``, ``unit_cost``, ``tax_rate``,
    ``price_includes_tax``, ``season_end`` (null for staples), ``unit_margin`` (price net of
    tax − cost; null without a cost)."""
    notices: pl.DataFrame
    """``customer_id``, ``sku``, ``channel``, ``signed_up_at``, ``notified_at``."""
    as_of: dt.date
    returns: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"sku": pl.String, "channel": pl.String, "date": pl.Date}
        )
    )
    """Return lines of every order: ``sku``, ``channel``, ``date`` (stock back on the shelf),
    ``sku_id``, ``location_id``, ``quantity``."""
    stock: StockHistory | None = None
    """Daily sales, flows and the last count per SKU × location (ids), for how often a
    purchase meets a stockout (:mod:`soko.customers.stockouts`); None when not read or
    when the store holds no stock count to rebuild the stock from."""
    locations: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"location_id": pl.Int64, "location": pl.String}
        )
    )
    """``location_id``, ``location`` (code)."""


def load_customer_data(engine: Engine) -> CustomerData:
    """Read what customer value needs; a ``ValueError`` if there are no orders with a customer.

    Besides the customers' sale lines, the stock history of :attr:`CustomerData.stock`:
    walk-in sales (no customer: they take stock too), returns, receipts, adjustments and
    the last count, keyed by SKU and location ids, which keep these reads and joins
    cheap on a large store.
    """
    line_query = (
        select(
            Order.id.label("order_id"),
            Customer.code.label("customer_id"),
            Channel.code.label("channel"),
            Order.ordered_at,
            Sku.code.label("sku"),
            Product.code.label("product_code"),
            Product.category,
            OrderLine.quantity,
            OrderLine.unit_price,
            OrderLine.discount,
            OrderLine.sku_id,
            OrderLine.location_id,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Channel, Channel.id == Order.channel_id)
        .join(Sku, Sku.id == OrderLine.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(OrderLine.kind == "sale")
    )
    walk_in_query = (
        select(OrderLine.sku_id, OrderLine.location_id, Order.ordered_at, OrderLine.quantity)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.customer_id.is_(None), OrderLine.kind == "sale")
    )
    sku_query = select(
        Sku.id,
        Sku.code.label("sku"),
        Product.code.label("product_code"),
        Product.category,
        Sku.price,
        Sku.unit_cost,
        Sku.tax_rate,
        Sku.price_includes_tax,
        Product.season_end,
        Product.season_start,
    ).join(Product, Product.id == Sku.product_id)
    notice_query = (
        select(
            Customer.code.label("customer_id"),
            Sku.code.label("sku"),
            Channel.code.label("channel"),
            RestockNotice.signed_up_at,
            RestockNotice.notified_at,
        )
        .join(Customer, Customer.id == RestockNotice.customer_id)
        .join(Sku, Sku.id == RestockNotice.sku_id)
        .outerjoin(Channel, Channel.id == RestockNotice.channel_id)
    )
    return_query = (
        select(
            Sku.code,
            Channel.code,
            Order.ordered_at,
            OrderLine.sku_id,
            OrderLine.location_id,
            OrderLine.quantity,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Channel, Channel.id == Order.channel_id)
        .join(Sku, Sku.id == OrderLine.sku_id)
        .where(OrderLine.kind == "return")
    )
    receipt_query = (
        select(
            PurchaseOrderLine.sku_id,
            PurchaseOrder.location_id,
            Receipt.received_on,
            func.sum(Receipt.quantity),
        )
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.purchase_order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .group_by(PurchaseOrderLine.sku_id, PurchaseOrder.location_id, Receipt.received_on)
    )
    adjustment_query = select(
        StockAdjustment.sku_id,
        StockAdjustment.location_id,
        StockAdjustment.adjusted_at,
        StockAdjustment.quantity,
    )
    balance_query = select(Balance.sku_id, Balance.location_id, Balance.on_hand, Balance.counted_at)
    ids = {"sku_id": pl.Int64, "location_id": pl.Int64}
    with engine.connect() as conn:
        raw = _read(
            conn,
            line_query,
            {
                "order_id": pl.Int64,
                "customer_id": pl.String,
                "channel": pl.String,
                "ordered_at": pl.Datetime("us"),
                "sku": pl.String,
                "product_code": pl.String,
                "category": pl.String,
                "quantity": pl.Int64,
                "unit_price": pl.Float64,
                "discount": pl.Float64,
                **ids,
            },
        )
        return_rows = conn.execute(return_query).all()
        sku_rows = conn.execute(sku_query).all()
        notice_rows = conn.execute(notice_query).all()
        location_rows = conn.execute(select(Location.id, Location.code)).all()
        balances = _read(
            conn,
            balance_query,
            {**ids, "on_hand": pl.Int64, "counted_at": pl.Datetime("us")},
        )
        # Without a count there is no stock to rebuild, and no use for its flows.
        stock_frames: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None
        if balances.height:
            stock_frames = (
                _read(
                    conn,
                    walk_in_query,
                    {**ids, "ordered_at": pl.Datetime("us"), "quantity": pl.Int64},
                ),
                _read(conn, receipt_query, {**ids, "date": pl.Date, "units": pl.Int64}),
                _read(
                    conn,
                    adjustment_query,
                    {**ids, "adjusted_at": pl.Datetime("us"), "units": pl.Int64},
                ),
            )
    if raw.is_empty():
        raise ValueError("the store holds no orders with a customer: import orders first")
    lines = raw.with_columns(
        pl.col("ordered_at").cast(pl.Date).alias("date"),
        (pl.col("quantity") * pl.col("unit_price") - pl.col("discount")).alias("revenue"),
    ).drop("unit_price", "discount")
    skus = pl.DataFrame(
        [tuple(r) for r in sku_rows],
        schema={
            "sku_id": pl.Int64,
            "sku": pl.String,
            "product_code": pl.String,
            "category": pl.String,
            "price": pl.Float64,
            "unit_cost": pl.Float64,
            "tax_rate": pl.Int64,
            "price_includes_tax": pl.Boolean,
            "season_end": pl.Date,
            "season_start": pl.Date,
        },
        orient="row",
    ).with_columns(
        pl.col("category").fill_null("(none)"),
        (
            pl.when(pl.col("price_includes_tax"))
            .then(pl.col("price") / (1.0 + pl.col("tax_rate").fill_null(0) / 100.0))
            .otherwise(pl.col("price"))
            - pl.col("unit_cost")
        ).alias("unit_margin"),
    )
    notices = pl.DataFrame(
        [tuple(r) for r in notice_rows],
        schema={
            "customer_id": pl.String,
            "sku": pl.String,
            "channel": pl.String,
            "signed_up_at": pl.Datetime("us"),
            "notified_at": pl.Datetime("us"),
        },
        orient="row",
    )
    returns = pl.DataFrame(
        [tuple(r) for r in return_rows],
        schema={
            "sku": pl.String,
            "channel": pl.String,
            "ordered_at": pl.Datetime("us"),
            "sku_id": pl.Int64,
            "location_id": pl.Int64,
            "quantity": pl.Int64,
        },
        orient="row",
    ).select(
        "sku",
        "channel",
        pl.col("ordered_at").cast(pl.Date).alias("date"),
        "sku_id",
        "location_id",
        "quantity",
    )
    as_of = lines["date"].max()
    assert isinstance(as_of, dt.date)
    stock: StockHistory | None = None
    if stock_frames is not None:
        walk_ins, receipts, adjustments = stock_frames
        columns = ["sku_id", "location_id", "ordered_at", "quantity"]
        stock = stock_history(
            pl.concat([lines.select(columns), walk_ins.select(columns)]),
            returns,
            receipts=receipts,
            adjustments=adjustments,
            balances=balances,
            skus=skus,
        )
    return CustomerData(
        lines=lines.with_columns(pl.col("category").fill_null("(none)")),
        skus=skus.drop("sku_id"),
        notices=notices,
        as_of=as_of,
        returns=returns,
        stock=stock,
        locations=pl.DataFrame(
            [tuple(r) for r in location_rows],
            schema={"location_id": pl.Int64, "location": pl.String},
            orient="row",
        ),
    )


def _read(
    conn: Connection, statement: Executable, schema: dict[str, pl.DataType | type[pl.DataType]]
) -> pl.DataFrame:
    """Rows of ``statement`` as a frame of ``schema``, built from the driver's own values.

    SQLAlchemy converts value by value (SQLite's text timestamps to ``datetime``, money
    to ``Decimal``), which on the large preset costs more than the query: 68 s of CPU
    against 31 s for the 2.7 million sale lines (benchmarks/customer_value_stage/run.py).
    Here each column is converted at once instead: SQLite's text dates are parsed,
    numbers cast; PostgreSQL's driver already returns dates and numbers.
    """
    rows = conn.execute(statement).cursor.fetchall()
    as_text = conn.dialect.name == "sqlite"
    temporal = [name for name, dtype in schema.items() if dtype.is_temporal()] if as_text else []
    frame = pl.DataFrame(
        rows,
        schema={name: pl.String if name in temporal else dtype for name, dtype in schema.items()},
        orient="row",
    )
    return frame.with_columns(
        pl.col(name).str.to_date("%Y-%m-%d")
        if schema[name] == pl.Date
        else pl.col(name).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
        for name in temporal
    )


def stock_history(
    sale_lines: pl.DataFrame,
    returns: pl.DataFrame,
    *,
    receipts: pl.DataFrame,
    adjustments: pl.DataFrame,
    balances: pl.DataFrame,
    skus: pl.DataFrame,
) -> StockHistory:
    """The store's rows as a :class:`soko.customers.stockouts.StockHistory` keyed by
    ``sku_id`` and ``location_id`` (its ``sku`` and ``location``).

    ``sale_lines``: ``sku_id``, ``location_id``, ``ordered_at``, ``quantity`` of every
    sale line, walk-ins included; ``returns`` and ``receipts`` carry ``date``,
    ``adjustments`` ``adjusted_at``, ``balances`` ``on_hand`` and ``counted_at``. The
    count's day is the last sale's or the last count's, whichever is later (the
    forecast's history reads it the same way).
    """
    key = [pl.col("sku_id").alias("sku"), pl.col("location_id").alias("location")]
    located = sale_lines.filter(pl.col("location_id").is_not_null()).select(
        *key,
        "ordered_at",
        "quantity",
        pl.col("ordered_at").cast(pl.Date).alias("date"),
        (pl.col("ordered_at").dt.hour().cast(pl.Int64) * 60 + pl.col("ordered_at").dt.minute())
        .cast(pl.Int64)
        .alias("minute"),
    )
    last = pl.col("ordered_at").arg_max()
    sales = located.group_by("sku", "location", "date").agg(
        pl.len().cast(pl.Int64).alias("lines"),
        pl.col("quantity").sum().cast(pl.Float64).alias("units"),
        pl.col("minute").get(last).alias("last_minute"),
        pl.col("quantity").get(last).cast(pl.Int64).alias("last_quantity"),
    )
    flows = (
        pl.concat(
            [
                returns.select(*key, "date", pl.col("quantity").alias("units")),
                receipts.select(*key, "date", "units"),
                adjustments.select(
                    *key, pl.col("adjusted_at").cast(pl.Date).alias("date"), "units"
                ),
            ]
        )
        .filter(pl.col("location").is_not_null())
        .group_by("sku", "location", "date")
        .agg(pl.col("units").sum().cast(pl.Float64))
    )
    last_sale = sales["date"].max() if sales.height else None
    count_day = last_sale if isinstance(last_sale, dt.date) else dt.date.min
    counted = balances["counted_at"].drop_nulls().max() if balances.height else None
    if isinstance(counted, dt.datetime):
        count_day = max(count_day, counted.date())
    return StockHistory(
        sales=sales,
        flows=flows,
        on_hand=balances.select(*key, "on_hand"),
        skus=skus.select(pl.col("sku_id").alias("sku"), "category", "season_start", "season_end"),
        line_sizes=located.group_by("sku", "quantity").agg(pl.len().cast(pl.Int64).alias("lines")),
        sale_minutes=located.group_by("location", "minute").agg(
            pl.len().cast(pl.Int64).alias("lines")
        ),
        count_day=count_day,
    )


def transactions(data: CustomerData) -> pl.DataFrame:
    """One row per order: ``customer_id``, ``ordered_at``, ``revenue``, ``channel``,
    ``first_product`` (the frame :mod:`soko.customers.summary` reads)."""
    return (
        data.lines.sort("order_id", "sku")
        .group_by("order_id", maintain_order=True)
        .agg(
            pl.col("customer_id").first(),
            pl.col("ordered_at").first(),
            pl.col("revenue").sum(),
            pl.col("channel").first(),
            pl.col("product_code").first().alias("first_product"),
        )
        .drop("order_id")
        .sort("customer_id", "ordered_at")
    )


def margin_share(data: CustomerData) -> float:
    """Gross margin ÷ revenue net of tax over the sold lines at list price; 0.3 without costs."""
    priced = data.lines.join(
        data.skus.select("sku", "price", "unit_cost", "tax_rate", "price_includes_tax"), on="sku"
    ).filter(pl.col("unit_cost").is_not_null() & (pl.col("price") > 0))
    if priced.is_empty():
        return 0.3
    net = (
        pl.when(pl.col("price_includes_tax"))
        .then(pl.col("price") / (1.0 + pl.col("tax_rate").fill_null(0) / 100.0))
        .otherwise(pl.col("price"))
    )
    sums = priced.select(
        (pl.col("quantity") * (net - pl.col("unit_cost"))).sum().alias("margin"),
        (pl.col("quantity") * net).sum().alias("revenue"),
    )
    share = float(sums["margin"][0]) / float(sums["revenue"][0])
    return float(np.clip(share, 0.0, 1.0))


@dataclass(frozen=True)
class StockoutChurn:
    """How much of the customers' churn stockouts cause: the plain BG/NBD against the
    BG/NBD with each customer's stockout-lapse hazard c_i = ``p_lapse`` × s_i."""

    dropout_all_causes: float
    """a/(a+b) of the plain BG/NBD, which reads stockout lapses as dropout."""
    natural_dropout: float
    """a/(a+b) of the lapse model: dropout per repeat purchase without stockouts."""
    p_lapse: float
    """P(lapse | stockout met), the restock-notice estimate of :func:`lapse_analysis`."""
    meets_stockout: float
    """s: the share of purchases that meet a stockout, the mean of s_i over purchases."""
    lapse_hazard: float
    """Mean c per repeat purchase."""
    customers_lost: float
    """Σ P(left by the end of the data) over customers, under the lapse model."""
    customers_lost_to_stockouts: float
    """Σ P(a stockout lapse ended them, one natural dropout would not have caused)."""
    shares: pl.DataFrame
    """Per location (``location_id`` and its code ``location``), the columns of
    :func:`soko.customers.stockouts.short_line_shares`."""

    @property
    def share_from_stockouts(self) -> float:
        """Of the customers lost, the share lost to stockouts."""
        if self.customers_lost <= 0:
            return float("nan")
        return self.customers_lost_to_stockouts / self.customers_lost


@dataclass(frozen=True)
class CustomerModels:
    """BG/NBD and Gamma-Gamma fitted on the store, in days, with the data they describe."""

    bgnbd: BgNbdFit
    """The plain BG/NBD: dropout of all causes, stockout lapses included."""
    gamma_gamma: GammaGammaFit
    summary: pl.DataFrame
    """Per customer: ``customer_id``, ``first_purchase``, ``x``, ``t_x``, ``T`` (days),
    ``mean_spend``, ``meets_stockout`` (s_i) and ``lapse_hazard`` (c_i; 0 without one)."""
    as_of: dt.date
    margin: float
    natural: BgNbdLapseFit | None = None
    """BG/NBD with the stockout-lapse hazard: its r, α, a, b are the customers as they
    would be without stockouts. None when the store gives no lapse estimate (no restock
    notices) or no stock history (no sales with a location)."""
    churn: StockoutChurn | None = None
    lapses: LapseAnalysis | None = None
    """The :func:`lapse_analysis` the hazard was built from, for reuse."""


def fit_customer_models(
    data: CustomerData,
    *,
    step: Callable[[str], None] | None = None,
    lapses: LapseAnalysis | None = None,
) -> CustomerModels:
    """Fit BG/NBD (on every customer) twice, plain and with each customer's stockout-lapse
    hazard, and Gamma-Gamma (on customers with a repeat purchase).

    The hazard is c_i = P(lapse | stockout met) × s_i: the restock-notice estimate of
    :func:`lapse_analysis` (``lapses``, computed when not given) times the chance that a
    purchase of the customer meets a stockout, from the store's stock history
    (:mod:`soko.customers.stockouts`); never from anything but the store.

    ``step`` is called with a label before each stage, for a progress display.
    """
    report = step or (lambda _label: None)
    report("summarising customers")
    summary = customer_summary(transactions(data), calibration_end=data.as_of, time_unit=DAY)
    report("fitting BG/NBD")
    bgnbd = fit_bgnbd(summary["x"], summary["t_x"], summary["T"])
    report("estimating stockout meetings")
    lapses = lapses or lapse_analysis(data)
    notice = lapses.overall.get("restock_notice")
    p_lapse = notice.p_lapse if notice is not None and notice.treated > 0 else float("nan")
    shares = short_line_shares(data.stock) if data.stock is not None else pl.DataFrame()
    natural: BgNbdLapseFit | None = None
    churn: StockoutChurn | None = None
    summary = summary.with_columns(
        pl.lit(0.0).alias("meets_stockout"), pl.lit(0.0).alias("lapse_hazard")
    )
    report("fitting BG/NBD with stockout lapses")
    if np.isfinite(p_lapse) and shares.height and float(shares["short_lines"].sum()) > 0:
        met = purchase_stockout_probability(
            data.lines.select("customer_id", "date", pl.col("location_id").alias("location")),
            shares,
        )
        summary = (
            summary.drop("meets_stockout", "lapse_hazard")
            .join(met.select("customer_id", "meets_stockout"), on="customer_id", how="left")
            .with_columns(pl.col("meets_stockout").fill_null(pl.lit(met["meets_stockout"].mean())))
            .with_columns(
                (p_lapse * pl.col("meets_stockout")).clip(0.0, 0.999).alias("lapse_hazard")
            )
        )
        x, t_x, big_t = (summary[c].to_numpy().astype(np.float64) for c in ("x", "t_x", "T"))
        hazard = summary["lapse_hazard"].to_numpy()
        natural = fit_bgnbd_with_lapse(x, t_x, big_t, hazard)
        purchases = x + 1.0
        churn = StockoutChurn(
            dropout_all_causes=bgnbd.a / (bgnbd.a + bgnbd.b),
            natural_dropout=natural.a / (natural.a + natural.b),
            p_lapse=p_lapse,
            meets_stockout=float(
                np.sum(purchases * summary["meets_stockout"].to_numpy()) / np.sum(purchases)
            ),
            lapse_hazard=float(np.sum(x * hazard) / max(np.sum(x), 1.0)),
            customers_lost=float(np.sum(1.0 - natural.p_alive(x, t_x, big_t, hazard))),
            customers_lost_to_stockouts=float(np.sum(natural.p_lapsed(x, t_x, big_t, hazard))),
            shares=shares.rename({"location": "location_id"}).join(
                data.locations, on="location_id", how="left"
            ),
        )
    report("fitting Gamma-Gamma")
    repeat = summary.filter(pl.col("x") > 0)
    gg = fit_gamma_gamma(repeat["x"], repeat["mean_spend"])
    return CustomerModels(
        bgnbd, gg, summary, data.as_of, margin_share(data), natural, churn, lapses
    )


def customer_values(models: CustomerModels) -> pl.DataFrame:
    """Per customer: ``p_alive``, ``clv`` (residual, discounted, margin), ``clv_natural``
    and ``value_if_alive``.

    ``clv`` is the plain BG/NBD's: what the customer is expected to bring with
    stockouts going on as they have. ``clv_natural`` is what a stockout puts at
    risk, the residual CLV if no stockout meets the customer from now on: the
    future of the natural model (the lapse model's r, α, a, b) weighted by the
    lapse model's P(alive), which knows that a customer silent since a stockout
    may have lapsed; since E[Y(t) | data] = P(alive | data) · E[Y(t) | alive]
    (FHL 2005 eq. 10), that is the natural model's CLV times the ratio of the two
    P(alive). Without a lapse model it equals ``clv``.

    ``value_if_alive`` is the expected spend over the next year *if the customer
    is alive*: E[Y(365) | …] ÷ P(alive) × E[Z | x, m_x], the data-side estimate
    of the generator's ``expected_spend_365d``; it ranks customers by what they
    are worth rather than by whether they happened to buy lately, which is what
    "top-quintile customer" means for the gateway score.
    """
    s = models.summary
    x = s["x"].to_numpy().astype(np.float64)
    t_x = s["t_x"].to_numpy()
    big_t = s["T"].to_numpy()
    spend = s["mean_spend"].fill_null(0.0).to_numpy()
    p_alive = models.bgnbd.p_alive(x, t_x, big_t)
    future = models.bgnbd.expected_transactions(HORIZON_DAYS, x, t_x, big_t)
    per_tx = models.gamma_gamma.expected_spend(x, np.where(x > 0, spend, 0.0))

    def residual(fit: BgNbdFit) -> F64:
        return clv(
            fit,
            models.gamma_gamma,
            x,
            t_x,
            big_t,
            spend,
            horizon=HORIZON_DAYS,
            margin=models.margin,
            discount_rate=MONTHLY_DISCOUNT,
            period=PERIOD_DAYS,
        )

    value = residual(models.bgnbd)
    natural_value = value
    if models.natural is not None:
        hazard = s["lapse_hazard"].to_numpy()
        natural = models.natural.natural
        alive_share = models.natural.p_alive(x, t_x, big_t, hazard) / np.maximum(
            natural.p_alive(x, t_x, big_t), 1e-300
        )
        natural_value = residual(natural) * alive_share
    return s.select("customer_id").with_columns(
        pl.Series("p_alive", p_alive),
        pl.Series("clv", value),
        pl.Series("clv_natural", natural_value),
        pl.Series("value_if_alive", future / np.maximum(p_alive, 1e-12) * per_tx),
    )


def first_order_lines(data: CustomerData) -> pl.DataFrame:
    """``customer_id``, ``sku`` of the lines of each customer's first order (day)."""
    first_day = data.lines.group_by("customer_id").agg(pl.col("ordered_at").min().alias("first"))
    return (
        data.lines.join(first_day, on="customer_id")
        .filter(pl.col("ordered_at") == pl.col("first"))
        .select("customer_id", "sku")
        .unique()
    )


@dataclass(frozen=True)
class LapseAnalysis:
    """Lapse estimates by proxy: overall and per SKU (shrunk toward the category)."""

    overall: dict[str, LapseEstimate]
    by_sku: dict[str, pl.DataFrame]
    stockout_days: pl.DataFrame


def lapse_analysis(data: CustomerData) -> LapseAnalysis:
    """P(lapse | stockout met) by each proxy (see :mod:`soko.customers.exposure`)."""
    # On the channels that take notices, a return goes back to the stock the notices wait
    # on, and a sale shows that stock was there: either ends a run of days out.
    notice_channels = data.notices["channel"].drop_nulls().unique().implode()
    restocked = pl.concat(
        [
            data.returns.select("sku", "channel", "date"),
            data.lines.select("sku", "channel", "date"),
        ]
    ).filter(pl.col("channel").is_in(notice_channels))
    days_out = stockout_days_from_notices(
        data.notices,
        end=data.as_of,
        restocked=restocked,
        season_end=data.skus.select("sku", "season_end").drop_nulls(),
    )
    purchase_days = data.lines.select("customer_id", "date").unique()
    meetings = {
        "restock_notice": meetings_from_notices(data.notices),
        "bought_during_stockout": meetings_from_purchases(data.lines, days_out, data.skus),
    }
    overall: dict[str, LapseEstimate] = {}
    by_sku: dict[str, pl.DataFrame] = {}
    for proxy, met in meetings.items():
        matched = matched_expectation(lapse_events(purchase_days, met, end=data.as_of))
        overall[proxy] = lapse_estimate(matched, proxy=proxy)
        by_sku[proxy] = lapse_by_sku(matched, data.skus, proxy=proxy)
    return LapseAnalysis(overall, by_sku, days_out)


def sku_exposure(
    data: CustomerData, models: CustomerModels, lapse: LapseAnalysis | None = None
) -> pl.DataFrame:
    """One row per SKU: its customers' residual CLV, gateway score and P(lapse | stockout).

    Gateway: ``first_buyers`` and ``top_buyers`` count the SKU's own first-order
    buyers; ``gateway_lift``, ``gateway_p_value`` and ``gateway`` are its
    product's, since a style, not one of its sizes, is what opens a relationship
    and a single SKU rarely has the first buyers to show it (the flag is the
    Benjamini–Hochberg screen of :func:`soko.customers.exposure.gateway_scores`).

    The lapse columns come from the ``restock_notice`` proxy where the SKU has
    notices, otherwise from ``bought_during_stockout`` where it has meetings,
    otherwise the notice proxy's category value; ``proxy`` names which.
    """
    values = customer_values(models)
    lapse = lapse or models.lapses or lapse_analysis(data)
    # What a stockout puts at risk is the value customers keep when none meets them.
    residual = residual_clv_by_sku(
        data.lines.select("customer_id", "sku"),
        values.select("customer_id", pl.col("clv_natural").alias("clv")),
    )
    value = values.select("customer_id", pl.col("value_if_alive").alias("value"))
    firsts = first_order_lines(data).join(data.skus.select("sku", "product_code"), on="sku")
    by_sku = gateway_scores(firsts, value).select("sku", "first_buyers", "top_buyers")
    by_product = gateway_scores(firsts, value, key="product_code").select(
        "product_code",
        pl.col("top_share").alias("product_top_share"),
        pl.col("lift").alias("gateway_lift"),
        pl.col("p_value").alias("gateway_p_value"),
        "gateway",
    )
    units = data.lines.group_by("sku").agg(
        (pl.col("quantity").sum() / pl.col("order_id").n_unique()).alias("units_per_order")
    )
    notice = lapse.by_sku["restock_notice"]
    bought = lapse.by_sku["bought_during_stockout"].select(
        "sku",
        pl.col("treated").alias("b_treated"),
        pl.col("p_lapse").alias("b_p"),
        pl.col("p_lapse_low").alias("b_low"),
        pl.col("p_lapse_high").alias("b_high"),
    )
    use_bought = (pl.col("treated") == 0) & (pl.col("b_treated") > 0)
    lapse_cols = notice.join(bought, on="sku", how="left").select(
        "sku",
        pl.when(use_bought).then("b_p").otherwise("p_lapse").alias("p_lapse"),
        pl.when(use_bought).then("b_low").otherwise("p_lapse_low").alias("p_lapse_low"),
        pl.when(use_bought).then("b_high").otherwise("p_lapse_high").alias("p_lapse_high"),
        pl.when(use_bought)
        .then(pl.col("b_treated"))
        .otherwise(pl.col("treated"))
        .alias("met_stockout"),
        pl.when(use_bought)
        .then(pl.lit("bought_during_stockout"))
        .when(pl.col("treated") > 0)
        .then(pl.lit("restock_notice"))
        .otherwise(pl.lit("restock_notice (category prior)"))
        .alias("proxy"),
    )
    return (
        data.skus.select("sku", "product_code", "category", "unit_margin")
        .join(residual, on="sku", how="left")
        .join(by_sku, on="sku", how="left")
        .join(by_product, on="product_code", how="left")
        .join(units, on="sku", how="left")
        .join(lapse_cols, on="sku", how="left")
        .with_columns(
            pl.col("customers").fill_null(0),
            pl.col("residual_clv_mean").fill_null(0.0),
            pl.col("residual_clv_total").fill_null(0.0),
            pl.col("first_buyers").fill_null(0),
            pl.col("top_buyers").fill_null(0),
            pl.col("gateway").fill_null(False),
            pl.col("units_per_order").fill_null(1.0),
        )
        .with_columns(
            (pl.col("p_lapse") * pl.col("residual_clv_total")).alias("ltv_at_stake"),
        )
        .sort("sku")
    )


def shortage_costs(
    engine: Engine,
    *,
    data: CustomerData | None = None,
    models: CustomerModels | None = None,
) -> dict[str, ShortageCost]:
    """SKU → shortage cost per unit short, with its parts (DESIGN.md formula).

    residual CLV is the mean over the SKU's customers (a shortage meets one
    customer); a SKU without a cost gets a unit margin of 0 and says so by
    nothing else, since its LTV part still stands.
    """
    data = data or load_customer_data(engine)
    models = models or fit_customer_models(data)
    exposure = sku_exposure(data, models)
    costs: dict[str, ShortageCost] = {}
    for row in exposure.iter_rows(named=True):
        costs[row["sku"]] = shortage_cost(
            row["sku"],
            unit_margin=float(row["unit_margin"] or 0.0),
            p_lapse=float(row["p_lapse"]),
            residual_clv=float(row["residual_clv_mean"]),
            units_per_order=max(1.0, float(row["units_per_order"])),
            proxy=str(row["proxy"]),
        )
    return costs


@dataclass(frozen=True)
class CustomerReport:
    """What ``soko customers report`` prints."""

    segments: pl.DataFrame
    metrics: pl.DataFrame
    top_skus: pl.DataFrame
    lapse: dict[str, LapseEstimate]


def customer_report(data: CustomerData, models: CustomerModels, *, top: int = 10) -> CustomerReport:
    """Segments, repeat rate / AOV / frequency, and the SKUs with the most LTV at stake."""
    tx = transactions(data)
    scores = rfm_scores(merge_same_day(tx), as_of=data.as_of)
    lapse = models.lapses or lapse_analysis(data)
    exposure = sku_exposure(data, models, lapse)
    top_skus = exposure.sort("ltv_at_stake", descending=True, nulls_last=True).head(top)
    return CustomerReport(
        segments=segment_counts(scores),
        metrics=purchase_metrics(merge_same_day(tx)),
        top_skus=top_skus,
        lapse=lapse.overall,
    )


def segment_export(data: CustomerData, models: CustomerModels) -> pl.DataFrame:
    """Per customer: ``customer_id``, ``segment``, ``r_score``, ``f_score``, ``m_score``,
    ``clv`` (rounded to whole currency units), ``p_alive`` and ``waiting_for``: the SKUs of
    their open restock notices (never notified), space-separated, empty when none."""
    scores = rfm_scores(merge_same_day(transactions(data)), as_of=data.as_of)
    values = customer_values(models)
    waiting = (
        data.notices.filter(pl.col("notified_at").is_null())
        .group_by("customer_id")
        .agg(pl.col("sku").unique().sort().str.join(" ").alias("waiting_for"))
    )
    return (
        scores.select(
            "customer_id", pl.col("segment").cast(pl.String), "r_score", "f_score", "m_score"
        )
        .join(values, on="customer_id", how="left")
        .join(waiting, on="customer_id", how="left")
        .select(
            "customer_id",
            "segment",
            "r_score",
            "f_score",
            "m_score",
            pl.col("clv").round(0).cast(pl.Int64),
            pl.col("p_alive").round(4),
            "waiting_for",
        )
        .sort("customer_id")
    )


# --- one cached view of everything customer value shows ---------------------------------

MIN_CUSTOMERS = 30
"""Fewer customers than this leave the four BG/NBD parameters undetermined: no models."""
MIN_REPEAT_CUSTOMERS = 10
"""Gamma-Gamma's three parameters need at least this many customers with a repeat purchase."""


@dataclass(frozen=True)
class CustomerValueView:
    """What the API and the Customers page show, computed once per state of the store.

    ``status`` is ``ok``; ``no_customers`` (no order carries a customer: every
    frame is empty); or ``too_few_customers`` (segments and cohorts are there,
    the model columns are null and ``exposure`` is empty). ``message`` says
    which, and what to do, in English for logs and API clients.
    """

    status: str
    message: str
    as_of: dt.date | None
    data: CustomerData | None
    models: CustomerModels | None
    metrics: dict[str, float]
    """``customers``, ``transactions``, ``revenue``, ``repeat_rate``,
    ``average_order_value``, ``purchase_frequency`` (empty without customers)."""
    customers: pl.DataFrame
    """Per customer, by ``customer_id``: ``segment``, ``r_score``, ``f_score``, ``m_score``,
    ``recency_days``, ``frequency``, ``monetary``, ``x``, ``t_x``, ``T``, ``p_alive``,
    ``clv``, ``expected_transactions`` (next year), ``expected_spend`` (per transaction),
    ``waiting_for`` (list of SKUs of open restock notices)."""
    segments: pl.DataFrame
    """Every segment: ``segment``, ``customers``, ``revenue``, ``clv_total``, ``clv_mean``."""
    cohorts: pl.DataFrame
    """:func:`soko.customers.cohort_retention` over same-day-merged transactions."""
    exposure: pl.DataFrame
    """:func:`sku_exposure` with the shortage cost's parts: ``residual_clv`` (mean),
    ``ltv_at_risk_per_unit`` and ``shortage_cost`` per unit short."""
    lapse: dict[str, LapseEstimate]
    fit_seconds: float
    transactions: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Same-day-merged transactions (``customer_id``, ``ordered_at``, ``revenue``,
    ``channel``, ``first_product``), for metrics and cohorts split by channel or product."""

    def metrics_by_channel(self) -> pl.DataFrame:
        """:func:`soko.customers.purchase_metrics` per channel of the transaction."""
        if self.transactions.is_empty():
            return pl.DataFrame()
        return purchase_metrics(self.transactions, by="channel")

    def cohorts_by(self, by: str) -> pl.DataFrame:
        """Cohort retention split by the customer's first ``channel`` or ``first_product``."""
        if self.transactions.is_empty():
            return pl.DataFrame()
        return cohort_retention(self.transactions, by=by)


_CUSTOMER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "customer_id": pl.String,
    "segment": pl.String,
    "r_score": pl.Int64,
    "f_score": pl.Int64,
    "m_score": pl.Int64,
    "recency_days": pl.Int64,
    "frequency": pl.Int64,
    "monetary": pl.Float64,
    "x": pl.Int64,
    "t_x": pl.Float64,
    "T": pl.Float64,
    "p_alive": pl.Float64,
    "clv": pl.Float64,
    "expected_transactions": pl.Float64,
    "expected_spend": pl.Float64,
    "waiting_for": pl.List(pl.String),
}


def _empty_view(message: str) -> CustomerValueView:
    return CustomerValueView(
        status="no_customers",
        message=message,
        as_of=None,
        data=None,
        models=None,
        metrics={},
        customers=pl.DataFrame(schema=_CUSTOMER_SCHEMA),
        segments=pl.DataFrame(
            {
                "segment": list(SEGMENTS),
                "customers": [0] * len(SEGMENTS),
                "revenue": [0.0] * len(SEGMENTS),
                "clv_total": [None] * len(SEGMENTS),
                "clv_mean": [None] * len(SEGMENTS),
            },
            schema={
                "segment": pl.String,
                "customers": pl.Int64,
                "revenue": pl.Float64,
                "clv_total": pl.Float64,
                "clv_mean": pl.Float64,
            },
        ),
        cohorts=pl.DataFrame(
            schema={
                "cohort": pl.Date,
                "months_since_first": pl.Int64,
                "active_customers": pl.Int64,
                "cohort_size": pl.Int64,
                "retention": pl.Float64,
            }
        ),
        exposure=pl.DataFrame(),
        lapse={},
        fit_seconds=0.0,
    )


def build_customer_value_view(engine: Engine) -> CustomerValueView:
    """Read the store, fit the models (where there are enough customers) and derive every
    table the API and the Customers page show. Uncached; see :func:`customer_value_view`."""
    try:
        data = load_customer_data(engine)
    except ValueError as exc:
        return _empty_view(str(exc))
    started = time.perf_counter()
    tx = merge_same_day(transactions(data))
    scores = rfm_scores(tx, as_of=data.as_of)
    metrics_row = purchase_metrics(tx).row(0, named=True)
    metrics = {k: float(v) for k, v in metrics_row.items()}
    waiting = (
        data.notices.filter(pl.col("notified_at").is_null())
        .group_by("customer_id")
        .agg(pl.col("sku").unique().sort().alias("waiting_for"))
    )
    summary = customer_summary(transactions(data), calibration_end=data.as_of, time_unit=DAY)
    n_repeat = int((summary["x"] > 0).sum())
    models: CustomerModels | None = None
    status, message = "ok", ""
    if summary.height < MIN_CUSTOMERS or n_repeat < MIN_REPEAT_CUSTOMERS:
        status = "too_few_customers"
        message = (
            f"{summary.height} customers, {n_repeat} with a repeat purchase: the CLV models "
            f"need at least {MIN_CUSTOMERS} customers and {MIN_REPEAT_CUSTOMERS} with a repeat "
            "purchase; import more order history with customer IDs."
        )
    else:
        models = fit_customer_models(data)
    per_customer = scores.select(
        "customer_id",
        pl.col("segment").cast(pl.String),
        "r_score",
        "f_score",
        "m_score",
        pl.col("recency_days").cast(pl.Int64),
        pl.col("frequency").cast(pl.Int64),
        pl.col("monetary").cast(pl.Float64),
    ).join(summary.select("customer_id", "x", "t_x", "T"), on="customer_id", how="left")
    exposure = pl.DataFrame()
    lapse: dict[str, LapseEstimate] = {}
    if models is not None:
        values = customer_values(models)
        s = models.summary
        x = s["x"].to_numpy().astype(np.float64)
        spend = s["mean_spend"].fill_null(0.0).to_numpy()
        future = models.bgnbd.expected_transactions(
            HORIZON_DAYS, x, s["t_x"].to_numpy(), s["T"].to_numpy()
        )
        per_tx = models.gamma_gamma.expected_spend(x, np.where(x > 0, spend, 0.0))
        model_cols = values.select("customer_id", "p_alive", "clv").with_columns(
            pl.Series("expected_transactions", future), pl.Series("expected_spend", per_tx)
        )
        analysis = models.lapses or lapse_analysis(data)
        lapse = analysis.overall
        exposure = with_shortage_cost(sku_exposure(data, models, analysis))
    else:
        model_cols = pl.DataFrame(
            schema={
                "customer_id": pl.String,
                "p_alive": pl.Float64,
                "clv": pl.Float64,
                "expected_transactions": pl.Float64,
                "expected_spend": pl.Float64,
            }
        )
    customers = (
        per_customer.join(model_cols, on="customer_id", how="left")
        .join(waiting, on="customer_id", how="left")
        .with_columns(pl.col("waiting_for").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .select(list(_CUSTOMER_SCHEMA))
        .cast(_CUSTOMER_SCHEMA)  # type: ignore[arg-type]
        .sort("customer_id")
    )
    clv_by_segment = customers.group_by("segment").agg(
        pl.col("clv").sum().alias("clv_total"), pl.col("clv").mean().alias("clv_mean")
    )
    segments = (
        segment_counts(scores)
        .with_columns(pl.col("segment").cast(pl.String))
        .join(clv_by_segment, on="segment", how="left")
    )
    if models is None:
        segments = segments.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("clv_total"),
            pl.lit(None, dtype=pl.Float64).alias("clv_mean"),
        )
    return CustomerValueView(
        status=status,
        message=message,
        as_of=data.as_of,
        data=data,
        models=models,
        metrics=metrics,
        customers=customers,
        segments=segments,
        cohorts=cohort_retention(tx),
        exposure=exposure,
        lapse=lapse,
        fit_seconds=time.perf_counter() - started,
        transactions=tx,
    )


def with_shortage_cost(exposure: pl.DataFrame) -> pl.DataFrame:
    """``exposure`` with the parts of :func:`shortage_costs`, computed the same way."""
    return (
        exposure.with_columns(
            pl.col("residual_clv_mean").alias("residual_clv"),
            pl.col("units_per_order").clip(lower_bound=1.0).alias("units_per_order"),
        )
        .with_columns(
            (pl.col("p_lapse") * pl.col("residual_clv") / pl.col("units_per_order")).alias(
                "ltv_at_risk_per_unit"
            ),
        )
        .with_columns(
            (pl.col("unit_margin").fill_null(0.0) + pl.col("ltv_at_risk_per_unit")).alias(
                "shortage_cost"
            )
        )
    )


def store_state(engine: Engine) -> tuple[object, ...]:
    """What identifies the store's customer data: counts and last ids of orders and lines,
    and counts of restock notices and of answered ones. Cheap (indexed aggregates)."""
    with engine.connect() as conn:
        orders = conn.execute(select(func.count(Order.id), func.max(Order.id))).one()
        lines = conn.execute(select(func.count(OrderLine.id), func.max(OrderLine.id))).one()
        notices = conn.execute(
            select(func.count(RestockNotice.id), func.count(RestockNotice.notified_at))
        ).one()
        skus = conn.execute(select(func.count(Sku.id), func.max(Sku.id))).one()
    return (str(engine.url), *orders, *lines, *notices, *skus)


_VIEW_CACHE: dict[str, tuple[tuple[object, ...], CustomerValueView]] = {}
_VIEW_LOCK = threading.Lock()


def customer_value_view(engine: Engine) -> CustomerValueView:
    """:func:`build_customer_value_view`, cached per process and store until its data change.

    The key is :func:`store_state`; a fit on the medium preset takes seconds
    (docs/customer-value.md), so a second request, or the page after the API,
    reuses it. One lock: concurrent first requests wait for one fit instead of
    each starting their own.
    """
    state = store_state(engine)
    url = str(engine.url)
    with _VIEW_LOCK:
        cached = _VIEW_CACHE.get(url)
        if cached is not None and cached[0] == state:
            return cached[1]
        view = build_customer_value_view(engine)
        _VIEW_CACHE[url] = (state, view)
        return view
