"""Sell-through and inventory health per SKU or product: what sells, what sits, what it costs.

Windows end with the day of the last order in the store (as the overview's
do), so imported history reads as "the last 30 / 90 days" of that history.

Definitions (per SKU; a product sums its SKUs' units, money and stock first):

- units sold = units on sale lines − units on return lines in the window;
- sales = Σ (quantity × unit price − discount), returns subtracted;
- daily rate = units sold over 90 days ÷ 90;
- days of cover = on hand ÷ daily rate (none when nothing sold: cover is unbounded);
- sell-through rate (90 days) = units sold ÷ (units sold + on hand), the retail
  sell-through of the stock that was there to sell, taking the opening stock as
  what sold plus what is left (Levy & Weitz, *Retailing Management*, ch. 12);
- weeks since last sale = whole weeks from the last sale line to the window's end;
- stock value = on hand × unit cost (SKUs without a cost add nothing, and are counted);
- flag: ``dead`` — stock and no sale in 90 days (滞留在庫); ``excess`` — more than
  ``EXCESS_COVER_DAYS`` of cover (過剰在庫); ``out`` — sold in 90 days and none
  on hand; ``ok`` otherwise.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar, cast

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from soko.store.tables import (
    Balance,
    ImportRun,
    Movement,
    Order,
    OrderLine,
    Product,
    PurchaseOrderLine,
    Receipt,
    RestockNotice,
    Sku,
)

T = TypeVar("T")

SHORT_DAYS = 30
LONG_DAYS = 90
DEAD_DAYS = LONG_DAYS
EXCESS_COVER_DAYS = 180  # half a year of stock at the recent rate
ID_CHUNK = 500  # SKU ids per IN (...) list


class Flag(StrEnum):
    dead = "dead"
    excess = "excess"
    out = "out"
    ok = "ok"


@dataclass(frozen=True)
class HealthRow:
    """One SKU's (or product's) health; money unrounded, as the store holds it."""

    code: str
    product_code: str
    name: str
    detail: str  # colour / size for a SKU; the number of SKUs for a product
    on_hand: int
    units_30: int
    units_90: int
    sales_30: Decimal
    sales_90: Decimal
    last_sale: dt.datetime | None
    stock_value: Decimal
    uncosted_units: int
    sku_count: int
    cover_days: float | None
    sell_through: float | None
    weeks_since_sale: int | None
    flag: Flag


@dataclass(frozen=True)
class Health:
    """Every SKU's or product's row, and the window they were measured over."""

    rows: list[HealthRow]
    window_end: dt.date | None  # the last day of both windows; None with no orders

    @property
    def first_day_30(self) -> dt.date | None:
        return self.window_end - dt.timedelta(days=SHORT_DAYS - 1) if self.window_end else None

    @property
    def first_day_90(self) -> dt.date | None:
        return self.window_end - dt.timedelta(days=LONG_DAYS - 1) if self.window_end else None


def days_of_cover(on_hand: int, units_90: int) -> float | None:
    """On hand ÷ (units sold in 90 days ÷ 90); None when nothing sold (no finite cover)."""
    if units_90 <= 0:
        return None
    return on_hand / (units_90 / LONG_DAYS)


def sell_through(units: int, on_hand: int) -> float | None:
    """Units sold ÷ (units sold + on hand); None when there was nothing to sell."""
    base = max(units, 0) + on_hand
    return None if base <= 0 else max(units, 0) / base


def weeks_since(last_sale: dt.datetime | None, end: dt.datetime | None) -> int | None:
    if last_sale is None or end is None:
        return None
    return max(0, (end - last_sale).days // 7)


def flag_of(on_hand: int, units_90: int, cover: float | None) -> Flag:
    if on_hand > 0 and units_90 <= 0:
        return Flag.dead
    if cover is not None and cover > EXCESS_COVER_DAYS:
        return Flag.excess
    if on_hand <= 0 and units_90 > 0:
        return Flag.out
    return Flag.ok


@dataclass(frozen=True)
class _SkuFacts:
    code: str
    product_code: str
    product_name: str | None
    color: str | None
    size: str | None
    unit_cost: Decimal | None
    on_hand: int
    units_30: int = 0
    units_90: int = 0
    sales_30: Decimal = Decimal(0)
    sales_90: Decimal = Decimal(0)
    last_sale: dt.datetime | None = None


StoreState = tuple[object, ...]
_MEMO: OrderedDict[tuple[object, ...], object] = OrderedDict()
_MEMO_SIZE = 64
_memo_lock = threading.Lock()


def store_state(session: Session) -> StoreState:
    """A cheap fingerprint of everything these figures read, taken in one statement.

    Every change of stock writes a movement, every import an import run, every
    sale an order line; ids only grow, so the newest ids (with the stock total
    and catalogue size as a second guard) change whenever the figures could.
    Each part is an index lookup or a scan of the small balance table; it is
    taken once per session (one request) and kept in ``session.info``.
    """
    known = session.info.get("soko_store_state")
    if known is not None:
        return cast(StoreState, known)
    row = session.execute(
        select(
            select(func.max(OrderLine.id)).scalar_subquery(),
            select(func.max(Order.ordered_at)).scalar_subquery(),
            select(func.max(Movement.id)).scalar_subquery(),
            select(func.max(ImportRun.id)).scalar_subquery(),
            select(func.max(Receipt.id)).scalar_subquery(),
            select(func.max(RestockNotice.id)).scalar_subquery(),
            select(func.max(PurchaseOrderLine.id)).scalar_subquery(),
            select(func.count(Sku.id)).scalar_subquery(),
            select(func.sum(Sku.stock_version)).scalar_subquery(),
            select(func.count(Balance.id)).scalar_subquery(),
            select(func.sum(Balance.on_hand)).scalar_subquery(),
            select(func.sum(Balance.reserved)).scalar_subquery(),
        )
    ).one()
    state = (str(session.get_bind().engine.url), *row)
    session.info["soko_store_state"] = state
    return state


def memoised(key: tuple[object, ...], compute: Callable[[], T]) -> T:
    """``compute()`` once per ``key`` (which holds a ``store_state``); the last few kept.

    The overview and the health table read every order line of three months;
    on a large store that takes seconds, while the figures change only when
    the store does. Values are immutable (frozen dataclasses), so sharing
    them between requests is safe.
    """
    with _memo_lock:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return cast(T, _MEMO[key])
    value = compute()
    with _memo_lock:
        _MEMO[key] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def build_health(session: Session, *, by_product: bool = False) -> Health:
    """Health rows of every SKU (or product, ``by_product``) in code order, memoised per
    store state."""
    key = ("health", by_product, *store_state(session))
    return memoised(key, lambda: _build_health(session, by_product=by_product))


def _build_health(session: Session, *, by_product: bool) -> Health:
    last = session.execute(select(func.max(Order.ordered_at))).scalar_one_or_none()
    end = dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time()) if last else None
    facts = _sku_facts(session, end)
    rows = _product_rows(facts, end) if by_product else [_sku_row(f, end) for f in facts]
    return Health(rows=rows, window_end=(end - dt.timedelta(days=1)).date() if end else None)


def _sku_facts(session: Session, end: dt.datetime | None) -> list[_SkuFacts]:
    on_hand = (
        select(Balance.sku_id, func.sum(Balance.on_hand).label("on_hand"))
        .group_by(Balance.sku_id)
        .subquery()
    )
    skus = session.execute(
        select(
            Sku.id,
            Sku.code,
            Product.code,
            Product.name,
            Sku.color,
            Sku.size,
            Sku.unit_cost,
            func.coalesce(on_hand.c.on_hand, 0),
        )
        .join(Product, Product.id == Sku.product_id)
        .outerjoin(on_hand, on_hand.c.sku_id == Sku.id)
        .order_by(Sku.code)
    ).all()
    sales: dict[int, tuple[int, int, Decimal, Decimal, dt.datetime | None]] = {}
    last_sale: dict[int, dt.datetime] = {}
    if end is not None:
        start_30 = end - dt.timedelta(days=SHORT_DAYS)
        start_90 = end - dt.timedelta(days=LONG_DAYS)
        is_sale = OrderLine.kind == "sale"
        sign = case((is_sale, literal(1)), else_=literal(-1))
        money = (OrderLine.quantity * OrderLine.unit_price - OrderLine.discount) * sign
        recent = Order.ordered_at >= start_30
        for sku_id, u30, u90, s30, s90, last in session.execute(
            select(
                OrderLine.sku_id,
                func.sum(case((recent, OrderLine.quantity * sign), else_=0)),
                func.sum(OrderLine.quantity * sign),
                func.sum(case((recent, money), else_=0)),
                func.sum(money),
                func.max(case((is_sale, Order.ordered_at))),
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.ordered_at >= start_90, Order.ordered_at < end)
            .group_by(OrderLine.sku_id)
        ):
            sales[sku_id] = (int(u30), int(u90), Decimal(s30), Decimal(s90), last)
        # Only SKUs that did not sell in 90 days need their older last sale; asking for
        # them by id walks the (sku_id, order_id) index instead of all of history.
        quiet = [row[0] for row in skus if sales.get(row[0], (0, 0, 0, 0, None))[4] is None]
        for chunk in range(0, len(quiet), ID_CHUNK):
            for sku_id, last in session.execute(
                select(OrderLine.sku_id, func.max(Order.ordered_at))
                .join(Order, Order.id == OrderLine.order_id)
                .where(
                    OrderLine.sku_id.in_(quiet[chunk : chunk + ID_CHUNK]),
                    is_sale,
                    Order.ordered_at < start_90,
                )
                .group_by(OrderLine.sku_id)
            ):
                last_sale[sku_id] = last
    facts = []
    for sku_id, code, product_code, product_name, color, size, cost, units in skus:
        u30, u90, s30, s90, recent_last = sales.get(sku_id, (0, 0, Decimal(0), Decimal(0), None))
        facts.append(
            _SkuFacts(
                code=code,
                product_code=product_code,
                product_name=product_name,
                color=color,
                size=size,
                unit_cost=cost,
                on_hand=int(units),
                units_30=u30,
                units_90=u90,
                sales_30=s30,
                sales_90=s90,
                last_sale=recent_last or last_sale.get(sku_id),
            )
        )
    return facts


def _row(
    *,
    code: str,
    product_code: str,
    name: str,
    detail: str,
    facts: Iterable[_SkuFacts],
    end: dt.datetime | None,
) -> HealthRow:
    items = list(facts)
    on_hand = sum(f.on_hand for f in items)
    units_90 = sum(f.units_90 for f in items)
    costed = [f for f in items if f.unit_cost is not None]
    lasts = [f.last_sale for f in items if f.last_sale is not None]
    last = max(lasts) if lasts else None
    cover = days_of_cover(on_hand, units_90)
    return HealthRow(
        code=code,
        product_code=product_code,
        name=name,
        detail=detail,
        on_hand=on_hand,
        units_30=sum(f.units_30 for f in items),
        units_90=units_90,
        sales_30=sum((f.sales_30 for f in items), Decimal(0)),
        sales_90=sum((f.sales_90 for f in items), Decimal(0)),
        last_sale=last,
        stock_value=sum((f.on_hand * f.unit_cost for f in costed if f.unit_cost), Decimal(0)),
        uncosted_units=sum(f.on_hand for f in items if f.unit_cost is None),
        sku_count=len(items),
        cover_days=cover,
        sell_through=sell_through(units_90, on_hand),
        weeks_since_sale=weeks_since(last, end),
        flag=flag_of(on_hand, units_90, cover),
    )


def _sku_row(f: _SkuFacts, end: dt.datetime | None) -> HealthRow:
    detail = " / ".join(part for part in (f.color, f.size) if part)
    return _row(
        code=f.code,
        product_code=f.product_code,
        name=f.product_name or f.product_code,
        detail=detail,
        facts=[f],
        end=end,
    )


def _product_rows(facts: list[_SkuFacts], end: dt.datetime | None) -> list[HealthRow]:
    by_product: dict[str, list[_SkuFacts]] = {}
    for f in facts:
        by_product.setdefault(f.product_code, []).append(f)
    return [
        _row(
            code=code,
            product_code=code,
            name=items[0].product_name or code,
            detail="",
            facts=items,
            end=end,
        )
        for code, items in sorted(by_product.items())
    ]
