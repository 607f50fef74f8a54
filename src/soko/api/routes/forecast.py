"""Forecast inputs: spike days a person reviewed, the flagged days awaiting review, and
sales plans (販売計画数) that stand in for a new SKU's demand (capability P3).

Reading needs the ``read`` scope; changes need ``adjust``, as a plan's edits do. Writes
take an ``Idempotency-Key`` header: replaying it returns the first answer and changes
nothing. A refused change names its field (``day: …``) and writes nothing. Every change
is used by the next forecast run (``soko forecast`` or a plan run).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator

from soko.api.auth import Scope
from soko.api.deps import StoreDep, requires
from soko.api.idempotency import Answer, run_once
from soko.api.problems import PROBLEM_MEDIA_TYPE
from soko.forecast import inputs
from soko.settings import Settings, in_shop_zone, local_now

router = APIRouter(prefix="/forecast", tags=["forecast"])

Code = Annotated[str, Field(min_length=1, max_length=64)]
SkuFilter = Annotated[str | None, Query(min_length=1, max_length=64, description="One SKU.")]
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=150)]


class SpikeTagCreate(BaseModel):
    sku: Code
    day: dt.date = Field(description="A day that has happened (today or before).")
    leave_out: bool = Field(
        default=True,
        description="true: a one-off (a TV mention, a bulk order), left out of the history "
        "the forecast learns from; false: real demand, kept and no longer flagged.",
    )
    note: str | None = Field(default=None, max_length=inputs.NOTE_LENGTH)


class SpikeTagPublic(BaseModel):
    id: int
    sku: str
    day: dt.date
    leave_out: bool
    note: str | None
    created_at: dt.datetime


class SpikeTagsPublic(BaseModel):
    items: list[SpikeTagPublic]


class FlaggedSpikePublic(BaseModel):
    sku: str
    day: dt.date
    sales: int = Field(description="Units sold that day, every location.")
    usual: float = Field(description="Mean daily units over the 91 days before.")


class FlaggedSpikesPublic(BaseModel):
    as_of: dt.date | None = Field(
        description="The history ends the day before: the latest forecast run's start, else "
        "the day after the last order; null with no sales."
    )
    forecast_run_id: int | None
    items: list[FlaggedSpikePublic]


class SalesPlanSet(BaseModel):
    """Create a plan, or replace the SKU's plan that starts on ``starts_on``."""

    sku: Code
    starts_on: dt.date
    ends_on: dt.date = Field(description="The last day of the plan, on or after starts_on.")
    units: int = Field(ge=0, le=inputs.MAX_UNITS, description="Units over the whole period.")

    @field_validator("ends_on")
    @classmethod
    def _not_before_start(cls, value: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("starts_on")
        if isinstance(start, dt.date) and value < start:
            raise ValueError(f"{value} is before starts_on ({start})")
        return value


class SalesPlanPublic(BaseModel):
    id: int
    sku: str
    starts_on: dt.date
    ends_on: dt.date
    units: int
    per_day: float = Field(description="The daily demand the plan stands for.")


class SalesPlansPublic(BaseModel):
    items: list[SalesPlanPublic]


PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {PROBLEM_MEDIA_TYPE: {}}}
    for code, text in {
        401: "No or unknown token",
        403: "The token lacks the scope",
        404: "Unknown SKU (`unknown_sku`), spike tag or sales plan (`not_found`)",
        409: "The day is already tagged (`spike_tag_exists`), or another plan of the SKU "
        "overlaps the period (`sales_plan_overlaps`)",
        422: "Invalid request naming its field: a day in the future, a plan ending before it "
        "starts, negative units (`validation_error`, `invalid_quantity`), or an idempotency "
        "key reused for another request (`idempotency_key_reused`)",
    }.items()
}


def _tag(view: inputs.SpikeTagView, settings: Settings) -> dict[str, Any]:
    return SpikeTagPublic(
        **(view.__dict__ | {"created_at": in_shop_zone(view.created_at, settings)})
    ).model_dump(mode="json")


def _plan(view: inputs.SalesPlanView) -> dict[str, Any]:
    return SalesPlanPublic(**view.__dict__, per_day=view.per_day).model_dump(mode="json")


def _respond(answer: Answer) -> JSONResponse:
    status, body = answer
    media = PROBLEM_MEDIA_TYPE if status >= 400 else "application/json"
    return JSONResponse(body, status_code=status, media_type=media)


def _once(store: StoreDep, key: str | None, scope: str, request: dict[str, Any], act: Any) -> Any:
    """Run ``act`` in one transaction; once per idempotency key when one is sent."""
    if key is not None:
        return _respond(run_once(store.engine, f"{scope}:{key}", request, act))
    with store.engine.begin() as conn:
        return _respond(act(conn))


def _check_sku(store: StoreDep, sku: str | None) -> None:
    if sku is not None:
        with store.engine.connect() as conn:
            inputs.require_sku(conn, sku)


@router.get("/spike-tags", response_model=SpikeTagsPublic, responses=PROBLEMS)
def list_spike_tags(
    store: StoreDep,
    sku: SkuFilter = None,
    leave_out: Annotated[bool | None, Query(description="Only one verdict.")] = None,
) -> JSONResponse:
    """Days people reviewed, newest first: one-offs left out, and real demand kept."""
    _check_sku(store, sku)
    with store.engine.connect() as conn:
        found = inputs.spike_tags(conn, sku=sku, leave_out=leave_out)
    return JSONResponse({"items": [_tag(v, store.settings) for v in found]})


@router.post(
    "/spike-tags",
    status_code=201,
    response_model=SpikeTagPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def create_spike_tag(
    body: SpikeTagCreate, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Tag a day of a SKU's sales: a one-off the next forecast leaves out, or real demand it
    keeps. 409 `spike_tag_exists` when the day is already tagged; 422 for a future day."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        now = local_now(settings)
        view = inputs.tag_day(
            conn,
            sku=body.sku,
            day=body.day,
            today=now.date(),
            now=now,
            leave_out=body.leave_out,
            note=body.note,
        )
        return 201, _tag(view, settings)

    return _once(store, idempotency_key, "spike-tag", body.model_dump(mode="json"), act)  # type: ignore[no-any-return]


@router.delete(
    "/spike-tags/{tag_id}",
    response_model=SpikeTagPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def delete_spike_tag(
    tag_id: RowId, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Remove a tag (answered with it): the next forecast learns from the day as it sold."""
    settings = store.settings

    def act(conn: Any) -> Answer:
        return 200, _tag(inputs.untag(conn, tag_id), settings)

    return _once(store, idempotency_key, "spike-untag", {"tag": tag_id}, act)  # type: ignore[no-any-return]


@router.get("/flagged-spikes", response_model=FlaggedSpikesPublic, responses=PROBLEMS)
def list_flagged_spikes(store: StoreDep, sku: SkuFilter = None) -> FlaggedSpikesPublic:
    """Days flagged as spikes (8× the trailing 91-day mean and 10 units or more) in the
    history of the latest forecast run, not yet tagged either way, newest first."""
    _check_sku(store, sku)
    found = inputs.flagged_days(store.engine, sku=sku)
    return FlaggedSpikesPublic(
        as_of=found.as_of,
        forecast_run_id=found.run_id,
        items=[FlaggedSpikePublic(**d.__dict__) for d in found.days],
    )


@router.get("/sales-plans", response_model=SalesPlansPublic, responses=PROBLEMS)
def list_sales_plans(store: StoreDep, sku: SkuFilter = None) -> JSONResponse:
    """Sales plans (販売計画数) by SKU and start."""
    _check_sku(store, sku)
    with store.engine.connect() as conn:
        found = inputs.sales_plans(conn, sku=sku)
    return JSONResponse({"items": [_plan(v) for v in found]})


@router.put(
    "/sales-plans",
    response_model=SalesPlanPublic,
    responses={201: {"description": "A new plan", "model": SalesPlanPublic}, **PROBLEMS},
    dependencies=[Depends(requires(Scope.adjust))],
)
def put_sales_plan(
    body: SalesPlanSet, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Plan a SKU's units over a period (201), or replace its plan starting that day (200).
    It stands in for demand while the SKU has under 56 days of history. 409
    `sales_plan_overlaps` when another of its plans overlaps the period."""

    def act(conn: Any) -> Answer:
        view, created = inputs.set_sales_plan(
            conn, sku=body.sku, starts_on=body.starts_on, ends_on=body.ends_on, units=body.units
        )
        return (201 if created else 200), _plan(view)

    return _once(store, idempotency_key, "sales-plan", body.model_dump(mode="json"), act)  # type: ignore[no-any-return]


@router.delete(
    "/sales-plans/{plan_id}",
    response_model=SalesPlanPublic,
    responses=PROBLEMS,
    dependencies=[Depends(requires(Scope.adjust))],
)
def delete_sales_plan(
    plan_id: RowId, store: StoreDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Remove a sales plan (answered with it)."""

    def act(conn: Any) -> Answer:
        return 200, _plan(inputs.remove_sales_plan(conn, plan_id))

    return _once(store, idempotency_key, "sales-plan-remove", {"plan": plan_id}, act)  # type: ignore[no-any-return]
