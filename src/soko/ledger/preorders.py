"""Pre-orders (予約販売): selling units that are on their way, up to a limit the seller sets.

A channel may take orders against incoming stock — open purchase-order lines
and transfers in transit — when the seller allows it for the SKU, for every
channel together or for one channel (``preorder_limits``; no limit set means
no pre-orders). A pre-order first tries to hold units on hand like any
reservation; only what the channel cannot sell now waits as a pre-order, and it
is confirmed — it becomes a held reservation (no expiry) — when stock arrives,
oldest first.

Two promises, both checked under the SKU's stock lock so that they hold under
any concurrency: waiting pre-orders never exceed the seller's limits, and never
exceed the units incoming (in all, and at the locations that feed the channel).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from soko.errors import ErrorCode, SokoError
from soko.ledger import service
from soko.ledger.rules import Mode
from soko.store.tables import Channel, Preorder, PreorderLimit, Sku, table_of


@dataclass(frozen=True)
class PreorderView:
    id: str
    sku: str
    channel: str
    quantity: int
    status: str  # waiting, confirmed, cancelled
    created_at: dt.datetime
    closed_at: dt.datetime | None
    reservation_id: str | None


def _ordered_id() -> str:
    """32 hex digits that sort in the order they were made (the clock, then chance), so that
    pre-orders made in the same instant still queue first come, first served."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def get_preorder(conn: Connection, preorder_id: str) -> PreorderView:
    row = conn.execute(
        select(
            Preorder.id,
            Sku.code,
            Channel.code,
            Preorder.quantity,
            Preorder.status,
            Preorder.created_at,
            Preorder.closed_at,
            Preorder.reservation_id,
        )
        .join(Sku, Sku.id == Preorder.sku_id)
        .join(Channel, Channel.id == Preorder.channel_id)
        .where(Preorder.id == preorder_id)
    ).one_or_none()
    if row is None:
        raise SokoError(ErrorCode.not_found, f"No pre-order {preorder_id!r}.")
    return PreorderView(*row)


def set_limit(conn: Connection, *, sku: str, channel: str | None, max_units: int) -> None:
    """Allow up to ``max_units`` waiting pre-orders of ``sku`` — for ``channel``, or for every
    channel together when it is None. 0 stops new pre-orders (waiting ones stay)."""
    if max_units < 0:
        raise SokoError(ErrorCode.invalid_quantity, "A pre-order limit is 0 units or more.")
    the_sku = service.lock_sku_by_code(conn, sku)
    the_channel = service.channel_id(conn, channel) if channel else None
    same = (
        PreorderLimit.channel_id.is_(None)
        if the_channel is None
        else PreorderLimit.channel_id == the_channel
    )
    changed = conn.execute(
        update(PreorderLimit)
        .where(PreorderLimit.sku_id == the_sku, same)
        .values(max_units=max_units)
    ).rowcount
    if not changed:
        conn.execute(
            table_of(PreorderLimit)
            .insert()
            .values(sku_id=the_sku, channel_id=the_channel, max_units=max_units)
        )


def limits(conn: Connection, sku_id: int) -> dict[int | None, int]:
    """The SKU's limits by channel id (None: every channel together)."""
    rows = conn.execute(
        select(PreorderLimit.channel_id, PreorderLimit.max_units).where(
            PreorderLimit.sku_id == sku_id
        )
    ).all()
    return {channel: int(units) for channel, units in rows}


def _waiting(conn: Connection, sku_id: int, channel_id: int | None = None) -> int:
    query = select(func.coalesce(func.sum(Preorder.quantity), 0)).where(
        Preorder.sku_id == sku_id, Preorder.status == "waiting"
    )
    if channel_id is not None:
        query = query.where(Preorder.channel_id == channel_id)
    return int(conn.execute(query).scalar_one())


def preorder(
    conn: Connection,
    *,
    sku: str,
    channel: str,
    quantity: int,
    idempotency_key: str,
    now: dt.datetime,
    mode: Mode,
) -> tuple[PreorderView, bool]:
    """Sell ``quantity`` units: held now when the channel can sell them, else a pre-order
    against incoming stock within the seller's limits; returns it and whether it is new.

    Refused with ``insufficient_stock`` naming what is missing: no limit set, the limit
    reached, or more than is incoming.
    """
    if quantity <= 0:
        raise SokoError(
            ErrorCode.invalid_quantity, "A pre-order is for a positive number of units."
        )
    the_channel = service.channel_id(conn, channel)
    the_sku = service.lock_sku_by_code(conn, sku)
    existing = conn.execute(
        select(Preorder.id).where(Preorder.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return get_preorder(conn, existing), False
    new_id = _ordered_id()
    status, reservation_id, closed = "waiting", None, None
    if not _waiting(conn, the_sku):  # nobody queues ahead: on-hand stock is served first
        try:
            held, _ = service.reserve(
                conn,
                sku=sku,
                channel=channel,
                quantity=quantity,
                idempotency_key=f"preorder:{new_id}",
                now=now,
                mode=mode,
                ttl_seconds=None,
            )
            status, reservation_id, closed = "confirmed", held.id, now
        except SokoError as error:
            if error.code != ErrorCode.insufficient_stock:
                raise
    if status == "waiting":
        _check_room(conn, the_sku, the_channel, sku, channel, quantity, now)
    conn.execute(
        table_of(Preorder)
        .insert()
        .values(
            id=new_id,
            sku_id=the_sku,
            channel_id=the_channel,
            quantity=quantity,
            status=status,
            created_at=now,
            closed_at=closed,
            idempotency_key=idempotency_key,
            reservation_id=reservation_id,
        )
    )
    return get_preorder(conn, new_id), True


def _check_room(
    conn: Connection,
    the_sku: int,
    the_channel: int,
    sku: str,
    channel: str,
    quantity: int,
    now: dt.datetime,
) -> None:
    """Refuse a pre-order beyond the seller's limits or the units incoming."""
    allowed = limits(conn, the_sku)
    if the_channel not in allowed and None not in allowed:
        raise SokoError(
            ErrorCode.insufficient_stock,
            f"{channel} cannot sell {quantity} of {sku} now, and pre-orders of {sku} "
            "are not enabled (set a pre-order limit).",
        )
    waiting_all = _waiting(conn, the_sku)
    waiting_channel = _waiting(conn, the_sku, the_channel)
    for scope, cap, waiting in (
        (channel, allowed.get(the_channel), waiting_channel),
        ("all channels", allowed.get(None), waiting_all),
    ):
        if cap is not None and waiting + quantity > cap:
            raise SokoError(
                ErrorCode.insufficient_stock,
                f"The pre-order limit of {sku} for {scope} is {cap}; {waiting} are waiting, "
                f"{quantity} asked.",
            )
    incoming = service.incoming_by_location(conn, the_sku)
    rule = service.rules_for(conn, sku, now).get(channel)
    feeding = sum(units for loc, units in incoming.items() if rule and loc in rule.locations)
    if waiting_all + quantity > sum(incoming.values()) or waiting_channel + quantity > feeding:
        raise SokoError(
            ErrorCode.insufficient_stock,
            f"Only {feeding} of {sku} are incoming for {channel} "
            f"({sum(incoming.values())} in all) and {waiting_all} are pre-ordered; "
            f"{quantity} asked.",
        )


def cancel(conn: Connection, preorder_id: str, *, now: dt.datetime) -> PreorderView:
    """Withdraw a waiting pre-order; cancelling twice changes nothing. A confirmed one is a
    held reservation: release that instead."""
    found = conn.execute(
        select(Preorder.sku_id).where(Preorder.id == preorder_id)
    ).scalar_one_or_none()
    if found is None:
        raise SokoError(ErrorCode.not_found, f"No pre-order {preorder_id!r}.")
    service.lock_skus(conn, [int(found)])
    view = get_preorder(conn, preorder_id)
    if view.status == "confirmed":
        raise SokoError(
            ErrorCode.reservation_closed,
            f"Pre-order {preorder_id} was confirmed as reservation {view.reservation_id}: "
            "release the reservation instead.",
        )
    conn.execute(
        update(Preorder)
        .where(Preorder.id == preorder_id, Preorder.status == "waiting")
        .values(status="cancelled", closed_at=now)
    )
    return get_preorder(conn, preorder_id)


def fill_waiting(conn: Connection, sku_id: int, *, now: dt.datetime, mode: Mode) -> int:
    """Confirm waiting pre-orders of a SKU whose units arrived, oldest first; how many.

    Called by :func:`soko.ledger.service.record_movement` after stock comes in, under
    the SKU's lock. Strictly in order: a later, smaller pre-order never overtakes an
    earlier one that the channel still cannot serve.
    """
    waiting = conn.execute(
        select(Preorder.id, Preorder.quantity, Channel.code, Sku.code)
        .join(Channel, Channel.id == Preorder.channel_id)
        .join(Sku, Sku.id == Preorder.sku_id)
        .where(Preorder.sku_id == sku_id, Preorder.status == "waiting")
        .order_by(Preorder.created_at, Preorder.id)
    ).all()
    filled = 0
    for preorder_id, quantity, channel, sku in waiting:
        try:
            held, _ = service.reserve(
                conn,
                sku=sku,
                channel=channel,
                quantity=int(quantity),
                idempotency_key=f"preorder:{preorder_id}",
                now=now,
                mode=mode,
                ttl_seconds=None,
            )
        except SokoError as error:
            if error.code == ErrorCode.insufficient_stock:
                break
            raise
        conn.execute(
            update(Preorder)
            .where(Preorder.id == preorder_id)
            .values(status="confirmed", closed_at=now, reservation_id=held.id)
        )
        filled += 1
    return filled


@dataclass(frozen=True)
class PreorderSummary:
    """A SKU's pre-orders for its Stock page."""

    limits: dict[str | None, int]  # channel code (None: every channel together) -> units
    waiting: dict[str, int]  # channel code -> units waiting
    incoming: int  # units on their way, in all


def summary(conn: Connection, sku: str) -> PreorderSummary:
    the_sku = service.sku_id(conn, sku)
    codes = dict(conn.execute(select(Channel.id, Channel.code)).all())
    waiting = conn.execute(
        select(Channel.code, func.sum(Preorder.quantity))
        .join(Channel, Channel.id == Preorder.channel_id)
        .where(Preorder.sku_id == the_sku, Preorder.status == "waiting")
        .group_by(Channel.code)
    ).all()
    return PreorderSummary(
        limits={
            (codes[c] if c is not None else None): units
            for c, units in limits(conn, the_sku).items()
        },
        waiting={str(c): int(q) for c, q in waiting},
        incoming=sum(service.incoming_by_location(conn, the_sku).values()),
    )
