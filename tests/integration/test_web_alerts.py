"""The overview's alerts: run-outs per channel and location, and purchase-order lines due.

The rows are built so each case is clear by hand: a SKU selling 1 a day with 5
left and a 10-day lead time will run out before a reorder arrives.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from soko.insight.overview import DEFAULT_LEAD_DAYS, build_alerts
from soko.settings import Settings
from soko.store.db import session_scope
from soko.store.tables import (
    Balance,
    Channel,
    Location,
    Order,
    OrderLine,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Sku,
    Source,
    Supplier,
)
from soko.web.app import create_app
from tests.integration.conftest import migrated_settings

END = dt.datetime(2024, 9, 30, 18, 0)  # the last order: the 4-week window is Sep 3 – Sep 30
TODAY = dt.date(2024, 10, 1)


def build(tmp_path: Path) -> tuple[Settings, Engine]:
    settings, engine = migrated_settings(tmp_path / "data")
    with session_scope(engine) as s:
        source = Source(name="alerts")
        supplier = Supplier(code="SUP", lead_time_days=3)
        web = Channel(code="web", name="Web", kind="own_web")
        pos = Channel(code="pos", name="Stores", kind="store_pos")
        s.add_all([source, supplier, web, pos])
        s.flush()
        wh = Location(code="WH", name="Warehouse", kind="warehouse")
        st = Location(code="ST", name="Shibuya", kind="store", channel_id=pos.id)
        plain = Product(code="P", name="Tee")
        supplied = Product(code="Q", name="Cap", supplier_id=supplier.id)
        s.add_all([wh, st, plain, supplied])
        s.flush()
        fast = Sku(code="FAST", product_id=plain.id, lead_time_days=10)  # 5 left, 1 a day
        steady = Sku(code="STEADY", product_id=supplied.id)  # supplier's 3 days; 20 of cover
        gone = Sku(code="GONE", product_id=plain.id)  # none left at the store, no lead time
        s.add_all([fast, steady, gone])
        s.flush()
        s.add_all(
            [
                Balance(sku_id=fast.id, location_id=wh.id, on_hand=5),
                Balance(sku_id=steady.id, location_id=wh.id, on_hand=10),
                Balance(sku_id=gone.id, location_id=st.id, on_hand=0),
                Balance(sku_id=gone.id, location_id=wh.id, on_hand=50),  # not where it sells
            ]
        )
        sales = [
            (fast, web, wh, 28, 1),
            (steady, web, wh, 14, 2),
            (gone, pos, st, 28, 3),
            (fast, web, wh, 500, 40),  # before the window: not the recent pace
        ]
        for row, (sku, channel, location, units, days_back) in enumerate(sales, start=1):
            order = Order(
                channel_id=channel.id,
                number=f"O{row}",
                ordered_at=END - dt.timedelta(days=days_back),
            )
            s.add(order)
            s.flush()
            s.add(
                OrderLine(
                    order_id=order.id,
                    source_id=source.id,
                    source_row=row,
                    sku_id=sku.id,
                    location_id=location.id,
                    quantity=units,
                    unit_price=1000,
                )
            )
        last = Order(channel_id=web.id, number="LAST", ordered_at=END)
        s.add(last)
        po1 = PurchaseOrder(
            number="PO1", supplier_id=supplier.id, location_id=wh.id, ordered_on=dt.date(2024, 9, 1)
        )
        po2 = PurchaseOrder(
            number="PO2", supplier_id=supplier.id, location_id=wh.id, ordered_on=dt.date(2024, 9, 1)
        )
        s.add_all([po1, po2])
        s.flush()
        soon = PurchaseOrderLine(
            purchase_order_id=po1.id,
            sku_id=fast.id,
            quantity=10,
            promised_on=TODAY + dt.timedelta(days=3),
        )
        later = PurchaseOrderLine(
            purchase_order_id=po1.id,
            sku_id=steady.id,
            quantity=10,
            promised_on=TODAY + dt.timedelta(days=20),
        )
        late = PurchaseOrderLine(
            purchase_order_id=po2.id,
            sku_id=gone.id,
            quantity=8,
            promised_on=TODAY - dt.timedelta(days=2),
        )
        done = PurchaseOrderLine(
            purchase_order_id=po2.id,
            sku_id=fast.id,
            quantity=4,
            promised_on=TODAY - dt.timedelta(days=1),
        )
        s.add_all([soon, later, late, done])
        s.flush()
        s.add_all(
            [
                Receipt(
                    source_id=source.id,
                    source_row=100,
                    purchase_order_line_id=soon.id,
                    received_on=TODAY,
                    quantity=4,
                ),
                Receipt(
                    source_id=source.id,
                    source_row=101,
                    purchase_order_line_id=done.id,
                    received_on=TODAY,
                    quantity=4,
                ),
            ]
        )
    return settings, engine


def test_run_outs_are_where_cover_at_the_recent_pace_is_below_the_lead_time(
    tmp_path: Path,
) -> None:
    _, engine = build(tmp_path)
    with session_scope(engine) as session:
        alerts = build_alerts(session, today=TODAY)
    found = {(r.sku, r.channel, r.location): r for r in alerts.run_outs}
    assert set(found) == {("FAST", "web", "WH"), ("GONE", "pos", "ST")}
    gone, fast = alerts.run_outs  # most urgent first
    assert (gone.sku, gone.available, gone.cover_days) == ("GONE", 0, 0)
    assert (gone.lead_time_days, gone.lead_time_known) == (DEFAULT_LEAD_DAYS, False)
    assert fast.daily_units == 1  # 28 units in 28 days; the older 500 do not count
    assert (fast.cover_days, fast.lead_time_days) == (5, 10)
    assert alerts.run_out_count == 2
    assert alerts.sync_configured is False


def test_po_lines_due_are_open_and_promised_within_a_week_or_late(tmp_path: Path) -> None:
    _, engine = build(tmp_path)
    with session_scope(engine) as session:
        alerts = build_alerts(session, today=TODAY)
    due = [(p.number, p.sku, p.open_units, p.late) for p in alerts.po_due]
    assert due == [("PO2", "GONE", 8, True), ("PO1", "FAST", 6, False)]
    assert (alerts.po_due_count, alerts.po_late_count) == (2, 1)


def test_the_overview_shows_the_alerts_first(tmp_path: Path) -> None:
    settings, _ = build(tmp_path)
    with TestClient(create_app(settings)) as client:
        html = client.get("/", params={"lang": "en"}).text
    assert html.index('id="alerts"') < html.index('id="kpis"') < html.index('id="sales-by-channel"')
    assert 'data-sku="FAST"' in html
    assert "Channel sync is not connected yet" in html
