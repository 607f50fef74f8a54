"""The planning API over a planned small preset: paging, edits, approval, receipts, scopes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from soko.api.auth import Scope
from soko.data.demo import generate_into_store
from soko.planning.run import run_plan
from soko.settings import Settings
from soko.store.db import make_engine, migrate
from soko.web.app import create_app
from tests.integration.conftest import client_for
from tests.integration.test_ledger_api import problem


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("plan-api") / "data"
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings)
    migrate(engine)
    generate_into_store(settings, "small", 1)
    run_plan(engine)
    engine.dispose()
    return data_dir


@pytest.fixture
def api(planned: Path, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    copy = tmp_path / "data"
    shutil.copytree(planned, copy)
    app = create_app(Settings(data_dir=copy))
    clients = {"read": client_for(app, Scope.read), "adjust": client_for(app, Scope.adjust)}
    with clients["read"], clients["adjust"]:
        yield clients


def _lines(client: TestClient, run_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 25}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/api/v1/plan-runs/{run_id}/lines", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_a_runs_lines_page_through_every_line_once(api: dict[str, TestClient]) -> None:
    runs = api["read"].get("/api/v1/plan-runs").json()["items"]
    assert runs[0]["status"] == "done"
    run_id = runs[0]["id"]
    lines = _lines(api["read"], run_id)
    assert len(lines) == runs[0]["summary"]["lines"]
    assert len({line["id"] for line in lines}) == len(lines)
    assert {line["kind"] for line in lines} == {"staple", "seasonal"}


def test_an_edit_is_idempotent_and_a_bad_quantity_is_a_problem(
    api: dict[str, TestClient],
) -> None:
    run_id = api["read"].get("/api/v1/plan-runs").json()["items"][0]["id"]
    line = next(x for x in _lines(api["read"], run_id) if x["case_pack"] > 1)
    url = f"/api/v1/plan-lines/{line['id']}"
    bad = api["adjust"].patch(url, json={"quantity": line["case_pack"] + 1})
    problem(bad, 422, "invalid_quantity")
    assert "cases of" in bad.json()["detail"]
    body = {"quantity": line["case_pack"] * 3, "note": "増量"}
    headers = {"Idempotency-Key": "edit-1"}
    first = api["adjust"].patch(url, json=body, headers=headers)
    assert first.status_code == 200, first.text
    replay = api["adjust"].patch(url, json=body, headers=headers)
    assert replay.json() == first.json()
    assert first.json()["quantity"] == line["case_pack"] * 3
    problem(
        api["adjust"].patch(url, json={"note": "other"}, headers=headers),
        422,
        "idempotency_key_reused",
    )
    problem(api["read"].patch(url, json=body), 403, "forbidden")


def test_approving_makes_purchase_orders_and_a_receipt_books_stock(
    api: dict[str, TestClient],
) -> None:
    run_id = api["read"].get("/api/v1/plan-runs").json()["items"][0]["id"]
    line = next(x for x in _lines(api["read"], run_id) if x["quantity"] >= 2)
    problem(
        api["read"].post(f"/api/v1/plan-runs/{run_id}/approve", json={"line_ids": [line["id"]]}),
        403,
        "forbidden",
    )
    approved = api["adjust"].post(
        f"/api/v1/plan-runs/{run_id}/approve",
        json={"line_ids": [line["id"]]},
        headers={"Idempotency-Key": "approve-1"},
    )
    assert approved.status_code == 200, approved.text
    (number,) = approved.json()["purchase_orders"]
    po = api["read"].get(f"/api/v1/purchase-orders/{number}").json()
    assert po["lines"][0]["ordered"] == line["quantity"]
    before = api["read"].get(f"/api/v1/balances/{line['sku']}").json()
    incoming = {b["location"]: b["incoming"] for b in before["locations"]}
    received = api["adjust"].post(
        f"/api/v1/purchase-orders/{number}/receipts",
        json={"sku": line["sku"], "quantity": 1},
        headers={"Idempotency-Key": "receipt-1"},
    )
    assert received.status_code == 201, received.text
    assert received.json()["closed"] is False
    again = api["adjust"].post(
        f"/api/v1/purchase-orders/{number}/receipts",
        json={"sku": line["sku"], "quantity": 1},
        headers={"Idempotency-Key": "receipt-1"},
    )
    assert again.json() == received.json()  # replayed, not booked twice
    after = api["read"].get(f"/api/v1/balances/{line['sku']}").json()
    incoming_after = {b["location"]: b["incoming"] for b in after["locations"]}
    assert incoming_after[line["location"]] == incoming[line["location"]] - 1
    problem(
        api["adjust"].post(
            f"/api/v1/purchase-orders/{number}/receipts", json={"sku": "NOPE", "quantity": 1}
        ),
        404,
        "not_found",
    )


def test_supplier_lead_times_come_from_receipts(api: dict[str, TestClient]) -> None:
    items = api["read"].get("/api/v1/suppliers/lead-times").json()["items"]
    assert items
    for s in items:
        assert s["lines"] > 0
        assert 0 <= s["fill_rate"] <= 1
        assert s["lead_p50"] <= s["lead_p90"]
