"""``soko forecast``: forecast every SKU's demand from the store and keep the run."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soko.settings import Settings

EXIT_BAD_INPUT = 2
out = Console()
err = Console(stderr=True)


def forecast_command(
    horizon: Annotated[int, typer.Option(help="Days to forecast.", min=1, max=730)] = 91,
    as_of: Annotated[
        str | None,
        typer.Option(help="First forecast day (YYYY-MM-DD); default the day after the last order."),
    ] = None,
    dask: Annotated[
        int, typer.Option(help="Run the model fits on a local Dask cluster of this many workers.")
    ] = 0,
    save: Annotated[bool, typer.Option(help="Keep the run in the store.")] = True,
) -> None:
    """Forecast daily demand per SKU and location, choose models by backtest, keep the run."""
    from soko.forecast.service import NoSalesHistory, demand_forecast, save_forecast
    from soko.store.db import make_engine

    start: dt.date | None = None
    if as_of:
        try:
            start = dt.date.fromisoformat(as_of)
        except ValueError:
            err.print(f"--as-of: {as_of!r} is not a date (YYYY-MM-DD)", style="bold red")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    engine = make_engine(Settings())
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not sys.stderr.isatty(),
    )
    task = progress.add_task("history", total=1)

    def report(stage: str, done: int, total: int) -> None:
        progress.update(task, description=stage, completed=done, total=max(total, 1))

    client = None
    try:
        with progress:
            if dask:
                from dask.distributed import Client, LocalCluster

                cluster = LocalCluster(n_workers=dask, threads_per_worker=1)  # type: ignore[no-untyped-call]
                client = Client(cluster)  # type: ignore[no-untyped-call]
            result = demand_forecast(
                engine,
                as_of=start,
                horizon_days=horizon,
                progress=report,
                partitions=dask * 2 if dask else None,
            )
    except NoSalesHistory as exc:
        err.print(str(exc), style="bold red")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    finally:
        if client is not None:
            client.close()  # type: ignore[no-untyped-call]
        engine.dispose()
    engine = make_engine(Settings())
    run_id = save_forecast(engine, result) if save else None
    engine.dispose()
    table = Table(title=f"Forecast from {result.as_of}, {horizon} days")
    table.add_column("model")
    table.add_column("SKUs", justify="right")
    for model, count in sorted(result.model_counts.items(), key=lambda kv: -kv[1]):
        table.add_row(model, str(count))
    out.print(table)
    s = result.summary

    def fmt(key: str) -> str:
        value = s.get(key)
        return f"{value:.3f}" if isinstance(value, float) else "–"

    out.print(
        f"backtest mean RMSSE {fmt('scaled_error')} (naive {fmt('naive')}, seasonal naive "
        f"{fmt('seasonal_naive')}); 80 % interval coverage {fmt('coverage_80')}; scaled "
        f"pinball {fmt('scaled_pinball')}; censored SKU-days "
        f"{int(result.series['censored_days'].sum())}"
    )
    if isinstance(s.get("price_elasticity"), float):
        out.print(
            f"own-price elasticity {s['price_elasticity']:.2f}, measured from "
            f"{s['price_moves']} list-price moves"
        )
    if run_id is not None:
        out.print(f"forecast run {run_id} saved")
