"""The Forecast page: the latest forecast run's accuracy report and model choices, and one
SKU's history, forecast and intervals with its censored (out-of-stock) days marked.

Figures come from :mod:`soko.forecast.service` (the stored run, and the SKU's cleaned
history); the page only arranges them.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from soko.api.deps import SettingsDep, StoreDep
from soko.forecast.service import DemandForecast, NoSalesHistory, latest_forecast, load_history
from soko.web.auth import UserDep
from soko.web.pages import PagesDep, render_page

PATH = "/forecast"
HISTORY_DAYS = 365
ROWS = 50

router = APIRouter(include_in_schema=False)


def sku_chart(engine: Any, forecast: DemandForecast, sku: str) -> dict[str, Any] | None:
    """The SKU's last ``HISTORY_DAYS`` days of sales and estimated demand (censored days
    marked) and its forecast mean and 80 %/90 % bands, summed over locations."""
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
    try:
        store = load_history(engine, as_of=forecast.as_of, sku=sku)
    except NoSalesHistory:
        return chart
    past = (
        store.demand.group_by("ds")
        .agg(pl.col("sales", "y").sum(), pl.col("censored").any())
        .sort("ds")
        .tail(HISTORY_DAYS)
        .with_columns(pl.col("ds").cast(pl.String))
    )
    chart["history"] = {
        "ds": past["ds"].to_list(),
        "sales": past["sales"].to_list(),
        "estimate": [round(v, 3) for v in past["y"].to_list()],
        "censored": past["censored"].to_list(),
    }
    return chart


@router.get(PATH, response_class=HTMLResponse)
def forecast_page(
    request: Request,
    pages: PagesDep,
    settings: SettingsDep,
    store: StoreDep,
    user: UserDep,
    sku: str | None = Query(default=None, max_length=64),
) -> HTMLResponse:
    """The latest forecast run; with ``?sku=``, that SKU's chart and why its model won."""
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
        context["summary"] = forecast.summary
        context["censored_total"] = int(series["censored_days"].sum()) if series.height else 0
        if sku:
            row = series.filter(pl.col("sku") == sku)
            context["chosen"] = row.to_dicts()[0] if row.height else None
            context["chart"] = sku_chart(store.engine, forecast, sku) if row.height else None
    return render_page(
        request, pages, settings.default_locale, "forecast.html", user=user, **context
    )
