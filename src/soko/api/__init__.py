"""The HTTP API under ``/api/v1``: routes parse, call a query or service, answer a model."""
