"""Stock: movements, balances and reservations (capabilities O1–O3)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from soko.api.auth import Scope
from soko.api.deps import StoreDep, requires
from soko.api.idempotency import Answer, run_once
from soko.api.problems import PROBLEM_MEDIA_TYPE
from soko.ledger import preorders, service, transfers
from soko.ledger.rules import Mode
from soko.settings import Settings, in_shop_zone, local_now

router = APIRouter(tags=["stock"])

Code = Annotated[str, Field(min_length=1, max_length=64)]
Key = Annotated[str, Field(min_length=1, max_length=150)]


class _MovementBase(BaseModel):
    sku: Code
    location: Code
    idempotency_key: Key
    reason: str | None = Field(default=None, max_length=300)


class UnitsMoved(_MovementBase):
    kind: Literal["receipt", "sale", "return", "transfer_out", "transfer_in", "write_off"]
    quantity: int = Field(gt=0, le=1_000_000, description="Units moved.")


class Adjustment(_MovementBase):
    kind: Literal["adjustment"]
    quantity: int = Field(
        ge=-1_000_000,
        le=1_000_000,
        json_schema_extra={"not": {"const": 0}},
        description="The signed change of on hand; not 0.",
    )

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("an adjustment of 0 units changes nothing")
        return value


class Count(_MovementBase):
    kind: Literal["count"]
    quantity: int = Field(ge=0, le=1_000_000, description="The units counted on hand.")


MovementCreate = Annotated[UnitsMoved | Adjustment | Count, Field(discriminator="kind")]


class MovementPublic(BaseModel):
    id: int
    sku: str
    location: str
    kind: str
    quantity: int = Field(description="The signed change of on hand.")
    on_hand_after: int
    occurred_at: dt.datetime
    idempotency_key: str


class MovementsPublic(BaseModel):
    movements: list[MovementPublic] = Field(
        description="One movement, or one per component for a set product."
    )


class LocationBalancePublic(BaseModel):
    location: str
    on_hand: int
    reserved: int
    available: int
    incoming: int


class ChannelAvailabilityPublic(BaseModel):
    channel: str
    available: int


class BalancesPublic(BaseModel):
    sku: str
    locations: list[LocationBalancePublic]
    channels: list[ChannelAvailabilityPublic]


class ReservationCreate(BaseModel):
    sku: Code
    channel: Code
    quantity: int = Field(gt=0, le=1_000_000)
    idempotency_key: Key
    ttl_seconds: int | None = Field(
        default=None,
        ge=1,
        le=30 * 86_400,
        description="Cart hold lifetime; default SOKO_RESERVATION_TTL_SECONDS (15 minutes).",
    )
    timing: Literal["cart", "purchase"] = Field(
        default="cart",
        description="`cart`: a hold that expires after the TTL; `purchase`: held until "
        "confirmed or released.",
    )
    location: Code | None = None


class ReservationLinePublic(BaseModel):
    location: str
    quantity: int


class ReservationPublic(BaseModel):
    id: str
    sku: str
    channel: str
    quantity: int
    status: Literal["held", "confirmed", "released", "expired"]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    lines: list[ReservationLinePublic]


def _reservation(view: service.ReservationView, settings: Settings) -> dict[str, Any]:
    return ReservationPublic(
        id=view.id,
        sku=view.sku,
        channel=view.channel,
        quantity=view.quantity,
        status=view.status,
        created_at=in_shop_zone(view.created_at, settings),
        expires_at=in_shop_zone(view.expires_at, settings) if view.expires_at else None,
        lines=[ReservationLinePublic(location=a, quantity=b) for a, b in view.lines],
    ).model_dump(mode="json")


def _respond(answer: Answer) -> JSONResponse:
    status, body = answer
    media = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for code, text in {
        401: "No or unknown token",
        403: "The token lacks the scope",
        404: "Unknown SKU, location, channel or reservation",
        409: "Not enough stock, or the reservation is closed or expired",
        422: "Invalid request (`validation_error`, `invalid_quantity`), or an idempotency key "
        "reused for another request (`idempotency_key_reused`)",
    }.items()
}


@router.post(
    "/movements",
    status_code=201,
    response_model=MovementsPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def post_movement(body: MovementCreate, store: StoreDep) -> JSONResponse:
    """Record a stock change; replaying the idempotency key returns the first answer."""

    def act(conn: Any) -> Answer:
        made = service.record_movement(
            conn,
            sku=body.sku,
            location=body.location,
            kind=body.kind,
            quantity=body.quantity,
            idempotency_key=body.idempotency_key,
            actor="api",
            now=local_now(store.settings),
            reason=body.reason,
        )
        page = MovementsPublic(
            movements=[
                MovementPublic(
                    **(m.__dict__ | {"occurred_at": in_shop_zone(m.occurred_at, store.settings)})
                )
                for m in made
            ]
        )
        return 201, page.model_dump(mode="json")

    return _respond(
        run_once(store.engine, f"movements:{body.idempotency_key}", body.model_dump(), act)
    )


@router.get("/balances/{sku:path}", response_model=BalancesPublic, responses=PROBLEMS)
def get_balances(
    sku: Annotated[str, Path(min_length=1, max_length=64)], store: StoreDep
) -> BalancesPublic:
    """On hand, reserved, available and incoming per location, and what each channel sees."""
    with store.engine.connect() as conn:
        found = service.balances(
            conn, sku, mode=Mode(store.settings.allocation_mode), now=local_now(store.settings)
        )
    return BalancesPublic(
        sku=found.sku,
        locations=[LocationBalancePublic(**b.__dict__) for b in found.locations],
        channels=[ChannelAvailabilityPublic(channel=c, available=a) for c, a in found.channels],
    )


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.reserve))],
)
def post_reservation(body: ReservationCreate, store: StoreDep) -> JSONResponse:
    """Hold units for a channel; 409 `insufficient_stock` when the channel cannot sell them."""
    settings = store.settings
    ttl = (
        None if body.timing == "purchase" else body.ttl_seconds or settings.reservation_ttl_seconds
    )

    def act(conn: Any) -> Answer:
        view, _ = service.reserve(
            conn,
            sku=body.sku,
            channel=body.channel,
            quantity=body.quantity,
            idempotency_key=body.idempotency_key,
            now=local_now(settings),
            mode=Mode(settings.allocation_mode),
            ttl_seconds=ttl,
            location=body.location,
        )
        return 201, _reservation(view, settings)

    return _respond(
        run_once(store.engine, f"reservations:{body.idempotency_key}", body.model_dump(), act)
    )


@router.get("/reservations/{reservation_id}", response_model=ReservationPublic, responses=PROBLEMS)
def get_reservation(
    reservation_id: Annotated[str, Path(max_length=64)], store: StoreDep
) -> JSONResponse:
    with store.engine.connect() as conn:
        view = service.get_reservation(conn, reservation_id, local_now(store.settings))
        return JSONResponse(_reservation(view, store.settings))


def _act_on(store: StoreDep, reservation_id: str, action: str, key: str | None) -> JSONResponse:
    settings = store.settings

    def act(conn: Any) -> Answer:
        now = local_now(settings)
        if action == "confirm":
            view = service.confirm(conn, reservation_id, now=now, actor="api")
        else:
            view = service.release(conn, reservation_id, now=now)
        return 200, _reservation(view, settings)

    if key is None:
        with store.engine.begin() as conn:
            return _respond(act(conn))
    return _respond(
        run_once(
            store.engine, f"reservation-action:{key}", {"id": reservation_id, "action": action}, act
        )
    )


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=150)]


@router.post(
    "/reservations/{reservation_id}/confirm",
    response_model=ReservationPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.reserve))],
)
def confirm_reservation(
    reservation_id: Annotated[str, Path(max_length=64)],
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The hold becomes a sale; 409 `reservation_expired` after its TTL."""
    return _act_on(store, reservation_id, "confirm", idempotency_key)


@router.post(
    "/reservations/{reservation_id}/release",
    response_model=ReservationPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.reserve))],
)
def release_reservation(
    reservation_id: Annotated[str, Path(max_length=64)],
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Give the held units back; releasing twice is harmless."""
    return _act_on(store, reservation_id, "release", idempotency_key)


# --- transfers -----------------------------------------------------------------------------


class TransferCreate(BaseModel):
    sku: Code
    from_location: Code
    to_location: Code
    quantity: int = Field(gt=0, le=1_000_000, description="Units sent.")
    idempotency_key: Key
    reason: str | None = Field(default=None, max_length=300)


class TransferPublic(BaseModel):
    id: str
    sku: str
    from_location: str
    to_location: str
    quantity: int
    status: Literal["in_transit", "received"] = Field(
        description="`in_transit`: left the source, incoming at the destination; "
        "`received`: on hand at the destination."
    )
    created_at: dt.datetime
    received_at: dt.datetime | None
    reason: str | None


def _transfer(view: transfers.TransferView, settings: Settings) -> dict[str, Any]:
    return TransferPublic(
        id=view.id,
        sku=view.sku,
        from_location=view.from_location,
        to_location=view.to_location,
        quantity=view.quantity,
        status=view.status,
        created_at=in_shop_zone(view.created_at, settings),
        received_at=in_shop_zone(view.received_at, settings) if view.received_at else None,
        reason=view.reason,
    ).model_dump(mode="json")


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransferPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def post_transfer(body: TransferCreate, store: StoreDep) -> JSONResponse:
    """Send units between locations: a `transfer_out` now; incoming at the destination until
    received. 409 `negative_stock` when fewer units are free at the source."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        view, _ = transfers.create_transfer(
            conn,
            sku=body.sku,
            from_location=body.from_location,
            to_location=body.to_location,
            quantity=body.quantity,
            idempotency_key=body.idempotency_key,
            actor="api",
            now=local_now(settings),
            reason=body.reason,
        )
        return 201, _transfer(view, settings)

    return _respond(
        run_once(store.engine, f"transfers:{body.idempotency_key}", body.model_dump(), act)
    )


@router.get("/transfers/{transfer_id}", response_model=TransferPublic, responses=PROBLEMS)
def get_transfer(transfer_id: Annotated[str, Path(max_length=64)], store: StoreDep) -> JSONResponse:
    with store.engine.connect() as conn:
        return JSONResponse(_transfer(transfers.get_transfer(conn, transfer_id), store.settings))


@router.post(
    "/transfers/{transfer_id}/receive",
    response_model=TransferPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def receive_transfer(
    transfer_id: Annotated[str, Path(max_length=64)],
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The units arrived: a `transfer_in` at the destination; receiving twice is harmless."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        view = transfers.receive_transfer(conn, transfer_id, actor="api", now=local_now(settings))
        return 200, _transfer(view, settings)

    if idempotency_key is None:
        with store.engine.begin() as conn:
            return _respond(act(conn))
    return _respond(
        run_once(store.engine, f"transfer-receive:{idempotency_key}", {"id": transfer_id}, act)
    )


# --- pre-orders (予約販売) ----------------------------------------------------------------------


class PreorderCreate(BaseModel):
    sku: Code
    channel: Code
    quantity: int = Field(gt=0, le=1_000_000)
    idempotency_key: Key


class PreorderPublic(BaseModel):
    id: str
    sku: str
    channel: str
    quantity: int
    status: Literal["waiting", "confirmed", "cancelled"] = Field(
        description="`waiting`: sold against incoming stock; `confirmed`: held on hand as "
        "reservation `reservation_id`; `cancelled`."
    )
    created_at: dt.datetime
    closed_at: dt.datetime | None
    reservation_id: str | None


class PreorderLimitSet(BaseModel):
    sku: Code
    channel: Code | None = Field(
        default=None, description="The channel it limits; null: every channel together."
    )
    max_units: int = Field(ge=0, le=1_000_000, description="Units that may wait; 0 stops them.")


def _preorder(view: preorders.PreorderView, settings: Settings) -> dict[str, Any]:
    return PreorderPublic(
        id=view.id,
        sku=view.sku,
        channel=view.channel,
        quantity=view.quantity,
        status=view.status,
        created_at=in_shop_zone(view.created_at, settings),
        closed_at=in_shop_zone(view.closed_at, settings) if view.closed_at else None,
        reservation_id=view.reservation_id,
    ).model_dump(mode="json")


@router.put(
    "/preorder-limits",
    response_model=PreorderLimitSet,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def put_preorder_limit(body: PreorderLimitSet, store: StoreDep) -> PreorderLimitSet:
    """How many units of a SKU may be pre-ordered against incoming stock (none by default)."""
    with store.engine.begin() as conn:
        preorders.set_limit(conn, sku=body.sku, channel=body.channel, max_units=body.max_units)
    return body


@router.post(
    "/preorders",
    status_code=201,
    response_model=PreorderPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.reserve))],
)
def post_preorder(body: PreorderCreate, store: StoreDep) -> JSONResponse:
    """Sell units now if the channel can (`confirmed`, with its reservation), else against
    incoming stock within the limits (`waiting`); 409 `insufficient_stock` otherwise."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        view, _ = preorders.preorder(
            conn,
            sku=body.sku,
            channel=body.channel,
            quantity=body.quantity,
            idempotency_key=body.idempotency_key,
            now=local_now(settings),
            mode=Mode(settings.allocation_mode),
        )
        return 201, _preorder(view, settings)

    return _respond(
        run_once(store.engine, f"preorders:{body.idempotency_key}", body.model_dump(), act)
    )


@router.get("/preorders/{preorder_id}", response_model=PreorderPublic, responses=PROBLEMS)
def get_preorder(preorder_id: Annotated[str, Path(max_length=64)], store: StoreDep) -> JSONResponse:
    with store.engine.connect() as conn:
        return JSONResponse(_preorder(preorders.get_preorder(conn, preorder_id), store.settings))


@router.post(
    "/preorders/{preorder_id}/cancel",
    response_model=PreorderPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.reserve))],
)
def cancel_preorder(
    preorder_id: Annotated[str, Path(max_length=64)],
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Withdraw a waiting pre-order; cancelling twice is harmless."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        return 200, _preorder(
            preorders.cancel(conn, preorder_id, now=local_now(settings)), settings
        )

    if idempotency_key is None:
        with store.engine.begin() as conn:
            return _respond(act(conn))
    return _respond(
        run_once(store.engine, f"preorder-cancel:{idempotency_key}", {"id": preorder_id}, act)
    )
