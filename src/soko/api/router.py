"""``/api/v1``: every versioned resource, with the place where authentication will go."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from soko.api.deps import authorize
from soko.api.routes import (
    catalogue,
    customers,
    forecast,
    health,
    jobs,
    kpis,
    ledger,
    overview,
    planning,
)

API_PREFIX = "/api/v1"

# Resources behind ``authorize``; health stays open for probes.
protected = APIRouter(dependencies=[Depends(authorize)])
protected.include_router(overview.router)
protected.include_router(kpis.router)
protected.include_router(catalogue.router)
protected.include_router(ledger.router)
protected.include_router(planning.router)
protected.include_router(jobs.router)
protected.include_router(customers.router)
protected.include_router(forecast.router)

api_router = APIRouter(prefix=API_PREFIX)
api_router.include_router(health.router)
api_router.include_router(protected)
