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

    Exogenous columns of ``df`` and ``X_future`` are refused for now with a clear error:
    the candidates in use are univariate.
    """
    is_pandas = isinstance(df, pd.DataFrame)
    frame = pl.from_pandas(df) if is_pandas else df
    if not isinstance(frame, pl.DataFrame):
        raise ForecastInputError("df must be a pandas or Polars DataFrame")
    extra = [c for c in frame.columns if c not in ("unique_id", "ds", "y")]
    if extra or X_future is not None:
        raise ForecastInputError(
            "exogenous columns are not supported by the current candidates: "
            f"drop {', '.join(extra) or 'X_future'}"
        )
    code = freq.upper()[:1]
    if code not in _EVERY:
        raise ForecastInputError(f"freq must be 'D' (daily) or 'W' (weekly), got {freq!r}")
    for level in levels:
        if not 0 < level < 100:
            raise ForecastInputError(f"levels are percentages between 0 and 100, got {level}")
    history = fill_days(validate_history(frame), _EVERY[code])
    counts = bool(history.select((pl.col("y") == pl.col("y").round()).all()).item())
    quantiles: list[float] = [0.5]
    for level in levels:
        quantiles += [round(0.5 - level / 200, 6), round(0.5 + level / 200, 6)]
    result = run(history, h, quantiles=quantiles, freq=freq)
    columns: list[Any] = [pl.col("unique_id"), pl.col("ds"), pl.col("mean")]
    for level in levels:
        lo = pl.col(quantile_column(round(0.5 - level / 200, 6)))
        hi = pl.col(quantile_column(round(0.5 + level / 200, 6)))
        if counts:
            lo, hi = (lo + 1e-9).floor(), (hi - 1e-9).ceil()
        columns += [lo.alias(f"lo-{level:g}"), hi.alias(f"hi-{level:g}")]
    out = result.forecast.select(*columns, pl.col("model"))
    if is_pandas:
        pdf = out.to_pandas()
        pdf["ds"] = pd.to_datetime(pdf["ds"])
        return pdf  # type: ignore[no-any-return]
    return out
