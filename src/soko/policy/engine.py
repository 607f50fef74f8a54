"""Replenishment policy engine: arrays in, arrays out, one row per SKU × location.

Capabilities P4 (safety stock, reorder point 発注点, order-up-to level 補充点,
recommended order 推奨発注数) and the LTV-aware service level of DESIGN.md. The
plan run calls :func:`recommend` with a :class:`PolicyInputs` of equal-length
arrays and gets a :class:`PolicyResult` whose every array explains a part of the
answer. Pure: numpy and scipy only.

The policy is a periodic-review (R, s, S) system, time in days:

* **Protection interval** T = R + L (review period plus lead time): an order
  placed at a review must last until the order after it can arrive.
* **Demand over T** has mean μ_T = u·μ·T and variance
  σ_T² = u²·(T·σ² + μ²·σ_L²) (Silver, Pyke & Thomas 2017, *Inventory and
  Production Management in Supply Chains*, 4th ed., ch. 6, random lead time;
  DESIGN.md "Safety stock"), u the campaign uplift (1 without a campaign). Its
  shape: **normal** for fast movers (μ_T ≥ :data:`NORMAL_MIN_MEAN`);
  for slow movers **Poisson** when the variance-to-mean ratio is at most
  :data:`POISSON_MAX_DISPERSION`, else **negative binomial** matched on mean and
  variance (Snyder & Shen 2019, *Fundamentals of Supply Chain Theory*, 2nd ed.,
  appendix on probability; Silver, Pyke & Thomas ch. 6 on slow movers).
* **Lot**: Q = max(μ·R, EOQ, MOQ, case pack), EOQ = √(2·K·D/(c·i)) when a fixed
  order cost K is given (Snyder & Shen ch. 3), at most a year of demand. The
  cycle lasts C = Q/μ days.
* **Service level from cost.** A unit short costs B = margin lost + customer
  value at risk (DESIGN.md, "LTV-aware shortage cost"); a unit carried through
  a cycle costs h_C = c·i·C/365. Sales lost when short, the reorder point that
  minimises expected holding + shortage cost per cycle is the newsvendor
  critical fractile s* = F_T⁻¹(α), α = B/(B + h_C) (Snyder & Shen ch. 4, the
  newsvendor and base-stock critical ratio p/(p + h); Silver, Pyke & Thomas
  ch. 7, the B2 "cost per unit short" rule for (R, S) and (s, Q) systems with
  lost sales, p_u≥(k) = h_C/(B + h_C)). The margin-only level uses B = margin.
* **Levels**: reorder point s (smallest integer with the chosen service),
  safety stock SS = s − μ_T, order-up-to S = s − 1 + (Q − μ·R) rounded up
  (orders go out at IP < s, typically at s − 1, so the order is the lot); with
  no lot sizing S = s = μ_T + SS, DESIGN.md's S = μ(L + R) + SS. With continuous
  review (R → 0) s tends to DESIGN.md's μL + SS.
* **Order**: inventory position IP = on hand + on order − reserved −
  backorders; when IP < s, order S − IP, at least the MOQ, rounded up to the
  case pack; otherwise nothing. Made-to-order (取り寄せ) rows are never stocked.
* **Fill rate** (SPT ch. 7): β(s) = 1 − E[(D_T − s)⁺]/(μ·C), the expected units
  short per cycle over the demand per cycle, with the loss functions of
  :mod:`soko.policy.textbook` (normal) and their closed forms for Poisson and
  negative binomial demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from soko.policy.textbook import Normal, normal_loss

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Target = Literal["cycle", "fill"]

DAYS_PER_YEAR = 365.0
NORMAL_MIN_MEAN = 20.0
"""Mean demand over the protection interval from which the normal shape is used.

Below it the normal puts visible mass below zero and misplaces the integer
quantiles; a Poisson mean of 20 has skewness 0.22 (rule of thumb in Silver,
Pyke & Thomas ch. 6: discrete distributions for slow movers)."""
POISSON_MAX_DISPERSION = 1.05
"""Variance-to-mean ratio up to which a slow mover's demand is taken as Poisson.

Above it the negative binomial with the same mean and variance is used; a
ratio below 1 (under-dispersed) is also taken as Poisson, which errs towards
more stock."""
MIN_SERVICE = 1e-4
MAX_SERVICE = 0.9999
"""Service levels are kept inside [MIN_SERVICE, MAX_SERVICE]: a quantile at 0 or
1 is unbounded, and no shortage cost justifies more than four nines."""

MAX_LOT_DAYS = 365.0
"""An economic lot never exceeds a year of demand (obsolescence, shelf life, cash)."""
MIN_DEMAND = 1e-9
"""Mean daily demand below which a row is taken to have none."""

DISTRIBUTIONS = ("normal", "poisson", "negbin")


class PolicyInputError(ValueError):
    """Inputs the engine cannot use; ``field`` names the array, ``rows`` the first rows at fault."""

    def __init__(self, field: str, message: str, rows: list[int] | None = None) -> None:
        where = f" (rows {', '.join(map(str, rows))})" if rows else ""
        super().__init__(f"{field}: {message}{where}")
        self.field = field
        self.rows = rows or []


@dataclass(frozen=True)
class PolicyInputs:
    """One entry per SKU × location; equal-length numpy arrays (money in the shop's currency)."""

    demand_mean: F64
    """Mean daily demand over the coming weeks (from the forecast), ≥ 0."""
    demand_sd: F64
    """Standard deviation of daily demand (forecast spread), ≥ 0."""
    lead_time_mean: F64
    """Days from order to receipt, ≥ 0."""
    lead_time_sd: F64
    """Days, ≥ 0."""
    review_days: I64
    """Days between order opportunities (ordering weekdays → period), ≥ 1."""
    on_hand: I64
    on_order: I64
    reserved: I64
    backorders: I64
    unit_cost: F64
    unit_price: F64
    """Selling price net of tax: margin lost per unit short = price − cost."""
    holding_rate: F64
    """Annual holding cost as a fraction of unit cost."""
    customer_value_at_risk: F64
    """Per unit short: P(lapse | stockout) × residual CLV ÷ units per order; 0 = margin only."""
    moq: I64
    case_pack: I64
    made_to_order: Bool
    """取り寄せ: never stocked, order quantity 0."""
    service_override: F64
    """NaN = choose by cost; else a fixed cycle service level or fill rate (per ``target``)."""
    order_cost: F64 | None = None
    """Fixed cost per order line; None or 0 = order at every review the position is short."""
    demand_uplift: F64 | None = None
    """Planned campaigns: expected demand over the protection interval with the campaign ÷
    without it (1 = no campaign); None = 1 everywhere."""

    def __post_init__(self) -> None:
        n = len(self.demand_mean)
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, np.ndarray) or value.ndim != 1:
                raise PolicyInputError(f.name, "expected a one-dimensional numpy array")
            if len(value) != n:
                raise PolicyInputError(f.name, f"has {len(value)} rows, demand_mean has {n}")
        self._check("demand_mean", self.demand_mean >= 0, "must be finite and ≥ 0")
        self._check("demand_sd", self.demand_sd >= 0, "must be finite and ≥ 0")
        self._check("lead_time_mean", self.lead_time_mean >= 0, "must be finite and ≥ 0")
        self._check("lead_time_sd", self.lead_time_sd >= 0, "must be finite and ≥ 0")
        self._check("review_days", self.review_days >= 1, "must be ≥ 1 day")
        self._check("unit_cost", self.unit_cost >= 0, "must be finite and ≥ 0")
        self._check("unit_price", self.unit_price >= 0, "must be finite and ≥ 0")
        self._check("holding_rate", self.holding_rate >= 0, "must be finite and ≥ 0")
        self._check(
            "customer_value_at_risk", self.customer_value_at_risk >= 0, "must be finite and ≥ 0"
        )
        self._check("moq", self.moq >= 0, "must be ≥ 0")
        self._check("case_pack", self.case_pack >= 1, "must be ≥ 1")
        override = self.service_override
        self._check(
            "service_override",
            np.isnan(override) | ((override > 0) & (override < 1)),
            "must be NaN (choose by cost) or strictly between 0 and 1",
        )
        if self.order_cost is not None:
            self._check("order_cost", self.order_cost >= 0, "must be finite and ≥ 0")
        if self.demand_uplift is not None:
            self._check("demand_uplift", self.demand_uplift >= 0, "must be finite and ≥ 0")

    def _check(self, name: str, ok: Bool, message: str) -> None:
        value = getattr(self, name)
        if np.issubdtype(value.dtype, np.floating):
            ok = ok & np.isfinite(value) if name != "service_override" else ok
        bad = np.flatnonzero(~ok)
        if bad.size:
            raise PolicyInputError(name, message, [int(i) for i in bad[:5]])

    def __len__(self) -> int:
        return len(self.demand_mean)


@dataclass(frozen=True)
class PolicyResult:
    """The recommendation per row, with the parts that explain it (see :meth:`explain`)."""

    target: Target
    basis: npt.NDArray[np.str_]
    """"cost" (level chosen by cost), "override" (the seller's level) or "made_to_order"."""
    service_level: F64
    """The level the row is held to, in the target's terms (cycle service level or fill
    rate): by cost, what the whole-unit reorder point achieves (for "cycle" at least the
    critical ratio); by override, the seller's level."""
    margin_only_service_level: F64
    """What a policy pricing a shortage at the lost margin alone would achieve, same terms."""
    critical_ratio: F64
    """α = B/(B + h_C), the cost-optimal cycle service level."""
    margin_only_critical_ratio: F64
    cycle_service_level: F64
    """P(no stockout in a cycle) at the reorder point, after rounding to whole units."""
    fill_rate: F64
    """Expected share of demand met from stock at the reorder point."""
    safety_stock: F64
    reorder_point: I64
    margin_only_reorder_point: I64
    order_up_to: I64
    inventory_position: I64
    order_quantity: I64
    """MOQ and case pack applied, ≥ 0, 0 for made-to-order rows."""
    distribution: npt.NDArray[np.str_]
    """"normal", "poisson" or "negbin": the shape of demand over the protection interval."""
    protection_days: F64
    demand_over_protection: F64
    demand_over_protection_sd: F64
    cycle_days: F64
    """Days one lot lasts, max(R, Q/μ): the period the holding cost is charged over."""
    shortage_cost_per_unit: F64
    """B = margin_lost + customer_value_at_risk."""
    margin_lost: F64
    customer_value_at_risk: F64
    holding_cost_per_unit_period: F64
    """h_C = unit cost × holding rate × cycle days ÷ 365."""
    expected_holding_cost: F64
    """h_C·E[(s − D_T)⁺] per cycle: stock left when the next lot arrives."""
    expected_shortage_cost: F64
    """B·E[(D_T − s)⁺] per cycle: units short by the time the next lot arrives."""
    expected_on_hand: F64
    """Average stock on hand the policy keeps: E[(s − D_T)⁺] + (S − s + μ·R)/2, the stock
    left when a lot arrives plus half an average lot (Silver, Pyke & Thomas ch. 7)."""

    def __len__(self) -> int:
        return len(self.reorder_point)

    def explain(self, row: int) -> str:
        """One row's recommendation in a sentence a planner can check."""
        if self.basis[row] == "made_to_order":
            return "Made to order (取り寄せ): never stocked, nothing to order."
        kind = "cycle service level" if self.target == "cycle" else "fill rate"
        if self.basis[row] == "override":
            why = f"the seller's {kind} of {self.service_level[row]:.1%}"
        else:
            why = (
                f"{kind} {self.service_level[row]:.1%} minimises holding + shortage cost: "
                f"a unit short costs {self.shortage_cost_per_unit[row]:,.0f} "
                f"(margin {self.margin_lost[row]:,.0f} + customer value at risk "
                f"{self.customer_value_at_risk[row]:,.0f}), a unit held for a "
                f"{self.cycle_days[row]:.0f}-day cycle costs "
                f"{self.holding_cost_per_unit_period[row]:,.1f}"
            )
        return (
            f"Demand over {self.protection_days[row]:.0f} days (review + lead time): "
            f"{self.demand_over_protection[row]:.1f} ± {self.demand_over_protection_sd[row]:.1f} "
            f"({self.distribution[row]}). Reorder point {self.reorder_point[row]} "
            f"(safety stock {self.safety_stock[row]:.1f}) for {why}; margin only would choose "
            f"{self.margin_only_service_level[row]:.1%} (reorder point "
            f"{self.margin_only_reorder_point[row]}). Position {self.inventory_position[row]}, "
            f"order-up-to {self.order_up_to[row]}: order {self.order_quantity[row]}."
        )


# ---------------------------------------------------------------- demand over the interval


@dataclass(frozen=True)
class IntervalDemand:
    """Demand over the protection interval per row, and the shape chosen for it."""

    mean: F64
    sd: F64
    kind: npt.NDArray[np.str_]

    def _negbin(self, rows: Bool) -> tuple[F64, F64]:
        """NB(r, p) matching mean μ and variance v > μ: r = μ²/(v − μ), p = μ/v."""
        mu, var = self.mean[rows], self.sd[rows] ** 2
        return mu * mu / (var - mu), mu / var

    def quantile(self, prob: F64) -> I64:
        """Smallest integer level y ≥ 0 with P(D ≤ y) ≥ prob."""
        out = np.zeros(len(self.mean), dtype=np.float64)
        normal, poisson, negbin = self._masks()
        out[normal] = np.ceil(self.mean[normal] + stats.norm.ppf(prob[normal]) * self.sd[normal])
        out[poisson] = stats.poisson.ppf(prob[poisson], self.mean[poisson])
        r, p = self._negbin(negbin)
        out[negbin] = stats.nbinom.ppf(prob[negbin], r, p)
        return np.maximum(np.nan_to_num(out, nan=0.0), 0.0).astype(np.int64)

    def cdf(self, level: I64) -> F64:
        """P(D ≤ level)."""
        out = np.ones(len(self.mean), dtype=np.float64)
        normal, poisson, negbin = self._masks()
        sd = self.sd[normal]
        gap = level[normal] - self.mean[normal]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out[normal] = np.where(sd > 0, stats.norm.cdf(gap / sd), (gap >= 0).astype(float))
        out[poisson] = stats.poisson.cdf(level[poisson], self.mean[poisson])
        r, p = self._negbin(negbin)
        out[negbin] = stats.nbinom.cdf(level[negbin], r, p)
        return out

    def loss(self, level: I64 | F64) -> F64:
        """First-order loss E[(D − y)⁺] (Snyder & Shen, appendix on loss functions).

        Normal: σ·L(z) via :func:`soko.policy.textbook.normal_loss`. Poisson(λ):
        λ·P(D ≥ y − 1) − y·P(D ≥ y). NB(r, p): μ·P(D′ ≥ y − 1) − y·P(D ≥ y) with
        D′ ~ NB(r + 1, p), from k·f_r(k) = μ·f_{r+1}(k − 1).
        """
        y = np.asarray(level, dtype=np.float64)
        out = np.zeros(len(self.mean), dtype=np.float64)
        normal, poisson, negbin = self._masks()
        mu, sd, yn = self.mean[normal], self.sd[normal], y[normal]
        spread = sd > 0
        flat = np.maximum(mu - yn, 0.0)
        if np.any(spread):
            with np.errstate(over="ignore"):  # φ(z) of a far tail underflows to 0
                flat[spread] = normal_loss(yn[spread], Normal(mu[spread], sd[spread]))  # type: ignore[arg-type]
        out[normal] = flat
        lam, yp = self.mean[poisson], y[poisson]
        out[poisson] = lam * stats.poisson.sf(yp - 2, lam) - yp * stats.poisson.sf(yp - 1, lam)
        r, p = self._negbin(negbin)
        mu_nb, yb = self.mean[negbin], y[negbin]
        out[negbin] = mu_nb * stats.nbinom.sf(yb - 2, r + 1, p) - yb * stats.nbinom.sf(yb - 1, r, p)
        return np.maximum(out, 0.0)

    def subset(self, rows: Bool) -> IntervalDemand:
        """The rows where ``rows`` is true."""
        return IntervalDemand(mean=self.mean[rows], sd=self.sd[rows], kind=self.kind[rows])

    def _masks(self) -> tuple[Bool, Bool, Bool]:
        return self.kind == "normal", self.kind == "poisson", self.kind == "negbin"


def interval_demand(
    demand_mean: F64,
    demand_sd: F64,
    days: F64,
    lead_time_sd: F64,
    uplift: F64,
) -> IntervalDemand:
    """Demand over ``days`` with random lead time and its shape (module docstring)."""
    mean = uplift * demand_mean * days
    var = uplift**2 * (days * demand_sd**2 + demand_mean**2 * lead_time_sd**2)
    sd = np.sqrt(var)
    kind = np.where(mean >= NORMAL_MIN_MEAN, "normal", "poisson").astype("<U7")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dispersion = np.where(mean > 0, var / mean, 1.0)
    kind[(kind == "poisson") & (dispersion > POISSON_MAX_DISPERSION)] = "negbin"
    # No demand at all: a Poisson of mean 0 puts every quantile at 0.
    kind[mean <= 0] = "poisson"
    return IntervalDemand(mean=mean, sd=sd, kind=kind)


def level_for_fill_rate(demand: IntervalDemand, cycle_demand: F64, fill_rate: F64) -> I64:
    """Smallest integer s ≥ 0 with 1 − E[(D_T − s)⁺]/cycle_demand ≥ fill_rate (bisection).

    The loss falls as s rises, so the fill rate is monotone in s.
    """
    allowed = (1.0 - fill_rate) * cycle_demand
    lo = np.zeros(len(demand.mean), dtype=np.int64)
    hi = np.ceil(demand.mean + 12.0 * demand.sd + 12.0).astype(np.int64)
    for _ in range(math.ceil(math.log2(max(2, int(hi.max(initial=2))))) + 1):
        mid = (lo + hi) // 2
        ok = demand.loss(mid) <= allowed
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid + 1)
    return hi


# ---------------------------------------------------------------- recommend


def recommend(inputs: PolicyInputs, *, target: Target = "cycle") -> PolicyResult:
    """Reorder point, order-up-to level and order quantity per row (module docstring).

    ``target`` says what a level means, here and in ``service_override``:
    "cycle" = probability of no stockout in a replenishment cycle, "fill" =
    expected share of demand met from stock. Chosen by cost, the reorder point
    is the critical fractile either way; the fill-rate target then reports that
    point's fill rate, and an override finds the smallest point reaching it.
    """
    if target not in ("cycle", "fill"):
        raise PolicyInputError("target", f'expected "cycle" or "fill", got {target!r}')
    n = len(inputs)
    # Below a unit in a million years demand is nil (and Q/μ would overflow).
    mu = np.where(inputs.demand_mean < MIN_DEMAND, 0.0, inputs.demand_mean)
    review = inputs.review_days.astype(np.float64)
    uplift = np.ones(n) if inputs.demand_uplift is None else inputs.demand_uplift
    order_cost = np.zeros(n) if inputs.order_cost is None else inputs.order_cost
    mto = inputs.made_to_order

    # Lot and cycle: Q = max(μR, EOQ, MOQ, case pack); the cycle lasts Q/μ days.
    annual_holding = inputs.unit_cost * inputs.holding_rate
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        eoq = np.where(
            (order_cost > 0) & (annual_holding > 0),
            np.sqrt(2.0 * order_cost * mu * DAYS_PER_YEAR / annual_holding),
            0.0,
        )
        eoq = np.minimum(eoq, mu * MAX_LOT_DAYS)
        lot = np.maximum.reduce(
            [mu * uplift * review, eoq, inputs.moq.astype(float), inputs.case_pack.astype(float)]
        )
        cycle_days = np.where(mu * uplift > 0, np.maximum(review, lot / (mu * uplift)), review)
    holding = annual_holding * cycle_days / DAYS_PER_YEAR

    margin = np.maximum(inputs.unit_price - inputs.unit_cost, 0.0)
    value_at_risk = inputs.customer_value_at_risk
    shortage = margin + value_at_risk
    alpha = _critical_ratio(shortage, holding)
    alpha_margin = _critical_ratio(margin, holding)

    protection = review + inputs.lead_time_mean
    demand = interval_demand(
        mu, np.where(mu > 0, inputs.demand_sd, 0.0), protection, inputs.lead_time_sd, uplift
    )
    cycle_demand = mu * uplift * cycle_days

    override = ~np.isnan(inputs.service_override)
    override_level = np.clip(
        np.nan_to_num(inputs.service_override, nan=0.5), MIN_SERVICE, MAX_SERVICE
    )
    extra = np.where(mu * uplift > 0, np.maximum(lot - mu * uplift * review, 0.0), 0.0)
    lot_above = np.ceil(extra - 1e-9).astype(np.int64)
    stocking = _Stocking(
        demand, mu * uplift, lot, lot_above, cycle_days, annual_holding, order_cost
    )
    s_cost = stocking.floor(demand.quantile(alpha), shortage)
    s_margin = stocking.floor(demand.quantile(alpha_margin), margin)
    s_override = np.zeros(n, dtype=np.int64)
    if override.any():
        fixed = demand.subset(override)
        if target == "cycle":
            s_override[override] = fixed.quantile(override_level[override])
        else:
            s_override[override] = level_for_fill_rate(
                fixed, cycle_demand[override], override_level[override]
            )
    # The seller who sets a level wants the item on the shelf.
    s_override = np.where(mu > 0, np.maximum(s_override, 1), s_override)
    reorder = np.where(override, s_override, s_cost)
    reorder[mto] = 0
    s_margin[mto] = 0

    def fill(level: I64) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = 1.0 - demand.loss(level) / cycle_demand
        return np.clip(np.where(cycle_demand > 0, rate, 1.0), 0.0, 1.0)

    cycle_service = demand.cdf(reorder)
    fill_rate = fill(reorder)
    if target == "cycle":
        level = np.where(override, override_level, cycle_service)
        margin_level = demand.cdf(s_margin)
    else:
        level = np.where(override, override_level, fill_rate)
        margin_level = fill(s_margin)

    # Orders go out once IP < s, typically at s − 1: S = s − 1 + lot orders a whole lot
    # (s + lot would round an MOQ-sized lot up to two case packs).
    order_up_to = reorder + np.maximum(lot_above - 1, 0)
    order_up_to[mto] = 0
    position = inputs.on_hand + inputs.on_order - inputs.reserved - inputs.backorders
    quantity = order_quantity(position, reorder, order_up_to, inputs.moq, inputs.case_pack)
    quantity[mto] = 0

    short_units = demand.loss(reorder)
    left_units = reorder - demand.mean + short_units  # E[(s − D)⁺] = s − μ + E[(D − s)⁺]
    basis = np.where(override, "override", "cost").astype("<U13")
    basis[mto] = "made_to_order"
    zero = np.where(mto, 0.0, 1.0)
    return PolicyResult(
        target=target,
        basis=basis,
        service_level=level * zero,
        margin_only_service_level=margin_level * zero,
        critical_ratio=alpha,
        margin_only_critical_ratio=alpha_margin,
        cycle_service_level=cycle_service,
        fill_rate=fill_rate,
        safety_stock=np.where(mto, 0.0, reorder - demand.mean),
        reorder_point=reorder,
        margin_only_reorder_point=s_margin,
        order_up_to=order_up_to,
        inventory_position=position,
        order_quantity=quantity,
        distribution=demand.kind,
        protection_days=protection,
        demand_over_protection=demand.mean,
        demand_over_protection_sd=demand.sd,
        cycle_days=cycle_days,
        shortage_cost_per_unit=shortage,
        margin_lost=margin,
        customer_value_at_risk=value_at_risk,
        holding_cost_per_unit_period=holding,
        expected_holding_cost=holding * left_units * zero,
        expected_shortage_cost=shortage * short_units * zero,
        expected_on_hand=(left_units + (order_up_to - reorder + mu * uplift * review) / 2) * zero,
    )


@dataclass(frozen=True)
class _Stocking:
    """Whether a row is worth keeping on the shelf at all.

    With lost sales a reorder point of 0 means the row is never reordered: the
    newsvendor's marginal comparison (one more unit held a whole cycle against
    the risk of a short in one protection interval) cannot see that regime
    change. So where the critical fractile is 0 but demand is not, the engine
    compares the cost per day of stocking with s = 1 — holding the average
    stock, ordering K per lot, the shortage expected before each lot arrives —
    with losing every unit asked for, μ·B, and keeps s = 1 when stocking is
    cheaper.
    """

    demand: IntervalDemand
    daily_demand: F64
    lot: F64
    lot_above: I64
    cycle_days: F64
    annual_holding: F64
    order_cost: F64

    def floor(self, level: I64, shortage: F64) -> I64:
        one = np.ones_like(level)
        short = self.demand.loss(one)
        left = 1.0 - self.demand.mean + short
        review_lot = self.lot - self.lot_above  # μ·R when the lot is the review's need
        on_hand = left + (self.lot_above + review_lot) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            per_day = (
                self.annual_holding * on_hand / DAYS_PER_YEAR
                + np.where(self.lot > 0, self.order_cost * self.daily_demand / self.lot, 0.0)
                + shortage * short / self.cycle_days
            )
        worth = (self.daily_demand > 0) & (per_day < self.daily_demand * shortage)
        return np.where((level == 0) & worth, 1, level).astype(np.int64)


def _critical_ratio(shortage: F64, holding: F64) -> F64:
    """α = B/(B + h), kept inside [MIN_SERVICE, MAX_SERVICE]; no holding cost → MAX_SERVICE."""
    total = shortage + holding
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        alpha = np.where(total > 0, shortage / total, MIN_SERVICE)
    return np.clip(alpha, MIN_SERVICE, MAX_SERVICE)


def order_quantity(
    position: I64, reorder_point: I64, order_up_to: I64, moq: I64, case_pack: I64
) -> I64:
    """Order S − IP when IP < s, at least the MOQ, rounded up to the case pack; else 0."""
    raw = np.maximum(order_up_to - position, 0)
    wanted = np.maximum(raw, moq)
    packed = -(-wanted // case_pack) * case_pack
    return np.where(position < reorder_point, packed, 0).astype(np.int64)


def cap_by_supplier(
    quantity: I64,
    supplier: I64,
    capacity: dict[int, int],
    *,
    moq: I64,
    case_pack: I64,
    priority: F64 | None = None,
) -> I64:
    """Keep each supplier's total order within its capacity per period.

    Without ``priority`` every line of a supplier over capacity is scaled by the
    same factor capacity ÷ total, rounded down to its case pack (lines that
    fall below their MOQ are dropped). With ``priority`` (higher first, e.g. the
    shortage cost at risk) lines are kept whole in that order while they fit,
    the first that does not fit is cut to what is left (down to case pack, if
    it still meets its MOQ), and the rest wait for the next period. Suppliers
    absent from ``capacity`` are unlimited. Never raises a line.
    """
    out = quantity.astype(np.int64).copy()
    for sup, limit in capacity.items():
        rows = np.flatnonzero((supplier == sup) & (out > 0))
        total = int(out[rows].sum())
        if total <= limit:
            continue
        if priority is None:
            scaled = np.floor(out[rows] * (limit / total)).astype(np.int64)
            packed = scaled // case_pack[rows] * case_pack[rows]
            out[rows] = np.where(packed >= np.maximum(moq[rows], 1), packed, 0)
            continue
        left = limit
        for row in rows[np.argsort(-priority[rows], kind="stable")]:
            take = min(int(out[row]), left) // int(case_pack[row]) * int(case_pack[row])
            if take < max(int(moq[row]), 1):
                take = 0
            out[row] = take
            left -= take
    return out
