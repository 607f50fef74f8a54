"""Server-rendered pages; like API routes they parse, call a service and render.

Every page but sign-in needs a signed-in user (``UserDep``); while the store
has no users at all, that is the demo admin, so ``make demo`` opens straight
into the overview.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from soko.api.auth import Scope
from soko.api.deps import SessionDep, SettingsDep, StoreDep
from soko.errors import ErrorCode, SokoError
from soko.insight.overview import (
    DEFAULT_LEAD_DAYS,
    DEFAULT_WEEKS,
    PO_DUE_DAYS,
    Kpis,
    Overview,
    build_alerts,
    build_kpis,
    build_overview,
    days_of_inventory,
    fill_rate,
    round_money,
    rounded_days,
    rounded_share,
    rounded_turnover,
    turnover,
)
from soko.jobs import get_job
from soko.settings import local_now
from soko.web.auth import (
    CSRF_FIELD,
    CsrfDep,
    UserDep,
    csrf_token,
    page_requires,
    safe_next,
    sign_in,
    sign_out,
    signed_in_user,
)
from soko.web.i18n import LANG_COOKIE, LANG_COOKIE_MAX_AGE, LOCALES, choose_locale
from soko.web.render import Pages
from soko.web.users import WebUser, authenticate, list_users

OVERVIEW_WEEKS = DEFAULT_WEEKS

# Pages of the shell that later issues fill; each shows what it will do meanwhile.
COMING_PAGES = {
    "orders": "/orders",
    "scenarios": "/scenarios",
    "customers": "/customers",
    "campaigns": "/campaigns",
    "channels": "/channels",
    "stores": "/stores",
}

router = APIRouter(include_in_schema=False)


def get_pages(request: Request) -> Pages:
    pages = request.app.state.pages
    if not isinstance(pages, Pages):
        raise TypeError("app.state.pages is not set: build the app with soko.web.app.create_app")
    return pages


PagesDep = Annotated[Pages, Depends(get_pages)]


def render_page(
    request: Request,
    pages: Pages,
    default_locale: str,
    template: str,
    *,
    user: WebUser | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` in the request's language with the shell's context; remembers the language."""
    locale, remember = choose_locale(request, default_locale)
    html = pages.render(
        locale,
        template,
        user=user,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        coming_pages=COMING_PAGES,
        lang_links=lang_links(request),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if remember:
        response.set_cookie(
            LANG_COOKIE, locale, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
    return response


def lang_links(request: Request) -> dict[str, str]:
    """This page in each language, keeping its other query parameters (e.g. ``next``)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return {locale: f"?{urlencode([*kept, ('lang', locale)])}" for locale in LOCALES}


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request, user: UserDep, session: SessionDep, settings: SettingsDep, pages: PagesDep
) -> Response:
    """Today: alerts first (run-outs, excess, sync, purchase orders due), then the KPIs with
    their weekly trend, then sales by channel."""
    locale, _ = choose_locale(request, settings.default_locale)
    view = build_overview(session, currency=settings.currency, weeks=OVERVIEW_WEEKS)
    kpis = build_kpis(session, currency=settings.currency, weeks=OVERVIEW_WEEKS)
    alerts = None if view.is_empty else build_alerts(session, today=local_now(settings).date())
    return render_page(
        request,
        pages,
        settings.default_locale,
        "overview.html",
        user=user,
        view=view,
        kpis=kpis,
        shown=shown_kpis(kpis) if kpis else None,
        alerts=alerts,
        sparks=sparklines(kpis, pages, locale) if kpis else {},
        chart=chart_data(view, pages, locale),
        round_money=lambda amount: round_money(amount, settings.currency),
        default_lead_days=DEFAULT_LEAD_DAYS,
        po_due_days=PO_DUE_DAYS,
        page="overview",
    )


def shown_kpis(kpis: Kpis) -> dict[str, Any]:
    """The ratios as the page and ``/api/v1/kpis`` both show them (same rounding)."""
    return {
        "turnover": rounded_turnover(kpis.turnover),
        "days_of_inventory": rounded_days(kpis.days_of_inventory),
        "fill_rate": rounded_share(kpis.fill_rate),
    }


def sparklines(kpis: Kpis, pages: Pages, locale: str) -> dict[str, dict[str, Any]]:
    """Each headline figure's weekly trend for ``overview.js``, with hover text formatted here."""
    fmt = pages.formatter(locale)
    labels = [fmt.date(w.start) for w in kpis.weeks]

    def series(values: list[float | None], text: list[str]) -> dict[str, Any]:
        return {"labels": labels, "values": values, "text": text}

    turnovers = [turnover(w.cogs, w.average_stock_value, 7) for w in kpis.weeks]
    days = [days_of_inventory(w.cogs, w.average_stock_value, 7) for w in kpis.weeks]
    fills = [fill_rate(w.units_sold, w.unmet) for w in kpis.weeks]
    return {
        "sales": series(
            [float(w.revenue) for w in kpis.weeks], [fmt.money(w.revenue) for w in kpis.weeks]
        ),
        "stock_value": series(
            [float(w.stock_value_end) for w in kpis.weeks],
            [fmt.money(round_money(w.stock_value_end, fmt.currency)) for w in kpis.weeks],
        ),
        "turnover": series(turnovers, [fmt.decimal(t) if t else "–" for t in turnovers]),
        "days_of_inventory": series(days, [fmt.whole(d) if d else "–" for d in days]),
        "fill_rate": series(fills, [fmt.percent(f, 1) if f is not None else "–" for f in fills]),
    }


def chart_data(view: Overview, pages: Pages, locale: str) -> dict[str, Any]:
    """What ``overview.js`` draws: one bar of net revenue per channel, labels pre-formatted.

    Labels come formatted from the server so the chart and the table show the
    same text; the numbers are floats here only because a chart needs a
    position, never for arithmetic.
    """
    fmt = pages.formatter(locale)
    return {
        "labels": [c.name or c.code for c in view.channels],
        "values": [float(c.revenue) for c in view.channels],
        "text": [fmt.money(c.revenue) for c in view.channels],
        "axis_title": pages.gettext(locale, "Revenue") + f" ({view.currency})",
    }


def _coming_page(page: str) -> Any:
    def coming(request: Request, user: UserDep, settings: SettingsDep, pages: PagesDep) -> Response:
        return render_page(
            request, pages, settings.default_locale, "coming.html", user=user, page=page
        )

    coming.__name__ = f"{page}_page"
    return coming


for _page, _path in COMING_PAGES.items():
    router.add_api_route(_path, _coming_page(_page), methods=["GET"], response_class=HTMLResponse)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request,
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    user: UserDep,
    store: StoreDep,
    pages: PagesDep,
) -> Response:
    """One long job (a plan run) followed live; pages that start a job link here."""
    job = get_job(store.engine, job_id)
    if job is None:
        raise SokoError(ErrorCode.not_found, f"There is no job {job_id}.")
    return render_page(
        request,
        pages,
        store.settings.default_locale,
        "_job_status_page.html",
        user=user,
        page="job",
        job_id=job.id,
        kind=job.kind,
        started_at=job.started_at,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    user: Annotated[WebUser, page_requires(Scope.admin)],
    store: StoreDep,
    pages: PagesDep,
) -> Response:
    """Settings and users, for admins only."""
    with store.engine.connect() as conn:
        users = list_users(conn)
    settings = store.settings
    return render_page(
        request,
        pages,
        settings.default_locale,
        "settings.html",
        user=user,
        page="settings",
        settings=settings,
        database=store.engine.dialect.name,
        users=users,
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    settings: SettingsDep,
    pages: PagesDep,
    user: Annotated[WebUser | None, Depends(signed_in_user)],
    next: str = "/",
) -> Response:
    """The sign-in form; someone already signed in (or the demo user) goes on to ``next``."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render_page(
        request,
        pages,
        settings.default_locale,
        "login.html",
        user=None,
        page="login",
        next=safe_next(next),
        failed=False,
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    _csrf: CsrfDep,
    store: StoreDep,
    pages: PagesDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Sign in; a wrong name or password shows the form again without saying which."""
    with store.engine.begin() as conn:
        user = authenticate(conn, name, password)
    if user is None:
        return render_page(
            request,
            pages,
            store.settings.default_locale,
            "login.html",
            user=None,
            page="login",
            next=safe_next(next),
            failed=True,
            name=name,
        )
    sign_in(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, _csrf: CsrfDep) -> Response:
    """Sign out and go to the sign-in page."""
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
