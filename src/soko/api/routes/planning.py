"""Planning and purchasing: plan runs, their purchase-order list, edits, approval, receipts.

Reading needs the ``read`` scope; editing a line, approving and receiving
need ``adjust``. Writes take an ``Idempotency-Key`` header: replaying it
returns the first answer and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from soko.api.auth import Scope
from soko.api.deps import StoreDep, requires
from soko.api.idempotency import Answer, run_once
from soko.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor, next_cursor
from soko.api.problems import PROBLEM_MEDIA_TYPE
from soko.api.schemas import Money, money, optional_money
from soko.errors import ErrorCode, SokoError
from soko.planning import orders
from soko.planning.suppliers import receipt_history, supplier_stats
from soko.settings import Settings, in_shop_zone, local_now

router = APIRouter(tags=["planning"])
RETRIES = 3

RunId = Annotated[int, Path(ge=1, le=2_147_483_647)]
LineId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PoNumber = Annotated[str, Path(min_length=1, max_length=64)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=150)]


class PlanRunPublic(BaseModel):
    id: int
    as_of: dt.date
    status: Literal["running", "done", "failed"]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    settings: dict[str, Any] = Field(description="The choices the run made (service target…).")
    summary: dict[str, Any] = Field(
        description="Headline figures: lines, units and value to order, per kind; stage times."
    )
    job_id: int | None
    error: str | None


class PlanRunsPublic(BaseModel):
    items: list[PlanRunPublic]
    next_cursor: str | None


class PlanLinePublic(BaseModel):
    id: int
    plan_run_id: int
    sku: str
    product_name: str | None
    location: str
    supplier: str | None
    kind: Literal["staple", "seasonal"]
    quantity: int = Field(description="What will be ordered: the edit, else the recommendation.")
    recommended_quantity: int
    edited_quantity: int | None
    excluded: bool
    note: str | None
    case_pack: int
    moq: int
    unit_cost: Money | None
    on_hand: int
    on_order: int
    reserved: int
    inventory_position: int
    safety_stock: int
    reorder_point: int
    order_up_to: int
    service_level: float | None
    flags: list[str]
    explanation: dict[str, Any] = Field(
        description="Cost parts, the chosen and the margin-only service level, why this quantity."
    )
    approved_at: dt.datetime | None
    purchase_order: str | None


class PlanLinesPublic(BaseModel):
    items: list[PlanLinePublic]
    next_cursor: str | None


class PlanLineEdit(BaseModel):
    """Fields left out are kept; ``quantity: null`` goes back to the recommendation."""

    quantity: int | None = Field(
        default=None,
        ge=0,
        le=10_000_000,
        description="0, or a whole number of case packs of at least the MOQ.",
    )
    reset_quantity: bool = Field(default=False, description="Go back to the recommendation.")
    excluded: bool | None = None
    note: str | None = Field(default=None, max_length=500)


class ApprovalCreate(BaseModel):
    line_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] | None = Field(
        default=None,
        max_length=10_000,
        description="Lines to approve; left out, every line of the run not yet approved.",
    )


class ApprovalPublic(BaseModel):
    purchase_orders: list[str]
    lines_approved: int
    units: int


class PurchaseOrderLinePublic(BaseModel):
    id: int
    sku: str
    product_name: str | None
    ordered: int
    expected: int = Field(description="Units still expected in all (less when closed short).")
    received: int
    open_units: int
    unit_cost: Money | None
    promised_on: dt.date | None
    closed: bool


class PurchaseOrderPublic(BaseModel):
    number: str
    supplier: str
    supplier_name: str | None
    location: str
    ordered_on: dt.date
    plan_run_id: int | None
    open: bool
    value: Money
    lines: list[PurchaseOrderLinePublic]


class PurchaseOrdersPublic(BaseModel):
    items: list[PurchaseOrderPublic]


class ReceiptCreate(BaseModel):
    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: int = Field(gt=0, le=10_000_000)
    received_on: dt.date | None = Field(default=None, description="Default: today.")
    close_short: bool = Field(
        default=False, description="No more will come: close the line at what is received."
    )


class ReceiptPublic(BaseModel):
    receipt_id: int
    purchase_order: str
    sku: str
    location: str
    quantity: int
    received: int
    expected: int
    closed: bool
    on_hand_after: int


class SupplierLeadTimePublic(BaseModel):
    supplier: str
    lines: int = Field(description="Purchase-order lines with a receipt.")
    lead_mean: float
    lead_sd: float
    lead_p50: float
    lead_p90: float
    on_time_rate: float | None
    fill_rate: float | None


class SupplierLeadTimesPublic(BaseModel):
    items: list[SupplierLeadTimePublic]


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for code, text in {
        401: "No or unknown token",
        403: "The token lacks the scope",
        404: "Unknown plan run, line, purchase order or SKU on it",
        422: "Invalid request: a quantity off the case pack or MOQ, an approved line, "
        "a closed purchase-order line, or an idempotency key reused for another request",
    }.items()
}


def _run(row: Any, settings: Settings) -> PlanRunPublic:
    return PlanRunPublic(
        id=row.id,
        as_of=row.as_of,
        status=row.status,
        started_at=in_shop_zone(row.started_at, settings),
        finished_at=in_shop_zone(row.finished_at, settings) if row.finished_at else None,
        settings=dict(row.settings or {}),
        summary=dict(row.summary or {}),
        job_id=row.job_id,
        error=row.error,
    )


def _line(v: orders.LineView, settings: Settings) -> PlanLinePublic:
    return PlanLinePublic(
        id=v.id,
        plan_run_id=v.plan_run_id,
        sku=v.sku,
        product_name=v.product_name,
        location=v.location,
        supplier=v.supplier,
        kind="seasonal" if v.kind == "seasonal" else "staple",
        quantity=v.quantity,
        recommended_quantity=v.recommended_quantity,
        edited_quantity=v.edited_quantity,
        excluded=v.excluded,
        note=v.note,
        case_pack=v.case_pack,
        moq=v.moq,
        unit_cost=optional_money(v.unit_cost, settings.currency),
        on_hand=v.on_hand,
        on_order=v.on_order,
        reserved=v.reserved,
        inventory_position=v.inventory_position,
        safety_stock=v.safety_stock,
        reorder_point=v.reorder_point,
        order_up_to=v.order_up_to,
        service_level=float(v.service_level) if v.service_level is not None else None,
        flags=v.flags,
        explanation=v.explanation,
        approved_at=in_shop_zone(v.approved_at, settings) if v.approved_at else None,
        purchase_order=v.purchase_order,
    )


def _po(po: orders.PurchaseOrderView, settings: Settings) -> PurchaseOrderPublic:
    return PurchaseOrderPublic(
        number=po.number,
        supplier=po.supplier,
        supplier_name=po.supplier_name,
        location=po.location,
        ordered_on=po.ordered_on,
        plan_run_id=po.plan_run_id,
        open=po.open,
        value=money(po.value, settings.currency),
        lines=[
            PurchaseOrderLinePublic(
                id=line.id,
                sku=line.sku,
                product_name=line.product_name,
                ordered=line.ordered,
                expected=line.expected,
                received=line.received,
                open_units=line.open_units,
                unit_cost=optional_money(line.unit_cost, settings.currency),
                promised_on=line.promised_on,
                closed=line.closed,
            )
            for line in po.lines
        ],
    )


def _respond(answer: Answer) -> JSONResponse:
    status, body = answer
    media = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)


def _once(store: StoreDep, key: str | None, scope: str, request: dict[str, Any], act: Any) -> Any:
    """Run ``act`` in one transaction, once per idempotency key when one is sent.

    Without a key, a unique-number clash with a concurrent request (two
    approvals numbering a purchase order alike) is retried a few times.
    """
    if key is not None:
        return _respond(run_once(store.engine, f"{scope}:{key}", request, act))
    for _ in range(RETRIES - 1):
        try:
            with store.engine.begin() as conn:
                return _respond(act(conn))
        except IntegrityError:
            continue
    with store.engine.begin() as conn:
        return _respond(act(conn))


def _cursor_id(cursor: str | None) -> int | None:
    code = decode_cursor(cursor)
    if code is None:
        return None
    if not code.isdigit() or len(code) > 12:
        raise SokoError(
            ErrorCode.validation_error,
            "cursor: not a cursor from this API; pass next_cursor of the previous page as is.",
        )
    return int(code)


@router.get("/plan-runs", response_model=PlanRunsPublic, responses=PROBLEMS)
def list_plan_runs(
    store: StoreDep, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> PlanRunsPublic:
    """Plan runs, newest first, with their settings and headline figures."""
    before = _cursor_id(cursor)
    with store.engine.connect() as conn:
        rows = orders.plan_runs(conn, limit=limit + 1, before_id=before)
    return PlanRunsPublic(
        items=[_run(r, store.settings) for r in rows[:limit]],
        next_cursor=next_cursor([str(r.id) for r in rows], limit),
    )


@router.get("/plan-runs/{run_id}", response_model=PlanRunPublic, responses=PROBLEMS)
def get_plan_run(run_id: RunId, store: StoreDep) -> PlanRunPublic:
    """One plan run."""
    with store.engine.connect() as conn:
        row = orders.plan_run(conn, run_id)
    return _run(row, store.settings)


@router.get("/plan-runs/{run_id}/lines", response_model=PlanLinesPublic, responses=PROBLEMS)
def list_plan_lines(
    run_id: RunId,
    store: StoreDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    kind: Annotated[Literal["staple", "seasonal"] | None, Query()] = None,
) -> PlanLinesPublic:
    """A run's purchase-order list, each line with its figures and explanation, by line id."""
    after = _cursor_id(cursor)
    with store.engine.connect() as conn:
        orders.plan_run(conn, run_id)
        lines = orders.plan_lines(conn, run_id, after_id=after, limit=limit + 1, kind=kind)
    return PlanLinesPublic(
        items=[_line(v, store.settings) for v in lines[:limit]],
        next_cursor=next_cursor([str(v.id) for v in lines], limit),
    )


@router.patch(
    "/plan-lines/{line_id}",
    response_model=PlanLinePublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def edit_plan_line(
    line_id: LineId, body: PlanLineEdit, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Edit a line's quantity, exclusion or note; kept and carried to the next run."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        view = orders.edit_line(
            conn,
            line_id,
            quantity=body.quantity,
            clear_quantity=body.reset_quantity,
            excluded=body.excluded,
            note=body.note,
            actor="api",
            now=local_now(settings),
        )
        return 200, _line(view, settings).model_dump(mode="json")

    request = {"line": line_id, **body.model_dump()}
    return _once(store, idempotency_key, "plan-line-edit", request, act)  # type: ignore[no-any-return]


@router.post(
    "/plan-runs/{run_id}/approve",
    response_model=ApprovalPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def approve_plan_lines(
    run_id: RunId, body: ApprovalCreate, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Approve lines: those to order become purchase orders per supplier × location."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        orders.plan_run(conn, run_id)
        ids = body.line_ids
        if ids is None:
            ids = [v.id for v in orders.plan_lines(conn, run_id) if v.approved_at is None]
            if not ids:
                return 200, ApprovalPublic(
                    purchase_orders=[], lines_approved=0, units=0
                ).model_dump(mode="json")
        else:
            orders.check_lines_of_run(conn, run_id, ids)
        made = orders.approve(conn, ids, actor="api", now=local_now(settings))
        return 200, ApprovalPublic(
            purchase_orders=made.purchase_orders,
            lines_approved=made.lines_approved,
            units=made.units,
        ).model_dump(mode="json")

    request = {"run": run_id, **body.model_dump()}
    return _once(store, idempotency_key, "plan-approve", request, act)  # type: ignore[no-any-return]


@router.get("/purchase-orders", response_model=PurchaseOrdersPublic, responses=PROBLEMS)
def list_purchase_orders(
    store: StoreDep,
    status: Annotated[Literal["open", "all"], Query()] = "open",
    limit: LimitParam = DEFAULT_LIMIT,
) -> PurchaseOrdersPublic:
    """Purchase orders, newest first; ``open`` (default) keeps those still expecting units."""
    with store.engine.connect() as conn:
        found = orders.purchase_orders(conn, only_open=status == "open", limit=limit)
    return PurchaseOrdersPublic(items=[_po(po, store.settings) for po in found])


@router.get("/purchase-orders/{number}", response_model=PurchaseOrderPublic, responses=PROBLEMS)
def get_purchase_order(number: PoNumber, store: StoreDep) -> PurchaseOrderPublic:
    """One purchase order with each line's ordered, received and open units."""
    with store.engine.connect() as conn:
        po = orders.get_purchase_order(conn, number)
    return _po(po, store.settings)


@router.post(
    "/purchase-orders/{number}/receipts",
    status_code=201,
    response_model=ReceiptPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def post_receipt(
    number: PoNumber, body: ReceiptCreate, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Receive units (検品): a ledger receipt; the line closes when all (or more) came."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        po = orders.get_purchase_order(conn, number)
        line = next((x for x in po.lines if x.sku == body.sku), None)
        if line is None:
            raise SokoError(ErrorCode.not_found, f"{number} has no line for SKU {body.sku!r}.")
        now = local_now(settings)
        made = orders.receive(
            conn,
            line.id,
            body.quantity,
            received_on=body.received_on or now.date(),
            close_short=body.close_short,
            actor="api",
            now=now,
        )
        return 201, ReceiptPublic(**made.__dict__).model_dump(mode="json")

    request = {"number": number, **body.model_dump(mode="json")}
    return _once(store, idempotency_key, "po-receipt", request, act)  # type: ignore[no-any-return]


@router.get("/suppliers/lead-times", response_model=SupplierLeadTimesPublic, responses=PROBLEMS)
def supplier_lead_times(store: StoreDep) -> SupplierLeadTimesPublic:
    """Per supplier, lead times measured from receipts: mean, spread, on-time and fill rate."""
    with store.engine.connect() as conn:
        stats = supplier_stats(receipt_history(conn))
    return SupplierLeadTimesPublic(
        items=[SupplierLeadTimePublic(**row) for row in stats.iter_rows(named=True)]
    )
