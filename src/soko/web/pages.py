"""Server-rendered pages; like API routes they parse, call a service and render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from soko.api.deps import SessionDep, SettingsDep
from soko.insight.overview import Overview, build_overview
from soko.web.i18n import LANG_COOKIE, LANG_COOKIE_MAX_AGE, choose_locale
from soko.web.render import Pages

OVERVIEW_WEEKS = 4

router = APIRouter(include_in_schema=False)


def get_pages(request: Request) -> Pages:
    pages = request.app.state.pages
    if not isinstance(pages, Pages):
        raise TypeError("app.state.pages is not set: build the app with soko.web.app.create_app")
    return pages


PagesDep = Annotated[Pages, Depends(get_pages)]


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request, session: SessionDep, settings: SettingsDep, pages: PagesDep
) -> Response:
    """The overview: catalogue, stock and the last four weeks of sales by channel."""
    locale, remember = choose_locale(request, settings.default_locale)
    view = build_overview(session, currency=settings.currency, weeks=OVERVIEW_WEEKS)
    html = pages.render(
        locale, "overview.html", view=view, chart=chart_data(view, pages, locale), page="overview"
    )
    response = HTMLResponse(html)
    if remember:
        response.set_cookie(
            LANG_COOKIE, locale, max_age=LANG_COOKIE_MAX_AGE, samesite="lax", httponly=True
        )
    return response


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
