"""Every error as ``application/problem+json`` (RFC 9457) with a stable ``code``.

``type``, ``title``, ``status`` and ``detail`` are the RFC's members; ``code``
is an ``ErrorCode`` that integrators and the UI branch on. Handlers here turn
every exception a request can raise into a problem, so neither a stack trace
nor an exception message from a library reaches a user.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from soko.errors import ErrorCode, SokoError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.not_found: 404,
    ErrorCode.method_not_allowed: 405,
    ErrorCode.validation_error: 422,
    ErrorCode.bad_request: 400,
    ErrorCode.store_unavailable: 503,
    ErrorCode.schema_outdated: 503,
    ErrorCode.internal_error: 500,
    ErrorCode.unauthorized: 401,
    ErrorCode.forbidden: 403,
    ErrorCode.csrf_token_invalid: 403,
    ErrorCode.unknown_sku: 404,
    ErrorCode.unknown_location: 404,
    ErrorCode.unknown_channel: 404,
    ErrorCode.invalid_quantity: 422,
    ErrorCode.idempotency_key_reused: 422,
    ErrorCode.insufficient_stock: 409,
    ErrorCode.negative_stock: 409,
    ErrorCode.reservation_expired: 409,
    ErrorCode.reservation_closed: 409,
    ErrorCode.spike_tag_exists: 409,
    ErrorCode.sales_plan_overlaps: 409,
}

STORE_UNAVAILABLE_DETAIL = (
    "The store cannot be reached: check SOKO_DATABASE_URL or SOKO_DATA_DIR and that the "
    "database server is running."
)


@dataclass(frozen=True)
class Problem:
    """One error as the user sees it; ``extensions`` are extra members (e.g. ``errors``)."""

    status: int
    code: ErrorCode
    detail: str
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return HTTPStatus(self.status).phrase

    def to_json(self) -> dict[str, Any]:
        return {
            "type": f"urn:soko:error:{self.code.value}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code.value,
            **self.extensions,
        }


ProblemRenderer = Callable[[Request, Problem], Response]


def problem_json(_request: Request, problem: Problem) -> Response:
    """The default renderer: the problem as JSON with its media type."""
    return JSONResponse(
        problem.to_json(), status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE
    )


def problem_for_status(status: int, detail: str) -> Problem:
    """A problem for an HTTP status raised by the framework (404 route, 405 method…)."""
    code = {
        404: ErrorCode.not_found,
        405: ErrorCode.method_not_allowed,
        422: ErrorCode.validation_error,
        503: ErrorCode.store_unavailable,
    }.get(status)
    if code is None:
        code = ErrorCode.internal_error if status >= 500 else ErrorCode.bad_request
    return Problem(status=status, code=code, detail=detail)


def validation_problem(errors: Sequence[Any]) -> Problem:
    """422 naming each field that failed, e.g. ``weeks: Input should be ≥ 1``."""
    items = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        where = loc[0] if len(loc) > 1 and loc[0] in {"query", "path", "body", "header"} else ""
        name = ".".join(loc[1:] if where else loc) or "request"
        items.append({"field": name, "in": where or None, "message": str(error.get("msg", ""))})
    detail = "; ".join(f"{i['field']}: {i['message']}" for i in items) or "Invalid request."
    return Problem(
        status=422, code=ErrorCode.validation_error, detail=detail, extensions={"errors": items}
    )


PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at the request's path.

    Starlette's 405 names only the methods of the first route whose path matched, so a
    path served by two routes (``GET`` and ``PUT``) would promise too little in ``Allow``;
    each method is tried against the routes instead.
    """
    routes = request.app.router.routes
    return [
        method
        for method in PROBED_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]


def install_problem_handlers(app: FastAPI, render: ProblemRenderer = problem_json) -> None:
    """Register handlers so every error ``app`` answers is a problem drawn by ``render``."""

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing at {request.url.path}; the API is described at /docs."
        response = render(request, problem_for_status(exc.status_code, detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            response.headers["Allow"] = ", ".join(methods)
        return response

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(request, validation_problem(exc.errors()))

    async def on_soko_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SokoError)
        status = STATUS_BY_CODE.get(exc.code, 400)
        return render(request, Problem(status=status, code=exc.code, detail=exc.message))

    async def on_store_unreachable(request: Request, exc: Exception) -> Response:
        log.error("store unreachable: %s", exc)
        problem = Problem(
            status=503, code=ErrorCode.store_unavailable, detail=STORE_UNAVAILABLE_DETAIL
        )
        return render(request, problem)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # The traceback goes to the server log (Starlette re-raises after this
        # handler); the user gets a code to quote, never the trace.
        problem = Problem(
            status=500,
            code=ErrorCode.internal_error,
            detail="Something went wrong on the server; the error has been logged.",
        )
        return render(request, problem)

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(SokoError, on_soko_error)
    app.add_exception_handler(OperationalError, on_store_unreachable)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": [c.value for c in ErrorCode]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "in": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

_WHY = {
    "400": "The body is not JSON (`bad_request`).",
    "401": "No token, or an unknown or revoked one (`unauthorized`).",
    "403": "The token lacks the scope (`forbidden`).",
    "404": "Something the request names does not exist.",
    "409": "The request conflicts with the stock as it is now.",
    "422": "The request is invalid; `errors` names each field (`validation_error`).",
    "503": "The store cannot be reached (`store_unavailable`).",
}


def document_problems(spec: dict[str, Any], *, open_paths: set[str]) -> dict[str, Any]:
    """Declare the problem JSON every operation can answer, so the spec tells the truth.

    FastAPI documents its own 422 body; Soko answers problem JSON instead. Every
    operation can also meet a store outage (503), and all but ``open_paths``
    need a token (401, 403).
    """
    spec.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in spec.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = {"422", "503"} | ({"401", "403"} if path not in open_paths else set())
            if "{" in path:
                statuses.add("404")
            if "requestBody" in operation:
                statuses.add("400")
            statuses |= {s for s in responses if s.startswith(("4", "5"))}
            for status in statuses:
                described = responses.get(status, {}).get("description") or _WHY.get(status, "")
                responses[status] = {"description": described, "content": content}
    return spec
