"""A global gradient-boosted model over every series at once, with calendar and exogenous
features (mlforecast + LightGBM).

Local models (exponential smoothing, Croston) see one series and no calendar: they cannot
know that a Rakuten super-sale starts next week or that 3 November is a holiday. A single
LightGBM model trained across series can, and it learns the shape of an effect from every
series that had one (the approach of most M5 leaders; Makridakis, Spiliotis & Assimakopoulos
2022, "M5 accuracy competition: results, findings and conclusions", IJF 38(4), §4).

Features:
- lags of 7, 14 and 28 days and rolling means of the 7-day lag over 7 and 28 days, the
  forecast fed back recursively for later days;
- the weekday, the month, the day of the month (5のつく日 and other dated sales) and a
  Japanese national holiday flag (``holidays``);
- every exogenous column of the history (campaign flags, discounts, prices), whose values
  over the horizon come in the future frame.

The objective is Tweedie (variance power 1.2), the usual choice for zero-inflated retail
counts. The model is trained on the last ``TRAIN_DAYS`` days of at most ``TRAIN_SERIES``
series and predicts for any series from its own recent history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import holidays
import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]
import polars as pl

if TYPE_CHECKING:
    from mlforecast import MLForecast

NAME = "LightGBM"
LAGS = (7, 14, 28)
TRAIN_DAYS = 364 + 56  # a year of effects, plus the lag window it needs
TRAIN_SERIES = 1_000
ROUNDS = 120
THREADS = 1  # OpenMP threads spin against the other work on a 2-core machine: 6× slower
MIN_SERIES = 20  # below this a "global" model has too little to pool


@functools.cache
def _jp_holidays(years: tuple[int, ...]) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("JP", years=list(years)))


def _jp_holiday(dates: pd.DatetimeIndex) -> npt.NDArray[np.int8]:
    """1 on a Japanese national holiday (the calendar the shops and their customers keep)."""
    calendar = _jp_holidays(tuple(sorted({int(y) for y in np.unique(dates.year)})))
    return np.fromiter((d in calendar for d in dates.date), dtype=np.int8, count=len(dates))


def _model() -> MLForecast:
    # Imported here: LightGBM and mlforecast take seconds to import, which the web app and
    # the CLI should not pay before they forecast.
    from lightgbm import LGBMRegressor
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean

    regressor = LGBMRegressor(
        objective="tweedie",
        tweedie_variance_power=1.2,
        n_estimators=ROUNDS,
        learning_rate=0.1,
        max_bin=63,
        num_leaves=31,
        min_child_samples=40,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=0,
        n_jobs=THREADS,
        verbose=-1,
    )
    return MLForecast(
        models={NAME: regressor},
        freq="1d",
        lags=list(LAGS),
        lag_transforms={7: [RollingMean(window_size=7), RollingMean(window_size=28)]},
        date_features=["dayofweek", "month", "day", _jp_holiday],
        num_threads=1,
    )


def _recent(history: pl.DataFrame, days: int) -> pl.DataFrame:
    end = history.select(pl.col("ds").max()).item()
    return history.filter(pl.col("ds") > end - dt.timedelta(days=days))


def _training(history: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
    """At most ``TRAIN_SERIES`` of ``ids``, drawn with a fixed seed."""
    chosen = list(ids)
    if len(chosen) > TRAIN_SERIES:
        rng = np.random.default_rng(0)
        chosen = list(rng.choice(chosen, size=TRAIN_SERIES, replace=False))
    return history.filter(pl.col("unique_id").is_in(chosen))


def _typed(frame: pl.DataFrame) -> pd.DataFrame:
    # pandas, so that date features (and the holiday callable) see a DatetimeIndex.
    pdf = frame.to_pandas()
    pdf["ds"] = pd.to_datetime(pdf["ds"])
    return pdf


def _dated(pdf: pd.DataFrame) -> pl.DataFrame:
    return pl.from_pandas(pdf.reset_index(drop=True)).with_columns(
        pl.col("ds").cast(pl.Date), pl.col("unique_id").cast(pl.String)
    )


def _fit(train: pl.DataFrame, ids: Sequence[str]) -> MLForecast:
    model = _model()
    with _quiet():
        model.fit(_typed(_training(_recent(train, TRAIN_DAYS), ids)), static_features=[])
    return model


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Lags before a young series' first day are missing; LightGBM takes missing values as
    such, so mlforecast's warnings about them say nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found null values", category=UserWarning)
        # A series too young for any lag adds no training rows; it is still predicted.
        warnings.filterwarnings(
            "ignore", message="The following series were dropped", category=UserWarning
        )
        yield


def _predict(
    model: MLForecast, history: pl.DataFrame, future: pl.DataFrame | None, *, h: int
) -> pl.DataFrame:
    # Each series is predicted from its own recent days, trained on or not.
    new_df = _typed(_recent(history, max(LAGS) + 28 + 1))
    x_df = None if future is None else _typed(future)
    with _quiet():
        out = model.predict(h, new_df=new_df, X_df=x_df)
    return _dated(out).with_columns(pl.col(NAME).clip(lower_bound=0.0))


def backtest(history: pl.DataFrame, ids: Sequence[str], *, h: int, n_windows: int) -> pl.DataFrame:
    """Rolling-origin backtest of the global model on ``ids`` (trained on them only), with
    the origins of StatsForecast's ``cross_validation`` (the last ``n_windows`` blocks of
    ``h`` days): ``unique_id``, ``ds``, ``cutoff``, ``LightGBM``. ``history`` holds
    ``unique_id``, ``ds``, ``y`` and the exogenous columns, days filled; a window's
    exogenous values are its own (known in advance, as a planned campaign is)."""
    part = history.filter(pl.col("unique_id").is_in(list(ids)))
    end = part.select(pl.col("ds").max()).item()
    exog = [c for c in part.columns if c not in ("unique_id", "ds", "y")]
    windows = []
    for k in range(n_windows, 0, -1):
        cutoff = end - dt.timedelta(days=k * h)
        train = part.filter(pl.col("ds") <= cutoff)
        ahead = part.filter(
            (pl.col("ds") > cutoff) & (pl.col("ds") <= cutoff + dt.timedelta(days=h))
        )
        future = ahead.select("unique_id", "ds", *exog) if exog else None
        out = _predict(_fit(train, ids), train, future, h=h)
        windows.append(out.with_columns(pl.lit(cutoff).alias("cutoff")))
    return pl.concat(windows).select("unique_id", "ds", "cutoff", NAME)


def forecast(
    history: pl.DataFrame, ids: Sequence[str], *, h: int, future: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``h`` days of the global model for ``ids``: ``unique_id``, ``ds``, ``LightGBM``.
    ``future`` holds the exogenous columns over the horizon (``unique_id``, ``ds``, …)."""
    part = history.filter(pl.col("unique_id").is_in(list(ids)))
    ahead = None if future is None else future.filter(pl.col("unique_id").is_in(list(ids)))
    return _predict(_fit(part, ids), part, ahead, h=h)
