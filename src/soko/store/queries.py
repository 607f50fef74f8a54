"""Read-only queries behind the overview and the list endpoints.

This is the one module where the API and the web pages reach SQL: routes and
pages call the functions below (or a service built on them) and never build a
statement themselves. Every function takes an open ``Session`` so the caller's
unit of work decides the transaction, and returns plain dataclasses, not ORM
rows, so nothing lazy-loads after the session is closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session, aliased

from soko.store.tables import (
    Balance,
    Channel,
    Location,
    Movement,
    Order,
    OrderLine,
    Product,
    SetComponent,
    Sku,
    Transfer,
)


@dataclass(frozen=True)
class CatalogueCounts:
    sku_count: int
    product_count: int


@dataclass(frozen=True)
class StockTotals:
    """Units on hand and their value at unit cost.

    ``uncosted_units`` are units of SKUs without a ``unit_cost``: they are in
    ``stock_units`` but cannot be in ``stock_value``, and the reader must be
    told rather than shown a value that silently counts them as free.
    """

    stock_units: int
    stock_value: Decimal
    uncosted_units: int


@dataclass(frozen=True)
class ChannelSales:
    """One channel's sales in a window; returns are netted out of units and revenue."""

    code: str
    name: str | None
    kind: str
    units_sold: int
    units_returned: int
    revenue: Decimal
    order_count: int


@dataclass(frozen=True)
class SkuRow:
    code: str
    product_code: str
    product_name: str | None
    color: str | None
    size: str | None
    jan: str | None
    unit_cost: Decimal | None
    price: Decimal | None
    on_hand: int


@dataclass(frozen=True)
class LocationRow:
    code: str
    name: str | None
    kind: str
    prefecture: str | None
    channel_code: str | None


@dataclass(frozen=True)
class ChannelRow:
    code: str
    name: str | None
    kind: str


def catalogue_counts(session: Session) -> CatalogueCounts:
    """Number of SKUs and of products (styles) in the store."""
    skus = session.scalar(select(func.count()).select_from(Sku)) or 0
    products = session.scalar(select(func.count()).select_from(Product)) or 0
    return CatalogueCounts(sku_count=skus, product_count=products)


def stock_totals(session: Session) -> StockTotals:
    """Σ on_hand and Σ on_hand × unit_cost over every SKU × location, in one statement."""
    costed = Balance.on_hand * Sku.unit_cost
    row = session.execute(
        select(
            func.coalesce(func.sum(Balance.on_hand), 0),
            func.coalesce(func.sum(costed), 0),
            func.coalesce(func.sum(case((Sku.unit_cost.is_(None), Balance.on_hand), else_=0)), 0),
        ).join(Sku, Sku.id == Balance.sku_id)
    ).one()
    return StockTotals(
        stock_units=int(row[0]), stock_value=Decimal(row[1]), uncosted_units=int(row[2])
    )


def last_order_at(session: Session) -> dt.datetime | None:
    """When the newest order (or return) in the store was placed; None for no orders."""
    return session.scalar(select(func.max(Order.ordered_at)))


def sales_by_channel(session: Session, start: dt.datetime, end: dt.datetime) -> list[ChannelSales]:
    """Sales per channel for orders with ``start <= ordered_at < end``.

    Every channel is listed, with zeros when it sold nothing, so a quiet
    channel is visible instead of missing. A line's money is
    ``quantity × unit_price − discount``; return lines subtract theirs. Orders
    are counted when they hold at least one sale line, so a return alone is
    not an order. Largest revenue first, then by code for a stable order.
    """
    is_sale = OrderLine.kind == "sale"
    line_money = OrderLine.quantity * OrderLine.unit_price - OrderLine.discount
    lines = (
        select(
            Order.channel_id.label("channel_id"),
            func.sum(case((is_sale, OrderLine.quantity), else_=0)).label("units_sold"),
            func.sum(case((is_sale, literal(0)), else_=OrderLine.quantity)).label("units_returned"),
            func.sum(case((is_sale, line_money), else_=-line_money)).label("revenue"),
            func.count(func.distinct(case((is_sale, Order.id)))).label("order_count"),
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.ordered_at >= start, Order.ordered_at < end)
        .group_by(Order.channel_id)
        .subquery()
    )
    revenue = func.coalesce(lines.c.revenue, 0)
    rows = session.execute(
        select(
            Channel.code,
            Channel.name,
            Channel.kind,
            func.coalesce(lines.c.units_sold, 0),
            func.coalesce(lines.c.units_returned, 0),
            revenue,
            func.coalesce(lines.c.order_count, 0),
        )
        .outerjoin(lines, lines.c.channel_id == Channel.id)
        .order_by(revenue.desc(), Channel.code)
    ).all()
    return [
        ChannelSales(
            code=r[0],
            name=r[1],
            kind=r[2],
            units_sold=int(r[3]),
            units_returned=int(r[4]),
            revenue=Decimal(r[5]),
            order_count=int(r[6]),
        )
        for r in rows
    ]


def list_skus(session: Session, *, after: str | None, limit: int) -> list[SkuRow]:
    """Up to ``limit`` SKUs ordered by code, starting after the code ``after``.

    Keyset paging by the unique code stays correct while rows are added,
    unlike an offset.
    """
    on_hand = (
        select(Balance.sku_id, func.sum(Balance.on_hand).label("on_hand"))
        .group_by(Balance.sku_id)
        .subquery()
    )
    stmt = (
        select(
            Sku.code,
            Product.code,
            Product.name,
            Sku.color,
            Sku.size,
            Sku.jan,
            Sku.unit_cost,
            Sku.price,
            func.coalesce(on_hand.c.on_hand, 0),
        )
        .join(Product, Product.id == Sku.product_id)
        .outerjoin(on_hand, on_hand.c.sku_id == Sku.id)
        .order_by(Sku.code)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Sku.code > after)
    return [
        SkuRow(
            code=r[0],
            product_code=r[1],
            product_name=r[2],
            color=r[3],
            size=r[4],
            jan=r[5],
            unit_cost=r[6],
            price=r[7],
            on_hand=int(r[8]),
        )
        for r in session.execute(stmt).all()
    ]


def list_locations(session: Session, *, after: str | None, limit: int) -> list[LocationRow]:
    """Up to ``limit`` locations ordered by code, after ``after`` (keyset paging)."""
    stmt = (
        select(Location.code, Location.name, Location.kind, Location.prefecture, Channel.code)
        .outerjoin(Channel, Channel.id == Location.channel_id)
        .order_by(Location.code)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Location.code > after)
    return [
        LocationRow(code=r[0], name=r[1], kind=r[2], prefecture=r[3], channel_code=r[4])
        for r in session.execute(stmt).all()
    ]


def list_channels(session: Session, *, after: str | None, limit: int) -> list[ChannelRow]:
    """Up to ``limit`` channels ordered by code, after ``after`` (keyset paging)."""
    stmt = select(Channel.code, Channel.name, Channel.kind).order_by(Channel.code).limit(limit)
    if after is not None:
        stmt = stmt.where(Channel.code > after)
    return [ChannelRow(code=r[0], name=r[1], kind=r[2]) for r in session.execute(stmt).all()]


STOCK_SORTS = ("sku", "on_hand", "available")


@dataclass(frozen=True)
class Figures:
    """Units on hand and reserved; available is what is left to sell (on hand − reserved)."""

    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class StockRow:
    """One SKU (or one product, its SKUs summed) on the Stock page: per location and in all."""

    code: str  # the SKU code, or the product code when grouped by product
    product_code: str
    product_name: str | None
    detail: str | None  # colour · size of a SKU; None for a product
    sku_count: int
    total: Figures
    by_location: dict[str, Figures]
    in_transit: int = 0  # units sent by a transfer and not yet received


@dataclass(frozen=True)
class StockPage:
    rows: list[StockRow]
    total_rows: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def stock_page(
    session: Session,
    *,
    by_product: bool,
    query: str,
    sort: str,
    offset: int,
    limit: int,
) -> StockPage:
    """A page of stock by SKU (or by product): totals and per-location figures.

    ``query`` keeps the rows whose SKU code, product code or product name holds
    it (case-insensitively). ``sort`` is one of ``STOCK_SORTS``: the code
    ascending, or the total on hand / available descending (ties by code).
    Three statements for the page (rows with totals, their locations, their units in
    transit) and one for the count, whatever the page size.
    """
    if sort not in STOCK_SORTS:
        raise ValueError(f"sort must be one of {STOCK_SORTS}")
    per_sku = (
        select(
            Balance.sku_id.label("sku_id"),
            func.sum(Balance.on_hand).label("on_hand"),
            func.sum(Balance.reserved).label("reserved"),
        )
        .group_by(Balance.sku_id)
        .subquery()
    )
    on_hand = func.coalesce(func.sum(per_sku.c.on_hand), 0)
    reserved = func.coalesce(func.sum(per_sku.c.reserved), 0)
    key = Product.code if by_product else Sku.code
    base = (
        select(
            key.label("code"),
            Product.code,
            Product.name,
            func.min(Sku.color),
            func.min(Sku.size),
            func.count(Sku.id),
            on_hand.label("on_hand"),
            reserved.label("reserved"),
        )
        .select_from(Sku)
        .join(Product, Product.id == Sku.product_id)
        .outerjoin(per_sku, per_sku.c.sku_id == Sku.id)
        .group_by(key, Product.code, Product.name)
    )
    if query.strip():
        pattern = _like(query.strip().lower())
        base = base.where(
            func.lower(Sku.code).like(pattern, escape="\\")
            | func.lower(Product.code).like(pattern, escape="\\")
            | func.lower(func.coalesce(Product.name, "")).like(pattern, escape="\\")
        )
    grouped = base.subquery()
    total_rows = session.scalar(select(func.count()).select_from(grouped)) or 0
    stmt = select(grouped)
    if sort == "on_hand":
        stmt = stmt.order_by(grouped.c.on_hand.desc())
    elif sort == "available":
        stmt = stmt.order_by((grouped.c.on_hand - grouped.c.reserved).desc())
    rows = session.execute(stmt.order_by(grouped.c.code).offset(offset).limit(limit)).all()
    codes = [r[0] for r in rows]
    located: dict[str, dict[str, Figures]] = {code: {} for code in codes}
    if codes:
        for code, location, units, held in session.execute(
            select(key, Location.code, func.sum(Balance.on_hand), func.sum(Balance.reserved))
            .select_from(Balance)
            .join(Sku, Sku.id == Balance.sku_id)
            .join(Product, Product.id == Sku.product_id)
            .join(Location, Location.id == Balance.location_id)
            .where(key.in_(codes))
            .group_by(key, Location.code)
        ).all():
            located[code][location] = Figures(int(units), int(held))
    travelling: dict[str, int] = {}
    if codes:
        travelling = {
            str(code): int(units)
            for code, units in session.execute(
                select(key, func.sum(Transfer.quantity))
                .select_from(Transfer)
                .join(Sku, Sku.id == Transfer.sku_id)
                .join(Product, Product.id == Sku.product_id)
                .where(key.in_(codes), Transfer.status == "in_transit")
                .group_by(key)
            ).all()
        }
    return StockPage(
        rows=[
            StockRow(
                code=r[0],
                product_code=r[1],
                product_name=r[2],
                detail=None if by_product else " · ".join(x for x in (r[3], r[4]) if x) or None,
                sku_count=int(r[5]),
                total=Figures(int(r[6]), int(r[7])),
                by_location=located[r[0]],
                in_transit=travelling.get(r[0], 0),
            )
            for r in rows
        ],
        total_rows=int(total_rows),
    )


@dataclass(frozen=True)
class SkuInfo:
    code: str
    product_code: str
    product_name: str | None
    color: str | None
    size: str | None
    jan: str | None
    price: Decimal | None


def sku_info(session: Session, code: str) -> SkuInfo | None:
    """The SKU ``code`` and its product; None when there is no such SKU."""
    row = session.execute(
        select(Sku.code, Product.code, Product.name, Sku.color, Sku.size, Sku.jan, Sku.price)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.code == code)
    ).one_or_none()
    return SkuInfo(*row) if row is not None else None


@dataclass(frozen=True)
class MovementRow:
    occurred_at: dt.datetime
    location: str
    kind: str
    quantity: int  # the signed change of on hand
    on_hand_after: int
    actor: str
    reason: str | None


def sku_movements(session: Session, code: str, *, limit: int) -> list[MovementRow]:
    """The SKU's last ``limit`` movements, newest first."""
    rows = session.execute(
        select(
            Movement.occurred_at,
            Location.code,
            Movement.kind,
            Movement.quantity,
            Movement.on_hand_after,
            Movement.actor,
            Movement.reason,
        )
        .join(Sku, Sku.id == Movement.sku_id)
        .join(Location, Location.id == Movement.location_id)
        .where(Sku.code == code)
        .order_by(Movement.occurred_at.desc(), Movement.id.desc())
        .limit(limit)
    ).all()
    return [MovementRow(*r) for r in rows]


def set_components(session: Session, code: str) -> list[tuple[str, int]]:
    """The components of the set product ``code`` and units of each per set; [] for a plain
    SKU."""
    component = aliased(Sku)
    rows = session.execute(
        select(component.code, SetComponent.quantity)
        .join(Sku, Sku.id == SetComponent.set_sku_id)
        .join(component, component.id == SetComponent.component_sku_id)
        .where(Sku.code == code)
        .order_by(component.code)
    ).all()
    return [(str(c), int(q)) for c, q in rows]


def ping(session: Session) -> None:
    """Round-trip to the store; raises the driver's error when it cannot be reached."""
    session.execute(select(literal(1))).one()
