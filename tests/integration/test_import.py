"""``soko import`` on SQLite and PostgreSQL: all-or-nothing, errors named, re-import a no-op."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select, text

from soko.data.importer import ImportFailed, import_paths
from soko.errors import ErrorCode
from soko.settings import Settings
from soko.store.db import make_engine
from soko.store.tables import Base, Customer, Order, OrderLine, Sku, StockAdjustment
from tests.conftest import REFDATA

SOKO = Path(sys.executable).parent / "soko"

CHANNELS = "channel_code,name,kind\nweb,自社EC,own_web\nrakuten,楽天市場,rakuten\n"
LOCATIONS = "location_code,name,kind,prefecture\nwh1,倉庫,warehouse,千葉県\n"
PRODUCTS = (
    "sku,product_code,product_name,color,size,item_type,unit_cost,price,tax_rate,"
    "price_includes_tax,case_pack,moq,order_weekdays\n"
    'TS-BLK-M,TS,Tシャツ,黒,M,staple,1200,3300,10,true,10,20,"mon,thu"\n'
    "TS-BLK-L,TS,Tシャツ,黒,L,staple,1200,3300,10,true,10,20,mon\n"
    "CUP-01,CUP,マグカップ,白,,seasonal,400,1650,10,yes,6,6,\n"
)
CUSTOMERS = "customer_id,joined_on,prefecture\nC001,2024-01-05,東京都\nC002,2024/02/10,大阪府\n"
ORDER_LINES = (
    "order_id,channel_code,location_code,customer_id,ordered_at,sku,quantity,unit_price,discount\n"
    "A1,web,wh1,C001,2024-03-01 10:00:00,TS-BLK-M,2,3300,300\n"
    "A1,web,wh1,C001,2024-03-01 10:00:00,CUP-01,1,1650,0\n"
    'R9,rakuten,wh1,,2024/03/02 11:30,TS-BLK-L,1,"3,300",\n'
    'R9,rakuten,wh1,,2024/03/02 11:30,TS-BLK-L,1,"3,300",\n'
)


def write_shop(folder: Path, *, order_lines: str = ORDER_LINES, products: str = PRODUCTS) -> Path:
    """A small, valid shop in Soko's own format (identical last two lines are real)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in {
        "channels.csv": CHANNELS,
        "locations.csv": LOCATIONS,
        "products.csv": products,
        "customers.csv": CUSTOMERS,
        "order_lines.csv": order_lines,
    }.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to compare a store before and after."""
    with engine.connect() as conn:
        return {
            t.name: sorted(conn.execute(select(t)).all(), key=repr)
            for t in Base.metadata.sorted_tables
            if t.name != "import_runs"
        }


def count(engine: Engine, table: type[Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_valid_shop_loads_with_its_values(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_paths(store, [write_shop(tmp_path / "shop")])
    with engine.connect() as conn:
        sku = conn.execute(select(Sku).where(Sku.code == "TS-BLK-M")).one()
        assert (sku.price, sku.unit_cost, sku.tax_rate, sku.case_pack, sku.moq) == (
            Decimal("3300"),
            Decimal("1200"),
            10,
            10,
            20,
        )
        assert sku.order_weekdays == "mon,thu"
        rakuten = conn.execute(
            select(OrderLine.unit_price, OrderLine.discount, Order.ordered_at, Order.customer_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.number == "R9")
        ).all()
    assert [r.unit_price for r in rakuten] == [Decimal("3300"), Decimal("3300")]
    assert rakuten[0].ordered_at == dt.datetime(2024, 3, 2, 11, 30)
    assert rakuten[0].customer_id is None
    assert count(engine, OrderLine) == 4, "identical lines inside one file are both real sales"
    assert count(engine, Order) == 2


def test_reimporting_the_same_files_changes_nothing(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    shop = write_shop(tmp_path / "shop")
    import_paths(store, [shop])
    before = snapshot(engine)
    report = import_paths(store, [shop])
    assert snapshot(engine) == before
    assert set(report.added.values()) == {0}


def test_a_changed_catalogue_row_updates_and_an_appended_order_line_is_added(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    shop = write_shop(tmp_path / "shop")
    import_paths(store, [shop])
    write_shop(
        shop,
        products=PRODUCTS.replace("1200,3300", "1250,3500", 1),
        order_lines=ORDER_LINES + "A2,web,wh1,C002,2024-03-05 09:00,CUP-01,3,1650,\n",
    )
    report = import_paths(store, [shop])
    assert report.added["order_lines"] == 1
    with engine.connect() as conn:
        price = conn.execute(select(Sku.price).where(Sku.code == "TS-BLK-M")).scalar_one()
    assert price == Decimal("3500")


def test_bad_cells_are_all_reported_and_the_store_is_unchanged(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_paths(store, [write_shop(tmp_path / "good")])
    before = snapshot(engine)
    bad_lines = ORDER_LINES + (
        "B1,web,wh1,C001,2024-13-01 10:00,TS-BLK-M,2,3300,0\n"  # row 6: month 13
        "B2,amazon,wh1,C001,2024-03-01 10:00,TS-BLK-M,0,3300,0\n"  # row 7: channel, quantity 0
        "B3,web,wh1,C404,2024-03-01 10:00,NOPE,two,,0\n"  # row 8: customer, sku, qty, price
    )
    bad_products = PRODUCTS + "X-1,X,x,,,fashion,100,abc,9,maybe,0,1,funday\n"  # row 5
    write_shop(tmp_path / "bad", order_lines=bad_lines, products=bad_products)
    with pytest.raises(ImportFailed) as failed:
        import_paths(store, [tmp_path / "bad"])
    found = {(p.file, p.row, p.column, p.code) for p in failed.value.errors}
    expected = {
        ("order_lines.csv", 6, "ordered_at", ErrorCode.invalid_value),
        ("order_lines.csv", 7, "channel_code", ErrorCode.unknown_reference),
        ("order_lines.csv", 7, "quantity", ErrorCode.below_minimum),
        ("order_lines.csv", 8, "customer_id", ErrorCode.unknown_reference),
        ("order_lines.csv", 8, "sku", ErrorCode.unknown_reference),
        ("order_lines.csv", 8, "quantity", ErrorCode.invalid_value),
        ("order_lines.csv", 8, "unit_price", ErrorCode.missing_value),
        ("products.csv", 5, "item_type", ErrorCode.invalid_value),
        ("products.csv", 5, "price", ErrorCode.invalid_value),
        ("products.csv", 5, "tax_rate", ErrorCode.invalid_value),
        ("products.csv", 5, "price_includes_tax", ErrorCode.invalid_value),
        ("products.csv", 5, "case_pack", ErrorCode.below_minimum),
        ("products.csv", 5, "order_weekdays", ErrorCode.invalid_value),
    }
    assert expected <= found
    assert len(found) == len(expected)
    assert snapshot(engine) == before
    message = next(p for p in failed.value.errors if p.column == "tax_rate").line()
    assert "products.csv: row 5, column 'tax_rate': '9': expected one of 8, 10" in message


def test_structural_problems_are_named(store: Settings, engine: Engine, tmp_path: Path) -> None:
    folder = write_shop(tmp_path / "shop")
    (folder / "order_lines.csv").write_text(
        "order_id,channel_code,ordered_at,sku,quantity,unit_price,colour\n"
        "A1,web,2024-03-01,TS-BLK-M,1,3300,red\n",
        encoding="utf-8",
    )
    (folder / "customers.csv").write_text(
        "customer_id,prefecture\nC001,東京都\nC001,大阪府\n", encoding="utf-8"
    )
    (folder / "notes.csv").write_text("memo,author\nhello,me\n", encoding="utf-8")
    (folder / "twice.csv").write_text("sku,sku \nA,B\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        import_paths(store, [folder])
    found = {(p.file, p.row, p.column, p.code) for p in failed.value.errors}
    assert ("order_lines.csv", 1, "colour", ErrorCode.unknown_column) in found
    assert ("customers.csv", 3, "customer_id", ErrorCode.duplicate_key) in found
    assert ("notes.csv", 1, "", ErrorCode.unknown_format) in found
    [twice] = [p for p in failed.value.errors if p.file == "twice.csv"]
    assert twice.line() == (
        "twice.csv: the header names column(s) 'sku' more than once; give each column its own "
        "name [duplicate_key]"
    )
    assert count(engine, Sku) == 0


def test_cp932_excel_and_parquet_files_import_like_utf8_csv(tmp_path: Path) -> None:
    stores = {}
    for kind in ("csv", "cp932", "xlsx", "parquet"):
        shop = write_shop(tmp_path / "src" / kind)
        if kind != "csv":
            for path in list(shop.iterdir()):
                frame = pl.read_csv(path, infer_schema=False)
                if kind == "cp932":
                    path.write_bytes(path.read_text(encoding="utf-8").encode("cp932"))
                elif kind == "xlsx":
                    frame.write_excel(path.with_suffix(".xlsx"))
                    path.unlink()
                else:
                    frame.write_parquet(path.with_suffix(".parquet"))
                    path.unlink()
        settings = Settings(data_dir=tmp_path / "stores" / kind)
        import_paths(settings, [shop])
        engine = make_engine(settings)
        with engine.connect() as conn:
            stores[kind] = (
                sorted(conn.execute(select(Sku.code, Sku.price, Sku.order_weekdays)).all()),
                sorted(
                    conn.execute(
                        select(Customer.code, Customer.prefecture, Customer.joined_on)
                    ).all()
                ),
                sorted(
                    conn.execute(
                        select(OrderLine.quantity, OrderLine.unit_price, OrderLine.source_row)
                    ).all()
                ),
            )
        engine.dispose()
    assert stores["cp932"] == stores["csv"]
    assert stores["xlsx"] == stores["csv"]
    assert stores["parquet"] == stores["csv"]
    assert ("CUP-01", Decimal("1650"), None) in stores["csv"][0]


def test_a_file_in_neither_utf8_nor_cp932_is_refused_by_line(tmp_path: Path) -> None:
    shop = write_shop(tmp_path / "shop")
    (shop / "customers.csv").write_bytes(b"customer_id,prefecture\nC001,ok\nC002,\xff\xfe\xfa\n")
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(ImportFailed) as failed:
        import_paths(settings, [shop])
    [problem] = [p for p in failed.value.errors if p.file == "customers.csv"]
    assert problem.code == ErrorCode.unreadable_file
    assert "customers.csv: line 3" in problem.expected


SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Currency,Discount Code,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Cancelled at,Refunded Amount,"
    "Vendor\n"
    "#1001,Aiko@Example.jp,paid,2024-05-01 12:00:00 +0900,JPY,WELCOME10,2024-05-01 12:00:00 +0900,"
    "2,Tシャツ - M / 黒,3300,TS-BLK-M,330,,0,Soko Wear\n"
    "#1001,,,,,,,1,マグカップ,1650,CUP-01,0,,,\n"
    "#1002,ken@example.jp,paid,,JPY,,2024-05-01 20:30:00 -0400,1,Tip,500,,0,,0,\n"
    "#1003,ken@example.jp,voided,,JPY,,2024-05-02 09:00:00 +0900,1,マグカップ,1650,CUP-01,0,"
    "2024-05-02 10:00:00 +0900,0,\n"
    "#1004,,paid,,JPY,,2024-05-03 09:00:00 +0900,1,Tシャツ - L / 黒,3300,TS-BLK-L,0,,3300,\n"
)


def test_a_shopify_orders_export_maps_to_orders_with_its_rules(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY, encoding="utf-8")
    report = import_paths(store, [path])
    assert report.mappings == {"orders_export.csv": "shopify"}
    assert report.rules["orders_export.csv"] == {
        "lines": 5,
        "order_fields_filled_down": 1,
        "cancelled_order": 1,
        "no_sku": 1,
        "customer_by_email": 1,
        "time_zone_converted": 3,
        "refund_not_itemised": 1,
    }
    with engine.connect() as conn:
        lines = conn.execute(
            select(
                Order.number,
                Order.ordered_at,
                Customer.code,
                Sku.code,
                OrderLine.quantity,
                OrderLine.discount,
                OrderLine.coupon_code,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .join(Sku, Sku.id == OrderLine.sku_id)
            .outerjoin(Customer, Customer.id == Order.customer_id)
            .order_by(OrderLine.source_row)
        ).all()
    assert [tuple(r) for r in lines] == [
        (
            "#1001",
            dt.datetime(2024, 5, 1, 12),
            "aiko@example.jp",
            "TS-BLK-M",
            2,
            Decimal(330),
            "WELCOME10",
        ),
        (
            "#1001",
            dt.datetime(2024, 5, 1, 12),
            "aiko@example.jp",
            "CUP-01",
            1,
            Decimal(0),
            "WELCOME10",
        ),
        ("#1004", dt.datetime(2024, 5, 3, 9), None, "TS-BLK-L", 1, Decimal(0), None),
    ]


def test_an_export_never_overwrites_the_catalogue(
    store: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_paths(store, [write_shop(tmp_path / "shop")])
    path = tmp_path / "orders_export.csv"
    path.write_text(SHOPIFY.replace(",3300,TS-BLK-M", ",9999,TS-BLK-M"), encoding="utf-8")
    import_paths(store, [path])
    with engine.connect() as conn:
        assert conn.execute(select(Sku.price).where(Sku.code == "TS-BLK-M")).scalar_one() == 3300


def test_the_cli_prints_every_error_on_stderr_and_exits_non_zero(tmp_path: Path) -> None:
    shop = write_shop(
        tmp_path / "shop", order_lines=ORDER_LINES + "B1,web,wh1,,yesterday,TS-BLK-M,1,1,\n"
    )
    env = {"SOKO_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [str(SOKO), "import", str(shop)], capture_output=True, text=True, env=env, check=False
    )
    assert run.returncode == 1
    assert "order_lines.csv: row 6, column 'ordered_at': 'yesterday'" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    ok = subprocess.run(
        [str(SOKO), "import", str(write_shop(tmp_path / "ok"))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "order_lines" in ok.stdout


@pytest.mark.refdata
@pytest.mark.slow
@pytest.mark.xdist_group("online_retail")
def test_online_retail_loads_with_the_published_counts(store: Settings, engine: Engine) -> None:
    path = REFDATA / "online_retail" / "online_retail_2010_2011.csv.gz"
    if not path.exists():
        pytest.skip(f"reference data not found at {path}")
    report = import_paths(store, [path])
    rules = report.rules[path.name]
    assert rules["lines"] == 541_909
    assert rules["cancellation"] == 9_288
    assert rules["negative_without_cancellation"] == 1_336
    assert rules["zero_price"] == 2_515
    assert rules["bad_debt"] == 3
    assert rules["non_product_code_distinct"] == 33
    assert rules["no_customer"] == 135_080
    assert rules["exact_duplicate"] == 5_268

    raw = pl.read_csv(path, infer_schema=False).with_columns(pl.col("Quantity").cast(pl.Int64))
    goods = raw.filter(
        pl.col("StockCode").str.contains(r"^\d{5}") & ~pl.col("InvoiceNo").str.starts_with("A")
    )
    cancel = pl.col("InvoiceNo").str.starts_with("C")
    expected_lines = goods.filter(cancel | (pl.col("Quantity") > 0))
    with engine.connect() as conn:
        by_kind = dict(
            conn.execute(select(OrderLine.kind, func.count()).group_by(OrderLine.kind)).all()
        )
        units = conn.execute(select(func.sum(OrderLine.quantity))).scalar_one()
        anonymous = conn.execute(
            select(func.count())
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.customer_id.is_(None))
        ).scalar_one()
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    assert by_kind["return"] == expected_lines.filter(cancel).height
    assert by_kind["sale"] == expected_lines.filter(~cancel).height
    assert units == expected_lines.get_column("Quantity").abs().sum()
    assert anonymous == expected_lines.filter(pl.col("CustomerID").is_null()).height
    assert customers == 4_372
    assert count(engine, StockAdjustment) == goods.filter(~cancel & (pl.col("Quantity") < 0)).height

    again = import_paths(store, [path])
    assert set(again.added.values()) == {0}


def test_the_store_is_migrated_by_import_on_a_fresh_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new")
    import_paths(settings, [write_shop(tmp_path / "shop")])
    with make_engine(settings).connect() as conn:
        mode = conn.execute(text("PRAGMA journal_mode")).scalar_one()
    assert mode == "wal"
