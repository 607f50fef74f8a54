"""``/api/v1/customer-value`` over the small demo preset, and over stores too thin to fit.

Expected figures come from the store itself (SQL counts) or from the typed
function the replenishment policy reads (``shortage_costs``), never from the
routes' own output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from soko.api.auth import Scope, create_token
from soko.data.demo import generate_into_store
from soko.insight import customer_value as cv
from soko.settings import Settings
from soko.store.db import make_engine, migrate, session_scope
from soko.store.tables import Channel, Customer, Order, OrderLine, RestockNotice, Sku, Source
from soko.web.app import create_app

BASE = "/api/v1/customer-value"


@dataclass(frozen=True)
class Api:
    client: TestClient
    engine: Engine
    headers: dict[str, str]

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(BASE + path, params=params, headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("customer_api"))
    generate_into_store(settings, "small", 1)
    app = create_app(settings)
    engine = app.state.store.engine
    with engine.begin() as conn:
        token = create_token(conn, [Scope.read])
    with TestClient(app) as client:
        yield Api(client, engine, {"Authorization": f"Bearer {token}"})


def all_pages(api: Api, path: str, limit: int = 500) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = api.get(path, **params)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def customers_with_orders(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count(func.distinct(Order.customer_id))).where(
            Order.customer_id.is_not(None)
        )
        return int(conn.execute(query).scalar_one())


def test_segments_count_every_customer_with_an_order_once(api: Api) -> None:
    body = api.get("/segments")
    assert body["status"] == "ok"
    assert body["as_of"] == "2026-10-31"
    counted = sum(s["customers"] for s in body["items"])
    assert counted == customers_with_orders(api.engine)
    assert body["metrics"]["customers"] == counted
    assert {s["segment"] for s in body["items"]} >= {"Champions", "Lost", "Hibernating"}
    proxies = {e["proxy"]: e for e in body["lapse"]}
    notice = proxies["restock_notice"]
    assert notice["p_lapse_low"] <= notice["p_lapse"] <= notice["p_lapse_high"]


def test_segments_give_the_dropout_without_stockouts_beside_the_plain_fit(api: Api) -> None:
    models = api.get("/segments")["models"]
    natural = models["natural"]
    assert natural is not None, "the demo store has restock notices and a stock count"
    plain = models["a"] / (models["a"] + models["b"])
    assert natural["dropout_all_causes"] == pytest.approx(plain)
    assert natural["natural_dropout"] == pytest.approx(natural["a"] / (natural["a"] + natural["b"]))
    # Stockout lapses are taken out of the dropout, not added to it.
    assert natural["natural_dropout"] < natural["dropout_all_causes"]
    assert 0 < natural["share_of_churn_from_stockouts"] < 1


def test_customer_pages_cover_everyone_once_and_add_up_to_the_segments(api: Api) -> None:
    customers = all_pages(api, "/customers", limit=400)
    ids = [c["customer_id"] for c in customers]
    assert len(ids) == len(set(ids)) == customers_with_orders(api.engine)
    assert ids == sorted(ids)
    segments = api.get("/segments")["items"]
    for segment in segments:
        members = [c for c in customers if c["segment"] == segment["segment"]]
        assert len(members) == segment["customers"]
        if members:
            # Both are rounded to whole yen: per customer here, once per segment there.
            total = sum(c["clv"] for c in members)
            assert abs(total - segment["clv_total"]) <= len(members)
    assert all(0.0 <= c["p_alive"] <= 1.0 for c in customers)


def test_one_customer_is_the_same_as_in_the_list(api: Api) -> None:
    first = api.get("/customers", limit=3)["items"][2]
    one = api.get(f"/customers/{first['customer_id']}")
    assert one == first


def test_an_unknown_customer_is_a_404_problem(api: Api) -> None:
    response = api.client.get(f"{BASE}/customers/NOBODY-42", headers=api.headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "NOBODY-42" in response.json()["detail"]


def test_sku_shortage_costs_are_the_policys(api: Api) -> None:
    """The API shows what the replenishment policy reads from ``shortage_costs``."""
    costs = cv.shortage_costs(api.engine)
    items = all_pages(api, "/skus")
    assert {i["sku"] for i in items} == set(costs)
    for item in items[::25]:
        cost = costs[item["sku"]]
        assert item["shortage_cost"] == round(cost.total)
        assert item["ltv_at_risk_per_unit"] == round(cost.ltv_at_risk_per_unit)
        assert item["p_lapse"] == pytest.approx(cost.p_lapse, abs=1e-6)
        assert item["proxy"] == cost.proxy
        assert item["p_lapse_low"] <= item["p_lapse"] <= item["p_lapse_high"]


def test_top_skus_by_ltv_at_stake_come_largest_first(api: Api) -> None:
    top = api.get("/skus", order="ltv_at_stake", limit=10)
    stakes = [i["ltv_at_stake"] for i in top["items"]]
    assert len(stakes) == 10
    assert stakes == sorted(stakes, reverse=True)
    assert top["next_cursor"] is None
    every = all_pages(api, "/skus")
    assert stakes[0] == max(i["ltv_at_stake"] for i in every)
    one = api.get(f"/skus/{top['items'][0]['sku']}")
    assert one == top["items"][0]


def test_cohorts_start_at_full_retention(api: Api) -> None:
    items = api.get("/cohorts")["items"]
    first_months = [c for c in items if c["months_since_first"] == 0]
    assert first_months
    assert all(c["retention"] == 1.0 for c in first_months)
    assert sum(c["cohort_size"] for c in first_months) == customers_with_orders(api.engine)


def test_export_in_cp932_lists_every_customer(api: Api) -> None:
    response = api.client.get(f"{BASE}/export", params={"encoding": "cp932"}, headers=api.headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("cp932"))))
    assert len(rows) == customers_with_orders(api.engine)
    assert list(rows[0]) == [
        "customer_id",
        "segment",
        "r_score",
        "f_score",
        "m_score",
        "clv",
        "p_alive",
        "waiting_for",
    ]
    with api.engine.connect() as conn:
        waiting = conn.execute(
            select(func.count(func.distinct(RestockNotice.customer_id))).where(
                RestockNotice.notified_at.is_(None)
            )
        ).scalar_one()
    assert sum(1 for r in rows if r["waiting_for"]) == waiting


def test_a_token_is_needed(api: Api) -> None:
    assert api.client.get(f"{BASE}/segments").status_code == 401


def test_the_fit_is_reused_until_a_new_order_arrives(api: Api) -> None:
    before = cv.customer_value_view(api.engine)
    assert cv.customer_value_view(api.engine) is before
    with session_scope(api.engine) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        sku = session.scalars(select(Sku).order_by(Sku.id)).first()
        source = session.scalars(select(Source)).first()
        channel_id = session.scalars(select(Order.channel_id)).first()
        assert customer is not None
        assert sku is not None
        assert source is not None
        assert channel_id is not None
        order = Order(
            channel_id=channel_id,
            number="TEST-NEW-1",
            customer_id=customer.id,
            ordered_at=dt.datetime(2026, 11, 1, 12, 0),
        )
        session.add(order)
        session.flush()
        session.add(
            OrderLine(
                order_id=order.id,
                source_id=source.id,
                source_row=1,
                kind="sale",
                sku_id=sku.id,
                quantity=1,
                unit_price=Decimal(1000),
            )
        )
    after = api.get("/segments")
    assert after["as_of"] == "2026-11-01"


@pytest.mark.parametrize("kind", ["empty", "one_customer"])
def test_a_thin_store_says_what_is_missing(kind: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    migrate(engine)
    if kind == "one_customer":
        from soko.data.importer import import_paths
        from tests.integration.test_import import write_shop

        import_paths(settings, [write_shop(tmp_path / "shop")])
    engine.dispose()
    app = create_app(settings)
    with app.state.store.engine.begin() as conn:
        token = create_token(conn, [Scope.read])
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        body = client.get(f"{BASE}/segments", headers=headers).json()
        skus = client.get(f"{BASE}/skus", headers=headers).json()
        export = client.get(f"{BASE}/export", headers=headers)
    expected = "no_customers" if kind == "empty" else "too_few_customers"
    assert body["status"] == expected
    assert body["message"]
    assert body["models"] is None
    assert skus["items"] == []
    assert export.status_code == 200
    assert export.text.splitlines()[0].startswith("customer_id,segment")


def test_metrics_and_cohorts_split_by_channel_add_up(api: Api) -> None:
    body = api.get("/segments")
    with api.engine.connect() as conn:
        codes = set(conn.execute(select(Channel.code)).scalars())
    channels = body["channels"]
    assert {c["channel"] for c in channels} <= codes
    assert len(channels) >= 3
    # A transaction belongs to one channel; a customer may use several.
    assert sum(c["transactions"] for c in channels) == body["metrics"]["transactions"]
    assert max(c["customers"] for c in channels) <= body["metrics"]["customers"]
    assert sum(c["customers"] for c in channels) >= body["metrics"]["customers"]
    split = api.get("/cohorts", by="channel")["items"]
    firsts = [c for c in split if c["months_since_first"] == 0]
    assert {c["group"] for c in firsts} <= codes
    assert sum(c["cohort_size"] for c in firsts) == customers_with_orders(api.engine)
