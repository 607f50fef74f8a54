"""Demand per plan line from a daily forecast: the protection interval and the season's rest."""

from __future__ import annotations

import datetime as dt

import polars as pl

from soko.planning.run import demand_per_line

START = dt.date(2026, 11, 1)


def _catalogue(*, season_start: dt.date | None, season_end: dt.date | None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sku": ["A"],
            "sku_id": [1],
            "seasonal": [season_end is not None],
            "season_start": [season_start],
            "season_end": [season_end],
            "review_days": [7],
            "lead_mean": [10.0],
        },
        schema_overrides={"season_start": pl.Date, "season_end": pl.Date},
    )


def _daily(days: int, mean: list[float], sd: float) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sku": ["A"] * days,
            "location": ["WH"] * days,
            "ds": [START + dt.timedelta(days=i) for i in range(days)],
            "mean": mean,
            "sd": [sd] * days,
        }
    )


def test_a_staple_line_averages_the_forecast_over_review_plus_lead_time() -> None:
    # 17 days of protection (7 + 10): the first 17 days at 1/day, then 5/day afterwards.
    daily = _daily(30, [1.0] * 17 + [5.0] * 13, sd=2.0)
    out = demand_per_line(daily, _catalogue(season_start=None, season_end=None), {"WH": 9}, START)
    row = out.row(0, named=True)
    assert row["daily_mean"] == 1.0
    assert row["daily_sd"] == 2.0
    assert row["location_id"] == 9


def test_a_season_longer_than_the_forecast_is_extended_at_its_in_season_rate() -> None:
    # Season starts on day 5 and ends 10 days after the forecast's last day (day 30).
    season_start = START + dt.timedelta(days=4)
    season_end = START + dt.timedelta(days=39)
    mean = [0.0] * 4 + [2.0] * 26
    daily = _daily(30, mean, sd=1.0)
    out = demand_per_line(
        daily, _catalogue(season_start=season_start, season_end=season_end), {"WH": 9}, START
    )
    row = out.row(0, named=True)
    assert row["season_mean"] == 26 * 2.0 + 10 * 2.0
    # variances add: 30 forecast days at 1 plus 10 extended in-season days at 1
    assert abs(row["season_sd"] ** 2 - 40.0) < 1e-9
    assert abs(row["forecast_share"] - 30 / 40) < 1e-12


def test_waiting_preorders_are_spread_over_the_locations_receiving_stock() -> None:
    from soko.planning.run import split_backorders

    incoming = {(1, 10): 30, (1, 20): 10, (2, 10): 5}
    out = split_backorders({1: 7, 2: 3, 3: 4}, incoming)
    assert out[(1, 10)] + out[(1, 20)] == 7  # every waiting unit counted once
    assert out[(1, 10)] == 5  # 7 × 30/40 = 5.25
    assert out[(1, 20)] == 2  # 7 × 10/40 = 1.75, the larger remainder
    assert out[(2, 10)] == 3
    assert not any(sku == 3 for sku, _ in out)  # nothing incoming: nothing to split
