"""Suppliers: lead times measured from receipts (distribution, on-time and fill rate), and the
forecast export a supplier receives (P10)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from soko.api.deps import StoreDep
from soko.errors import ErrorCode, SokoError
from soko.planning.suppliers import lead_times, receipt_history, supplier_stats
from soko.store.tables import Supplier
from soko.web.auth import UserDep
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page

router = APIRouter(include_in_schema=False)


@router.get("/suppliers", response_class=HTMLResponse)
def suppliers_page(request: Request, user: UserDep, store: StoreDep, pages: PagesDep) -> Response:
    """Each supplier's promised and measured lead time, on-time and fill rate, with a chart."""
    locale, _ = choose_locale(request, store.settings.default_locale)
    with store.engine.connect() as conn:
        suppliers = conn.execute(
            select(
                Supplier.code, Supplier.name, Supplier.lead_time_days, Supplier.country
            ).order_by(Supplier.code)
        ).all()
        history = receipt_history(conn)
    stats = {r["supplier"]: r for r in supplier_stats(history).iter_rows(named=True)}
    chart: dict[str, Any] = {
        "series": [
            {"name": s.code, "days": lead_times(history, s.code), "promised": s.lead_time_days}
            for s in suppliers
            if s.code in stats
        ],
        "axis_title": pages.gettext(locale, "Lead time (days)"),
        "promised_label": pages.gettext(locale, "Promised"),
    }
    return render_page(
        request,
        pages,
        store.settings.default_locale,
        "suppliers.html",
        user=user,
        page="orders",
        suppliers=suppliers,
        stats=stats,
        chart=chart,
    )


@router.get("/suppliers/{code}/forecast.csv")
def supplier_forecast_export(
    code: Annotated[str, Path(min_length=1, max_length=64)],
    user: UserDep,
    store: StoreDep,
    weeks: Annotated[int, Query(ge=1, le=13)] = 8,
) -> Response:
    """The next weeks' forecast per SKU of this supplier, for the supplier (UTF-8 CSV)."""
    from soko.planning.exports import supplier_forecast_csv

    del user
    with store.engine.connect() as conn:
        if conn.execute(select(Supplier.id).where(Supplier.code == code)).scalar() is None:
            raise SokoError(ErrorCode.not_found, f"There is no supplier {code!r}.")
    body = supplier_forecast_csv(store.engine, code, weeks=weeks)
    name = f"forecast-{code}-{weeks}w.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )
