"""``GET /api/v1/kpis``: the overview page's headline figures, for dashboards and checks."""

from __future__ import annotations

from fastapi import APIRouter

from soko.api.deps import SessionDep, SettingsDep
from soko.api.schemas import KpisPublic, money
from soko.insight.overview import DEFAULT_WEEKS, build_overview

router = APIRouter(tags=["overview"])


@router.get("/kpis", response_model=KpisPublic)
def kpis(session: SessionDep, settings: SettingsDep) -> KpisPublic:
    """Catalogue size, stock units and value, and sales totals over the overview's window.

    The figures are the overview page's, computed by the same code over the
    same window (the last four weeks up to the last order in the store).
    """
    view = build_overview(session, currency=settings.currency, weeks=DEFAULT_WEEKS)
    currency = view.currency
    return KpisPublic(
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
    )
