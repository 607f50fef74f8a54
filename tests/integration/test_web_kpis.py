"""``/api/v1/kpis``: turnover, days of inventory and fill rate from the known store's rows.

The expected figures are worked out here from the rows in ``conftest`` (not
from the code under test): cost of goods sold per week, stock value walked
back from today's, and DESIGN.md's turnover = COGS ÷ average inventory value.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from soko.planning.orders import receive
from soko.store.db import session_scope
from soko.store.tables import Location, PurchaseOrder, PurchaseOrderLine, Sku, Supplier
from soko.web.app import create_app
from tests.integration.conftest import (
    LAST_ORDER_AT,
    LINES,
    SKUS,
    STOCK,
    KnownStore,
    client_for,
    fill,
    migrated_settings,
)

END = dt.datetime.combine(LAST_ORDER_AT.date() + dt.timedelta(days=1), dt.time())
COST = {s.code: s.unit_cost or Decimal(0) for s in SKUS}


def cogs_between(start: dt.datetime, end: dt.datetime) -> Decimal:
    total = Decimal(0)
    for line in LINES:
        if start <= line.at < end:
            sign = 1 if line.kind == "sale" else -1
            total += sign * line.quantity * COST[line.sku]
    return total


def test_turnover_days_and_fill_rate_follow_the_textbook_formulas(
    known_store: KnownStore, client: TestClient
) -> None:
    body = client.get("/api/v1/kpis").json()
    stock_now = sum((units * COST[sku] for sku, _, units in STOCK), Decimal(0))
    # No receipts: going back a week, the stock held that week's cost of sales more.
    boundaries = [stock_now]
    for k in range(4):
        week_end = END - dt.timedelta(weeks=k)
        boundaries.append(boundaries[-1] + cogs_between(week_end - dt.timedelta(weeks=1), week_end))
    average = sum(boundaries, Decimal(0)) / len(boundaries)
    cogs = cogs_between(END - dt.timedelta(weeks=4), END)
    assert cogs > 0
    assert body["turnover"] == round(float(cogs / average) * 365 / 28, 1)
    assert body["days_of_inventory"] == round(float(average / cogs) * 28)
    # No restock requests were recorded, so every unit asked for was served.
    assert body["fill_rate"] == 1.0
    assert body["unmet_units"] == 0
    assert body["sales"] == body["revenue"]
    weekly = body["weekly"]
    assert len(weekly) == 12
    assert [w["week_start"] for w in weekly][-1] == str((END - dt.timedelta(weeks=1)).date())
    assert sum(w["sales"] for w in weekly[-4:]) == body["sales"]
    assert weekly[-1]["stock_value"] == int(stock_now.quantize(Decimal(1), ROUND_HALF_UP))


def test_an_empty_store_has_no_ratios_rather_than_zeros(empty_client: TestClient) -> None:
    body = empty_client.get("/api/v1/kpis").json()
    assert (body["turnover"], body["days_of_inventory"], body["fill_rate"]) == (None, None, None)
    assert body["weekly"] == []


def test_goods_received_after_the_last_order_end_the_trend_at_the_headline_stock_value(
    tmp_path: Path,
) -> None:
    settings, engine = migrated_settings(tmp_path)
    fill(engine)
    sku, location, _ = STOCK[0]
    received_on = LAST_ORDER_AT.date() + dt.timedelta(days=2)
    with session_scope(engine) as session:
        supplier = Supplier(code="SUP-1", name="Supplier one")
        session.add(supplier)
        session.flush()
        po = PurchaseOrder(
            number="PO-1",
            supplier_id=supplier.id,
            location_id=session.scalars(select(Location.id).where(Location.code == location)).one(),
            ordered_on=LAST_ORDER_AT.date(),
        )
        session.add(po)
        session.flush()
        line = PurchaseOrderLine(
            purchase_order_id=po.id,
            sku_id=session.scalars(select(Sku.id).where(Sku.code == sku)).one(),
            quantity=5,
        )
        session.add(line)
        session.flush()
        line_id = line.id
    with engine.begin() as conn:
        receive(
            conn,
            line_id,
            5,
            received_on=received_on,
            actor="test",
            now=dt.datetime.combine(received_on, dt.time(12)),
        )
    with client_for(create_app(settings)) as client:
        body = client.get("/api/v1/kpis").json()
    engine.dispose()
    stock_now = sum((units * COST[s] for s, _, units in STOCK), Decimal(0)) + 5 * COST[sku]
    assert body["stock_value"] == int(stock_now.quantize(Decimal(1), ROUND_HALF_UP))
    # The trend's last point is the headline; the week began before the 5 units came.
    weekly = body["weekly"]
    assert weekly[-1]["stock_value"] == body["stock_value"]
    week_start = END - dt.timedelta(weeks=1)
    before_receipt = stock_now - 5 * COST[sku] + cogs_between(week_start, END)
    assert weekly[-2]["stock_value"] == int(before_receipt.quantize(Decimal(1), ROUND_HALF_UP))
