"""One plan run: forecast → customer value → policy → purchase-order list (P4, P5, P11).

``soko plan``, the web app and the demo call :func:`run_plan`. It keeps the run
in ``plan_runs`` with the settings it used and its headline figures, and one
``plan_lines`` row per SKU × location that needs an order (or carries a
buyer's edit), so runs can be compared later. Progress goes to a callback (the
CLI draws a Rich bar) and to a job (``soko.jobs``) that pages poll.

* **Staple items** (定番品) go through :func:`soko.policy.engine.recommend`:
  safety stock, reorder point and order-up-to level from the demand over the
  protection interval, the service level chosen from holding cost against
  shortage cost, where a unit short costs its margin plus the customer value
  at risk (:func:`soko.insight.customer_value.shortage_costs`).
* **Seasonal items** (シーズン品, SKUs whose product has a ``season_end``) are
  bought by the newsvendor over the rest of the season
  (:mod:`soko.planning.seasonal`).
* **Inventory position** = on hand + on order − reserved, where on order is
  every purchase-order line's units not yet received; a line approved in one
  run is therefore on order in the next, which never orders it again.
* **Lead time** per SKU where set, else measured per supplier from receipts
  (:mod:`soko.planning.suppliers`).
* MOQ and case pack are applied to every quantity, and a supplier's weekly
  capacity caps its total (highest shortage cost first).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy import stats
from sqlalchemy import Connection, Engine, func, or_, select, update

from soko.errors import ErrorCode, SokoError
from soko.planning.quantities import orderable
from soko.planning.seasonal import seasonal_buy
from soko.planning.suppliers import LeadTime, receipt_history, sku_lead_times, supplier_stats
from soko.policy.engine import PolicyInputs, PolicyResult, cap_by_supplier, recommend
from soko.settings import local_now
from soko.store.tables import (
    Balance,
    Location,
    PlanLine,
    PlanRun,
    Preorder,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receipt,
    Sku,
    Supplier,
    Transfer,
    table_of,
)

STAGES = ("forecast", "customer value", "policy", "purchase-order list")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Progress = Callable[[int, int, str], None]
"""Called with (stages done, stages in all, what runs now)."""


@dataclass(frozen=True)
class PlanSettings:
    """The choices a plan run makes; kept with the run so it can be reproduced."""

    target: Literal["cycle", "fill"] = "cycle"
    """What a service level means: cycle service level or fill rate."""
    holding_rate: float = 0.25
    """Annual holding cost as a share of unit cost (capital, space, risk)."""
    markdown_share: float = 0.3
    """A seasonal unit left at season end sells for this share of its net price."""
    horizon_days: int = 91
    """Days of forecast the run asks for."""
    default_review_days: int = 7
    """Days between orders when a SKU has neither a review period nor ordering weekdays."""
    customer_value: bool = True
    """Price a shortage with the customer value at risk (False: margin only)."""

    def __post_init__(self) -> None:
        if self.target not in ("cycle", "fill"):
            raise SokoError(
                ErrorCode.validation_error, f"target: 'cycle' or 'fill', not {self.target!r}."
            )
        if not 0 <= self.holding_rate <= 5:
            raise SokoError(
                ErrorCode.validation_error,
                f"holding_rate: between 0 and 5 a year, not {self.holding_rate}.",
            )
        if not 0 <= self.markdown_share < 1:
            raise SokoError(
                ErrorCode.validation_error,
                f"markdown_share: at least 0 and below 1, not {self.markdown_share}.",
            )
        if not 7 <= self.horizon_days <= 366:
            raise SokoError(
                ErrorCode.validation_error, f"horizon_days: from 7 to 366, not {self.horizon_days}."
            )
        if not 1 <= self.default_review_days <= 90:
            raise SokoError(
                ErrorCode.validation_error,
                f"default_review_days: from 1 to 90, not {self.default_review_days}.",
            )


@dataclass(frozen=True)
class PlanOutcome:
    """What a finished run reports: its id, headline figures and each stage's seconds."""

    plan_run_id: int
    as_of: dt.date
    lines: int
    units: int
    value: Decimal
    timings: dict[str, float] = field(default_factory=dict)
    job_id: int | None = None


# ---------------------------------------------------------------- reading the store


def review_days(review_period: int | None, weekdays: str | None, default: int) -> int:
    """Days between order opportunities: the SKU's review period, else 7 ÷ ordering weekdays."""
    if review_period:
        return max(1, int(review_period))
    if weekdays:
        days = {w.strip().lower()[:3] for w in weekdays.replace("/", ",").split(",")}
        count = len(days & set(WEEKDAYS))
        if count:
            return max(1, round(7 / count))
    return default


def load_catalogue(conn: Connection, as_of: dt.date, settings: PlanSettings) -> pl.DataFrame:
    """Per SKU what the policy needs: costs, price net of tax, pack, supplier, season, lead time."""
    rows = conn.execute(
        select(
            Sku.id,
            Sku.code,
            Sku.unit_cost,
            Sku.price,
            Sku.tax_rate,
            Sku.price_includes_tax,
            Sku.case_pack,
            Sku.moq,
            func.coalesce(Sku.supplier_id, Product.supplier_id),
            Sku.review_period_days,
            Sku.order_weekdays,
            Sku.safety_factor,
            Sku.made_to_order,
            Product.season_end,
            Product.name,
            Product.season_start,
        ).join(Product, Product.id == Sku.product_id)
    ).all()
    capacity = dict(conn.execute(select(Supplier.id, Supplier.capacity_per_week)).all())
    leads = sku_lead_times(conn, supplier_stats(receipt_history(conn)))
    records = []
    for r in rows:
        price = float(r[3] or 0)
        if r[5] and r[4]:
            price = price / (1 + r[4] / 100)
        lead = leads.get(r[0], LeadTime(14.0, 0.0, "default"))
        season_end: dt.date | None = r[13]
        records.append(
            {
                "sku_id": r[0],
                "sku": r[1],
                "unit_cost": float(r[2]) if r[2] is not None else math.nan,
                "net_price": price,
                "case_pack": max(1, int(r[6] or 1)),
                "moq": max(1, int(r[7] or 1)),
                "supplier_id": r[8],
                "capacity": capacity.get(r[8]) if r[8] is not None else None,
                "review_days": review_days(r[9], r[10], settings.default_review_days),
                "safety_factor": float(r[11]) if r[11] is not None else math.nan,
                "made_to_order": bool(r[12]),
                "season_end": season_end,
                "season_start": r[15],
                "seasonal": season_end is not None,
                "lead_mean": lead.mean_days,
                "lead_sd": lead.sd_days,
                "lead_source": lead.source,
                "product_name": r[14],
            }
        )
    return pl.DataFrame(
        records,
        schema={
            "sku_id": pl.Int64,
            "sku": pl.String,
            "unit_cost": pl.Float64,
            "net_price": pl.Float64,
            "case_pack": pl.Int64,
            "moq": pl.Int64,
            "supplier_id": pl.Int64,
            "capacity": pl.Int64,
            "review_days": pl.Int64,
            "safety_factor": pl.Float64,
            "made_to_order": pl.Boolean,
            "season_end": pl.Date,
            "season_start": pl.Date,
            "seasonal": pl.Boolean,
            "lead_mean": pl.Float64,
            "lead_sd": pl.Float64,
            "lead_source": pl.String,
            "product_name": pl.String,
        },
    )


def on_order(conn: Connection) -> dict[tuple[int, int], int]:
    """(SKU id, location id) → units on open purchase-order lines not yet received.

    The same sum as the ledger's incoming stock (``soko.ledger.service.balances``).
    """
    received = (
        select(
            Receipt.purchase_order_line_id.label("line_id"),
            func.sum(Receipt.quantity).label("units"),
        )
        .group_by(Receipt.purchase_order_line_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            PurchaseOrderLine.sku_id,
            PurchaseOrder.location_id,
            PurchaseOrderLine.quantity,
            func.coalesce(received.c.units, 0),
        )
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .outerjoin(received, received.c.line_id == PurchaseOrderLine.id)
    ).all()
    out: dict[tuple[int, int], int] = {}
    for sku, loc, qty, got in rows:
        open_units = max(0, int(qty) - int(got))
        if open_units:
            out[(sku, loc)] = out.get((sku, loc), 0) + open_units
    return out


def in_transit(conn: Connection) -> dict[tuple[int, int], int]:
    """(SKU id, destination id) → units of transfers in transit, incoming like an order."""
    rows = conn.execute(
        select(Transfer.sku_id, Transfer.to_location_id, func.sum(Transfer.quantity))
        .where(Transfer.status == "in_transit")
        .group_by(Transfer.sku_id, Transfer.to_location_id)
    ).all()
    return {(int(s), int(loc)): int(q) for s, loc, q in rows if q}


def waiting_preorders(conn: Connection) -> dict[int, int]:
    """SKU id → units of pre-orders (予約販売) still waiting for incoming stock."""
    rows = conn.execute(
        select(Preorder.sku_id, func.sum(Preorder.quantity))
        .where(Preorder.status == "waiting")
        .group_by(Preorder.sku_id)
    ).all()
    return {int(s): int(q) for s, q in rows if q}


def split_backorders(
    waiting: dict[int, int], incoming: dict[tuple[int, int], int]
) -> dict[tuple[int, int], int]:
    """Waiting pre-orders of each SKU spread over its locations by their incoming units.

    A pre-order is sold against incoming stock, so the locations receiving
    that stock are the ones it will be served from; largest remainders keep
    the total exact.
    """
    out: dict[tuple[int, int], int] = {}
    for sku, units in waiting.items():
        places = sorted((loc, q) for (s, loc), q in incoming.items() if s == sku and q > 0)
        total = sum(q for _, q in places)
        if total <= 0:
            continue
        shares = [(loc, units * q / total) for loc, q in places]
        floors = {loc: int(share) for loc, share in shares}
        left = units - sum(floors.values())
        for loc, _share in sorted(shares, key=lambda x: (-(x[1] - int(x[1])), x[0]))[:left]:
            floors[loc] += 1
        out |= {(sku, loc): n for loc, n in floors.items() if n}
    return out


def load_positions(conn: Connection) -> pl.DataFrame:
    """Per SKU × location: ``on_hand``, ``reserved``, ``on_order`` (open purchase-order
    lines and transfers in transit) and ``backorders`` (waiting pre-orders)."""
    stock = {
        (s, loc): (int(h), int(r))
        for s, loc, h, r in conn.execute(
            select(Balance.sku_id, Balance.location_id, Balance.on_hand, Balance.reserved)
        ).all()
    }
    ordered = on_order(conn)
    for key, units in in_transit(conn).items():
        ordered[key] = ordered.get(key, 0) + units
    backorders = split_backorders(waiting_preorders(conn), ordered)
    keys = sorted(set(stock) | set(ordered))
    return pl.DataFrame(
        {
            "sku_id": [k[0] for k in keys],
            "location_id": [k[1] for k in keys],
            "on_hand": [stock.get(k, (0, 0))[0] for k in keys],
            "reserved": [stock.get(k, (0, 0))[1] for k in keys],
            "on_order": [ordered.get(k, 0) for k in keys],
            "backorders": [backorders.get(k, 0) for k in keys],
        },
        schema={
            "sku_id": pl.Int64,
            "location_id": pl.Int64,
            "on_hand": pl.Int64,
            "reserved": pl.Int64,
            "on_order": pl.Int64,
            "backorders": pl.Int64,
        },
    )


# ---------------------------------------------------------------- the pure part


def demand_per_line(
    daily: pl.DataFrame,
    catalogue: pl.DataFrame,
    locations: dict[str, int],
    as_of: dt.date,
) -> pl.DataFrame:
    """Per SKU × location: daily demand over the protection interval (staple) or the rest of
    the season (seasonal).

    ``daily`` is the forecast: ``sku``, ``location``, ``ds``, ``mean``, ``sd`` per day;
    ``as_of`` is its first day (day 1 of the protection interval).
    Staple: mean and sd of daily demand over the first review + lead time days
    (at least a week), sd as √(mean of daily variances). Seasonal: total
    demand mean and sd (√ of summed variances) from the forecast's first day to the
    season's end. A season that ends after the forecast's last day is extended at
    the forecast's in-season daily rate (mean and variance per day kept), and
    ``forecast_share`` says which share of the season's rest the forecast itself
    covered.
    """
    loc_frame = pl.DataFrame(
        {"location": list(locations), "location_id": list(locations.values())},
        schema={"location": pl.String, "location_id": pl.Int64},
    )
    frame = (
        daily.select("sku", "location", "ds", "mean", "sd")
        .join(
            catalogue.select(
                "sku",
                "sku_id",
                "seasonal",
                "season_start",
                "season_end",
                "review_days",
                "lead_mean",
            ),
            on="sku",
        )
        .join(loc_frame, on="location")
        .with_columns(
            days_out=(pl.col("ds").cast(pl.Date) - pl.lit(as_of)).dt.total_days() + 1,
            window=pl.max_horizontal(
                pl.lit(7.0), pl.col("review_days").cast(pl.Float64) + pl.col("lead_mean")
            ).ceil(),
        )
        .filter(pl.col("days_out") >= 1)
    )
    staple = (
        frame.filter(~pl.col("seasonal") & (pl.col("days_out") <= pl.col("window")))
        .group_by("sku_id", "location_id")
        .agg(
            daily_mean=pl.col("mean").mean(),
            daily_sd=(pl.col("sd") ** 2).mean().sqrt(),
            season_mean=pl.lit(0.0),
            season_sd=pl.lit(0.0),
        )
    )
    last_day = frame["ds"].cast(pl.Date).max() if frame.height else as_of
    in_season = pl.col("season_start").is_null() | (
        pl.col("ds").cast(pl.Date) >= pl.col("season_start")
    )
    seasonal = (
        frame.filter(pl.col("seasonal") & (pl.col("ds").cast(pl.Date) <= pl.col("season_end")))
        .group_by("sku_id", "location_id")
        .agg(
            daily_mean=pl.col("mean").mean(),
            daily_sd=(pl.col("sd") ** 2).mean().sqrt(),
            season_mean=pl.col("mean").sum(),
            season_var=(pl.col("sd") ** 2).sum(),
            rate=pl.col("mean").filter(in_season).mean(),
            rate_var=(pl.col("sd") ** 2).filter(in_season).mean(),
            covered=pl.len(),
            season_end=pl.col("season_end").first(),
        )
        .with_columns(
            beyond=pl.max_horizontal(
                pl.lit(0), (pl.col("season_end") - pl.lit(last_day)).dt.total_days()
            ).cast(pl.Float64)
        )
        .with_columns(
            season_mean=pl.col("season_mean") + pl.col("beyond") * pl.col("rate").fill_null(0.0),
            season_sd=(
                pl.col("season_var") + pl.col("beyond") * pl.col("rate_var").fill_null(0.0)
            ).sqrt(),
            forecast_share=pl.col("covered") / (pl.col("covered") + pl.col("beyond")),
        )
        .select(
            "sku_id",
            "location_id",
            "daily_mean",
            "daily_sd",
            "season_mean",
            "season_sd",
            "forecast_share",
        )
    )
    staple = staple.with_columns(forecast_share=pl.lit(1.0))
    return pl.concat([staple, seasonal], how="vertical_relaxed").with_columns(
        pl.col("daily_mean", "daily_sd", "season_mean", "season_sd", "forecast_share")
        .cast(pl.Float64)
        .fill_null(0.0)
        .clip(lower_bound=0.0)
    )


def _r(value: float, digits: int = 4) -> float:
    """A finite float for JSON (the store's JSON columns refuse NaN)."""
    return round(float(value), digits) if math.isfinite(value) else 0.0


def compute_lines(
    demand: pl.DataFrame,
    catalogue: pl.DataFrame,
    positions: pl.DataFrame,
    ltv_at_risk: dict[str, float],
    as_of: dt.date,
    settings: PlanSettings,
) -> list[dict[str, Any]]:
    """Every SKU × location's policy figures and recommended quantity, explained.

    Pure: frames in, rows out (one dict per line, the ``plan_lines`` columns).
    """
    table = (
        demand.join(catalogue, on="sku_id")
        .join(positions, on=["sku_id", "location_id"], how="left")
        .with_columns(pl.col("on_hand", "reserved", "on_order", "backorders").fill_null(0))
        .filter(~(pl.col("seasonal") & (pl.col("season_end") < pl.lit(as_of))))
        .sort("sku_id", "location_id")
    )
    if table.is_empty():
        return []
    risk = np.array(
        [ltv_at_risk.get(s, 0.0) if settings.customer_value else 0.0 for s in table["sku"]],
        dtype=np.float64,
    )
    cost = table["unit_cost"].fill_nan(None).fill_null(0.0).to_numpy().astype(np.float64)
    price = table["net_price"].to_numpy().astype(np.float64)
    on_hand = table["on_hand"].to_numpy().astype(np.int64)
    reserved = table["reserved"].to_numpy().astype(np.int64)
    ordered = table["on_order"].to_numpy().astype(np.int64)
    backorders = table["backorders"].to_numpy().astype(np.int64)
    position = on_hand + ordered - reserved - backorders
    pack = table["case_pack"].to_numpy().astype(np.int64)
    moq = table["moq"].to_numpy().astype(np.int64)
    seasonal = table["seasonal"].to_numpy()
    n = table.height

    # Staple rows through the policy engine.
    z = table["safety_factor"].to_numpy().astype(np.float64)
    override = np.where(np.isnan(z), np.nan, stats.norm.cdf(np.nan_to_num(z)))
    inputs = PolicyInputs(
        demand_mean=table["daily_mean"].to_numpy().astype(np.float64),
        demand_sd=table["daily_sd"].to_numpy().astype(np.float64),
        lead_time_mean=table["lead_mean"].to_numpy().astype(np.float64),
        lead_time_sd=table["lead_sd"].to_numpy().astype(np.float64),
        review_days=table["review_days"].to_numpy().astype(np.int64),
        on_hand=on_hand,
        on_order=ordered,
        reserved=reserved,
        backorders=backorders,
        unit_cost=cost,
        unit_price=price,
        holding_rate=np.full(n, settings.holding_rate),
        customer_value_at_risk=risk,
        moq=moq,
        case_pack=pack,
        made_to_order=table["made_to_order"].to_numpy().astype(np.bool_),
        service_override=np.where(override >= 1.0, np.nan, override).astype(np.float64),
    )
    policy = recommend(inputs, target=settings.target)
    quantity = policy.order_quantity.copy()
    explanations: list[dict[str, Any]] = []
    flags: list[list[str]] = []
    service = policy.service_level.copy()
    for i, row in enumerate(table.iter_rows(named=True)):
        if not seasonal[i]:
            explanations.append(_staple_explanation(policy, i, row))
            flags.append(["made_to_order"] if row["made_to_order"] else [])
            continue
        days_left = float((row["season_end"] - as_of).days + 1)
        margin = max(price[i] - cost[i], 0.0)
        salvage = min(settings.markdown_share * price[i], cost[i])
        buy = seasonal_buy(
            demand_mean=row["season_mean"],
            demand_sd=row["season_sd"],
            inventory_position=int(position[i]),
            unit_cost=cost[i],
            salvage_value=salvage,
            shortage_cost=margin + risk[i],
            days_left=days_left,
            lead_time_days=row["lead_mean"],
            rounding=partial(_round_one, case_pack=int(pack[i]), moq=int(moq[i])),
        )
        margin_ratio = margin / (margin + max(cost[i] - salvage, 1e-6)) if margin > 0 else 0.0
        quantity[i] = 0 if row["made_to_order"] else round(buy.quantity)
        service[i] = buy.critical_ratio
        explanations.append(
            {
                "model": "newsvendor",
                "why": "season_target" if quantity[i] > 0 else "season_covered",
                "days_left": days_left,
                "season_demand": _r(row["season_mean"], 2),
                "season_demand_sd": _r(row["season_sd"], 2),
                "forecast_share": _r(row["forecast_share"], 3),
                "target": buy.target,
                "critical_ratio": _r(buy.critical_ratio),
                "margin_only_critical_ratio": _r(margin_ratio),
                "salvage_value": _r(salvage, 2),
                "overage_cost": _r(cost[i] - salvage, 2),
                "shortage_cost_per_unit": _r(margin + risk[i], 2),
                "margin_lost": _r(margin, 2),
                "customer_value_at_risk": _r(risk[i], 2),
                "expected_leftover": _r(buy.expected_leftover, 2),
                "leftover_from_buy": _r(buy.leftover_from_buy, 2),
                "expected_short": _r(buy.expected_short, 2),
                "lead_time_source": row["lead_source"],
                "raw_quantity": _r(buy.quantity, 2),
                "backorders": int(backorders[i]),
            }
        )
        flags.append(list(buy.flags))

    capacity = {
        int(s): int(c)
        for s, c in table.select("supplier_id", "capacity").unique().drop_nulls().iter_rows()
    }
    if capacity:
        supplier = table["supplier_id"].fill_null(-1).to_numpy().astype(np.int64)
        capped = cap_by_supplier(
            quantity,
            supplier,
            capacity,
            moq=moq,
            case_pack=pack,
            priority=policy.shortage_cost_per_unit,
        )
        for cut in np.flatnonzero(capped < quantity):
            flags[int(cut)].append("capped_by_supplier")
        quantity = capped

    lines: list[dict[str, Any]] = []
    for i, row in enumerate(table.iter_rows(named=True)):
        is_seasonal = bool(seasonal[i])
        lines.append(
            {
                "sku_id": row["sku_id"],
                "location_id": row["location_id"],
                "supplier_id": row["supplier_id"],
                "kind": "seasonal" if is_seasonal else "staple",
                "demand_mean": Decimal(str(_r(row["daily_mean"], 3))),
                "demand_sd": Decimal(str(_r(row["daily_sd"], 3))),
                "protection_days": Decimal(
                    str(
                        _r(
                            explanations[i]["days_left"]
                            if is_seasonal
                            else policy.protection_days[i],
                            2,
                        )
                    )
                ),
                "lead_time_days": Decimal(str(_r(row["lead_mean"], 2))),
                "service_level": Decimal(str(_r(service[i]))),
                "safety_stock": 0 if is_seasonal else round(policy.safety_stock[i]),
                "reorder_point": 0 if is_seasonal else int(policy.reorder_point[i]),
                "order_up_to": int(explanations[i]["target"])
                if is_seasonal
                else int(policy.order_up_to[i]),
                "on_hand": int(on_hand[i]),
                "on_order": int(ordered[i]),
                "reserved": int(reserved[i]),
                "inventory_position": int(position[i]),
                "recommended_quantity": int(quantity[i]),
                "unit_cost": Decimal(str(cost[i])) if math.isfinite(row["unit_cost"]) else None,
                "flags": flags[i],
                "explanation": explanations[i],
            }
        )
    return lines


def _round_one(quantity: float, *, case_pack: int, moq: int) -> float:
    """One quantity in whole cases of at least the MOQ (see :func:`orderable`)."""
    packed = orderable(np.array([quantity]), case_pack=np.array([case_pack]), moq=np.array([moq]))
    return float(packed[0])


def _staple_explanation(policy: PolicyResult, i: int, row: dict[str, Any]) -> dict[str, Any]:
    position, reorder = int(policy.inventory_position[i]), int(policy.reorder_point[i])
    if row["made_to_order"]:
        why = "made_to_order"
    elif position < reorder:
        why = "below_reorder_point"
    else:
        why = "above_reorder_point"
    return {
        "model": "policy",
        "why": why,
        "basis": str(policy.basis[i]),
        "distribution": str(policy.distribution[i]),
        "demand_over_protection": _r(policy.demand_over_protection[i], 2),
        "demand_over_protection_sd": _r(policy.demand_over_protection_sd[i], 2),
        "protection_days": _r(policy.protection_days[i], 2),
        "cycle_days": _r(policy.cycle_days[i], 2),
        "service_level": _r(policy.service_level[i]),
        "margin_only_service_level": _r(policy.margin_only_service_level[i]),
        "critical_ratio": _r(policy.critical_ratio[i]),
        "margin_only_critical_ratio": _r(policy.margin_only_critical_ratio[i]),
        "margin_only_reorder_point": int(policy.margin_only_reorder_point[i]),
        "fill_rate": _r(policy.fill_rate[i]),
        "cycle_service_level": _r(policy.cycle_service_level[i]),
        "shortage_cost_per_unit": _r(policy.shortage_cost_per_unit[i], 2),
        "margin_lost": _r(policy.margin_lost[i], 2),
        "customer_value_at_risk": _r(policy.customer_value_at_risk[i], 2),
        "holding_cost_per_unit_period": _r(policy.holding_cost_per_unit_period[i], 2),
        "expected_holding_cost": _r(policy.expected_holding_cost[i], 2),
        "expected_shortage_cost": _r(policy.expected_shortage_cost[i], 2),
        "lead_time_source": row["lead_source"],
        "lead_time_sd": _r(row["lead_sd"], 2),
        "review_days": int(row["review_days"]),
        "backorders": int(row["backorders"]),
        "text": policy.explain(i),
    }


# ---------------------------------------------------------------- the run


def final_quantity(recommended: int, edited: int | None, excluded: bool) -> int:
    """What the buyer will order on a line: nothing if excluded, else their edit or the plan's."""
    if excluded:
        return 0
    return recommended if edited is None else edited


NO_EDIT: dict[str, Any] = {
    "edited_quantity": None,
    "excluded": False,
    "note": None,
    "edited_at": None,
    "edited_by": None,
}


def _open_edits(conn: Connection) -> dict[tuple[int, int], dict[str, Any]]:
    """The buyer's edits on the newest earlier line of each SKU × location not yet approved."""
    latest = select(func.max(PlanRun.id)).where(PlanRun.status == "done").scalar_subquery()
    rows = conn.execute(
        select(
            PlanLine.sku_id,
            PlanLine.location_id,
            PlanLine.edited_quantity,
            PlanLine.excluded,
            PlanLine.note,
            PlanLine.edited_at,
            PlanLine.edited_by,
        ).where(
            PlanLine.plan_run_id == latest,
            PlanLine.approved_at.is_(None),
            PlanLine.edited_at.is_not(None),
            or_(
                PlanLine.edited_quantity.is_not(None),
                PlanLine.excluded.is_(True),
                PlanLine.note.is_not(None),
            ),
        )
    ).all()
    return {
        (r[0], r[1]): {
            "edited_quantity": r[2],
            "excluded": bool(r[3]),
            "note": r[4],
            "edited_at": r[5],
            "edited_by": r[6],
        }
        for r in rows
    }


def summarise(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline figures of a run: lines, units and value to order, per kind and in all."""
    out: dict[str, Any] = {"lines": 0, "units": 0, "value": 0.0, "by_kind": {}}
    for line in lines:
        qty = final_quantity(
            line["recommended_quantity"], line.get("edited_quantity"), line.get("excluded", False)
        )
        if qty <= 0:
            continue
        value = float(line["unit_cost"] or 0) * qty
        kind = out["by_kind"].setdefault(line["kind"], {"lines": 0, "units": 0, "value": 0.0})
        for bucket in (out, kind):
            bucket["lines"] += 1
            bucket["units"] += qty
            bucket["value"] = round(bucket["value"] + value, 2)
    return out


class _Stages:
    """Stage timing and progress for the callback and the job."""

    def __init__(self, engine: Engine, progress: Progress | None, job_id: int | None) -> None:
        self.engine, self.progress, self.job_id = engine, progress, job_id
        self.timings: dict[str, float] = {}
        self.done = 0

    def substep(self, name: str) -> Callable[[str, int, int], None]:
        """A callback for a stage's own steps, shown as "stage: step" on the same bar."""

        def report(step: str, done: int, total: int) -> None:
            del done, total
            if self.progress is not None:
                self.progress(self.done, len(STAGES), f"{name} ({step})")

        return report

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.progress is not None:
            self.progress(self.done, len(STAGES), name)
        if self.job_id is not None:
            from soko.jobs import report_progress

            report_progress(
                self.engine, self.job_id, done=self.done, total=len(STAGES), message=name
            )
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, len(STAGES), name)


def run_plan(
    engine: Engine,
    *,
    settings: PlanSettings | None = None,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
) -> PlanOutcome:
    """Forecast, customer value, policy and purchase-order list as one kept plan run.

    ``job_id`` is an already started job to report to (the web app starts one
    before running this in the background); without it a job is started here.
    A failure marks the run and the job failed and is raised again.
    """
    from soko.forecast.service import NoSalesHistory, demand_forecast, save_forecast
    from soko.jobs import fail_job, finish_job, start_job

    settings = settings or PlanSettings()
    if job_id is None:
        job_id = start_job(engine, "plan", total=len(STAGES), message=STAGES[0])
    started = local_now()
    try:
        with engine.begin() as conn:
            run_id = int(
                conn.execute(
                    table_of(PlanRun)
                    .insert()
                    .values(
                        as_of=as_of or started.date(),
                        started_at=started,
                        status="running",
                        settings=asdict(settings),
                        summary={},
                        job_id=job_id,
                    )
                    .returning(table_of(PlanRun).c.id)
                ).scalar_one()
            )
    except BaseException as exc:
        fail_job(engine, job_id, error=f"The plan run could not start: {exc}")
        raise
    stages = _Stages(engine, progress, job_id)
    try:
        with stages.stage(STAGES[0]):
            try:
                forecast = demand_forecast(
                    engine,
                    as_of=as_of,
                    horizon_days=settings.horizon_days,
                    progress=stages.substep(STAGES[0]),
                )
            except NoSalesHistory as exc:
                raise SokoError(
                    ErrorCode.validation_error,
                    f"Nothing to plan from: {exc}, or load the demo data (soko generate).",
                ) from None
            daily = forecast.daily
            if daily.is_empty():
                raise SokoError(
                    ErrorCode.validation_error, "The forecast is empty: import orders first."
                )
            plan_as_of = forecast.as_of
            first_day = first_day_of(daily)
            save_forecast(engine, forecast, plan_run_id=run_id)
        with stages.stage(STAGES[1]):
            ltv = _customer_value_at_risk(engine) if settings.customer_value else {}
        with stages.stage(STAGES[2]), engine.connect() as conn:
            catalogue = load_catalogue(conn, plan_as_of, settings)
            positions = load_positions(conn)
            locations = dict(conn.execute(select(Location.code, Location.id)).all())
            demand = demand_per_line(daily, catalogue, locations, first_day)
            lines = compute_lines(demand, catalogue, positions, ltv, first_day, settings)
        with stages.stage(STAGES[3]):
            summary = _store_lines(engine, run_id, plan_as_of, lines, stages.timings)
    except BaseException as exc:
        message = exc.message if isinstance(exc, SokoError) else f"{type(exc).__name__}: {exc}"
        with engine.begin() as conn:
            conn.execute(
                update(PlanRun)
                .where(PlanRun.id == run_id)
                .values(status="failed", finished_at=local_now(), error=message[:500])
            )
        fail_job(engine, job_id, error=message)
        raise
    finish_job(
        engine, job_id, result={"plan_run_id": run_id, "url": f"/orders?run={run_id}", **summary}
    )
    return PlanOutcome(
        plan_run_id=run_id,
        as_of=plan_as_of,
        lines=int(summary["lines"]),
        units=int(summary["units"]),
        value=Decimal(str(summary["value"])),
        timings=stages.timings,
        job_id=job_id,
    )


def first_day_of(daily: pl.DataFrame) -> dt.date:
    """The forecast's first day: day 1 of every protection interval and of the season's rest."""
    first = daily["ds"].min()
    if isinstance(first, dt.datetime):
        return first.date()
    assert isinstance(first, dt.date)
    return first


def _customer_value_at_risk(engine: Engine) -> dict[str, float]:
    """SKU → P(lapse | stockout) × residual CLV ÷ units per order; empty without customers."""
    from soko.insight.customer_value import shortage_costs

    try:
        costs = shortage_costs(engine)
    except ValueError:  # no orders with customers: price shortages by margin alone
        return {}
    return {sku: float(c.ltv_at_risk_per_unit) for sku, c in costs.items()}


def _store_lines(
    engine: Engine,
    run_id: int,
    as_of: dt.date,
    lines: list[dict[str, Any]],
    timings: dict[str, float],
) -> dict[str, Any]:
    """Write the lines that order something or carry an open edit; finish the run."""
    with engine.begin() as conn:
        edits = _open_edits(conn)
        kept = []
        for line in lines:
            edit = edits.get((line["sku_id"], line["location_id"]))
            if line["recommended_quantity"] > 0 or edit is not None:
                kept.append({"plan_run_id": run_id, **line, **(edit or NO_EDIT)})
        if kept:
            conn.execute(table_of(PlanLine).insert(), kept)
        summary = summarise(kept)
        summary["timings"] = dict(timings)
        conn.execute(
            update(PlanRun)
            .where(PlanRun.id == run_id)
            .values(status="done", finished_at=local_now(), as_of=as_of, summary=summary)
        )
    return summary
