"""``/api/v1/customer-value``: segments, each customer's CLV, each SKU's LTV exposure.

Every answer comes from one :class:`soko.insight.customer_value.CustomerValueView`,
fitted on the first request and cached per process until the store's orders,
lines, restock notices or SKUs change (the Customers page reads the same
view, so page and API agree). A store without customers answers with
``status: no_customers`` and empty lists; one with too few for the models,
``too_few_customers`` with the model figures null.

Estimates are money like every amount of the API: an integer in JPY, a
decimal string in currencies with a minor unit.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from soko.api.deps import StoreDep
from soko.api.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, decode_cursor, next_cursor
from soko.api.schemas import Money, money
from soko.errors import ErrorCode, SokoError
from soko.insight.customer_value import CustomerValueView, customer_value_view

router = APIRouter(prefix="/customer-value", tags=["customer value"])

Status = Literal["ok", "no_customers", "too_few_customers"]


def estimate(amount: float | None, currency: str) -> int | str | None:
    """An estimated amount in the API's money form; null when there is no estimate."""
    if amount is None or not math.isfinite(amount):
        return None
    return money(Decimal(repr(float(amount))), currency)


def _ratio(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 6)


# --- response models ----------------------------------------------------------------------


class SegmentPublic(BaseModel):
    segment: str = Field(description="RFM segment (R × F grid, docs/customer-value.md).")
    customers: int
    revenue: Money = Field(description="Their revenue to date, tax included as sold.")
    clv_total: Money | None = Field(description="Σ residual CLV; null without models.")
    clv_mean: Money | None = Field(
        description="Mean residual CLV; null without models or if empty."
    )


class MetricsPublic(BaseModel):
    customers: int
    transactions: int = Field(description="Orders, same-day orders of a customer merged.")
    revenue: Money
    repeat_rate: float = Field(description="Share of customers with two or more transactions.")
    average_order_value: Money
    purchase_frequency: float = Field(description="Transactions per customer.")


class ChannelMetricsPublic(MetricsPublic):
    channel: str = Field(description="Channel code; a customer counts in every channel used.")


class NaturalModelPublic(BaseModel):
    """BG/NBD with each customer's stockout-lapse hazard: the customers as they would be
    without stockouts (time unit: day), and how much of the churn stockouts cause."""

    r: float
    alpha: float
    a: float
    b: float
    dropout_all_causes: float = Field(description="a/(a+b) of the plain fit.")
    natural_dropout: float = Field(description="a/(a+b) without stockout lapses.")
    p_lapse: float = Field(description="P(lapse | stockout met) behind the hazard.")
    meets_stockout: float = Field(description="Share of purchases that meet a stockout.")
    share_of_churn_from_stockouts: float | None = Field(
        description="Of the customers lost, the share lost to stockouts."
    )


class ModelsPublic(BaseModel):
    """Fitted parameters; time unit: day."""

    r: float
    alpha: float
    a: float
    b: float
    p: float
    q: float
    gamma: float
    margin_share: float = Field(description="Gross margin ÷ net revenue used for CLV.")
    horizon_days: int
    natural: NaturalModelPublic | None = Field(
        default=None, description="Null without restock notices or stock history."
    )


class LapsePublic(BaseModel):
    proxy: str = Field(description="`restock_notice` or `bought_during_stockout`.")
    customers_met: int
    p_lapse: float
    p_lapse_low: float
    p_lapse_high: float


class SegmentsPublic(BaseModel):
    status: Status
    message: str = Field(description="Empty when `status` is `ok`; else what to do.")
    currency: str
    as_of: dt.date | None = Field(description="Day of the last order; null without customers.")
    metrics: MetricsPublic | None
    channels: list[ChannelMetricsPublic] = Field(description="The metrics within each channel.")
    models: ModelsPublic | None
    lapse: list[LapsePublic]
    items: list[SegmentPublic]


class CustomerPublic(BaseModel):
    customer_id: str
    segment: str
    r_score: int
    f_score: int
    m_score: int
    recency_days: int
    transactions: int
    revenue: Money
    repeat_transactions: int = Field(description="x of BG/NBD.")
    p_alive: float | None
    clv: Money | None = Field(description="Residual CLV: a year, discounted, times margin.")
    expected_transactions: float | None = Field(description="Expected purchases next year.")
    expected_spend: Money | None = Field(description="Expected spend per transaction.")
    waiting_for: list[str] = Field(description="SKUs of their open restock notices.")


class CustomersPublic(BaseModel):
    status: Status
    items: list[CustomerPublic]
    next_cursor: str | None = Field(description="`cursor` of the next page; null on the last.")


class CohortPublic(BaseModel):
    cohort: dt.date = Field(description="First day of the month of their first purchase.")
    group: str | None = Field(
        default=None, description="Their first channel or first product, with `by`."
    )
    months_since_first: int
    cohort_size: int
    active_customers: int
    retention: float


class CohortsPublic(BaseModel):
    status: Status
    items: list[CohortPublic]


class SkuExposurePublic(BaseModel):
    sku: str
    product_code: str
    category: str
    customers: int = Field(description="Distinct customers who ever bought it.")
    residual_clv_total: Money
    residual_clv_mean: Money
    gateway: bool = Field(description="Its product starts high-value relationships (BH screen).")
    gateway_lift: float | None
    first_buyers: int
    top_buyers: int
    p_lapse: float = Field(description="P(lapse | met a stockout of it).")
    p_lapse_low: float
    p_lapse_high: float
    proxy: str = Field(description="Which proxy of meeting a stockout the estimate used.")
    customers_met: int
    ltv_at_stake: Money = Field(description="p_lapse × residual_clv_total.")
    unit_margin: Money = Field(description="Price net of tax − unit cost; 0 without a cost.")
    units_per_order: float
    ltv_at_risk_per_unit: Money = Field(description="p_lapse × residual_clv_mean ÷ units/order.")
    shortage_cost: Money = Field(description="Per unit short: unit_margin + ltv_at_risk_per_unit.")


class SkuExposuresPublic(BaseModel):
    status: Status
    items: list[SkuExposurePublic]
    next_cursor: str | None = Field(description="`cursor` of the next page; null on the last.")


class Encoding(StrEnum):
    utf8 = "utf-8"
    cp932 = "cp932"


# --- rows to models -----------------------------------------------------------------------


def customer_public(row: dict[str, Any], currency: str) -> CustomerPublic:
    return CustomerPublic(
        customer_id=row["customer_id"],
        segment=row["segment"],
        r_score=row["r_score"],
        f_score=row["f_score"],
        m_score=row["m_score"],
        recency_days=row["recency_days"],
        transactions=row["frequency"],
        revenue=estimate(row["monetary"], currency) or 0,
        repeat_transactions=row["x"],
        p_alive=_ratio(row["p_alive"]),
        clv=estimate(row["clv"], currency),
        expected_transactions=_ratio(row["expected_transactions"]),
        expected_spend=estimate(row["expected_spend"], currency),
        waiting_for=list(row["waiting_for"] or []),
    )


def exposure_public(row: dict[str, Any], currency: str) -> SkuExposurePublic:
    def m(name: str) -> int | str:
        return estimate(row[name], currency) or 0

    return SkuExposurePublic(
        sku=row["sku"],
        product_code=row["product_code"],
        category=row["category"],
        customers=row["customers"],
        residual_clv_total=m("residual_clv_total"),
        residual_clv_mean=m("residual_clv_mean"),
        gateway=bool(row["gateway"]),
        gateway_lift=_ratio(row["gateway_lift"]),
        first_buyers=row["first_buyers"],
        top_buyers=row["top_buyers"],
        p_lapse=_ratio(row["p_lapse"]) or 0.0,
        p_lapse_low=_ratio(row["p_lapse_low"]) or 0.0,
        p_lapse_high=_ratio(row["p_lapse_high"]) or 0.0,
        proxy=row["proxy"],
        customers_met=int(row["met_stockout"] or 0),
        ltv_at_stake=m("ltv_at_stake"),
        unit_margin=m("unit_margin"),
        units_per_order=_ratio(row["units_per_order"]) or 1.0,
        ltv_at_risk_per_unit=m("ltv_at_risk_per_unit"),
        shortage_cost=m("shortage_cost"),
    )


def _metrics(row: dict[str, Any], currency: str) -> dict[str, Any]:
    return {
        "customers": int(row["customers"]),
        "transactions": int(row["transactions"]),
        "revenue": estimate(row["revenue"], currency) or 0,
        "repeat_rate": _ratio(row["repeat_rate"]) or 0.0,
        "average_order_value": estimate(row["average_order_value"], currency) or 0,
        "purchase_frequency": _ratio(row["purchase_frequency"]) or 0.0,
    }


def _natural(view: CustomerValueView) -> NaturalModelPublic | None:
    models = view.models
    if models is None or models.natural is None or models.churn is None:
        return None
    n, churn = models.natural, models.churn
    share = churn.share_from_stockouts
    return NaturalModelPublic(
        r=n.r,
        alpha=n.alpha,
        a=n.a,
        b=n.b,
        dropout_all_causes=churn.dropout_all_causes,
        natural_dropout=churn.natural_dropout,
        p_lapse=churn.p_lapse,
        meets_stockout=churn.meets_stockout,
        share_of_churn_from_stockouts=None if math.isnan(share) else share,
    )


def segments_public(view: CustomerValueView, currency: str) -> SegmentsPublic:
    """The segments answer; the Customers page renders the same object."""
    metrics = MetricsPublic(**_metrics(view.metrics, currency)) if view.metrics else None
    channels = [
        ChannelMetricsPublic(channel=row["channel"], **_metrics(row, currency))
        for row in view.metrics_by_channel().iter_rows(named=True)
    ]
    models = None
    if view.models is not None:
        b, g = view.models.bgnbd, view.models.gamma_gamma
        models = ModelsPublic(
            r=b.r,
            alpha=b.alpha,
            a=b.a,
            b=b.b,
            p=g.p,
            q=g.q,
            gamma=g.gamma,
            margin_share=view.models.margin,
            horizon_days=365,
            natural=_natural(view),
        )
    return SegmentsPublic(
        status=view.status,
        message=view.message,
        currency=currency,
        as_of=view.as_of,
        metrics=metrics,
        channels=channels,
        models=models,
        lapse=[
            LapsePublic(
                proxy=e.proxy,
                customers_met=e.treated,
                p_lapse=e.p_lapse,
                p_lapse_low=e.low,
                p_lapse_high=e.high,
            )
            for e in view.lapse.values()
        ],
        items=[
            SegmentPublic(
                segment=row["segment"],
                customers=row["customers"],
                revenue=estimate(row["revenue"], currency) or 0,
                clv_total=estimate(row["clv_total"], currency),
                clv_mean=estimate(row["clv_mean"], currency),
            )
            for row in view.segments.iter_rows(named=True)
        ],
    )


def _page(frame: pl.DataFrame, key: str, cursor: str | None, limit: int) -> pl.DataFrame:
    after = decode_cursor(cursor)
    if after is not None:
        frame = frame.filter(pl.col(key) > after)
    return frame.sort(key).head(limit + 1)


# --- routes -------------------------------------------------------------------------------


@router.get("/segments", response_model=SegmentsPublic)
def get_segments(store: StoreDep) -> SegmentsPublic:
    """Customers, revenue and CLV per RFM segment, purchase metrics, the fitted models and
    P(lapse | stockout met) by proxy. The first call after new orders fits the models."""
    return segments_public(customer_value_view(store.engine), store.settings.currency)


@router.get("/cohorts", response_model=CohortsPublic)
def get_cohorts(
    store: StoreDep,
    by: Annotated[
        Literal["month", "channel", "first_product"],
        Query(description="`month` alone, or split by the first order's channel or product."),
    ] = "month",
) -> CohortsPublic:
    """Retention by first-purchase month: the share of each cohort buying k months later."""
    view = customer_value_view(store.engine)
    frame = view.cohorts if by == "month" else view.cohorts_by(by)
    return CohortsPublic(
        status=view.status,
        items=[
            CohortPublic(
                cohort=row["cohort"],
                group=None if by == "month" else row[by],
                months_since_first=row["months_since_first"],
                cohort_size=row["cohort_size"],
                active_customers=row["active_customers"],
                retention=row["retention"],
            )
            for row in frame.iter_rows(named=True)
        ],
    )


@router.get("/customers", response_model=CustomersPublic)
def list_customers(
    store: StoreDep, cursor: CursorParam = None, limit: LimitParam = DEFAULT_LIMIT
) -> CustomersPublic:
    """Customers by ID with segment, RFM scores, P(alive), CLV and what they wait for."""
    view = customer_value_view(store.engine)
    rows = _page(view.customers, "customer_id", cursor, limit)
    currency = store.settings.currency
    return CustomersPublic(
        status=view.status,
        items=[customer_public(r, currency) for r in rows.head(limit).iter_rows(named=True)],
        next_cursor=next_cursor(rows["customer_id"].to_list(), limit),
    )


@router.get("/customers/{customer_id:path}", response_model=CustomerPublic)
def get_customer(
    customer_id: Annotated[str, Path(min_length=1, max_length=64)], store: StoreDep
) -> CustomerPublic:
    """One customer's values; 404 for an ID with no order in the store."""
    view = customer_value_view(store.engine)
    found = view.customers.filter(pl.col("customer_id") == customer_id)
    if found.is_empty():
        raise SokoError(
            ErrorCode.not_found,
            f"customer_id: no order in the store carries the customer {customer_id!r}.",
        )
    return customer_public(found.row(0, named=True), store.settings.currency)


@router.get("/skus", response_model=SkuExposuresPublic)
def list_sku_exposure(
    store: StoreDep,
    cursor: CursorParam = None,
    limit: LimitParam = DEFAULT_LIMIT,
    order: Annotated[
        Literal["sku", "ltv_at_stake"],
        Query(description="`sku` (paged by code) or `ltv_at_stake` (largest first, one page)."),
    ] = "sku",
) -> SkuExposuresPublic:
    """Each SKU's LTV exposure and shortage cost per unit with its parts.

    With ``order=ltv_at_stake`` the first ``limit`` SKUs by customer value at
    stake, and no further page.
    """
    view = customer_value_view(store.engine)
    currency = store.settings.currency
    if view.exposure.is_empty():
        return SkuExposuresPublic(status=view.status, items=[], next_cursor=None)
    if order == "ltv_at_stake":
        if cursor is not None:
            raise SokoError(
                ErrorCode.validation_error,
                "cursor: order=ltv_at_stake returns one page; leave cursor out.",
            )
        top = view.exposure.sort(["ltv_at_stake", "sku"], descending=[True, False]).head(limit)
        return SkuExposuresPublic(
            status=view.status,
            items=[exposure_public(r, currency) for r in top.iter_rows(named=True)],
            next_cursor=None,
        )
    rows = _page(view.exposure, "sku", cursor, limit)
    return SkuExposuresPublic(
        status=view.status,
        items=[exposure_public(r, currency) for r in rows.head(limit).iter_rows(named=True)],
        next_cursor=next_cursor(rows["sku"].to_list(), limit),
    )


@router.get("/skus/{sku:path}", response_model=SkuExposurePublic)
def get_sku_exposure(
    sku: Annotated[str, Path(min_length=1, max_length=64)], store: StoreDep
) -> SkuExposurePublic:
    """One SKU's exposure and shortage cost; 404 for an unknown SKU or with no models."""
    view = customer_value_view(store.engine)
    found = view.exposure.filter(pl.col("sku") == sku) if not view.exposure.is_empty() else None
    if found is None or found.is_empty():
        why = (
            f"no SKU {sku!r} in the store."
            if view.status == "ok"
            else f"no exposure without the CLV models: {view.message}"
        )
        raise SokoError(ErrorCode.not_found, f"sku: {why}")
    return exposure_public(found.row(0, named=True), store.settings.currency)


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "customer_id, segment, r/f/m scores, clv, p_alive, waiting_for.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def export_segments(
    store: StoreDep,
    encoding: Annotated[
        Encoding, Query(description="`utf-8`, or `cp932` (Shift_JIS) for Excel in Japan.")
    ] = Encoding.utf8,
) -> Response:
    """The segment export for a CRM or a coupon campaign, as ``soko customers export`` writes
    it: one row per customer; ``waiting_for`` lists the SKUs of open restock notices."""
    view = customer_value_view(store.engine)
    text = export_csv(view)
    try:
        payload = text.encode(encoding.value)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        raise SokoError(
            ErrorCode.validation_error,
            f"encoding: the text {bad!r} has no {encoding.value} code; use utf-8.",
        ) from None
    name = f"customer-segments-{view.as_of or 'empty'}.csv"
    return Response(
        payload,
        media_type=f"text/csv; charset={encoding.value}",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def export_csv(view: CustomerValueView) -> str:
    """The CSV text of the segment export (the CLI's columns)."""
    return (
        view.customers.select(
            "customer_id",
            "segment",
            "r_score",
            "f_score",
            "m_score",
            pl.col("clv").round(0).cast(pl.Int64),
            pl.col("p_alive").round(4),
            pl.col("waiting_for").list.join(" ").replace("", None),
        )
        .sort("customer_id")
        .write_csv()
    )
