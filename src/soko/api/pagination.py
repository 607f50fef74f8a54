"""Cursor paging by code: a cursor is the last code of the previous page, made opaque.

Opaque so clients pass it back as is instead of building it, which leaves us
free to change what it holds (e.g. add a sort key) without breaking them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Query

from soko.errors import ErrorCode, SokoError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500

CursorParam = Annotated[
    str | None,
    Query(
        description="`next_cursor` of the previous page; leave out for the first page.",
        min_length=2,
        max_length=400,
        pattern=r"^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$",
    ),
]
LimitParam = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page, at most 500.")]


def encode_cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The code to continue after; a cursor we did not issue is a 422 naming ``cursor``."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        code = raw.decode("utf-8", errors="replace")
    except (binascii.Error, UnicodeError, ValueError):
        code = ""
    if not code:
        raise SokoError(
            ErrorCode.validation_error,
            "cursor: not a cursor from this API; pass next_cursor of the previous page as is.",
        )
    return code


def next_cursor(codes: list[str], limit: int) -> str | None:
    """The cursor after ``codes`` when a page was full (the query fetched ``limit + 1``)."""
    return encode_cursor(codes[limit - 1]) if len(codes) > limit else None
