"""Response models: one family per resource (``SkuPublic`` for an item, ``SkusPublic`` for a page).

Money leaves the API exactly: an integer in currencies without a minor unit
(JPY) and a decimal string otherwise, never a float that a client would
round differently.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict, Field

from soko.insight.overview import round_money

Money = Annotated[
    int | str,
    Field(
        description="An integer when the currency has no minor unit (JPY), else a decimal string."
    ),
]


def money(amount: Decimal, currency: str) -> int | str:
    """``amount`` in the API's money form for ``currency``."""
    rounded = round_money(amount, currency)
    return int(rounded) if get_currency_precision(currency) == 0 else str(rounded)


def optional_money(amount: Decimal | None, currency: str) -> int | str | None:
    return None if amount is None else money(amount, currency)


class HealthPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    status: Literal["ok"] = "ok"
    database: str = Field(description="The store's SQL dialect: `sqlite` or `postgresql`.")
    schema_state: Literal["current"] = Field(
        default="current", alias="schema", description="`current` when migrations are at head."
    )


class ChannelSalesPublic(BaseModel):
    code: str
    name: str | None
    kind: str
    units: int = Field(description="Units sold minus units returned in the window.")
    units_sold: int
    units_returned: int
    revenue: Money = Field(description="Σ quantity × unit_price − discount, returns subtracted.")
    order_count: int = Field(description="Orders with at least one sale line in the window.")


class SalesPublic(BaseModel):
    weeks: int
    first_day: dt.date | None = Field(description="First day of the window; null with no orders.")
    last_day: dt.date | None = Field(description="Day of the last order in the store.")
    by_channel: list[ChannelSalesPublic]


class OverviewPublic(BaseModel):
    currency: str
    sku_count: int
    product_count: int
    stock_units: int
    stock_value: Money = Field(description="Σ on_hand × unit_cost over SKUs with a unit cost.")
    uncosted_units: int = Field(description="Units on hand of SKUs without a unit cost.")
    last_order_at: dt.datetime | None = Field(description="Shop local time, as imported.")
    sales: SalesPublic


class SkuPublic(BaseModel):
    code: str
    product_code: str
    product_name: str | None
    color: str | None
    size: str | None
    jan: str | None
    unit_cost: Money | None
    price: Money | None
    on_hand: int = Field(description="Units on hand over all locations.")


class SkusPublic(BaseModel):
    items: list[SkuPublic]
    next_cursor: str | None = Field(description="`cursor` of the next page; null on the last.")


class LocationPublic(BaseModel):
    code: str
    name: str | None
    kind: str
    prefecture: str | None
    channel_code: str | None


class LocationsPublic(BaseModel):
    items: list[LocationPublic]
    next_cursor: str | None


class ChannelPublic(BaseModel):
    code: str
    name: str | None
    kind: str


class ChannelsPublic(BaseModel):
    items: list[ChannelPublic]
    next_cursor: str | None


class KpisPublic(BaseModel):
    """The overview page's headline figures, the same numbers the page shows."""

    currency: str
    sku_count: int
    product_count: int
    stock_units: int = Field(description="Units on hand over all locations.")
    stock_value: Money = Field(description="Σ on_hand × unit_cost over SKUs with a unit cost.")
    uncosted_units: int = Field(description="Units on hand of SKUs without a unit cost.")
    weeks: int = Field(description="Length of the sales window in weeks.")
    first_day: dt.date | None = Field(description="First day of the window; null with no orders.")
    last_day: dt.date | None = Field(description="Day of the last order in the store.")
    revenue: Money = Field(description="Net revenue in the window, returns subtracted.")
    order_count: int = Field(description="Orders in the window.")
    units: int = Field(description="Units sold minus units returned in the window.")
