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
from sqlalchemy.orm import Session

from soko.store import queries
from soko.store.queries import ChannelSales

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
    """Headline figures of the store, with sales over the last ``weeks`` weeks."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}, not {weeks}")
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
