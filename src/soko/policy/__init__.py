"""Replenishment policy: the pure core (numpy/scipy only; no store, no HTTP, no CLI)."""

from soko.policy.textbook import CalculatorInputError, calculate

__all__ = ["CalculatorInputError", "calculate"]
