"""Supplier lead times measured from receipts (P10): distribution, on-time rate, fill rate.

A purchase-order line's lead time is the days from its order date to its
first receipt (検品); it is on time when that receipt came on or before the
promised date, and its fill is the share of the ordered units received
(capped at 1, so an over-delivery does not hide another line's shortfall).
A supplier's figures pool its lines. The plan run uses a SKU's own lead time
where the seller set one, else the supplier's measured mean and standard
deviation, else the supplier's promised lead time (DESIGN.md, P4).

Every new receipt changes these figures the next time they are read: they
are computed from the receipts, never stored apart from them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, func, select

from soko.store.tables import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderLineState,
    Receipt,
    Sku,
    Supplier,
)

MIN_LINES = 3
"""Lines a supplier needs before its measured lead time replaces the promised one."""


def receipt_history(conn: Connection) -> pl.DataFrame:
    """One row per purchase-order line: ``supplier``, ``ordered_on``, ``promised_on``,
    ``ordered``, ``first_received_on``, ``received`` (null dates when nothing came yet)."""
    receipts = (
        select(
            Receipt.purchase_order_line_id.label("line_id"),
            func.min(Receipt.received_on).label("first_received_on"),
            func.sum(Receipt.quantity).label("received"),
        )
        .group_by(Receipt.purchase_order_line_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            Supplier.code,
            PurchaseOrder.ordered_on,
            PurchaseOrderLine.promised_on,
            func.coalesce(PurchaseOrderLineState.ordered_quantity, PurchaseOrderLine.quantity),
            receipts.c.first_received_on,
            func.coalesce(receipts.c.received, 0),
        )
        .select_from(PurchaseOrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
        .outerjoin(receipts, receipts.c.line_id == PurchaseOrderLine.id)
        .outerjoin(
            PurchaseOrderLineState,
            PurchaseOrderLineState.purchase_order_line_id == PurchaseOrderLine.id,
        )
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "supplier": pl.String,
            "ordered_on": pl.Date,
            "promised_on": pl.Date,
            "ordered": pl.Int64,
            "first_received_on": pl.Date,
            "received": pl.Int64,
        },
        orient="row",
    )


def supplier_stats(history: pl.DataFrame) -> pl.DataFrame:
    """Per supplier: ``lines`` received, ``lead_mean``, ``lead_sd``, ``lead_p50``, ``lead_p90``
    (days), ``on_time_rate`` and ``fill_rate`` (shares in [0, 1])."""
    received = history.filter(pl.col("first_received_on").is_not_null()).with_columns(
        lead=(pl.col("first_received_on") - pl.col("ordered_on")).dt.total_days(),
        on_time=pl.when(pl.col("promised_on").is_null())
        .then(None)
        .otherwise(pl.col("first_received_on") <= pl.col("promised_on")),
        filled=pl.min_horizontal(pl.col("received"), pl.col("ordered")),
    )
    return (
        received.group_by("supplier")
        .agg(
            lines=pl.len(),
            lead_mean=pl.col("lead").mean(),
            lead_sd=pl.col("lead").std().fill_null(0.0),
            lead_p50=pl.col("lead").quantile(0.5, "nearest"),
            lead_p90=pl.col("lead").quantile(0.9, "nearest"),
            on_time_rate=pl.col("on_time").cast(pl.Float64).mean(),
            fill_rate=pl.col("filled").sum() / pl.col("ordered").sum(),
        )
        .sort("supplier")
    )


def lead_times(history: pl.DataFrame, supplier: str) -> list[int]:
    """Every measured lead time (days) of ``supplier``, for its distribution chart."""
    return (
        history.filter((pl.col("supplier") == supplier) & pl.col("first_received_on").is_not_null())
        .select((pl.col("first_received_on") - pl.col("ordered_on")).dt.total_days())
        .to_series()
        .sort()
        .to_list()
    )


@dataclass(frozen=True)
class LeadTime:
    """The lead time a plan uses for one SKU, and where it came from."""

    mean_days: float
    sd_days: float
    source: str
    """``sku`` (set by the seller), ``measured`` (receipts) or ``promised`` (supplier)."""


def sku_lead_times(conn: Connection, stats: pl.DataFrame) -> dict[int, LeadTime]:
    """SKU id → the lead time a plan uses (module docstring: SKU, else measured, else promised)."""
    measured = {
        r["supplier"]: (float(r["lead_mean"]), float(r["lead_sd"]))
        for r in stats.iter_rows(named=True)
        if r["lines"] >= MIN_LINES
    }
    out: dict[int, LeadTime] = {}
    rows = conn.execute(
        select(Sku.id, Sku.lead_time_days, Supplier.code, Supplier.lead_time_days).outerjoin(
            Supplier, Supplier.id == Sku.supplier_id
        )
    ).all()
    for sku_id, own, supplier, promised in rows:
        if own is not None:
            out[sku_id] = LeadTime(float(own), 0.0, "sku")
        elif supplier in measured:
            out[sku_id] = LeadTime(*measured[supplier], "measured")
        elif promised is not None:
            out[sku_id] = LeadTime(float(promised), 0.0, "promised")
        else:
            out[sku_id] = LeadTime(14.0, 0.0, "default")
    return out
