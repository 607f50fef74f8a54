"""``soko policy``: replenishment policy tools; ``calc`` solves one textbook case."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

policy_app = typer.Typer(
    name="policy",
    help="Replenishment policy: textbook calculator (newsvendor, base stock, EOQ, (r,Q), (s,S)).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

EXIT_BAD_INPUT = 2


@policy_app.callback()
def policy() -> None:
    """Replenishment policy tools."""  # a callback keeps `calc` a subcommand


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(EXIT_BAD_INPUT)


@policy_app.command("calc")
def calc(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSON file with one object; standard input when absent or '-'.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Solve one textbook inventory case and print the answer as one JSON object.

    The input object has ``model`` (newsvendor, base_stock, eoq, rq, ss),
    ``demand`` ({"dist": "normal", "mean": m, "sd": s} or {"dist": "poisson",
    "mean": m}, per period), ``lead_time`` in periods, ``holding_cost`` and
    ``stockout_cost`` per unit per period, ``fixed_cost`` per order, and
    ``annual_demand`` for eoq. Conventions of Snyder & Shen, Fundamentals of
    Supply Chain Theory (2nd ed.): expected cost per period, purchase cost
    excluded, backorders.
    """
    from soko.policy.textbook import CalculatorInputError, calculate

    source = "standard input" if file is None or str(file) == "-" else str(file)
    try:
        text = sys.stdin.read() if source == "standard input" else Path(source).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"Cannot read {source}: {exc}") from None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"{source}: not one JSON object ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    try:
        answer = calculate(request)
    except CalculatorInputError as exc:
        raise _fail(f"{source}: {exc}") from None
    except (ArithmeticError, RuntimeError, TypeError, ValueError) as exc:
        # Valid but numerically extreme input (e.g. overflow); say so, never a traceback.
        raise _fail(f"{source}: cannot solve this case numerically ({exc})") from None
    typer.echo(json.dumps(answer, allow_nan=False))
