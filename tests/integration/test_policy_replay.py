"""Replay the last 6 months of the small preset day by day on the generator's true demand.

Issue 7, "Done when": Soko's policy (the engine, service level priced by margin
+ customer value at risk) must cost less in total — holding + ordering + lost
margin + lost customer value, judged by the generator's truth — than a fixed
"30 days of cover" policy, at equal or lower average stock value, and less than
the same engine pricing a shortage at the margin alone. Run with ``-s`` to see
the figures.

How the case is built (small preset, seed 1; the staple SKU × locations stocked
over the whole window; the simulator is :mod:`soko.policy.replay`):

* Demand: the generator's truth ``demand`` (units wanted, before stockouts),
  summed over the channels a location serves. The simulator knows it; the
  policies see only the days before each ordering day.
* Demand input of every policy: a rolling mean and standard deviation of the
  last 364 days of that true demand, not the forecast of ``soko.forecast``;
  the same estimate feeds all policies.
* Lead times: each order's lead time is drawn from the supplier's true
  lognormal (truth ``supplier_lead_times``), once per row and day, the same
  draws for every policy. The policies know only the mean and standard
  deviation measured from the purchase orders and receipts before the replay.
* Ordering days: the products' ordering weekdays; MOQ and case pack apply to
  every policy; ¥500 per order line; holding 25 % of unit cost a year.
* 30 days of cover: on each ordering day, position up to the mean demand of
  the lead time + 30 days (:func:`soko.policy.replay.days_of_cover_policy`).
* Customer value at risk (Soko's input): ``soko.insight.customer_value.
  shortage_costs`` on a store loaded with the history before the replay only.
* Lost customer value (the judge): per unit short, the truth's P(lapse |
  stockout) × the next-year margin of the customers who buy the SKU at that
  location (truth ``expected_spend_365d`` × the catalogue's margin share; walk-in
  store buyers without a customer ID count 0) ÷ their units per line.
* "Equal or lower stock": left alone, Soko holds more stock than the 30-day
  rule because lost sales cost far more than holding. Held to the rule's stock,
  Soko and margin-only are each run at the smallest capital charge θ (holding
  charged at 25 % + θ; the truth still charges 25 %) whose measured mean stock
  value is at most the rule's, θ found by bisection.
* 63 days of warm-up from the same start (30 days of stock on hand), then 182
  measured days ending 2026-10-31.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from soko.data.contract import load_order
from soko.data.generate import END, Dataset, generate
from soko.data.importer import import_tables
from soko.insight.customer_value import shortage_costs
from soko.policy.engine import PolicyInputs
from soko.policy.replay import (
    ReplayCase,
    ReplayResult,
    days_of_cover_policy,
    engine_policy,
    replay,
)
from soko.settings import Settings
from soko.store.db import make_engine, migrate

MEASURED_DAYS = 182
WARM_UP_DAYS = 63
WINDOW = 364
MAX_CAPITAL_CHARGE = 8.0
HOLDING_RATE = 0.25
ORDER_COST = 500.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Built:
    case: ReplayCase
    template: PolicyInputs
    lead_time_mean: np.ndarray
    rows: pl.DataFrame


def _history_only(dataset: Dataset, start: dt.date) -> list[tuple[str, pl.DataFrame]]:
    """The import frames as the shop knew them on the morning the replay starts."""
    start_at = dt.datetime.combine(start, dt.time())
    keep: list[tuple[str, pl.DataFrame]] = []
    for entity in (e.name for e in load_order() if e.name in dataset.tables):
        name, frame = f"{entity}.csv", dataset.tables[entity]
        known = frame
        if entity == "order_lines":
            known = frame.filter(pl.col("ordered_at") < start_at)
        elif entity == "restock_notices":
            known = frame.filter(pl.col("signed_up_at") < start_at).with_columns(
                pl.when(pl.col("notified_at") < start_at).then(pl.col("notified_at"))
            )
        elif entity in ("purchase_orders", "receipts", "stock"):
            continue  # the ledger is not needed for customer value
        keep.append((name, known))
    return keep


def _customer_value_at_risk(dataset: Dataset, start: dt.date, folder: Path) -> dict[str, float]:
    settings = Settings(data_dir=folder)
    engine = make_engine(settings)
    try:
        migrate(engine)
        import_tables(settings, _history_only(dataset, start))
        return {sku: cost.ltv_at_risk_per_unit for sku, cost in shortage_costs(engine).items()}
    finally:
        engine.dispose()


def _lead_times_measured(dataset: Dataset, start: dt.date) -> pl.DataFrame:
    """Per supplier, mean and sd of days from order to first receipt, orders before ``start``."""
    po = dataset.tables["purchase_orders"].filter(pl.col("ordered_on") < start)
    first = dataset.tables["receipts"].group_by("po_number").agg(pl.col("received_on").min())
    days = po.unique("po_number").join(first, on="po_number").filter(pl.col("received_on") < start)
    return days.group_by("supplier_code").agg(
        (pl.col("received_on") - pl.col("ordered_on")).dt.total_days().mean().alias("lt_mean"),
        (pl.col("received_on") - pl.col("ordered_on")).dt.total_days().std().alias("lt_sd"),
    )


def _truth_value_per_unit(dataset: Dataset) -> pl.DataFrame:
    """Truth: P(lapse) × next-year margin of a row's buyers ÷ units per line (0 for walk-ins)."""
    truth = dataset.truth
    p_lapse = float(truth["lapse"]["lapse_probability"][0])
    products = dataset.tables["products"].with_columns(
        (pl.col("price") / (1 + pl.col("tax_rate").cast(pl.Float64) / 100)).alias("net")
    )
    sales = dataset.tables["order_lines"].filter(pl.col("kind") == "sale")
    priced = sales.join(products.select("sku", "net", "unit_cost"), on="sku")
    sums = priced.select(
        (pl.col("quantity") * (pl.col("net") - pl.col("unit_cost"))).sum().alias("margin"),
        (pl.col("quantity") * pl.col("net")).sum().alias("revenue"),
    )
    margin_share = float(sums["margin"][0]) / float(sums["revenue"][0])
    valued = sales.join(
        truth["customers"].select("customer_id", "expected_spend_365d"),
        on="customer_id",
        how="left",
    ).with_columns(pl.col("expected_spend_365d").fill_null(0.0))
    return valued.group_by("sku", "location_code").agg(
        (
            p_lapse * margin_share * pl.col("expected_spend_365d").sum() / pl.col("quantity").sum()
        ).alias("truth_value")
    )


def build_case(dataset: Dataset, folder: Path, seed: int = 7) -> Built:
    last = END
    first_measured = last - dt.timedelta(days=MEASURED_DAYS - 1)
    start = first_measured - dt.timedelta(days=WARM_UP_DAYS)
    prelude_start = start - dt.timedelta(days=WINDOW)
    dates = pl.date_range(prelude_start, last, eager=True)
    n_days = len(dates)

    products = dataset.tables["products"].filter(
        (pl.col("item_type") == "staple") & ~pl.col("made_to_order")
    )
    rows = (
        dataset.truth["assortment"]
        .filter((pl.col("active_from") <= prelude_start) & (pl.col("active_to") >= last))
        .join(products, on="sku")
        .sort("sku", "location_code")
        .with_row_index("row")
    )
    n = rows.height
    demand = np.zeros((n, n_days), dtype=np.int64)
    daily = (
        dataset.truth["demand"]
        .filter(pl.col("date") >= prelude_start)
        .group_by("sku", "location_code", "date")
        .agg(pl.col("demand_units").sum())
        .join(rows.select("sku", "location_code", "row"), on=["sku", "location_code"])
    )
    day_index = (daily["date"] - prelude_start).dt.total_days().to_numpy()
    demand[daily["row"].to_numpy(), day_index] = daily["demand_units"].to_numpy()

    lead_truth = rows.join(dataset.truth["supplier_lead_times"], on="supplier_code", how="left")
    cv = lead_truth["cv"].to_numpy()
    sigma = np.sqrt(np.log1p(cv**2))
    mu = np.log(lead_truth["mean_days"].to_numpy()) - sigma**2 / 2
    rng = np.random.default_rng(seed)
    lead = np.maximum(1, np.rint(rng.lognormal(mu[:, None], sigma[:, None], (n, n_days))))

    weekday = np.array([d.weekday() for d in dates.to_list()])
    allowed = rows["order_weekdays"].to_list()
    order_day = np.array(
        [[WEEKDAYS[w] in text.split(",") for w in weekday] for text in allowed], dtype=bool
    )
    order_day[:, :WINDOW] = False

    net_price = rows["price"].to_numpy() / (1 + rows["tax_rate"].cast(pl.Float64).to_numpy() / 100)
    unit_cost = rows["unit_cost"].to_numpy().astype(np.float64)
    truth_value = (
        rows.join(_truth_value_per_unit(dataset), on=["sku", "location_code"], how="left")
        .sort("row")["truth_value"]
        .fill_null(0.0)
        .to_numpy()
    )
    prelude_mean = demand[:, :WINDOW].mean(axis=1)

    # The replay's day 0 is the first day after the prelude; the prelude is history only.
    case = ReplayCase(
        demand=demand,
        lead_time=lead.astype(np.int64),
        order_day=order_day,
        unit_cost=unit_cost,
        unit_margin=np.maximum(net_price - unit_cost, 0.0),
        value_lost_per_unit=truth_value,
        start_on_hand=np.ceil(prelude_mean * 30).astype(np.int64),
        holding_rate=HOLDING_RATE,
        order_cost=ORDER_COST,
        measure_from=WINDOW + WARM_UP_DAYS,
        first_day=WINDOW,
    )

    measured_lt = rows.join(_lead_times_measured(dataset, start), on="supplier_code", how="left")
    promised = rows.join(dataset.tables["suppliers"], on="supplier_code", how="left")
    lt_mean = measured_lt["lt_mean"].fill_null(promised["lead_time_days"]).to_numpy()
    lt_sd = measured_lt["lt_sd"].fill_null(0.0).to_numpy()
    at_risk = _customer_value_at_risk(dataset, start, folder)
    cvar = np.array([at_risk.get(sku, 0.0) for sku in rows["sku"].to_list()])
    zeros = np.zeros(n, dtype=np.int64)
    template = PolicyInputs(
        demand_mean=np.zeros(n),
        demand_sd=np.zeros(n),
        lead_time_mean=lt_mean.astype(np.float64),
        lead_time_sd=lt_sd.astype(np.float64),
        review_days=rows["review_period_days"].to_numpy().astype(np.int64),
        on_hand=zeros,
        on_order=zeros,
        reserved=zeros,
        backorders=zeros,
        unit_cost=unit_cost,
        unit_price=net_price,
        holding_rate=np.full(n, HOLDING_RATE),
        customer_value_at_risk=cvar,
        moq=rows["moq"].to_numpy().astype(np.int64),
        case_pack=rows["case_pack"].to_numpy().astype(np.int64),
        made_to_order=np.zeros(n, dtype=bool),
        service_override=np.full(n, math.nan),
        order_cost=np.full(n, ORDER_COST),
    )
    return Built(case, template, lt_mean, rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_case(generate("small", 1), tmp_path_factory.mktemp("replay"))


@dataclass(frozen=True)
class Runs:
    cover: ReplayResult
    soko: ReplayResult
    """Soko unconstrained: holding charged at the true 25 %."""
    margin_only: ReplayResult
    soko_within_cover: ReplayResult
    """Soko at the smallest capital charge whose stock is worth no more than the cover's."""
    margin_only_within_cover: ReplayResult


def _within(built: Built, stock_limit: float, *, customer_value: bool, name: str) -> ReplayResult:
    """The engine at the smallest capital charge θ whose mean stock value is at most
    ``stock_limit``: holding is charged at 25 % + θ, the lever a seller moves to hold
    less (a stock budget's Lagrange multiplier, Everett 1963). θ by bisection on
    [0, 8] to 1/64; the truth still charges holding at 25 %."""
    template = built.template
    value = template.customer_value_at_risk if customer_value else np.zeros(len(template))

    def run(theta: float) -> ReplayResult:
        charged = replace(
            template, holding_rate=template.holding_rate + theta, customer_value_at_risk=value
        )
        policy = engine_policy(charged, window=WINDOW)
        return replay(built.case, policy, name=f"{name} (θ = {theta:.3f})")

    best = run(MAX_CAPITAL_CHARGE)
    assert best.mean_stock_value <= stock_limit, f"{name}: θ = {MAX_CAPITAL_CHARGE} holds more"
    low, high = 0.0, MAX_CAPITAL_CHARGE
    while high - low > 1 / 64:
        mid = (low + high) / 2
        result = run(mid)
        if result.mean_stock_value <= stock_limit:
            high, best = mid, result
        else:
            low = mid
    return best


@pytest.fixture(scope="module")
def runs(built: Built) -> Runs:
    case, template = built.case, built.template
    cover = replay(
        case,
        days_of_cover_policy(
            30,
            lead_time_mean=built.lead_time_mean,
            moq=template.moq,
            case_pack=template.case_pack,
            window=WINDOW,
        ),
        name="30 days of cover",
    )
    margin_template = replace(template, customer_value_at_risk=np.zeros(len(template)))
    result = Runs(
        cover=cover,
        soko=replay(case, engine_policy(template, window=WINDOW), name="Soko"),
        margin_only=replay(case, engine_policy(margin_template, window=WINDOW), name="margin only"),
        soko_within_cover=_within(built, cover.mean_stock_value, customer_value=True, name="Soko"),
        margin_only_within_cover=_within(
            built, cover.mean_stock_value, customer_value=False, name="margin only"
        ),
    )
    print(f"\n{built.rows.height} staple SKU × locations, {MEASURED_DAYS} days to {END} (JPY):")
    for line in (
        result.cover,
        result.soko_within_cover,
        result.margin_only_within_cover,
        result.soko,
        result.margin_only,
    ):
        print(line.line())
    return result


def test_soko_costs_less_than_30_days_of_cover_with_no_more_stock(runs: Runs) -> None:
    soko, cover = runs.soko_within_cover, runs.cover
    assert soko.mean_stock_value <= cover.mean_stock_value
    assert soko.total < cover.total
    # Unconstrained, pricing stock at its true holding cost, Soko costs less still.
    assert runs.soko.total < soko.total


def test_pricing_customer_value_costs_less_than_margin_only(runs: Runs) -> None:
    assert runs.soko.total < runs.margin_only.total
    assert runs.soko.lost_customer_value < runs.margin_only.lost_customer_value
    # Held to the 30-day rule's stock the two are printed, not compared: the gap is 1-4 %
    # on seeds 1-3 (docs/policy.md), within what a refit of customer value can move.
