"""The purchase-order list's lifecycle: edit, approve, purchase orders, receipts (検品).

* **Edit** a plan line: quantity (0 or a whole number of case packs, at least
  the MOQ), exclude, note. The edit is kept on the line and carried to the
  next run's line for the same SKU × location until approved.
* **Approve** lines: each supplier × location gets one purchase order
  (numbered ``PO-<yyyymmdd>-<n>``) whose lines show as incoming stock
  (入荷予定) in the ledger and as on order in every later plan run.
* **Receive** units on a purchase-order line: a ``receipts`` row and a ledger
  ``receipt`` movement in one transaction. A receipt may be partial (the line
  stays open unless the buyer closes it short) or over (the line closes).
  Closing short sets the line's expected quantity to what came, so nothing
  is counted as incoming any more; the ordered quantity is kept apart.

Every function takes a connection inside the caller's transaction and raises
:class:`~soko.errors.SokoError` with a message naming what is wrong, before
changing anything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, select, update

from soko.errors import ErrorCode, SokoError
from soko.ledger.service import record_movement
from soko.planning.quantities import is_orderable
from soko.planning.run import final_quantity
from soko.store.tables import (
    Location,
    PlanLine,
    PlanRun,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineState,
    PurchaseOrderState,
    Receipt,
    Sku,
    Source,
    Supplier,
    table_of,
)

RECEIPT_SOURCE = "soko:receipts"
"""The ``sources`` name of receipts entered in Soko (imported ones name their file)."""
MAX_NOTE = 500
MAX_QUANTITY = 10_000_000


def _fail(code: ErrorCode, message: str) -> SokoError:
    return SokoError(code, message)


# ---------------------------------------------------------------- plan lines


@dataclass(frozen=True)
class LineView:
    """A plan line as the API and pages show it."""

    id: int
    plan_run_id: int
    sku: str
    product_name: str | None
    location: str
    supplier: str | None
    supplier_name: str | None
    kind: str
    recommended_quantity: int
    edited_quantity: int | None
    excluded: bool
    note: str | None
    quantity: int
    """What will be ordered: 0 if excluded, else the edit or the recommendation."""
    case_pack: int
    moq: int
    unit_cost: Decimal | None
    on_hand: int
    on_order: int
    reserved: int
    inventory_position: int
    safety_stock: int
    reorder_point: int
    order_up_to: int
    service_level: Decimal | None
    demand_mean: Decimal
    lead_time_days: Decimal
    flags: list[str]
    explanation: dict[str, Any]
    approved_at: dt.datetime | None
    purchase_order: str | None


def _select_lines() -> Any:
    """Plan lines with their names, as flat rows (the line's columns first)."""
    cols = list(table_of(PlanLine).c)
    return (
        select(
            *cols,
            Sku.code.label("sku_code"),
            Product.name.label("product_name"),
            Location.code.label("location_code"),
            Supplier.code.label("supplier_code"),
            Supplier.name.label("supplier_name"),
            Sku.case_pack,
            Sku.moq,
            PurchaseOrder.number.label("po_number"),
        )
        .select_from(PlanLine)
        .join(Sku, Sku.id == PlanLine.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .join(Location, Location.id == PlanLine.location_id)
        .outerjoin(Supplier, Supplier.id == PlanLine.supplier_id)
        .outerjoin(PurchaseOrderLine, PurchaseOrderLine.id == PlanLine.purchase_order_line_id)
        .outerjoin(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
    )


def _line_view(r: Any) -> LineView:
    return LineView(
        id=r.id,
        plan_run_id=r.plan_run_id,
        sku=r.sku_code,
        product_name=r.product_name,
        location=r.location_code,
        supplier=r.supplier_code,
        supplier_name=r.supplier_name,
        kind=r.kind,
        recommended_quantity=r.recommended_quantity,
        edited_quantity=r.edited_quantity,
        excluded=bool(r.excluded),
        note=r.note,
        quantity=final_quantity(r.recommended_quantity, r.edited_quantity, bool(r.excluded)),
        case_pack=int(r.case_pack or 1),
        moq=int(r.moq or 1),
        unit_cost=r.unit_cost,
        on_hand=r.on_hand,
        on_order=r.on_order,
        reserved=r.reserved,
        inventory_position=r.inventory_position,
        safety_stock=r.safety_stock,
        reorder_point=r.reorder_point,
        order_up_to=r.order_up_to,
        service_level=r.service_level,
        demand_mean=r.demand_mean,
        lead_time_days=r.lead_time_days,
        flags=list(r.flags or []),
        explanation=dict(r.explanation or {}),
        approved_at=r.approved_at,
        purchase_order=r.po_number,
    )


def latest_run_id(conn: Connection) -> int | None:
    """The newest finished plan run, or None before the first."""
    found = conn.execute(select(func.max(PlanRun.id)).where(PlanRun.status == "done")).scalar()
    return int(found) if found is not None else None


def plan_lines(
    conn: Connection,
    run_id: int,
    *,
    after_id: int | None = None,
    limit: int | None = None,
    kind: str | None = None,
    supplier: str | None = None,
) -> list[LineView]:
    """A run's lines, by supplier, then kind, then SKU and location (id order when paging).

    ``supplier`` keeps one supplier's lines ("" for lines without a supplier).
    """
    query = _select_lines().where(PlanLine.plan_run_id == run_id)
    if kind is not None:
        query = query.where(PlanLine.kind == kind)
    if supplier == "":
        query = query.where(PlanLine.supplier_id.is_(None))
    elif supplier is not None:
        query = query.where(Supplier.code == supplier)
    if after_id is not None or limit is not None:
        query = query.order_by(PlanLine.id)
        if after_id is not None:
            query = query.where(PlanLine.id > after_id)
        if limit is not None:
            query = query.limit(limit)
    else:
        query = query.order_by(Supplier.code, PlanLine.kind, Sku.code, Location.code)
    return [_line_view(r) for r in conn.execute(query)]


@dataclass(frozen=True)
class SupplierTotal:
    """One supplier's share of a run: lines to order, units, value at cost, lines not approved."""

    supplier: str
    """The supplier's code; "" for lines without a supplier."""
    name: str | None
    lines: int
    units: int
    value: Decimal
    open: int


def supplier_totals(conn: Connection, run_id: int) -> list[SupplierTotal]:
    """Per supplier, what a run orders (the buyer's edits counted), in supplier order."""
    quantity = case(
        (PlanLine.excluded.is_(True), 0),
        else_=func.coalesce(PlanLine.edited_quantity, PlanLine.recommended_quantity),
    )
    rows = conn.execute(
        select(
            Supplier.code,
            Supplier.name,
            func.sum(case((quantity > 0, 1), else_=0)),
            func.sum(quantity),
            func.sum(quantity * func.coalesce(PlanLine.unit_cost, 0)),
            func.sum(case((PlanLine.approved_at.is_(None), 1), else_=0)),
        )
        .select_from(PlanLine)
        .outerjoin(Supplier, Supplier.id == PlanLine.supplier_id)
        .where(PlanLine.plan_run_id == run_id)
        .group_by(Supplier.code, Supplier.name)
        .order_by(Supplier.code)
    ).all()
    return [
        SupplierTotal(
            supplier=code or "",
            name=name,
            lines=int(n or 0),
            units=int(units or 0),
            value=Decimal(str(value or 0)),
            open=int(still_open or 0),
        )
        for code, name, n, units, value, still_open in rows
    ]


def get_line(conn: Connection, line_id: int) -> LineView:
    row = conn.execute(_select_lines().where(PlanLine.id == line_id)).one_or_none()
    if row is None:
        raise _fail(ErrorCode.not_found, f"There is no plan line {line_id}.")
    return _line_view(row)


def edit_line(
    conn: Connection,
    line_id: int,
    *,
    quantity: int | None = None,
    clear_quantity: bool = False,
    excluded: bool | None = None,
    note: str | None = None,
    actor: str,
    now: dt.datetime,
) -> LineView:
    """Change a line's quantity, exclusion or note; an approved line cannot change.

    ``quantity`` must be 0 or a whole number of case packs of at least the
    MOQ, so that what the buyer types is what the supplier ships;
    ``clear_quantity`` goes back to the plan's recommendation. An empty note
    removes the note.
    """
    line = get_line(conn, line_id)
    if line.approved_at is not None:
        raise _fail(
            ErrorCode.validation_error,
            f"Plan line {line_id} ({line.sku} at {line.location}) is already approved"
            f"{' on ' + line.purchase_order if line.purchase_order else ''}; it cannot change.",
        )
    values: dict[str, Any] = {}
    if quantity is not None:
        if quantity < 0 or quantity > MAX_QUANTITY:
            raise _fail(
                ErrorCode.invalid_quantity, f"quantity: from 0 to {MAX_QUANTITY}, not {quantity}."
            )
        if not is_orderable(quantity, case_pack=line.case_pack, moq=line.moq):
            raise _fail(
                ErrorCode.invalid_quantity,
                f"quantity: {line.sku} is ordered in cases of {line.case_pack} with a minimum "
                f"of {line.moq}; {quantity} is not one of those (0 orders nothing).",
            )
        values["edited_quantity"] = quantity
    elif clear_quantity:
        values["edited_quantity"] = None
    if excluded is not None:
        values["excluded"] = excluded
    if note is not None:
        if len(note) > MAX_NOTE:
            raise _fail(ErrorCode.validation_error, f"note: at most {MAX_NOTE} characters.")
        values["note"] = note.strip() or None
    if values:
        values |= {"edited_at": now, "edited_by": actor}
        conn.execute(update(PlanLine).where(PlanLine.id == line_id).values(**values))
    return get_line(conn, line_id)


# ---------------------------------------------------------------- approval


@dataclass(frozen=True)
class Approval:
    """What approving made: purchase-order numbers and the lines approved."""

    purchase_orders: list[str]
    lines_approved: int
    units: int


def _next_number(conn: Connection, day: dt.date) -> int:
    prefix = f"PO-{day:%Y%m%d}-"
    numbers = conn.execute(
        select(PurchaseOrder.number).where(PurchaseOrder.number.like(f"{prefix}%"))
    ).scalars()
    used = [int(n[len(prefix) :]) for n in numbers if n[len(prefix) :].isdigit()]
    return max(used, default=0) + 1


def approve(
    conn: Connection,
    line_ids: list[int],
    *,
    actor: str,
    now: dt.datetime,
) -> Approval:
    """Approve lines; those that order something become purchase orders per supplier × location.

    Approving an approved line again changes nothing (so a retried request is
    harmless). A line to order without a supplier is refused, naming its SKU.
    """
    if not line_ids:
        raise _fail(ErrorCode.validation_error, "line_ids: name at least one plan line.")
    rows = conn.execute(_select_lines().where(PlanLine.id.in_(sorted(set(line_ids))))).all()
    found = {r.id for r in rows}
    missing = sorted(set(line_ids) - found)
    if missing:
        raise _fail(ErrorCode.not_found, f"There is no plan line {missing[0]}.")
    views = [_line_view(r) for r in rows if r.approved_at is None]
    supplier_of = {r.id: r.supplier_id for r in rows}
    location_of = {r.id: r.location_id for r in rows}
    sku_of = {r.id: r.sku_id for r in rows}
    run_of = {r.id: r.plan_run_id for r in rows}
    no_supplier = [v.sku for v in views if v.quantity > 0 and supplier_of[v.id] is None]
    if no_supplier:
        raise _fail(
            ErrorCode.validation_error,
            f"{no_supplier[0]} has no supplier: set one on the SKU or its product, then approve.",
        )
    groups: dict[tuple[int, int], list[LineView]] = defaultdict(list)
    for v in views:
        if v.quantity > 0:
            groups[(supplier_of[v.id], location_of[v.id])].append(v)
    numbers: list[str] = []
    number = _next_number(conn, now.date())
    leads = dict(conn.execute(select(Supplier.id, Supplier.lead_time_days)).all())
    units = 0
    for (supplier, location), lines in sorted(groups.items()):
        po_number = f"PO-{now:%Y%m%d}-{number:04d}"
        number += 1
        po_id = conn.execute(
            table_of(PurchaseOrder)
            .insert()
            .values(
                number=po_number, supplier_id=supplier, location_id=location, ordered_on=now.date()
            )
            .returning(table_of(PurchaseOrder).c.id)
        ).scalar_one()
        conn.execute(
            table_of(PurchaseOrderState)
            .insert()
            .values(
                purchase_order_id=po_id,
                plan_run_id=run_of[lines[0].id],
                created_at=now,
                created_by=actor,
            )
        )
        for v in lines:
            lead = v.lead_time_days or Decimal(leads.get(supplier) or 0)
            promised = now.date() + dt.timedelta(days=round(float(lead)))
            po_line = conn.execute(
                table_of(PurchaseOrderLine)
                .insert()
                .values(
                    purchase_order_id=po_id,
                    sku_id=sku_of[v.id],
                    quantity=v.quantity,
                    unit_cost=v.unit_cost,
                    promised_on=promised,
                )
                .returning(table_of(PurchaseOrderLine).c.id)
            ).scalar_one()
            conn.execute(
                table_of(PurchaseOrderLineState)
                .insert()
                .values(purchase_order_line_id=po_line, ordered_quantity=v.quantity)
            )
            conn.execute(
                update(PlanLine).where(PlanLine.id == v.id).values(purchase_order_line_id=po_line)
            )
            units += v.quantity
        numbers.append(po_number)
    if views:
        conn.execute(
            update(PlanLine)
            .where(PlanLine.id.in_([v.id for v in views]), PlanLine.approved_at.is_(None))
            .values(approved_at=now, approved_by=actor)
        )
    return Approval(numbers, len(views), units)


# ---------------------------------------------------------------- purchase orders and receipts


@dataclass(frozen=True)
class PurchaseOrderLineView:
    id: int
    sku: str
    product_name: str | None
    ordered: int
    expected: int
    received: int
    open_units: int
    unit_cost: Decimal | None
    promised_on: dt.date | None
    closed: bool


@dataclass(frozen=True)
class PurchaseOrderView:
    id: int
    number: str
    supplier: str
    supplier_name: str | None
    location: str
    ordered_on: dt.date
    plan_run_id: int | None
    lines: list[PurchaseOrderLineView]

    @property
    def open(self) -> bool:
        return any(not line.closed for line in self.lines)

    @property
    def value(self) -> Decimal:
        return sum(
            ((line.unit_cost or Decimal(0)) * line.ordered for line in self.lines), Decimal(0)
        )


def purchase_orders(
    conn: Connection, *, only_open: bool = False, number: str | None = None, limit: int = 200
) -> list[PurchaseOrderView]:
    """Purchase orders, newest first, with each line's ordered, received and open units.

    A line is closed when it has received what is expected, or was closed short.
    """
    received = (
        select(
            Receipt.purchase_order_line_id.label("line_id"),
            func.sum(Receipt.quantity).label("units"),
        )
        .group_by(Receipt.purchase_order_line_id)
        .subquery()
    )
    query = (
        select(
            PurchaseOrder.id,
            PurchaseOrder.number,
            Supplier.code,
            Supplier.name,
            Location.code,
            PurchaseOrder.ordered_on,
            PurchaseOrderState.plan_run_id,
            PurchaseOrderLine.id,
            Sku.code,
            Product.name,
            func.coalesce(PurchaseOrderLineState.ordered_quantity, PurchaseOrderLine.quantity),
            PurchaseOrderLine.quantity,
            func.coalesce(received.c.units, 0),
            PurchaseOrderLine.unit_cost,
            PurchaseOrderLine.promised_on,
            PurchaseOrderLineState.closed_at,
        )
        .select_from(PurchaseOrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Location, Location.id == PurchaseOrder.location_id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .outerjoin(PurchaseOrderState, PurchaseOrderState.purchase_order_id == PurchaseOrder.id)
        .outerjoin(
            PurchaseOrderLineState,
            PurchaseOrderLineState.purchase_order_line_id == PurchaseOrderLine.id,
        )
        .outerjoin(received, received.c.line_id == PurchaseOrderLine.id)
        .order_by(PurchaseOrder.ordered_on.desc(), PurchaseOrder.id.desc(), Sku.code)
    )
    if number is not None:
        query = query.where(PurchaseOrder.number == number)
    if only_open:
        query = query.where(PurchaseOrderLine.quantity > func.coalesce(received.c.units, 0))
    orders: dict[int, PurchaseOrderView] = {}
    for r in conn.execute(query):
        if r[0] not in orders:
            if len(orders) >= limit:
                break
            orders[r[0]] = PurchaseOrderView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], [])
        expected, got = int(r[11]), int(r[12])
        orders[r[0]].lines.append(
            PurchaseOrderLineView(
                id=r[7],
                sku=r[8],
                product_name=r[9],
                ordered=int(r[10]),
                expected=expected,
                received=got,
                open_units=max(0, expected - got),
                unit_cost=r[13],
                promised_on=r[14],
                closed=r[15] is not None or got >= expected,
            )
        )
    return list(orders.values())


def get_purchase_order(conn: Connection, number: str) -> PurchaseOrderView:
    found = purchase_orders(conn, number=number, limit=1)
    if not found:
        raise _fail(ErrorCode.not_found, f"There is no purchase order {number!r}.")
    return found[0]


@dataclass(frozen=True)
class ReceiptResult:
    receipt_id: int
    purchase_order: str
    sku: str
    location: str
    quantity: int
    received: int
    expected: int
    closed: bool
    on_hand_after: int


def _receipt_source(conn: Connection) -> int:
    found = conn.execute(select(Source.id).where(Source.name == RECEIPT_SOURCE)).scalar()
    if found is not None:
        return int(found)
    return int(
        conn.execute(
            table_of(Source).insert().values(name=RECEIPT_SOURCE).returning(table_of(Source).c.id)
        ).scalar_one()
    )


def receive(
    conn: Connection,
    purchase_order_line_id: int,
    quantity: int,
    *,
    received_on: dt.date,
    close_short: bool = False,
    actor: str,
    now: dt.datetime,
) -> ReceiptResult:
    """Receive units on a purchase-order line (検品): a receipt and a ledger movement.

    Partial: the line stays open, unless ``close_short`` says no more will
    come. Over: the extra units are received too and the line closes.
    """
    if quantity <= 0 or quantity > MAX_QUANTITY:
        raise _fail(
            ErrorCode.invalid_quantity, f"quantity: a receipt brings 1 to {MAX_QUANTITY} units."
        )
    row = conn.execute(
        select(
            PurchaseOrderLine.id,
            PurchaseOrderLine.quantity,
            PurchaseOrder.number,
            PurchaseOrder.ordered_on,
            Sku.code,
            Location.code,
            PurchaseOrderLineState.closed_at,
            PurchaseOrderLineState.ordered_quantity,
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        .join(Location, Location.id == PurchaseOrder.location_id)
        .outerjoin(
            PurchaseOrderLineState,
            PurchaseOrderLineState.purchase_order_line_id == PurchaseOrderLine.id,
        )
        .where(PurchaseOrderLine.id == purchase_order_line_id)
    ).one_or_none()
    if row is None:
        raise _fail(
            ErrorCode.not_found, f"There is no purchase-order line {purchase_order_line_id}."
        )
    line_id, expected, po_number, ordered_on, sku, location, closed_at, ordered = row
    if closed_at is not None:
        raise _fail(
            ErrorCode.validation_error,
            f"{po_number}: the line of {sku} was closed on {closed_at:%Y-%m-%d}; "
            "record a stock adjustment for units that still arrive.",
        )
    if received_on > now.date():
        raise _fail(ErrorCode.validation_error, f"received_on: {received_on} is in the future.")
    if received_on < ordered_on:
        raise _fail(
            ErrorCode.validation_error,
            f"received_on: {received_on} is before the order date {ordered_on} of {po_number}.",
        )
    before = int(
        conn.execute(
            select(func.coalesce(func.sum(Receipt.quantity), 0)).where(
                Receipt.purchase_order_line_id == line_id
            )
        ).scalar_one()
    )
    source = _receipt_source(conn)
    source_row = (
        int(
            conn.execute(
                select(func.coalesce(func.max(Receipt.source_row), 0)).where(
                    Receipt.source_id == source
                )
            ).scalar_one()
        )
        + 1
    )
    receipt_id = int(
        conn.execute(
            table_of(Receipt)
            .insert()
            .values(
                source_id=source,
                source_row=source_row,
                purchase_order_line_id=line_id,
                received_on=received_on,
                quantity=quantity,
            )
            .returning(table_of(Receipt).c.id)
        ).scalar_one()
    )
    moved = record_movement(
        conn,
        sku=sku,
        location=location,
        kind="receipt",
        quantity=quantity,
        idempotency_key=f"po-receipt:{receipt_id}",
        actor=actor,
        now=now,
        reason=f"{po_number} 検品",
    )
    total = before + quantity
    closed = total >= int(expected)
    if ordered is None:  # an imported line: keep what was ordered before changing it
        conn.execute(
            table_of(PurchaseOrderLineState)
            .insert()
            .values(purchase_order_line_id=line_id, ordered_quantity=int(expected))
        )
    if close_short and not closed:
        conn.execute(
            update(PurchaseOrderLine).where(PurchaseOrderLine.id == line_id).values(quantity=total)
        )
        closed = True
    if closed:
        conn.execute(
            update(PurchaseOrderLineState)
            .where(PurchaseOrderLineState.purchase_order_line_id == line_id)
            .values(closed_at=now, closed_by=actor)
        )
    return ReceiptResult(
        receipt_id=receipt_id,
        purchase_order=po_number,
        sku=sku,
        location=location,
        quantity=quantity,
        received=total,
        expected=total if close_short else int(expected),
        closed=closed,
        on_hand_after=moved[-1].on_hand_after,
    )


def plan_runs(conn: Connection, *, limit: int = 50, before_id: int | None = None) -> list[Any]:
    """Plan runs, newest first (before ``before_id`` when paging)."""
    query = select(table_of(PlanRun)).order_by(PlanRun.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(PlanRun.id < before_id)
    return list(conn.execute(query).all())


def plan_run(conn: Connection, run_id: int) -> Any:
    """One plan run's row, or ``not_found``."""
    row = conn.execute(select(table_of(PlanRun)).where(PlanRun.id == run_id)).one_or_none()
    if row is None:
        raise _fail(ErrorCode.not_found, f"There is no plan run {run_id}.")
    return row


def check_lines_of_run(conn: Connection, run_id: int, line_ids: list[int]) -> None:
    """Refuse line ids that are not lines of ``run_id``, naming the first."""
    found = set(
        conn.execute(
            select(PlanLine.id).where(
                PlanLine.plan_run_id == run_id, PlanLine.id.in_(sorted(set(line_ids)))
            )
        ).scalars()
    )
    missing = sorted(set(line_ids) - found)
    if missing:
        raise _fail(ErrorCode.not_found, f"Plan run {run_id} has no line {missing[0]}.")


@dataclass(frozen=True)
class ReceiptView:
    id: int
    purchase_order: str
    supplier: str
    sku: str
    location: str
    received_on: dt.date
    quantity: int


def recent_receipts(conn: Connection, *, limit: int = 20) -> list[ReceiptView]:
    """The newest receipts (検品) against purchase orders, newest first."""
    rows = conn.execute(
        select(
            Receipt.id,
            PurchaseOrder.number,
            Supplier.code,
            Sku.code,
            Location.code,
            Receipt.received_on,
            Receipt.quantity,
        )
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Receipt.purchase_order_line_id)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .join(Sku, Sku.id == PurchaseOrderLine.sku_id)
        .join(Location, Location.id == PurchaseOrder.location_id)
        .order_by(Receipt.received_on.desc(), Receipt.id.desc())
        .limit(limit)
    ).all()
    return [ReceiptView(*r) for r in rows]
