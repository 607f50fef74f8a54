"""What a planner tells the forecast, through the API and the store: spike days reviewed
(one-offs left out, real demand kept), the flagged days awaiting review, and sales plans.

The store is the module's known rows (``conftest.fill``) plus two mugs that sold one unit a
day from 2024-05-10 to 2024-06-30 at WH-TOKYO, each with one spike (40 units on 2024-06-20,
30 on 2024-06-25), and a new mug that never sold. Every SKU has under 56 days of history,
so the forecast is the analogues' and the sales plans' alone (no model is fitted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from soko.api.auth import Scope
from soko.errors import ErrorCode
from soko.forecast import inputs
from soko.forecast.service import forecast_history, load_history, save_forecast
from soko.settings import Settings
from soko.store.db import make_engine, session_scope
from soko.store.tables import (
    Channel,
    Location,
    Order,
    OrderLine,
    Product,
    SalesPlan,
    Sku,
    Source,
    SpikeTag,
)
from soko.web.app import create_app
from soko.web.users import Role, create_user
from tests.integration.conftest import client_for, fill, migrated_settings
from tests.integration.test_ledger_api import problem
from tests.integration.test_web_auth import PASSWORD, csrf_of, sign_in

FIRST_SALE = dt.date(2024, 5, 10)
LAST_SALE = dt.date(2024, 6, 30)
AS_OF = LAST_SALE + dt.timedelta(days=1)
SPIKES = {"MUG-RED": (dt.date(2024, 6, 20), 40), "MUG-BLUE": (dt.date(2024, 6, 25), 30)}
NEW_SKU = "MUG-NEW"


def fill_mugs(engine: Engine) -> None:
    """The known rows, and the mugs described above."""
    fill(engine)
    with session_scope(engine) as session:
        product = Product(code="P-MUG", name="Mug", category="kitchen")
        source = Source(name="mugs")
        session.add_all([product, source])
        session.flush()
        web = session.execute(select(Channel.id).where(Channel.code == "web")).scalar_one()
        warehouse = session.execute(
            select(Location.id).where(Location.code == "WH-TOKYO")
        ).scalar_one()
        skus = {
            code: Sku(code=code, product_id=product.id, price=Decimal(1500))
            for code in [*SPIKES, NEW_SKU]
        }
        session.add_all(skus.values())
        session.flush()
        row = 0
        for code, (spike_day, spike_units) in SPIKES.items():
            day = FIRST_SALE
            while day <= LAST_SALE:
                row += 1
                order = Order(
                    channel_id=web,
                    number=f"{code}-{day}",
                    ordered_at=dt.datetime.combine(day, dt.time(12)),
                )
                session.add(order)
                session.flush()
                session.add(
                    OrderLine(
                        order_id=order.id,
                        source_id=source.id,
                        source_row=row,
                        sku_id=skus[code].id,
                        location_id=warehouse,
                        quantity=spike_units if day == spike_day else 1,
                        unit_price=Decimal(1500),
                    )
                )
                day += dt.timedelta(days=1)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("forecast-inputs") / "data"
    _, engine = migrated_settings(data_dir)
    fill_mugs(engine)
    engine.dispose()
    return data_dir


@pytest.fixture
def api(seeded: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A copy of the store for one test: read and adjust clients, and its engine."""
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy)
    app = create_app(Settings(data_dir=copy))
    clients = {"read": client_for(app, Scope.read), "adjust": client_for(app, Scope.adjust)}
    with clients["read"], clients["adjust"]:
        yield {**clients, "engine": app.state.store.engine}


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        tags = conn.execute(select(func.count()).select_from(SpikeTag)).scalar_one()
        plans = conn.execute(select(func.count()).select_from(SalesPlan)).scalar_one()
    return int(tags), int(plans)


def test_flagged_days_await_review_until_tagged_either_way(api: dict[str, Any]) -> None:
    read, adjust = api["read"], api["adjust"]
    flagged = read.get("/api/v1/forecast/flagged-spikes")
    assert flagged.status_code == 200, flagged.text
    body = flagged.json()
    assert body["as_of"] == AS_OF.isoformat()
    assert body["forecast_run_id"] is None
    assert [(i["sku"], i["day"], i["sales"]) for i in body["items"]] == [
        ("MUG-BLUE", "2024-06-25", 30),
        ("MUG-RED", "2024-06-20", 40),
    ]
    assert body["items"][1]["usual"] == pytest.approx(1.0)
    one_off = adjust.post(
        "/api/v1/forecast/spike-tags",
        json={"sku": "MUG-RED", "day": "2024-06-20", "note": "TV mention"},
    )
    assert one_off.status_code == 201, one_off.text
    assert one_off.json()["leave_out"] is True
    real = adjust.post(
        "/api/v1/forecast/spike-tags",
        json={"sku": "MUG-BLUE", "day": "2024-06-25", "leave_out": False},
    )
    assert real.status_code == 201, real.text
    assert read.get("/api/v1/forecast/flagged-spikes").json()["items"] == []
    tags = read.get("/api/v1/forecast/spike-tags").json()["items"]
    assert [(t["sku"], t["day"], t["leave_out"], t["note"]) for t in tags] == [
        ("MUG-BLUE", "2024-06-25", False, None),
        ("MUG-RED", "2024-06-20", True, "TV mention"),
    ]
    only = read.get("/api/v1/forecast/spike-tags", params={"leave_out": "true"}).json()["items"]
    assert [t["sku"] for t in only] == ["MUG-RED"]
    removed = adjust.delete(f"/api/v1/forecast/spike-tags/{one_off.json()['id']}")
    assert removed.json() == one_off.json()
    again = read.get("/api/v1/forecast/flagged-spikes", params={"sku": "MUG-RED"}).json()
    assert [i["day"] for i in again["items"]] == ["2024-06-20"]
    problem(adjust.delete(f"/api/v1/forecast/spike-tags/{one_off.json()['id']}"), 404, "not_found")


def test_a_bad_tag_is_refused_by_field_and_changes_nothing(api: dict[str, Any]) -> None:
    read, adjust = api["read"], api["adjust"]
    url = "/api/v1/forecast/spike-tags"
    assert adjust.post(url, json={"sku": "MUG-RED", "day": "2024-06-20"}).status_code == 201
    before = _counts(api["engine"])
    future = problem(
        adjust.post(url, json={"sku": "MUG-RED", "day": "2999-01-01"}), 422, "validation_error"
    )
    assert future["detail"].startswith("day: 2999-01-01 is in the future")
    unknown = problem(
        adjust.post(url, json={"sku": "NO-SUCH", "day": "2024-06-20"}), 404, "unknown_sku"
    )
    assert unknown["detail"].startswith("sku:")
    twice = problem(
        adjust.post(url, json={"sku": "MUG-RED", "day": "2024-06-20", "leave_out": False}),
        409,
        "spike_tag_exists",
    )
    assert twice["detail"].startswith("day: 2024-06-20 of MUG-RED is already tagged as a one-off")
    long_note = problem(
        adjust.post(url, json={"sku": "MUG-RED", "day": "2024-06-21", "note": "x" * 301}),
        422,
        "validation_error",
    )
    assert long_note["errors"][0]["field"] == "note"
    problem(read.post(url, json={"sku": "MUG-RED", "day": "2024-06-21"}), 403, "forbidden")
    problem(read.get(url, params={"sku": "NO-SUCH"}), 404, "unknown_sku")
    assert _counts(api["engine"]) == before


def test_a_tag_replayed_by_its_idempotency_key_is_answered_as_the_first_time(
    api: dict[str, Any],
) -> None:
    body = {"sku": "MUG-BLUE", "day": "2024-06-25"}
    headers = {"Idempotency-Key": "tag-blue"}
    first = api["adjust"].post("/api/v1/forecast/spike-tags", json=body, headers=headers)
    replay = api["adjust"].post("/api/v1/forecast/spike-tags", json=body, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert _counts(api["engine"]) == (1, 0)


def test_a_sales_plan_is_created_replaced_and_removed_and_bad_ones_change_nothing(
    api: dict[str, Any],
) -> None:
    read, adjust = api["read"], api["adjust"]
    url = "/api/v1/forecast/sales-plans"
    plan = {"sku": NEW_SKU, "starts_on": "2024-07-01", "ends_on": "2024-07-10", "units": 50}
    made = adjust.put(url, json=plan)
    assert made.status_code == 201, made.text
    assert made.json()["per_day"] == 5.0
    replaced = adjust.put(url, json=plan | {"ends_on": "2024-07-05"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == made.json()["id"]
    assert replaced.json()["per_day"] == 10.0
    kept = read.get(url, params={"sku": NEW_SKU}).json()["items"]
    bad = [
        (plan | {"starts_on": "2024-07-03", "ends_on": "2024-07-20"}, 409, "sales_plan_overlaps"),
        (plan | {"ends_on": "2024-06-30"}, 422, "validation_error"),
        (plan | {"units": -1}, 422, "validation_error"),
        (plan | {"sku": "NO-SUCH"}, 404, "unknown_sku"),
    ]
    for body, status, code in bad:
        refused = problem(adjust.put(url, json=body), status, code)
        assert refused["detail"].split(":")[0] in {"starts_on", "ends_on", "units", "sku"}
    ends = problem(adjust.put(url, json=plan | {"ends_on": "2024-06-30"}), 422, "validation_error")
    assert ends["errors"][0]["field"] == "ends_on"
    problem(read.put(url, json=plan), 403, "forbidden")
    assert read.get(url, params={"sku": NEW_SKU}).json()["items"] == kept
    removed = adjust.delete(f"{url}/{made.json()['id']}")
    assert removed.status_code == 200
    assert read.get(url).json()["items"] == []
    problem(adjust.delete(f"{url}/{made.json()['id']}"), 404, "not_found")


def test_a_day_tagged_as_a_one_off_is_left_out_of_what_the_forecast_learns(
    api: dict[str, Any],
) -> None:
    engine = api["engine"]
    with engine.begin() as conn:
        inputs.tag_day(
            conn,
            sku="MUG-RED",
            day=SPIKES["MUG-RED"][0],
            today=AS_OF,
            now=dt.datetime(2024, 7, 1, 9),
        )
        inputs.tag_day(
            conn,
            sku="MUG-BLUE",
            day=SPIKES["MUG-BLUE"][0],
            today=AS_OF,
            now=dt.datetime(2024, 7, 1, 9),
            leave_out=False,
        )
    demand = load_history(engine).demand

    def on(sku: str) -> dict[str, Any]:
        day = SPIKES[sku][0]
        rows = demand.filter((pl.col("sku") == sku) & (pl.col("ds") == day)).to_dicts()
        assert len(rows) == 1
        return rows[0]

    red = on("MUG-RED")
    assert red["sales"] == 40
    assert red["tagged"]
    assert red["y"] == pytest.approx(1.0), "replaced by the trailing level of untagged days"
    blue = on("MUG-BLUE")
    assert not blue["tagged"]
    assert blue["y"] == 30, "real demand is kept"


def test_a_sales_plan_stands_in_for_a_new_skus_demand(api: dict[str, Any]) -> None:
    engine = api["engine"]
    start, end = AS_OF, AS_OF + dt.timedelta(days=9)
    with engine.begin() as conn:
        inputs.set_sales_plan(conn, sku=NEW_SKU, starts_on=start, ends_on=end, units=50)
    forecast = forecast_history(load_history(engine), horizon_days=28)
    model = forecast.series.filter(pl.col("sku") == NEW_SKU)["model"].to_list()
    assert model == ["SalesPlan"]
    daily = (
        forecast.daily.filter(pl.col("sku") == NEW_SKU)
        .group_by("ds")
        .agg(pl.col("mean").sum())
        .sort("ds")
    )
    planned = daily.filter(pl.col("ds") <= end)
    assert planned.height == 10
    assert planned["mean"].to_list() == pytest.approx([5.0] * 10)
    assert daily.filter(pl.col("ds") > end)["mean"].sum() == pytest.approx(0.0), (
        "no analogue has sold long enough to lend its launch curve"
    )


def test_a_day_is_tagged_once_and_a_skus_plans_never_overlap(engine: Engine) -> None:
    """On SQLite and PostgreSQL: the second tag of a day and an overlapping plan are refused,
    also when two planners send them at the same moment."""
    fill_mugs(engine)
    now = dt.datetime(2024, 7, 1, 9)
    with engine.begin() as conn:
        inputs.tag_day(conn, sku="MUG-RED", day=dt.date(2024, 6, 20), today=AS_OF, now=now)
    with pytest.raises(inputs.InputRefused) as refused, engine.begin() as conn:
        inputs.tag_day(conn, sku="MUG-RED", day=dt.date(2024, 6, 20), today=AS_OF, now=now)
    assert refused.value.code == ErrorCode.spike_tag_exists

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def plan(starts_on: dt.date) -> None:
        barrier.wait()
        try:
            with engine.begin() as conn:
                inputs.set_sales_plan(
                    conn,
                    sku=NEW_SKU,
                    starts_on=starts_on,
                    ends_on=starts_on + dt.timedelta(days=20),
                    units=100,
                )
            outcomes.append("saved")
        except inputs.InputRefused as exc:
            outcomes.append(exc.code.value)

    writers = [
        threading.Thread(target=plan, args=(day,))
        for day in (dt.date(2024, 7, 1), dt.date(2024, 7, 10))
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
    assert sorted(outcomes) == ["sales_plan_overlaps", "saved"]
    with engine.connect() as conn:
        assert len(inputs.sales_plans(conn, sku=NEW_SKU)) == 1


def test_the_store_keeps_tags_written_before_verdicts_as_one_offs(tmp_path: Path) -> None:
    """Migration 0007 gives every existing tag the one-off verdict it had."""
    from alembic import command

    from soko.store.db import alembic_config

    settings = Settings(data_dir=tmp_path)
    engine = make_engine(settings)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0006")
    fill_mugs(engine)
    with engine.begin() as conn:
        red = conn.execute(select(Sku.id).where(Sku.code == "MUG-RED")).scalar_one()
        conn.exec_driver_sql(
            "INSERT INTO forecast_spike_tags (sku_id, day, note, created_at) "
            "VALUES (?, '2024-06-20', NULL, '2024-07-01 09:00:00')",
            (red,),
        )
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with engine.connect() as conn:
        (tag,) = inputs.spike_tags(conn)
    assert tag.leave_out
    engine.dispose()


def test_the_forecast_pages_forms_refuse_viewers_and_bad_input_and_change_nothing(
    seeded: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy)
    app = create_app(Settings(data_dir=copy))
    engine = app.state.store.engine
    with engine.begin() as conn:
        for role in (Role.viewer, Role.planner):
            create_user(conn, f"{role.value}-user", role, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as web:

        def post(action: str, **fields: str) -> Any:
            page = web.get("/forecast?lang=en")
            data = {"csrf_token": csrf_of(page.text), "sku": "MUG-RED"} | fields
            return web.post(f"/forecast/{action}?lang=en", data=data, follow_redirects=False)

        sign_in(web, Role.viewer)
        assert post("spike-tags", day="2024-06-20").status_code == 403
        sign_in(web, Role.planner)
        no_token = web.post("/forecast/spike-tags", data={"sku": "MUG-RED", "day": "2024-06-20"})
        assert no_token.status_code == 403
        future = post("spike-tags", day="2999-01-01", note="launch")
        assert future.status_code == 422
        assert "Jan 1, 2999 has not happened yet" in future.text
        backwards = post("sales-plans", starts_on="2024-07-10", ends_on="2024-07-01", units="5")
        assert backwards.status_code == 422
        assert "The plan ends before it starts" in backwards.text
        assert (
            post("sales-plans", starts_on="2024-07-01", ends_on="x", units="5").status_code == 422
        )
        assert _counts(engine) == (0, 0)
        tagged = post("spike-tags", day="2024-06-20", verdict="one_off", note="TV")
        assert tagged.status_code == 303
        assert tagged.headers["location"] == "/forecast?sku=MUG-RED&done=one_off#forecast-inputs"
        planned = post("sales-plans", starts_on="2024-07-01", ends_on="2024-07-10", units="50")
        assert planned.status_code == 303
        twice = post("spike-tags", day="2024-06-20", verdict="real_demand")
        assert twice.status_code == 409
        assert "is already tagged" in twice.text
        assert _counts(engine) == (1, 1)


def test_forecasts_kept_without_overall_figures_still_open_the_page(
    seeded: Path, tmp_path: Path
) -> None:
    """Every mug is too new to backtest, so the forecast has no overall figures; one kept
    before prices were measured lacks the price figures. The page opens for both, with a
    dash or without the price card; a forecast with them shows them."""
    copy = tmp_path / "data"
    shutil.copytree(seeded, copy)
    app = create_app(Settings(data_dir=copy))
    engine = app.state.store.engine
    kept = forecast_history(load_history(engine), horizon_days=14)
    assert kept.summary["series"] == 0
    assert kept.summary["scaled_error"] is None
    with engine.begin() as conn:
        create_user(conn, "viewer-user", Role.viewer, PASSWORD)
    with TestClient(app, raise_server_exceptions=False) as web:
        sign_in(web, Role.viewer)
        for summary in ({"series": 0}, kept.summary):
            save_forecast(engine, dataclasses.replace(kept, summary=summary))
            page = web.get("/forecast?lang=en")
            assert page.status_code == 200
            assert '<div class="kpi-value" id="kpi-error">–</div>' in page.text
            assert 'id="kpi-price"' not in page.text
        measured = kept.summary | {"price_moves": 12, "price_elasticity": -1.2}
        save_forecast(engine, dataclasses.replace(kept, summary=measured))
        page = web.get("/forecast?lang=en")
        assert '<div class="kpi-value" id="kpi-price">-1.20</div>' in page.text
        assert "from 12 list-price moves" in page.text
