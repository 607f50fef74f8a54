"""Replay a replenishment policy day by day on known demand, and price what it did.

The simulator behind the replay test of issue 7 ("Done when"): one row per SKU
× location, one column per day, true demand known in advance to the simulator
and never to the policy. Each day, in order: the morning's receipts arrive;
customers take what is on the shelf and the rest of their demand is lost (a
lost sale, no backorder); then, on a row's ordering days, the policy sees the
demand of the days before and the stock, and orders; an order placed on day d
arrives on the morning of day d + lead time, the lead time drawn in advance per
row and day (common random numbers: every policy meets the same supplier
delays). Returns and partial receipts are left out.

Total cost over the measured days (after a warm-up that lets every policy reach
its own steady state from the same start):

* holding: on hand at the end of each day × unit cost × annual holding rate ÷ 365;
* ordering: a fixed cost per order line;
* lost margin: units short × unit margin;
* lost customer value: units short × the value lost per unit short — in the
  replay test, the generator's truth (P(lapse | stockout) × the future margin
  of the customers who buy the row ÷ their units per line).

Policies are plain callables of a :class:`ReplayView`, so the engine, a fixed
days-of-cover rule or anything else can be replayed side by side. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from soko.policy.engine import PolicyInputs, Target, order_quantity, recommend

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class ReplayCase:
    """What a replay needs: rows are SKU × location, columns of 2-D arrays are days."""

    demand: I64
    """True demand per row and day (units wanted, before any stockout)."""
    lead_time: I64
    """Days an order placed on that row and day takes to arrive (≥ 1)."""
    order_day: Bool
    """Whether the row may be ordered on that day (the supplier's ordering weekdays)."""
    unit_cost: F64
    unit_margin: F64
    """Price net of tax − unit cost: the margin a lost sale takes."""
    value_lost_per_unit: F64
    """Customer value lost per unit short (0 where none)."""
    start_on_hand: I64
    holding_rate: float
    """Annual holding cost as a fraction of unit cost."""
    order_cost: float
    """Fixed cost per order line."""
    measure_from: int
    """First day whose costs count; the days before are warm-up."""
    first_day: int = 0
    """First simulated day; the days before are history the policies see (≤ measure_from)."""

    def __post_init__(self) -> None:
        rows, days = self.demand.shape
        for name in ("lead_time", "order_day"):
            if getattr(self, name).shape != (rows, days):
                raise ValueError(f"{name}: expected shape {(rows, days)}")
        for name in ("unit_cost", "unit_margin", "value_lost_per_unit", "start_on_hand"):
            if getattr(self, name).shape != (rows,):
                raise ValueError(f"{name}: expected {rows} rows")
        if np.any(self.lead_time < 1):
            raise ValueError("lead_time: orders take at least one day")
        if not 0 <= self.first_day <= self.measure_from < days:
            raise ValueError(f"need 0 ≤ first_day ≤ measure_from < {days}")


@dataclass(frozen=True)
class ReplayView:
    """What a policy sees on an ordering day: the past, the stock, not the future."""

    day: int
    history: I64
    """Demand of days 0 … day − 1 per row (rows × day)."""
    on_hand: I64
    on_order: I64
    ordering: Bool
    """Rows that may order today."""


Policy = Callable[[ReplayView], I64]


@dataclass(frozen=True)
class ReplayResult:
    """Costs and service of one policy over the measured days (money in the shop's currency)."""

    name: str
    holding: float
    ordering: float
    lost_margin: float
    lost_customer_value: float
    mean_stock_value: float
    """Average over the measured days of Σ on hand × unit cost."""
    demand_units: int
    lost_units: int
    order_lines: int
    mean_on_hand: F64
    """Per row, average units on hand over the measured days."""
    lost_by_row: I64
    """Per row, units short over the measured days."""

    @property
    def total(self) -> float:
        return self.holding + self.ordering + self.lost_margin + self.lost_customer_value

    @property
    def fill_rate(self) -> float:
        return 1.0 - self.lost_units / self.demand_units if self.demand_units else 1.0

    def line(self) -> str:
        """One row of the printed comparison."""
        return (
            f"{self.name:<26} total {self.total:>12,.0f} = holding {self.holding:>10,.0f}"
            f" + ordering {self.ordering:>9,.0f} + lost margin {self.lost_margin:>10,.0f}"
            f" + lost customer value {self.lost_customer_value:>10,.0f}"
            f" | mean stock value {self.mean_stock_value:>11,.0f}"
            f" | fill rate {self.fill_rate:6.1%} | order lines {self.order_lines:>5}"
        )


def replay(case: ReplayCase, policy: Policy, *, name: str) -> ReplayResult:
    """Run ``policy`` over every day of ``case`` (module docstring) and total its costs."""
    rows, days = case.demand.shape
    horizon = days + int(case.lead_time.max(initial=1)) + 1
    arrivals = np.zeros((rows, horizon), dtype=np.int64)
    on_hand = case.start_on_hand.astype(np.int64).copy()
    on_order = np.zeros(rows, dtype=np.int64)
    daily_holding = case.unit_cost * case.holding_rate / DAYS_PER_YEAR
    holding = ordering = lost_margin = lost_value = stock_value = 0.0
    demand_units = lost_units = lines = 0
    every_row = np.arange(rows)
    on_hand_sum = np.zeros(rows, dtype=np.int64)
    lost_sum = np.zeros(rows, dtype=np.int64)
    for day in range(case.first_day, days):
        on_hand += arrivals[:, day]
        on_order -= arrivals[:, day]
        wanted = case.demand[:, day]
        sold = np.minimum(on_hand, wanted)
        lost = wanted - sold
        on_hand -= sold
        ordering_today = case.order_day[:, day]
        placed = np.zeros(rows, dtype=np.int64)
        if ordering_today.any():
            view = ReplayView(
                day, case.demand[:, :day], on_hand.copy(), on_order.copy(), ordering_today
            )
            placed = np.where(ordering_today, np.maximum(policy(view), 0), 0).astype(np.int64)
            arrive = day + case.lead_time[:, day]
            np.add.at(arrivals, (every_row, arrive), placed)
            on_order += placed
        if day >= case.measure_from:
            holding += float(on_hand @ daily_holding)
            ordering += case.order_cost * int(np.count_nonzero(placed))
            lost_margin += float(lost @ case.unit_margin)
            lost_value += float(lost @ case.value_lost_per_unit)
            stock_value += float(on_hand @ case.unit_cost)
            demand_units += int(wanted.sum())
            lost_units += int(lost.sum())
            lines += int(np.count_nonzero(placed))
            on_hand_sum += on_hand
            lost_sum += lost
    measured = days - case.measure_from
    return ReplayResult(
        name=name,
        holding=holding,
        ordering=ordering,
        lost_margin=lost_margin,
        lost_customer_value=lost_value,
        mean_stock_value=stock_value / measured,
        demand_units=demand_units,
        lost_units=lost_units,
        order_lines=lines,
        mean_on_hand=on_hand_sum / measured,
        lost_by_row=lost_sum,
    )


# ---------------------------------------------------------------- policies


def rolling_demand(history: I64, window: int) -> tuple[F64, F64]:
    """Mean and standard deviation of daily demand over the last ``window`` days.

    The simple estimate the replay feeds the policies (the forecast proper lives
    in :mod:`soko.forecast`); fewer days at the start use what there is.
    """
    recent = history[:, -window:].astype(np.float64)
    if recent.shape[1] == 0:
        zeros = np.zeros(history.shape[0])
        return zeros, zeros
    mean = recent.mean(axis=1)
    sd = recent.std(axis=1, ddof=1) if recent.shape[1] > 1 else np.zeros_like(mean)
    return mean, sd


def days_of_cover_policy(
    cover_days: float,
    *,
    lead_time_mean: F64,
    moq: I64,
    case_pack: I64,
    window: int = 56,
) -> Policy:
    """The rule of thumb: on each ordering day, bring stock on hand and on order up to
    the lead time's demand plus ``cover_days`` of average demand, S = μ̂·(L + cover),
    MOQ and case pack applied; μ̂ the rolling mean. Read this way the cover is what is
    left when an order arrives, so long lead times do not starve the rule."""

    def policy(view: ReplayView) -> I64:
        mean, _ = rolling_demand(view.history, window)
        target = np.ceil(mean * (lead_time_mean + cover_days)).astype(np.int64)
        position = view.on_hand + view.on_order
        return order_quantity(position, target, target, moq, case_pack)

    return policy


def engine_policy(
    template: PolicyInputs,
    *,
    window: int = 56,
    target: Target = "cycle",
    uplift: Callable[[int], F64] | None = None,
) -> Policy:
    """:func:`soko.policy.engine.recommend` with the rolling demand estimate and the
    replay's stock; every other input (costs, lead times, customer value at risk,
    MOQ, case pack) comes from ``template``. ``uplift(day)``, if given, is the
    campaign uplift over the protection interval that starts on ``day``."""

    def policy(view: ReplayView) -> I64:
        mean, sd = rolling_demand(view.history, window)
        zeros = np.zeros(len(mean), dtype=np.int64)
        inputs = PolicyInputs(
            **{
                **template.__dict__,
                "demand_mean": mean,
                "demand_sd": sd,
                "on_hand": view.on_hand,
                "on_order": view.on_order,
                "reserved": zeros,
                "backorders": zeros,
                "demand_uplift": None if uplift is None else uplift(view.day),
            }
        )
        return recommend(inputs, target=target).order_quantity

    return policy
