"""People who sign in to the web app: roles, their API scopes, and argon2 password hashes.

A role is a bundle of the API's scopes, so a page and an API route ask the
same question ("does this person hold ``adjust``?") and a role never grants
in the browser what its token would be refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, select

from soko.api.auth import Scope
from soko.errors import ErrorCode, SokoError
from soko.settings import Settings, local_now
from soko.store.tables import User, table_of

MIN_PASSWORD_LENGTH = 8


class Role(StrEnum):
    viewer = "viewer"
    planner = "planner"
    store_staff = "store_staff"
    admin = "admin"


SCOPES_OF_ROLE: dict[Role, frozenset[Scope]] = {
    Role.viewer: frozenset({Scope.read}),
    Role.planner: frozenset({Scope.read, Scope.adjust}),
    Role.store_staff: frozenset({Scope.read, Scope.reserve, Scope.adjust}),
    Role.admin: frozenset(Scope),
}


@dataclass(frozen=True)
class WebUser:
    """Who is signed in; ``demo`` when the store has no users and everyone is the demo admin."""

    id: int | None
    name: str
    role: Role
    demo: bool = False

    @property
    def scopes(self) -> frozenset[Scope]:
        return SCOPES_OF_ROLE[self.role]

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes


DEMO_USER = WebUser(id=None, name="demo", role=Role.admin, demo=True)

_hasher = PasswordHasher()


def secret_key(settings: Settings) -> str:
    """The key that signs session cookies: ``SOKO_SECRET_KEY``, else random per process.

    The random fallback is safe but signs everyone out on restart and does not
    work across several server processes; production sets the variable.
    """
    return settings.secret_key or _process_key()


@lru_cache
def _process_key() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(conn: Connection, name: str, role: Role, password: str) -> int:
    """A new user; the name is unique and the password at least 8 characters."""
    name = name.strip()
    if not name:
        raise SokoError(ErrorCode.validation_error, "Give the user a --name.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SokoError(
            ErrorCode.validation_error,
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.",
        )
    exists = conn.execute(select(User.id).where(User.name == name)).scalar_one_or_none()
    if exists is not None:
        raise SokoError(ErrorCode.duplicate_key, f"A user named {name!r} already exists.")
    result = conn.execute(
        table_of(User)
        .insert()
        .values(
            name=name,
            role=role.value,
            password_hash=hash_password(password),
            created_at=local_now(),
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def any_users(conn: Connection) -> bool:
    return conn.execute(select(func.count()).select_from(User)).scalar_one() > 0


def user_by_id(conn: Connection, user_id: int) -> WebUser | None:
    row = conn.execute(select(User.id, User.name, User.role).where(User.id == user_id)).first()
    return None if row is None else WebUser(id=row.id, name=row.name, role=Role(row.role))


def list_users(conn: Connection) -> list[WebUser]:
    rows = conn.execute(select(User.id, User.name, User.role).order_by(User.name))
    return [WebUser(id=r.id, name=r.name, role=Role(r.role)) for r in rows]


def authenticate(conn: Connection, name: str, password: str) -> WebUser | None:
    """The user if ``password`` is theirs; None otherwise (never saying which part was wrong).

    An unknown name still costs one hash, so timing does not tell names apart.
    """
    row = conn.execute(
        select(User.id, User.name, User.role, User.password_hash).where(User.name == name.strip())
    ).first()
    stored = row.password_hash if row is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(
            table_of(User)
            .update()
            .where(table_of(User).c.id == row.id)
            .values(password_hash=hash_password(password))
        )
    return WebUser(id=row.id, name=row.name, role=Role(row.role))


_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
