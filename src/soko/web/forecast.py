"""The Forecast page: the latest forecast run's accuracy report and model choices, and one
SKU's history, forecast and intervals with its censored (out-of-stock) days marked; on a
SKU's view, what the next run will learn from it: the spike days awaiting review, the days
tagged (one-offs left out, real demand kept) and the buyer's sales plans (販売計画数).

Figures come from :mod:`soko.forecast.service` (the stored run, and the SKU's cleaned
history) and :mod:`soko.forecast.inputs`; the page only arranges them. Planners and admins
(``adjust``) may tag days and enter plans: every form carries the CSRF token and answers
with a redirect back to the SKU, so a reload never sends it twice; a refused form comes
back with its message in the page's language and what was typed, and nothing changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from soko.api.auth import Scope
from soko.api.deps import SettingsDep, Store, StoreDep
from soko.errors import ErrorCode
from soko.forecast import inputs
from soko.forecast.service import (
    ACCURACY,
    DemandForecast,
    NoSalesHistory,
    StoreHistory,
    latest_forecast,
    load_history,
)
from soko.settings import Settings, local_now
from soko.web.auth import CsrfDep, UserDep, page_requires
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page
from soko.web.render import Pages
from soko.web.users import WebUser

PATH = "/forecast"
HISTORY_DAYS = 365
ROWS = 50

router = APIRouter(include_in_schema=False)

Editor = Annotated[WebUser, page_requires(Scope.adjust)]
SkuField = Annotated[str, Form(min_length=1, max_length=64)]
Text = Annotated[str, Form(max_length=inputs.NOTE_LENGTH)]
Done = {"one_off", "real_demand", "untagged", "plan_saved", "plan_removed"}


class Refused(Exception):
    """A form the page refuses, with its message in the page's language."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def sku_history(engine: Any, forecast: DemandForecast | None, sku: str) -> StoreHistory | None:
    """The SKU's cleaned history up to the run's start (without a run, up to the last
    order); None when it never sold."""
    try:
        return load_history(engine, as_of=forecast.as_of if forecast else None, sku=sku)
    except NoSalesHistory:
        return None


def sku_chart(
    forecast: DemandForecast,
    sku: str,
    history: StoreHistory | None,
    flagged: Sequence[inputs.FlaggedDay] = (),
) -> dict[str, Any] | None:
    """The SKU's last ``HISTORY_DAYS`` days of sales and estimated demand (censored days,
    spikes awaiting review and days left out as one-offs marked) and its forecast mean and
    80 %/90 % bands, summed over locations."""
    daily = forecast.daily.filter(pl.col("sku") == sku)
    if daily.height == 0:
        return None
    ahead = (
        daily.group_by("ds")
        .agg(pl.col("mean", "q10", "q90", "q95").sum())
        .sort("ds")
        .with_columns(pl.col("ds").cast(pl.String))
    )
    chart: dict[str, Any] = {
        "ds": ahead["ds"].to_list(),
        "mean": [round(v, 3) for v in ahead["mean"].to_list()],
        "q10": ahead["q10"].to_list(),
        "q90": ahead["q90"].to_list(),
        "q95": ahead["q95"].to_list(),
        "history": None,
    }
    if history is None:
        return chart
    to_review = {f.day for f in flagged if f.sku == sku}
    past = (
        history.demand.group_by("ds")
        .agg(pl.col("sales", "y").sum(), pl.col("censored").any(), pl.col("tagged").any())
        .sort("ds")
        .tail(HISTORY_DAYS)
    )
    chart["history"] = {
        "ds": past["ds"].cast(pl.String).to_list(),
        "sales": past["sales"].to_list(),
        "estimate": [round(v, 3) for v in past["y"].to_list()],
        "censored": past["censored"].to_list(),
        "review": [d in to_review for d in past["ds"].to_list()],
        "left_out": past["tagged"].to_list(),
    }
    return chart


def render_forecast(
    request: Request,
    *,
    pages: Pages,
    settings: Settings,
    store: Store,
    user: WebUser,
    sku: str | None,
    done: str = "",
    form: str = "",
    form_error: str = "",
    values: Mapping[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page; after a refused form, with that form's message and what was typed."""
    forecast = latest_forecast(store.engine)
    context: dict[str, Any] = {"page": "forecast", "forecast": forecast, "sku": sku}
    if forecast is not None:
        series = forecast.series
        worst = series.filter(pl.col("scaled_error").is_not_null()).sort(
            "scaled_error", descending=True
        )
        rest = series.filter(pl.col("scaled_error").is_null())
        context["rows"] = pl.concat([worst, rest]).head(ROWS).to_dicts()
        context["series_count"] = series.height
        context["counts"] = sorted(forecast.model_counts.items(), key=lambda kv: -kv[1])
        # A forecast kept when nothing could be backtested may lack the overall figures.
        context["summary"] = dict.fromkeys(ACCURACY) | forecast.summary
        context["censored_total"] = int(series["censored_days"].sum()) if series.height else 0
        if sku:
            row = series.filter(pl.col("sku") == sku)
            context["chosen"] = row.to_dicts()[0] if row.height else None
    if sku:
        with store.engine.connect() as conn:
            context["known"] = inputs.known_sku(conn, sku)
        if context["known"]:
            history = sku_history(store.engine, forecast, sku)
            with store.engine.connect() as conn:
                reviewed = inputs.reviewed_days(conn, sku=sku)
                context["tags"] = inputs.spike_tags(conn, sku=sku)
                context["plans"] = inputs.sales_plans(conn, sku=sku)
            context["flagged"] = inputs.awaiting_review(history.demand, reviewed) if history else []
            if context.get("chosen") and forecast is not None:
                context["chart"] = sku_chart(forecast, sku, history, context["flagged"])
    return render_page(
        request,
        pages,
        settings.default_locale,
        "forecast.html",
        user=user,
        status_code=status_code,
        may_edit=user.may(Scope.adjust),
        today=local_now(settings).date(),
        done=done if done in Done else "",
        form=form,
        form_error=form_error,
        values=values or {},
        **context,
    )


@router.get(PATH, response_class=HTMLResponse)
def forecast_page(
    request: Request,
    pages: PagesDep,
    settings: SettingsDep,
    store: StoreDep,
    user: UserDep,
    sku: str | None = Query(default=None, max_length=64),
    done: str = Query(default="", max_length=20),
) -> HTMLResponse:
    """The latest forecast run; with ``?sku=``, that SKU's chart, why its model won, and
    what the next run will learn from it."""
    return render_forecast(
        request, pages=pages, settings=settings, store=store, user=user, sku=sku, done=done
    )


def _back(sku: str, done: str) -> Response:
    query = urlencode({"sku": sku, "done": done})
    return RedirectResponse(f"{PATH}?{query}#forecast-inputs", status_code=303)


def _day(pages: Pages, locale: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(
            pages.gettext(locale, "Enter a date, such as %(example)s.") % {"example": "2026-09-01"}
        ) from None


def _worded(pages: Pages, locale: str, refused: inputs.InputRefused) -> Refused:
    """A refusal of :mod:`soko.forecast.inputs` in the page's language."""
    t = pages.gettext
    f = refused.facts
    formatter = pages.formatter(locale)

    def day(key: str) -> str:
        return formatter.date(dt.date.fromisoformat(f[key]))

    if refused.code == ErrorCode.spike_tag_exists:
        message = t(locale, "%(day)s is already tagged; remove its tag to change it.") % {
            "day": day("day")
        }
        return Refused(message, 409)
    if refused.code == ErrorCode.sales_plan_overlaps:
        message = t(
            locale,
            "The period overlaps the plan of %(start)s – %(end)s; change or remove it first.",
        ) % {"start": day("starts_on"), "end": day("ends_on")}
        return Refused(message, 409)
    if refused.field == "day":
        return Refused(
            t(locale, "%(day)s has not happened yet; tag a day whose sales are known.")
            % {"day": day("day")}
        )
    if refused.field == "ends_on":
        return Refused(
            t(locale, "The plan ends before it starts: end on %(start)s or later.")
            % {"start": day("starts_on")}
        )
    if refused.field == "units":
        return Refused(t(locale, "Units must be a whole number, 0 or more."))
    return Refused(refused.message)


@router.post(f"{PATH}/spike-tags", response_class=HTMLResponse)
def tag_day_form(
    request: Request,
    _csrf: CsrfDep,
    user: Editor,
    pages: PagesDep,
    settings: SettingsDep,
    store: StoreDep,
    sku: SkuField,
    day: Annotated[str, Form(max_length=20)] = "",
    verdict: Annotated[str, Form(pattern="^(one_off|real_demand)$")] = "one_off",
    note: Text = "",
    form: Annotated[str, Form(pattern="^(tag|review)$")] = "tag",
) -> Response:
    """Tag a day: a one-off the next run leaves out, or real demand it keeps."""
    locale, _ = choose_locale(request, settings.default_locale)
    now = local_now(settings)
    try:
        when = _day(pages, locale, day)
        try:
            with store.engine.begin() as conn:
                inputs.tag_day(
                    conn,
                    sku=sku,
                    day=when,
                    today=now.date(),
                    now=now,
                    leave_out=verdict == "one_off",
                    note=note,
                )
        except inputs.InputRefused as refused:
            if refused.code == ErrorCode.unknown_sku:
                raise
            raise _worded(pages, locale, refused) from None
    except Refused as refused:
        return render_forecast(
            request,
            pages=pages,
            settings=settings,
            store=store,
            user=user,
            sku=sku,
            form=form,
            form_error=refused.message,
            values={"day": day, "note": note},
            status_code=refused.status,
        )
    return _back(sku, verdict)


@router.post(f"{PATH}/spike-tags/{{tag_id}}/remove")
def untag_form(
    tag_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    _csrf: CsrfDep,
    user: Editor,
    store: StoreDep,
    sku: SkuField,
) -> Response:
    """Remove a tag; removing one already gone changes nothing."""
    del user
    try:
        with store.engine.begin() as conn:
            inputs.untag(conn, tag_id)
    except inputs.InputRefused as refused:
        if refused.code != ErrorCode.not_found:
            raise
    return _back(sku, "untagged")


@router.post(f"{PATH}/sales-plans", response_class=HTMLResponse)
def sales_plan_form(
    request: Request,
    _csrf: CsrfDep,
    user: Editor,
    pages: PagesDep,
    settings: SettingsDep,
    store: StoreDep,
    sku: SkuField,
    starts_on: Annotated[str, Form(max_length=20)] = "",
    ends_on: Annotated[str, Form(max_length=20)] = "",
    units: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Save a sales plan for the SKU (a plan with the same first day is replaced)."""
    locale, _ = choose_locale(request, settings.default_locale)
    try:
        start = _day(pages, locale, starts_on)
        end = _day(pages, locale, ends_on)
        text = units.strip().replace(",", "")
        if not text.isdigit():
            raise Refused(pages.gettext(locale, "Units must be a whole number, 0 or more."))
        try:
            with store.engine.begin() as conn:
                inputs.set_sales_plan(conn, sku=sku, starts_on=start, ends_on=end, units=int(text))
        except inputs.InputRefused as refused:
            if refused.code == ErrorCode.unknown_sku:
                raise
            raise _worded(pages, locale, refused) from None
    except Refused as refused:
        return render_forecast(
            request,
            pages=pages,
            settings=settings,
            store=store,
            user=user,
            sku=sku,
            form="plan",
            form_error=refused.message,
            values={"starts_on": starts_on, "ends_on": ends_on, "units": units},
            status_code=refused.status,
        )
    return _back(sku, "plan_saved")


@router.post(f"{PATH}/sales-plans/{{plan_id}}/remove")
def remove_plan_form(
    plan_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    _csrf: CsrfDep,
    user: Editor,
    store: StoreDep,
    sku: SkuField,
) -> Response:
    """Remove a sales plan; removing one already gone changes nothing."""
    del user
    try:
        with store.engine.begin() as conn:
            inputs.remove_sales_plan(conn, plan_id)
    except inputs.InputRefused as refused:
        if refused.code != ErrorCode.not_found:
            raise
    return _back(sku, "plan_removed")
