"""The HTTP API over a real SQLite store: figures, lists, paging and problem JSON."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient

from soko.settings import Settings
from soko.web.app import create_app
from tests.integration.conftest import client_for

if TYPE_CHECKING:
    from tests.integration.conftest import KnownStore

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys()
    assert body["status"] == status
    assert body["code"] == code
    return body


def expected_sales(store: KnownStore, weeks: int) -> dict[str, dict[str, Any]]:
    """Per channel figures computed from the fixture's rows, not through SQL."""
    last_day = max(line.at for line in store.lines).date()
    first_day = last_day - dt.timedelta(days=7 * weeks - 1)
    figures: dict[str, dict[str, Any]] = {
        code: {"units": 0, "revenue": Decimal(0), "orders": set()} for code, _, _ in store.channels
    }
    for line in store.lines:
        if not first_day <= line.at.date() <= last_day:
            continue
        sign = 1 if line.kind == "sale" else -1
        entry = figures[line.channel]
        entry["units"] += sign * line.quantity
        entry["revenue"] += sign * (line.quantity * line.unit_price - line.discount)
        if line.kind == "sale":
            entry["orders"].add(line.order)
    return figures


def expected_stock_value(store: KnownStore) -> Decimal:
    cost = {s.code: s.unit_cost for s in store.skus}
    total = Decimal(0)
    for sku, _, units in store.stock:
        unit_cost = cost[sku]
        if unit_cost is not None:
            total += units * unit_cost
    return total.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def test_health_names_the_dialect_and_a_current_schema(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "sqlite", "schema": "current"}


def test_health_is_a_503_problem_when_the_store_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url="postgresql+psycopg://soko@127.0.0.1:1/nowhere"
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as down:
        body = assert_problem(down.get("/api/v1/health"), 503, "store_unavailable")
    assert "SOKO_DATABASE_URL" in body["detail"]
    assert "127.0.0.1:1" not in body["detail"]


def test_overview_counts_and_stock_equal_the_rows_written(
    client: TestClient, known_store: KnownStore
) -> None:
    body = client.get("/api/v1/overview").json()
    assert body["currency"] == "JPY"
    assert body["sku_count"] == len(known_store.skus)
    assert body["product_count"] == len(known_store.products)
    assert body["stock_units"] == sum(units for _, _, units in known_store.stock) == 153
    # 105 × 1,200 + 41 × 850.5 = 160,870.5 → ¥160,871; the 7 tees have no cost.
    assert body["stock_value"] == int(expected_stock_value(known_store)) == 160_871
    assert body["uncosted_units"] == 7


def test_overview_sales_are_net_of_discounts_and_returns_over_four_weeks(
    client: TestClient, known_store: KnownStore
) -> None:
    body = client.get("/api/v1/overview", params={"weeks": 4}).json()
    sales = body["sales"]
    assert sales["weeks"] == 4
    assert sales["first_day"] == "2024-06-03"
    assert sales["last_day"] == "2024-06-30"
    assert body["last_order_at"] == "2024-06-30T15:00:00+09:00"  # shop time, with its offset
    expected = expected_sales(known_store, 4)
    got = {c["code"]: c for c in sales["by_channel"]}
    assert got.keys() == expected.keys()
    for code, figures in expected.items():
        assert got[code]["units"] == figures["units"], code
        assert got[code]["revenue"] == int(figures["revenue"]), code
        assert got[code]["order_count"] == len(figures["orders"]), code
    # Spelled out for the web shop: 2×3,000−500 + 2,000 + 3,000 − (3,000−250) = 7,750;
    # W-OLD, one minute before the window, is left out.
    assert got["web"]["revenue"] == 7_750
    assert (got["web"]["units_sold"], got["web"]["units_returned"]) == (4, 1)
    assert got["web"]["order_count"] == 2
    assert got["amazon"] == {
        "code": "amazon",
        "name": "Amazon",
        "kind": "amazon",
        "units": 0,
        "units_sold": 0,
        "units_returned": 0,
        "revenue": 0,
        "order_count": 0,
    }
    revenues = [c["revenue"] for c in sales["by_channel"]]
    assert revenues == sorted(revenues, reverse=True)


def test_a_longer_window_takes_in_the_older_order(
    client: TestClient, known_store: KnownStore
) -> None:
    web = next(
        c
        for c in client.get("/api/v1/overview?weeks=5").json()["sales"]["by_channel"]
        if c["code"] == "web"
    )
    assert web["revenue"] == int(expected_sales(known_store, 5)["web"]["revenue"]) == 37_750


def test_money_in_a_currency_with_cents_is_a_decimal_string(known_store: KnownStore) -> None:
    settings = known_store.settings.model_copy(update={"currency": "USD"})
    with client_for(create_app(settings)) as usd:
        body = usd.get("/api/v1/overview").json()
        sku = usd.get("/api/v1/skus", params={"limit": 1}).json()["items"][0]
    assert body["currency"] == "USD"
    assert body["stock_value"] == "160870.50"
    assert sku["code"] == "COAT-BLK-L"
    assert (sku["unit_cost"], sku["price"]) == ("850.50", "2000.00")


def test_an_empty_store_has_zero_figures_and_no_sales(empty_client: TestClient) -> None:
    body = empty_client.get("/api/v1/overview").json()
    assert body["sku_count"] == body["stock_units"] == body["stock_value"] == 0
    assert body["last_order_at"] is None
    assert body["sales"] == {"weeks": 4, "first_day": None, "last_day": None, "by_channel": []}


def test_skus_list_in_code_order_with_stock_over_all_locations(
    client: TestClient, known_store: KnownStore
) -> None:
    body = client.get("/api/v1/skus").json()
    assert body["next_cursor"] is None
    assert [s["code"] for s in body["items"]] == sorted(s.code for s in known_store.skus)
    coat_m = next(s for s in body["items"] if s["code"] == "COAT-BLK-M")
    assert coat_m["product_code"] == "P-COAT"
    assert coat_m["on_hand"] == 105
    assert (coat_m["unit_cost"], coat_m["price"]) == (1200, 3000)
    tee = next(s for s in body["items"] if s["code"] == "TEE-WHT-S")
    assert tee["unit_cost"] is None


def test_a_cursor_walks_every_list_one_page_at_a_time(
    client: TestClient, known_store: KnownStore
) -> None:
    expected = {
        "skus": sorted(s.code for s in known_store.skus),
        "locations": sorted(code for code, _, _ in known_store.locations),
        "channels": sorted(code for code, _, _ in known_store.channels),
    }
    for resource, codes in expected.items():
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(10):
            params: dict[str, Any] = {"limit": 1}
            if cursor:
                params["cursor"] = cursor
            page = client.get(f"/api/v1/{resource}", params=params).json()
            assert set(page) == {"items", "next_cursor"}
            seen += [item["code"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == codes, resource


def test_a_page_that_ends_the_list_has_no_next_cursor(client: TestClient) -> None:
    first = client.get("/api/v1/channels", params={"limit": 3}).json()
    assert [c["code"] for c in first["items"]] == ["amazon", "rakuten", "store"]
    last = client.get("/api/v1/channels", params={"limit": 3, "cursor": first["next_cursor"]})
    assert last.json() == {
        "items": [{"code": "web", "name": "Own web shop", "kind": "own_web"}],
        "next_cursor": None,
    }


def test_locations_name_the_channel_they_feed(client: TestClient) -> None:
    items = {i["code"]: i for i in client.get("/api/v1/locations").json()["items"]}
    assert items["SHIBUYA"]["channel_code"] == "store"
    assert items["WH-TOKYO"] == {
        "code": "WH-TOKYO",
        "name": "東京倉庫",
        "kind": "warehouse",
        "prefecture": None,
        "channel_code": None,
    }


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert body["title"] == "Not Found"


def test_a_wrong_method_is_a_405_problem(client: TestClient) -> None:
    assert_problem(client.post("/api/v1/skus"), 405, "method_not_allowed")


def test_an_invalid_parameter_is_a_422_problem_naming_the_field(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/overview?weeks=zero"), 422, "validation_error")
    assert body["detail"].startswith("weeks:")
    assert body["errors"][0]["field"] == "weeks"
    assert body["errors"][0]["in"] == "query"
    limit = assert_problem(client.get("/api/v1/skus?limit=501"), 422, "validation_error")
    assert limit["errors"][0]["field"] == "limit"


def test_a_forged_cursor_is_a_422_problem_naming_the_cursor(client: TestClient) -> None:
    body = assert_problem(client.get("/api/v1/skus?cursor=%%%"), 422, "validation_error")
    assert body["detail"].startswith("cursor:")


def test_an_unexpected_error_is_a_500_problem_without_a_traceback(
    known_store: KnownStore,
) -> None:
    app = create_app(known_store.settings)

    @app.get("/api/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/soko/store.py line 42")

    with client_for(app) as test_client:
        response = test_client.get("/api/v1/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "Traceback" not in response.text
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"]


def test_the_openapi_document_lists_the_versioned_routes(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/health",
        "/api/v1/overview",
        "/api/v1/skus",
        "/api/v1/locations",
        "/api/v1/channels",
    } <= paths.keys()
    assert "/" not in paths
