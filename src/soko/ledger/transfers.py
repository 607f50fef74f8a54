"""Transfers between locations: units leave the source at once and arrive when received.

A transfer is two movements of the ledger with a trip between them: creating
it records ``transfer_out`` at the source (the units are no longer there to
sell), and receiving it records ``transfer_in`` at the destination. While the
units travel they are *incoming* at the destination — like an open purchase
order — and are listed as in transit; no channel can sell them yet, because
nobody can ship what is on a truck.

A set product (bundle, 福袋) holds no stock of its own, so it is not moved:
its components are.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.orm import aliased

from soko.errors import ErrorCode, SokoError
from soko.ledger import service
from soko.store.tables import Location, SetComponent, Sku, Transfer, table_of


@dataclass(frozen=True)
class TransferView:
    id: str
    sku: str
    from_location: str
    to_location: str
    quantity: int
    status: str  # in_transit, received
    created_at: dt.datetime
    received_at: dt.datetime | None
    actor: str
    reason: str | None


def _select() -> Any:  # a Select of the TransferView columns
    source, destination = aliased(Location), aliased(Location)
    return (
        select(
            Transfer.id,
            Sku.code,
            source.code,
            destination.code,
            Transfer.quantity,
            Transfer.status,
            Transfer.created_at,
            Transfer.received_at,
            Transfer.actor,
            Transfer.reason,
        )
        .join(Sku, Sku.id == Transfer.sku_id)
        .join(source, source.id == Transfer.from_location_id)
        .join(destination, destination.id == Transfer.to_location_id)
    )


def get_transfer(conn: Connection, transfer_id: str) -> TransferView:
    row = conn.execute(_select().where(Transfer.id == transfer_id)).one_or_none()
    if row is None:
        raise SokoError(ErrorCode.not_found, f"No transfer {transfer_id!r}.")
    return TransferView(*row)


def in_transit(conn: Connection, sku: str | None = None) -> list[TransferView]:
    """Transfers on their way, oldest first; of one SKU when ``sku`` is given."""
    query = _select().where(Transfer.status == "in_transit")
    if sku is not None:
        query = query.where(Sku.code == sku)
    return [TransferView(*row) for row in conn.execute(query.order_by(Transfer.created_at))]


def create_transfer(
    conn: Connection,
    *,
    sku: str,
    from_location: str,
    to_location: str,
    quantity: int,
    idempotency_key: str,
    actor: str,
    now: dt.datetime,
    reason: str | None = None,
) -> tuple[TransferView, bool]:
    """Send ``quantity`` units from one location to another; returns it and whether it is new.

    The units leave the source now (a ``transfer_out`` movement, refused with
    ``negative_stock`` when fewer are free there) and stay incoming at the
    destination until :func:`receive_transfer`. Replaying the key returns the
    first transfer and moves nothing.
    """
    if quantity <= 0:
        raise SokoError(ErrorCode.invalid_quantity, "A transfer moves a positive number of units.")
    if from_location == to_location:
        raise SokoError(
            ErrorCode.validation_error,
            f"A transfer goes between two locations; both are {from_location!r}.",
        )
    existing = conn.execute(
        select(Transfer.id).where(Transfer.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if existing is not None:
        return get_transfer(conn, existing), False
    the_sku = service.sku_id(conn, sku)
    if conn.execute(
        select(SetComponent.id).where(SetComponent.set_sku_id == the_sku).limit(1)
    ).first():
        raise SokoError(
            ErrorCode.validation_error,
            f"{sku} is a set product and holds no stock of its own: transfer its components.",
        )
    source = service.location_id(conn, from_location)
    destination = service.location_id(conn, to_location)
    new_id = uuid.uuid4().hex
    service.record_movement(
        conn,
        sku=sku,
        location=from_location,
        kind="transfer_out",
        quantity=quantity,
        idempotency_key=f"transfer:{new_id}:out",
        actor=actor,
        now=now,
        reason=reason or f"{from_location} → {to_location}",
    )
    conn.execute(
        table_of(Transfer)
        .insert()
        .values(
            id=new_id,
            sku_id=the_sku,
            from_location_id=source,
            to_location_id=destination,
            quantity=quantity,
            status="in_transit",
            created_at=now,
            actor=actor,
            reason=reason,
            idempotency_key=idempotency_key,
        )
    )
    return get_transfer(conn, new_id), True


def receive_transfer(
    conn: Connection, transfer_id: str, *, actor: str, now: dt.datetime
) -> TransferView:
    """The units arrive: a ``transfer_in`` movement at the destination. Receiving twice
    changes nothing the second time."""
    found = conn.execute(
        select(Transfer.sku_id).where(Transfer.id == transfer_id)
    ).scalar_one_or_none()
    if found is None:
        raise SokoError(ErrorCode.not_found, f"No transfer {transfer_id!r}.")
    service.lock_skus(conn, [int(found)])  # two receipts of one transfer queue here
    view = get_transfer(conn, transfer_id)
    if view.status == "received":
        return view
    service.record_movement(
        conn,
        sku=view.sku,
        location=view.to_location,
        kind="transfer_in",
        quantity=view.quantity,
        idempotency_key=f"transfer:{transfer_id}:in",
        actor=actor,
        now=now,
        reason=view.reason or f"{view.from_location} → {view.to_location}",
    )
    conn.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id, Transfer.status == "in_transit")
        .values(status="received", received_at=now)
    )
    return get_transfer(conn, transfer_id)
