"""``create_app``: the one ASGI app serving the pages, the static files and ``/api/v1``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import soko
from soko.api.deps import Store
from soko.api.problems import Problem, document_problems, install_problem_handlers, problem_json
from soko.api.router import API_PREFIX, api_router
from soko.insight.health import build_health
from soko.insight.overview import DEFAULT_WEEKS, build_alerts, build_kpis, build_overview
from soko.ledger.service import expire_due
from soko.settings import Settings, local_now
from soko.store.db import make_engine
from soko.web import customers, forecast, health, orders, pages, stock, stock_forms, suppliers
from soko.web.auth import (
    CSRF_FIELD,
    SESSION_COOKIE,
    SESSION_IDLE_SECONDS,
    SessionCookies,
    SignInRequired,
    csrf_token,
    login_url,
    user_for_error_page,
)
from soko.web.i18n import choose_locale
from soko.web.render import PLOTLY_URL, Pages
from soko.web.users import secret_key

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def plotly_js() -> Path:
    """``plotly.min.js`` as shipped inside the installed ``plotly`` package.

    Served from there (not a CDN, not a copy in the repository) so the app
    works offline and the chart library always matches the Python package.
    """
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


async def _sweep_expired_holds(engine: Engine, settings: Settings, every: float = 5.0) -> None:
    """Free cart holds past their time every few seconds, so channels see those units again
    without waiting for the next reservation of the SKU."""

    def sweep() -> None:
        with engine.begin() as conn:
            expire_due(conn, local_now(settings))

    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(sweep)
        except Exception:  # the next round retries; a request never depends on the sweep
            log.exception("expiring holds failed")


def _warm_figures(engine: Engine, settings: Settings) -> None:
    """Compute the overview's and the health table's figures once at start-up, in the
    background, so the first person to open them does not wait seconds on a large store
    (later requests reuse them until stock or orders change)."""
    try:
        with Session(engine) as session:
            if build_overview(session, currency=settings.currency, weeks=DEFAULT_WEEKS).is_empty:
                return
            build_kpis(session, currency=settings.currency)
            build_alerts(session, today=local_now(settings).date())
            for by_product in (False, True):
                build_health(session, by_product=by_product)
    except Exception:  # a page computes its own figures if this did not
        log.exception("computing the figures at start-up failed")


def app_from_env() -> FastAPI:
    """The app for the settings in the environment: the factory ``soko serve --workers``
    hands to uvicorn, which imports it once in every worker process."""
    return create_app(Settings())


def create_app(settings: Settings) -> FastAPI:
    """The web app and HTTP API over the store ``settings`` points at (schema already migrated)."""
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_expired_holds(engine, settings))
        warming = asyncio.create_task(asyncio.to_thread(_warm_figures, engine, settings))
        yield
        warming.cancel()
        sweeper.cancel()
        engine.dispose()

    app = FastAPI(
        title="Soko API",
        version=soko.__version__,
        description=(
            "One stock across every sales channel. Errors are `application/problem+json` "
            "with a stable `code`; lists are paged with `next_cursor`."
        ),
        docs_url="/docs",
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
        lifespan=lifespan,
    )
    app.state.store = Store(settings=settings, engine=engine)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = document_problems(spec, open_paths={f"{API_PREFIX}/health"})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.pages = Pages(settings, static_version=soko.__version__)

    def render_problem(request: Request, problem: Problem) -> Response:
        """Problem JSON, except a browser opening a page gets the same problem as HTML."""
        path = request.url.path
        wants_html = "text/html" in request.headers.get("accept", "")
        if not wants_html or path.startswith((API_PREFIX, "/static", "/docs")):
            return problem_json(request, problem)
        locale, _ = choose_locale(request, settings.default_locale)
        user = user_for_error_page(request, app.state.store)
        html = app.state.pages.render(
            locale,
            "error.html",
            problem=problem,
            page="error",
            user=user,
            csrf_field=CSRF_FIELD,
            csrf_token=csrf_token(request) if user is not None else "",
        )
        return HTMLResponse(html, status_code=problem.status)

    async def to_sign_in(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    install_problem_handlers(app, render_problem)
    app.add_exception_handler(SignInRequired, to_sign_in)
    app.add_middleware(
        SessionCookies,
        secret_key=secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_IDLE_SECONDS,
        same_site="lax",
        force_secure=settings.secure_cookies,
    )
    app.include_router(api_router)
    app.include_router(orders.router)  # before pages: /orders replaces its placeholder
    app.include_router(forecast.router)
    app.include_router(suppliers.router)
    app.include_router(customers.router)  # before pages: /customers replaces its placeholder
    app.include_router(pages.router)
    app.include_router(stock.router)
    app.include_router(stock_forms.router)
    app.include_router(health.router)

    plotly_path = plotly_js()

    @app.get(PLOTLY_URL, include_in_schema=False)
    def plotly_min_js() -> FileResponse:
        """The chart library from the installed package, cached for a year (URL is versioned)."""
        return FileResponse(
            plotly_path,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=31536000, immutable"},
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
