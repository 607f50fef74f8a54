"""The public forecast API in the Nixtla layout, on simulated series whose truth is known."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from soko.forecast import ForecastInputError, forecast


def _poisson_history(days: int = 400, seed: int = 7) -> pl.DataFrame:
    """Two smooth weekly series and one intermittent one, Poisson around a known mean."""
    rng = np.random.default_rng(seed)
    start = dt.date(2025, 1, 6)  # a Monday
    weekday = np.array([0.8, 0.8, 0.9, 1.0, 1.1, 1.5, 0.9])
    rows = []
    for uid, level in (("fast", 12.0), ("medium", 4.0), ("slow", 0.15)):
        mu = level * weekday[np.arange(days) % 7]
        rows.append(
            pl.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pl.date_range(start, start + dt.timedelta(days=days - 1), eager=True),
                    "y": rng.poisson(mu).astype(np.int64),
                }
            )
        )
    return pl.concat(rows)


def test_forecast_returns_the_nixtla_columns_with_whole_bounds_around_the_mean() -> None:
    history = _poisson_history()
    out = forecast(history, 28, levels=(80, 95))
    assert isinstance(out, pl.DataFrame)
    assert out.columns == ["unique_id", "ds", "mean", "lo-80", "hi-80", "lo-95", "hi-95", "model"]
    assert out.group_by("unique_id").len()["len"].to_list() == [28, 28, 28]
    first = out["ds"].min()
    assert first == history["ds"].max() + dt.timedelta(days=1)  # type: ignore[operator]
    bounds = out.select("lo-80", "hi-80", "lo-95", "hi-95").to_numpy()
    assert np.all(bounds == np.round(bounds)), "counts in, whole-number bounds out"
    assert (out["lo-95"] <= out["lo-80"]).all()
    assert (out["hi-80"] <= out["hi-95"]).all()
    assert (out["lo-80"] <= out["mean"] + 1).all()
    assert (out["mean"] <= out["hi-80"]).all()


def test_forecast_mean_is_near_the_true_weekly_level() -> None:
    out = forecast(_poisson_history(), 28)
    weekly = out.group_by("unique_id").agg(pl.col("mean").sum() / 4)
    truth = {"fast": 12.0 * 7, "medium": 4.0 * 7, "slow": 0.15 * 7}
    for uid, units in weekly.iter_rows():
        assert units == pytest.approx(truth[uid], rel=0.25, abs=0.6), uid


def test_weekday_rhythm_is_kept() -> None:
    out = forecast(_poisson_history(), 28).filter(pl.col("unique_id") == "fast")
    by_day = out.group_by(pl.col("ds").dt.weekday()).agg(pl.col("mean").mean()).sort("ds")
    saturday, monday = by_day["mean"][5], by_day["mean"][0]
    assert saturday > 1.4 * monday  # true ratio 1.5 / 0.8


def test_pandas_in_gives_pandas_out() -> None:
    pdf = _poisson_history().to_pandas()
    out = forecast(pdf, 7, levels=(90,))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["unique_id", "ds", "mean", "lo-90", "hi-90", "model"]
    assert pd.api.types.is_datetime64_any_dtype(out["ds"])


def test_eighty_percent_interval_covers_about_eighty_percent_of_new_days() -> None:
    full = _poisson_history(days=428, seed=11)
    cut = full["ds"].max() - dt.timedelta(days=28)  # type: ignore[operator]
    out = forecast(full.filter(pl.col("ds") <= cut), 28, levels=(80,))
    joined = out.join(full, on=["unique_id", "ds"])
    inside = ((joined["y"] >= joined["lo-80"]) & (joined["y"] <= joined["hi-80"])).mean()
    assert inside is not None
    assert 0.75 <= inside <= 1.0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"unique_id": ["a"], "ds": [dt.date(2025, 1, 1)]}), "lacks column"),
        (
            pl.DataFrame({"unique_id": ["a"], "ds": [dt.date(2025, 1, 1)], "y": [-1.0]}),
            "'a' on 2025-01-01",
        ),
        (
            pl.DataFrame(
                {"unique_id": ["a", "a"], "ds": [dt.date(2025, 1, 1)] * 2, "y": [1.0, 2.0]}
            ),
            "twice",
        ),
    ],
)
def test_bad_history_is_refused_with_what_and_where(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ForecastInputError, match=message):
        forecast(frame, 7)


def test_unknown_frequency_and_exogenous_columns_are_refused() -> None:
    history = _poisson_history(days=120)
    with pytest.raises(ForecastInputError, match="freq"):
        forecast(history, 7, freq="H")
    with pytest.raises(ForecastInputError, match="exogenous"):
        forecast(history.with_columns(pl.lit(1.0).alias("price")), 7)


def test_weekly_series_are_forecast_on_their_own_weekday_at_the_weekly_level() -> None:
    daily = _poisson_history(days=700)
    weekly = (
        daily.group_by("unique_id", pl.col("ds").dt.truncate("1w"))
        .agg(pl.col("y").sum())
        .sort("unique_id", "ds")
    )
    out = forecast(weekly, 8, freq="W", levels=(80,))
    last = weekly["ds"].max()
    assert out["ds"].min() == last + dt.timedelta(days=7)  # type: ignore[operator]
    assert set(out["ds"].dt.weekday().to_list()) == {1}, "Mondays in, Mondays out"
    fast = out.filter(pl.col("unique_id") == "fast")["mean"].mean()
    assert fast == pytest.approx(12.0 * 7, rel=0.15)
