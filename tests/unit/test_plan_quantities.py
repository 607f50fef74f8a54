"""Order quantities a supplier accepts, and the seasonal newsvendor buy, checked independently."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from soko.planning.quantities import is_orderable, orderable
from soko.planning.seasonal import seasonal_buy


@given(
    shortfall=st.integers(min_value=-50, max_value=5_000),
    case_pack=st.integers(min_value=1, max_value=48),
    moq=st.integers(min_value=1, max_value=200),
)
def test_an_order_is_whole_cases_at_least_the_moq_and_covers_the_shortfall(
    shortfall: int, case_pack: int, moq: int
) -> None:
    qty = int(
        orderable(np.array([shortfall]), case_pack=np.array([case_pack]), moq=np.array([moq]))[0]
    )
    if shortfall <= 0:
        assert qty == 0
        return
    assert qty % case_pack == 0
    assert qty >= moq
    assert qty >= shortfall
    # and it is the smallest such quantity
    assert qty - case_pack < max(shortfall, moq)
    assert is_orderable(qty, case_pack=case_pack, moq=moq)


def test_a_buyer_quantity_off_the_case_pack_or_below_the_moq_is_not_orderable() -> None:
    assert is_orderable(0, case_pack=6, moq=12)
    assert is_orderable(18, case_pack=6, moq=12)
    assert not is_orderable(6, case_pack=6, moq=12)
    assert not is_orderable(13, case_pack=6, moq=12)


def _enumerated_best_level(mean: float, overage: float, underage: float) -> int:
    """Brute force: the integer stock y minimising Co·E[(y−D)⁺] + Cu·E[(D−y)⁺], D ~ Poisson."""
    d = np.arange(0, int(mean * 10 + 50))
    p = stats.poisson.pmf(d, mean)
    costs = [
        overage * float(np.sum(np.maximum(y - d, 0) * p))
        + underage * float(np.sum(np.maximum(d - y, 0) * p))
        for y in range(len(d))
    ]
    return int(np.argmin(costs))


def test_a_slow_seasonal_item_is_stocked_to_the_poisson_newsvendor_optimum() -> None:
    # Cost 3,000, marked down to 1,000 at season end, a unit short costs 5,000.
    buy = seasonal_buy(
        demand_mean=6.0,
        demand_sd=2.45,
        inventory_position=2,
        unit_cost=3000.0,
        salvage_value=1000.0,
        shortage_cost=5000.0,
        days_left=60,
        lead_time_days=14,
    )
    best = _enumerated_best_level(6.0, overage=2000.0, underage=5000.0)
    assert buy.target == best
    assert buy.quantity == best - 2
    assert abs(buy.critical_ratio - 5000 / 7000) < 1e-12


def test_stock_already_above_the_season_target_buys_nothing_and_says_so() -> None:
    buy = seasonal_buy(
        demand_mean=4.0,
        demand_sd=2.0,
        inventory_position=30,
        unit_cost=3000.0,
        salvage_value=900.0,
        shortage_cost=4000.0,
        days_left=45,
        lead_time_days=10,
    )
    assert buy.quantity == 0
    assert "stock_exceeds_season" in buy.flags
    assert "leftover_at_season_end" not in buy.flags  # nothing bought, nothing to flag
    # E[(30 − D)⁺] for D ~ Poisson(4) is 26 units left over
    assert abs(buy.expected_leftover - 26.0) < 1e-6
    assert buy.leftover_from_buy == 0.0


def test_goods_that_would_arrive_after_the_season_are_not_bought() -> None:
    buy = seasonal_buy(
        demand_mean=40.0,
        demand_sd=8.0,
        inventory_position=0,
        unit_cost=2000.0,
        salvage_value=500.0,
        shortage_cost=6000.0,
        days_left=10,
        lead_time_days=21,
    )
    assert buy.quantity == 0
    assert "arrives_after_season" in buy.flags


def _poisson_leftover(mean: float, level: int) -> float:
    d = np.arange(0, int(mean * 10 + 50))
    return float(np.sum(np.maximum(level - d, 0) * stats.poisson.pmf(d, mean)))


def test_a_buy_expected_to_leave_stock_at_season_end_is_flagged() -> None:
    # A markdown close to cost makes the newsvendor buy well above the mean.
    buy = seasonal_buy(
        demand_mean=8.0,
        demand_sd=2.8,
        inventory_position=6,
        unit_cost=2000.0,
        salvage_value=1900.0,
        shortage_cost=6000.0,
        days_left=90,
        lead_time_days=14,
    )
    level = 6 + int(buy.quantity)
    from_buy = _poisson_leftover(8.0, level) - _poisson_leftover(8.0, 6)
    assert abs(buy.leftover_from_buy - from_buy) < 1e-6
    assert from_buy >= max(1.0, 0.25 * buy.quantity)
    assert "leftover_at_season_end" in buy.flags


def test_a_modest_top_up_is_not_flagged() -> None:
    # Even odds between a unit short and a unit marked down: stock to about the median.
    buy = seasonal_buy(
        demand_mean=8.0,
        demand_sd=2.8,
        inventory_position=3,
        unit_cost=2000.0,
        salvage_value=0.0,
        shortage_cost=2000.0,
        days_left=90,
        lead_time_days=14,
    )
    assert buy.quantity == 5
    assert "leftover_at_season_end" not in buy.flags


def test_a_case_packed_buy_is_judged_as_it_will_be_ordered() -> None:
    buy = seasonal_buy(
        demand_mean=8.0,
        demand_sd=2.8,
        inventory_position=3,
        unit_cost=2000.0,
        salvage_value=0.0,
        shortage_cost=2000.0,
        days_left=90,
        lead_time_days=14,
        rounding=lambda q: float(-(-q // 12) * 12),
    )
    assert buy.quantity == 12
    from_buy = _poisson_leftover(8.0, 15) - _poisson_leftover(8.0, 3)
    assert abs(buy.leftover_from_buy - from_buy) < 1e-6
    assert "leftover_at_season_end" in buy.flags
