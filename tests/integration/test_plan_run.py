"""A plan run on the small preset, and the purchase-order list's lifecycle around it.

One module-scoped store gets the small preset and a first plan run; tests that
change it work on a copy of its SQLite file. The second-run tests approve one
supplier's lines and edit another line, run the plan again, and check what a
buyer relies on: nothing already on order is ordered again, and edits stay.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from soko.data.demo import generate_into_store
from soko.forecast.service import forecast_history, load_history
from soko.ledger.rules import Mode
from soko.ledger.service import balances
from soko.planning import exports, orders
from soko.planning.run import (
    PlanSettings,
    demand_per_line,
    first_day_of,
    load_catalogue,
    run_plan,
)
from soko.settings import Settings, local_now
from soko.store.db import make_engine, migrate
from soko.store.tables import Location, Movement, PlanLine, Product, Sku


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small preset with one finished plan run; yields its data folder."""
    data_dir = tmp_path_factory.mktemp("plan") / "data"
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings)
    migrate(engine)
    generate_into_store(settings, "small", 1)
    run_plan(engine)
    engine.dispose()
    return data_dir


@pytest.fixture
def engine(planned: Path, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the planned store."""
    copy = tmp_path / "data"
    shutil.copytree(planned, copy)
    engine = make_engine(Settings(data_dir=copy))
    yield engine
    engine.dispose()


def _run_id(engine: Engine) -> int:
    with engine.connect() as conn:
        run_id = orders.latest_run_id(conn)
    assert run_id is not None
    return run_id


def test_every_recommended_quantity_is_whole_case_packs_of_at_least_the_moq(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        lines = orders.plan_lines(conn, _run_id(engine))
        packs = dict(conn.execute(select(Sku.code, Sku.case_pack)).all())
        moqs = dict(conn.execute(select(Sku.code, Sku.moq)).all())
    to_order = [v for v in lines if v.recommended_quantity > 0]
    assert len(to_order) > 20
    assert any(packs[v.sku] > 1 for v in to_order), "the preset should exercise case packs"
    for v in to_order:
        assert v.recommended_quantity % packs[v.sku] == 0, v
        assert v.recommended_quantity >= moqs[v.sku], v


def test_staple_and_seasonal_lines_follow_the_products_season(engine: Engine) -> None:
    with engine.connect() as conn:
        lines = orders.plan_lines(conn, _run_id(engine))
        seasonal = set(
            conn.execute(
                select(Sku.code)
                .join(Product, Product.id == Sku.product_id)
                .where(Product.season_end.is_not(None))
            ).scalars()
        )
    kinds = {v.kind for v in lines}
    assert kinds == {"staple", "seasonal"}
    for v in lines:
        assert (v.kind == "seasonal") == (v.sku in seasonal), v
        assert v.explanation["model"] == ("newsvendor" if v.kind == "seasonal" else "policy")


def test_a_staple_line_explains_its_cost_parts_and_the_margin_only_level(engine: Engine) -> None:
    with engine.connect() as conn:
        lines = orders.plan_lines(conn, _run_id(engine))
    staple = [v for v in lines if v.kind == "staple" and v.recommended_quantity > 0]
    for v in staple:
        e = v.explanation
        assert e["why"] == "below_reorder_point"
        assert v.inventory_position < v.reorder_point <= v.order_up_to
        parts = e["margin_lost"] + e["customer_value_at_risk"]
        assert abs(e["shortage_cost_per_unit"] - parts) < 0.02
        # pricing the customer value in never lowers the service level
        assert e["service_level"] >= e["margin_only_service_level"] - 1e-9
    assert any(v.explanation["customer_value_at_risk"] > 0 for v in staple)


@dataclass(frozen=True)
class SecondRun:
    engine: Engine
    first: list[orders.LineView]
    second: list[orders.LineView]
    approved: list[orders.LineView]
    edited: orders.LineView


@pytest.fixture(scope="module")
def second_run(planned: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondRun]:
    """Approve one supplier's lines, edit a line of another, then plan again."""
    copy = tmp_path_factory.mktemp("second") / "data"
    shutil.copytree(planned, copy)
    engine = make_engine(Settings(data_dir=copy))
    run_id = _run_id(engine)
    now = local_now()
    with engine.begin() as conn:
        first = orders.plan_lines(conn, run_id)
        supplier = max(
            {v.supplier for v in first}, key=lambda s: sum(v.supplier == s for v in first)
        )
        approved = [v for v in first if v.supplier == supplier and v.quantity > 0]
        orders.approve(conn, [v.id for v in approved], actor="test", now=now)
        other = next(v for v in first if v.supplier != supplier and v.recommended_quantity > 0)
        edited = orders.edit_line(
            conn,
            other.id,
            quantity=other.recommended_quantity + other.case_pack * 2,
            note="空輸で前倒し",
            actor="test",
            now=now,
        )
    run_plan(engine)
    with engine.connect() as conn:
        second = orders.plan_lines(conn, _run_id(engine))
    yield SecondRun(engine, first, second, approved, edited)
    engine.dispose()


def test_the_next_run_never_orders_again_what_is_already_on_order(second_run: SecondRun) -> None:
    after = {(v.sku, v.location): v for v in second_run.second}
    assert second_run.approved
    for v in second_run.approved:
        again = after.get((v.sku, v.location))
        if again is None:
            continue  # nothing to order: what we want
        assert again.on_order >= v.on_order + v.quantity, (v, again)
        assert again.recommended_quantity == 0, (v, again)


def test_approved_lines_show_as_incoming_stock_in_the_ledger(second_run: SecondRun) -> None:
    v = second_run.approved[0]
    with second_run.engine.connect() as conn:
        found = balances(conn, v.sku, mode=Mode.shared, now=local_now())
        pos = orders.purchase_orders(conn, only_open=True, limit=1000)
    incoming = {b.location: b.incoming for b in found.locations}
    assert incoming[v.location] >= v.quantity
    numbers = {po.number for po in pos if po.plan_run_id == v.plan_run_id}
    assert numbers, "approval made purchase orders linked to the plan run"


def test_a_buyers_edit_is_carried_to_the_next_run(second_run: SecondRun) -> None:
    e = second_run.edited
    again = next(v for v in second_run.second if (v.sku, v.location) == (e.sku, e.location))
    assert again.id != e.id
    assert again.edited_quantity == e.edited_quantity
    assert again.note == "空輸で前倒し"
    assert again.quantity == e.edited_quantity


def _open_line(engine: Engine) -> tuple[orders.PurchaseOrderView, orders.PurchaseOrderLineView]:
    with engine.begin() as conn:
        run_id = _run_id(engine)
        lines = [v for v in orders.plan_lines(conn, run_id) if v.quantity >= 2]
        orders.approve(conn, [lines[0].id], actor="test", now=local_now())
        po = next(
            p for p in orders.purchase_orders(conn, only_open=True) if p.plan_run_id == run_id
        )
    return po, po.lines[0]


def _on_hand(engine: Engine, sku: str, location: str) -> tuple[int, int]:
    with engine.connect() as conn:
        found = balances(conn, sku, mode=Mode.shared, now=local_now())
    row = next((b for b in found.locations if b.location == location), None)
    return (row.on_hand, row.incoming) if row else (0, 0)


def test_a_partial_receipt_adds_stock_and_keeps_the_line_open(engine: Engine) -> None:
    po, line = _open_line(engine)
    before, incoming = _on_hand(engine, line.sku, po.location)
    with engine.begin() as conn:
        made = orders.receive(
            conn, line.id, 1, received_on=local_now().date(), actor="test", now=local_now()
        )
        kinds = conn.execute(
            select(Movement.kind, Movement.quantity).where(
                Movement.idempotency_key == f"po-receipt:{made.receipt_id}"
            )
        ).all()
    assert not made.closed
    assert kinds == [("receipt", 1)]
    after, incoming_after = _on_hand(engine, line.sku, po.location)
    assert after == before + 1
    assert incoming_after == incoming - 1


def test_an_over_receipt_closes_the_line_and_books_every_unit(engine: Engine) -> None:
    po, line = _open_line(engine)
    before, _ = _on_hand(engine, line.sku, po.location)
    with engine.begin() as conn:
        made = orders.receive(
            conn,
            line.id,
            line.ordered + 3,
            received_on=local_now().date(),
            actor="test",
            now=local_now(),
        )
    assert made.closed
    after, _ = _on_hand(engine, line.sku, po.location)
    assert after == before + line.ordered + 3
    with engine.connect() as conn:
        again = orders.get_purchase_order(conn, po.number)
    assert next(x for x in again.lines if x.id == line.id).closed


def test_closing_short_stops_counting_the_rest_as_incoming(engine: Engine) -> None:
    po, line = _open_line(engine)
    _, incoming = _on_hand(engine, line.sku, po.location)
    with engine.begin() as conn:
        made = orders.receive(
            conn,
            line.id,
            1,
            received_on=local_now().date(),
            close_short=True,
            actor="test",
            now=local_now(),
        )
    assert made.closed
    assert made.expected == 1
    _, incoming_after = _on_hand(engine, line.sku, po.location)
    assert incoming_after == incoming - line.ordered
    with engine.connect() as conn:
        again = orders.get_purchase_order(conn, po.number)
    kept = next(x for x in again.lines if x.id == line.id)
    assert kept.ordered == line.ordered  # what the buyer ordered is kept


def test_an_edit_off_the_case_pack_is_refused_and_changes_nothing(engine: Engine) -> None:
    from soko.errors import SokoError

    with engine.connect() as conn:
        line = next(v for v in orders.plan_lines(conn, _run_id(engine)) if v.case_pack > 1)
    with pytest.raises(SokoError, match="cases of"), engine.begin() as conn:
        orders.edit_line(conn, line.id, quantity=line.case_pack + 1, actor="test", now=local_now())
    with engine.connect() as conn:
        edited = conn.execute(
            select(func.count()).where(PlanLine.edited_at.is_not(None))
        ).scalar_one()
    assert edited == 0


def test_the_cp932_csv_opens_with_its_japanese_product_names(engine: Engine) -> None:
    with engine.connect() as conn:
        frame = exports.run_frame(conn, _run_id(engine))
    raw = exports.to_csv(frame, "cp932")
    read = pl.read_csv(io.BytesIO(raw.decode("cp932").encode("utf-8")))
    assert read.height == frame.height
    names = read["商品名 product"].to_list()
    assert any(
        any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in n) for n in names
    )
    assert names == frame["商品名 product"].to_list()


def test_the_excel_list_has_staple_and_seasonal_sheets(engine: Engine, tmp_path: Path) -> None:
    with engine.connect() as conn:
        frame = exports.run_frame(conn, _run_id(engine))
    path = tmp_path / "list.xlsx"
    path.write_bytes(exports.to_xlsx(frame))
    staple = pl.read_excel(path, sheet_name="定番品 staple", engine="calamine")
    seasonal = pl.read_excel(path, sheet_name="シーズン品 seasonal", engine="calamine")
    assert staple.height + seasonal.height == frame.height
    assert seasonal.height > 0


def test_a_plan_is_approved_and_received_on_sqlite_and_postgresql(store: Settings) -> None:
    engine = make_engine(store)
    try:
        generate_into_store(store, "small", 1)
        first = run_plan(engine)
        now = local_now()
        with engine.begin() as conn:
            lines = [v for v in orders.plan_lines(conn, first.plan_run_id) if v.quantity >= 2]
            made = orders.approve(conn, [lines[0].id], actor="test", now=now)
            po = orders.get_purchase_order(conn, made.purchase_orders[0])
            got = orders.receive(
                conn, po.lines[0].id, 1, received_on=now.date(), actor="test", now=now
            )
            orders.edit_line(conn, lines[1].id, excluded=True, note="見送り", actor="test", now=now)
        assert got.on_hand_after >= 1
        assert not got.closed
        second = run_plan(engine)
        with engine.connect() as conn:
            again = {(v.sku, v.location): v for v in orders.plan_lines(conn, second.plan_run_id)}
        kept = again[(lines[1].sku, lines[1].location)]
        assert kept.excluded
        assert kept.quantity == 0
        assert kept.note == "見送り"
        assert (lines[0].sku, lines[0].location) not in again or again[
            (lines[0].sku, lines[0].location)
        ].recommended_quantity == 0
    finally:
        engine.dispose()


def test_the_supplier_forecast_export_sums_the_kept_forecast_per_week(engine: Engine) -> None:
    from soko.forecast.service import latest_forecast

    with engine.connect() as conn:
        supplier = orders.plan_lines(conn, _run_id(engine))[0].supplier
    assert supplier is not None
    raw = exports.supplier_forecast_csv(engine, supplier, weeks=4)
    frame = pl.read_csv(io.BytesIO(raw))
    weeks = [c for c in frame.columns if c not in ("SKU", "total")]
    assert len(weeks) == 4
    forecast = latest_forecast(engine)
    assert forecast is not None
    first = forecast.daily["ds"].min()
    sku = frame["SKU"][0]
    expected = forecast.daily.filter(
        (pl.col("sku") == sku) & ((pl.col("ds") - pl.lit(first)).dt.total_days() < 28)
    )["mean"].sum()
    assert abs(frame["total"][0] - expected) < 0.2
    with engine.connect() as conn:
        others = {v.sku for v in orders.plan_lines(conn, _run_id(engine)) if v.supplier != supplier}
    assert not (set(frame["SKU"]) & others)


def test_planning_an_empty_store_says_what_to_do_and_keeps_the_run_as_failed(
    tmp_path: Path,
) -> None:
    from soko.errors import SokoError
    from soko.jobs import JobStatus, get_job

    engine = make_engine(Settings(data_dir=tmp_path / "data"))
    migrate(engine)
    with pytest.raises(SokoError, match="import sales first"):
        run_plan(engine)
    with engine.connect() as conn:
        (run,) = orders.plan_runs(conn)
    assert run.status == "failed"
    assert "Nothing to plan from" in run.error
    job = get_job(engine, run.job_id)
    assert job is not None
    assert job.status == JobStatus.failed
    engine.dispose()


def test_transfers_in_transit_and_waiting_preorders_count_in_the_position(
    engine: Engine,
) -> None:
    from soko.planning.run import on_order
    from soko.store.tables import Channel, Location, Preorder, Transfer, table_of

    now = local_now()
    with engine.begin() as conn:
        lines = [v for v in orders.plan_lines(conn, _run_id(engine)) if v.kind == "staple"]
        presold = next(v for v in lines if v.on_order > 0)
        sent = next(v for v in lines if v.sku != presold.sku)
        ids = dict(conn.execute(select(Sku.code, Sku.id)).all())
        places = dict(conn.execute(select(Location.code, Location.id)).all())
        incoming = sum(q for (s, _), q in on_order(conn).items() if s == ids[presold.sku])
        channel = conn.execute(select(Channel.id)).scalars().first()
        source = next(code for code in places if code != sent.location)
        conn.execute(
            table_of(Transfer)
            .insert()
            .values(
                id="T-test",
                sku_id=ids[sent.sku],
                from_location_id=places[source],
                to_location_id=places[sent.location],
                quantity=1000,
                status="in_transit",
                created_at=now,
                actor="test",
                idempotency_key="t-test",
            )
        )
        # every unit on its way of one SKU is already sold ahead (予約販売)
        conn.execute(
            table_of(Preorder)
            .insert()
            .values(
                id="P-test",
                sku_id=ids[presold.sku],
                channel_id=channel,
                quantity=incoming,
                status="waiting",
                created_at=now,
                idempotency_key="p-test",
            )
        )
    run_plan(engine)
    with engine.connect() as conn:
        again = {(v.sku, v.location): v for v in orders.plan_lines(conn, _run_id(engine))}
    assert (sent.sku, sent.location) not in again  # 1,000 units on their way: nothing to order
    line = again[(presold.sku, presold.location)]
    assert line.explanation["backorders"] == line.on_order
    assert line.inventory_position == line.on_hand - line.reserved
    assert line.recommended_quantity >= presold.recommended_quantity


def test_planned_campaigns_in_the_protection_interval_raise_the_demand_it_covers(
    engine: Engine,
) -> None:
    """The demo calendar plans Black Friday and a Rakuten super-sale after the data's last
    day: staple lines whose review + lead time reaches into them are sized on the raised
    demand, not on the calendar-blind forecast."""
    store = load_history(engine)
    with_calendar = forecast_history(store, horizon_days=PlanSettings().horizon_days)
    blind = forecast_history(
        dataclasses.replace(store, campaigns=store.campaigns.clear()),
        horizon_days=PlanSettings().horizon_days,
    )
    first = first_day_of(with_calendar.daily)
    with engine.connect() as conn:
        catalogue = load_catalogue(conn, first, PlanSettings())
        locations = dict(conn.execute(select(Location.code, Location.id)).all())
    reach = catalogue.filter(
        ~pl.col("seasonal")
        & (pl.col("review_days") + pl.col("lead_mean") >= (dt.date(2026, 12, 4) - first).days + 3)
    ).select("sku_id")
    assert reach.height > 10, "some suppliers' lead times reach the super-sale"
    lines = [
        demand_per_line(f.daily, catalogue, locations, first)
        .join(reach, on="sku_id", how="semi")
        .filter(pl.col("location_id") == locations["WH-KANTO"])
        .select(pl.col("daily_mean").sum())
        .item()
        for f in (with_calendar, blind)
    ]
    print(
        f"\ndaily demand over the protection interval, WH-KANTO: {lines[0]:.1f} vs {lines[1]:.1f}"
    )
    assert lines[0] > 1.1 * lines[1]
