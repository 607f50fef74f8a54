"""The ledger's shell: movements, balances and reservations in the store.

Locking design (docs/ledger.md): every change of a SKU's stock starts by
bumping ``skus.stock_version`` for that SKU, one UPDATE that takes the SKU's
row lock on PostgreSQL and the write lock on SQLite. Everything after it in
the transaction — expiring due holds, computing each channel's availability
with the pure rules, choosing locations — runs under that lock, and the
balance itself changes by conditional statements whose row counts are
checked. ``balances`` also carries ``CHECK (reserved <= on_hand)``, so even a
bug cannot store an oversold balance. Channel rules (buffers, caps, priority)
are not expressible as one conditional UPDATE, which is why the lock is per
SKU rather than per balance row.

Times are the shop's local time (``soko.settings.local_now``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    String,
    TextClause,
    and_,
    bindparam,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from soko.errors import ErrorCode, SokoError
from soko.ledger.rules import ChannelRule, Mode, Stock, active_rules, channel_availability
from soko.store.tables import (
    Balance,
    Channel,
    ChannelRuleRow,
    Location,
    Movement,
    Preorder,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Reservation,
    ReservationLine,
    SetComponent,
    Sku,
    Transfer,
    table_of,
)

INBOUND = {"receipt", "return", "transfer_in"}
OUTBOUND = {"sale", "transfer_out", "write_off"}
KINDS = INBOUND | OUTBOUND | {"adjustment", "count"}


@dataclass(frozen=True)
class MovementResult:
    id: int
    sku: str
    location: str
    kind: str
    quantity: int
    on_hand_after: int
    occurred_at: dt.datetime
    idempotency_key: str


@dataclass(frozen=True)
class ReservationView:
    id: str
    sku: str
    channel: str
    quantity: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    lines: list[tuple[str, int]]


@dataclass(frozen=True)
class LocationBalance:
    location: str
    on_hand: int
    reserved: int
    available: int
    incoming: int


@dataclass(frozen=True)
class SkuBalances:
    sku: str
    locations: list[LocationBalance]
    channels: list[tuple[str, int]]


@dataclass(frozen=True)
class Difference:
    sku: str
    location: str
    on_hand: int
    rebuilt_on_hand: int
    reserved: int
    rebuilt_reserved: int


def _fail(code: ErrorCode, message: str) -> SokoError:
    return SokoError(code, message)


def _id_of(conn: Connection, model: type[Sku | Location | Channel], code: str) -> int:
    """The id of the record with ``code``, or the typed error that names it."""
    found = conn.execute(select(model.id).where(model.code == code)).scalar_one_or_none()
    if found is None:
        code_of = {
            Sku: ErrorCode.unknown_sku,
            Location: ErrorCode.unknown_location,
            Channel: ErrorCode.unknown_channel,
        }[model]
        noun = {Sku: "SKU", Location: "location", Channel: "channel"}[model]
        raise _fail(code_of, f"No {noun} {code!r} in the store.")
    return int(found)


def sku_id(conn: Connection, code: str) -> int:
    return _id_of(conn, Sku, code)


def location_id(conn: Connection, code: str) -> int:
    return _id_of(conn, Location, code)


def channel_id(conn: Connection, code: str) -> int:
    return _id_of(conn, Channel, code)


def lock_sku_by_code(conn: Connection, code: str) -> int:
    """Take one SKU's stock lock by its code and return its id, in one statement."""
    found = conn.execute(
        update(Sku)
        .where(Sku.code == code)
        .values(stock_version=Sku.stock_version + 1)
        .returning(Sku.id)
    ).scalar_one_or_none()
    if found is None:
        raise _fail(ErrorCode.unknown_sku, f"No SKU {code!r} in the store.")
    return int(found)


def lock_skus(conn: Connection, ids: list[int]) -> None:
    """Take the stock lock of each SKU, in id order so two writers never deadlock."""
    for one in sorted(set(ids)):
        conn.execute(update(Sku).where(Sku.id == one).values(stock_version=Sku.stock_version + 1))


def _components(conn: Connection, set_id: int) -> list[tuple[int, int]]:
    rows = conn.execute(
        select(SetComponent.component_sku_id, SetComponent.quantity).where(
            SetComponent.set_sku_id == set_id
        )
    ).all()
    return [(int(a), int(b)) for a, b in rows]


def _balance(conn: Connection, sku: int, location: int) -> tuple[int, int, int]:
    """(balance id, on hand, reserved), creating an empty balance row when there is none."""
    row = conn.execute(
        select(Balance.id, Balance.on_hand, Balance.reserved).where(
            Balance.sku_id == sku, Balance.location_id == location
        )
    ).one_or_none()
    if row is None:
        new_id = conn.execute(
            table_of(Balance)
            .insert()
            .values(sku_id=sku, location_id=location, on_hand=0, reserved=0)
        ).inserted_primary_key
        assert new_id is not None
        return int(new_id[0]), 0, 0
    return int(row[0]), int(row[1]), int(row[2])


def _existing_movement(conn: Connection, key: str) -> MovementResult | None:
    row = conn.execute(
        select(
            Movement.id,
            Sku.code,
            Location.code,
            Movement.kind,
            Movement.quantity,
            Movement.on_hand_after,
            Movement.occurred_at,
            Movement.idempotency_key,
        )
        .join(Sku, Sku.id == Movement.sku_id)
        .join(Location, Location.id == Movement.location_id)
        .where(Movement.idempotency_key == key)
    ).one_or_none()
    return MovementResult(*row) if row is not None else None


def record_movement(
    conn: Connection,
    *,
    sku: str,
    location: str,
    kind: str,
    quantity: int,
    idempotency_key: str,
    actor: str,
    now: dt.datetime,
    reason: str | None = None,
    mode: Mode | None = None,
) -> list[MovementResult]:
    """Apply one stock change; a set product's change applies to its components instead.

    ``quantity`` is positive units for receipts, sales, returns, transfers and
    write-offs, a signed change for ``adjustment``, and the counted units for
    ``count``. Replaying a key returns the movements it made the first time.
    Units that come in first confirm the SKU's waiting pre-orders, oldest first,
    under the channel rules of ``mode`` (default: the configured mode).
    """
    if kind not in KINDS:
        raise _fail(ErrorCode.validation_error, f"kind must be one of {', '.join(sorted(KINDS))}")
    if kind == "adjustment" and quantity == 0:
        raise _fail(ErrorCode.invalid_quantity, "An adjustment of 0 units changes nothing.")
    if kind == "count" and quantity < 0:
        raise _fail(ErrorCode.invalid_quantity, "A count is the units on hand: 0 or more.")
    if kind not in {"adjustment", "count"} and quantity <= 0:
        raise _fail(ErrorCode.invalid_quantity, f"A {kind} moves a positive number of units.")
    the_sku = sku_id(conn, sku)
    loc = _id_of(conn, Location, location)
    parts = _components(conn, the_sku) or [(the_sku, 1)]
    lock_skus(conn, [p for p, _ in parts])
    done = [
        m
        for i, _ in enumerate(parts)
        if (m := _existing_movement(conn, _part_key(idempotency_key, i, parts)))
    ]
    if done:
        return done
    results = []
    for i, (part, per_set) in enumerate(parts):
        key = _part_key(idempotency_key, i, parts)
        balance_id, on_hand, reserved = _balance(conn, part, loc)
        if kind == "count":
            delta = quantity * per_set - on_hand
        elif kind == "adjustment":
            delta = quantity * per_set
        else:
            delta = quantity * per_set * (1 if kind in INBOUND else -1)
        if on_hand + delta < reserved:
            below = "zero" if on_hand + delta < 0 else f"the {reserved} units reserved"
            raise _fail(
                ErrorCode.negative_stock,
                f"{kind} of {abs(delta)} at {location} would take {sku} on hand from "
                f"{on_hand} below {below}.",
            )
        changed = conn.execute(
            update(Balance)
            .where(Balance.id == balance_id, Balance.on_hand + delta >= Balance.reserved)
            .values(on_hand=Balance.on_hand + delta)
        ).rowcount
        if changed != 1:
            raise _fail(ErrorCode.negative_stock, f"{sku} at {location} changed meanwhile.")
        new_id = conn.execute(
            table_of(Movement)
            .insert()
            .values(
                sku_id=part,
                location_id=loc,
                kind=kind,
                quantity=delta,
                on_hand_after=on_hand + delta,
                occurred_at=now,
                actor=actor,
                reason=reason,
                idempotency_key=key,
            )
        ).inserted_primary_key
        assert new_id is not None
        code = (
            sku
            if part == the_sku
            else str(conn.execute(select(Sku.code).where(Sku.id == part)).scalar_one())
        )
        results.append(
            MovementResult(int(new_id[0]), code, location, kind, delta, on_hand + delta, now, key)
        )
    arrived = [r for r in results if r.quantity > 0]
    if arrived:
        _fill_preorders(conn, sorted({p for p, _ in parts}), now, mode)
    return results


def _fill_preorders(conn: Connection, skus: list[int], now: dt.datetime, mode: Mode | None) -> None:
    waiting = (
        conn.execute(
            select(Preorder.sku_id)
            .distinct()
            .where(Preorder.sku_id.in_(skus), Preorder.status == "waiting")
        )
        .scalars()
        .all()
    )
    if not waiting:
        return
    from soko.ledger import preorders  # preorders builds on this module
    from soko.settings import Settings

    chosen = mode if mode is not None else Mode(Settings().allocation_mode)
    for one in waiting:
        preorders.fill_waiting(conn, int(one), now=now, mode=chosen)


def _part_key(key: str, index: int, parts: list[tuple[int, int]]) -> str:
    return key if len(parts) == 1 else f"{key}:component:{index}"


# --- availability ------------------------------------------------------------------------


def default_locations(conn: Connection) -> dict[str, frozenset[str]]:
    """Which locations feed each channel when the seller set no rule.

    A marketplace-run warehouse (FBA, RSL) feeds only its own channel; stores
    feed the store POS channel; warehouses and 3PLs feed every online channel.
    """
    pairs = conn.execute(  # every channel beside every location: two small tables, one trip
        select(
            Channel.code,
            Channel.kind,
            Channel.id,
            Location.code,
            Location.kind,
            Location.channel_id,
        ).join(Location, literal(True), isouter=True)
    ).all()
    feeds: dict[str, set[str]] = {}
    for code, kind, cid, loc, lkind, lch in pairs:
        fed = feeds.setdefault(code, set())
        if loc is None:
            continue
        own = lch == cid
        general = (
            lkind == "store"
            if kind == "store_pos"
            else lkind in {"warehouse", "3pl"} and lch is None
        )
        if own or general:
            fed.add(loc)
    return {code: frozenset(locs) for code, locs in feeds.items()}


def seller_rules(conn: Connection) -> list[ChannelRule]:
    """Every rule the seller set, whether it holds now or not."""
    r_ = ChannelRuleRow
    rows = conn.execute(
        select(
            r_.location_codes,
            r_.buffer_units,
            r_.buffer_pct,
            r_.cap,
            r_.ratio,
            r_.priority,
            r_.starts_at,
            r_.ends_at,
            Channel.code.label("channel"),
            Sku.code.label("sku"),
        )
        .join(Channel, Channel.id == ChannelRuleRow.channel_id)
        .outerjoin(Sku, Sku.id == ChannelRuleRow.sku_id)
        .order_by(Channel.code, ChannelRuleRow.id)
    ).all()
    return [
        ChannelRule(
            channel=r.channel,
            locations=frozenset(r.location_codes),
            buffer_units=r.buffer_units,
            buffer_pct=Decimal(r.buffer_pct),
            cap=r.cap,
            ratio=Decimal(r.ratio) if r.ratio is not None else None,
            priority=r.priority,
            sku=r.sku,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
        )
        for r in rows
    ]


def with_defaults(
    seller: list[ChannelRule], defaults: dict[str, frozenset[str]], sku: str, at: dt.datetime
) -> dict[str, ChannelRule]:
    """The rule in force for every channel: the seller's, else the default feeding."""
    chosen = active_rules(seller, sku, at)
    for channel, locations in defaults.items():
        if channel not in chosen and locations:
            chosen[channel] = ChannelRule(channel=channel, locations=locations)
    return chosen


def rules_for(conn: Connection, sku: str, at: dt.datetime) -> dict[str, ChannelRule]:
    """The rule in force for every channel: the seller's, else the default feeding."""
    return with_defaults(seller_rules(conn), default_locations(conn), sku, at)


def replace_rules(conn: Connection, rules: list[ChannelRule]) -> None:
    """Make ``rules`` the seller's whole rule set, in one transaction.

    Every code is checked first and named when unknown, so a refused set
    changes nothing. A reservation reads the rules inside its own transaction,
    so it sees either the old set or the new one, never half of each.
    """
    channels = dict(conn.execute(select(Channel.code, Channel.id)).all())
    locations = set(conn.execute(select(Location.code)).scalars().all())
    skus = {r.sku for r in rules if r.sku is not None}
    sku_ids = (
        dict(conn.execute(select(Sku.code, Sku.id).where(Sku.code.in_(skus))).all()) if skus else {}
    )
    for rule in rules:
        if rule.channel not in channels:
            raise _fail(ErrorCode.unknown_channel, f"No channel {rule.channel!r} in the store.")
        if rule.sku is not None and rule.sku not in sku_ids:
            raise _fail(ErrorCode.unknown_sku, f"No SKU {rule.sku!r} in the store.")
        for code in sorted(rule.locations - locations):
            raise _fail(ErrorCode.unknown_location, f"No location {code!r} in the store.")
    conn.execute(table_of(ChannelRuleRow).delete())
    if rules:
        conn.execute(
            table_of(ChannelRuleRow).insert(),
            [
                {
                    "channel_id": channels[r.channel],
                    "sku_id": sku_ids[r.sku] if r.sku is not None else None,
                    "location_codes": sorted(r.locations),
                    "buffer_units": r.buffer_units,
                    "buffer_pct": r.buffer_pct,
                    "cap": r.cap,
                    "ratio": r.ratio,
                    "priority": r.priority,
                    "starts_at": r.starts_at,
                    "ends_at": r.ends_at,
                }
                for r in rules
            ],
        )


@dataclass(frozen=True)
class RulesPreview:
    sku: str
    channels: list[tuple[str, int, int]]  # channel, sees now, would see under the edited rules


def preview_rules(
    conn: Connection, edited: list[ChannelRule], skus: list[str], *, mode: Mode, now: dt.datetime
) -> list[RulesPreview]:
    """What each channel sees now and would see under ``edited`` at ``now``, SKU by SKU.

    Both figures come from the same pure :func:`channel_availability` on the same
    balances; only the rules differ. Nothing is written.
    """
    current = seller_rules(conn)
    defaults = default_locations(conn)
    out = []
    for sku in skus:
        stock, _ = _stock(conn, sku_id(conn, sku))
        was = channel_availability(stock, with_defaults(current, defaults, sku, now), mode)
        will = channel_availability(stock, with_defaults(edited, defaults, sku, now), mode)
        out.append(
            RulesPreview(
                sku, [(c, was.get(c, 0), will.get(c, 0)) for c in sorted(set(was) | set(will))]
            )
        )
    return out


def _stock(conn: Connection, sku: int, *, by_channel: bool = True) -> tuple[Stock, dict[str, int]]:
    rows = conn.execute(
        select(Location.code, Balance.on_hand, Balance.reserved, Location.id)
        .join(Location, Location.id == Balance.location_id)
        .where(Balance.sku_id == sku)
    ).all()
    held = (
        conn.execute(
            select(Channel.code, func.sum(Reservation.quantity))
            .join(Channel, Channel.id == Reservation.channel_id)
            .where(Reservation.sku_id == sku, Reservation.status == "held")
            .group_by(Channel.code)
        ).all()
        if by_channel
        else []
    )
    stock = Stock(
        on_hand={code: int(on) for code, on, _, _ in rows},
        reserved={code: int(res) for code, _, res, _ in rows},
        reserved_by_channel={code: int(q) for code, q in held},
    )
    return stock, {code: int(lid) for code, _, _, lid in rows}


def availability(conn: Connection, sku: str, *, mode: Mode, now: dt.datetime) -> dict[str, int]:
    the_sku = sku_id(conn, sku)
    stock, _ = _stock(conn, the_sku)
    return channel_availability(stock, rules_for(conn, sku, now), mode)


# --- reservations ------------------------------------------------------------------------


def _view(conn: Connection, reservation_id: str) -> ReservationView:
    row = conn.execute(
        select(
            Reservation.id,
            Sku.code,
            Channel.code,
            Reservation.quantity,
            Reservation.status,
            Reservation.created_at,
            Reservation.expires_at,
        )
        .join(Sku, Sku.id == Reservation.sku_id)
        .join(Channel, Channel.id == Reservation.channel_id)
        .where(Reservation.id == reservation_id)
    ).one_or_none()
    if row is None:
        raise _fail(ErrorCode.not_found, f"No reservation {reservation_id!r}.")
    lines = conn.execute(
        select(Location.code, ReservationLine.quantity)
        .join(Location, Location.id == ReservationLine.location_id)
        .where(ReservationLine.reservation_id == reservation_id)
        .order_by(Location.code)
    ).all()
    return ReservationView(*row, lines=[(str(a), int(b)) for a, b in lines])


def get_reservation(conn: Connection, reservation_id: str, now: dt.datetime) -> ReservationView:
    """The reservation as it stands at ``now``: a hold past its time reads as expired."""
    view = _view(conn, reservation_id)
    if view.status == "held" and view.expires_at is not None and view.expires_at <= now:
        return replace(view, status="expired")
    return view


def _close(conn: Connection, reservation_id: str, status: str, now: dt.datetime) -> None:
    """Give a held reservation's units back to the pool."""
    lines = conn.execute(
        select(ReservationLine.location_id, ReservationLine.quantity, Reservation.sku_id)
        .join(Reservation, Reservation.id == ReservationLine.reservation_id)
        .where(ReservationLine.reservation_id == reservation_id)
    ).all()
    for location_id, quantity, sku in lines:
        changed = conn.execute(
            update(Balance)
            .where(
                Balance.sku_id == sku,
                Balance.location_id == location_id,
                Balance.reserved >= quantity,
            )
            .values(reserved=Balance.reserved - quantity)
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"reservation {reservation_id} holds more than is reserved")
    conn.execute(
        update(Reservation)
        .where(Reservation.id == reservation_id, Reservation.status == "held")
        .values(status=status, closed_at=now)
    )


def _expire_due_for(conn: Connection, sku: int, now: dt.datetime) -> int:
    due = (
        conn.execute(
            select(Reservation.id).where(
                Reservation.sku_id == sku,
                Reservation.status == "held",
                Reservation.expires_at.is_not(None),
                Reservation.expires_at <= now,
            )
        )
        .scalars()
        .all()
    )
    for one in due:
        _close(conn, one, "expired", now)
    return len(due)


def expire_due(conn: Connection, now: dt.datetime) -> int:
    """Expire every hold past its time (the sweep; holds also expire when met)."""
    skus = (
        conn.execute(
            select(Reservation.sku_id)
            .distinct()
            .where(
                Reservation.status == "held",
                Reservation.expires_at.is_not(None),
                Reservation.expires_at <= now,
            )
        )
        .scalars()
        .all()
    )
    lock_skus(conn, list(skus))
    return sum(_expire_due_for(conn, s, now) for s in skus)


@dataclass(frozen=True)
class _Reference:
    """What a reservation reads but rarely changes: the seller's rules, the default feeds and
    the channels' ids, kept per store while its fingerprint stays the same, and never longer
    than ``REFERENCE_SECONDS`` (an import that edits a location in place — a warehouse
    becoming a store — adds no row, so only age tells)."""

    fingerprint: tuple[int, ...]
    seller: list[ChannelRule]
    defaults: dict[str, frozenset[str]]
    channel_ids: dict[str, int]
    loaded: float  # time.monotonic() when read


REFERENCE_SECONDS = 5.0
_REFERENCE: dict[str, _Reference] = {}
_REFERENCE_LOCK = threading.Lock()


def _fingerprint_columns() -> list[Any]:
    """Counts and highest ids of the rules, channels and locations: saving rules replaces
    them (new ids) and imports add rows, so any change gives another fingerprint."""
    return [
        select(func.count(model.id)).scalar_subquery()
        for model in (ChannelRuleRow, Channel, Location)
    ] + [
        select(func.coalesce(func.max(model.id), 0)).scalar_subquery()
        for model in (ChannelRuleRow, Channel, Location)
    ]


def _facts(dialect: str, sku: Any) -> list[Any]:
    """Scalar subqueries about the SKU ``sku`` (its id column, or a bound id): the
    reservation already made with the bound ``key``, its holds past the bound ``now``, its
    balances as one JSON array of [code, on hand, reserved, location id], and the
    fingerprint of the rules."""
    row = (Location.code, Balance.on_hand, Balance.reserved, Location.id)
    if dialect == "postgresql":
        aggregate = func.json_agg(func.json_build_array(*row))
    else:
        aggregate = func.json_group_array(func.json_array(*row))
    return [
        select(Reservation.id)
        .where(Reservation.idempotency_key == bindparam("key", type_=String))
        .scalar_subquery(),
        select(func.count(Reservation.id))
        .where(
            Reservation.sku_id == sku,
            Reservation.status == "held",
            Reservation.expires_at <= bindparam("now", type_=DateTime),
        )
        .scalar_subquery(),
        select(aggregate)
        .select_from(Balance)
        .join(Location, Location.id == Balance.location_id)
        .where(Balance.sku_id == sku)
        .scalar_subquery(),
        *_fingerprint_columns(),
    ]


@functools.cache
def _lock_statements(dialect: str) -> tuple[Any, Any]:
    """Built once per dialect (building them costs more than running them): the lock that
    also reads the facts (PostgreSQL) and the SELECT of the facts by SKU id."""
    seen = aliased(Sku)
    lock = (
        update(Sku)
        .where(Sku.code == bindparam("sku", type_=String))
        .values(stock_version=Sku.stock_version + 1)
        .returning(
            Sku.id,
            Sku.stock_version,
            select(seen.stock_version).where(seen.id == Sku.id).scalar_subquery(),
            *_facts(dialect, Sku.id),
        )
    )
    facts = select(*_facts(dialect, bindparam("sku_id", type_=Integer)))
    return lock, facts


@dataclass(frozen=True)
class _Locked:
    sku_id: int
    existing: str | None  # the reservation already made with the idempotency key
    due: int  # holds of the SKU past their time
    fingerprint: tuple[int, ...]
    rows: list[tuple[str, int, int, int]]  # code, on hand, reserved, location id


def _lock_for_reservation(conn: Connection, sku: str, key: str, now: dt.datetime) -> _Locked:
    """Take the SKU's stock lock and learn its id, the reservation already made with
    ``key`` (if any), how many of its holds are past their time, the fingerprint of the
    rules and its balances — in one round trip on PostgreSQL. SQLite's RETURNING cannot
    hold correlated subqueries, so there it is the lock and one SELECT (in-process calls,
    not round trips over a network)."""
    lock, facts = _lock_statements(conn.dialect.name)
    if conn.dialect.name == "postgresql":
        # The subqueries read the snapshot taken when the statement began, which is stale
        # when it waited for the lock; the version it saw then tells (every change of a
        # SKU's stock bumps the version under this lock), and a fresh SELECT follows.
        row = conn.execute(lock, {"sku": sku, "key": key, "now": now}).one_or_none()
        if row is None:
            raise _fail(ErrorCode.unknown_sku, f"No SKU {sku!r} in the store.")
        the_sku, version, version_seen, existing, due, found, *fingerprint = row
        if version != version_seen + 1:  # another change committed while this one waited
            existing, due, found, *fingerprint = conn.execute(
                facts, {"sku_id": the_sku, "key": key, "now": now}
            ).one()
    else:
        the_sku = lock_sku_by_code(conn, sku)
        existing, due, found, *fingerprint = conn.execute(
            facts, {"sku_id": the_sku, "key": key, "now": now}
        ).one()
    if isinstance(found, str):  # SQLite answers JSON as text
        found = json.loads(found)
    rows = [(str(c), int(on), int(res), int(lid)) for c, on, res, lid in found or []]
    return _Locked(int(the_sku), existing, int(due), tuple(int(x) for x in fingerprint), rows)


def _reference(conn: Connection, fingerprint: tuple[int, ...]) -> _Reference:
    store = conn.engine.url.render_as_string(hide_password=True)
    known = _REFERENCE.get(store)
    now = time.monotonic()
    if (
        known is not None
        and known.fingerprint == fingerprint
        and now - known.loaded < REFERENCE_SECONDS
    ):
        return known
    fresh = _Reference(
        fingerprint,
        seller_rules(conn),
        default_locations(conn),
        {str(c): int(i) for c, i in conn.execute(select(Channel.code, Channel.id)).all()},
        now,
    )
    with _REFERENCE_LOCK:
        _REFERENCE[store] = fresh
    return fresh


def reserve(
    conn: Connection,
    *,
    sku: str,
    channel: str,
    quantity: int,
    idempotency_key: str,
    now: dt.datetime,
    mode: Mode,
    ttl_seconds: int | None,
    location: str | None = None,
) -> tuple[ReservationView, bool]:
    """Hold units for a channel; returns the reservation and whether it is new.

    ``ttl_seconds`` None holds until confirmed or released (reserve at purchase).
    """
    if quantity <= 0:
        raise _fail(ErrorCode.invalid_quantity, "A reservation holds a positive number of units.")
    only = _id_of(conn, Location, location) if location else None
    locked = _lock_for_reservation(conn, sku, idempotency_key, now)
    the_sku = locked.sku_id
    if locked.existing is not None:
        return _view(conn, locked.existing), False
    known = _reference(conn, locked.fingerprint)
    the_channel = known.channel_ids.get(channel)
    if the_channel is None:
        raise _fail(ErrorCode.unknown_channel, f"No channel {channel!r} in the store.")
    if locked.due or mode is Mode.allocated:
        _expire_due_for(conn, the_sku, now)
        # Allocated mode needs who holds the reservations; shared mode only the balances.
        stock, location_ids = _stock(conn, the_sku, by_channel=mode is Mode.allocated)
    else:
        stock = Stock(
            on_hand={code: on for code, on, _, _ in locked.rows},
            reserved={code: res for code, _, res, _ in locked.rows},
            reserved_by_channel={},
        )
        location_ids = {code: lid for code, _, _, lid in locked.rows}
    rules = with_defaults(known.seller, known.defaults, sku, now)
    if channel not in rules:
        raise _fail(ErrorCode.insufficient_stock, f"No location feeds channel {channel!r}.")
    can_sell = channel_availability(stock, rules, mode).get(channel, 0)
    free = {
        loc: stock.on_hand.get(loc, 0) - stock.reserved.get(loc, 0)
        for loc in sorted(rules[channel].locations)
        if only is None or location_ids.get(loc) == only
    }
    can_sell = min(can_sell, sum(free.values()))
    if can_sell < quantity:
        raise _fail(
            ErrorCode.insufficient_stock,
            f"{channel} can sell {can_sell} of {sku} now; {quantity} asked.",
        )
    new_id = uuid.uuid4().hex
    expires = now + dt.timedelta(seconds=ttl_seconds) if ttl_seconds else None
    left = quantity
    lines: list[tuple[str, int]] = []
    for loc, units in sorted(free.items(), key=lambda kv: (-kv[1], kv[0])):  # fewest splits
        take = min(units, left)
        if take > 0:
            lines.append((loc, take))
            left -= take
        if left == 0:
            break
    held = {
        "id": new_id,
        "sku_id": the_sku,
        "channel_id": the_channel,
        "quantity": quantity,
        "status": "held",
        "created_at": now,
        "expires_at": expires,
        "idempotency_key": idempotency_key,
    }
    taken = [(location_ids[loc], take) for loc, take in lines]
    if conn.dialect.name == "postgresql":
        _write_hold_in_one_statement(conn, held, taken)
    else:
        _write_hold(conn, held, taken)
    view = ReservationView(new_id, sku, channel, quantity, "held", now, expires, sorted(lines))
    return view, True


def _write_hold(conn: Connection, held: dict[str, Any], taken: list[tuple[int, int]]) -> None:
    """The reservation, its lines and the balances' reserved units, statement by statement."""
    conn.execute(table_of(Reservation).insert().values(**held))
    for location_id, take in taken:
        changed = conn.execute(
            update(Balance)
            .where(
                Balance.sku_id == held["sku_id"],
                Balance.location_id == location_id,
                Balance.on_hand - Balance.reserved >= take,
            )
            .values(reserved=Balance.reserved + take)
        ).rowcount
        if changed != 1:
            raise RuntimeError(f"SKU {held['sku_id']} changed under its lock")
        conn.execute(
            table_of(ReservationLine)
            .insert()
            .values(reservation_id=held["id"], location_id=location_id, quantity=take)
        )


@functools.cache
def _hold_statement(lines: int) -> TextClause:
    """PostgreSQL: the reservation, its ``lines`` lines and the balance updates as one
    statement of data-modifying CTEs — one round trip instead of 1 + 2 × lines. The last
    SELECT counts the balance rows updated, which must be one per line."""
    parts = [
        "held AS (INSERT INTO reservations (id, sku_id, channel_id, quantity, status, "
        "created_at, expires_at, idempotency_key) VALUES (:id, :sku_id, :channel_id, "
        ":quantity, :status, :created_at, :expires_at, :idempotency_key) RETURNING id)"
    ]
    for i in range(lines):
        parts.append(
            f"b{i} AS (UPDATE balances SET reserved = reserved + :q{i} "
            f"WHERE sku_id = :sku_id AND location_id = :l{i} AND on_hand - reserved >= :q{i} "
            "RETURNING 1)"
        )
        parts.append(
            f"r{i} AS (INSERT INTO reservation_lines (reservation_id, location_id, quantity) "
            f"SELECT id, :l{i}, :q{i} FROM held RETURNING 1)"
        )
    counted = " + ".join(f"(SELECT count(*) FROM b{i})" for i in range(lines)) or "0"
    return text(f"WITH {', '.join(parts)} SELECT {counted}")


def _write_hold_in_one_statement(
    conn: Connection, held: dict[str, Any], taken: list[tuple[int, int]]
) -> None:
    params = dict(held)
    for i, (location_id, take) in enumerate(taken):
        params[f"l{i}"] = location_id
        params[f"q{i}"] = take
    changed = conn.execute(_hold_statement(len(taken)), params).scalar_one()
    if changed != len(taken):
        raise RuntimeError(f"SKU {held['sku_id']} changed under its lock")


def _locked_reservation(conn: Connection, reservation_id: str) -> Any:
    row = conn.execute(
        select(Reservation.sku_id).where(Reservation.id == reservation_id)
    ).scalar_one_or_none()
    if row is None:
        raise _fail(ErrorCode.not_found, f"No reservation {reservation_id!r}.")
    lock_skus(conn, [int(row)])
    return conn.execute(select(Reservation).where(Reservation.id == reservation_id)).one()


def confirm(
    conn: Connection, reservation_id: str, *, now: dt.datetime, actor: str
) -> ReservationView:
    """A held reservation becomes a sale: units leave on hand and the hold ends."""
    r = _locked_reservation(conn, reservation_id)
    if r.status == "confirmed":
        return _view(conn, reservation_id)
    # A hold past its time is refused here and freed by the sweep or the next reservation
    # of its SKU: the refusal rolls back, so it must not be what frees the units.
    if r.status == "expired" or (
        r.status == "held" and r.expires_at is not None and r.expires_at <= now
    ):
        raise _fail(
            ErrorCode.reservation_expired,
            f"Reservation {reservation_id} expired at {r.expires_at:%Y-%m-%d %H:%M:%S}.",
        )
    if r.status != "held":
        raise _fail(ErrorCode.reservation_closed, f"Reservation {reservation_id} was {r.status}.")
    lines = conn.execute(
        select(ReservationLine.location_id, ReservationLine.quantity).where(
            ReservationLine.reservation_id == reservation_id
        )
    ).all()
    for location_id, quantity in lines:
        after = conn.execute(
            update(Balance)
            .where(
                Balance.sku_id == r.sku_id,
                Balance.location_id == location_id,
                Balance.reserved >= quantity,
            )
            .values(on_hand=Balance.on_hand - quantity, reserved=Balance.reserved - quantity)
            .returning(Balance.on_hand)
        ).scalar_one()
        conn.execute(
            table_of(Movement)
            .insert()
            .values(
                sku_id=r.sku_id,
                location_id=location_id,
                kind="sale",
                quantity=-quantity,
                on_hand_after=after,
                occurred_at=now,
                actor=actor,
                reason=f"reservation {reservation_id} confirmed",
                idempotency_key=f"reservation:{reservation_id}:{location_id}",
                reservation_id=reservation_id,
            )
        )
    conn.execute(
        update(Reservation)
        .where(Reservation.id == reservation_id)
        .values(status="confirmed", closed_at=now)
    )
    return _view(conn, reservation_id)


def release(conn: Connection, reservation_id: str, *, now: dt.datetime) -> ReservationView:
    """Give a hold's units back; releasing twice changes nothing the second time."""
    r = _locked_reservation(conn, reservation_id)
    if r.status == "held":
        _close(conn, reservation_id, "released", now)
    elif r.status == "confirmed":
        raise _fail(
            ErrorCode.reservation_closed,
            f"Reservation {reservation_id} was confirmed: return the units instead.",
        )
    return _view(conn, reservation_id)


# --- reading and verifying ---------------------------------------------------------------


def incoming_by_location(conn: Connection, the_sku: int) -> dict[str, int]:
    """Units of a SKU on their way, by location: open purchase-order lines (ordered less
    received) and transfers in transit (at their destination)."""
    open_po = conn.execute(
        select(Location.code, PurchaseOrderLine.id, PurchaseOrderLine.quantity)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Location, Location.id == PurchaseOrder.location_id)
        .where(PurchaseOrderLine.sku_id == the_sku)
    ).all()
    received = dict(
        conn.execute(
            select(Receipt.purchase_order_line_id, func.sum(Receipt.quantity))
            .join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.purchase_order_line_id)
            .where(PurchaseOrderLine.sku_id == the_sku)
            .group_by(Receipt.purchase_order_line_id)
        ).all()
    )
    incoming: dict[str, int] = defaultdict(int)
    for loc, line_id, qty in open_po:
        incoming[loc] += max(0, int(qty) - int(received.get(line_id, 0)))
    for loc, qty in conn.execute(
        select(Location.code, Transfer.quantity)
        .join(Location, Location.id == Transfer.to_location_id)
        .where(Transfer.sku_id == the_sku, Transfer.status == "in_transit")
    ).all():
        incoming[loc] += int(qty)
    return {loc: units for loc, units in incoming.items() if units}


def balances(conn: Connection, sku: str, *, mode: Mode, now: dt.datetime) -> SkuBalances:
    the_sku = sku_id(conn, sku)
    stock, _ = _stock(conn, the_sku)
    incoming = incoming_by_location(conn, the_sku)
    locations = sorted(set(stock.on_hand) | set(incoming))
    rows = [
        LocationBalance(
            loc,
            stock.on_hand.get(loc, 0),
            stock.reserved.get(loc, 0),
            stock.on_hand.get(loc, 0) - stock.reserved.get(loc, 0),
            incoming.get(loc, 0),
        )
        for loc in locations
    ]
    channels = channel_availability(stock, rules_for(conn, sku, now), mode)
    return SkuBalances(sku, rows, sorted(channels.items()))


def verify(conn: Connection) -> list[Difference]:
    """Rebuild every balance from movements and held reservations; name each that differs."""
    moved = {
        (int(s), int(loc)): int(q)
        for s, loc, q in conn.execute(
            select(Movement.sku_id, Movement.location_id, func.sum(Movement.quantity)).group_by(
                Movement.sku_id, Movement.location_id
            )
        ).all()
    }
    held = {
        (int(s), int(loc)): int(q)
        for s, loc, q in conn.execute(
            select(
                Reservation.sku_id, ReservationLine.location_id, func.sum(ReservationLine.quantity)
            )
            .join(Reservation, Reservation.id == ReservationLine.reservation_id)
            .where(Reservation.status == "held")
            .group_by(Reservation.sku_id, ReservationLine.location_id)
        ).all()
    }
    stored = conn.execute(
        select(
            Balance.sku_id,
            Balance.location_id,
            Balance.on_hand,
            Balance.reserved,
            Sku.code,
            Location.code,
        )
        .join(Sku, Sku.id == Balance.sku_id)
        .join(Location, Location.id == Balance.location_id)
    ).all()
    seen = set()
    out = []
    for s, loc, on_hand, reserved, sku_code, loc_code in stored:
        key = (int(s), int(loc))
        seen.add(key)
        if (on_hand, reserved) != (moved.get(key, 0), held.get(key, 0)):
            out.append(
                Difference(
                    sku_code, loc_code, on_hand, moved.get(key, 0), reserved, held.get(key, 0)
                )
            )
    for key in (set(moved) | set(held)) - seen:
        codes = conn.execute(
            select(Sku.code, Location.code).where(and_(Sku.id == key[0], Location.id == key[1]))
        ).one()
        out.append(Difference(codes[0], codes[1], 0, moved.get(key, 0), 0, held.get(key, 0)))
    return sorted(out, key=lambda d: (d.sku, d.location))


# --- what a change would do (the confirmation step) --------------------------------------


@dataclass(frozen=True)
class LocationChange:
    """One location before → after a change."""

    location: str
    before: LocationBalance
    after: LocationBalance


@dataclass(frozen=True)
class ChangePreview:
    sku: str
    locations: list[LocationChange]
    channels: list[tuple[str, int, int]]  # channel, may sell before, may sell after


def preview_change(
    conn: Connection,
    sku: str,
    *,
    on_hand: dict[str, int],
    incoming: dict[str, int] | None = None,
    mode: Mode,
    now: dt.datetime,
) -> ChangePreview:
    """What ``sku``'s locations and channels would show after changing on hand by the signed
    ``on_hand`` deltas (and incoming by ``incoming``), computed by the same pure rules the
    ledger applies; nothing is written.

    Refused with ``negative_stock`` — exactly as :func:`record_movement` would refuse it —
    when a location would hold fewer units than zero or than are reserved there.
    """
    incoming = incoming or {}
    before = balances(conn, sku, mode=mode, now=now)
    known = {b.location: b for b in before.locations}
    for code in set(on_hand) | set(incoming):
        if code not in known:
            location_id(conn, code)  # unknown_location, named
            known[code] = LocationBalance(code, 0, 0, 0, 0)
    changes = []
    for code in sorted(known):
        was = known[code]
        units = was.on_hand + on_hand.get(code, 0)
        if units < was.reserved:
            below = "zero" if units < 0 else f"the {was.reserved} units reserved"
            raise _fail(
                ErrorCode.negative_stock,
                f"{sku} at {code} has {was.on_hand} on hand; a change of "
                f"{on_hand.get(code, 0):+d} would take it below {below}. Nothing was changed.",
            )
        after = LocationBalance(
            code, units, was.reserved, units - was.reserved, was.incoming + incoming.get(code, 0)
        )
        changes.append(LocationChange(code, was, after))
    stock, _ = _stock(conn, sku_id(conn, sku))
    changed = Stock(
        on_hand={c.location: c.after.on_hand for c in changes},
        reserved=stock.reserved,
        reserved_by_channel=stock.reserved_by_channel,
    )
    after_channels = channel_availability(changed, rules_for(conn, sku, now), mode)
    return ChangePreview(
        sku,
        changes,
        [(code, was, after_channels.get(code, 0)) for code, was in before.channels],
    )
