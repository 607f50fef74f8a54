"""Stores with known contents for the API and web tests, one fresh SQLite file per module.

The rows are written with SQLAlchemy straight into the tables (not through an
importer) so these tests depend only on the schema, and they are kept as plain
data here so tests compute the expected figures from them independently of
the queries under test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from soko.api.auth import Scope, create_token
from soko.settings import Settings
from soko.store.db import make_engine, migrate, session_scope
from soko.store.tables import (
    Balance,
    Channel,
    Location,
    Order,
    OrderLine,
    Product,
    Sku,
    Source,
)
from soko.web.app import create_app


@dataclass(frozen=True)
class SkuSpec:
    code: str
    product: str
    unit_cost: Decimal | None
    price: Decimal


@dataclass(frozen=True)
class LineSpec:
    """One order line; ``kind`` is ``sale`` or ``return``, money as the tables hold it."""

    channel: str
    order: str
    at: dt.datetime
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    kind: str = "sale"


@dataclass(frozen=True)
class KnownStore:
    settings: Settings
    engine: Engine
    products: tuple[str, ...]
    skus: tuple[SkuSpec, ...]
    channels: tuple[tuple[str, str, str], ...]
    locations: tuple[tuple[str, str, str], ...]
    stock: tuple[tuple[str, str, int], ...]
    lines: tuple[LineSpec, ...]


PRODUCTS = ("P-COAT", "P-TEE")
SKUS = (
    SkuSpec("COAT-BLK-M", "P-COAT", Decimal("1200"), Decimal("3000")),
    # A cost with sen makes the JPY stock value need rounding (850.5 × 41 = 34,870.5).
    SkuSpec("COAT-BLK-L", "P-COAT", Decimal("850.5"), Decimal("2000")),
    SkuSpec("TEE-WHT-S", "P-TEE", None, Decimal("1999")),
)
CHANNELS = (
    ("amazon", "Amazon", "amazon"),
    ("rakuten", "楽天市場店", "rakuten"),
    ("store", "Shibuya store", "store_pos"),
    ("web", "Own web shop", "own_web"),
)
LOCATIONS = (("SHIBUYA", "渋谷店", "store"), ("WH-TOKYO", "東京倉庫", "warehouse"))
STOCK = (
    ("COAT-BLK-M", "WH-TOKYO", 100),
    ("COAT-BLK-M", "SHIBUYA", 5),
    ("COAT-BLK-L", "WH-TOKYO", 41),
    ("TEE-WHT-S", "WH-TOKYO", 7),
)
LAST_ORDER_AT = dt.datetime(2024, 6, 30, 15, 0)
LINES = (
    LineSpec("web", "W-1", LAST_ORDER_AT, "COAT-BLK-M", 2, Decimal(3000), Decimal(500)),
    LineSpec("web", "W-1", LAST_ORDER_AT, "COAT-BLK-L", 1, Decimal(2000)),
    # The first and the last minute around the start of the 4-week window.
    LineSpec("web", "W-2", dt.datetime(2024, 6, 3, 0, 0), "COAT-BLK-M", 1, Decimal(3000)),
    LineSpec("web", "W-OLD", dt.datetime(2024, 6, 2, 23, 59), "COAT-BLK-M", 10, Decimal(3000)),
    LineSpec(
        "web",
        "W-R1",
        dt.datetime(2024, 6, 10, 11, 0),
        "COAT-BLK-M",
        1,
        Decimal(3000),
        Decimal(250),
        kind="return",
    ),
    LineSpec(
        "rakuten",
        "R-1",
        dt.datetime(2024, 6, 15, 9, 30),
        "TEE-WHT-S",
        3,
        Decimal(1999),
        Decimal(300),
    ),
    LineSpec("store", "S-1", dt.datetime(2024, 6, 20, 18, 45), "COAT-BLK-M", 1, Decimal(3000)),
)


def migrated_settings(data_dir: Path) -> tuple[Settings, Engine]:
    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings)
    migrate(engine)
    return settings, engine


def fill(engine: Engine) -> None:
    """Write the module's known rows into a migrated, empty store."""
    with session_scope(engine) as session:
        products = {code: Product(code=code, name=f"{code} name") for code in PRODUCTS}
        session.add_all(products.values())
        channels = {code: Channel(code=code, name=name, kind=kind) for code, name, kind in CHANNELS}
        session.add_all(channels.values())
        source = Source(name="conftest")
        session.add(source)
        session.flush()
        skus = {
            s.code: Sku(
                code=s.code,
                product_id=products[s.product].id,
                unit_cost=s.unit_cost,
                price=s.price,
            )
            for s in SKUS
        }
        locations = {
            code: Location(
                code=code,
                name=name,
                kind=kind,
                channel_id=channels["store"].id if kind == "store" else None,
            )
            for code, name, kind in LOCATIONS
        }
        session.add_all([*skus.values(), *locations.values()])
        session.flush()
        session.add_all(
            Balance(sku_id=skus[s].id, location_id=locations[loc].id, on_hand=units)
            for s, loc, units in STOCK
        )
        orders: dict[tuple[str, str], Order] = {}
        for row, line in enumerate(LINES, start=1):
            key = (line.channel, line.order)
            if key not in orders:
                orders[key] = Order(
                    channel_id=channels[line.channel].id, number=line.order, ordered_at=line.at
                )
                session.add(orders[key])
                session.flush()
            session.add(
                OrderLine(
                    order_id=orders[key].id,
                    source_id=source.id,
                    source_row=row,
                    kind=line.kind,
                    sku_id=skus[line.sku].id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount=line.discount,
                )
            )


@pytest.fixture(scope="module")
def known_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnownStore]:
    """A migrated store with the rows above, fresh for each test module."""
    settings, engine = migrated_settings(tmp_path_factory.mktemp("known"))
    fill(engine)
    yield KnownStore(settings, engine, PRODUCTS, SKUS, CHANNELS, LOCATIONS, STOCK, LINES)
    engine.dispose()


@pytest.fixture(scope="module")
def empty_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A migrated store with no rows at all, as after a first ``soko serve``."""
    settings, engine = migrated_settings(tmp_path_factory.mktemp("empty"))
    engine.dispose()
    return settings


def client_for(app: FastAPI, *scopes: Scope) -> TestClient:
    """A client with a token (``read`` unless other scopes are given) that answers 500s as
    the server would instead of re-raising into the test."""
    with app.state.store.engine.begin() as conn:
        token = create_token(conn, list(scopes) or [Scope.read])
    return TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture(scope="module")
def client(known_store: KnownStore) -> Iterator[TestClient]:
    with client_for(create_app(known_store.settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def empty_client(empty_settings: Settings) -> Iterator[TestClient]:
    with client_for(create_app(empty_settings)) as test_client:
        yield test_client
