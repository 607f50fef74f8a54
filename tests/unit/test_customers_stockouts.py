"""How often a purchase meets a stockout, from a stock history worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from soko.customers.stockouts import (
    StockHistory,
    purchase_stockout_probability,
    short_line_shares,
)

START = dt.date(2025, 1, 1)
MORNING, NOON, EVENING = 10 * 60, 12 * 60, 18 * 60


def day(n: int) -> dt.date:
    return START + dt.timedelta(days=n)


def one_sku_that_runs_out() -> StockHistory:
    """SKU A at L: 43 received on day 0; one line a day on days 0–29 (1 unit, but 6 on day 5
    and 4 on day 6; 10:00 on even days, 18:00 on odd), two on day 30 (1 unit at 10:00,
    then the last 4 at 12:00), none on days 31–39, 15 received on day 40 and one 1-unit
    line a day on days 40–49, 5 left at the count on day 49."""
    rows = []
    for n in [*range(30), *range(40, 50)]:
        size = {5: 6, 6: 4}.get(n, 1)
        rows.append((day(n), 1, float(size), EVENING if n % 2 else MORNING, size))
    rows.append((day(30), 2, 5.0, NOON, 4))
    sales = pl.DataFrame(
        rows,
        schema={
            "date": pl.Date,
            "lines": pl.Int64,
            "units": pl.Float64,
            "last_minute": pl.Int64,
            "last_quantity": pl.Int64,
        },
        orient="row",
    ).with_columns(pl.lit("A").alias("sku"), pl.lit("L").alias("location"))
    minutes = [EVENING if n % 2 else MORNING for n in [*range(30), *range(40, 50)]]
    minutes += [MORNING, NOON]
    return StockHistory(
        sales=sales,
        flows=pl.DataFrame(
            {"sku": ["A", "A"], "location": ["L", "L"], "date": [day(0), day(40)]}
        ).with_columns(pl.Series("units", [43.0, 15.0])),
        on_hand=pl.DataFrame({"sku": ["A"], "location": ["L"], "on_hand": [5]}),
        skus=pl.DataFrame(
            {"sku": ["A"], "category": ["tops"], "season_start": [None], "season_end": [None]},
            schema={
                "sku": pl.String,
                "category": pl.String,
                "season_start": pl.Date,
                "season_end": pl.Date,
            },
        ),
        line_sizes=pl.DataFrame({"sku": ["A"] * 3, "quantity": [1, 4, 6], "lines": [39, 2, 1]}),
        sale_minutes=pl.DataFrame({"location": "L", "minute": minutes})
        .group_by("location", "minute")
        .agg(pl.len().cast(pl.Int64).alias("lines")),
        count_day=day(49),
    )


def test_short_lines_count_days_out_the_lines_after_the_last_sale_and_a_cut_last_line() -> None:
    shares = short_line_shares(one_sku_that_runs_out()).row(0, named=True)
    # Days 31–39 end empty with no sale: 9 days at the clean days' mean around them, 1 a day.
    out_all_day = 9 * 1.0
    # Day 30 ran out at 12:00; 20 of the location's 42 lines are sold later in a day.
    after_the_last_sale = 1.0 * 20 / 42
    # The last line got the 4 left. Of the other lines, 2 of 41 want ≥ 4 and 1 wants > 4.
    last_line_cut = 1 / 2
    assert shares["location"] == "L"
    assert shares["lines"] == 42
    assert shares["lost_lines"] == pytest.approx(out_all_day + after_the_last_sale)
    assert shares["short_lines"] == pytest.approx(out_all_day + after_the_last_sale + last_line_cut)
    assert shares["short_share"] == pytest.approx(
        shares["short_lines"] / (42 + shares["lost_lines"])
    )


def test_a_season_that_ends_with_the_shelf_empty_is_off_sale_not_out() -> None:
    stock = one_sku_that_runs_out()
    seasonal = StockHistory(
        sales=stock.sales.filter(pl.col("date") <= day(30)),
        flows=stock.flows.filter(pl.col("date") == day(0)),
        on_hand=stock.on_hand.with_columns(pl.lit(0).alias("on_hand")),
        skus=stock.skus.with_columns(
            pl.lit(day(0)).alias("season_start"), pl.lit(day(30)).alias("season_end")
        ),
        line_sizes=stock.line_sizes,
        sale_minutes=stock.sale_minutes,
        count_day=day(49),
    )
    shares = short_line_shares(seasonal).row(0, named=True)
    assert shares["lost_lines"] == pytest.approx(1.0 * 20 / 42)  # only day 30 is out


def test_a_purchase_meets_a_stockout_unless_every_line_was_served() -> None:
    shares = pl.DataFrame(
        {
            "location": ["WH", "SHOP"],
            "lines": [90.0, 10.0],
            "lost_lines": [0.0, 0.0],
            "short_lines": [9.0, 2.0],
            "short_share": [0.1, 0.2],
        }
    )
    lines = pl.DataFrame(
        {
            "customer_id": ["c1", "c1", "c1", "c2"],
            "date": [day(0), day(0), day(3), day(1)],
            "location": ["WH", "SHOP", "WH", None],
        }
    )
    met = purchase_stockout_probability(lines, shares)
    first = 1 - 0.9 * 0.8  # two lines on one day: one purchase
    assert met.row(0, named=True) == {
        "customer_id": "c1",
        "purchases": 2,
        "meets_stockout": pytest.approx((first + 0.1) / 2),
    }
    # A line without a location takes the share of all lines, 11 of 100.
    assert met.row(1, named=True)["meets_stockout"] == pytest.approx(0.11)


def test_a_store_without_located_sales_has_no_shares() -> None:
    stock = one_sku_that_runs_out()
    unlocated = StockHistory(
        sales=stock.sales.with_columns(pl.lit(None, pl.String).alias("location")),
        flows=stock.flows,
        on_hand=stock.on_hand,
        skus=stock.skus,
        line_sizes=stock.line_sizes,
        sale_minutes=stock.sale_minutes,
        count_day=day(49),
    )
    assert short_line_shares(unlocated).is_empty()
