"""The Sell-through & health page: per SKU or product, what sells, what sits and what it ties up.

The figures come from ``soko.insight.health``; this module only names the
columns, turns rows into the table's mappings and answers the page or its
CSV / Excel download (same filter and order as on screen, every row).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from soko.api.deps import SessionDep, SettingsDep
from soko.insight.health import (
    DEAD_DAYS,
    EXCESS_COVER_DAYS,
    LONG_DAYS,
    Flag,
    HealthRow,
    build_health,
    memoised,
    store_state,
)
from soko.insight.overview import round_money
from soko.web.auth import UserDep
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page
from soko.web.tables import (
    SEARCH_KEY,
    Column,
    Kind,
    Row,
    TableQuery,
    apply,
    download,
    page_of,
)

PATH = "/inventory-health"

FLAGS = {
    Flag.dead.value: "Dead stock",
    Flag.excess.value: "Excess",
    Flag.out.value: "Out of stock",
    Flag.ok.value: "Healthy",
}


def figure_columns() -> list[Column]:
    """The figures, the same for SKUs and products (labels are English messages)."""
    return [
        Column("on_hand", "On hand", Kind.int, default_desc=True),
        Column("units_30", "Sold, 30 days", Kind.int, default_desc=True, note="units"),
        Column("units_90", "Sold, 90 days", Kind.int, default_desc=True, note="units"),
        Column("sales_30", "Sales, 30 days", Kind.money, default_desc=True),
        Column("sales_90", "Sales, 90 days", Kind.money, default_desc=True),
        Column("cover_days", "Days of cover", Kind.days, default_desc=True),
        Column("sell_through", "Sell-through", Kind.percent, default_desc=True, note="90 days"),
        Column("weeks_since_sale", "Weeks since last sale", Kind.int, default_desc=True),
        Column("flag", "Status", Kind.choice, choices=FLAGS),
        Column("stock_value", "Stock value", Kind.money, default_desc=True),
    ]


def columns_for(by: str) -> list[Column]:
    first = Column("code", "Product" if by == "product" else "SKU code", searchable=True)
    return [first, *figure_columns()]


def file_columns_for(by: str) -> list[Column]:
    """The download's columns: the screen's, with the names a spreadsheet needs beside the code."""
    names = [Column("name", "Product name")]
    if by == "sku":
        names = [Column("product_code", "Product"), *names, Column("detail", "Colour / size")]
    columns = columns_for(by)
    return [columns[0], *names, *columns[1:]]


def table_row(row: HealthRow, *, by: str, currency: str) -> Row:
    """One row for the table: raw values by column key, money rounded to the currency."""
    if by == "product":
        href = f"{PATH}?q={quote(row.code)}"
        sub = row.name if row.name != row.code else ""
    else:
        href = f"/stock/{quote(row.code, safe='')}"
        sub = " · ".join(part for part in (row.name, row.detail) if part)
    return {
        "code": row.code,
        "product_code": row.product_code,
        "name": row.name,
        "detail": row.detail,
        "on_hand": row.on_hand,
        "units_30": row.units_30,
        "units_90": row.units_90,
        "sales_30": round_money(row.sales_30, currency),
        "sales_90": round_money(row.sales_90, currency),
        "cover_days": row.cover_days,
        "sell_through": row.sell_through,
        "weeks_since_sale": row.weeks_since_sale,
        "flag": row.flag.value,
        "stock_value": round_money(row.stock_value, currency),
        "_href": href,
        "_sub": sub,
        SEARCH_KEY: f"{row.product_code} {row.name} {row.detail}",
    }


router = APIRouter(include_in_schema=False)


@router.get(PATH, response_class=HTMLResponse)
def health_page(
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    by: str = "sku",
) -> Response:
    """Sell-through and health by SKU or product; ``format=csv|xlsx`` downloads the rows."""
    by = "product" if by == "product" else "sku"
    health = build_health(session, by_product=by == "product")
    columns = columns_for(by)
    query = TableQuery.parse(
        request.query_params,
        columns,
        default_sort="stock_value",
        default_desc=True,
        extra={"by": "product"} if by == "product" else {},
    )
    # The rows, and each filter and order of them, are kept per store state: paging and
    # re-sorting a large catalogue then cost a slice, not a pass over every SKU.
    state = store_state(session)
    rows = memoised(
        ("health-rows", by, settings.currency, *state),
        lambda: [table_row(r, by=by, currency=settings.currency) for r in health.rows],
    )
    kept = memoised(
        (
            "health-view",
            by,
            settings.currency,
            query.q,
            query.sort,
            query.desc,
            tuple(sorted(query.filters.items())),
            *state,
        ),
        lambda: apply(rows, columns, query),
    )
    locale, _ = choose_locale(request, settings.default_locale)
    file_format = request.query_params.get("format", "")
    if file_format in ("csv", "xlsx"):
        name = "inventory-health-products" if by == "product" else "inventory-health-skus"
        return download(
            kept,
            file_columns_for(by),
            lambda message: pages.gettext(locale, message),
            file_format=file_format,
            encoding=request.query_params.get("encoding", "utf-8"),
            name=name,
        )
    context: dict[str, Any] = {
        "table": page_of(rows, columns, query, table_id="health-table", path=PATH, filtered=kept),
        "health": health,
        "by": by,
        "long_days": LONG_DAYS,
        "dead_days": DEAD_DAYS,
        "excess_days": EXCESS_COVER_DAYS,
        "flags": FLAGS,
        "flag_counts": {
            flag: sum(1 for r in health.rows if r.flag.value == flag) for flag in FLAGS
        },
    }
    return render_page(
        request, pages, settings.default_locale, "health.html", user=user, page="health", **context
    )
