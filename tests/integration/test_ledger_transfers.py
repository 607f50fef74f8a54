"""Transfers on SQLite and PostgreSQL: out at once, incoming while in transit, in when received."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from soko.api.auth import Scope
from soko.data.importer import import_paths
from soko.errors import ErrorCode, SokoError
from soko.ledger import service, transfers
from soko.ledger.rules import Mode
from soko.settings import Settings
from soko.web.app import create_app
from tests.integration.conftest import client_for
from tests.integration.test_import import write_shop

NOW = dt.datetime(2026, 11, 1, 12, 0)
LOCATIONS = (
    "location_code,name,kind,prefecture\nwh1,倉庫,warehouse,千葉県\nwh2,大阪倉庫,warehouse,大阪府\n"
)
STOCK = "sku,location_code,on_hand\nTS-BLK-M,wh1,10\nTS-BLK-M,wh2,2\n"


@pytest.fixture
def shop(store: Settings, engine: Engine, tmp_path: Path) -> Engine:
    folder = write_shop(tmp_path / "shop")
    (folder / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    return engine


def figures(engine: Engine) -> dict[str, tuple[int, int, int]]:
    """(on hand, available, incoming) per location of TS-BLK-M."""
    with engine.connect() as conn:
        found = service.balances(conn, "TS-BLK-M", mode=Mode.shared, now=NOW)
    return {b.location: (b.on_hand, b.available, b.incoming) for b in found.locations}


def send(engine: Engine, qty: int, key: str = "t1") -> transfers.TransferView:
    with engine.begin() as conn:
        view, _ = transfers.create_transfer(
            conn,
            sku="TS-BLK-M",
            from_location="wh1",
            to_location="wh2",
            quantity=qty,
            idempotency_key=key,
            actor="test",
            now=NOW,
        )
    return view


def test_a_transfer_leaves_the_source_at_once_and_is_incoming_at_the_destination(
    shop: Engine,
) -> None:
    view = send(shop, 4)
    assert view.status == "in_transit"
    assert figures(shop) == {"wh1": (6, 6, 0), "wh2": (2, 2, 4)}
    with shop.connect() as conn:
        assert [t.id for t in transfers.in_transit(conn, "TS-BLK-M")] == [view.id]
        # Channels cannot sell units on a truck: both see the 8 on hand, not 12.
        assert service.availability(conn, "TS-BLK-M", mode=Mode.shared, now=NOW) == {
            "rakuten": 8,
            "web": 8,
        }
        assert service.verify(conn) == []


def test_receiving_completes_the_transfer_and_receiving_twice_changes_nothing(
    shop: Engine,
) -> None:
    view = send(shop, 4)
    for _ in range(2):
        with shop.begin() as conn:
            done = transfers.receive_transfer(conn, view.id, actor="test", now=NOW)
        assert done.status == "received"
        assert figures(shop) == {"wh1": (6, 6, 0), "wh2": (6, 6, 0)}
    with shop.connect() as conn:
        assert transfers.in_transit(conn, "TS-BLK-M") == []
        assert service.verify(conn) == []


def test_replaying_a_transfer_key_moves_nothing_twice(shop: Engine) -> None:
    first = send(shop, 3, key="same")
    again = send(shop, 3, key="same")
    assert again.id == first.id
    assert figures(shop)["wh1"] == (7, 7, 0)


def test_a_transfer_of_more_than_the_source_holds_is_refused_and_changes_nothing(
    shop: Engine,
) -> None:
    with pytest.raises(SokoError) as refused:
        send(shop, 11)
    assert refused.value.code == ErrorCode.negative_stock
    assert figures(shop) == {"wh1": (10, 10, 0), "wh2": (2, 2, 0)}
    with shop.connect() as conn:
        assert transfers.in_transit(conn) == []


@pytest.mark.parametrize("qty", [0, -2])
def test_a_transfer_of_no_or_negative_units_is_refused(shop: Engine, qty: int) -> None:
    with pytest.raises(SokoError) as refused:
        send(shop, qty)
    assert refused.value.code == ErrorCode.invalid_quantity


def test_a_transfer_to_the_same_place_or_an_unknown_one_is_refused(shop: Engine) -> None:
    with shop.begin() as conn, pytest.raises(SokoError) as same:
        transfers.create_transfer(
            conn,
            sku="TS-BLK-M",
            from_location="wh1",
            to_location="wh1",
            quantity=1,
            idempotency_key="x",
            actor="t",
            now=NOW,
        )
    assert same.value.code == ErrorCode.validation_error
    with shop.begin() as conn, pytest.raises(SokoError) as unknown:
        transfers.create_transfer(
            conn,
            sku="TS-BLK-M",
            from_location="wh1",
            to_location="nowhere",
            quantity=1,
            idempotency_key="y",
            actor="t",
            now=NOW,
        )
    assert unknown.value.code == ErrorCode.unknown_location


def test_the_preview_of_a_change_writes_nothing_and_matches_what_the_change_does(
    shop: Engine,
) -> None:
    with shop.connect() as conn:
        preview = service.preview_change(
            conn, "TS-BLK-M", on_hand={"wh1": -3}, mode=Mode.shared, now=NOW
        )
    assert figures(shop)["wh1"] == (10, 10, 0)
    after = {c.location: (c.after.on_hand, c.after.available) for c in preview.locations}
    seen_after = {code: a for code, _, a in preview.channels}
    with shop.begin() as conn:
        service.record_movement(
            conn,
            sku="TS-BLK-M",
            location="wh1",
            kind="adjustment",
            quantity=-3,
            idempotency_key="adj",
            actor="t",
            now=NOW,
        )
    assert {k: v[:2] for k, v in figures(shop).items()} == after
    with shop.connect() as conn:
        assert service.availability(conn, "TS-BLK-M", mode=Mode.shared, now=NOW) == seen_after


def test_the_preview_refuses_a_change_below_zero_on_hand(shop: Engine) -> None:
    with shop.connect() as conn, pytest.raises(SokoError) as refused:
        service.preview_change(conn, "TS-BLK-M", on_hand={"wh2": -3}, mode=Mode.shared, now=NOW)
    assert refused.value.code == ErrorCode.negative_stock
    assert "wh2" in refused.value.message


# --- over the API ---------------------------------------------------------------------------


@pytest.fixture
def api(store: Settings, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    folder = write_shop(tmp_path / "shop")
    (folder / "locations.csv").write_text(LOCATIONS, encoding="utf-8")
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    app = create_app(store)
    clients = {
        "read": client_for(app, Scope.read),
        "reserve": client_for(app, Scope.reserve),
        "adjust": client_for(app, Scope.adjust),
    }
    with clients["read"], clients["reserve"], clients["adjust"]:
        yield clients


def incoming(client: TestClient) -> dict[str, tuple[int, int]]:
    body = client.get("/api/v1/balances/TS-BLK-M").json()
    return {p["location"]: (p["on_hand"], p["incoming"]) for p in body["locations"]}


TRANSFER = {
    "sku": "TS-BLK-M",
    "from_location": "wh1",
    "to_location": "wh2",
    "quantity": 5,
    "idempotency_key": "move-1",
}


def test_the_api_sends_a_transfer_shows_it_incoming_and_receives_it(
    api: dict[str, TestClient],
) -> None:
    sent = api["adjust"].post("/api/v1/transfers", json=TRANSFER)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "in_transit"
    assert incoming(api["read"]) == {"wh1": (5, 0), "wh2": (2, 5)}
    tid = sent.json()["id"]
    assert api["read"].get(f"/api/v1/transfers/{tid}").json() == sent.json()
    received = api["adjust"].post(
        f"/api/v1/transfers/{tid}/receive", headers={"Idempotency-Key": "in-1"}
    )
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    assert incoming(api["read"]) == {"wh1": (5, 0), "wh2": (7, 0)}


def test_the_api_replays_a_transfer_and_refuses_its_key_for_another(
    api: dict[str, TestClient],
) -> None:
    first = api["adjust"].post("/api/v1/transfers", json=TRANSFER)
    again = api["adjust"].post("/api/v1/transfers", json=TRANSFER)
    assert again.json() == first.json()
    assert incoming(api["read"])["wh1"] == (5, 0)
    other = api["adjust"].post("/api/v1/transfers", json=TRANSFER | {"quantity": 1})
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"


def test_the_api_refuses_a_transfer_beyond_the_source_and_without_the_scope(
    api: dict[str, TestClient],
) -> None:
    big = api["adjust"].post("/api/v1/transfers", json=TRANSFER | {"quantity": 11})
    assert (big.status_code, big.json()["code"]) == (409, "negative_stock")
    denied = api["reserve"].post("/api/v1/transfers", json=TRANSFER | {"idempotency_key": "z"})
    assert (denied.status_code, denied.json()["code"]) == (403, "forbidden")
    assert incoming(api["read"]) == {"wh1": (10, 0), "wh2": (2, 0)}
