"""The textbook calculator against published worked examples and independent computation.

Published figures: the worked examples and end-of-chapter problems of Snyder &
Shen, *Fundamentals of Supply Chain Theory* (2nd ed.), as transcribed with
their parameters by the book's first author in stockpyl (github.com/LarrySnyder/
stockpyl, ``tests/test_newsvendor.py``, ``test_eoq.py``, ``test_rq.py``,
``test_ss.py`` and ``src/stockpyl/instances.py``); and Table I of Zheng &
Federgruen (1991), "Finding optimal (s, S) policies is about as simple as
evaluating a single policy", Operations Research 39(4) 654-665 (h = 1, p = 9,
K = 64, Poisson demand), as transcribed in stockpyl's ``tests/test_ss.py``.
Each published figure is asserted to 4 significant figures (the Zheng & Federgruen
costs to their 3 decimals), except the reorder point and order quantity of
Example 5.1: those are printed to one decimal, (126.8, 328.5), and the exact
optimum (126.867, 328.449) is 0.07 from each while costing no more.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats
from typer.testing import CliRunner

from soko.cli_policy import policy_app
from soko.policy import CalculatorInputError, calculate, textbook
from soko.policy.textbook import (
    Normal,
    Poisson,
    base_stock,
    eoq,
    eoq_cost,
    newsvendor,
    newsvendor_cost,
    rq,
    rq_cost,
    ss,
    ss_cost,
)


def assert_4_significant(value: float, published: float) -> None:
    """``value`` rounds to ``published`` at 4 significant figures (half a unit in the 4th)."""
    unit = 10.0 ** (math.floor(math.log10(abs(published))) - 3)
    assert abs(value - published) <= 0.5 * unit, f"{value} vs published {published}"


def g_cost(level: float, demand: Normal | Poisson, h: float, p: float) -> float:
    return float(newsvendor_cost(level, demand, holding_cost=h, stockout_cost=p))


# ------------------------------------------------------------- published examples


def test_snyder_shen_example_4_3_newsvendor_normal() -> None:
    # h = 0.18, p = 0.70, D ~ N(50, 8²): S* = 56.60, g(S*) = 1.998; g(40) = 7.356.
    answer = calculate(
        {
            "model": "newsvendor",
            "demand": {"dist": "normal", "mean": 50, "sd": 8},
            "holding_cost": 0.18,
            "stockout_cost": 0.70,
        }
    )
    assert set(answer) == {"order_up_to", "expected_cost"}
    assert_4_significant(answer["order_up_to"], 56.603955927433887)
    assert_4_significant(answer["expected_cost"], 1.997605193176645)
    assert_4_significant(g_cost(40, Normal(50, 8), 0.18, 0.70), 7.356131552870388)


def test_snyder_shen_problem_4_1_newsvendor_normal() -> None:
    # h = 65 − 22, p = 129 − 65 + 15, D ~ N(900, 60²): S* = 922.7, g = 2718; g(1040) = 6044.
    solved = newsvendor(Normal(900, 60), holding_cost=43, stockout_cost=79)
    assert_4_significant(solved.order_up_to, 922.7214038234755)
    assert_4_significant(solved.expected_cost, 2718.196781782411)
    assert_4_significant(g_cost(1040, Normal(900, 60), 43, 79), 6044.298415188692)


def test_snyder_shen_example_4_7_newsvendor_poisson() -> None:
    # h = 1, p = 4, D ~ Poisson(6), no fixed cost: S* = 8, g = 3.570; g(5) = 6.590.
    answer = calculate(
        {
            "model": "newsvendor",
            "demand": {"dist": "poisson", "mean": 6},
            "holding_cost": 1,
            "stockout_cost": 4,
        }
    )
    assert answer["order_up_to"] == 8
    assert isinstance(answer["order_up_to"], int)
    assert_4_significant(answer["expected_cost"], 3.570106945770946)
    assert_4_significant(g_cost(5, Poisson(6), 1, 4), 6.590296024616344)


def test_snyder_shen_problem_4_8a_newsvendor_poisson() -> None:
    # h = 200, p = 270, D ~ Poisson(18): S* = 19, g = 786.1; g(13) = 1446.
    solved = newsvendor(Poisson(18), holding_cost=200, stockout_cost=270)
    assert solved.order_up_to == 19
    assert_4_significant(solved.expected_cost, 786.0884409351115)
    assert_4_significant(g_cost(13, Poisson(18), 200, 270), 1445.751062891969)


def test_snyder_shen_example_4_4_base_stock_normal() -> None:
    # Example 4.3 with L = 4: protection interval 5 periods, S* = 264.8, g = 4.467; g(180) = 49.00.
    answer = calculate(
        {
            "model": "base_stock",
            "demand": {"dist": "normal", "mean": 50, "sd": 8},
            "lead_time": 4,
            "holding_cost": 0.18,
            "stockout_cost": 0.70,
        }
    )
    assert set(answer) == {"order_up_to", "expected_cost"}
    assert_4_significant(answer["order_up_to"], 264.7668943741548)
    assert_4_significant(answer["expected_cost"], 4.466781004149578)
    five_periods = Normal(50, 8).over(5)
    assert_4_significant(g_cost(180, five_periods, 0.18, 0.70), 49.000164748034095)


def test_snyder_shen_example_3_1_eoq() -> None:
    # K = 8, h = 0.75 × 0.3, λ = 1300 per year: Q* = 304.0, g(Q*) = 68.41.
    answer = calculate(
        {"model": "eoq", "fixed_cost": 8, "holding_cost": 0.75 * 0.3, "annual_demand": 1300}
    )
    assert set(answer) == {"order_quantity", "expected_cost"}
    assert_4_significant(answer["order_quantity"], 304.0467800264368)
    assert_4_significant(answer["expected_cost"], 68.410525505948272)


def test_snyder_shen_problem_3_1_eoq() -> None:
    # K = 2250, h = 275, λ = 500 × 365: Q* = 1728, g(Q*) = 475200.
    solved = eoq(fixed_cost=2250, holding_cost=275, demand_rate=500 * 365)
    assert_4_significant(solved.order_quantity, 1728.109844993551)
    assert_4_significant(solved.expected_cost, 475230.2073732266)


EXAMPLE_5_1 = {
    "model": "rq",
    "demand": {"dist": "normal", "mean": 1300, "sd": 150},
    "lead_time": 1 / 12,
    "holding_cost": 0.225,
    "stockout_cost": 7.5,
    "fixed_cost": 8,
}


def test_snyder_shen_example_5_1_rq_normal() -> None:
    # h = 0.225, p = 7.5, K = 8, λ = 1300/yr, τ = 150, L = 1/12 yr. Published optimum
    # (r, Q) = (126.8, 328.5) with g = 78.07; g(100, 250) = 87.35.
    answer = calculate(EXAMPLE_5_1)
    assert set(answer) == {"reorder_point", "order_quantity", "expected_cost"}
    assert_4_significant(answer["expected_cost"], 78.071162509282942)
    # The published r and Q carry one decimal; the exact optimum (126.87, 328.45)
    # is within 0.07 of each and is no more costly than the published pair.
    assert answer["reorder_point"] == pytest.approx(126.8, abs=0.07)
    assert answer["order_quantity"] == pytest.approx(328.5, abs=0.07)
    assert answer["expected_cost"] <= 78.071162509282942
    demand, kw = Normal(1300, 150), _rq_kw(EXAMPLE_5_1)
    assert_4_significant(rq_cost(126.8, 328.5, demand, **kw), 78.071162509282942)
    assert_4_significant(rq_cost(100, 250, demand, **kw), 87.346478028174985)


def test_snyder_shen_problem_5_1_rq_normal() -> None:
    # h = 3.1, p = 45, K = 50, λ = 800, τ = 40, L = 4/365: published (r, Q) = (−1.9859,
    # 166.95) with g = 484.2; g(100, 250) = 830.3.
    demand = Normal(800, 40)
    kw = {"lead_time": 4 / 365, "holding_cost": 3.1, "stockout_cost": 45.0, "fixed_cost": 50.0}
    solved = rq(demand, **kw)
    assert_4_significant(solved.reorder_point, -1.9859)
    assert_4_significant(solved.order_quantity, 166.95)
    assert_4_significant(solved.expected_cost, 484.2110418415538)
    assert_4_significant(rq_cost(100, 250, demand, **kw), 830.3219178082192)


def test_snyder_shen_example_5_8_rq_poisson() -> None:
    # h = 20, p = 150, K = 100, λ = 1.5, L = 2: (r*, Q*) = (3, 5), g = 107.9; g(8, 12) = 242.5.
    answer = calculate(
        {
            "model": "rq",
            "demand": {"dist": "poisson", "mean": 1.5},
            "lead_time": 2,
            "holding_cost": 20,
            "stockout_cost": 150,
            "fixed_cost": 100,
        }
    )
    assert (answer["reorder_point"], answer["order_quantity"]) == (3, 5)
    assert_4_significant(answer["expected_cost"], 107.9235806331498)
    kw = {"lead_time": 2.0, "holding_cost": 20.0, "stockout_cost": 150.0, "fixed_cost": 100.0}
    assert_4_significant(rq_cost(8, 12, Poisson(1.5), **kw), 242.5281637662021)


def test_snyder_shen_problem_5_2_rq_poisson() -> None:
    # h = 4, p = 28, K = 4, λ = 12, L = 0.5: (r*, Q*) = (6, 7), g = 28.24; g(3, 9) = 34.26.
    kw = {"lead_time": 0.5, "holding_cost": 4.0, "stockout_cost": 28.0, "fixed_cost": 4.0}
    solved = rq(Poisson(12), **kw)
    assert (solved.reorder_point, solved.order_quantity) == (6, 7)
    assert_4_significant(solved.expected_cost, 28.241312842169155)
    assert_4_significant(rq_cost(3, 9, Poisson(12), **kw), 34.264154469469503)


def test_snyder_shen_example_4_7_ss_poisson() -> None:
    # h = 1, p = 4, K = 5, D ~ Poisson(6), L = 0: (s*, S*) = (4, 10), g = 8.034; g(6, 18) = 10.19.
    answer = calculate(
        {
            "model": "ss",
            "demand": {"dist": "poisson", "mean": 6},
            "holding_cost": 1,
            "stockout_cost": 4,
            "fixed_cost": 5,
        }
    )
    assert set(answer) == {"s", "S", "expected_cost"}
    assert (answer["s"], answer["S"]) == (4, 10)
    assert_4_significant(answer["expected_cost"], 8.034111561471644)
    cost = ss_cost(6, 18, Poisson(6), holding_cost=1, stockout_cost=4, fixed_cost=5)
    assert_4_significant(cost, 10.193798671644046)


def test_snyder_shen_problem_4_31_ss_poisson() -> None:
    # h = 40, p = 125, K = 150, D ~ Poisson(4): (s*, S*) = (2, 7), g = 223.6; g(4, 10) = 262.3.
    solved = ss(Poisson(4), holding_cost=40, stockout_cost=125, fixed_cost=150)
    assert (solved.s, solved.S) == (2, 7)
    assert_4_significant(solved.expected_cost, 223.5748295669688)
    cost = ss_cost(4, 10, Poisson(4), holding_cost=40, stockout_cost=125, fixed_cost=150)
    assert_4_significant(cost, 262.2755613772775)


ZHENG_FEDERGRUEN_TABLE_1 = [  # mean, s*, S*, c(s*, S*) for h = 1, p = 9, K = 64
    (10, 6, 40, 35.022), (15, 10, 49, 42.698), (20, 14, 62, 49.173), (25, 19, 56, 54.262),
    (30, 23, 66, 57.819), (35, 28, 77, 61.215), (40, 33, 87, 64.512), (45, 37, 97, 67.776),
    (50, 42, 108, 70.975), (55, 47, 118, 74.149), (60, 52, 129, 77.306), (65, 56, 75, 78.518),
    (70, 62, 81, 79.037), (75, 67, 86, 79.554), (21, 15, 65, 50.406), (22, 16, 68, 51.632),
    (23, 17, 52, 52.757), (24, 18, 54, 53.518), (51, 43, 110, 71.611), (52, 44, 112, 72.246),
    (59, 51, 126, 76.679), (61, 52, 131, 77.929), (63, 54, 73, 78.287), (64, 55, 74, 78.402),
]  # fmt: skip


@pytest.mark.parametrize(("mean", "s", "big_s", "cost"), ZHENG_FEDERGRUEN_TABLE_1)
def test_zheng_federgruen_1991_table_1_ss_poisson(
    mean: int, s: int, big_s: int, cost: float
) -> None:
    solved = ss(Poisson(mean), holding_cost=1, stockout_cost=9, fixed_cost=64)
    assert (solved.s, solved.S) == (s, big_s)
    assert solved.expected_cost == pytest.approx(cost, abs=5e-4)  # the table's 3 decimals


# ------------------------------------------------------------- independent checks


def _rq_kw(request: dict[str, object]) -> dict[str, float]:
    keys = ("lead_time", "holding_cost", "stockout_cost", "fixed_cost")
    return {key: float(cast(float, request[key])) for key in keys}


def _quad_newsvendor_cost(level: float, mean: float, sd: float, h: float, p: float) -> float:
    """g(y) by numerical integration of the cost against the normal density."""
    pdf = stats.norm(mean, sd).pdf
    over, _ = integrate.quad(lambda x: (level - x) * pdf(x), mean - 12 * sd, level)
    under, _ = integrate.quad(lambda x: (x - level) * pdf(x), level, mean + 12 * sd)
    return float(h * over + p * under)


def _sum_newsvendor_cost(level: int, mean: float, h: float, p: float) -> float:
    """g(y) by direct summation over the Poisson probabilities."""
    d = np.arange(int(mean + 40 * math.sqrt(mean) + 40))
    pmf = stats.poisson.pmf(d, mean)
    return float(np.sum(pmf * (h * np.maximum(level - d, 0) + p * np.maximum(d - level, 0))))


@pytest.mark.parametrize(("mean", "sd", "h", "p"), [(50, 8, 0.18, 0.7), (900, 60, 43, 79),
                                                    (5, 2, 3, 1), (100, 30, 1, 99)])  # fmt: skip
def test_normal_newsvendor_matches_numerical_integration_and_its_minimiser(
    mean: float, sd: float, h: float, p: float
) -> None:
    solved = newsvendor(Normal(mean, sd), holding_cost=h, stockout_cost=p)
    assert solved.expected_cost == pytest.approx(
        _quad_newsvendor_cost(solved.order_up_to, mean, sd, h, p), rel=1e-8
    )
    best = optimize.minimize_scalar(
        lambda y: _quad_newsvendor_cost(y, mean, sd, h, p),
        bounds=(mean - 5 * sd, mean + 5 * sd),
        method="bounded",
        options={"xatol": 1e-9 * sd},
    )
    assert solved.order_up_to == pytest.approx(best.x, abs=1e-3 * sd)
    assert solved.expected_cost <= best.fun + 1e-9


@pytest.mark.parametrize(("mean", "h", "p"), [(6, 1, 4), (18, 200, 270), (0.7, 2, 9), (40, 5, 1)])
def test_poisson_newsvendor_matches_enumeration(mean: float, h: float, p: float) -> None:
    solved = newsvendor(Poisson(mean), holding_cost=h, stockout_cost=p)
    levels = range(int(mean + 10 * math.sqrt(mean) + 10))
    costs = [_sum_newsvendor_cost(y, mean, h, p) for y in levels]
    assert solved.order_up_to == int(np.argmin(costs))
    assert solved.expected_cost == pytest.approx(min(costs), rel=1e-10)


@pytest.mark.parametrize("lead_time", [0, 1, 3, 7])
def test_poisson_base_stock_matches_enumeration_over_the_protection_interval(
    lead_time: int,
) -> None:
    solved = base_stock(Poisson(2.5), lead_time=lead_time, holding_cost=1, stockout_cost=19)
    mean = 2.5 * (lead_time + 1)
    costs = [_sum_newsvendor_cost(y, mean, 1, 19) for y in range(80)]
    assert solved.order_up_to == int(np.argmin(costs))
    assert solved.expected_cost == pytest.approx(min(costs), rel=1e-10)


def test_normal_base_stock_matches_grid_minimum_of_the_integrated_cost() -> None:
    solved = base_stock(Normal(20, 6), lead_time=2, holding_cost=1, stockout_cost=9)
    mean, sd = 60, 6 * math.sqrt(3)
    grid = np.linspace(mean - 3 * sd, mean + 4 * sd, 71)
    costs = [_quad_newsvendor_cost(y, mean, sd, 1, 9) for y in grid]
    assert solved.order_up_to == pytest.approx(grid[int(np.argmin(costs))], abs=grid[1] - grid[0])
    assert solved.expected_cost <= min(costs) + 1e-9


def test_rq_normal_cost_matches_numerical_integration_of_g() -> None:
    demand, kw = Normal(1300, 150), _rq_kw(EXAMPLE_5_1)
    lead = demand.over(kw["lead_time"])
    for r, q in [(126.8, 328.5), (-50, 30), (300, 900)]:
        integral, _ = integrate.quad(
            lambda y: _quad_newsvendor_cost(y, lead.mean, lead.sd, 0.225, 7.5), r, r + q
        )
        expected = (kw["fixed_cost"] * demand.mean + integral) / q
        assert rq_cost(r, q, demand, **kw) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    ("mean", "sd", "lead_time", "h", "p", "k"),
    [(1300, 150, 1 / 12, 0.225, 7.5, 8), (192, 17.4, 3, 1.5 / 7, 40, 85), (10, 4, 2, 1, 20, 30)],
)
def test_rq_normal_exact_optimum_beats_every_point_of_a_grid(
    mean: float, sd: float, lead_time: float, h: float, p: float, k: float
) -> None:
    demand = Normal(mean, sd)
    kw = {"lead_time": lead_time, "holding_cost": h, "stockout_cost": p, "fixed_cost": k}
    solved = rq(demand, **kw)
    rs = np.linspace(solved.reorder_point - 0.5 * solved.order_quantity,
                     solved.reorder_point + 0.5 * solved.order_quantity, 41)  # fmt: skip
    qs = np.linspace(0.3 * solved.order_quantity, 2.0 * solved.order_quantity, 41)
    grid = np.array([[rq_cost(r, q, demand, **kw) for q in qs] for r in rs])
    assert solved.expected_cost <= grid.min() + 1e-9 * solved.expected_cost
    i, j = np.unravel_index(int(np.argmin(grid)), grid.shape)
    assert solved.reorder_point == pytest.approx(rs[i], abs=rs[1] - rs[0])
    assert solved.order_quantity == pytest.approx(qs[j], abs=qs[1] - qs[0])


def _level_set(cost_bound: float, mean: float, h: float, p: float) -> tuple[int, int]:
    """Smallest and largest integer y with g(y) ≤ cost_bound (g convex)."""
    ys = range(-200, int(mean + 20 * math.sqrt(mean) + 200))
    inside = [y for y in ys if _sum_newsvendor_cost(y, mean, h, p) <= cost_bound]
    return min(inside), max(inside)


@pytest.mark.parametrize(
    ("mean", "lead_time", "h", "p", "k"),
    [(1.5, 2, 20, 150, 100), (12, 0.5, 4, 28, 4), (3, 1, 1, 5, 10), (0.4, 3, 2, 30, 50)],
)
def test_rq_poisson_exact_optimum_matches_brute_force(
    mean: float, lead_time: float, h: float, p: float, k: float
) -> None:
    solved = rq(Poisson(mean), lead_time=lead_time, holding_cost=h, stockout_cost=p, fixed_cost=k)
    lead_mean = mean * lead_time
    g = {y: _sum_newsvendor_cost(y, lead_mean, h, p) for y in range(-100, 200)}
    # Any feasible policy bounds C*, and the optimal window {r+1, …, r+Q} lies in
    # {y : g(y) ≤ C*} (Federgruen & Zheng 1992), so this box contains the optimum.
    y_star = min(g, key=g.__getitem__)
    feasible = k * mean + g[y_star]
    lo, hi = _level_set(feasible, lead_mean, h, p)
    best = min(
        ((k * mean + sum(g[y] for y in range(r + 1, r + q + 1))) / q, r, q)
        for r in range(lo - 1, hi)
        for q in range(1, hi - r + 1)
    )
    assert solved.expected_cost == pytest.approx(best[0], rel=1e-9)
    kw = {"lead_time": lead_time, "holding_cost": h, "stockout_cost": p, "fixed_cost": k}
    at_optimum = rq_cost(solved.reorder_point, solved.order_quantity, Poisson(mean), **kw)
    assert at_optimum == pytest.approx(best[0])


def _markov_ss_cost(s: int, big_s: int, mean: float, h: float, p: float, k: float) -> float:
    """c(s, S) from the stationary law of the post-order inventory position on {s+1, …, S}."""
    states = np.arange(s + 1, big_s + 1)
    n = len(states)
    transition = np.zeros((n, n))
    for i, y in enumerate(states):
        for j, x in enumerate(states):
            transition[i, j] = stats.poisson.pmf(y - x, mean) if x <= y else 0.0
        transition[i, n - 1] += stats.poisson.sf(y - s - 1, mean)  # fell to ≤ s: order up to S
    a = np.vstack([transition.T - np.eye(n), np.ones(n)])
    pi = np.linalg.lstsq(a, np.r_[np.zeros(n), 1.0], rcond=None)[0]
    ordering = sum(pi[i] * stats.poisson.sf(y - s - 1, mean) for i, y in enumerate(states))
    holding = sum(pi[i] * _sum_newsvendor_cost(int(y), mean, h, p) for i, y in enumerate(states))
    return float(k * ordering + holding)


@pytest.mark.parametrize(("mean", "h", "p", "k"), [(6, 1, 4, 5), (4, 40, 125, 150), (2, 1, 9, 12)])
def test_ss_optimum_matches_brute_force_over_every_policy_within_the_bound(
    mean: float, h: float, p: float, k: float
) -> None:
    solved = ss(Poisson(mean), holding_cost=h, stockout_cost=p, fixed_cost=k)
    # s* + 1 and S* lie in {y : G(y) ≤ c*} ⊆ {y : G(y) ≤ c(y* − 1, y*)} (Zheng &
    # Federgruen 1991, Lemma 1), so enumerating that box is exhaustive.
    y_star = int(newsvendor(Poisson(mean), holding_cost=h, stockout_cost=p).order_up_to)
    feasible = _markov_ss_cost(y_star - 1, y_star, mean, h, p, k)
    lo, hi = _level_set(feasible, mean, h, p)
    best = min(
        (_markov_ss_cost(s, big_s, mean, h, p, k), s, big_s)
        for s in range(lo - 1, hi)
        for big_s in range(s + 1, hi + 1)
    )
    assert (solved.s, solved.S) == best[1:]
    assert solved.expected_cost == pytest.approx(best[0], rel=1e-9)


def test_eoq_cost_is_convex_and_least_at_the_eoq() -> None:
    kw = {"fixed_cost": 8.0, "holding_cost": 0.225, "demand_rate": 1300.0}
    solved = eoq(**kw)
    qs = np.linspace(20, 2000, 500)
    costs = np.array([eoq_cost(q, **kw) for q in qs])
    assert np.all(np.diff(costs, 2) > 0)
    assert solved.expected_cost == pytest.approx(eoq_cost(solved.order_quantity, **kw))
    assert solved.expected_cost <= costs.min()


# ------------------------------------------------------------- properties

positive = st.floats(min_value=0.01, max_value=100, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    mean=st.floats(0, 1000),
    sd=st.floats(0.1, 200),
    h=positive,
    p=positive,
    shift=st.floats(-3, 3).filter(lambda x: abs(x) > 1e-6),
)
def test_normal_newsvendor_cost_at_optimum_is_no_more_than_at_any_other_level(
    mean: float, sd: float, h: float, p: float, shift: float
) -> None:
    solved = newsvendor(Normal(mean, sd), holding_cost=h, stockout_cost=p)
    other = g_cost(solved.order_up_to + shift * sd, Normal(mean, sd), h, p)
    assert solved.expected_cost <= other * (1 + 1e-12)


@settings(max_examples=25, deadline=None)
@given(
    mean=st.floats(1, 500),
    cv=st.floats(0.05, 1),
    lead_time=st.floats(0.1, 5),
    h=positive,
    p=positive,
    k=st.floats(0.5, 500),
    dr=st.floats(-1, 1),
    dq=st.floats(-0.9, 2),
)
def test_rq_normal_cost_at_optimum_is_no_more_than_at_perturbed_parameters(
    mean: float, cv: float, lead_time: float, h: float, p: float, k: float, dr: float, dq: float
) -> None:
    demand = Normal(mean, cv * mean)
    kw = {"lead_time": lead_time, "holding_cost": h, "stockout_cost": p, "fixed_cost": k}
    solved = rq(demand, **kw)
    r = solved.reorder_point + dr * solved.order_quantity
    q = solved.order_quantity * (1 + dq)
    assert solved.expected_cost <= rq_cost(r, q, demand, **kw) * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    normal=st.booleans(),
    mean=st.floats(0.5, 200),
    lead_time=st.integers(0, 8),
    h=positive,
    p=positive,
    more=st.floats(0, 100),
)
def test_higher_stockout_cost_never_lowers_the_order_up_to_level(
    normal: bool, mean: float, lead_time: int, h: float, p: float, more: float
) -> None:
    demand: Normal | Poisson = Normal(mean, 0.4 * mean) if normal else Poisson(mean)
    low = base_stock(demand, lead_time=lead_time, holding_cost=h, stockout_cost=p)
    high = base_stock(demand, lead_time=lead_time, holding_cost=h, stockout_cost=p + more)
    assert high.order_up_to >= low.order_up_to


@settings(max_examples=20, deadline=None)
@given(mean=st.floats(0.5, 30), h=positive, p=positive, k=st.floats(0.5, 200))
def test_ss_optimum_is_no_worse_than_its_neighbours(
    mean: float, h: float, p: float, k: float
) -> None:
    demand = Poisson(mean)
    solved = ss(demand, holding_cost=h, stockout_cost=p, fixed_cost=k)
    for ds, d_big_s in [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (1, 1)]:
        s, big_s = solved.s + ds, solved.S + d_big_s
        if big_s > s:
            other = ss_cost(s, big_s, demand, holding_cost=h, stockout_cost=p, fixed_cost=k)
            assert solved.expected_cost <= other * (1 + 1e-12)


# ------------------------------------------------------------- request validation

EOQ_CASE = {"model": "eoq", "fixed_cost": 1, "holding_cost": 1, "annual_demand": 10}


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ([], "request"),
        ({}, "model"),
        ({"model": "wagner_whitin"}, "model"),
        ({"model": "eoq", "holding_cost": 1, "annual_demand": 10}, "fixed_cost"),
        ({**EOQ_CASE, "x": 1}, "x"),
        ({**EOQ_CASE, "holding_cost": "1"}, "holding_cost"),
        ({**EOQ_CASE, "holding_cost": True}, "holding_cost"),
        ({**EOQ_CASE, "annual_demand": -1}, "annual_demand"),
        ({"model": "newsvendor", "demand": {"dist": "normal", "mean": 5, "sd": 1},
          "holding_cost": 1, "stockout_cost": 0}, "stockout_cost"),
        ({"model": "newsvendor", "demand": {"dist": "normal", "mean": 5},
          "holding_cost": 1, "stockout_cost": 2}, "demand.sd"),
        ({"model": "newsvendor", "demand": {"dist": "gamma", "mean": 5},
          "holding_cost": 1, "stockout_cost": 2}, "demand.dist"),
        ({"model": "newsvendor", "demand": {"dist": "poisson", "mean": 5, "sd": 1},
          "holding_cost": 1, "stockout_cost": 2}, "demand.sd"),
        ({"model": "newsvendor", "demand": {"dist": "poisson", "mean": 5}, "lead_time": 2,
          "holding_cost": 1, "stockout_cost": 2}, "lead_time"),
        ({"model": "newsvendor", "demand": {"dist": "poisson", "mean": 5}, "fixed_cost": 2,
          "holding_cost": 1, "stockout_cost": 2}, "fixed_cost"),
        ({"model": "base_stock", "demand": {"dist": "poisson", "mean": 5},
          "holding_cost": 1, "stockout_cost": 2}, "lead_time"),
        ({"model": "rq", "demand": {"dist": "normal", "mean": 5, "sd": 1}, "lead_time": 0,
          "holding_cost": 1, "stockout_cost": 2, "fixed_cost": 3}, "lead_time"),
        ({"model": "ss", "demand": {"dist": "normal", "mean": 5, "sd": 1},
          "holding_cost": 1, "stockout_cost": 2, "fixed_cost": 3}, "demand.dist"),
        ({"model": "ss", "demand": "poisson",
          "holding_cost": 1, "stockout_cost": 2, "fixed_cost": 3}, "demand"),
        ({"model": "ss", "demand": {"dist": "poisson", "mean": float("nan")},
          "holding_cost": 1, "stockout_cost": 2, "fixed_cost": 3}, "demand.mean"),
    ],
)  # fmt: skip
def test_invalid_requests_are_refused_naming_the_field(request_: object, field: str) -> None:
    with pytest.raises(CalculatorInputError) as caught:
        calculate(request_)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_zero_lead_time_is_accepted_where_the_model_has_none() -> None:
    answer = calculate(
        {
            "model": "ss",
            "demand": {"dist": "poisson", "mean": 6},
            "lead_time": 0,
            "holding_cost": 1,
            "stockout_cost": 4,
            "fixed_cost": 5,
        }
    )
    assert (answer["s"], answer["S"]) == (4, 10)


# ------------------------------------------------------------- CLI

runner = CliRunner()


def test_calc_reads_standard_input_and_prints_one_json_object() -> None:
    result = runner.invoke(policy_app, ["calc"], input=json.dumps(EXAMPLE_5_1))
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert set(answer) == {"reorder_point", "order_quantity", "expected_cost"}
    assert_4_significant(answer["expected_cost"], 78.071162509282942)


def test_calc_reads_a_file(tmp_path: Path) -> None:
    case = tmp_path / "example_4_7.json"
    case.write_text(
        '{"model": "ss", "demand": {"dist": "poisson", "mean": 6},'
        ' "holding_cost": 1, "stockout_cost": 4, "fixed_cost": 5}',
        encoding="utf-8",
    )
    result = runner.invoke(policy_app, ["calc", str(case)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"s": 4, "S": 10, "expected_cost": pytest.approx(8.034111)}


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"model": "rq"', "not one JSON object"),
        ('{"model": "eoq"} {"model": "eoq"}', "not one JSON object"),
        ('{"model": "eoq", "fixed_cost": 1, "holding_cost": 1}', "annual_demand: required"),
        ('{"model": "ss", "demand": {"dist": "poisson", "mean": 1e300},'
         ' "holding_cost": 1, "stockout_cost": 1, "fixed_cost": 1}', "demand.mean: Poisson"),
    ],
)  # fmt: skip
def test_calc_reports_bad_input_on_stderr_with_status_2(stdin: str, message: str) -> None:
    result = runner.invoke(policy_app, ["calc"], input=stdin)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_calc_refuses_a_case_too_large_for_the_exact_algorithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(textbook, "MAX_SS_GAP", 50)  # the real bound, 10 000, takes seconds
    case = {"model": "ss", "demand": {"dist": "poisson", "mean": 1}, "holding_cost": 1,
            "stockout_cost": 1, "fixed_cost": 1e6}  # fmt: skip
    result = runner.invoke(policy_app, ["calc"], input=json.dumps(case))
    assert result.exit_code == 2
    assert "cannot solve" in result.stderr
    assert "gap above 50 levels" in result.stderr


def test_calc_reports_a_missing_file_with_status_2(tmp_path: Path) -> None:
    result = runner.invoke(policy_app, ["calc", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "Cannot read" in result.stderr
    assert "absent.json" in result.stderr
