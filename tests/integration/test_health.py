"""Sell-through & health: the figures per SKU and product, the page's table and its downloads.

The store holds four SKUs built so each lands in one state; the expected
figures are worked out by hand from the rows below.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import fastexcel
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from soko.insight.health import Flag, build_health
from soko.settings import Settings
from soko.store.db import session_scope
from soko.store.tables import Balance, Channel, Location, Order, OrderLine, Product, Sku, Source
from soko.web.app import create_app
from soko.web.health import FLAGS, file_columns_for
from soko.web.i18n import load_translations
from tests.integration.conftest import migrated_settings

END = dt.datetime(2024, 9, 30, 18, 0)  # the last order; windows end with this day
DAY = dt.timedelta(days=1)

# sku, product, unit cost, on hand
SKUS = (
    ("JKT-NVY-M", "P-JKT", Decimal(4000), 90),  # slow: 30 sold in 90 days → 270 days of cover
    ("JKT-NVY-L", "P-JKT", Decimal(4000), 10),  # healthy: 45 sold → 20 days
    ("SCARF-RED", "P-SCARF", None, 5),  # dead: last sale 20 weeks back
    ("CAP-BLK", "P-CAP", Decimal(800), 0),  # out: sold 3, none left
)
# sku, days before END, quantity, unit price, kind
LINES = (
    ("JKT-NVY-M", 0, 10, Decimal(9000), "sale"),
    ("JKT-NVY-M", 60, 22, Decimal(9000), "sale"),
    ("JKT-NVY-M", 40, 2, Decimal(9000), "return"),
    ("JKT-NVY-L", 5, 15, Decimal(9000), "sale"),
    ("JKT-NVY-L", 80, 30, Decimal(8000), "sale"),
    ("JKT-NVY-L", 95, 99, Decimal(8000), "sale"),  # before the 90 days: not counted
    ("SCARF-RED", 140, 1, Decimal(2500), "sale"),
    ("CAP-BLK", 29, 3, Decimal(1500), "sale"),
)


def fill(engine: Engine) -> None:
    with session_scope(engine) as session:
        channel = Channel(code="web", name="Web", kind="own_web")
        source = Source(name="health-test")
        location = Location(code="WH", name="Warehouse", kind="warehouse")
        products = {p: Product(code=p, name=f"{p} name") for p in {s[1] for s in SKUS}}
        session.add_all([channel, source, location, *products.values()])
        session.flush()
        skus = {
            code: Sku(code=code, product_id=products[p].id, unit_cost=cost, color="navy")
            for code, p, cost, _ in SKUS
        }
        session.add_all(skus.values())
        session.flush()
        session.add_all(
            Balance(sku_id=skus[code].id, location_id=location.id, on_hand=units)
            for code, _, _, units in SKUS
        )
        for row, (code, days, quantity, price, kind) in enumerate(LINES, start=1):
            order = Order(channel_id=channel.id, number=f"O-{row}", ordered_at=END - days * DAY)
            session.add(order)
            session.flush()
            session.add(
                OrderLine(
                    order_id=order.id,
                    source_id=source.id,
                    source_row=row,
                    kind=kind,
                    sku_id=skus[code].id,
                    quantity=quantity,
                    unit_price=price,
                )
            )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Engine]]:
    settings, engine = migrated_settings(tmp_path_factory.mktemp("health") / "data")
    fill(engine)
    yield settings, engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(store: tuple[Settings, Engine]) -> Iterator[TestClient]:
    with TestClient(create_app(store[0])) as test_client:
        yield test_client


def test_each_sku_gets_its_units_sales_cover_sell_through_and_state(
    store: tuple[Settings, Engine],
) -> None:
    with session_scope(store[1]) as session:
        health = build_health(session)
    rows = {r.code: r for r in health.rows}
    assert health.window_end == END.date()
    slow = rows["JKT-NVY-M"]
    assert (slow.units_30, slow.units_90) == (10, 30)  # 10 + 22 − 2 returned
    assert slow.sales_90 == Decimal(30 * 9000)
    assert slow.cover_days == pytest.approx(90 / (30 / 90))
    assert slow.sell_through == pytest.approx(30 / 120)
    assert slow.stock_value == Decimal(90 * 4000)
    assert slow.weeks_since_sale == 0
    assert slow.flag == Flag.excess
    healthy = rows["JKT-NVY-L"]
    assert (healthy.units_30, healthy.units_90) == (15, 45)
    assert healthy.cover_days == pytest.approx(20)
    assert healthy.flag == Flag.ok
    dead = rows["SCARF-RED"]
    assert (dead.units_90, dead.cover_days, dead.weeks_since_sale) == (0, None, 20)
    assert dead.flag == Flag.dead
    assert (dead.stock_value, dead.uncosted_units) == (Decimal(0), 5)
    out = rows["CAP-BLK"]
    assert (out.units_30, out.on_hand, out.flag) == (3, 0, Flag.out)
    assert out.sell_through == 1


def test_a_product_sums_its_skus_before_dividing(store: tuple[Settings, Engine]) -> None:
    with session_scope(store[1]) as session:
        rows = {r.code: r for r in build_health(session, by_product=True).rows}
    jacket = rows["P-JKT"]
    assert (jacket.on_hand, jacket.units_90, jacket.sku_count) == (100, 75, 2)
    assert jacket.cover_days == pytest.approx(100 / (75 / 90))  # 120 days: not excess
    assert jacket.flag == Flag.ok
    assert jacket.stock_value == Decimal(100 * 4000)


def codes(html: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)"', html)


def test_the_page_filters_sorts_and_switches_to_products(client: TestClient) -> None:
    by_value = client.get("/inventory-health", params={"lang": "en"}).text
    assert "<h1>Sell-through & health</h1>" in by_value
    # Largest stock value first by default; the uncosted scarf and the empty cap last.
    assert codes(by_value)[:2] == ["JKT-NVY-M", "JKT-NVY-L"]
    dead = client.get("/inventory-health", params={"flag": "dead"}).text
    assert codes(dead) == ["SCARF-RED"]
    jackets = client.get(
        "/inventory-health", params={"q": "jkt", "sort": "cover_days", "dir": "asc"}
    ).text
    assert codes(jackets) == ["JKT-NVY-L", "JKT-NVY-M"]
    # No sales means unbounded cover: it sorts past every finite figure.
    by_cover = client.get("/inventory-health", params={"sort": "cover_days", "dir": "desc"}).text
    assert codes(by_cover)[0] == "SCARF-RED"
    products = client.get("/inventory-health", params={"by": "product", "q": "P-"}).text
    assert sorted(codes(products)) == ["P-CAP", "P-JKT", "P-SCARF"]
    nothing = client.get("/inventory-health", params={"q": "no such thing", "lang": "en"}).text
    assert "Nothing matches the filter" in nothing


def test_the_csv_holds_exactly_the_filtered_sorted_rows_in_utf8_or_cp932(
    client: TestClient,
) -> None:
    params = {"q": "jkt", "sort": "units_90", "dir": "desc", "lang": "ja"}
    utf8 = client.get("/inventory-health", params={**params, "format": "csv"})
    assert utf8.headers["content-disposition"].startswith("attachment;")
    assert utf8.content.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads UTF-8
    rows = list(csv.reader(io.StringIO(utf8.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["SKU", "商品", "商品名", "色 / サイズ"]
    assert [r[0] for r in rows[1:]] == ["JKT-NVY-L", "JKT-NVY-M"]
    cp932 = client.get("/inventory-health", params={**params, "format": "csv", "encoding": "cp932"})
    assert "shift_jis" in cp932.headers["content-type"]
    assert list(csv.reader(io.StringIO(cp932.content.decode("cp932")))) == rows
    header = rows[0]
    slow = dict(zip(header, rows[2], strict=True))
    assert slow["90日販売"] == "30"
    assert slow["状態"] == "過剰在庫"


def test_the_excel_file_holds_the_same_rows(client: TestClient, tmp_path: Path) -> None:
    answer = client.get("/inventory-health", params={"flag": "dead", "format": "xlsx"})
    path = tmp_path / "health.xlsx"
    path.write_bytes(answer.content)
    sheet = fastexcel.read_excel(path).load_sheet(0).to_polars()
    assert sheet.height == 1
    assert sheet.row(0)[0] == "SCARF-RED"


def test_every_column_and_state_reads_in_japanese() -> None:
    ja = load_translations("ja")
    labels = {c.label for by in ("sku", "product") for c in file_columns_for(by)}
    labels |= {c.note for by in ("sku", "product") for c in file_columns_for(by) if c.note}
    labels |= set(FLAGS.values())
    assert sorted(m for m in labels if ja.gettext(m) == m) == []


def test_figures_follow_a_change_of_stock_at_once(tmp_path: Path) -> None:
    _, engine = migrated_settings(tmp_path / "data")
    fill(engine)
    with session_scope(engine) as session:
        before = {r.code: r.on_hand for r in build_health(session).rows}
        session.execute(
            update(Balance)
            .where(Balance.sku_id == select(Sku.id).where(Sku.code == "CAP-BLK").scalar_subquery())
            .values(on_hand=2)
        )
    with session_scope(engine) as session:
        after = {r.code: r for r in build_health(session).rows}
    engine.dispose()
    assert before["CAP-BLK"] == 0
    assert after["CAP-BLK"].on_hand == 2  # 60 days of cover at 3 units in 90 days
    assert after["CAP-BLK"].flag == Flag.ok
