"""``GET /api/v1/overview``: the headline figures the overview page shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from soko.api.deps import SessionDep, SettingsDep
from soko.api.schemas import ChannelSalesPublic, OverviewPublic, SalesPublic, money
from soko.insight.overview import MAX_WEEKS, Overview, build_overview
from soko.settings import Settings, in_shop_zone

router = APIRouter(tags=["overview"])


@router.get("/overview", response_model=OverviewPublic)
def overview(
    session: SessionDep,
    settings: SettingsDep,
    weeks: Annotated[
        int, Query(ge=1, le=MAX_WEEKS, description="Length of the sales window in weeks.")
    ] = 4,
) -> OverviewPublic:
    """SKUs, products, stock units and value, and sales by channel.

    Sales cover the `weeks` weeks that end with the day of the last order in
    the store (not today), so imported history shows its most recent weeks.
    Revenue is net of line discounts, with returns subtracted.
    """
    return overview_public(
        build_overview(session, currency=settings.currency, weeks=weeks), settings
    )


def overview_public(view: Overview, settings: Settings) -> OverviewPublic:
    """The API's form of the overview; money in the currency's exact form."""
    currency = view.currency
    return OverviewPublic(
        currency=currency,
        sku_count=view.sku_count,
        product_count=view.product_count,
        stock_units=view.stock_units,
        stock_value=money(view.stock_value, currency),
        uncosted_units=view.uncosted_units,
        last_order_at=in_shop_zone(view.last_order_at, settings) if view.last_order_at else None,
        sales=SalesPublic(
            weeks=view.weeks,
            first_day=view.window.first_day if view.window else None,
            last_day=view.window.last_day if view.window else None,
            by_channel=[
                ChannelSalesPublic(
                    code=c.code,
                    name=c.name,
                    kind=c.kind,
                    units=c.units_sold - c.units_returned,
                    units_sold=c.units_sold,
                    units_returned=c.units_returned,
                    revenue=money(c.revenue, currency),
                    order_count=c.order_count,
                )
                for c in view.channels
            ],
        ),
    )
