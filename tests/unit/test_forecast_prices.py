"""Own-price elasticity measured from list-price moves, the price index, and the store
forecast after a price rise, on simulated sales whose true elasticity is known."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import polars as pl
import pytest

from soko.forecast.prices import elasticities, price_index, relative_prices
from soko.forecast.service import StoreHistory, build_history, forecast_history

START = dt.date(2025, 1, 1)
DAYS = 420
AS_OF = START + dt.timedelta(days=DAYS)
TRUE = {"bags": -0.8, "food": -2.2}  # demand ∝ price^ε
STEPS = (0.8, 0.9, 1.15, 1.25)


def _simulate(
    seed: int, *, skus: int = 60, recent: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Per category ``skus`` SKUs selling Poisson(level × season × (p/p₀)^ε) a day; half
    of them change their list price once, on a day from 60 to 360; with ``recent``, a
    quarter change it in the last 15 to 40 days instead. Returns (demand: sku, ds, y,
    active; prices on sale days: sku, ds, price; catalogue: sku, category; truth of the
    mean demand per SKU and day)."""
    rng = np.random.default_rng(seed)
    ds = pl.date_range(START, AS_OF - dt.timedelta(days=1), eager=True)
    t = np.arange(DAYS)
    demand, prices, catalogue, truth = [], [], [], []
    for category, eps in TRUE.items():
        season = 1 + 0.4 * np.sin(2 * np.pi * (t + rng.uniform(0, 365)) / 365)
        for i in range(skus):
            sku = f"{category}-{i:02d}"
            price = np.full(DAYS, 1000.0)
            if i % 2 == 0:
                price[int(rng.integers(60, 360)) :] *= rng.choice(STEPS)
            elif recent and i % 4 == 1:
                price[int(rng.integers(DAYS - 40, DAYS - 15)) :] *= rng.choice(STEPS)
            mu = rng.uniform(0.3, 4.0) * season * (price / 1000.0) ** eps
            y = rng.poisson(mu).astype(np.float64)
            sold = y > 0
            demand.append(pl.DataFrame({"sku": sku, "ds": ds, "y": y, "active": True}))
            prices.append(pl.DataFrame({"sku": sku, "ds": ds.filter(sold), "price": price[sold]}))
            catalogue.append({"sku": sku, "category": category})
            truth.append(pl.DataFrame({"sku": sku, "ds": ds, "mu": mu}))
    return (
        pl.concat(demand),
        pl.concat(prices),
        pl.DataFrame(catalogue),
        pl.concat(truth),
    )


def test_each_categorys_elasticity_is_recovered_from_its_price_moves() -> None:
    """Two categories, 30 moves each, against a season the whole category shares."""
    demand, prices, catalogue, _ = _simulate(11)
    by_category, overall, moves = elasticities(demand, prices, catalogue)
    found = dict(by_category.select("category", "elasticity").iter_rows())
    print(f"\nelasticity: {found} over {moves} moves (truth {TRUE}), store-wide {overall:.2f}")
    assert moves == 60
    for category, eps in TRUE.items():
        assert found[category] == pytest.approx(eps, abs=0.4)
    # The categories differ by more than their sampling error: they are not pooled to one.
    assert found["food"] < found["bags"] - 0.8


def test_without_price_moves_price_moves_nothing() -> None:
    demand, prices, catalogue, _ = _simulate(3, skus=10)
    steady = prices.with_columns(pl.lit(1000.0).alias("price"))
    by_category, overall, moves = elasticities(demand, steady, catalogue)
    assert (moves, overall, by_category.height) == (0, 0.0, 0)
    assert relative_prices(steady, first=START, last=AS_OF - dt.timedelta(days=1)).height == 0


def test_the_index_puts_the_past_at_the_last_price() -> None:
    """A 25 % rise sold first on day 130: the days before sold (1/1.25)^−2 = 1.5625 times
    today's level. Days without sales keep the price of the last sale (days 100 to 129
    still at 1000), and the days before the first sale take the first price."""
    sale_days = [START + dt.timedelta(days=d) for d in (10, 40, 99, 130, 199)]
    prices = pl.DataFrame(
        {"sku": "A", "ds": sale_days, "price": [1000.0, 1000.0, 1000.0, 1250.0, 1250.0]}
    )
    relative = relative_prices(prices, first=START, last=START + dt.timedelta(days=199))
    index = price_index(relative, pl.DataFrame({"sku": ["A"], "elasticity": [-2.0]}))
    assert index["ds"].to_list() == [START + dt.timedelta(days=d) for d in range(130)]
    assert index["pidx"].to_numpy() == pytest.approx(np.full(130, 1.25**2))


def _store(seed: int) -> tuple[StoreHistory, pl.DataFrame]:
    """The simulation as the store would hold it: one location and channel, stock always
    on hand."""
    demand, prices, catalogue, truth = _simulate(seed, skus=40, recent=True)
    lines = demand.filter(pl.col("y") > 0).select(
        "sku",
        pl.lit("WH").alias("location"),
        pl.lit("web").alias("channel"),
        "ds",
        pl.lit("sale").alias("kind"),
        pl.col("y").alias("units"),
    )
    cat = catalogue.with_columns(
        pl.lit("staple").alias("item_type"),
        pl.lit(None, dtype=pl.Date).alias("season_start"),
        pl.lit(None, dtype=pl.Date).alias("season_end"),
        pl.lit(1000.0).alias("price"),
    )
    balances = catalogue.select(
        "sku",
        pl.lit("WH").alias("location"),
        pl.lit(10_000).alias("on_hand"),
        pl.lit(AS_OF - dt.timedelta(days=1)).alias("counted_at"),
    )
    none = pl.DataFrame()
    history = build_history(lines, cat, none, none, balances, none, none, as_of=AS_OF)
    return dataclasses.replace(history, prices=prices), truth


def _recent_moves(seed: int, horizon: int = 28) -> pl.DataFrame:
    """Per SKU that moved price in the last 15 to 40 days: ``step`` (log new ÷ old), the
    next ``horizon`` days' true mean units and the forecast with and without prices."""
    store, truth = _store(seed)
    # The truth holds the price of the last day over the horizon.
    ahead = truth.filter(pl.col("ds") == AS_OF - dt.timedelta(days=1)).select(
        "sku", (pl.col("mu") * horizon).alias("truth")
    )
    steps = (
        store.prices.sort("ds")
        .group_by("sku")
        .agg((pl.col("price").last() / pl.col("price").first()).log().alias("step"))
    )
    with_prices = forecast_history(store, horizon_days=horizon)
    blind = forecast_history(
        dataclasses.replace(store, prices=store.prices.clear()), horizon_days=horizon
    )
    recent = pl.col("sku").str.extract(r"-(\d+)$").cast(pl.Int64) % 4 == 1
    return (
        ahead.filter(recent)
        .join(steps, on="sku")
        .join(with_prices.daily.group_by("sku").agg(pl.col("mean").sum().alias("price")), on="sku")
        .join(blind.daily.group_by("sku").agg(pl.col("mean").sum().alias("blind")), on="sku")
        .with_columns((pl.col("price") / pl.col("blind")).log().alias("shift"))
    )


def test_after_a_recent_price_move_the_forecast_moves_toward_the_new_level() -> None:
    """A quarter of the SKUs moved price in the last 15 to 40 days, most too late for their
    own effect to be measured: the elasticity their category showed in older moves (−0.8 or
    −2.2) takes their history to today's price. After a rise the forecast comes down, after
    a cut it goes up, and over three simulations the next 28 days come nearer the true
    mean demand."""
    table = pl.concat([_recent_moves(seed) for seed in (1, 2, 3)])
    errors = {
        name: float(table.select((pl.col(name) - pl.col("truth")).abs().mean()).item())
        for name in ("price", "blind")
    }
    rises = table.filter(pl.col("step") > 0)["shift"].mean()
    cuts = table.filter(pl.col("step") < 0)["shift"].mean()
    print(
        f"\n{table.height} SKUs that moved price lately, 28-day units, mean absolute error: "
        f"with the price index {errors['price']:.2f}, without {errors['blind']:.2f}; "
        f"forecast moved {rises:+.3f} (log) after rises, {cuts:+.3f} after cuts"
    )
    assert isinstance(rises, float)
    assert isinstance(cuts, float)
    assert rises < 0 < cuts
    assert errors["price"] < errors["blind"]
