"""``soko.forecast.forecast``: the notebook-facing entry point in the Nixtla layout."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pandas as pd  # type: ignore[import-untyped]
import polars as pl

from soko.forecast.core import ForecastInputError, fill_days, quantile_column, run, validate_history

Frame = TypeVar("Frame", pd.DataFrame, pl.DataFrame)

_EVERY = {"D": "1d", "W": "1w"}


def forecast(
    df: Frame,
    h: int,
    freq: str = "D",
    levels: Sequence[int] = (80, 95),
    X_future: Frame | None = None,  # noqa: N803 (the Nixtla name)
) -> Frame:
    """Forecast ``h`` periods of every series in ``df`` (``unique_id``, ``ds``, ``y``).

    Returns a frame of the same library with ``unique_id``, ``ds``, ``mean``, ``lo-L`` and
    ``hi-L`` for each level ``L`` of ``levels``, and ``model``, the model the backtest
    chose for that series (see :mod:`soko.forecast.core`). When every ``y`` is a whole
    number the bounds are whole numbers too (demand is counts): the lower bound rounded
    down, the upper one up, so rounding never narrows an interval.

    Other columns of ``df`` are exogenous features (numbers or booleans: a campaign flag, a
    discount, a price); ``X_future`` must then give them for every series on each of its
    next ``h`` days (``unique_id``, ``ds`` and the same columns). They reach the global
    gradient-boosted candidate (:mod:`soko.forecast.global_model`), which a series' class
    uses only where it wins the backtest. Exogenous features need daily data.
    """
    frame = _polars(df, "df")
    exog = [c for c in frame.columns if c not in ("unique_id", "ds", "y")]
    code = freq.upper()[:1]
    if code not in _EVERY:
        raise ForecastInputError(f"freq must be 'D' (daily) or 'W' (weekly), got {freq!r}")
    for level in levels:
        if not 0 < level < 100:
            raise ForecastInputError(f"levels are percentages between 0 and 100, got {level}")
    if (exog or X_future is not None) and code != "D":
        raise ForecastInputError("exogenous columns need daily data (freq='D')")
    history = validate_history(frame)
    future = None
    if exog or X_future is not None:
        history, future = _exogenous(history, exog, X_future, h)
    history = fill_days(history, _EVERY[code])
    if exog:
        # A day missing from the history has its features carried from the day before.
        history = history.with_columns(pl.col(exog).forward_fill().over("unique_id"))
    counts = bool(history.select((pl.col("y") == pl.col("y").round()).all()).item())
    quantiles: list[float] = [0.5]
    for level in levels:
        quantiles += [round(0.5 - level / 200, 6), round(0.5 + level / 200, 6)]
    result = run(history, h, quantiles=quantiles, freq=freq, future=future)
    columns: list[Any] = [pl.col("unique_id"), pl.col("ds"), pl.col("mean")]
    for level in levels:
        lo = pl.col(quantile_column(round(0.5 - level / 200, 6)))
        hi = pl.col(quantile_column(round(0.5 + level / 200, 6)))
        if counts:
            lo, hi = (lo + 1e-9).floor(), (hi - 1e-9).ceil()
        columns += [lo.alias(f"lo-{level:g}"), hi.alias(f"hi-{level:g}")]
    out = result.forecast.select(*columns, pl.col("model"))
    if isinstance(df, pd.DataFrame):
        pdf = out.to_pandas()
        pdf["ds"] = pd.to_datetime(pdf["ds"])
        return pdf  # type: ignore[no-any-return]
    return out


def _polars(frame: object, name: str) -> pl.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    if isinstance(frame, pl.DataFrame):
        return frame
    raise ForecastInputError(f"{name} must be a pandas or Polars DataFrame")


def _exogenous(
    history: pl.DataFrame, exog: list[str], x_future: object, h: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Checked numeric features in ``history`` and ``X_future`` covering each series' next
    ``h`` days; every problem names the column, the series and the day."""
    if x_future is None:
        raise ForecastInputError(
            f"df has exogenous column(s) {', '.join(exog)}: give their future values in X_future"
        )
    future = _polars(x_future, "X_future")
    if not exog:
        raise ForecastInputError("X_future was given but df has no exogenous columns")
    missing = [c for c in ("unique_id", "ds", *exog) if c not in future.columns]
    if missing:
        raise ForecastInputError(f"X_future lacks column(s) {', '.join(missing)}")
    extra = [c for c in future.columns if c not in ("unique_id", "ds", *exog)]
    if extra:
        raise ForecastInputError(f"X_future has column(s) {', '.join(extra)} that df lacks")
    for where, frame in (("df", history), ("X_future", future)):
        for c in exog:
            dtype = frame.schema[c]
            if not (dtype.is_numeric() or dtype == pl.Boolean):
                raise ForecastInputError(
                    f"{where} column {c!r} must hold numbers or booleans, not {dtype}"
                )
            nulls = frame.filter(pl.col(c).is_null())
            if nulls.height:
                row = nulls.row(0, named=True)
                raise ForecastInputError(
                    f"{where} column {c!r} is empty for series {row['unique_id']!r} on {row['ds']}"
                )
    future = future.select(
        pl.col("unique_id").cast(pl.String),
        pl.col("ds").cast(pl.Date),
        *(pl.col(c).cast(pl.Float64) for c in exog),
    )
    history = history.with_columns(pl.col(c).cast(pl.Float64) for c in exog)
    wanted = (
        history.group_by("unique_id")
        .agg(pl.col("ds").max().alias("last"))
        .with_columns(
            pl.date_ranges(
                pl.col("last") + pl.duration(days=1), pl.col("last") + pl.duration(days=h)
            ).alias("ds")
        )
        .explode("ds")
        .select("unique_id", "ds")
    )
    gaps = wanted.join(future, on=["unique_id", "ds"], how="anti").sort("unique_id", "ds")
    if gaps.height:
        row = gaps.row(0, named=True)
        raise ForecastInputError(
            f"X_future has no row for series {row['unique_id']!r} on {row['ds']} "
            f"({gaps.height} of the {wanted.height} days the horizon needs are missing)"
        )
    return history, wanted.join(future, on=["unique_id", "ds"], how="left")
