"""Textbook single-item inventory models, solved exactly.

Conventions are those of Snyder & Shen, *Fundamentals of Supply Chain Theory*
(2nd ed., Wiley 2019), chapters 3-5: costs are expected cost per period with the
purchase cost left out, unmet demand is backordered, h is charged per unit held
and p per unit backordered at the end of a period (per unit time in the
continuous-review (r, Q) model). Notation: h = ``holding_cost``, p =
``stockout_cost``, K = ``fixed_cost``; m, s the mean and standard deviation of
demand per period; L the lead time in periods.

The newsvendor cost of an inventory level y against demand D,

    g(y) = h·E[(y − D)⁺] + p·E[(D − y)⁺],

is the building block of every model here; it is evaluated exactly, with the
standard normal loss function for normal D and closed-form Poisson sums for
Poisson D (the loss functions of Snyder & Shen's appendix on probability).
Equation numbers differ between printings, so docstrings cite chapters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Normal:
    """Normally distributed demand per period: N(mean, sd²)."""

    mean: float
    sd: float

    def over(self, periods: float) -> Normal:
        """Demand over ``periods`` i.i.d. periods: N(m·t, s²·t)."""
        return Normal(self.mean * periods, self.sd * math.sqrt(periods))


@dataclass(frozen=True, slots=True)
class Poisson:
    """Poisson demand per period with the given mean."""

    mean: float

    def over(self, periods: float) -> Poisson:
        """Demand over ``periods`` periods: Poisson(m·t)."""
        return Poisson(self.mean * periods)


Demand = Normal | Poisson


@dataclass(frozen=True, slots=True)
class BaseStockSolution:
    """Optimal order-up-to (base-stock) level S* and its expected cost g(S*)."""

    order_up_to: float
    expected_cost: float


@dataclass(frozen=True, slots=True)
class EOQSolution:
    """EOQ order quantity Q* and its cost per unit time."""

    order_quantity: float
    expected_cost: float


@dataclass(frozen=True, slots=True)
class RQSolution:
    """Optimal reorder point r*, order quantity Q* and expected cost g(r*, Q*)."""

    reorder_point: float
    order_quantity: float
    expected_cost: float


@dataclass(frozen=True, slots=True)
class SSSolution:
    """Optimal reorder point s*, order-up-to level S* and expected cost c(s*, S*)."""

    s: int
    S: int
    expected_cost: float


# ---------------------------------------------------------------- loss functions


def normal_loss(level: FloatArray | float, demand: Normal) -> FloatArray:
    """First-order loss n(y) = E[(D − y)⁺] for D ~ N(μ, σ²): σ·L(z), z = (y − μ)/σ.

    L(z) = φ(z) − z·(1 − Φ(z)) is the standard normal loss function
    (the standard normal loss function).
    """
    z = (np.asarray(level, dtype=np.float64) - demand.mean) / demand.sd
    loss: FloatArray = demand.sd * (stats.norm.pdf(z) - z * stats.norm.sf(z))
    return loss


def normal_second_loss(level: FloatArray | float, demand: Normal) -> FloatArray:
    """Second-order loss n⁽²⁾(y) = ½·E[((D − y)⁺)²] = ∫_y^∞ n(x) dx for D ~ N(μ, σ²).

    n⁽²⁾(y) = σ²·L⁽²⁾(z), L⁽²⁾(z) = ½[(z² + 1)(1 − Φ(z)) − z·φ(z)]
    (the standard normal second-order loss function; Zipkin 2000, appendix C).
    """
    z = (np.asarray(level, dtype=np.float64) - demand.mean) / demand.sd
    loss: FloatArray = (
        demand.sd**2 * 0.5 * ((z * z + 1.0) * stats.norm.sf(z) - z * stats.norm.pdf(z))
    )
    return loss


def poisson_loss(level: npt.NDArray[np.int64] | int, demand: Poisson) -> FloatArray:
    """First-order loss n(y) = E[(D − y)⁺] for D ~ Poisson(λ), y integer.

    Exact: n(y) = (λ − y)(1 − F(y)) + λ·f(y) (Snyder & Shen's Poisson loss function); for
    y < 0 this is λ − y.
    """
    y = np.asarray(level, dtype=np.float64)
    lam = demand.mean
    loss: FloatArray = (lam - y) * stats.poisson.sf(y, lam) + lam * stats.poisson.pmf(y, lam)
    return loss


def newsvendor_cost(
    level: FloatArray | float, demand: Demand, *, holding_cost: float, stockout_cost: float
) -> FloatArray:
    """Expected one-period cost g(y) = h·E[(y − D)⁺] + p·E[(D − y)⁺].

    Uses E[(y − D)⁺] = (y − E[D]) + E[(D − y)⁺], so g(y) = h(y − μ) + (h + p)·n(y)
    (Snyder & Shen ch. 4). For Poisson demand ``level`` must be integral.
    """
    y = np.asarray(level, dtype=np.float64)
    if isinstance(demand, Normal):
        loss = normal_loss(y, demand)
    else:
        if not np.all(y == np.round(y)):
            raise ValueError("Poisson demand: inventory levels must be integers")
        loss = poisson_loss(y.astype(np.int64), demand)
    cost: FloatArray = holding_cost * (y - demand.mean) + (holding_cost + stockout_cost) * loss
    return cost


def _cost(level: float, demand: Demand, holding_cost: float, stockout_cost: float) -> float:
    return float(
        newsvendor_cost(level, demand, holding_cost=holding_cost, stockout_cost=stockout_cost)
    )


# ---------------------------------------------------------------- newsvendor, base stock


def newsvendor(demand: Demand, *, holding_cost: float, stockout_cost: float) -> BaseStockSolution:
    """Single-period newsvendor: S* = F⁻¹(α), α = p/(p + h) (Snyder & Shen ch. 4).

    Normal demand: S* = μ + z_α·σ and g(S*) = (h + p)·σ·φ(z_α).
    Poisson demand: S* is the smallest integer with F(S*) ≥ α, and g(S*)
    is the exact Poisson sum.
    """
    alpha = stockout_cost / (stockout_cost + holding_cost)
    if isinstance(demand, Normal):
        z = float(stats.norm.ppf(alpha))
        level = demand.mean + z * demand.sd
        cost = (holding_cost + stockout_cost) * demand.sd * float(stats.norm.pdf(z))
        return BaseStockSolution(order_up_to=level, expected_cost=cost)
    level_int = int(stats.poisson.ppf(alpha, demand.mean))
    # ppf works in floating point: step to the exact smallest S with F(S) ≥ α.
    while level_int > 0 and stats.poisson.cdf(level_int - 1, demand.mean) >= alpha:
        level_int -= 1
    while stats.poisson.cdf(level_int, demand.mean) < alpha:
        level_int += 1
    cost = _cost(level_int, demand, holding_cost, stockout_cost)
    return BaseStockSolution(order_up_to=level_int, expected_cost=cost)


def base_stock(
    demand: Demand, *, lead_time: float, holding_cost: float, stockout_cost: float
) -> BaseStockSolution:
    """Periodic-review base-stock level with lead time L (Snyder & Shen ch. 4).

    An order placed now covers demand until the next order arrives: the
    protection interval is L + 1 periods, so S* solves the newsvendor for demand
    over L + 1 periods, N(m(L + 1), s²(L + 1)) or Poisson(m(L + 1)); the
    expected cost per period is that newsvendor's g(S*).
    """
    return newsvendor(
        demand.over(lead_time + 1), holding_cost=holding_cost, stockout_cost=stockout_cost
    )


# ---------------------------------------------------------------- EOQ


def eoq(*, fixed_cost: float, holding_cost: float, demand_rate: float) -> EOQSolution:
    """Economic order quantity Q* = √(2Kλ/h), cost g(Q*) = √(2Kλh) (Snyder & Shen ch. 3).

    λ (``demand_rate``) and h share one time unit; the cost is per that unit.
    """
    quantity = math.sqrt(2.0 * fixed_cost * demand_rate / holding_cost)
    return EOQSolution(quantity, math.sqrt(2.0 * fixed_cost * demand_rate * holding_cost))


def eoq_cost(
    order_quantity: float, *, fixed_cost: float, holding_cost: float, demand_rate: float
) -> float:
    """EOQ cost per unit time g(Q) = Kλ/Q + hQ/2 (Snyder & Shen ch. 3)."""
    return fixed_cost * demand_rate / order_quantity + holding_cost * order_quantity / 2.0


# ---------------------------------------------------------------- (r, Q)


def rq_cost(
    reorder_point: float,
    order_quantity: float,
    demand: Demand,
    *,
    lead_time: float,
    holding_cost: float,
    stockout_cost: float,
    fixed_cost: float,
) -> float:
    """Exact expected cost per period of a continuous-review (r, Q) policy with backorders.

    g(r, Q) = [Kλ + ∫_r^{r+Q} g(y) dy] / Q (Snyder & Shen ch. 5; Zipkin 2000),
    g(·) the newsvendor cost against lead-time demand N(m·L, s²·L). The
    integral is closed form: ∫ h(y − μ) dy + (h + p)[n⁽²⁾(r) − n⁽²⁾(r + Q)].
    For Poisson demand (integer r, Q) the integral is the sum over
    y = r + 1, …, r + Q.
    """
    if order_quantity <= 0:
        raise ValueError("(r, Q) needs Q > 0")
    lead = demand.over(lead_time)
    rate = demand.mean
    if isinstance(lead, Poisson):
        if reorder_point != int(reorder_point) or order_quantity != int(order_quantity):
            raise ValueError("Poisson demand: r and Q must be integers")
        r, q = int(reorder_point), int(order_quantity)
        levels = np.arange(r + 1, r + q + 1, dtype=np.float64)
        total = float(
            np.sum(
                newsvendor_cost(
                    levels, lead, holding_cost=holding_cost, stockout_cost=stockout_cost
                )
            )
        )
        return (fixed_cost * rate + total) / order_quantity
    integral = _normal_cost_integral(
        reorder_point, order_quantity, lead, holding_cost, stockout_cost
    )
    return (fixed_cost * rate + integral) / order_quantity


def _normal_cost_integral(
    start: float, length: float, lead: Normal, holding_cost: float, stockout_cost: float
) -> float:
    """∫_r^{r+Q} g(y) dy = h[(r + Q − μ)² − (r − μ)²]/2 + (h + p)[n⁽²⁾(r) − n⁽²⁾(r + Q)]."""
    r, q, mu = start, length, lead.mean
    second_loss = normal_second_loss(r, lead) - normal_second_loss(r + q, lead)
    return holding_cost * ((r + q - mu) ** 2 - (r - mu) ** 2) / 2.0 + (
        holding_cost + stockout_cost
    ) * float(second_loss)


def rq(
    demand: Demand,
    *,
    lead_time: float,
    holding_cost: float,
    stockout_cost: float,
    fixed_cost: float,
) -> RQSolution:
    """Exact optimal (r, Q) policy, continuous review with backorders.

    Normal demand: let C* solve ∫ (C − g(y))⁺ dy = Kλ (the left side increases
    in C). For any (r, Q), Q·(g(r, Q) − C*) = Kλ − ∫_r^{r+Q} (C* − g) ≥ 0, with
    equality exactly when [r, r + Q] is the level set {y : g(y) ≤ C*}; so that
    level set is the optimal policy and C* its cost; it also meets the
    first-order conditions g(r) = g(r + Q) = g(r, Q) (Snyder & Shen ch. 5;
    Zipkin 2000). C* and the ends of the level set are found by Brent's method.
    Poisson demand: Federgruen & Zheng (1992), growing the window of the Q
    smallest g(y) one level at a time while the average cost falls.
    """
    lead = demand.over(lead_time)
    rate = demand.mean
    if isinstance(lead, Poisson):
        return _rq_poisson(lead, rate, holding_cost, stockout_cost, fixed_cost)

    def g(y: float) -> float:
        return _cost(y, lead, holding_cost, stockout_cost)

    y_star = newsvendor(lead, holding_cost=holding_cost, stockout_cost=stockout_cost).order_up_to
    g_min = g(y_star)

    def level_set(c: float) -> tuple[float, float]:
        # g is convex with slope −p far left and +h far right: bracket each side.
        span = max(lead.sd, 1.0)
        lo = y_star - span
        while g(lo) < c:
            lo -= 2 * (y_star - lo)
        hi = y_star + span
        while g(hi) < c:
            hi += 2 * (hi - y_star)
        left = optimize.brentq(lambda y: g(y) - c, lo, y_star, xtol=1e-12, rtol=1e-15)
        right = optimize.brentq(lambda y: g(y) - c, y_star, hi, xtol=1e-12, rtol=1e-15)
        return float(left), float(right)

    def surplus(c: float) -> float:
        left, right = level_set(c)
        q = right - left
        return (
            c * q
            - _normal_cost_integral(left, q, lead, holding_cost, stockout_cost)
            - (fixed_cost * rate)
        )

    # surplus(C) = ∫_{g≤C}(C − g) − Kλ: −Kλ at C = g_min, increasing without bound.
    upper = g_min + max(g_min, 1.0)
    while surplus(upper) <= 0:
        upper = g_min + 2 * (upper - g_min)
    level = float(
        optimize.brentq(surplus, g_min * (1 + 1e-12) + 1e-12, upper, xtol=1e-12, rtol=1e-14)
    )
    left, right = level_set(level)
    cost = rq_cost(
        left,
        right - left,
        demand,
        lead_time=lead_time,
        holding_cost=holding_cost,
        stockout_cost=stockout_cost,
        fixed_cost=fixed_cost,
    )
    return RQSolution(reorder_point=left, order_quantity=right - left, expected_cost=cost)


MAX_LEVELS = 1_000_000
"""Largest span of integer inventory levels the exact Poisson algorithms will visit."""
MAX_SS_GAP = 10_000
"""Largest S − s the exact (s, S) algorithm evaluates (each evaluation costs O(S − s))."""


class _PoissonCostTable:
    """g(y) for integer y, computed in vectorised blocks and cached (the exact algorithms
    visit each level many times)."""

    def __init__(self, demand: Poisson, holding_cost: float, stockout_cost: float) -> None:
        self.demand, self.h, self.p = demand, holding_cost, stockout_cost
        centre = int(demand.mean)
        self.low = centre - 64
        self.values = self._compute(self.low, centre + 64)

    def _compute(self, first: int, last: int) -> FloatArray:
        levels = np.arange(first, last + 1, dtype=np.float64)
        return newsvendor_cost(levels, self.demand, holding_cost=self.h, stockout_cost=self.p)

    def window(self, first: int, last: int) -> FloatArray:
        """g(first), …, g(last)."""
        high = self.low + len(self.values) - 1
        if first < self.low or last > high:
            span = len(self.values)
            new_low = min(first, self.low - span) if first < self.low else self.low
            new_high = max(last, high + span) if last > high else high
            if new_high - new_low > MAX_LEVELS:
                raise ValueError(
                    f"the exact Poisson algorithm would visit more than {MAX_LEVELS} "
                    "inventory levels; use normal demand for a case this large"
                )
            parts = [self.values]
            if new_low < self.low:
                parts.insert(0, self._compute(new_low, self.low - 1))
            if new_high > high:
                parts.append(self._compute(high + 1, new_high))
            self.low, self.values = new_low, np.concatenate(parts)
        return self.values[first - self.low : last - self.low + 1]

    def __call__(self, level: int) -> float:
        return float(self.window(level, level)[0])


def _rq_poisson(
    lead: Poisson, rate: float, holding_cost: float, stockout_cost: float, fixed_cost: float
) -> RQSolution:
    g = _PoissonCostTable(lead, holding_cost, stockout_cost)
    y_star = int(
        newsvendor(lead, holding_cost=holding_cost, stockout_cost=stockout_cost).order_up_to
    )
    # Window {r + 1, …, r + Q} of the Q smallest g-values (g is discretely convex).
    r, q = y_star - 1, 1
    total = g(y_star)
    cost = (fixed_cost * rate + total) / q
    while True:
        below, above = g(r), g(r + q + 1)
        nxt = min(below, above)
        # C(Q + 1) < C(Q) iff the next-smallest g is below C(Q); once it is not,
        # it never is again, since the increments only grow.
        if nxt >= cost:
            return RQSolution(reorder_point=r, order_quantity=q, expected_cost=cost)
        if below < above:
            r -= 1
        q += 1
        total += nxt
        cost = (fixed_cost * rate + total) / q


# ---------------------------------------------------------------- (s, S)


class _RenewalSS:
    """c(s, S) for periodic review, zero lead time, discrete demand (Zheng & Federgruen 1991).

    c(s, S) = [K + Σ_{j=0}^{S−s−1} m(j)·G(S − j)] / M(S − s), with m(0) = 1/(1 − f(0)),
    m(j) = m(0)·Σ_{l=1}^{j} f(l)·m(j − l) the renewal density of demand and
    M(n) = Σ_{j<n} m(j) (Snyder & Shen ch. 4). An order is placed
    when the inventory position is at or below s.
    """

    def __init__(
        self, demand: Poisson, holding_cost: float, stockout_cost: float, fixed_cost: float
    ) -> None:
        self.demand, self.k = demand, fixed_cost
        self.g = _PoissonCostTable(demand, holding_cost, stockout_cost)
        self._m = np.empty(0, dtype=np.float64)
        self._cumulative = np.zeros(1, dtype=np.float64)

    def _renewal(self, n: int) -> FloatArray:
        """m(0), …, m(n − 1)."""
        if len(self._m) < n:
            if n > MAX_SS_GAP:
                raise ValueError(
                    f"an (s, S) gap above {MAX_SS_GAP} levels is too large for the exact algorithm"
                )
            size = max(n, 2 * len(self._m), 64)
            pmf = stats.poisson.pmf(np.arange(size), self.demand.mean)
            m = np.empty(size, dtype=np.float64)
            m[: len(self._m)] = self._m
            m[0] = 1.0 / (1.0 - pmf[0])
            for j in range(max(1, len(self._m)), size):
                m[j] = m[0] * float(np.dot(pmf[1 : j + 1], m[j - 1 :: -1][:j]))
            self._m = m
            self._cumulative = np.concatenate(([0.0], np.cumsum(m)))
        return self._m[:n]

    def cost(self, s: int, big_s: int) -> float:
        n = big_s - s
        m = self._renewal(n)
        g_down = self.g.window(s + 1, big_s)[::-1]  # G(S), G(S − 1), …, G(s + 1)
        return (self.k + float(np.dot(m, g_down))) / float(self._cumulative[n])


def ss_cost(
    s: int,
    order_up_to: int,
    demand: Poisson,
    *,
    holding_cost: float,
    stockout_cost: float,
    fixed_cost: float,
) -> float:
    """Exact expected cost per period of an (s, S) policy, Poisson demand, zero lead time."""
    if order_up_to <= s:
        raise ValueError("(s, S) needs S > s")
    return _RenewalSS(demand, holding_cost, stockout_cost, fixed_cost).cost(s, order_up_to)


def ss(
    demand: Poisson, *, holding_cost: float, stockout_cost: float, fixed_cost: float
) -> SSSolution:
    """Optimal (s, S) policy for Poisson demand, zero lead time, periodic review.

    Zheng & Federgruen (1991), "Finding optimal (s, S) policies is about as simple
    as evaluating a single policy", Operations Research 39(4), 654-665; Snyder &
    Shen ch. 4. With y* the minimiser of G: s⁰ is the largest s < y*
    with c(s, y*) ≤ G(s); then S rises from y* while G(S) ≤ c*, and each
    improving S moves s up while c(s, S) ≤ G(s + 1).
    """
    model = _RenewalSS(demand, holding_cost, stockout_cost, fixed_cost)
    g = model.g
    y_star = int(
        newsvendor(demand, holding_cost=holding_cost, stockout_cost=stockout_cost).order_up_to
    )
    s = y_star - 1
    while model.cost(s, y_star) > g(s):
        s -= 1
    best_s, best_big_s = s, y_star
    best = model.cost(s, y_star)
    big_s = y_star + 1
    while g(big_s) <= best:
        if model.cost(best_s, big_s) < best:
            best_big_s = big_s
            while model.cost(best_s, best_big_s) <= g(best_s + 1):
                best_s += 1
            best = model.cost(best_s, best_big_s)
        big_s += 1
    return SSSolution(s=best_s, S=best_big_s, expected_cost=best)


# ---------------------------------------------------------------- JSON calculator

MODELS = ("newsvendor", "base_stock", "eoq", "rq", "ss")
MAX_POISSON_MEAN = 1e7

# Fields each model reads; "lead_time" is also accepted as 0 where the model has none.
_FIELDS: dict[str, tuple[str, ...]] = {
    "newsvendor": ("demand", "holding_cost", "stockout_cost"),
    "base_stock": ("demand", "lead_time", "holding_cost", "stockout_cost"),
    "eoq": ("fixed_cost", "holding_cost", "annual_demand"),
    "rq": ("demand", "lead_time", "holding_cost", "stockout_cost", "fixed_cost"),
    "ss": ("demand", "holding_cost", "stockout_cost", "fixed_cost"),
}


class CalculatorInputError(ValueError):
    """A calculator request that cannot be solved; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _number(
    obj: dict[str, object],
    key: str,
    *,
    where: str = "",
    positive: bool = False,
    non_negative: bool = False,
) -> float:
    field = f"{where}{key}"
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorInputError(field, f"expected a number, got {json_type(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise CalculatorInputError(field, "must be finite")
    if positive and number <= 0:
        raise CalculatorInputError(field, f"must be positive, got {value}")
    if non_negative and number < 0:
        raise CalculatorInputError(field, f"must not be negative, got {value}")
    return number


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _demand(value: object) -> Demand:
    if not isinstance(value, dict):
        raise CalculatorInputError("demand", f"expected an object, got {json_type(value)}")
    dist = value.get("dist")
    if dist == "normal":
        allowed: tuple[str, ...] = ("dist", "mean", "sd")
    elif dist == "poisson":
        allowed = ("dist", "mean")
    elif dist is None:
        raise CalculatorInputError("demand.dist", 'required: "normal" or "poisson"')
    else:
        raise CalculatorInputError("demand.dist", f'expected "normal" or "poisson", got {dist!r}')
    for key in value:
        if key not in allowed:
            raise CalculatorInputError(
                f"demand.{key}", f"unknown field for {dist} demand (fields: {', '.join(allowed)})"
            )
    for key in allowed[1:]:
        if key not in value:
            raise CalculatorInputError(f"demand.{key}", f"required for {dist} demand")
    if dist == "normal":
        return Normal(
            mean=_number(value, "mean", where="demand.", non_negative=True),
            sd=_number(value, "sd", where="demand.", positive=True),
        )
    mean = _number(value, "mean", where="demand.", positive=True)
    if mean > MAX_POISSON_MEAN:
        raise CalculatorInputError(
            "demand.mean", f"Poisson means above {MAX_POISSON_MEAN:g} are out of range; use normal"
        )
    return Poisson(mean=mean)


def _level(value: float, demand: Demand) -> float | int:
    return int(value) if isinstance(demand, Poisson) else value


def calculate(request: dict[str, object]) -> dict[str, float | int]:
    """Solve one textbook case given as a decoded JSON object (issue 7, item 3).

    Input: ``model`` (newsvendor | base_stock | eoq | rq | ss); ``demand``
    ({"dist": "normal", "mean", "sd"} or {"dist": "poisson", "mean"}, per
    period); ``lead_time`` in periods; ``holding_cost`` and ``stockout_cost`` per
    unit per period; ``fixed_cost`` per order; ``annual_demand`` for eoq (whose
    period is then the year: its holding_cost is per unit per year). Output keys:
    newsvendor and base_stock → order_up_to, expected_cost; eoq →
    order_quantity, expected_cost; rq → reorder_point, order_quantity,
    expected_cost; ss → s, S, expected_cost. Levels are integers for Poisson
    demand and real numbers for normal demand.

    Raises CalculatorInputError (a ValueError) naming the field at fault.
    """
    if not isinstance(request, dict):
        raise CalculatorInputError("request", f"expected an object, got {json_type(request)}")
    model = request.get("model")
    if model is None:
        raise CalculatorInputError("model", f"required: one of {', '.join(MODELS)}")
    if not isinstance(model, str) or model not in _FIELDS:
        raise CalculatorInputError("model", f"expected one of {', '.join(MODELS)}, got {model!r}")
    fields = _FIELDS[model]
    for key in request:
        if key == "model" or key in fields:
            continue
        if key == "lead_time" and model in ("newsvendor", "ss"):
            continue  # checked below: only 0 is meaningful
        raise CalculatorInputError(
            key, f"not used by model {model!r} (it takes: {', '.join(fields)})"
        )
    for key in fields:
        if key not in request:
            raise CalculatorInputError(key, f"required for model {model!r}")

    if (
        model in ("newsvendor", "ss")
        and "lead_time" in request
        and _number(request, "lead_time", non_negative=True) != 0
    ):
        hint = "use model base_stock" if model == "newsvendor" else "it is solved for L = 0"
        raise CalculatorInputError("lead_time", f"must be 0 for model {model!r} ({hint})")

    holding = _number(request, "holding_cost", positive=True)
    if model == "eoq":
        solved = eoq(
            fixed_cost=_number(request, "fixed_cost", positive=True),
            holding_cost=holding,
            demand_rate=_number(request, "annual_demand", positive=True),
        )
        return {"order_quantity": solved.order_quantity, "expected_cost": solved.expected_cost}

    demand = _demand(request["demand"])
    stockout = _number(request, "stockout_cost", positive=True)
    if model == "newsvendor":
        nv = newsvendor(demand, holding_cost=holding, stockout_cost=stockout)
        return {"order_up_to": _level(nv.order_up_to, demand), "expected_cost": nv.expected_cost}
    if model == "base_stock":
        lead_time = _number(request, "lead_time", non_negative=True)
        bs = base_stock(demand, lead_time=lead_time, holding_cost=holding, stockout_cost=stockout)
        return {"order_up_to": _level(bs.order_up_to, demand), "expected_cost": bs.expected_cost}

    fixed = _number(request, "fixed_cost", positive=True)
    if model == "rq":
        lead_time = _number(request, "lead_time", non_negative=True)
        if isinstance(demand, Normal) and lead_time == 0:
            raise CalculatorInputError(
                "lead_time", "must be positive for rq with normal demand (N(m·L, s²·L) needs L > 0)"
            )
        sol = rq(
            demand,
            lead_time=lead_time,
            holding_cost=holding,
            stockout_cost=stockout,
            fixed_cost=fixed,
        )
        return {
            "reorder_point": _level(sol.reorder_point, demand),
            "order_quantity": _level(sol.order_quantity, demand),
            "expected_cost": sol.expected_cost,
        }
    if not isinstance(demand, Poisson):
        raise CalculatorInputError("demand.dist", 'model "ss" is solved exactly for poisson demand')
    policy = ss(demand, holding_cost=holding, stockout_cost=stockout, fixed_cost=fixed)
    return {"s": policy.s, "S": policy.S, "expected_cost": policy.expected_cost}
