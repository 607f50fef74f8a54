"""The store's tables (SQLAlchemy 2, typed declarative).

Records that have a natural key (a SKU code, an order number) are unique by it.
Event rows that have none (order lines, receipts, adjustments, restock
notices) carry ``source_id`` and ``source_row``: the file they came from (by
name, in ``sources``) and their row in it, which is their identity on re-import.

Money is ``Numeric`` (``Decimal`` in Python), never a float; quantities are
integers. Timestamps are the shop's local time, as sellers' exports write them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Money = Numeric(18, 4)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Source(Base):
    """A file (or generated table) rows were imported from, by name."""

    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    lead_time_days: Mapped[int | None]
    capacity_per_week: Mapped[int | None]
    country: Mapped[str | None] = mapped_column(String(8))


class Product(Base):
    """A product (style); its colours and sizes are SKUs."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(120))
    brand: Mapped[str | None] = mapped_column(String(120))
    item_type: Mapped[str] = mapped_column(String(16), default="staple")
    season_start: Mapped[dt.date | None] = mapped_column(Date)
    season_end: Mapped[dt.date | None] = mapped_column(Date)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))


class Sku(Base):
    __tablename__ = "skus"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    jan: Mapped[str | None] = mapped_column(String(14))
    color: Mapped[str | None] = mapped_column(String(60))
    size: Mapped[str | None] = mapped_column(String(60))
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    price: Mapped[Decimal | None] = mapped_column(Money)
    tax_rate: Mapped[int | None] = mapped_column(Integer)
    price_includes_tax: Mapped[bool] = mapped_column(Boolean, default=True)
    case_pack: Mapped[int] = mapped_column(Integer, default=1)
    moq: Mapped[int] = mapped_column(Integer, default=1)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    lead_time_days: Mapped[int | None]
    review_period_days: Mapped[int | None]
    order_weekdays: Mapped[str | None] = mapped_column(String(40))
    safety_factor: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    made_to_order: Mapped[bool] = mapped_column(Boolean, default=False)
    stock_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (
        CheckConstraint("tax_rate IN (8, 10)", name="tax_rate"),
        CheckConstraint("case_pack >= 1 AND moq >= 1", name="pack"),
    )


class Channel(Base):
    __tablename__ = "channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))


class Location(Base):
    __tablename__ = "locations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(24))
    prefecture: Mapped[str | None] = mapped_column(String(40))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))


class Listing(Base):
    """A marketplace's item ID mapped to a SKU."""

    __tablename__ = "listings"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    __table_args__ = (UniqueConstraint("channel_id", "external_id"),)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    prefecture: Mapped[str | None] = mapped_column(String(40))
    country: Mapped[str | None] = mapped_column(String(60))


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(24))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    discount_pct: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    coupon_code: Mapped[str | None] = mapped_column(String(64))


class CampaignSku(Base):
    __tablename__ = "campaign_skus"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    __table_args__ = (UniqueConstraint("campaign_id", "sku_id"),)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    number: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    __table_args__ = (UniqueConstraint("channel_id", "number"),)


class OrderLine(Base):
    """A sale or a return of one SKU; ``quantity`` is always positive."""

    __tablename__ = "order_lines"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_row: Mapped[int]
    kind: Mapped[str] = mapped_column(String(8), default="sale")
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    coupon_code: Mapped[str | None] = mapped_column(String(64))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    returned_order_number: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("source_id", "source_row"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("kind IN ('sale', 'return')", name="kind"),
        Index("ix_order_lines_sku_id_order_id", "sku_id", "order_id"),
    )


class Balance(Base):
    """Units on hand and reserved per SKU × location, derived from ``movements``.

    ``reserved <= on_hand`` is a database constraint: whatever a bug or a race
    does, the store refuses to hold a balance that sells a unit twice.
    """

    __tablename__ = "balances"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    counted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (
        UniqueConstraint("sku_id", "location_id"),
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
    )


class Movement(Base):
    """One change of stock, append-only. ``quantity`` is the signed change of on hand."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    on_hand_after: Mapped[int]
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reservation_id: Mapped[str | None] = mapped_column(ForeignKey("reservations.id"))
    __table_args__ = (
        Index("ix_movements_sku_id_location_id", "sku_id", "location_id"),
        CheckConstraint(
            "kind IN ('receipt', 'sale', 'return', 'adjustment', 'transfer_out', "
            "'transfer_in', 'count', 'write_off')",
            name="kind",
        ),
    )


class Reservation(Base):
    """A hold on units for one channel: held, then confirmed (a sale), released or expired."""

    __tablename__ = "reservations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('held', 'confirmed', 'released', 'expired')", name="status"),
    )


class ReservationLine(Base):
    """The units of a reservation taken from one location."""

    __tablename__ = "reservation_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[str] = mapped_column(ForeignKey("reservations.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int]
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class ChannelRuleRow(Base):
    """A seller's availability rule for a channel (see ``soko.ledger.rules.ChannelRule``)."""

    __tablename__ = "channel_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    location_codes: Mapped[list[str]] = mapped_column(JSON)
    buffer_units: Mapped[int] = mapped_column(Integer, default=0)
    buffer_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    cap: Mapped[int | None]
    ratio: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SetComponent(Base):
    """A set product (bundle, 福袋) sold as one SKU draws down its components."""

    __tablename__ = "set_components"
    id: Mapped[int] = mapped_column(primary_key=True)
    set_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    component_sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    quantity: Mapped[int]
    __table_args__ = (
        UniqueConstraint("set_sku_id", "component_sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class ApiToken(Base):
    """An API token, kept only as its SHA-256 hash."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class IdempotencyRecord(Base):
    """The first answer to a write, replayed for the same key."""

    __tablename__ = "idempotency_records"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class StockAdjustment(Base):
    __tablename__ = "stock_adjustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_row: Mapped[int]
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    adjusted_at: Mapped[dt.datetime] = mapped_column(DateTime)
    quantity: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(300))
    __table_args__ = (UniqueConstraint("source_id", "source_row"),)


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    ordered_on: Mapped[dt.date] = mapped_column(Date)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    quantity: Mapped[int]
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    promised_on: Mapped[dt.date | None] = mapped_column(Date)
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class Receipt(Base):
    __tablename__ = "receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_row: Mapped[int]
    purchase_order_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_lines.id"), index=True
    )
    received_on: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int]
    __table_args__ = (
        UniqueConstraint("source_id", "source_row"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )


class RestockNotice(Base):
    __tablename__ = "restock_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    source_row: Mapped[int]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    signed_up_at: Mapped[dt.datetime] = mapped_column(DateTime)
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("source_id", "source_row"),)


class ImportRun(Base):
    """One ``soko import`` call that committed: its files, mapping and counts per rule."""

    __tablename__ = "import_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sources: Mapped[list[str]] = mapped_column(JSON)
    rows_added: Mapped[dict[str, int]] = mapped_column(JSON)
    rule_counts: Mapped[dict[str, int]] = mapped_column(JSON)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as a ``Table`` for set-based statements."""
    return cast(Table, model.__table__)


class User(Base):
    """A person who signs in to the web app; the role decides what they may do."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


# ── Jobs: long-running work and its progress (migration 0003) ──


class Job(Base):
    """A long-running piece of work (a plan run, an import) and how far it has got.

    Pages poll it to show live progress; ``result`` holds what the job produced
    (small JSON, e.g. the id of the plan it wrote) and ``error`` why it failed.
    """

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(2000))
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
        Index("ix_jobs_kind_status", "kind", "status"),
    )


# ── Forecasting (migration 0004) ──


class ForecastRun(Base):
    """One demand forecast: when, from which day, its horizon, and how models were chosen.

    ``plan_run_id`` names the plan run that used it (no foreign key: plan runs live in
    the planning section); ``summary`` holds the overall accuracy report.
    """

    __tablename__ = "forecast_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    as_of: Mapped[dt.date] = mapped_column(Date)
    horizon_days: Mapped[int]
    plan_run_id: Mapped[int | None] = mapped_column(Integer, index=True)
    model_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    summary: Mapped[dict[str, float | int | str | None]] = mapped_column(JSON)


class ForecastSeries(Base):
    """Per SKU in a run: the model chosen, how much history was censored, and its accuracy."""

    __tablename__ = "forecast_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    model: Mapped[str] = mapped_column(String(40))
    demand_class: Mapped[str] = mapped_column(String(16))
    history_days: Mapped[int]
    censored_days: Mapped[int]
    spike_days: Mapped[int]
    scaled_error: Mapped[float | None]
    naive_error: Mapped[float | None]
    seasonal_naive_error: Mapped[float | None]
    __table_args__ = (UniqueConstraint("run_id", "sku_id"),)


class ForecastDaily(Base):
    """A day's forecast demand of a SKU at a location: mean, spread and whole-unit quantiles."""

    __tablename__ = "forecast_daily"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("forecast_runs.id", ondelete="CASCADE"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    ds: Mapped[dt.date] = mapped_column(Date)
    mean: Mapped[float]
    sd: Mapped[float]
    q10: Mapped[int]
    q50: Mapped[int]
    q80: Mapped[int]
    q90: Mapped[int]
    q95: Mapped[int]
    __table_args__ = (Index("ix_forecast_daily_run_id_sku_id", "run_id", "sku_id"),)


class SpikeTag(Base):
    """A day of a SKU's sales a user reviewed. ``leave_out``: a one-off (a TV mention, a
    bulk order), left out of the history the forecast learns from; else real demand (a
    campaign peak), kept, and no longer flagged for review (migration 0007)."""

    __tablename__ = "forecast_spike_tags"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    leave_out: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("sku_id", "day"),)


class SalesPlan(Base):
    """A buyer's planned units (販売計画数) for a SKU over a period; it stands in for demand
    until the SKU has history of its own."""

    __tablename__ = "sales_plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    units: Mapped[int]
    __table_args__ = (
        UniqueConstraint("sku_id", "starts_on"),
        CheckConstraint("units >= 0", name="units"),
        CheckConstraint("ends_on >= starts_on", name="period"),
    )


# ── Planning and purchasing (migration 0005) ──


class PlanRun(Base):
    """One ``soko plan`` run, kept so runs can be compared later (DESIGN.md P11).

    ``settings`` are the choices the run used (service target, horizon, review
    period…); ``summary`` its headline figures (lines, units, value per kind
    and supplier). ``status`` is ``running``, ``done`` or ``failed``.
    """

    __tablename__ = "plan_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="running")
    settings: Mapped[dict[str, object]] = mapped_column(JSON)
    summary: Mapped[dict[str, object]] = mapped_column(JSON)
    job_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),)


class PlanLine(Base):
    """One SKU × location of a plan run: the policy's figures, its quantity and the buyer's edit.

    Units are integers; demand statistics and the service level are estimates
    kept as decimals. ``explanation`` holds the cost parts, the chosen and the
    margin-only service level and why this quantity (see docs/planning.md).
    The buyer's edit (``edited_quantity``, ``excluded``, ``note``) is carried
    to the next run's line for the same SKU × location until it is approved.
    """

    __tablename__ = "plan_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    kind: Mapped[str] = mapped_column(String(12))
    demand_mean: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    demand_sd: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    protection_days: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    lead_time_days: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    service_level: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    safety_stock: Mapped[int]
    reorder_point: Mapped[int]
    order_up_to: Mapped[int]
    on_hand: Mapped[int]
    on_order: Mapped[int]
    reserved: Mapped[int]
    inventory_position: Mapped[int]
    recommended_quantity: Mapped[int]
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    flags: Mapped[list[str]] = mapped_column(JSON)
    explanation: Mapped[dict[str, object]] = mapped_column(JSON)
    edited_quantity: Mapped[int | None]
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(500))
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    edited_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    purchase_order_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("purchase_order_lines.id")
    )
    __table_args__ = (
        UniqueConstraint("plan_run_id", "sku_id", "location_id"),
        CheckConstraint("kind IN ('staple', 'seasonal')", name="kind"),
        CheckConstraint("recommended_quantity >= 0", name="recommended"),
        CheckConstraint("edited_quantity IS NULL OR edited_quantity >= 0", name="edited_quantity"),
    )


class PurchaseOrderState(Base):
    """What Soko adds to a purchase order it issued: the plan run, who, when, open or closed.

    Purchase orders imported from a seller's files have no state row; they are
    open while a line still expects units.
    """

    __tablename__ = "purchase_order_states"
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id"), primary_key=True
    )
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class PurchaseOrderLineState(Base):
    """The units first ordered on a line and when it was closed.

    ``purchase_order_lines.quantity`` is what is still expected in all, so the
    ledger's incoming stock (ordered − received) drops to zero when a line is
    closed short; ``ordered_quantity`` keeps what the buyer asked for.
    """

    __tablename__ = "purchase_order_line_states"
    purchase_order_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_lines.id"), primary_key=True
    )
    ordered_quantity: Mapped[int]
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(120))


# ── Ledger extras: pre-orders, transfers in transit (migration 0006) ──


class Transfer(Base):
    """Units sent between locations: they leave at once (``transfer_out``) and count as
    incoming at the destination until received (``transfer_in``)."""

    __tablename__ = "transfers"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('in_transit', 'received')", name="status"),
        CheckConstraint("from_location_id <> to_location_id", name="two_places"),
    )


class PreorderLimit(Base):
    """How many units of a SKU may be sold ahead of incoming stock (予約販売):
    per channel, or for every channel together when ``channel_id`` is null."""

    __tablename__ = "preorder_limits"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    max_units: Mapped[int]
    __table_args__ = (
        UniqueConstraint("sku_id", "channel_id"),
        CheckConstraint("max_units >= 0", name="max_units"),
    )


class Preorder(Base):
    """A sale against incoming stock: ``waiting`` until the units arrive, then ``confirmed``
    as a held reservation (``reservation_id``), or ``cancelled``."""

    __tablename__ = "preorders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reservation_id: Mapped[str | None] = mapped_column(ForeignKey("reservations.id"))
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('waiting', 'confirmed', 'cancelled')", name="status"),
    )
