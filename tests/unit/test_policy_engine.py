"""The replenishment policy engine: textbook levels, loss functions, and properties by Hypothesis.

Independent computation: quantiles by enumerating the pmf, loss functions by
direct summation, the normal case by the newsvendor of Snyder & Shen
(*Fundamentals of Supply Chain Theory*, 2nd ed., ch. 4) through the textbook
calculator, and DESIGN.md's safety-stock formula SS = z·√((L + R)σ² + μ²σ_L²).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from soko.policy.engine import (
    IntervalDemand,
    PolicyInputError,
    PolicyInputs,
    Target,
    cap_by_supplier,
    interval_demand,
    recommend,
)
from soko.policy.textbook import Normal, newsvendor


def inputs(n: int = 1, **overrides: Any) -> PolicyInputs:
    """A fast-moving staple (10 a day, 14-day lead time, weekly review) unless overridden."""
    base: dict[str, Any] = {
        "demand_mean": 10.0,
        "demand_sd": 3.0,
        "lead_time_mean": 14.0,
        "lead_time_sd": 0.0,
        "review_days": 7,
        "on_hand": 0,
        "on_order": 0,
        "reserved": 0,
        "backorders": 0,
        "unit_cost": 1000.0,
        "unit_price": 2500.0,
        "holding_rate": 0.25,
        "customer_value_at_risk": 0.0,
        "moq": 0,
        "case_pack": 1,
        "made_to_order": False,
        "service_override": math.nan,
    }
    base.update(overrides)
    arrays: dict[str, Any] = {}
    for key, value in base.items():
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = np.full(n, value)
        if key in (
            "review_days",
            "on_hand",
            "on_order",
            "reserved",
            "backorders",
            "moq",
            "case_pack",
        ):
            arr = arr.astype(np.int64)
        elif key == "made_to_order":
            arr = arr.astype(bool)
        else:
            arr = arr.astype(np.float64)
        arrays[key] = arr
    return PolicyInputs(**arrays)


# ------------------------------------------------------------- levels against the textbook


def test_fast_mover_reorder_point_is_the_newsvendor_level_over_review_plus_lead_time() -> None:
    # Snyder & Shen ch. 4: S* = F⁻¹(p/(p + h)) for demand over the protection interval.
    result = recommend(inputs(customer_value_at_risk=2000.0))
    days = 7 + 14
    shortage = (2500 - 1000) + 2000.0
    holding = 1000 * 0.25 * 7 / 365
    solved = newsvendor(
        Normal(10 * days, 3 * math.sqrt(days)), holding_cost=holding, stockout_cost=shortage
    )
    assert result.distribution[0] == "normal"
    assert result.critical_ratio[0] == pytest.approx(shortage / (shortage + holding))
    assert result.reorder_point[0] == math.ceil(solved.order_up_to)
    assert result.order_up_to[0] == result.reorder_point[0]  # no lot sizing: base stock
    assert result.order_quantity[0] == result.reorder_point[0]  # from an empty position


def test_safety_stock_follows_the_design_formula_with_lead_time_variability() -> None:
    # SS = z·√((L + R)σ² + μ²σ_L²), rounded up to whole units.
    result = recommend(inputs(lead_time_sd=4.0, service_override=0.95))
    z = stats.norm.ppf(0.95)
    safety = z * math.sqrt((14 + 7) * 3.0**2 + 10.0**2 * 4.0**2)
    assert safety <= result.safety_stock[0] < safety + 1
    assert result.reorder_point[0] == math.ceil(10 * 21 + safety)


def test_slow_mover_reorder_point_is_the_poisson_quantile_by_enumeration() -> None:
    # 0.2 a day, sd √0.2: Poisson over 21 days, mean 4.2.
    result = recommend(inputs(demand_mean=0.2, demand_sd=math.sqrt(0.2), service_override=0.9))
    cdf = np.cumsum([math.exp(-4.2) * 4.2**k / math.factorial(k) for k in range(40)])
    expected = int(np.argmax(cdf >= 0.9))
    assert result.distribution[0] == "poisson"
    assert result.reorder_point[0] == expected


def test_over_dispersed_slow_mover_uses_the_negative_binomial() -> None:
    result = recommend(inputs(demand_mean=0.2, demand_sd=1.0, service_override=0.9))
    mean, var = 0.2 * 21, 21 * 1.0
    r, p = mean**2 / (var - mean), mean / var
    pmf = stats.nbinom.pmf(np.arange(400), r, p)
    assert result.distribution[0] == "negbin"
    assert result.reorder_point[0] == int(np.argmax(np.cumsum(pmf) >= 0.9))


@pytest.mark.parametrize("kind", ["poisson", "negbin", "normal"])
def test_loss_function_equals_direct_summation(kind: str) -> None:
    mean, sd = {"poisson": (4.2, math.sqrt(4.2)), "negbin": (4.2, 4.0), "normal": (40.0, 9.0)}[kind]
    demand = IntervalDemand(
        mean=np.full(12, mean), sd=np.full(12, sd), kind=np.full(12, kind).astype("<U7")
    )
    levels = np.arange(-1, 11, dtype=np.int64) * (4 if kind == "normal" else 1)
    k = np.arange(0, 2000)
    if kind == "poisson":
        pmf = stats.poisson.pmf(k, mean)
    elif kind == "negbin":
        pmf = stats.nbinom.pmf(k, mean**2 / (sd**2 - mean), mean / sd**2)
    else:
        grid = np.linspace(mean - 12 * sd, mean + 12 * sd, 200_001)
        dens = stats.norm.pdf(grid, mean, sd)
        direct = [np.trapezoid(np.maximum(grid - y, 0) * dens, grid) for y in levels]
        assert demand.loss(levels) == pytest.approx(direct, abs=1e-6)
        return
    direct = [float(np.sum(np.maximum(k - y, 0) * pmf)) for y in levels]
    assert demand.loss(levels) == pytest.approx(direct, abs=1e-9)


def test_shape_is_chosen_by_mean_and_dispersion() -> None:
    days = np.full(3, 21.0)
    demand = interval_demand(
        np.array([5.0, 0.1, 0.1]), np.array([2.0, 0.3, 1.0]), days, np.zeros(3), np.ones(3)
    )
    assert list(demand.kind) == ["normal", "poisson", "negbin"]


# ------------------------------------------------------------- customer value and explanation


def test_customer_value_at_risk_raises_the_level_above_margin_only() -> None:
    # A slow, costly item: holding over a long cycle is dear, so the price of a lost
    # customer visibly moves the level.
    slow: dict[str, Any] = {
        "demand_mean": 0.1,
        "demand_sd": 0.4,
        "unit_cost": 20000.0,
        "unit_price": 24000.0,
    }
    margin_only = recommend(inputs(**slow))
    priced = recommend(inputs(customer_value_at_risk=30000.0, **slow))
    assert priced.margin_lost[0] == 4000.0
    assert priced.shortage_cost_per_unit[0] == 34000.0
    assert priced.service_level[0] > priced.margin_only_service_level[0]
    assert priced.margin_only_service_level[0] == pytest.approx(margin_only.service_level[0])
    assert priced.reorder_point[0] > margin_only.reorder_point[0]
    text = priced.explain(0)
    assert "34,000" in text
    assert "margin only would choose" in text


def test_fill_rate_override_reaches_the_fill_rate_and_one_unit_less_does_not() -> None:
    result = recommend(inputs(service_override=0.98), target="fill")
    s = int(result.reorder_point[0])
    mean, sd = 10 * 21, 3 * math.sqrt(21)
    per_cycle = 10 * 7

    def fill(level: int) -> float:
        z = (level - mean) / sd
        return float(1 - sd * (stats.norm.pdf(z) - z * stats.norm.sf(z)) / per_cycle)

    assert fill(s) >= 0.98 > fill(s - 1)
    assert result.fill_rate[0] == pytest.approx(fill(s))


def test_a_slow_mover_is_kept_on_the_shelf_only_when_that_costs_less_than_losing_its_sales() -> (
    None
):
    # 0.01 a day over 12 days: P(no demand) = e^−0.12 = 0.887 above the critical ratio, so the
    # newsvendor says 0 — which, with lost sales, would never reorder. Stocking an MOQ of 10
    # costs ≈ 250/365 × 5.9 = 4.0 a day in holding; losing every sale costs 0.01 × margin.
    slow: dict[str, Any] = {
        "demand_mean": 0.01,
        "demand_sd": 0.1,
        "lead_time_mean": 5.0,
        "unit_cost": 1000.0,
        "moq": 10,
    }
    kept = recommend(inputs(unit_price=1500.0, **slow))  # losing sales: 5.0 a day
    dropped = recommend(inputs(unit_price=1300.0, **slow))  # losing sales: 3.0 a day
    assert kept.critical_ratio[0] < math.exp(-0.12)
    assert kept.reorder_point[0] == 1
    assert dropped.reorder_point[0] == 0
    assert recommend(inputs(on_hand=0, unit_price=1500.0, **slow)).order_quantity[0] == 10


def test_made_to_order_rows_are_never_stocked() -> None:
    result = recommend(inputs(made_to_order=True, customer_value_at_risk=5000.0))
    assert result.order_quantity[0] == 0
    assert result.reorder_point[0] == 0
    assert result.safety_stock[0] == 0
    assert result.basis[0] == "made_to_order"


def test_campaign_uplift_brings_the_order_forward() -> None:
    plain = recommend(inputs(on_hand=260))
    assert plain.order_quantity[0] == 0  # 260 covers the usual 21 days
    campaign = recommend(inputs(on_hand=260, demand_uplift=1.5))
    assert campaign.reorder_point[0] > 260
    assert campaign.order_quantity[0] > 0


def test_order_cost_sizes_a_lot_above_the_weekly_need() -> None:
    # EOQ = √(2·K·D/h) = √(2·5000·3650/250) ≈ 382 > 70 a week.
    result = recommend(inputs(order_cost=5000.0))
    # Ordered at IP = s − 1, the order is the lot: S − (s − 1) = ⌈EOQ − 70⌉ + the week's 70.
    assert result.order_up_to[0] - result.reorder_point[0] + 1 == math.ceil(
        math.sqrt(2 * 5000 * 3650 / 250) - 70
    )
    assert result.cycle_days[0] == pytest.approx(math.sqrt(2 * 5000 * 3650 / 250) / 10)


# ------------------------------------------------------------- bad input


def test_bad_input_names_the_field_and_rows() -> None:
    with pytest.raises(PolicyInputError, match=r"case_pack: must be ≥ 1 \(rows 1\)"):
        inputs(2, case_pack=np.array([1, 0]))
    with pytest.raises(PolicyInputError, match="demand_sd: must be finite"):
        inputs(demand_sd=math.inf)
    with pytest.raises(PolicyInputError, match="lead_time_mean: has 2 rows"):
        replace(inputs(1), lead_time_mean=np.zeros(2))
    with pytest.raises(PolicyInputError, match="service_override"):
        inputs(service_override=1.0)


# ------------------------------------------------------------- supplier capacity


def test_capacity_scales_a_suppliers_lines_in_proportion_to_whole_case_packs() -> None:
    quantity = np.array([120, 60, 24, 50], dtype=np.int64)
    supplier = np.array([1, 1, 1, 2], dtype=np.int64)
    capped = cap_by_supplier(
        quantity,
        supplier,
        {1: 102, 2: 100},
        moq=np.array([0, 0, 12, 0]),
        case_pack=np.array([12, 6, 12, 1]),
    )
    assert capped.tolist() == [60, 30, 12, 50]  # factor 0.5, down to packs; supplier 2 fits
    assert capped[:3].sum() <= 102


def test_capacity_by_priority_keeps_the_most_valuable_lines_whole() -> None:
    quantity = np.array([50, 40, 30], dtype=np.int64)
    capped = cap_by_supplier(
        quantity,
        np.zeros(3, dtype=np.int64),
        {0: 75},
        moq=np.zeros(3, dtype=np.int64),
        case_pack=np.array([1, 10, 1]),
        priority=np.array([1.0, 3.0, 2.0]),
    )
    assert capped.tolist() == [5, 40, 30]


# ------------------------------------------------------------- properties

rows = st.integers(min_value=1, max_value=6)
TARGETS: list[Target] = ["cycle", "fill"]


@st.composite
def random_inputs(draw: st.DrawFn) -> PolicyInputs:
    n = draw(rows)

    def floats(lo: float, hi: float) -> Any:
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n)))

    def ints(lo: int, hi: int) -> Any:
        return np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))

    mean = floats(0, 50)
    return inputs(
        n,
        demand_mean=mean,
        demand_sd=floats(0, 3) * np.sqrt(mean + 0.01),
        lead_time_mean=floats(0, 60),
        lead_time_sd=floats(0, 10),
        review_days=ints(1, 30),
        on_hand=ints(0, 2000),
        on_order=ints(0, 500),
        reserved=ints(0, 100),
        backorders=ints(0, 50),
        unit_cost=floats(1, 50000),
        unit_price=floats(0, 100000),
        holding_rate=floats(0, 1),
        customer_value_at_risk=floats(0, 100000),
        moq=ints(0, 200),
        case_pack=ints(1, 48),
        made_to_order=np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        order_cost=floats(0, 10000),
        demand_uplift=floats(0.5, 3),
    )


@settings(max_examples=150)
@given(random_inputs(), st.sampled_from(TARGETS))
def test_order_quantity_respects_moq_case_pack_and_position(
    policy: PolicyInputs, target: Target
) -> None:
    result = recommend(policy, target=target)
    q = result.order_quantity
    ordering = q > 0
    assert np.all(q >= 0)
    assert np.all(q % policy.case_pack == 0)
    assert np.all(q[ordering] >= policy.moq[ordering])
    assert np.all(q[result.inventory_position >= result.reorder_point] == 0)
    assert np.all(q[policy.made_to_order] == 0)
    # An order brings the position to at least the order-up-to level.
    reach = result.inventory_position + q
    assert np.all(reach[ordering] >= result.order_up_to[ordering])
    assert np.all(result.order_up_to >= result.reorder_point)


@settings(max_examples=150)
@given(random_inputs(), st.floats(0, 1e5), st.sampled_from(TARGETS))
def test_more_customer_value_at_risk_never_lowers_the_service_level(
    policy: PolicyInputs, extra: float, target: Target
) -> None:
    chosen = target
    before = recommend(policy, target=chosen)
    richer = replace(policy, customer_value_at_risk=policy.customer_value_at_risk + extra)
    after = recommend(richer, target=chosen)
    assert np.all(after.service_level >= before.service_level - 1e-12)
    assert np.all(after.reorder_point >= before.reorder_point)
    assert np.all(after.service_level >= after.margin_only_service_level - 1e-12)


@settings(max_examples=100)
@given(random_inputs(), st.floats(0.5, 0.999))
def test_a_cycle_override_is_met_by_the_smallest_reorder_point(
    policy: PolicyInputs, level: float
) -> None:
    fixed = replace(policy, service_override=np.full(len(policy), level))
    result = recommend(fixed)
    stocked = ~policy.made_to_order & (result.demand_over_protection > 0)
    assert np.all(result.cycle_service_level[stocked] >= level - 1e-9)
    demand = interval_demand(
        policy.demand_mean,
        policy.demand_sd,
        result.protection_days,
        policy.lead_time_sd,
        policy.demand_uplift if policy.demand_uplift is not None else np.ones(len(policy)),
    )
    lower = demand.cdf(result.reorder_point - 1)
    # A reorder point of 1 is the floor for a stocked row (0 would never reorder).
    above_floor = stocked & (result.reorder_point > 1)
    assert np.all(lower[above_floor] < level + 1e-9)
    assert np.all(result.reorder_point[stocked & (policy.demand_mean >= 1e-9)] >= 1)


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(st.integers(0, 500), st.integers(0, 2), st.integers(1, 24)),
        min_size=1,
        max_size=12,
    ),
    st.integers(0, 600),
    st.booleans(),
)
def test_supplier_capacity_is_never_exceeded_and_no_line_grows(
    lines: list[tuple[int, int, int]], limit: int, by_priority: bool
) -> None:
    pack = np.array([p for _, _, p in lines], dtype=np.int64)
    quantity = np.array([q // p * p for q, _, p in lines], dtype=np.int64)
    supplier = np.array([s for _, s, _ in lines], dtype=np.int64)
    moq = pack.copy()
    priority = np.arange(len(lines), dtype=np.float64) if by_priority else None
    capped = cap_by_supplier(
        quantity, supplier, {0: limit}, moq=moq, case_pack=pack, priority=priority
    )
    assert np.all(capped <= quantity)
    assert np.all(capped % pack == 0)
    assert np.all((capped == 0) | (capped >= moq))
    ours = supplier == 0
    if quantity[ours].sum() <= limit:
        assert np.array_equal(capped[ours], quantity[ours])
    else:
        assert capped[ours].sum() <= limit
    assert np.array_equal(capped[supplier != 0], quantity[supplier != 0])


@settings(max_examples=100)
@given(random_inputs(), st.floats(0.5, 0.995))
def test_a_fill_rate_override_is_reached_whatever_the_shape(
    policy: PolicyInputs, level: float
) -> None:
    result = recommend(replace(policy, service_override=np.full(len(policy), level)), target="fill")
    stocked = ~policy.made_to_order & (result.demand_over_protection > 0)
    assert np.all(result.fill_rate[stocked] >= level - 1e-9)
    assert np.all(result.service_level[stocked] == pytest.approx(level))
