"""Acceptance on real retail data: the M5 competition's store-item series (Makridakis,
Spiliotis & Assimakopoulos 2022), forecasting the 28 days after d_1913 from d_1..d_1913.

FOODS_3 at TX_3 (823 items; truth in the validation file) and HOBBIES_2 at CA_3 (149
items; truth d_1914..d_1941 of its own file). Soko's chosen forecast must beat seasonal
naive and simple exponential smoothing on mean RMSSE, and its 80 % interval must cover at
least 80 % of the outcomes with a lower scaled pinball loss than AutoETS's normal
intervals. AutoETS (weekly season) is fitted on the last year only, because on the full
five years it takes minutes (its state adapts to the recent level anyway); the two
baselines get the full history, as in the competition.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import pytest
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, SeasonalNaive, SimpleExponentialSmoothingOptimized

from soko.forecast.core import quantile_column, run
from soko.forecast.metrics import naive_scales, rmsse, scaled_pinball

M5 = Path(__file__).resolve().parents[3] / "shared" / "refdata" / "m5"
DAY_ONE = dt.date(2011, 1, 29)
LAST_TRAIN = 1913
H = 28
ETS_DAYS = 364

pytestmark = [pytest.mark.refdata, pytest.mark.slow, pytest.mark.xdist_group("forecast_m5")]


def _long(wide: pl.DataFrame) -> pl.DataFrame:
    day_cols = [c for c in wide.columns if c.startswith("d_")]
    return (
        wide.unpivot(index="id", on=day_cols, variable_name="d", value_name="y")
        .with_columns(pl.col("d").str.slice(2).cast(pl.Int64))
        .select(
            pl.col("id").alias("unique_id"),
            (pl.lit(DAY_ONE) + pl.duration(days=pl.col("d") - 1)).alias("ds"),
            pl.col("d"),
            pl.col("y").cast(pl.Float64),
        )
    )


def _subset(name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(train d_1..d_1913, truth d_1914..d_1941) of an M5 subset, long."""
    if name == "foods3_tx3":
        folder = M5 / "foods3_tx3"
        train = _long(pl.read_csv(folder / "sales_train_validation_afcs2025.csv.gz"))
        truth = _long(pl.read_csv(folder / "sales_test_validation_afcs2025.csv.gz"))
    else:
        full = _long(pl.read_csv(M5 / "hobbies2_ca3" / "sales_train_evaluation_afcs2020.csv.gz"))
        train = full.filter(pl.col("d") <= LAST_TRAIN)
        truth = full.filter((pl.col("d") > LAST_TRAIN) & (pl.col("d") <= LAST_TRAIN + H))
    return train.drop("d"), truth.drop("d")


def _baselines(train: pl.DataFrame) -> pl.DataFrame:
    pdf = train.to_pandas()
    pdf["ds"] = pd.to_datetime(pdf["ds"])
    models = [SeasonalNaive(season_length=7), SimpleExponentialSmoothingOptimized(alias="SES")]
    out = StatsForecast(models=models, freq="D").forecast(df=pdf, h=H)
    recent = pdf[pdf["ds"] > pdf["ds"].max() - pd.Timedelta(days=ETS_DAYS)]
    ets = StatsForecast(models=[AutoETS(season_length=7)], freq="D").forecast(
        df=recent, h=H, level=[80]
    )
    frame = pl.from_pandas(out.merge(ets, on=["unique_id", "ds"]))
    return frame.with_columns(pl.col("ds").cast(pl.Date))


@pytest.fixture(scope="module", params=["foods3_tx3", "hobbies2_ca3"])
def m5_scores(request: pytest.FixtureRequest) -> dict[str, float]:
    folder = M5 / request.param
    if not folder.exists():
        pytest.skip(f"M5 reference data not found at {folder}")
    train, truth = _subset(request.param)
    started = time.perf_counter()
    result = run(train, H, quantiles=(0.1, 0.5, 0.9))
    soko_seconds = time.perf_counter() - started
    ours = result.forecast.with_columns(
        (pl.col(quantile_column(0.1)) + 1e-9).floor().alias("lo"),
        pl.col(quantile_column(0.5)).round().alias("med"),
        (pl.col(quantile_column(0.9)) - 1e-9).ceil().alias("hi"),
    )
    table = (
        truth.join(
            ours.select("unique_id", "ds", "mean", "lo", "med", "hi"), on=["unique_id", "ds"]
        )
        .join(_baselines(train), on=["unique_id", "ds"])
        .with_columns(
            pl.col("AutoETS-lo-80").clip(lower_bound=0.0),
            pl.col("AutoETS").clip(lower_bound=0.0),
        )
    )
    assert table.height == truth.height, "every truth day has a forecast"
    scales = naive_scales(train)
    errors = rmsse(table, scales, ["mean", "SeasonalNaive", "SES"]).select(
        pl.col("mean", "SeasonalNaive", "SES").mean()
    )
    spl_ours = scaled_pinball(table, scales, {0.1: "lo", 0.5: "med", 0.9: "hi"})
    spl_ets = scaled_pinball(
        table, scales, {0.1: "AutoETS-lo-80", 0.5: "AutoETS", 0.9: "AutoETS-hi-80"}
    )
    inside = table.select(((pl.col("y") >= pl.col("lo")) & (pl.col("y") <= pl.col("hi"))).mean())
    scores = {
        "rmsse_soko": float(errors["mean"][0]),
        "rmsse_seasonal_naive": float(errors["SeasonalNaive"][0]),
        "rmsse_ses": float(errors["SES"][0]),
        "coverage_80": float(inside.item()),
        "spl_soko": float(spl_ours["spl"].mean()),  # type: ignore[arg-type]
        "spl_autoets": float(spl_ets["spl"].mean()),  # type: ignore[arg-type]
    }
    series = truth["unique_id"].n_unique()
    print(f"\nM5 {request.param}: {series} series in {soko_seconds:.0f} s")
    print(f"  models {result.model_counts}; expensive on {result.expensive_groups}")
    for key, value in scores.items():
        print(f"  {key:22s} {value:.4f}")
    return scores


def test_chosen_forecast_beats_seasonal_naive_and_ses_on_mean_rmsse(
    m5_scores: dict[str, float],
) -> None:
    assert m5_scores["rmsse_soko"] < m5_scores["rmsse_seasonal_naive"]
    assert m5_scores["rmsse_soko"] < m5_scores["rmsse_ses"]


def test_eighty_percent_interval_covers_at_least_eighty_percent(
    m5_scores: dict[str, float],
) -> None:
    assert m5_scores["coverage_80"] >= 0.80


def test_quantiles_have_lower_scaled_pinball_loss_than_autoets_normal_intervals(
    m5_scores: dict[str, float],
) -> None:
    assert m5_scores["spl_soko"] < m5_scores["spl_autoets"]
