"""Dependencies shared by routes, as ``Annotated`` aliases (``SessionDep``, ``SettingsDep``).

The app keeps one ``Store`` (settings and engine) in ``app.state``; routes
receive what they need from here and never open connections themselves.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from soko.api.auth import SESSION_CSRF_KEY, SESSION_USER_KEY, Scope, require, scopes_of
from soko.errors import ErrorCode, SokoError
from soko.settings import Settings
from soko.store.db import session_scope
from soko.web.users import DEMO_USER, any_users, user_by_id

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    authorization: Annotated[str | None, Header()] = None,
    x_csrf_token: Annotated[str | None, Header()] = None,
) -> set[Scope]:
    """The scopes of the request's bearer token, else of the signed-in browser session.

    A bearer token always wins and works exactly as without a browser. Without
    one, a page's own scripts are served with the session's role mapped to
    scopes; a request that changes anything must then carry the session's CSRF
    token in ``X-CSRF-Token``, since a cookie alone would let another site's
    form act for the user. Neither: 401 problem JSON.
    """
    with store.engine.connect() as conn:
        if authorization is None:
            session_scopes = browser_scopes(request, conn, x_csrf_token)
            if session_scopes is not None:
                return session_scopes
        return scopes_of(conn, authorization)


def browser_scopes(request: Request, conn: Connection, sent_csrf: str | None) -> set[Scope] | None:
    """The scopes of the signed-in user of the request's session; None without a session.

    A session counts once a page has given it a CSRF token; while the store has
    no users it is the demo admin, as on the pages.
    """
    if "session" not in request.scope:
        return None
    session = request.session
    expected = session.get(SESSION_CSRF_KEY)
    if not isinstance(expected, str):
        return None
    if any_users(conn):
        user_id = session.get(SESSION_USER_KEY)
        user = user_by_id(conn, user_id) if isinstance(user_id, int) else None
    else:
        user = DEMO_USER
    if user is None:
        return None
    if request.method not in SAFE_METHODS and (
        sent_csrf is None or not secrets.compare_digest(sent_csrf, expected)
    ):
        raise SokoError(
            ErrorCode.csrf_token_invalid,
            "A change sent with the browser's session needs the page's CSRF token "
            "in the X-CSRF-Token header (or send a bearer token instead).",
        )
    return set(user.scopes)


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
