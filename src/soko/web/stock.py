"""The Stock page: stock by SKU or product per location, and one SKU's detail.

Like every page, it parses the request, calls the store's queries and the
ledger service, and renders; no SQL here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from soko.api.auth import Scope
from soko.api.deps import SessionDep, SettingsDep
from soko.errors import ErrorCode, SokoError
from soko.ledger import preorders, service, transfers
from soko.ledger.rules import Mode
from soko.settings import Settings, local_now
from soko.store.queries import (
    STOCK_SORTS,
    LocationRow,
    list_channels,
    list_locations,
    set_components,
    sku_info,
    sku_movements,
    stock_page,
)
from soko.web.auth import UserDep
from soko.web.pages import PagesDep, render_page
from soko.web.render import Pages
from soko.web.users import WebUser

PAGE_SIZE = 50
MOVEMENTS_SHOWN = 50
MANY = 10_000  # more locations or channels than a seller has; both lists are small

# Columns read from the main warehouses out to the stores.
KIND_ORDER = {"warehouse": 0, "3pl": 1, "marketplace_warehouse": 2, "store": 3}

router = APIRouter(include_in_schema=False)


def ordered_locations(session: Session) -> list[LocationRow]:
    """Every location, warehouses first, then marketplace warehouses, then stores."""
    rows = list_locations(session, after=None, limit=MANY)
    return sorted(rows, key=lambda loc: (KIND_ORDER.get(loc.kind, len(KIND_ORDER)), loc.code))


def stock_link(*, by: str, q: str, sort: str, page: int = 1) -> str:
    """The list's URL with these choices; defaults are left out to keep links short."""
    params = [
        ("by", by if by == "product" else ""),
        ("q", q),
        ("sort", sort if sort != "sku" else ""),
    ]
    params.append(("page", str(page) if page > 1 else ""))
    kept = [(k, v) for k, v in params if v]
    return f"/stock?{urlencode(kept)}" if kept else "/stock"


@dataclass(frozen=True)
class Links:
    """The list's current choices; ``link(...)`` is its URL with some of them changed."""

    by: str
    q: str
    sort: str

    def __call__(
        self, *, by: str | None = None, sort: str | None = None, page: int = 1, q: str | None = None
    ) -> str:
        return stock_link(
            by=by or self.by, q=self.q if q is None else q, sort=sort or self.sort, page=page
        )


@router.get("/stock", response_class=HTMLResponse)
def stock_list_page(
    request: Request,
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    by: str = "sku",
    q: Annotated[str, Query(max_length=100)] = "",
    sort: str = "sku",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Stock by SKU or by product: on hand, reserved and available per location and in all."""
    by = "product" if by == "product" else "sku"
    sort = sort if sort in STOCK_SORTS else "sku"
    q = q.strip()
    found = stock_page(
        session,
        by_product=by == "product",
        query=q,
        sort=sort,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages_count = max(1, -(-found.total_rows // PAGE_SIZE))
    if page > pages_count:  # past the end (e.g. a bookmarked page of a narrower filter)
        page = pages_count
        found = stock_page(
            session,
            by_product=by == "product",
            query=q,
            sort=sort,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
    return render_page(
        request,
        pages,
        settings.default_locale,
        "stock.html",
        user=user,
        page="stock",
        view=found,
        locations=ordered_locations(session),
        by=by,
        q=q,
        sort=sort,
        page_number=page,
        pages_count=pages_count,
        first_row=(page - 1) * PAGE_SIZE + 1,
        link=Links(by=by, q=q, sort=sort),
    )


@router.get("/stock/{sku:path}", response_class=HTMLResponse)
def sku_stock_page(
    request: Request,
    sku: Annotated[str, Path(min_length=1, max_length=64)],
    user: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
    done: str = "",
) -> Response:
    """One SKU: balances per location, what each channel may sell now, and its movements."""
    return render_sku(
        request, sku, user=user, session=session, settings=settings, pages=pages, done=done
    )


def render_sku(
    request: Request,
    sku: str,
    *,
    user: WebUser,
    session: Session,
    settings: Settings,
    pages: Pages,
    done: str = "",
    form: str = "",
    form_error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The SKU's page; after a refused change, with the form that failed, its message and
    what was typed (``values``), so nothing has to be entered again."""
    info = sku_info(session, sku)
    if info is None:
        raise SokoError(ErrorCode.unknown_sku, f"No SKU {sku!r} in the store.")
    now = local_now(settings)
    conn = session.connection()
    balances = service.balances(conn, sku, mode=Mode(settings.allocation_mode), now=now)
    rules = service.rules_for(conn, sku, now)
    return render_page(
        request,
        pages,
        settings.default_locale,
        "stock_sku.html",
        user=user,
        status_code=status_code,
        page="stock",
        info=info,
        balances=balances,
        rules=rules,
        mode=settings.allocation_mode,
        locations={loc.code: loc for loc in ordered_locations(session)},
        channels={c.code: c for c in list_channels(session, after=None, limit=MANY)},
        movements=sku_movements(session, sku, limit=MOVEMENTS_SHOWN),
        movements_shown=MOVEMENTS_SHOWN,
        in_transit=transfers.in_transit(conn, sku),
        preorders=preorders.summary(conn, sku),
        may_change=user.may(Scope.adjust),
        is_set=bool(set_components(session, sku)),
        done=done,
        form=form,
        form_error=form_error,
        values=values or {},
    )
