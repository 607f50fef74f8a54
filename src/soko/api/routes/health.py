"""``GET /api/v1/health``: is the store reachable and its schema current (for probes)."""

from __future__ import annotations

from fastapi import APIRouter

from soko.api.deps import SessionDep, StoreDep
from soko.api.schemas import HealthPublic
from soko.errors import ErrorCode, SokoError
from soko.store import queries
from soko.store.db import schema_is_current

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthPublic,
    responses={503: {"description": "The store is unreachable or its schema is outdated."}},
)
def health(store: StoreDep, session: SessionDep) -> HealthPublic:
    """Check the store answers and its schema is at the newest migration.

    Answers 503 problem JSON (`store_unavailable` or `schema_outdated`) otherwise,
    so a load balancer takes the instance out before users meet the error.
    """
    queries.ping(session)
    if not schema_is_current(store.engine):
        raise SokoError(
            ErrorCode.schema_outdated,
            "The store's schema is older than this version of Soko; restart with `soko serve`, "
            "which migrates it.",
        )
    return HealthPublic(database=store.engine.dialect.name)
