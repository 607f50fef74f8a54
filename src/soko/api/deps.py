"""Dependencies shared by routes, as ``Annotated`` aliases (``SessionDep``, ``SettingsDep``).

The app keeps one ``Store`` (settings and engine) in ``app.state``; routes
receive what they need from here and never open connections themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

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


def authorize() -> None:
    """Where authentication will be checked for every ``/api/v1`` resource.

    The API is read-only and open for now; the auth issue replaces this body
    (token → principal, or 401 problem JSON) without touching any route.
    ``/api/v1/health`` stays outside it so probes need no credentials.
    """


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
