"""Error codes shared by the CLI, the API (problem JSON ``code``) and the UI."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """What went wrong, as a stable code integrators can branch on."""

    # import
    unreadable_file = "unreadable_file"
    unknown_format = "unknown_format"
    missing_column = "missing_column"
    unknown_column = "unknown_column"
    missing_value = "missing_value"
    invalid_value = "invalid_value"
    below_minimum = "below_minimum"
    unknown_reference = "unknown_reference"
    duplicate_key = "duplicate_key"
    # store and API
    store_unavailable = "store_unavailable"
    schema_outdated = "schema_outdated"
    bad_request = "bad_request"
    method_not_allowed = "method_not_allowed"
    not_found = "not_found"
    validation_error = "validation_error"
    internal_error = "internal_error"
    # ledger and reservations
    unknown_sku = "unknown_sku"
    unknown_location = "unknown_location"
    unknown_channel = "unknown_channel"
    invalid_quantity = "invalid_quantity"
    insufficient_stock = "insufficient_stock"
    negative_stock = "negative_stock"
    reservation_expired = "reservation_expired"
    reservation_closed = "reservation_closed"
    idempotency_key_reused = "idempotency_key_reused"
    # forecast inputs
    spike_tag_exists = "spike_tag_exists"
    sales_plan_overlaps = "sales_plan_overlaps"
    # authentication
    unauthorized = "unauthorized"
    forbidden = "forbidden"
    csrf_token_invalid = "csrf_token_invalid"


class SokoError(Exception):
    """An error a user can meet and act on; ``str()`` is the message shown to them."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
