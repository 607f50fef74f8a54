"""Descriptive customer value: summaries for the models, RFM and segments, metrics, cohorts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from soko.customers import (
    SEGMENT_RULES,
    SEGMENTS,
    cohort_retention,
    customer_summary,
    merge_same_day,
    purchase_metrics,
    rfm_scores,
    segment_counts,
    segment_of,
)


def transactions(*rows: tuple[str, dt.datetime, float, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "customer_id": pl.String,
            "ordered_at": pl.Datetime("us"),
            "revenue": pl.Float64,
            "channel": pl.String,
        },
        orient="row",
    )


SHOP = transactions(
    ("ann", dt.datetime(2025, 1, 1, 9), 10.0, "web"),
    ("ann", dt.datetime(2025, 1, 1, 18), 5.0, "store"),
    ("ann", dt.datetime(2025, 1, 15, 12), 30.0, "web"),
    ("ann", dt.datetime(2025, 2, 26, 8), 50.0, "amazon"),
    ("bob", dt.datetime(2025, 1, 8, 10), 20.0, "amazon"),
    ("cat", dt.datetime(2025, 2, 5, 10), 40.0, "web"),
    ("cat", dt.datetime(2025, 3, 20, 10), 60.0, "web"),
    ("dan", dt.datetime(2025, 3, 30, 10), 70.0, "store"),
)


def test_same_day_purchases_become_one_transaction_with_their_revenue_summed() -> None:
    merged = merge_same_day(SHOP)
    ann = merged.filter(pl.col("customer_id") == "ann").sort("ordered_at")
    assert merged.height == SHOP.height - 1
    assert ann["revenue"].to_list() == [15.0, 30.0, 50.0]
    assert ann["channel"][0] == "web"


def test_summary_counts_repeat_purchases_from_first_purchase_to_calibration_end_in_weeks() -> None:
    summary = customer_summary(
        SHOP, calibration_end=dt.date(2025, 2, 26), holdout_end=dt.date(2025, 3, 31)
    ).sort("customer_id")
    rows = {row["customer_id"]: row for row in summary.iter_rows(named=True)}
    assert set(rows) == {"ann", "bob", "cat"}
    assert (rows["ann"]["x"], rows["ann"]["t_x"], rows["ann"]["T"]) == (2, 8.0, 8.0)
    assert rows["ann"]["mean_spend"] == 40.0
    assert (rows["bob"]["x"], rows["bob"]["t_x"], rows["bob"]["T"]) == (0, 0.0, 7.0)
    assert rows["bob"]["mean_spend"] is None
    assert rows["cat"]["x_holdout"] == 1
    assert rows["cat"]["T"] == pytest.approx(3.0)


def test_summary_without_merging_keeps_same_day_purchases_and_their_hours() -> None:
    summary = customer_summary(
        SHOP,
        calibration_end=dt.datetime(2025, 1, 31),
        time_unit=dt.timedelta(days=1),
        same_day_as_one=False,
    )
    ann = summary.filter(pl.col("customer_id") == "ann").row(0, named=True)
    assert ann["x"] == 2
    assert ann["t_x"] == pytest.approx(14 + 3 / 24)
    assert ann["T"] == pytest.approx(30 - 9 / 24)


def test_rfm_scores_rank_the_most_recent_frequent_and_valuable_customer_highest() -> None:
    scores = rfm_scores(merge_same_day(SHOP), as_of=dt.date(2025, 3, 31)).sort("customer_id")
    by_customer = {row["customer_id"]: row for row in scores.iter_rows(named=True)}
    # recency days: ann 33, bob 82, cat 11, dan 1 → dan is best, bob worst
    assert [by_customer[c]["r_score"] for c in ("bob", "ann", "cat", "dan")] == [1, 2, 3, 4]
    # frequency: bob and dan tie at 1 (share below 0 → score 1); cat 2; ann 3
    assert [by_customer[c]["f_score"] for c in ("bob", "dan", "cat", "ann")] == [1, 1, 3, 4]
    assert by_customer["ann"]["monetary"] == 95.0
    assert by_customer["bob"]["segment"] == "Lost"
    assert by_customer["ann"]["segment"] == "At risk"


def test_every_r_and_f_pair_belongs_to_exactly_one_segment_after_lost_is_carved_out() -> None:
    for r in range(1, 6):
        for f in range(1, 6):
            matching = [rule.name for rule in SEGMENT_RULES if rule.matches(r, f)]
            if (r, f) == (1, 1):
                assert matching == ["Lost", "Hibernating"]
            else:
                assert len(matching) == 1, (r, f, matching)
    assert segment_of(5, 5) == "Champions"
    assert segment_of(5, 1) == "New"
    assert segment_of(1, 5) == "Cannot lose them"
    with pytest.raises(ValueError, match="R and F scores must be 1–5"):
        segment_of(0, 3)


@given(values=st.lists(st.integers(0, 20), min_size=1, max_size=60))
def test_quintile_scores_are_1_to_5_and_never_order_customers_against_their_values(
    values: list[int],
) -> None:
    frame = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(values)) for _ in range(values[i] + 1)],
            "ordered_at": [
                dt.datetime(2025, 1, 1) + dt.timedelta(days=k) for v in values for k in range(v + 1)
            ],
            "revenue": [1.0 for v in values for _ in range(v + 1)],
        }
    )
    scores = rfm_scores(frame, as_of=dt.date(2025, 12, 31))
    assert set(scores["f_score"].to_list()) <= {1, 2, 3, 4, 5}
    ordered = scores.sort("frequency")
    assert ordered["f_score"].to_list() == sorted(ordered["f_score"].to_list())
    assert scores.height == len(values)
    assert scores["segment"].null_count() == 0


def test_segment_counts_list_every_segment_even_empty_ones() -> None:
    counts = segment_counts(rfm_scores(SHOP, as_of=dt.date(2025, 3, 31)))
    assert counts["segment"].cast(pl.String).to_list() == list(SEGMENTS)
    assert counts["customers"].sum() == 4


def test_purchase_metrics_give_repeat_rate_average_order_value_and_frequency() -> None:
    merged = merge_same_day(SHOP)
    overall = purchase_metrics(merged).row(0, named=True)
    assert overall["customers"] == 4
    assert overall["transactions"] == 7
    assert overall["repeat_rate"] == pytest.approx(0.5)
    assert overall["average_order_value"] == pytest.approx(285.0 / 7)
    assert overall["purchase_frequency"] == pytest.approx(7 / 4)
    by_channel = {
        r["channel"]: r for r in purchase_metrics(SHOP, by="channel").iter_rows(named=True)
    }
    assert by_channel["web"]["customers"] == 2
    assert by_channel["web"]["repeat_rate"] == pytest.approx(1.0)
    assert by_channel["store"]["average_order_value"] == pytest.approx(37.5)


def test_cohort_retention_counts_customers_active_each_month_after_their_first() -> None:
    retention = cohort_retention(SHOP)
    january = retention.filter(pl.col("cohort") == dt.date(2025, 1, 1))
    assert january["cohort_size"].unique().to_list() == [2]
    assert january["active_customers"].to_list() == [2, 1, 0]
    assert january["retention"].to_list() == [1.0, 0.5, 0.0]
    march = retention.filter(pl.col("cohort") == dt.date(2025, 3, 1))
    assert march["months_since_first"].to_list() == [0]


def test_cohort_retention_splits_cohorts_by_the_first_purchase_channel() -> None:
    retention = cohort_retention(SHOP, by="channel")
    january_web = retention.filter(
        (pl.col("cohort") == dt.date(2025, 1, 1)) & (pl.col("channel") == "web")
    )
    assert january_web["active_customers"].to_list() == [1, 1, 0]
    with pytest.raises(ValueError, match="lack the column 'first_product'"):
        cohort_retention(SHOP, by="first_product")


def test_transactions_missing_a_column_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="lack the column"):
        rfm_scores(SHOP.drop("revenue"), as_of=dt.date(2025, 3, 31))


def test_zoned_order_times_fall_on_the_sellers_local_day() -> None:
    utc_evening = dt.datetime(2025, 1, 1, 20, tzinfo=dt.UTC)
    zoned = pl.DataFrame(
        {
            "customer_id": ["ann", "ann"],
            "ordered_at": [utc_evening, utc_evening + dt.timedelta(hours=2)],
            "revenue": [10.0, 5.0],
        }
    ).with_columns(pl.col("ordered_at").dt.convert_time_zone("Asia/Tokyo"))
    merged = merge_same_day(zoned)
    assert merged["ordered_at"].to_list() == [dt.date(2025, 1, 2)]
    assert merged["revenue"].to_list() == [15.0]
