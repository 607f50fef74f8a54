"""Claim: the customer-value stage of a plan run (``shortage_costs``) on the large preset, with
the stockout-lapse model's parts timed apart, and the sale lines read from the driver's values
against SQLAlchemy's value-by-value conversion.

Loads the large preset (≈25 min on the shared machine, ≈3 GB) into a fresh SQLite store, or
reuses the store in ``$SOKO_BENCH_DIR`` when it already holds data
(``SOKO_BENCH_PRESET=medium`` for a shorter run). Prints wall-clock and CPU seconds: on a
machine shared with other jobs the CPU seconds are the steadier figure.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import polars as pl
from sqlalchemy import select

from soko.data.demo import generate_into_store, store_is_empty
from soko.insight import customer_value as cv
from soko.settings import Settings
from soko.store.db import make_engine, migrate
from soko.store.tables import Channel, Customer, Order, OrderLine, Product, Sku

PRESET = os.environ.get("SOKO_BENCH_PRESET", "large")


class Clock:
    """Wall and CPU seconds since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def show(label: str, seconds: tuple[float, float]) -> None:
    print(f"  {label:<40} {seconds[0]:7.1f} s wall {seconds[1]:7.1f} s CPU")


def sale_line_read(settings: Settings) -> None:
    """The customers' sale lines, as ``load_customer_data`` selects them, read both ways."""
    line_query = (
        select(
            Order.id,
            Customer.code,
            Channel.code,
            Order.ordered_at,
            Sku.code,
            Product.code,
            Product.category,
            OrderLine.quantity,
            OrderLine.unit_price,
            OrderLine.discount,
            OrderLine.sku_id,
            OrderLine.location_id,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Customer, Customer.id == Order.customer_id)
        .join(Channel, Channel.id == Order.channel_id)
        .join(Sku, Sku.id == OrderLine.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(OrderLine.kind == "sale")
    )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "order_id": pl.Int64,
        "customer_id": pl.String,
        "channel": pl.String,
        "ordered_at": pl.Datetime("us"),
        "sku": pl.String,
        "product_code": pl.String,
        "category": pl.String,
        "quantity": pl.Int64,
        "unit_price": pl.Float64,
        "discount": pl.Float64,
        "sku_id": pl.Int64,
        "location_id": pl.Int64,
    }
    engine = make_engine(settings)
    clock = Clock()
    with engine.connect() as conn:
        rows = conn.execute(line_query).all()
        converted = pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")
    del rows
    show(f"sale lines through SQLAlchemy ({converted.height:,})", clock.lap())
    with engine.connect() as conn:
        direct = cv._read(conn, line_query, schema)
    show("sale lines from the driver's values", clock.lap())
    assert direct.equals(converted)
    engine.dispose()


def main() -> None:
    folder = Path(os.environ.get("SOKO_BENCH_DIR") or tempfile.mkdtemp(prefix="soko-cv-"))
    settings = Settings(data_dir=folder)
    engine = make_engine(settings)
    migrate(engine)
    if store_is_empty(settings):
        start = time.perf_counter()
        generate_into_store(settings, PRESET, 1)
        print(f"loaded the {PRESET} preset in {time.perf_counter() - start:.1f} s ({folder})")
    print(f"customer value, {PRESET} preset")
    total = Clock()
    clock = Clock()
    data = cv.load_customer_data(engine)
    show("reading the store", clock.lap())
    stages: list[tuple[str, tuple[float, float]]] = []
    current: list[str] = []

    def step(label: str) -> None:
        seconds = clock.lap()
        if current:
            stages.append((current.pop(), seconds))
        current.append(label)

    models = cv.fit_customer_models(data, step=step)
    stages.append((current.pop(), clock.lap()))
    for label, seconds in stages:
        show(label, seconds)
    cv.shortage_costs(engine, data=data, models=models)
    show("exposure and shortage costs", clock.lap())
    show("the stage in all", total.lap())
    churn = models.churn
    if churn is not None:
        print(
            f"  {models.summary.height:,} customers: dropout of all causes "
            f"{churn.dropout_all_causes:.4f}, natural {churn.natural_dropout:.4f}; "
            f"{churn.meets_stockout:.1%} of purchases meet a stockout; of "
            f"{churn.customers_lost:,.0f} customers lost, {churn.share_from_stockouts:.1%} "
            "to stockouts"
        )
    engine.dispose()
    sale_line_read(settings)


if __name__ == "__main__":
    main()
