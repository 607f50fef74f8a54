"""Cohort retention: of the customers who first bought in a month, how many buy again later.

Cohorts are first-purchase months, optionally split by an attribute of the
customer's first transaction (``first_product`` for gateway analysis,
``channel`` for acquisition channel). Month k counts the cohort's customers
with at least one transaction in the k-th calendar month after their first
(k = 0 is the first month, so its retention is 1); every month up to the last
month in the data is listed, with zeros where nobody bought.
"""

from __future__ import annotations

import polars as pl

from soko.customers.summary import checked_transactions


def cohort_retention(transactions: pl.DataFrame, *, by: str | None = None) -> pl.DataFrame:
    """Long frame: ``cohort`` (first day of the first-purchase month), ``by`` if given,
    ``months_since_first``, ``active_customers``, ``cohort_size`` and ``retention``
    (active ÷ size), sorted by cohort, ``by`` and month.
    """
    transactions = checked_transactions(transactions)
    if by is not None and by not in transactions.columns:
        raise ValueError(f"transactions lack the column {by!r} to split cohorts by")
    ordered = transactions.sort("customer_id", "ordered_at").with_columns(
        pl.col("ordered_at").cast(pl.Date).dt.month_start().alias("month")
    )
    first_columns = [pl.col("month").first().alias("cohort")]
    if by is not None:
        first_columns.append(pl.col(by).first())
    firsts = ordered.group_by("customer_id", maintain_order=True).agg(first_columns)
    keys = ["cohort"] if by is None else ["cohort", by]
    sizes = firsts.group_by(keys).agg(pl.len().cast(pl.Int64).alias("cohort_size"))

    def month_index(column: str) -> pl.Expr:
        return pl.col(column).dt.year() * 12 + pl.col(column).dt.month()

    active = (
        ordered.select("customer_id", "month")
        .unique()
        .join(firsts, on="customer_id")
        .with_columns(
            (month_index("month") - month_index("cohort"))
            .cast(pl.Int64)
            .alias("months_since_first")
        )
        .group_by([*keys, "months_since_first"])
        .agg(pl.len().cast(pl.Int64).alias("active_customers"))
    )
    last_month = ordered.select(month_index("month").max()).item()
    grid = sizes.with_columns(
        pl.int_ranges(0, last_month - month_index("cohort") + 1, dtype=pl.Int64).alias(
            "months_since_first"
        )
    ).explode("months_since_first")
    return (
        grid.join(active, on=[*keys, "months_since_first"], how="left")
        .with_columns(pl.col("active_customers").fill_null(0))
        .with_columns((pl.col("active_customers") / pl.col("cohort_size")).alias("retention"))
        .select(*keys, "months_since_first", "active_customers", "cohort_size", "retention")
        .sort([*keys, "months_since_first"])
    )
