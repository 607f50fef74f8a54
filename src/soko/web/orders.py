"""Orders to place: the purchase-order list of the latest plan run, its edits and approval,
open purchase orders and their receipts (検品), and the list's exports.

Staple and seasonal items are shown apart and grouped by supplier with
totals; one supplier's lines are listed at a time so a large catalogue stays
quick to read. Planners and admins (``adjust``) may edit, approve, receive
and run the plan; viewers only read and export. Every form carries the CSRF
token and answers with a redirect back to the page, so a reload never sends
a form twice.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from soko.api.auth import Scope
from soko.api.deps import SettingsDep, StoreDep
from soko.errors import SokoError
from soko.planning import exports, orders
from soko.settings import local_now
from soko.web.auth import CsrfDep, UserDep, page_requires
from soko.web.pages import PagesDep, render_page
from soko.web.users import WebUser

router = APIRouter(include_in_schema=False)

Editor = Annotated[WebUser, page_requires(Scope.adjust)]
STALE_AFTER = dt.timedelta(hours=2)
"""A plan job still "running" after this long died with its server; a new run may start."""


@dataclass
class SupplierGroup:
    """One supplier's lines of one kind, with their totals."""

    code: str
    name: str | None
    kind: str
    lines: list[orders.LineView] = field(default_factory=list)

    @property
    def to_order(self) -> list[orders.LineView]:
        return [v for v in self.lines if v.quantity > 0]

    @property
    def units(self) -> int:
        return sum(v.quantity for v in self.lines)

    @property
    def value(self) -> Decimal:
        return sum(((v.unit_cost or Decimal(0)) * v.quantity for v in self.lines), Decimal(0))

    @property
    def open_ids(self) -> list[int]:
        return [v.id for v in self.lines if v.approved_at is None]


def group_lines(lines: list[orders.LineView]) -> dict[str, list[SupplierGroup]]:
    """``staple`` and ``seasonal`` → supplier groups in supplier order."""
    groups: dict[tuple[str, str], SupplierGroup] = {}
    for v in lines:
        key = (v.kind, v.supplier or "")
        if key not in groups:
            groups[key] = SupplierGroup(v.supplier or "", v.supplier_name, v.kind)
        groups[key].lines.append(v)
    out: dict[str, list[SupplierGroup]] = {"staple": [], "seasonal": []}
    for (kind, _), group in sorted(groups.items(), key=lambda kv: kv[0][1]):
        out.setdefault(kind, []).append(group)
    return out


def orders_link(run_id: int | None, supplier: str | None = None, **extra: str) -> str:
    params = [("run", str(run_id) if run_id else ""), ("supplier", supplier or "")]
    params += list(extra.items())
    kept = [(k, v) for k, v in params if v]
    return f"/orders?{urlencode(kept)}" if kept else "/orders"


@router.get("/orders", response_class=HTMLResponse)
def orders_page(
    request: Request,
    user: UserDep,
    store: StoreDep,
    pages: PagesDep,
    run: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    supplier: Annotated[str | None, Query(max_length=64)] = None,
    job: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    saved: Annotated[str | None, Query(max_length=200)] = None,
    problem: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """The purchase-order list of a plan run (the latest by default) and the open orders."""
    with store.engine.connect() as conn:
        run_id = run or orders.latest_run_id(conn)
        plan = orders.plan_run(conn, run_id) if run_id else None
        totals = {t.supplier: t for t in orders.supplier_totals(conn, run_id)} if run_id else {}
        chosen = supplier if supplier in totals else next(iter(totals), None)
        shown = (
            orders.plan_lines(conn, run_id, supplier=chosen)
            if run_id and chosen is not None
            else []
        )
        open_pos = orders.purchase_orders(conn, only_open=True, limit=50)
        receipts = orders.recent_receipts(conn, limit=15)
        runs = orders.plan_runs(conn, limit=10)
    return render_page(
        request,
        pages,
        store.settings.default_locale,
        "orders.html",
        user=user,
        page="orders",
        plan=plan,
        runs=runs,
        totals=totals,
        grand_units=sum(t.units for t in totals.values()),
        grand_value=sum((t.value for t in totals.values()), Decimal(0)),
        chosen=chosen,
        groups=group_lines(shown),
        open_pos=open_pos,
        receipts=receipts,
        may_edit=user.may(Scope.adjust),
        job_id=job,
        saved=saved,
        problem=problem,
        link=orders_link,
        late=receipts_due(open_pos, local_now(store.settings).date()),
    )


def _back(run_id: int | None, supplier: str | None, anchor: str = "", **extra: str) -> Response:
    url = orders_link(run_id, supplier, **extra) + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)


@router.post("/orders/lines/{line_id}")
def edit_line_form(
    line_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    user: Editor,
    _csrf: CsrfDep,
    store: StoreDep,
    quantity: Annotated[str, Form(max_length=20)] = "",
    excluded: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Save a line's quantity, exclusion and note; an empty quantity means the recommendation."""
    with store.engine.connect() as conn:
        line = orders.get_line(conn, line_id)
    text = quantity.strip().replace(",", "")
    if text and not text.isdigit():
        return _back(
            line.plan_run_id,
            line.supplier,
            f"line-{line_id}",
            problem=f"{line.sku}: quantity {quantity!r} is not a whole number.",
        )
    try:
        with store.engine.begin() as conn:
            orders.edit_line(
                conn,
                line_id,
                quantity=int(text) if text else None,
                clear_quantity=not text,
                excluded=excluded == "on",
                note=note,
                actor=user.name,
                now=local_now(store.settings),
            )
    except SokoError as exc:
        return _back(line.plan_run_id, line.supplier, f"line-{line_id}", problem=exc.message)
    return _back(line.plan_run_id, line.supplier, f"line-{line_id}", saved=line.sku)


@router.post("/orders/approve")
def approve_form(
    request: Request,
    user: Editor,
    _csrf: CsrfDep,
    store: StoreDep,
    run: Annotated[int, Form(ge=1, le=2_147_483_647)],
    supplier: Annotated[str, Form(max_length=64)] = "",
    line_ids: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Approve the listed lines (a supplier's open lines); they become purchase orders."""
    ids = [int(x) for x in line_ids.split(",") if x.strip().isdigit()]
    for attempt in range(3):  # a concurrent approval may take the same PO number: retry
        try:
            with store.engine.begin() as conn:
                orders.check_lines_of_run(conn, run, ids)
                made = orders.approve(conn, ids, actor=user.name, now=local_now(store.settings))
            break
        except SokoError as exc:
            return _back(run, supplier, "", problem=exc.message)
        except IntegrityError:
            if attempt == 2:
                raise
    return _back(run, supplier, "open-orders", saved=", ".join(made.purchase_orders) or "-")


@router.post("/orders/receipts")
def receipt_form(
    user: Editor,
    _csrf: CsrfDep,
    store: StoreDep,
    line_id: Annotated[int, Form(ge=1, le=2_147_483_647)],
    quantity: Annotated[str, Form(max_length=20)] = "",
    close_short: Annotated[str, Form(max_length=10)] = "",
    run: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Record a receipt (検品) on a purchase-order line."""
    run_id = int(run) if run.isdigit() else None
    text = quantity.strip().replace(",", "")
    if not text.isdigit() or int(text) <= 0:
        return _back(run_id, None, "open-orders", problem=f"quantity {quantity!r}: 1 or more.")
    now = local_now(store.settings)
    try:
        with store.engine.begin() as conn:
            made = orders.receive(
                conn,
                line_id,
                int(text),
                received_on=now.date(),
                close_short=close_short == "on",
                actor=user.name,
                now=now,
            )
    except SokoError as exc:
        return _back(run_id, None, "open-orders", problem=exc.message)
    return _back(run_id, None, "open-orders", saved=f"{made.purchase_order} {made.sku}")


def _run_in_background(engine: Engine, job_id: int) -> None:
    from soko.planning.run import run_plan

    try:
        run_plan(engine, job_id=job_id)
    except Exception:  # recorded on the job and the run by run_plan
        return


@router.post("/orders/run")
def run_plan_form(user: Editor, _csrf: CsrfDep, store: StoreDep) -> Response:
    """Start a plan run in the background; the page shows its progress live."""
    from soko.jobs import JobStatus, list_jobs, start_job
    from soko.planning.run import STAGES

    del user
    running = list_jobs(store.engine, kind="plan", status=JobStatus.running, limit=1)
    recent = local_now(store.settings) - STALE_AFTER
    if running and running[0].started_at > recent:  # one plan at a time: show it
        return RedirectResponse(f"/orders?job={running[0].id}", status_code=303)
    job_id = start_job(store.engine, "plan", total=len(STAGES), message=STAGES[0])
    threading.Thread(target=_run_in_background, args=(store.engine, job_id), daemon=True).start()
    return RedirectResponse(f"/orders?job={job_id}", status_code=303)


def _download(body: bytes, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/orders/export")
def export_list(
    user: UserDep,
    store: StoreDep,
    run: Annotated[int, Query(ge=1, le=2_147_483_647)],
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    encoding: Annotated[Literal["utf-8", "cp932"], Query()] = "utf-8",
) -> Response:
    """The run's purchase-order list as CSV (UTF-8 or CP932) or Excel."""
    del user
    with store.engine.connect() as conn:
        orders.plan_run(conn, run)
        frame = exports.run_frame(conn, run)
    stem = f"purchase-order-list-run{run}"
    if format == "xlsx":
        return _download(
            exports.to_xlsx(frame),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            f"{stem}.xlsx",
        )
    charset = "shift_jis" if encoding == "cp932" else "utf-8"
    return _download(
        exports.to_csv(frame, encoding),
        f"text/csv; charset={charset}",
        f"{stem}-{encoding}.csv",
    )


@router.get("/orders/po/{number}.xlsx")
def purchase_order_document(
    number: Annotated[str, Path(min_length=1, max_length=64)],
    user: UserDep,
    store: StoreDep,
    settings: SettingsDep,
) -> Response:
    """The 発注書 of one purchase order as an Excel file."""
    del user, settings
    with store.engine.connect() as conn:
        po = orders.get_purchase_order(conn, number)
    return _download(
        exports.purchase_order_xlsx(po),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{number}.xlsx",
    )


def receipts_due(pos: list[orders.PurchaseOrderView], today: dt.date) -> dict[str, int]:
    """Per purchase order, its open lines already past their promised date."""
    late: dict[str, int] = defaultdict(int)
    for po in pos:
        for line in po.lines:
            if not line.closed and line.promised_on is not None and line.promised_on < today:
                late[po.number] += 1
    return dict(late)
