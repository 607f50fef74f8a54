"""The overview's headline figures: catalogue size, stock, and recent sales by channel.

The sales window ends at the last order in the store rather than today,
because a store filled from an export or the demo generator has its newest
order in the past; a window ending today would show an empty chart for data
that is perfectly fine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from soko.insight.health import Flag, build_health, memoised, store_state
from soko.store import queries
from soko.store.queries import ChannelSales
from soko.store.tables import (
    Balance,
    Channel,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    RestockNotice,
    Sku,
    Supplier,
)

MAX_WEEKS = 104
DEFAULT_WEEKS = 4  # the overview page's window, and /api/v1/kpis's


@dataclass(frozen=True)
class SalesWindow:
    """The half-open interval ``[start, end)`` of order times, in the shop's local time.

    ``first_day`` and ``last_day`` are the same window as inclusive calendar
    days, which is how a person reads "the last 4 weeks".
    """

    weeks: int
    start: dt.datetime
    end: dt.datetime

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        return (self.end - dt.timedelta(days=1)).date()


@dataclass(frozen=True)
class Overview:
    """Headline figures; money is rounded to the currency's minor unit (none for JPY)."""

    currency: str
    weeks: int
    sku_count: int
    product_count: int
    stock_units: int
    stock_value: Decimal
    uncosted_units: int
    last_order_at: dt.datetime | None
    window: SalesWindow | None
    channels: list[ChannelSales]

    @property
    def is_empty(self) -> bool:
        """Nothing loaded yet: no catalogue and no orders, so there is nothing to show."""
        return self.sku_count == 0 and self.last_order_at is None

    @property
    def total_revenue(self) -> Decimal:
        return sum((c.revenue for c in self.channels), Decimal(0))

    @property
    def total_units(self) -> int:
        return sum(c.units_sold - c.units_returned for c in self.channels)

    @property
    def total_orders(self) -> int:
        return sum(c.order_count for c in self.channels)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's minor unit (ISO 4217 via CLDR)."""
    exponent = Decimal(1).scaleb(-get_currency_precision(currency))
    return amount.quantize(exponent, rounding=ROUND_HALF_UP)


def sales_window(last_order_at: dt.datetime, weeks: int) -> SalesWindow:
    """The ``weeks`` × 7 calendar days that end with the day of the last order."""
    end = dt.datetime.combine(last_order_at.date() + dt.timedelta(days=1), dt.time())
    return SalesWindow(weeks=weeks, start=end - dt.timedelta(weeks=weeks), end=end)


def build_overview(session: Session, *, currency: str, weeks: int = 4) -> Overview:
    """Headline figures of the store, with sales over the last ``weeks`` weeks (memoised per
    store state)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
    key = ("overview", currency, weeks, *store_state(session))
    return memoised(key, lambda: _build_overview(session, currency=currency, weeks=weeks))


def _build_overview(session: Session, *, currency: str, weeks: int) -> Overview:
    counts = queries.catalogue_counts(session)
    stock = queries.stock_totals(session)
    last = queries.last_order_at(session)
    window = sales_window(last, weeks) if last is not None else None
    channels = (
        queries.sales_by_channel(session, window.start, window.end) if window is not None else []
    )
    return Overview(
        currency=currency,
        weeks=weeks,
        sku_count=counts.sku_count,
        product_count=counts.product_count,
        stock_units=stock.stock_units,
        stock_value=round_money(stock.stock_value, currency),
        uncosted_units=stock.uncosted_units,
        last_order_at=last,
        window=window,
        channels=[
            ChannelSales(
                code=c.code,
                name=c.name,
                kind=c.kind,
                units_sold=c.units_sold,
                units_returned=c.units_returned,
                revenue=round_money(c.revenue, currency),
                order_count=c.order_count,
            )
            for c in channels
        ],
    )


# ── The morning view: alerts first, then KPIs with their weekly trend ──

SPARK_WEEKS = 12  # weeks of trend behind each headline figure
DEFAULT_LEAD_DAYS = 14  # for SKUs whose lead time is not recorded (SKU, product or supplier)
PO_DUE_DAYS = 7
ALERTS_SHOWN = 5  # rows of each alert on the overview; the rest are counted
DAYS_A_YEAR = 365


@dataclass(frozen=True)
class Week:
    """One week of the trend: sales, cost of goods sold, stock value at its end, unmet demand."""

    start: dt.date
    revenue: Decimal
    cogs: Decimal
    units_sold: int
    unmet: int  # restock requests: customers who wanted a unit that was not there
    stock_value_start: Decimal
    stock_value_end: Decimal

    @property
    def average_stock_value(self) -> Decimal:
        return (self.stock_value_start + self.stock_value_end) / 2


def turnover(cogs: Decimal, average_stock: Decimal, days: int) -> float | None:
    """Stock turnover a year: COGS ÷ average inventory value (at cost), scaled to 365 days.

    DESIGN.md's formula (在庫回転率 = 売上原価 ÷ 平均在庫金額); None without stock.
    """
    if average_stock <= 0:
        return None
    return float(cogs / average_stock) * DAYS_A_YEAR / days


def days_of_inventory(cogs: Decimal, average_stock: Decimal, days: int) -> float | None:
    """Days the average stock lasts at the period's cost of sales: days ÷ turnover."""
    if cogs <= 0:
        return None
    return float(average_stock / cogs) * days


def fill_rate(units_sold: int, unmet: int) -> float | None:
    """Units served ÷ units asked for, counting each restock request as a unit not served.

    Unmet demand is only what customers told us (restock requests), so this is
    an upper bound on the true fill rate; None when nothing was asked for.
    """
    asked = units_sold + unmet
    return None if asked <= 0 else units_sold / asked


def rounded_turnover(value: float | None) -> float | None:
    """Turnover as shown: one decimal (times a year)."""
    return None if value is None else round(value, 1)


def rounded_days(value: float | None) -> int | None:
    """Days of inventory as shown: whole days."""
    return None if value is None else round(value)


def rounded_share(value: float | None) -> float | None:
    """A rate as shown: a share to three decimals (a percent to one)."""
    return None if value is None else round(value, 3)


@dataclass(frozen=True)
class Kpis:
    """The headline figures over the overview's window, and their weekly trend."""

    days: int
    sales: Decimal
    stock_value: Decimal
    cogs: Decimal
    average_stock_value: Decimal
    units_sold: int
    unmet: int
    weeks: list[Week]

    @property
    def turnover(self) -> float | None:
        return turnover(self.cogs, self.average_stock_value, self.days)

    @property
    def days_of_inventory(self) -> float | None:
        return days_of_inventory(self.cogs, self.average_stock_value, self.days)

    @property
    def fill_rate(self) -> float | None:
        return fill_rate(self.units_sold, self.unmet)


@dataclass(frozen=True)
class RunOut:
    """A SKU about to run out where a channel sells it from a location."""

    sku: str
    product_name: str | None
    channel: str
    channel_name: str | None
    location: str
    location_name: str | None
    available: int
    daily_units: float
    cover_days: float
    lead_time_days: int
    lead_time_known: bool


@dataclass(frozen=True)
class PoLineDue:
    number: str
    supplier: str
    sku: str
    open_units: int
    promised_on: dt.date
    late: bool


@dataclass(frozen=True)
class Alerts:
    run_outs: list[RunOut]
    run_out_count: int
    excess_count: int
    excess_value: Decimal
    dead_count: int
    dead_value: Decimal
    po_due: list[PoLineDue]
    po_due_count: int
    po_late_count: int
    sync_configured: bool  # channel sync exists in this version? (not yet)


def _day(value: object) -> dt.date:
    """A ``date()`` from SQL: a date on PostgreSQL, an ISO string on SQLite."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def build_kpis(session: Session, *, currency: str, weeks: int = DEFAULT_WEEKS) -> Kpis | None:
    """``_build_kpis`` memoised per store state (see ``soko.insight.health.memoised``)."""
    key = ("kpis", currency, weeks, *store_state(session))
    return memoised(key, lambda: _build_kpis(session, currency=currency, weeks=weeks))


def _build_kpis(session: Session, *, currency: str, weeks: int) -> Kpis | None:
    """Headline KPIs over the last ``weeks`` weeks (ending with the last order's day) and
    ``SPARK_WEEKS`` weeks of trend; None before any order.

    Past stock values are rebuilt backwards from today's: before a week's sales
    the stock held their cost more, before its receipts their cost less
    (adjustments and write-offs are not replayed, so it is an estimate). The
    newest week ends now rather than at the last order, so its end is the
    headline stock value even after goods were received since.
    """
    last = queries.last_order_at(session)
    if last is None:
        return None
    span = max(weeks, SPARK_WEEKS)
    end = sales_window(last, weeks).end
    start = end - dt.timedelta(weeks=span)
    cost = func.coalesce(Sku.unit_cost, 0)
    is_sale = OrderLine.kind == "sale"
    sign = case((is_sale, literal(1)), else_=literal(-1))
    daily: dict[dt.date, tuple[Decimal, Decimal, int]] = {}
    for day, revenue, cogs, sold in session.execute(
        select(
            func.date(Order.ordered_at),
            func.sum((OrderLine.quantity * OrderLine.unit_price - OrderLine.discount) * sign),
            func.sum(OrderLine.quantity * cost * sign),
            func.sum(case((is_sale, OrderLine.quantity), else_=0)),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Sku, Sku.id == OrderLine.sku_id)
        .where(Order.ordered_at >= start, Order.ordered_at < end)
        .group_by(func.date(Order.ordered_at))
    ):
        daily[_day(day)] = (Decimal(revenue or 0), Decimal(cogs or 0), int(sold or 0))
    receipts: dict[dt.date, Decimal] = {}
    for day, received_value in session.execute(
        select(Receipt.received_on, func.sum(Receipt.quantity * cost))
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.purchase_order_line_id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        .where(Receipt.received_on >= start.date())
        .group_by(Receipt.received_on)
    ):
        receipts[_day(day)] = Decimal(received_value or 0)
    unmet: dict[dt.date, int] = {}
    for day, count in session.execute(
        select(func.date(RestockNotice.signed_up_at), func.count())
        .where(RestockNotice.signed_up_at >= start, RestockNotice.signed_up_at < end)
        .group_by(func.date(RestockNotice.signed_up_at))
    ):
        unmet[_day(day)] = int(count)

    stock_now = queries.stock_totals(session).stock_value
    # The newest week ends now, so what arrived after the last order counts in it.
    since = sum((v for d, v in receipts.items() if d >= end.date()), Decimal(0))
    stock_at: Decimal = stock_now
    rows: list[Week] = []
    for k in range(span):  # newest week first, walking back in time
        week_end = end.date() - dt.timedelta(weeks=k)
        days = [week_end - dt.timedelta(days=i) for i in range(1, 8)]
        revenue = sum((daily[d][0] for d in days if d in daily), Decimal(0))
        cogs = sum((daily[d][1] for d in days if d in daily), Decimal(0))
        sold = sum(daily[d][2] for d in days if d in daily)
        received = sum((receipts.get(d, Decimal(0)) for d in days), since if k == 0 else Decimal(0))
        before = max(Decimal(0), stock_at + cogs - received)
        rows.append(
            Week(
                start=days[-1],
                revenue=round_money(revenue, currency),
                cogs=cogs,
                units_sold=sold,
                unmet=sum(unmet.get(d, 0) for d in days),
                stock_value_start=before,
                stock_value_end=max(Decimal(0), stock_at),
            )
        )
        stock_at = before
    rows.reverse()
    recent = rows[-weeks:]
    boundaries = [recent[0].stock_value_start, *(w.stock_value_end for w in recent)]
    return Kpis(
        days=weeks * 7,
        sales=sum((w.revenue for w in recent), Decimal(0)),
        stock_value=round_money(stock_now, currency),
        cogs=sum((w.cogs for w in recent), Decimal(0)),
        average_stock_value=sum(boundaries, Decimal(0)) / len(boundaries),
        units_sold=sum(w.units_sold for w in recent),
        unmet=sum(w.unmet for w in recent),
        weeks=rows[-SPARK_WEEKS:],
    )


def build_alerts(
    session: Session, *, today: dt.date, weeks: int = DEFAULT_WEEKS, shown: int = ALERTS_SHOWN
) -> Alerts:
    """``_build_alerts`` memoised per store state and day."""
    key = ("alerts", today, weeks, shown, *store_state(session))
    return memoised(key, lambda: _build_alerts(session, today=today, weeks=weeks, shown=shown))


def _build_alerts(session: Session, *, today: dt.date, weeks: int, shown: int) -> Alerts:
    """What needs a decision this morning, most urgent first.

    - Run-outs: per SKU × channel × location that sold in the window, days of
      cover = available at the location ÷ that channel's daily units from it;
      an alert when cover is below the SKU's lead time (SKU, else product's
      supplier, else ``DEFAULT_LEAD_DAYS``): reordering now already comes late.
    - Excess and dead stock, as the health page flags them.
    - Purchase-order lines still expecting units, promised within
      ``PO_DUE_DAYS`` days of ``today`` or already late.
    """
    run_outs = _run_outs(session, weeks)
    health = build_health(session)
    excess = [r for r in health.rows if r.flag == Flag.excess]
    dead = [r for r in health.rows if r.flag == Flag.dead]
    due = _po_due(session, today)
    return Alerts(
        run_outs=run_outs[:shown],
        run_out_count=len(run_outs),
        excess_count=len(excess),
        excess_value=sum((r.stock_value for r in excess), Decimal(0)),
        dead_count=len(dead),
        dead_value=sum((r.stock_value for r in dead), Decimal(0)),
        po_due=due[:shown],
        po_due_count=len(due),
        po_late_count=sum(1 for p in due if p.late),
        sync_configured=False,
    )


def _run_outs(session: Session, weeks: int) -> list[RunOut]:
    last = queries.last_order_at(session)
    if last is None:
        return []
    window = sales_window(last, weeks)
    days = weeks * 7
    sold = (
        select(
            OrderLine.sku_id,
            Order.channel_id,
            OrderLine.location_id,
            func.sum(case((OrderLine.kind == "sale", OrderLine.quantity), else_=0)).label("units"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.ordered_at >= window.start,
            Order.ordered_at < window.end,
            OrderLine.location_id.is_not(None),
        )
        .group_by(OrderLine.sku_id, Order.channel_id, OrderLine.location_id)
        .subquery()
    )
    supplier_lead = (
        select(Supplier.lead_time_days)
        .where(Supplier.id == func.coalesce(Sku.supplier_id, Product.supplier_id))
        .scalar_subquery()
    )
    available = func.coalesce(Balance.on_hand - Balance.reserved, 0)
    rows = session.execute(
        select(
            Sku.code,
            Product.name,
            Channel.code,
            Channel.name,
            Location.code,
            Location.name,
            available,
            sold.c.units,
            func.coalesce(Sku.lead_time_days, supplier_lead),
        )
        .join(Sku, Sku.id == sold.c.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .join(Channel, Channel.id == sold.c.channel_id)
        .join(Location, Location.id == sold.c.location_id)
        .outerjoin(
            Balance, (Balance.sku_id == sold.c.sku_id) & (Balance.location_id == sold.c.location_id)
        )
        .where(sold.c.units > 0)
    ).all()
    found = []
    for sku, product, channel, channel_name, location, location_name, avail, units, lead in rows:
        daily_units = int(units) / days
        cover = max(int(avail), 0) / daily_units
        lead_days = int(lead) if lead is not None else DEFAULT_LEAD_DAYS
        if cover < lead_days:
            found.append(
                RunOut(
                    sku=sku,
                    product_name=product,
                    channel=channel,
                    channel_name=channel_name,
                    location=location,
                    location_name=location_name,
                    available=max(int(avail), 0),
                    daily_units=daily_units,
                    cover_days=cover,
                    lead_time_days=lead_days,
                    lead_time_known=lead is not None,
                )
            )
    found.sort(key=lambda r: (r.cover_days, -r.daily_units, r.sku, r.channel, r.location))
    return found


def _po_due(session: Session, today: dt.date) -> list[PoLineDue]:
    received = (
        select(
            Receipt.purchase_order_line_id.label("line_id"),
            func.sum(Receipt.quantity).label("units"),
        )
        .group_by(Receipt.purchase_order_line_id)
        .subquery()
    )
    open_units = PurchaseOrderLine.quantity - func.coalesce(received.c.units, 0)
    rows = session.execute(
        select(
            PurchaseOrder.number,
            Supplier.code,
            Sku.code,
            open_units,
            PurchaseOrderLine.promised_on,
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        .outerjoin(received, received.c.line_id == PurchaseOrderLine.id)
        .where(
            open_units > 0,
            PurchaseOrderLine.promised_on.is_not(None),
            PurchaseOrderLine.promised_on <= today + dt.timedelta(days=PO_DUE_DAYS),
        )
        .order_by(PurchaseOrderLine.promised_on, PurchaseOrder.number, Sku.code)
    ).all()
    return [
        PoLineDue(
            number=number,
            supplier=supplier,
            sku=sku,
            open_units=int(units),
            promised_on=_day(promised),
            late=_day(promised) < today,
        )
        for number, supplier, sku, units, promised in rows
    ]
