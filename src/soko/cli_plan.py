"""``soko plan``: forecast → customer value → policy → purchase-order list, as one kept run."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

out = Console()
err = Console(stderr=True)


class TargetName(StrEnum):
    cycle = "cycle"
    fill = "fill"


def plan(
    target: Annotated[
        TargetName,
        typer.Option(help="Service level as cycle service level or fill rate."),
    ] = TargetName.cycle,
    holding_rate: Annotated[
        float, typer.Option(help="Annual holding cost as a share of unit cost.", min=0, max=5)
    ] = 0.25,
    markdown_share: Annotated[
        float,
        typer.Option(help="Share of the net price a seasonal unit fetches at season end.", min=0),
    ] = 0.3,
    as_of: Annotated[
        str | None,
        typer.Option(help="Plan as of this day (YYYY-MM-DD); default: the data's last day."),
    ] = None,
    customer_value: Annotated[
        bool,
        typer.Option(
            "--customer-value/--margin-only",
            help="Price a shortage with the customer value at risk, or by margin alone.",
        ),
    ] = True,
) -> None:
    """Run the plan: forecast, customer value, policy and the purchase-order list, kept as one
    versioned plan run; prints the list's totals per supplier."""
    from soko.planning.orders import plan_lines
    from soko.planning.run import STAGES, PlanSettings, run_plan
    from soko.settings import Settings
    from soko.store.db import make_engine, migrate

    day: dt.date | None = None
    if as_of is not None:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError:
            err.print(f"--as-of: {as_of!r} is not a date like 2026-10-31.", style="bold red")
            raise typer.Exit(2) from None
    settings = PlanSettings(
        target=target.value,
        holding_rate=holding_rate,
        markdown_share=markdown_share,
        customer_value=customer_value,
    )
    engine = make_engine(Settings())
    migrate(engine)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(STAGES[0], total=len(STAGES))

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        outcome = run_plan(engine, settings=settings, as_of=day, progress=progress)
        bar.update(task, description="done")
    with engine.connect() as conn:
        lines = plan_lines(conn, outcome.plan_run_id)
    table = Table(title=f"Plan run {outcome.plan_run_id} as of {outcome.as_of}")
    for name in ("supplier", "kind", "lines", "units", "value"):
        table.add_column(name, justify="right" if name in ("lines", "units", "value") else "left")
    totals: dict[tuple[str, str], list[float]] = {}
    for line in lines:
        if line.quantity <= 0:
            continue
        key = (line.supplier or "-", line.kind)
        acc = totals.setdefault(key, [0, 0, 0.0])
        acc[0] += 1
        acc[1] += line.quantity
        acc[2] += float(line.unit_cost or 0) * line.quantity
    for (supplier, kind), (n, units, value) in sorted(totals.items()):
        table.add_row(supplier, kind, f"{int(n):,}", f"{int(units):,}", f"{value:,.0f}")
    out.print(table)
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in outcome.timings.items())
    out.print(
        f"Plan run {outcome.plan_run_id}: {outcome.lines:,} lines to order, "
        f"{outcome.units:,} units, value {outcome.value:,.0f}. Stages: {stages}."
    )
