"""Soko: one stock across every sales channel, and orders priced by customer value."""

__version__ = "0.1.0"
