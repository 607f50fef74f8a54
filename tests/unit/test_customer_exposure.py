"""Per-SKU LTV exposure, the pure pieces, on hand-made data with figures worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest

from soko.customers.exposure import (
    benjamini_hochberg,
    gateway_scores,
    lapse_by_sku,
    lapse_estimate,
    lapse_events,
    matched_expectation,
    meetings_from_notices,
    meetings_from_purchases,
    residual_clv_by_sku,
    shortage_cost,
    shrink,
    stockout_days_from_notices,
    wilson_interval,
)

D = dt.date
T = dt.datetime


def test_wilson_interval_reproduces_newcombe_1998_table_1() -> None:
    """Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (score interval)."""
    k = np.array([81.0, 15.0, 0.0, 1.0])
    n = np.array([263.0, 148.0, 20.0, 29.0])
    low, high = wilson_interval(k, n)
    assert low == pytest.approx([0.2553, 0.0624, 0.0, 0.0061], abs=1e-4)
    assert high == pytest.approx([0.3662, 0.1605, 0.1611, 0.1718], abs=1e-4)


def test_wilson_interval_of_no_trials_is_the_whole_unit_interval() -> None:
    low, high = wilson_interval(np.array([0.0]), np.array([0.0]))
    assert (low[0], high[0]) == (0.0, 1.0)


def test_benjamini_hochberg_rejects_up_to_the_largest_p_under_its_line() -> None:
    # m = 4, fdr 0.05: lines 0.0125, 0.025, 0.0375, 0.05; sorted p 0.01, 0.02, 0.04, 0.5.
    assert benjamini_hochberg(np.array([0.01, 0.02, 0.5, 0.04]), fdr=0.05).tolist() == [
        True,
        True,
        False,
        False,
    ]
    # 0.04 under 0.05 at rank 4 lifts every smaller p with it, even 0.03 > 0.025 at rank 2.
    assert benjamini_hochberg(np.array([0.03, 0.04, 0.035, 0.005]), fdr=0.05).all()
    assert not benjamini_hochberg(np.array([0.2, 0.6]), fdr=0.1).any()


def test_shrink_is_the_beta_posterior_around_the_category() -> None:
    # κ = 20, m = 0.3: prior Beta(6, 14); 10 expected repurchasers, 5 lost -> Beta(11, 19).
    mean, low, high = shrink(np.array([5.0]), np.array([10.0]), np.array([0.3]), strength=20.0)
    assert mean[0] == pytest.approx(11 / 30)
    assert low[0] < 11 / 30 < high[0]
    # A SKU with no data keeps its category's value; one with plenty speaks for itself.
    none, _, _ = shrink(np.array([0.0]), np.array([0.0]), np.array([0.3]))
    many, _, _ = shrink(np.array([900.0]), np.array([1000.0]), np.array([0.3]))
    assert none[0] == pytest.approx(0.3)
    assert many[0] == pytest.approx((6 + 900) / 1020)


def test_shortage_cost_is_margin_plus_lapse_times_clv_per_unit() -> None:
    cost = shortage_cost(
        "TP-1",
        unit_margin=1000.0,
        p_lapse=0.3,
        residual_clv=20_000.0,
        units_per_order=2.0,
        proxy="restock_notice",
    )
    assert cost.ltv_at_risk_per_unit == pytest.approx(3000.0)
    assert cost.total == pytest.approx(4000.0)
    assert cost.proxy == "restock_notice"
    with pytest.raises(ValueError, match="p_lapse"):
        shortage_cost("x", unit_margin=1, p_lapse=1.5, residual_clv=1, units_per_order=1, proxy="p")
    with pytest.raises(ValueError, match="units_per_order"):
        shortage_cost(
            "x", unit_margin=1, p_lapse=0.1, residual_clv=1, units_per_order=0.5, proxy="p"
        )


NOTICES = pl.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3", "c1"],
        "sku": ["A", "A", "B", "A"],
        "signed_up_at": [T(2025, 1, 3, 15), T(2025, 1, 5, 9), T(2025, 1, 30, 20), T(2025, 1, 4)],
        "notified_at": [T(2025, 1, 6, 10), T(2025, 1, 8, 10), None, T(2025, 1, 6, 10)],
    }
)


def test_stockout_days_run_from_sign_up_to_the_day_before_notification() -> None:
    days = stockout_days_from_notices(NOTICES, end=D(2025, 2, 1))
    a = days.filter(pl.col("sku") == "A")["date"].to_list()
    b = days.filter(pl.col("sku") == "B")["date"].to_list()
    # A: 3rd–5th and 5th–7th merge into 3rd–7th; B: never notified, out to the end.
    assert a == [D(2025, 1, d) for d in range(3, 8)]
    assert b == [D(2025, 1, 30), D(2025, 1, 31), D(2025, 2, 1)]


def test_a_return_ends_a_run_and_a_season_end_ends_a_never_answered_notice() -> None:
    """The notice waits for a receipt, but a return back on the shelf (or a sale) shows
    stock earlier; after its season a seasonal item is off sale, not out of stock."""
    back = pl.DataFrame({"sku": ["A", "A"], "date": [D(2025, 1, 3), D(2025, 1, 6)]})
    season = pl.DataFrame({"sku": ["B"], "season_end": [D(2025, 1, 31)]})
    days = stockout_days_from_notices(NOTICES, end=D(2025, 2, 1), restocked=back, season_end=season)
    a = days.filter(pl.col("sku") == "A")["date"].to_list()
    b = days.filter(pl.col("sku") == "B")["date"].to_list()
    # A: the return on the 3rd is the sign-up day itself (out later that day), so the
    # return on the 6th ends both runs on the 5th.
    assert a == [D(2025, 1, 3), D(2025, 1, 4), D(2025, 1, 5)]
    assert b == [D(2025, 1, 30), D(2025, 1, 31)]


def test_meetings_take_each_customers_first_sign_up_per_sku() -> None:
    met = meetings_from_notices(NOTICES)
    assert met.rows() == [
        ("c1", "A", D(2025, 1, 3), "restock_notice"),
        ("c2", "A", D(2025, 1, 5), "restock_notice"),
        ("c3", "B", D(2025, 1, 30), "restock_notice"),
    ]


def test_buying_the_product_on_a_day_out_meets_the_stockout() -> None:
    skus = pl.DataFrame(
        {
            "sku": ["A-S", "A-M", "B-S"],
            "product_code": ["A", "A", "B"],
            "category": ["tops", "tops", "tops"],
        }
    )
    out = pl.DataFrame({"sku": ["A-S", "A-S"], "date": [D(2025, 1, 3), D(2025, 1, 4)]})
    lines = pl.DataFrame(
        {
            "customer_id": ["p", "q", "r", "p"],
            "date": [D(2025, 1, 4), D(2025, 1, 4), D(2025, 1, 5), D(2025, 1, 3)],
            "sku": ["A-M", "B-S", "A-M", "A-S"],
        }
    )
    by_product = meetings_from_purchases(lines, out, skus)
    # p bought A on both days out (first: the 3rd); q bought another product; r came too late.
    assert by_product.select("customer_id", "sku", "met_on").rows() == [("p", "A-S", D(2025, 1, 3))]
    by_category = meetings_from_purchases(lines, out, skus, level="category")
    assert by_category["customer_id"].to_list() == ["p", "q"]


def purchase_days(rows: dict[str, list[dt.date]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(c, d) for c, days in rows.items() for d in days],
        schema={"customer_id": pl.String, "date": pl.Date},
        orient="row",
    )


def test_lapse_is_one_minus_observed_over_matched_expected_repurchases() -> None:
    # Four controls make their first purchase on 2 Jan and all buy again: control rate 1.
    # Two customers meet a stockout at their first attempt on 3 Jan (same stratum:
    # no prior purchase, tenure 0, 2025 Q1); one buys again. L = 1 − 1/2 = 0.5.
    days = purchase_days(
        {
            "c1": [D(2025, 1, 2), D(2025, 2, 1)],
            "c2": [D(2025, 1, 2), D(2025, 2, 2)],
            "c3": [D(2025, 1, 2), D(2025, 2, 3)],
            "c4": [D(2025, 1, 2), D(2025, 2, 4)],
            "t1": [D(2025, 3, 1)],
        }
    )
    met = pl.DataFrame(
        {"customer_id": ["t1", "t2"], "sku": ["A", "B"], "met_on": [D(2025, 1, 3)] * 2}
    )
    events = lapse_events(days, met, end=D(2025, 12, 31))
    treated = events.filter(pl.col("treated"))
    assert treated["customer_id"].sort().to_list() == ["t1", "t2"]
    # t1's purchase in March comes after its meeting, so it is an outcome, not a control.
    assert events.filter(pl.col("customer_id") == "t1").height == 1
    matched = matched_expectation(events)
    assert matched["control_rate"].to_list() == pytest.approx([1.0, 1.0])
    estimate = lapse_estimate(matched, proxy="restock_notice")
    assert (estimate.treated, estimate.repurchased) == (2, 1)
    assert estimate.expected == pytest.approx(2.0)
    assert estimate.p_lapse == pytest.approx(0.5)
    low_rate, high_rate = wilson_interval(np.array([1.0]), np.array([2.0]))
    assert estimate.low == pytest.approx(max(0.0, 1 - high_rate[0]))
    assert estimate.high == pytest.approx(1 - low_rate[0])

    skus = pl.DataFrame({"sku": ["A", "B", "C"], "category": ["tops", "tops", "bags"]})
    per_sku = lapse_by_sku(matched, skus, proxy="restock_notice", strength=20.0)
    rows = {r["sku"]: r for r in per_sku.iter_rows(named=True)}
    # Category "tops": E = 2, one lost; prior Beta(20·0.5, 20·0.5) -> (10 + 1)/(20 + 2).
    tops = 11 / 22
    # SKU A: t1 came back (E = 1, none lost); B: t2 did not (E = 1, one lost).
    assert rows["A"]["p_lapse"] == pytest.approx((20 * tops + 0) / 21)
    assert rows["B"]["p_lapse"] == pytest.approx((20 * tops + 1) / 21)
    # C was never met and its category has no data: it keeps the overall estimate.
    assert rows["C"]["p_lapse"] == pytest.approx(0.5)
    assert rows["C"]["treated"] == 0


def test_later_purchases_are_not_controls_once_a_customer_met_a_stockout() -> None:
    days = purchase_days({"m": [D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)]})
    met = pl.DataFrame({"customer_id": ["m"], "sku": ["A"], "met_on": [D(2025, 2, 1)]})
    events = lapse_events(days, met, end=D(2025, 12, 31))
    assert events.select("date", "treated", "prior", "tenure", "repurchased").rows() == [
        (D(2025, 1, 1), False, 0, 0, True),
        (D(2025, 2, 1), True, 1, 31, True),
    ]


def test_no_treated_events_gives_no_estimate() -> None:
    days = purchase_days({"c": [D(2025, 1, 1)]})
    none = pl.DataFrame(schema={"customer_id": pl.String, "sku": pl.String, "met_on": pl.Date})
    estimate = lapse_estimate(
        matched_expectation(lapse_events(days, none, end=D(2025, 12, 31))), proxy="x"
    )
    assert estimate.treated == 0
    assert math.isnan(estimate.p_lapse)


def test_residual_clv_counts_each_buyer_of_a_sku_once() -> None:
    buyers = pl.DataFrame({"customer_id": ["a", "a", "b", "c"], "sku": ["X", "X", "X", "Y"]})
    values = pl.DataFrame({"customer_id": ["a", "b", "c"], "clv": [100.0, 300.0, 50.0]})
    result = residual_clv_by_sku(buyers, values)
    assert result.rows() == [("X", 2, 200.0, 400.0), ("Y", 1, 50.0, 50.0)]


def test_a_sku_whose_first_buyers_are_all_top_customers_is_a_gateway() -> None:
    # Values 1..10: the top 20 % are 9 and 10 (above the 80th percentile, 8.2).
    values = pl.DataFrame(
        {"customer_id": [f"c{i}" for i in range(1, 11)], "value": [float(i) for i in range(1, 11)]}
    )
    firsts = pl.DataFrame(
        {
            "customer_id": ["c9", "c10", "c1", "c2", "c3", "c9"],
            "sku": ["A", "A", "B", "B", "B", "B"],
        }
    )
    scores = gateway_scores(firsts, values, fdr=0.1)
    rows = {r["sku"]: r for r in scores.iter_rows(named=True)}
    assert (rows["A"]["first_buyers"], rows["A"]["top_buyers"]) == (2, 2)
    assert rows["A"]["lift"] == pytest.approx(5.0)
    # P(2 of 2 top | base 0.2) = 0.04; P(≥1 of 4) = 1 − 0.8⁴.
    assert rows["A"]["p_value"] == pytest.approx(0.04)
    assert rows["B"]["p_value"] == pytest.approx(1 - 0.8**4)
    # BH, m = 2, fdr 0.1: 0.04 ≤ 0.05 passes; 0.59 > 0.1 does not.
    assert rows["A"]["gateway"]
    assert not rows["B"]["gateway"]
    assert not gateway_scores(firsts, values, fdr=0.05)["gateway"].any()
