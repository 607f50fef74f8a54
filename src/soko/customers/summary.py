"""From a transactions frame to the per-customer figures the models and reports read.

A transactions frame has one row per transaction (an order, not an order
line) with columns ``customer_id``, ``ordered_at`` (datetime or date) and
``revenue`` (float), and optionally ``channel`` and ``first_product`` (the
product that opened the order). Frames are touched here, at the edge; the
models take the numpy arrays these functions produce.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

REQUIRED_COLUMNS = ("customer_id", "ordered_at", "revenue")
WEEK = dt.timedelta(weeks=1)


def checked_transactions(transactions: pl.DataFrame) -> pl.DataFrame:
    """``transactions`` with ``ordered_at`` as local wall-clock time; a ``ValueError`` naming
    the missing columns or the first empty cell otherwise.

    A time-zone-aware ``ordered_at`` keeps its wall-clock time in its own zone
    (an order at 2025-01-01 20:00 UTC read as Asia/Tokyo is on 2 January), so
    days, months and same-day merges follow the seller's calendar.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack the column(s) {', '.join(missing)}")
    kind = transactions.schema["ordered_at"]
    if not (kind == pl.Date or isinstance(kind, pl.Datetime)):
        raise ValueError(f"ordered_at must be a date or datetime column, got {kind}")
    for column in REQUIRED_COLUMNS:
        nulls = transactions[column].is_null()
        if nulls.any():
            first = int(nulls.arg_true()[0])
            raise ValueError(
                f"{column} is empty on {int(nulls.sum())} row(s), the first at index {first}"
            )
    if isinstance(kind, pl.Datetime) and kind.time_zone is not None:
        return transactions.with_columns(pl.col("ordered_at").dt.replace_time_zone(None))
    return transactions


def merge_same_day(transactions: pl.DataFrame) -> pl.DataFrame:
    """One transaction per customer and day: revenue summed, other columns from the day's first.

    The published CDNOW analyses count purchases on the same day as one
    (Fader, Hardie & Lee 2005; 6,919 lines → 6,696 transactions). ``ordered_at``
    becomes a date.
    """
    transactions = checked_transactions(transactions)
    others = [
        pl.col(c).first()
        for c in transactions.columns
        if c not in {"customer_id", "ordered_at", "revenue"}
    ]
    return (
        transactions.sort("customer_id", "ordered_at")
        .with_columns(pl.col("ordered_at").cast(pl.Date))
        .group_by("customer_id", "ordered_at", maintain_order=True)
        .agg(pl.col("revenue").sum(), *others)
    )


def customer_summary(
    transactions: pl.DataFrame,
    *,
    calibration_end: dt.date,
    holdout_end: dt.date | None = None,
    time_unit: dt.timedelta = WEEK,
    same_day_as_one: bool = True,
) -> pl.DataFrame:
    """x, t_x, T and mean repeat spend per customer, the inputs of BG/NBD and Gamma-Gamma.

    Columns: ``customer_id``, ``first_purchase`` and, over the calibration
    period (transactions up to and including ``calibration_end``):

    - ``x``: repeat transactions (all but the first);
    - ``t_x``: time from the first to the last transaction;
    - ``T``: time from the first transaction to ``calibration_end``;
    - ``mean_spend``: mean revenue of the repeat transactions, null where
      x = 0 (the first purchase is left out, as in FHL 2005 *JMR*, which is
      the convention that reproduces their Gamma-Gamma figures);

    and, with ``holdout_end``, ``x_holdout``: transactions after
    ``calibration_end`` up to and including ``holdout_end``. Times are in
    ``time_unit`` (weeks by default). With ``same_day_as_one`` (the default)
    transactions are merged per day and times are whole days, so T for a
    customer who first bought on 1997-01-01 with calibration end 1997-09-30 is
    272 / 7 = 38.86 weeks, as in the published CDNOW data. Without it, a plain
    date stands for its midnight. Customers whose first purchase falls after
    ``calibration_end`` are left out.
    """
    transactions = checked_transactions(transactions)
    unit_us = time_unit / dt.timedelta(microseconds=1)
    if unit_us <= 0:
        raise ValueError(f"time_unit must be positive, got {time_unit}")
    if same_day_as_one:
        frame = merge_same_day(transactions)
        end: dt.date = calibration_end
        if isinstance(end, dt.datetime):
            end = end.date()
        frame = frame.with_columns(pl.col("ordered_at").cast(pl.Datetime("us")))
        end_at = dt.datetime.combine(end, dt.time())
    else:
        frame = transactions.with_columns(pl.col("ordered_at").cast(pl.Datetime("us")))
        end_at = _as_datetime(calibration_end, day_only=False)
    holdout_at = (
        None if holdout_end is None else _as_datetime(holdout_end, day_only=same_day_as_one)
    )
    frame = frame.sort("customer_id", "ordered_at")

    def in_units(delta: pl.Expr) -> pl.Expr:
        return delta.dt.total_microseconds().cast(pl.Float64) / unit_us

    calibration = frame.filter(pl.col("ordered_at") <= end_at)
    summary = calibration.group_by("customer_id", maintain_order=True).agg(
        pl.col("ordered_at").first().alias("first_purchase"),
        (pl.len() - 1).cast(pl.Int64).alias("x"),
        in_units(pl.col("ordered_at").last() - pl.col("ordered_at").first()).alias("t_x"),
        in_units(pl.lit(end_at) - pl.col("ordered_at").first()).alias("T"),
        pl.col("revenue").slice(1).mean().cast(pl.Float64).alias("mean_spend"),
    )
    if holdout_at is not None:
        holdout = (
            frame.filter((pl.col("ordered_at") > end_at) & (pl.col("ordered_at") <= holdout_at))
            .group_by("customer_id")
            .agg(pl.len().cast(pl.Int64).alias("x_holdout"))
        )
        summary = summary.join(holdout, on="customer_id", how="left").with_columns(
            pl.col("x_holdout").fill_null(0)
        )
    return summary


def purchase_metrics(transactions: pl.DataFrame, *, by: str | None = None) -> pl.DataFrame:
    """Customers, transactions, revenue, repeat rate, average order value and purchase frequency.

    - repeat rate = share of customers with two or more transactions;
    - average order value (AOV) = revenue ÷ transactions;
    - purchase frequency = transactions ÷ customers.

    With ``by`` (e.g. ``"channel"``) one row per value of that column, each
    counted within it; otherwise one row for the whole frame.
    """
    transactions = checked_transactions(transactions)
    keys = ["customer_id"] if by is None else [by, "customer_id"]
    per_customer = transactions.group_by(keys).agg(
        pl.len().alias("transactions"), pl.col("revenue").sum().alias("revenue")
    )
    totals = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("transactions").sum().cast(pl.Int64).alias("transactions"),
        pl.col("revenue").sum().cast(pl.Float64).alias("revenue"),
        (pl.col("transactions") >= 2).mean().alias("repeat_rate"),
    ]
    grouped = (
        per_customer.select(totals)
        if by is None
        else per_customer.group_by(by).agg(totals).sort(by)
    )
    return grouped.with_columns(
        (pl.col("revenue") / pl.col("transactions")).alias("average_order_value"),
        (pl.col("transactions") / pl.col("customers")).alias("purchase_frequency"),
    )


def _as_datetime(moment: dt.date, *, day_only: bool) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        return dt.datetime.combine(moment.date(), dt.time()) if day_only else moment
    return dt.datetime.combine(moment, dt.time())
