"""Idempotent writes: the first answer to a key is stored and replayed.

Replaying a key returns the first answer's status and body and changes
nothing; the same key with a different request is refused with
``idempotency_key_reused``. Errors a client caused (4xx) are answers too and
are replayed; server errors are not stored, so a retry can succeed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from soko.api.problems import STATUS_BY_CODE, Problem
from soko.errors import ErrorCode, SokoError
from soko.settings import local_now
from soko.store.tables import IdempotencyRecord, table_of

Answer = tuple[int, dict[str, Any]]


class _Refused(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


def fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def run_once(
    engine: Engine,
    key: str,
    request: dict[str, Any],
    action: Callable[[Connection], Answer],
) -> Answer:
    """Run ``action`` for ``key`` once, in one transaction with the record of its answer."""
    digest = fingerprint(request)
    for _ in range(5):
        try:
            with engine.begin() as conn:
                found = conn.execute(
                    select(
                        IdempotencyRecord.request_hash,
                        IdempotencyRecord.status_code,
                        IdempotencyRecord.body,
                    ).where(IdempotencyRecord.key == key)
                ).one_or_none()
                if found is not None:
                    if found.request_hash != digest:
                        raise SokoError(
                            ErrorCode.idempotency_key_reused,
                            "This idempotency key was used for a different request.",
                        )
                    return int(found.status_code), dict(found.body)
                try:
                    answer = action(conn)
                except SokoError as exc:
                    if exc.code == ErrorCode.idempotency_key_reused:
                        raise
                    status = STATUS_BY_CODE.get(exc.code, 400)
                    raise _Refused(
                        (status, Problem(status, exc.code, exc.message).to_json())
                    ) from None
                _record(conn, key, digest, answer)
                return answer
        except _Refused as refused:
            try:
                with engine.begin() as conn:
                    _record(conn, key, digest, refused.answer)
            except IntegrityError:
                continue  # a concurrent request with this key answered first: replay it
            return refused.answer
        except IntegrityError:
            continue
    raise SokoError(ErrorCode.internal_error, "The request could not be recorded; retry it.")


def _record(conn: Connection, key: str, digest: str, answer: Answer) -> None:
    conn.execute(
        table_of(IdempotencyRecord)
        .insert()
        .values(
            key=key,
            request_hash=digest,
            status_code=answer[0],
            body=answer[1],
            created_at=local_now(),
        )
    )
