"""Dependencies shared by routes, as ``Annotated`` aliases (``SessionDep``, ``SettingsDep``).

The app keeps one ``Store`` (settings and engine) in ``app.state``; routes
receive what they need from here and never open connections themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from soko.api.auth import Scope, require, scopes_of
from soko.settings import Settings
from soko.store.db import session_scope


@dataclass(frozen=True)
class Store:
    """What a request needs from the process: its settings and the engine of the store."""

    settings: Settings
    engine: Engine


def get_store(request: Request) -> Store:
    store = request.app.state.store
    if not isinstance(store, Store):
        raise TypeError("app.state.store is not set: build the app with soko.web.app.create_app")
    return store


def get_settings(store: Annotated[Store, Depends(get_store)]) -> Settings:
    return store.settings


def get_session(store: Annotated[Store, Depends(get_store)]) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error."""
    with session_scope(store.engine) as session:
        yield session


def get_scopes(
    store: Annotated[Store, Depends(get_store)],
    authorization: Annotated[str | None, Header()] = None,
) -> set[Scope]:
    """The scopes of the request's bearer token (401 problem JSON without one)."""
    with store.engine.connect() as conn:
        return scopes_of(conn, authorization)


def authorize(scopes: Annotated[set[Scope], Depends(get_scopes)]) -> None:
    """Every ``/api/v1`` resource needs a token; ``/api/v1/health`` stays open for probes."""
    require(scopes, Scope.read)


def requires(scope: Scope) -> Callable[[set[Scope]], None]:
    """A dependency that refuses a token without ``scope`` (403 problem JSON)."""

    def check(scopes: Annotated[set[Scope], Depends(get_scopes)]) -> None:
        require(scopes, scope)

    return check


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
