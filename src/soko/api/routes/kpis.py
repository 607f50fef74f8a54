"""``GET /api/v1/kpis``: the overview page's headline figures, for dashboards and checks."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from soko.api.deps import SessionDep, SettingsDep
from soko.api.schemas import KpisPublic, Money, money
from soko.insight.overview import (
    DEFAULT_WEEKS,
    build_kpis,
    build_overview,
    days_of_inventory,
    fill_rate,
    rounded_days,
    rounded_share,
    rounded_turnover,
    turnover,
)

router = APIRouter(tags=["overview"])


class KpiWeekPublic(BaseModel):
    """One week of the trend the overview draws under each figure."""

    week_start: dt.date
    sales: Money
    stock_value: Money = Field(description="Estimated stock value at cost at the week's end.")
    turnover: float | None
    days_of_inventory: int | None
    fill_rate: float | None


class KpisTodayPublic(KpisPublic):
    """The overview's figures: catalogue and stock, and the window's sales and ratios."""

    sales: Money = Field(description="Net sales in the window (same as `revenue`).")
    turnover: float | None = Field(
        description="COGS ÷ average stock value at cost, a year's worth; one decimal."
    )
    days_of_inventory: int | None = Field(
        description="Days the average stock lasts at the window's cost of sales."
    )
    fill_rate: float | None = Field(
        description="Units sold ÷ (units sold + restock requests), a share to three decimals."
    )
    unmet_units: int = Field(description="Restock requests in the window (demand not served).")
    weekly: list[KpiWeekPublic] = Field(description="The last 12 weeks, oldest first.")


@router.get("/kpis", response_model=KpisTodayPublic)
def kpis(session: SessionDep, settings: SettingsDep) -> KpisTodayPublic:
    """Catalogue size, stock units and value, sales, turnover, days of inventory and fill
    rate over the overview's window, with their weekly trend.

    The figures are the overview page's, computed by the same code over the
    same window (the last four weeks up to the last order in the store).
    """
    view = build_overview(session, currency=settings.currency, weeks=DEFAULT_WEEKS)
    figures = build_kpis(session, currency=settings.currency, weeks=DEFAULT_WEEKS)
    currency = view.currency
    return KpisTodayPublic(
        currency=currency,
        sku_count=view.sku_count,
        product_count=view.product_count,
        stock_units=view.stock_units,
        stock_value=money(view.stock_value, currency),
        uncosted_units=view.uncosted_units,
        weeks=view.weeks,
        first_day=view.window.first_day if view.window else None,
        last_day=view.window.last_day if view.window else None,
        revenue=money(view.total_revenue, currency),
        order_count=view.total_orders,
        units=view.total_units,
        sales=money(figures.sales if figures else view.total_revenue, currency),
        turnover=rounded_turnover(figures.turnover) if figures else None,
        days_of_inventory=rounded_days(figures.days_of_inventory) if figures else None,
        fill_rate=rounded_share(figures.fill_rate) if figures else None,
        unmet_units=figures.unmet if figures else 0,
        weekly=[
            KpiWeekPublic(
                week_start=w.start,
                sales=money(w.revenue, currency),
                stock_value=money(w.stock_value_end, currency),
                turnover=rounded_turnover(turnover(w.cogs, w.average_stock_value, 7)),
                days_of_inventory=rounded_days(days_of_inventory(w.cogs, w.average_stock_value, 7)),
                fill_rate=rounded_share(fill_rate(w.units_sold, w.unmet)),
            )
            for w in (figures.weeks if figures else [])
        ],
    )
