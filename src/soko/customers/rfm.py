"""RFM scores (recency, frequency, monetary) and the named segments built from them.

Scores are quintiles 1–5, 5 best: most recent, most transactions, most
revenue. A customer's score is 1 + ⌊5 · s⌋, where s is the share of customers
strictly worse on that measure. Ties therefore share a score (the lowest one
their group reaches), so a frame where most customers bought once gives them
all F = 1 rather than splitting identical customers at random.

Segments follow the widely used R × F grid (the "RFM segments" map of CRM
practice); M is reported but does not change the segment:

==================  ========  ========
segment             R score   F score
==================  ========  ========
Champions           5         4–5
Loyal               3–4       4–5
Potential loyalists 4–5       2–3
New                 5         1
Promising           4         1
Need attention      3         3
About to sleep      3         1–2
At risk             1–2       3–4
Cannot lose them    1–2       5
Hibernating         1–2       1–2, except R=1 F=1
Lost                1         1
==================  ========  ========

The table covers every (R, F) pair exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from soko.customers.summary import checked_transactions


@dataclass(frozen=True, slots=True)
class SegmentRule:
    """Customers whose R and F scores lie in these inclusive ranges form ``name``."""

    name: str
    recency: tuple[int, int]
    frequency: tuple[int, int]

    def matches(self, r_score: int, f_score: int) -> bool:
        return (
            self.recency[0] <= r_score <= self.recency[1]
            and self.frequency[0] <= f_score <= self.frequency[1]
        )


SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", (5, 5), (4, 5)),
    SegmentRule("Loyal", (3, 4), (4, 5)),
    SegmentRule("Potential loyalists", (4, 5), (2, 3)),
    SegmentRule("New", (5, 5), (1, 1)),
    SegmentRule("Promising", (4, 4), (1, 1)),
    SegmentRule("Need attention", (3, 3), (3, 3)),
    SegmentRule("About to sleep", (3, 3), (1, 2)),
    SegmentRule("At risk", (1, 2), (3, 4)),
    SegmentRule("Cannot lose them", (1, 2), (5, 5)),
    SegmentRule("Lost", (1, 1), (1, 1)),
    SegmentRule("Hibernating", (1, 2), (1, 2)),
)
"""First match wins; "Lost" comes before "Hibernating" to carve out R=1 F=1."""

SEGMENTS: tuple[str, ...] = tuple(rule.name for rule in SEGMENT_RULES)


def segment_of(r_score: int, f_score: int) -> str:
    """The segment of one (R, F) pair, by :data:`SEGMENT_RULES`."""
    for rule in SEGMENT_RULES:
        if rule.matches(r_score, f_score):
            return rule.name
    raise ValueError(f"R and F scores must be 1–5, got R={r_score} F={f_score}")


def quintile_score(values: pl.Expr, *, higher_is_better: bool = True) -> pl.Expr:
    """1 + ⌊5 · (share of rows strictly worse)⌋, as an Int8 in 1–5."""
    key = values if higher_is_better else -values
    strictly_worse = key.rank(method="min") - 1
    return (1 + (5 * strictly_worse / pl.len()).floor()).cast(pl.Int8)


def rfm_scores(transactions: pl.DataFrame, *, as_of: dt.date) -> pl.DataFrame:
    """Recency, frequency, monetary value, their scores and the segment, per customer.

    Over the transactions up to and including ``as_of``: ``recency_days`` days
    from the last transaction to ``as_of``, ``frequency`` the number of
    transactions, ``monetary`` their total revenue. Transactions are counted as
    given; merge same-day ones first (:func:`soko.customers.merge_same_day`)
    if that is the convention wanted.
    """
    transactions = checked_transactions(transactions)
    as_of_day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    per_customer = (
        transactions.filter(pl.col("ordered_at").cast(pl.Date) <= as_of_day)
        .group_by("customer_id")
        .agg(
            (pl.lit(as_of_day) - pl.col("ordered_at").max().cast(pl.Date))
            .dt.total_days()
            .cast(pl.Int64)
            .alias("recency_days"),
            pl.len().cast(pl.Int64).alias("frequency"),
            pl.col("revenue").sum().cast(pl.Float64).alias("monetary"),
        )
        .sort("customer_id")
    )
    scored = per_customer.with_columns(
        quintile_score(pl.col("recency_days"), higher_is_better=False).alias("r_score"),
        quintile_score(pl.col("frequency")).alias("f_score"),
        quintile_score(pl.col("monetary")).alias("m_score"),
    )
    grid = pl.DataFrame(
        [
            {"r_score": r, "f_score": f, "segment": segment_of(r, f)}
            for r in range(1, 6)
            for f in range(1, 6)
        ],
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "segment": pl.Enum(SEGMENTS)},
    )
    return scored.join(grid, on=["r_score", "f_score"], how="left")


def segment_counts(scores: pl.DataFrame) -> pl.DataFrame:
    """Customers and revenue per segment, every segment listed (zero where empty)."""
    all_segments = pl.DataFrame({"segment": pl.Series(SEGMENTS, dtype=pl.Enum(SEGMENTS))})
    counted = scores.group_by("segment").agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("monetary").sum().alias("revenue"),
    )
    return all_segments.join(counted, on="segment", how="left").with_columns(
        pl.col("customers").fill_null(0), pl.col("revenue").fill_null(0.0)
    )
