"""Seasonal buys: a newsvendor over the rest of the season, with a markdown (salvage) value.

A seasonal SKU (シーズン品) sells until its ``season_end``; what is left then
is marked down. One more buy now is a single-period decision: with unit cost
c, selling price net of tax v, salvage value s and a shortage cost per unit
short p (margin plus the customer value at risk, DESIGN.md), the underage
cost is Cu = p and the overage cost Co = c − s, and the target stock for the
rest of the season is the newsvendor level q* = F⁻¹(Cu / (Cu + Co))
(Snyder & Shen, *Fundamentals of Supply Chain Theory*, 2nd ed., ch. 4; the
solver is :func:`soko.policy.textbook.newsvendor`). The order is
max(0, q* − inventory position), which the caller rounds to case packs.

Demand over the rest of the season is Poisson when its mean is small (a slow
mover's spread is its mean) and normal otherwise, with the forecast's
standard deviation. A buy whose goods arrive after the season ends is not
made, and a buy of which at least a quarter (and a unit) is expected unsold
at the season's end is flagged so the buyer sees it before approving.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from soko.policy.textbook import Normal, Poisson, newsvendor, normal_loss, poisson_loss

POISSON_BELOW = 10.0
"""Mean demand under which the rest of the season is Poisson rather than normal."""
LEFTOVER_SHARE = 0.25
"""Flag a buy when at least one unit, and this share of it, is expected unsold at season end."""


@dataclass(frozen=True, slots=True)
class SeasonalBuy:
    """The newsvendor answer for one seasonal SKU × location, with what explains it."""

    target: int
    """q*: units to have (on hand + on order) for the rest of the season."""
    quantity: float
    """q* − inventory position, at least 0, rounded by ``rounding`` when given."""
    critical_ratio: float
    """Cu / (Cu + Co): the in-season service level the newsvendor chose."""
    expected_leftover: float
    """Units expected unsold at season end if this buy is made."""
    leftover_from_buy: float
    """Of those, the units the buy adds: E[(IP + q − D)⁺] − E[(IP − D)⁺]."""
    expected_short: float
    """Units of demand expected unmet until season end with this buy."""
    flags: tuple[str, ...]


def seasonal_buy(
    *,
    demand_mean: float,
    demand_sd: float,
    inventory_position: int,
    unit_cost: float,
    salvage_value: float,
    shortage_cost: float,
    days_left: float,
    lead_time_days: float,
    rounding: Callable[[float], float] | None = None,
) -> SeasonalBuy:
    """Newsvendor buy for the rest of the season (see the module docstring for the model).

    ``demand_mean`` and ``demand_sd`` are for the days from now to the season's
    end; ``salvage_value`` is what a leftover unit fetches at markdown;
    ``rounding`` turns the newsvendor's quantity into one the supplier accepts
    (case pack, MOQ), so the leftover and the flags describe the actual buy.
    """
    flags: list[str] = []
    if days_left <= lead_time_days:
        flags.append("arrives_after_season")
    overage = max(unit_cost - salvage_value, 1e-6)
    underage = max(shortage_cost, 0.0)
    ratio = underage / (underage + overage) if underage > 0 else 0.0
    mean = max(demand_mean, 0.0)
    if mean <= 0 or underage <= 0:
        target = 0
    else:
        demand = _demand(mean, demand_sd)
        # newsvendor needs a ratio strictly inside (0, 1)
        solved = newsvendor(demand, holding_cost=overage, stockout_cost=underage)
        target = max(0, math.ceil(solved.order_up_to - 1e-9))
    quantity = 0.0 if "arrives_after_season" in flags else max(0.0, target - inventory_position)
    if rounding is not None and quantity > 0:
        quantity = float(rounding(quantity))
    leftover, short = _leftover_and_short(mean, demand_sd, inventory_position + quantity)
    before, _ = _leftover_and_short(mean, demand_sd, float(inventory_position))
    from_buy = max(leftover - before, 0.0)
    if quantity == 0 and inventory_position > 0 and mean < inventory_position:
        flags.append("stock_exceeds_season")
    if quantity > 0 and from_buy >= max(1.0, LEFTOVER_SHARE * quantity):
        flags.append("leftover_at_season_end")
    return SeasonalBuy(target, quantity, ratio, leftover, from_buy, short, tuple(flags))


def _demand(mean: float, sd: float) -> Normal | Poisson:
    if mean < POISSON_BELOW or sd <= 0:
        return Poisson(mean)
    return Normal(mean, sd)


def _leftover_and_short(mean: float, sd: float, level: float) -> tuple[float, float]:
    """E[(y − D)⁺] and E[(D − y)⁺] for stock y, from the loss function n(y) = E[(D − y)⁺]."""
    if mean <= 0:
        return max(level, 0.0), 0.0
    demand = _demand(mean, sd)
    if isinstance(demand, Poisson):
        short = float(poisson_loss(math.floor(level), demand))
    else:
        short = float(normal_loss(level, demand))
    return max(level - mean + short, 0.0), short
