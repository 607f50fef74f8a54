"""The Customers page: segments, cohort retention, the CLV distribution, the SKUs with the
most customer value at stake, and the segment export.

Every figure comes from the cached :class:`soko.insight.customer_value.CustomerValueView`
through the same functions as ``/api/v1/customer-value``, so page and API agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from soko.api.deps import SessionDep, SettingsDep, StoreDep
from soko.api.routes.customers import Encoding, export_csv, exposure_public, segments_public
from soko.insight.customer_value import CustomerValueView, customer_value_view
from soko.store.queries import list_channels
from soko.web.auth import UserDep
from soko.web.i18n import choose_locale
from soko.web.pages import PagesDep, render_page

PATH = "/customers"
TOP_SKUS = 15
CLV_BINS = 20
COHORT_MONTHS = 13  # months 0–12 after the first purchase

router = APIRouter(include_in_schema=False)


def clv_histogram(view: CustomerValueView) -> dict[str, Any] | None:
    """Counts of customers per CLV band, bands of equal width up to the 99th percentile and
    one open band above it (a few very large CLVs would otherwise squash the rest)."""
    if view.models is None or view.customers.is_empty():
        return None
    clv = view.customers["clv"].drop_nulls().to_numpy()
    if clv.size == 0:
        return None
    top = float(np.quantile(clv, 0.99))
    step = max(top / CLV_BINS, 1.0)
    edges = np.arange(CLV_BINS + 1) * step
    # The last band is closed on the right, so clipping puts every larger CLV in it.
    counts, _ = np.histogram(np.minimum(clv, edges[-1]), bins=edges)
    return {
        "low": [float(e) for e in edges[:-1]],
        "high": [float(e) for e in edges[1:]],
        "counts": [int(c) for c in counts],
        "open_above": float(edges[-2]),
        "median": float(np.median(clv)),
        "total": float(clv.sum()),
        "top_fifth_share": float(np.sort(clv)[::-1][: max(1, clv.size // 5)].sum() / clv.sum())
        if clv.sum() > 0
        else 0.0,
    }


def cohort_heatmap(view: CustomerValueView) -> dict[str, Any] | None:
    """Retention by first-purchase month (rows) and months since (columns), 0–12."""
    cohorts = view.cohorts
    if cohorts.is_empty():
        return None
    months = sorted({d for d in cohorts["cohort"].to_list() if isinstance(d, dt.date)})
    z: list[list[float | None]] = []
    sizes = []
    for month in months:
        rows = cohorts.filter(cohorts["cohort"] == month)
        by_k = dict(
            zip(rows["months_since_first"].to_list(), rows["retention"].to_list(), strict=True)
        )
        z.append([round(100 * by_k[k], 1) if k in by_k else None for k in range(COHORT_MONTHS)])
        sizes.append(int(rows["cohort_size"][0]))
    return {
        "cohorts": [m.strftime("%Y-%m") for m in months],
        "sizes": sizes,
        "months": list(range(COHORT_MONTHS)),
        "z": z,
    }


def as_decimal(value: int | str | float | None) -> Decimal:
    """An API money value (int or decimal string) or an estimate, for ``fmt.money``."""
    return Decimal(0) if value is None else Decimal(str(value))


@router.get(PATH, response_class=HTMLResponse)
def customers_page(
    request: Request,
    user: UserDep,
    store: StoreDep,
    session: SessionDep,
    settings: SettingsDep,
    pages: PagesDep,
) -> Response:
    """Segments, cohorts, CLV distribution and the SKUs with the most customer value at stake."""
    view = customer_value_view(store.engine)
    summary = segments_public(view, settings.currency)
    names = {c.code: c.name or c.code for c in list_channels(session, after=None, limit=10_000)}
    top = (
        view.exposure.sort(["ltv_at_stake", "sku"], descending=[True, False]).head(TOP_SKUS)
        if not view.exposure.is_empty()
        else None
    )
    locale, _ = choose_locale(request, settings.default_locale)
    labels = {
        "cohort": pages.gettext(locale, "First purchase month"),
        "months": pages.gettext(locale, "Months since the first purchase"),
        "retention": pages.gettext(locale, "Customers buying again (%)"),
        "clv": pages.gettext(locale, "Residual CLV"),
        "customers": pages.gettext(locale, "Customers"),
    }
    return render_page(
        request,
        pages,
        settings.default_locale,
        "customers.html",
        user=user,
        page="customers",
        view=view,
        summary=summary,
        top_skus=[exposure_public(row, settings.currency) for row in top.iter_rows(named=True)]
        if top is not None
        else [],
        dec=as_decimal,
        histogram=clv_histogram(view),
        heatmap=cohort_heatmap(view),
        chart_labels=labels,
        channel_names=names,
    )


@router.get(f"{PATH}/export.csv")
def customers_export(
    user: UserDep,
    store: StoreDep,
    encoding: Encoding = Encoding.utf8,
) -> Response:
    """The segment export (the API's ``/customer-value/export``) for a signed-in user."""
    view = customer_value_view(store.engine)
    text = export_csv(view)
    payload = text.encode(encoding.value, errors="replace")
    name = f"customer-segments-{view.as_of or 'empty'}.csv"
    return Response(
        payload,
        media_type=f"text/csv; charset={encoding.value}",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
