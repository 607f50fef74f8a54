"""Who is signed in, what their role lets them open, and the CSRF check on every form.

The session is a cookie signed with itsdangerous (Starlette's
``SessionMiddleware``); it holds only the user's id and the CSRF token.
Because the middleware signs it again on every response, ``SESSION_IDLE_SECONDS``
is an idle timeout: eight hours without a request and the person signs in again.
The CSRF token is bound to the session and compared in constant time.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Send
from starlette.types import Scope as AsgiScope

from soko.api.auth import SESSION_CSRF_KEY, SESSION_USER_KEY, Scope
from soko.api.deps import Store, StoreDep
from soko.errors import ErrorCode, SokoError
from soko.web.users import DEMO_USER, WebUser, any_users, user_by_id

SESSION_COOKIE = "soko_session"
SESSION_IDLE_SECONDS = 8 * 3600
CSRF_FIELD = "csrf_token"
USER_KEY = SESSION_USER_KEY
CSRF_KEY = SESSION_CSRF_KEY


class SessionCookies:
    """Starlette's signed-cookie sessions, with ``Secure`` on the cookie whenever the request
    came over HTTPS (directly, or through a proxy uvicorn trusts for ``X-Forwarded-Proto``),
    or always with ``force_secure`` (when TLS ends before a proxy that does not say so).

    A ``Secure`` cookie is never sent over plain HTTP, so it cannot leak on a
    downgraded link; plain-HTTP development keeps working without it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_key: str,
        session_cookie: str,
        max_age: int,
        same_site: Literal["lax", "strict", "none"] = "lax",
        force_secure: bool = False,
    ) -> None:
        def sessions(secure: bool) -> SessionMiddleware:
            return SessionMiddleware(
                app,
                secret_key=secret_key,
                session_cookie=session_cookie,
                max_age=max_age,
                same_site=same_site,
                https_only=secure,
            )

        self._plain = sessions(force_secure)
        self._secure = sessions(True)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        secure = scope.get("scheme") in ("https", "wss")
        await (self._secure if secure else self._plain)(scope, receive, send)


class SignInRequired(Exception):
    """Raised by a page when nobody is signed in; the app answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}" if next_path not in ("", "/") else "/login"


def safe_next(next_path: str | None) -> str:
    """Only a path on this site, so a crafted link cannot send a user elsewhere after sign-in."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    return next_path


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def sign_in(request: Request, user: WebUser) -> None:
    """A fresh session for ``user`` (a new CSRF token, nothing kept from before sign-in)."""
    request.session.clear()
    request.session[USER_KEY] = user.id
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def signed_in_user(request: Request, store: StoreDep) -> WebUser | None:
    """The session's user; the demo admin while the store has no users; None otherwise."""
    with store.engine.connect() as conn:
        if not any_users(conn):
            return DEMO_USER
        user_id = request.session.get(USER_KEY)
        user = user_by_id(conn, user_id) if isinstance(user_id, int) else None
    if user is None and USER_KEY in request.session:
        sign_out(request)  # the user was removed: forget the stale session
    return user


def user_for_error_page(request: Request, store: Store) -> WebUser | None:
    """Who is signed in, so an error page keeps the navigation; None when it cannot be told
    (no session on this path, or the store is the very thing that failed)."""
    if "session" not in request.scope:
        return None
    try:
        return signed_in_user(request, store)
    except Exception:  # an error page must render whatever else is broken
        return None


def current_user(
    request: Request, user: Annotated[WebUser | None, Depends(signed_in_user)]
) -> WebUser:
    """The signed-in user, or a redirect to the sign-in page that comes back here."""
    if user is None:
        path = request.url.path
        if request.url.query:
            path += f"?{request.url.query}"
        raise SignInRequired(path)
    return user


def page_requires(scope: Scope) -> Any:
    """A page dependency that answers 403 to a signed-in user whose role lacks ``scope``."""

    def check(user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
        if not user.may(scope):
            raise SokoError(
                ErrorCode.forbidden,
                f"Your role ({user.role.value}) cannot open this page; "
                f"it needs the {scope.value!r} permission.",
            )
        return user

    return Depends(check)


async def check_csrf(request: Request) -> None:
    """Refuse (403) a form whose ``csrf_token`` field is missing or not this session's."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get(CSRF_KEY)
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent, expected)
    ):
        raise SokoError(
            ErrorCode.csrf_token_invalid,
            "The form was refused because its security token is missing or out of date. "
            "Reload the page and send it again.",
        )


UserDep = Annotated[WebUser, Depends(current_user)]
CsrfDep = Annotated[None, Depends(check_csrf)]
