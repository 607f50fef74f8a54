"""API tokens: random bearer tokens stored as SHA-256 hashes, each with scopes.

Tokens are 256 random bits, so a fast hash is enough: nothing can be learnt
by guessing, and a slow hash would only cost every request its throughput.
Every scope includes ``read``; ``admin`` includes every scope.
"""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from sqlalchemy import Connection, select

from soko.errors import ErrorCode, SokoError
from soko.settings import local_now
from soko.store.tables import ApiToken, table_of

PREFIX = "soko_"

# Keys of the signed browser session (set by the web app's sign-in), read here so
# a page's scripts can call the API with the session instead of a token.
SESSION_USER_KEY = "uid"
SESSION_CSRF_KEY = "csrf"


class Scope(StrEnum):
    read = "read"
    reserve = "reserve"
    adjust = "adjust"
    admin = "admin"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(conn: Connection, scopes: list[Scope]) -> str:
    """A new token with ``scopes``; only its hash is stored, so it is shown once."""
    if not scopes:
        raise SokoError(ErrorCode.validation_error, "Give a token at least one --scope.")
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        table_of(ApiToken)
        .insert()
        .values(
            token_hash=token_hash(token),
            scopes=sorted({s.value for s in scopes}),
            created_at=local_now(),
        )
    )
    return token


def scopes_of(conn: Connection, authorization: str | None) -> set[Scope]:
    """The scopes an ``Authorization: Bearer …`` header grants, or 401."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise SokoError(
            ErrorCode.unauthorized,
            "Send 'Authorization: Bearer TOKEN'; create a token with `soko token create`.",
        )
    token = authorization.split(" ", 1)[1].strip()
    row = conn.execute(
        select(ApiToken.scopes).where(
            ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if row is None:
        raise SokoError(ErrorCode.unauthorized, "The token is unknown or revoked.")
    granted = {Scope(s) for s in row}
    if Scope.admin in granted:
        return set(Scope)
    return granted | {Scope.read}


def require(granted: set[Scope], scope: Scope) -> None:
    if scope not in granted:
        raise SokoError(ErrorCode.forbidden, f"This token lacks the {scope.value!r} scope.")
