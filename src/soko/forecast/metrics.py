"""Scaled error measures, so that slow and fast movers compare on one scale.

RMSSE and the scaled pinball loss are those of the M5 competition (Makridakis,
Spiliotis & Assimakopoulos 2022, "M5 accuracy competition: results, findings
and conclusions", IJF 38(4), eq. 1 and the uncertainty paper's eq. 2): the
error over the horizon divided by the in-sample one-step naive error, measured
from the first day with a sale (so days before launch do not shrink the scale).
"""

from __future__ import annotations

import polars as pl


def naive_scales(history: pl.DataFrame) -> pl.DataFrame:
    """Per ``unique_id``: ``scale_sq`` = mean squared and ``scale_abs`` = mean absolute
    one-step change of ``y`` from the first non-zero value on (M5 RMSSE / SPL denominators).

    A series with fewer than two such days, or a constant one, gets scale 1 so that its
    error still counts, unscaled, rather than dividing by zero.
    """
    started = (
        history.sort("unique_id", "ds")
        .with_columns((pl.col("y").fill_null(0).cum_sum().over("unique_id") > 0).alias("_on"))
        .filter(pl.col("_on"))
        .with_columns(pl.col("y").diff().over("unique_id").alias("_d"))
    )
    scales = started.group_by("unique_id").agg(
        (pl.col("_d") ** 2).mean().alias("scale_sq"), pl.col("_d").abs().mean().alias("scale_abs")
    )
    ids = history.select("unique_id").unique()
    return (
        ids.join(scales, on="unique_id", how="left")
        .with_columns(
            pl.when(pl.col(c).is_null() | (pl.col(c) <= 0)).then(1.0).otherwise(pl.col(c)).alias(c)
            for c in ("scale_sq", "scale_abs")
        )
        .select("unique_id", "scale_sq", "scale_abs")
    )


def rmsse(
    predictions: pl.DataFrame,
    scales: pl.DataFrame,
    columns: list[str],
    *,
    by: list[str] | None = None,
) -> pl.DataFrame:
    """RMSSE of each column in ``columns`` against ``y``, per ``unique_id`` (and ``by``)."""
    keys = ["unique_id", *(by or [])]
    return (
        predictions.group_by(keys)
        .agg(((pl.col(c) - pl.col("y")) ** 2).mean().alias(c) for c in columns)
        .join(scales, on="unique_id")
        .with_columns((pl.col(c) / pl.col("scale_sq")).sqrt().alias(c) for c in columns)
        .drop("scale_sq", "scale_abs")
    )


def pinball(quantile: float, column: str) -> pl.Expr:
    """Pinball (quantile) loss of ``column`` at level ``quantile`` against ``y``."""
    diff = pl.col("y") - pl.col(column)
    return pl.when(diff >= 0).then(quantile * diff).otherwise((quantile - 1.0) * diff)


def scaled_pinball(
    predictions: pl.DataFrame, scales: pl.DataFrame, quantile_columns: dict[float, str]
) -> pl.DataFrame:
    """Per ``unique_id``: mean pinball loss over the given quantiles and days, divided by
    the series' mean absolute naive change (the M5 uncertainty track's SPL)."""
    losses = [pinball(q, c) for q, c in quantile_columns.items()]
    return (
        predictions.with_columns(pl.mean_horizontal(losses).alias("_pl"))
        .group_by("unique_id")
        .agg(pl.col("_pl").mean())
        .join(scales, on="unique_id")
        .select("unique_id", (pl.col("_pl") / pl.col("scale_abs")).alias("spl"))
    )


def coverage(predictions: pl.DataFrame, lo: str, hi: str) -> float:
    """Share of rows whose ``y`` falls inside ``[lo, hi]``."""
    inside = predictions.select(
        ((pl.col("y") >= pl.col(lo)) & (pl.col("y") <= pl.col(hi))).mean()
    ).item()
    return float(inside)
