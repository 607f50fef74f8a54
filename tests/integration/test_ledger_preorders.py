"""Pre-orders (予約販売) on SQLite and PostgreSQL: within the seller's limit, never more than
incoming, confirmed oldest first when the stock arrives — also under concurrency."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from soko.api.auth import Scope
from soko.data.importer import import_paths
from soko.errors import ErrorCode, SokoError
from soko.ledger import preorders, service
from soko.ledger.rules import Mode
from soko.settings import Settings
from soko.store.tables import (
    Preorder,
    PurchaseOrder,
    PurchaseOrderLine,
    Sku,
    Supplier,
    table_of,
)
from soko.web.app import create_app
from tests.integration.conftest import client_for
from tests.integration.test_import import write_shop
from tests.integration.test_ledger_transfers import LOCATIONS

NOW = dt.datetime(2026, 11, 1, 12, 0)
STOCK = "sku,location_code,on_hand\nTS-BLK-M,wh1,3\n"
ON_ORDER = 10  # TS-BLK-L: none on hand, 10 on an open purchase order at wh1


@pytest.fixture
def shop(store: Settings, engine: Engine, tmp_path: Path) -> Engine:
    folder = write_shop(tmp_path / "shop")
    (folder / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    with engine.begin() as conn:
        supplier = conn.execute(
            table_of(Supplier).insert().values(code="SUP", name="Supplier")
        ).inserted_primary_key
        assert supplier is not None
        wh1 = service.location_id(conn, "wh1")
        order = conn.execute(
            table_of(PurchaseOrder)
            .insert()
            .values(number="PO-1", supplier_id=supplier[0], location_id=wh1, ordered_on=NOW.date())
        ).inserted_primary_key
        assert order is not None
        sku = conn.execute(select(Sku.id).where(Sku.code == "TS-BLK-L")).scalar_one()
        conn.execute(
            table_of(PurchaseOrderLine)
            .insert()
            .values(purchase_order_id=order[0], sku_id=sku, quantity=ON_ORDER)
        )
    return engine


def limit(engine: Engine, units: int, channel: str | None = None, sku: str = "TS-BLK-L") -> None:
    with engine.begin() as conn:
        preorders.set_limit(conn, sku=sku, channel=channel, max_units=units)


def order(
    engine: Engine, qty: int, key: str, *, sku: str = "TS-BLK-L", channel: str = "web"
) -> preorders.PreorderView:
    with engine.begin() as conn:
        view, _ = preorders.preorder(
            conn,
            sku=sku,
            channel=channel,
            quantity=qty,
            idempotency_key=key,
            now=NOW,
            mode=Mode.shared,
        )
    return view


def waiting(engine: Engine) -> int:
    with engine.connect() as conn:
        rows = conn.execute(select(Preorder.quantity).where(Preorder.status == "waiting")).scalars()
        return sum(rows)


def refused(engine: Engine, qty: int, key: str, **kw: str) -> str:
    with pytest.raises(SokoError) as caught:
        order(engine, qty, key, **kw)
    assert caught.value.code == ErrorCode.insufficient_stock
    return caught.value.message


def test_without_a_limit_a_sku_out_of_stock_cannot_be_pre_ordered(shop: Engine) -> None:
    assert "not enabled" in refused(shop, 1, "p1")
    assert waiting(shop) == 0


def test_what_the_channel_can_sell_now_is_held_at_once(shop: Engine) -> None:
    view = order(shop, 2, "p1", sku="TS-BLK-M")
    assert view.status == "confirmed"
    assert view.reservation_id is not None
    with shop.connect() as conn:
        held = service.get_reservation(conn, view.reservation_id, NOW)
    assert (held.status, held.quantity, held.expires_at) == ("held", 2, None)


def test_pre_orders_wait_within_the_limit_and_the_limit_holds(shop: Engine) -> None:
    limit(shop, 5)
    assert order(shop, 3, "p1").status == "waiting"
    assert "limit" in refused(shop, 3, "p2")
    assert order(shop, 2, "p3", channel="rakuten").status == "waiting"
    assert waiting(shop) == 5


def test_a_channel_limit_holds_for_that_channel_only(shop: Engine) -> None:
    limit(shop, 2, channel="web")
    limit(shop, 8, channel="rakuten")
    order(shop, 2, "w1")
    refused(shop, 1, "w2")
    assert order(shop, 8, "r1", channel="rakuten").status == "waiting"


def test_never_more_is_pre_ordered_than_is_incoming(shop: Engine) -> None:
    limit(shop, 50)
    assert "incoming" in refused(shop, ON_ORDER + 1, "big")
    order(shop, ON_ORDER, "all")
    assert "incoming" in refused(shop, 1, "one-more")
    assert waiting(shop) == ON_ORDER


def test_arriving_stock_confirms_waiting_pre_orders_oldest_first(shop: Engine) -> None:
    limit(shop, 10)
    first = order(shop, 4, "first")
    second = order(shop, 3, "second", channel="rakuten")
    with shop.begin() as conn:
        service.record_movement(
            conn,
            sku="TS-BLK-L",
            location="wh1",
            kind="receipt",
            quantity=5,
            idempotency_key="rcv",
            actor="t",
            now=NOW,
            mode=Mode.shared,
        )
    with shop.connect() as conn:
        done = preorders.get_preorder(conn, first.id)
        still = preorders.get_preorder(conn, second.id)
        assert (done.status, still.status) == ("confirmed", "waiting")  # 5 left 1: not 3
        assert done.reservation_id is not None
        [wh1] = service.balances(conn, "TS-BLK-L", mode=Mode.shared, now=NOW).locations
        assert (wh1.on_hand, wh1.reserved) == (5, 4)
        assert service.verify(conn) == []


def test_a_waiting_pre_order_can_be_cancelled_twice_and_frees_its_room(shop: Engine) -> None:
    limit(shop, 4)
    view = order(shop, 4, "p1")
    for _ in range(2):
        with shop.begin() as conn:
            assert preorders.cancel(conn, view.id, now=NOW).status == "cancelled"
    assert order(shop, 4, "p2").status == "waiting"


@pytest.mark.parametrize(("cap", "expected"), [(7, 7), (50, ON_ORDER)])
def test_under_concurrency_the_limit_and_the_incoming_both_hold(
    shop: Engine, cap: int, expected: int
) -> None:
    limit(shop, cap)
    outcomes: list[str] = []

    def client(n: int) -> None:
        try:
            order(shop, 1, f"c{n}", channel="web" if n % 2 else "rakuten")
            outcomes.append("ok")
        except SokoError as error:
            outcomes.append(error.code.value)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == expected
    assert set(outcomes) <= {"ok", "insufficient_stock"}
    assert waiting(shop) == expected


def test_the_api_sets_a_limit_takes_a_pre_order_replays_it_and_cancels_it(
    store: Settings, shop: Engine
) -> None:
    app = create_app(store)
    with client_for(app, Scope.adjust) as adjust, client_for(app, Scope.reserve) as reserve:
        body = {"sku": "TS-BLK-L", "channel": "web", "quantity": 2, "idempotency_key": "k"}
        refused = reserve.post("/api/v1/preorders", json=body)
        assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
        limit = {"sku": "TS-BLK-L", "channel": None, "max_units": 3}
        assert adjust.put("/api/v1/preorder-limits", json=limit).json() == limit
        denied = reserve.put("/api/v1/preorder-limits", json=limit)
        assert denied.status_code == 403
        made = reserve.post("/api/v1/preorders", json=body | {"idempotency_key": "k2"})
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "waiting"
        again = reserve.post("/api/v1/preorders", json=body | {"idempotency_key": "k2"})
        assert again.json() == made.json()
        pid = made.json()["id"]
        assert reserve.get(f"/api/v1/preorders/{pid}").json() == made.json()
        gone = reserve.post(f"/api/v1/preorders/{pid}/cancel")
        assert gone.json()["status"] == "cancelled"
    assert waiting(shop) == 0
