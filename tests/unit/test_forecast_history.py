"""History cleaning: stock rebuilt from flows, censored days estimated, spikes flagged."""

from __future__ import annotations

import numpy as np

from soko.forecast.history import (
    estimate_censored,
    flag_spikes,
    on_hand_end_of_day,
    replace_tagged,
)


def test_stock_is_rebuilt_backwards_from_the_last_count() -> None:
    # Day 0: receive 5 and sell 2 → 3; day 1: sell 3 → 0; day 2: receive 4 → 4; day 3: sell 1 → 3.
    flows = np.array([[5.0 - 2.0, -3.0, 4.0, -1.0]])
    on_hand = on_hand_end_of_day(np.array([3.0]), flows)
    assert on_hand.tolist() == [[3.0, 0.0, 4.0, 3.0]]


def test_a_sold_out_day_is_estimated_from_the_clean_days_before_it() -> None:
    sales = np.array([[2.0] * 28 + [1.0, 0.0, 0.0]])
    censored = np.array([[False] * 28 + [True, True, True]])
    active = np.ones_like(censored)
    estimate = estimate_censored(sales, censored, active)
    assert estimate[0, :28].tolist() == [2.0] * 28, "clean days are kept as sold"
    assert estimate[0, 28:].tolist() == [2.0, 2.0, 2.0], "trailing clean mean, not cut sales"


def test_days_outside_the_season_are_not_estimated() -> None:
    sales = np.array([[3.0] * 30 + [0.0] * 5])
    censored = np.array([[False] * 30 + [True] * 5])
    active = np.array([[True] * 30 + [False] * 5])
    assert estimate_censored(sales, censored, active)[0, 30:].tolist() == [0.0] * 5


def test_a_bulk_order_is_flagged_and_left_out_only_when_tagged() -> None:
    y = np.ones((1, 120))
    y[0, 100] = 40.0
    flagged = flag_spikes(y)
    assert flagged[0].nonzero()[0].tolist() == [100]
    assert replace_tagged(y, np.zeros_like(flagged))[0, 100] == 40.0
    assert replace_tagged(y, flagged)[0, 100] == 1.0
