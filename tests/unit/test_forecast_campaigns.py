"""Campaign lifts measured from sales, the campaign index, and exogenous features in the
public forecast, on simulated sales whose true lifts are known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from soko.forecast import ForecastInputError, forecast
from soko.forecast.features import (
    base_channel_shares,
    campaign_features,
    campaign_index,
    campaign_split,
    campaign_uplifts,
    channel_lifts,
)

START = dt.date(2025, 1, 1)
DAYS = 200
AS_OF = START + dt.timedelta(days=DAYS)
SALE_FIRST, SALE_LAST = START + dt.timedelta(days=100), START + dt.timedelta(days=106)
PLANNED_FIRST = AS_OF + dt.timedelta(days=10)
TRAFFIC, DISCOUNT_EFFECT = 2.0, 2.0  # a covered SKU sells 4× on the sale's channel
SKUS = [f"S{i:02d}" for i in range(40)]
COVERED = SKUS[:20]


def _campaigns() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "campaign_code": ["SALE-1", "SALE-2", "NEWKIND"],
            "channel": ["mall", "mall", "mall"],
            "kind": ["marketplace_sale", "marketplace_sale", "flash"],
            "starts_on": [SALE_FIRST, PLANNED_FIRST, PLANNED_FIRST + dt.timedelta(days=30)],
            "ends_on": [
                SALE_LAST,
                PLANNED_FIRST + dt.timedelta(days=6),
                PLANNED_FIRST + dt.timedelta(days=31),
            ],
            "discount_pct": [20.0, 20.0, 50.0],
        }
    )


def _coverage() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "campaign_code": ["SALE-1"] * 20 + ["SALE-2"] * 20 + ["NEWKIND"] * 20,
            "sku": COVERED * 3,
        }
    )


def _sales(seed: int = 5) -> pl.DataFrame:
    """Each SKU sells 6 a day on its own shop and 2 on the mall; the mall's sale lifts
    the mall's traffic (every SKU) and the covered SKUs again through the discount."""
    rng = np.random.default_rng(seed)
    days = pl.date_range(START, AS_OF - dt.timedelta(days=1), eager=True)
    on_sale = ((days >= SALE_FIRST) & (days <= SALE_LAST)).to_numpy()
    rows = []
    for sku in SKUS:
        lift = np.where(on_sale, TRAFFIC * (DISCOUNT_EFFECT if sku in COVERED else 1.0), 1.0)
        for channel, rate in (("web", 6.0), ("mall", 2.0)):
            mu = rate * (lift if channel == "mall" else 1.0)
            rows.append(
                pl.DataFrame(
                    {"sku": sku, "channel": channel, "ds": days, "y": rng.poisson(mu) * 1.0}
                )
            )
    return pl.concat(rows).filter(pl.col("y") > 0)


def test_a_past_sales_lift_is_measured_for_covered_and_other_skus() -> None:
    uplifts = campaign_uplifts(_sales(), _campaigns(), _coverage(), as_of=AS_OF)
    past = uplifts.filter(pl.col("campaign_code") == "SALE-1")
    lift = {row["group"]: row["uplift"] for row in past.iter_rows(named=True)}
    assert past["measured"].all()
    assert lift["covered"] == pytest.approx(TRAFFIC * DISCOUNT_EFFECT, rel=0.12)
    assert lift["other"] == pytest.approx(TRAFFIC, rel=0.12)


def test_a_planned_campaign_takes_its_kinds_lift_and_an_unknown_kind_none() -> None:
    uplifts = campaign_uplifts(_sales(), _campaigns(), _coverage(), as_of=AS_OF)
    past = uplifts.filter(pl.col("campaign_code") == "SALE-1").sort("group")
    planned = uplifts.filter(pl.col("campaign_code") == "SALE-2").sort("group")
    assert not planned["measured"].any()
    assert planned["uplift"].to_list() == past["uplift"].to_list()
    unknown = uplifts.filter(pl.col("campaign_code") == "NEWKIND")
    assert unknown["uplift"].to_list() == [1.0, 1.0]


def test_the_index_weights_the_channel_lift_by_the_skus_channel_mix() -> None:
    sales = _sales()
    campaigns = _campaigns()
    uplifts = campaign_uplifts(sales, campaigns, _coverage(), as_of=AS_OF)
    shares = base_channel_shares(sales, campaigns, pl.Series(SKUS), as_of=AS_OF)
    mall = shares.filter(pl.col("channel") == "mall")["share"]
    # Taken on days without a campaign, the mall's share is its base 2 of 8 units.
    assert float(mall.mean()) == pytest.approx(0.25, abs=0.02)  # type: ignore[arg-type]
    lifts = channel_lifts(
        uplifts,
        campaigns,
        _coverage(),
        pl.Series(SKUS),
        ["mall", "web"],
        first=START,
        last=AS_OF + dt.timedelta(days=60),
    )
    index = campaign_index(lifts, shares)
    planned = index.filter(pl.col("ds") == PLANNED_FIRST)
    covered = planned.filter(pl.col("sku").is_in(COVERED))["cidx"]
    other = planned.filter(~pl.col("sku").is_in(COVERED))["cidx"]
    # 0.75 + 0.25 × 4 for a covered SKU, 0.75 + 0.25 × 2 for the others.
    assert float(covered.mean()) == pytest.approx(1.75, rel=0.08)  # type: ignore[arg-type]
    assert float(other.mean()) == pytest.approx(1.25, rel=0.05)  # type: ignore[arg-type]
    assert index.filter(pl.col("ds") == PLANNED_FIRST - dt.timedelta(days=1)).height == 0


def test_on_a_sale_day_the_split_moves_toward_the_location_that_ships_the_sales_channel() -> None:
    # SKU A: half its units from the warehouse (web 0.3, mall 0.2), half from a store.
    mix = pl.DataFrame(
        {
            "sku": ["A", "A", "A"],
            "location": ["WH", "WH", "STORE"],
            "channel": ["web", "mall", "pos"],
            "share": [0.3, 0.2, 0.5],
        }
    )
    plain = pl.DataFrame({"sku": ["A", "A"], "location": ["WH", "STORE"], "share": [0.5, 0.5]})
    lifts = pl.DataFrame(
        {"sku": ["A"], "channel": ["mall"], "ds": [PLANNED_FIRST], "uplift": [6.0]}
    )
    split = campaign_split(plain, mix, lifts).sort("location")
    # The mall's 0.2 becomes 1.2: WH 1.5 of 2.0, the store 0.5 of 2.0.
    assert split["location"].to_list() == ["STORE", "WH"]
    assert split["share"].to_list() == pytest.approx([0.25, 0.75])
    assert split["ds"].to_list() == [PLANNED_FIRST] * 2


def test_features_give_the_channel_share_on_covered_days_and_the_weighted_discount() -> None:
    shares = pl.DataFrame(
        {"sku": ["A", "A", "B", "B"], "channel": ["web", "mall"] * 2, "share": [0.6, 0.4] * 2}
    )
    campaigns = _campaigns().head(1)
    coverage = pl.DataFrame({"campaign_code": ["SALE-1"], "sku": ["A"]})
    feats = campaign_features(campaigns, coverage, shares, first=START, last=AS_OF)
    assert set(feats["sku"]) == {"A"}
    assert feats.height == 7
    assert feats["campaign_mall"].to_list() == [0.4] * 7
    assert feats["campaign_web"].to_list() == [0.0] * 7
    assert feats["discount"].to_list() == pytest.approx([0.4 * 0.2] * 7)


def _promo_history(days: int = 430, n: int = 30, seed: int = 3) -> pl.DataFrame:
    """Poisson series that sell 4× on promotion days (5 of every 45), weekly rhythm."""
    rng = np.random.default_rng(seed)
    ds = pl.date_range(START, START + dt.timedelta(days=days + 27), eager=True)
    promo = (np.arange(days + 28) % 45 < 5).astype(float)
    week = np.array([0.8, 0.8, 0.9, 1.0, 1.1, 1.5, 0.9])[np.arange(days + 28) % 7]
    frames = []
    for i in range(n):
        mu = rng.uniform(1.0, 8.0) * week * (1 + 3 * promo)
        frames.append(
            pl.DataFrame(
                {"unique_id": f"s{i}", "ds": ds, "y": rng.poisson(mu) * 1.0, "promo": promo}
            )
        )
    return pl.concat(frames)


def test_an_exogenous_promotion_in_x_future_raises_the_forecast_on_its_days() -> None:
    full = _promo_history()
    cut = full["ds"].max() - dt.timedelta(days=28)  # type: ignore[operator]
    history = full.filter(pl.col("ds") <= cut)
    future = full.filter(pl.col("ds") > cut).drop("y")
    out = forecast(history, 28, X_future=future)
    # The promotion pays, so the global model wins the classes with enough series to judge.
    chosen = out.group_by("unique_id").agg(pl.col("model").first())["model"]
    assert (chosen == "LightGBM").mean() >= 0.8, chosen.value_counts()
    joined = out.join(full, on=["unique_id", "ds"])
    by_promo = {
        row["promo"]: row
        for row in joined.group_by("promo")
        .agg(pl.col("mean").mean(), pl.col("y").mean())
        .iter_rows(named=True)
    }
    assert by_promo[1.0]["mean"] == pytest.approx(by_promo[1.0]["y"], rel=0.15)
    assert by_promo[1.0]["mean"] > 3 * by_promo[0.0]["mean"]
    plain = forecast(history.drop("promo"), 28).join(full, on=["unique_id", "ds"])
    errors = [
        float(frame.select((pl.col("mean") - pl.col("y")).abs().mean()).item())
        for frame in (joined, plain)
    ]
    assert errors[0] < errors[1]


def test_exogenous_columns_without_their_future_are_refused_by_name() -> None:
    history = _promo_history(days=120, n=2)
    with pytest.raises(ForecastInputError, match=r"promo.*X_future"):
        forecast(history, 7)


def test_a_future_missing_a_day_is_refused_naming_the_series_and_day() -> None:
    full = _promo_history(days=120, n=2)
    cut = full["ds"].max() - dt.timedelta(days=28)  # type: ignore[operator]
    future = full.filter(pl.col("ds") > cut).drop("y")
    gap = cut + dt.timedelta(days=3)
    holed = future.filter(~((pl.col("unique_id") == "s1") & (pl.col("ds") == gap)))
    with pytest.raises(ForecastInputError, match=f"'s1' on {gap}"):
        forecast(full.filter(pl.col("ds") <= cut), 7, X_future=holed)


def test_a_text_feature_is_refused() -> None:
    full = _promo_history(days=120, n=2).with_columns(pl.lit("yes").alias("promo"))
    cut = full["ds"].max() - dt.timedelta(days=28)  # type: ignore[operator]
    with pytest.raises(ForecastInputError, match="'promo' must hold numbers"):
        forecast(
            full.filter(pl.col("ds") <= cut), 7, X_future=full.filter(pl.col("ds") > cut).drop("y")
        )
