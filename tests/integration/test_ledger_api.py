"""The stock API on SQLite and PostgreSQL: shapes, scopes, errors, idempotent replay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from soko.api.auth import Scope
from soko.data.importer import import_paths
from soko.settings import Settings
from soko.web.app import create_app
from tests.integration.conftest import client_for
from tests.integration.test_import import PRODUCTS, write_shop

STOCK = "sku,location_code,on_hand\nTS-BLK-M,wh1,10\nCUP-01,wh1,3\nA/B 1,wh1,5\n"


@pytest.fixture
def api(store: Settings, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    """Clients per scope over a store holding the small shop and its stock."""
    folder = write_shop(
        tmp_path / "shop", products=PRODUCTS + "A/B 1,AB,slash,,,staple,1,2,10,true,1,1,\n"
    )
    (folder / "stock.csv").write_text(STOCK, encoding="utf-8")
    import_paths(store, [folder])
    app = create_app(store)
    clients = {
        "read": client_for(app, Scope.read),
        "reserve": client_for(app, Scope.reserve),
        "adjust": client_for(app, Scope.adjust),
        "admin": client_for(app, Scope.admin),
        "anonymous": TestClient(app, raise_server_exceptions=False),
    }
    with (
        clients["read"],
        clients["reserve"],
        clients["adjust"],
        clients["admin"],
        clients["anonymous"],
    ):
        yield clients


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def reserve(client: TestClient, key: str, qty: int = 1, **extra: Any) -> httpx.Response:
    body = {"sku": "TS-BLK-M", "channel": "web", "quantity": qty, "idempotency_key": key, **extra}
    return client.post("/api/v1/reservations", json=body)


def test_balances_show_locations_and_what_each_channel_sees(api: dict[str, TestClient]) -> None:
    reserve(api["reserve"], "k1", 3)
    body = api["read"].get("/api/v1/balances/TS-BLK-M").json()
    assert body == {
        "sku": "TS-BLK-M",
        "locations": [
            {"location": "wh1", "on_hand": 10, "reserved": 3, "available": 7, "incoming": 0}
        ],
        "channels": [{"channel": "rakuten", "available": 7}, {"channel": "web", "available": 7}],
    }


def test_a_sku_code_with_a_slash_and_a_space_is_path_encoded(api: dict[str, TestClient]) -> None:
    body = api["read"].get("/api/v1/balances/A%2FB%201").json()
    assert body["sku"] == "A/B 1"
    assert body["locations"][0]["on_hand"] == 5


def test_a_reservation_is_created_confirmed_and_becomes_a_sale(api: dict[str, TestClient]) -> None:
    created = reserve(api["reserve"], "order-1", 2)
    assert created.status_code == 201
    rid = created.json()["id"]
    assert created.json()["status"] == "held"
    assert created.json()["lines"] == [{"location": "wh1", "quantity": 2}]
    confirmed = api["reserve"].post(
        f"/api/v1/reservations/{rid}/confirm", headers={"Idempotency-Key": "c-1"}
    )
    assert confirmed.json()["status"] == "confirmed"
    [wh1] = api["read"].get("/api/v1/balances/TS-BLK-M").json()["locations"]
    assert (wh1["on_hand"], wh1["reserved"]) == (8, 0)


def test_more_than_the_channel_can_sell_is_a_409_insufficient_stock(
    api: dict[str, TestClient],
) -> None:
    body = problem(reserve(api["reserve"], "big", 11), 409, "insufficient_stock")
    assert "can sell 10" in body["detail"]


def test_confirm_after_expiry_is_a_409_reservation_expired(api: dict[str, TestClient]) -> None:
    rid = reserve(api["reserve"], "short", 1, ttl_seconds=1).json()["id"]
    time.sleep(1.2)
    problem(api["reserve"].post(f"/api/v1/reservations/{rid}/confirm"), 409, "reservation_expired")
    assert api["read"].get(f"/api/v1/reservations/{rid}").json()["status"] == "expired"


def test_release_twice_answers_the_same_and_frees_the_units_once(
    api: dict[str, TestClient],
) -> None:
    rid = reserve(api["reserve"], "r", 4).json()["id"]
    first = api["reserve"].post(f"/api/v1/reservations/{rid}/release")
    second = api["reserve"].post(f"/api/v1/reservations/{rid}/release")
    assert first.json()["status"] == second.json()["status"] == "released"
    channels = api["read"].get("/api/v1/balances/TS-BLK-M").json()["channels"]
    assert {c["available"] for c in channels} == {10}


@pytest.mark.parametrize("qty", [0, -1])
def test_zero_or_negative_quantities_are_refused_by_field(
    api: dict[str, TestClient], qty: int
) -> None:
    body = problem(reserve(api["reserve"], f"z{qty}", qty), 422, "validation_error")
    assert body["errors"][0]["field"] == "quantity"


def test_a_negative_adjustment_below_zero_on_hand_is_a_409(api: dict[str, TestClient]) -> None:
    move = {
        "sku": "CUP-01",
        "location": "wh1",
        "kind": "adjustment",
        "quantity": -5,
        "idempotency_key": "adj-1",
    }
    problem(api["adjust"].post("/api/v1/movements", json=move), 409, "negative_stock")
    [wh1] = api["read"].get("/api/v1/balances/CUP-01").json()["locations"]
    assert wh1["on_hand"] == 3


def test_an_unknown_sku_is_a_404_naming_it(api: dict[str, TestClient]) -> None:
    body = problem(api["read"].get("/api/v1/balances/NOPE"), 404, "unknown_sku")
    assert "NOPE" in body["detail"]
    problem(reserve(api["reserve"], "u", 1, sku="NOPE"), 404, "unknown_sku")


def test_scopes_are_enforced(api: dict[str, TestClient]) -> None:
    problem(api["anonymous"].get("/api/v1/skus"), 401, "unauthorized")
    problem(reserve(api["read"], "s"), 403, "forbidden")
    move = {
        "sku": "CUP-01",
        "location": "wh1",
        "kind": "receipt",
        "quantity": 5,
        "idempotency_key": "rcv",
    }
    problem(api["reserve"].post("/api/v1/movements", json=move), 403, "forbidden")
    assert api["admin"].post("/api/v1/movements", json=move).status_code == 201
    assert api["anonymous"].get("/api/v1/health").status_code == 200


def test_replaying_a_write_returns_the_first_answer_and_changes_nothing(
    api: dict[str, TestClient],
) -> None:
    move = {
        "sku": "CUP-01",
        "location": "wh1",
        "kind": "receipt",
        "quantity": 5,
        "idempotency_key": "rcv-1",
    }
    first = api["adjust"].post("/api/v1/movements", json=move)
    again = api["adjust"].post("/api/v1/movements", json=move)
    assert (
        (first.status_code, first.json())
        == (again.status_code, again.json())
        == (201, first.json())
    )
    [wh1] = api["read"].get("/api/v1/balances/CUP-01").json()["locations"]
    assert wh1["on_hand"] == 8
    refused = reserve(api["reserve"], "nope-1", 50)
    assert reserve(api["reserve"], "nope-1", 50).json() == refused.json()


def test_the_same_key_with_another_body_is_a_422(api: dict[str, TestClient]) -> None:
    assert reserve(api["reserve"], "k", 1).status_code == 201
    problem(reserve(api["reserve"], "k", 2), 422, "idempotency_key_reused")
    rid = reserve(api["reserve"], "k2", 1).json()["id"]
    api["reserve"].post(f"/api/v1/reservations/{rid}/release", headers={"Idempotency-Key": "x"})
    problem(
        api["reserve"].post(
            f"/api/v1/reservations/{rid}/confirm", headers={"Idempotency-Key": "x"}
        ),
        422,
        "idempotency_key_reused",
    )
