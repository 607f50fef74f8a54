"""Read-only lists of SKUs, locations and channels, paged by code."""

from __future__ import annotations

from fastapi import APIRouter

from soko.api.deps import SessionDep, SettingsDep
from soko.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor, next_cursor
from soko.api.schemas import (
    ChannelPublic,
    ChannelsPublic,
    LocationPublic,
    LocationsPublic,
    SkuPublic,
    SkusPublic,
    optional_money,
)
from soko.store import queries

router = APIRouter()


@router.get("/skus", response_model=SkusPublic, tags=["catalogue"])
def list_skus(
    session: SessionDep,
    settings: SettingsDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
) -> SkusPublic:
    """SKUs in code order with their product, cost, price and units on hand."""
    rows = queries.list_skus(session, after=decode_cursor(cursor), limit=limit + 1)
    currency = settings.currency
    return SkusPublic(
        items=[
            SkuPublic(
                code=r.code,
                product_code=r.product_code,
                product_name=r.product_name,
                color=r.color,
                size=r.size,
                jan=r.jan,
                unit_cost=optional_money(r.unit_cost, currency),
                price=optional_money(r.price, currency),
                on_hand=r.on_hand,
            )
            for r in rows[:limit]
        ],
        next_cursor=next_cursor([r.code for r in rows], limit),
    )


@router.get("/locations", response_model=LocationsPublic, tags=["catalogue"])
def list_locations(
    session: SessionDep, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> LocationsPublic:
    """Warehouses, stores and other locations in code order."""
    rows = queries.list_locations(session, after=decode_cursor(cursor), limit=limit + 1)
    return LocationsPublic(
        items=[
            LocationPublic(
                code=r.code,
                name=r.name,
                kind=r.kind,
                prefecture=r.prefecture,
                channel_code=r.channel_code,
            )
            for r in rows[:limit]
        ],
        next_cursor=next_cursor([r.code for r in rows], limit),
    )


@router.get("/channels", response_model=ChannelsPublic, tags=["catalogue"])
def list_channels(
    session: SessionDep, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> ChannelsPublic:
    """Sales channels (own web shop, marketplaces, stores) in code order."""
    rows = queries.list_channels(session, after=decode_cursor(cursor), limit=limit + 1)
    return ChannelsPublic(
        items=[ChannelPublic(code=r.code, name=r.name, kind=r.kind) for r in rows[:limit]],
        next_cursor=next_cursor([r.code for r in rows], limit),
    )
