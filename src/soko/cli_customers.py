"""``soko customers``: fit the customer models, report customer value, export segments."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soko.settings import Settings

if TYPE_CHECKING:  # the models import SciPy: loaded only when a command runs
    from soko.insight.customer_value import CustomerData, CustomerModels

customers_app = typer.Typer(
    name="customers",
    help="Customer value: RFM segments, BG/NBD + Gamma-Gamma CLV, each SKU's LTV exposure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class Encoding(StrEnum):
    utf8 = "utf-8"
    cp932 = "cp932"


def _load_and_fit(*, show_progress: bool) -> tuple[CustomerData, CustomerModels]:
    """(CustomerData, CustomerModels) from the configured store; exit 1 with a message if empty."""
    from soko.insight.customer_value import fit_customer_models, load_customer_data
    from soko.store.db import make_engine, migrate

    settings = Settings()
    engine = make_engine(settings)
    stages = [
        "reading orders",
        "summarising customers",
        "fitting BG/NBD",
        "estimating stockout meetings",
        "fitting BG/NBD with stockout lapses",
        "fitting Gamma-Gamma",
    ]
    progress = Progress(
        TextColumn("{task.description:<36}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        disable=not show_progress,
    )
    try:
        migrate(engine)
        with progress:
            task = progress.add_task(stages[0], total=len(stages))
            data = load_customer_data(engine)

            def step(label: str) -> None:
                progress.update(task, description=label, advance=1)

            models = fit_customer_models(data, step=step)
            progress.update(task, description="done", completed=len(stages))
    except ValueError as exc:
        err.print(f"Cannot fit customer models: {exc}", style="bold red", markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    return data, models


@customers_app.command("fit")
def fit() -> None:
    """Fit BG/NBD and Gamma-Gamma on the store's orders and print their parameters."""
    _, fitted = _load_and_fit(show_progress=True)
    b, g = fitted.bgnbd, fitted.gamma_gamma
    table = Table(title=f"Customer models, data to {fitted.as_of} (time unit: day)")
    table.add_column("model")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for name, value in (("r", b.r), ("alpha", b.alpha), ("a", b.a), ("b", b.b)):
        table.add_row("BG/NBD", name, f"{value:,.4f}")
    table.add_row("BG/NBD", "log-likelihood", f"{b.log_likelihood:,.2f}")
    table.add_row("BG/NBD", "mean purchase rate r/α per day", f"{b.r / b.alpha:.5f}")
    table.add_row("BG/NBD", "mean dropout a/(a+b), all causes", f"{b.a / (b.a + b.b):.4f}")
    n, churn = fitted.natural, fitted.churn
    if n is not None and churn is not None:
        model = "BG/NBD, stockouts apart"
        for name, value in (("r", n.r), ("alpha", n.alpha), ("a", n.a), ("b", n.b)):
            table.add_row(model, name, f"{value:,.4f}")
        table.add_row(model, "mean purchase rate r/α per day", f"{n.r / n.alpha:.5f}")
        table.add_row(model, "mean dropout a/(a+b), natural", f"{churn.natural_dropout:.4f}")
        table.add_row("Stockouts", "P(lapse | stockout met)", f"{churn.p_lapse:.3f}")
        table.add_row("Stockouts", "purchases meeting a stockout", f"{churn.meets_stockout:.1%}")
        table.add_row("Stockouts", "lapse per repeat purchase", f"{churn.lapse_hazard:.4f}")
        table.add_row("Stockouts", "customers lost (expected)", f"{churn.customers_lost:,.0f}")
        table.add_row(
            "Stockouts",
            "of them to stockouts",
            f"{churn.customers_lost_to_stockouts:,.0f} ({churn.share_from_stockouts:.1%})",
        )
    else:
        table.add_row("Stockouts", "lapse model", "not fitted (no restock notices or stock)")
    for name, value in (("p", g.p), ("q", g.q), ("gamma", g.gamma)):
        table.add_row("Gamma-Gamma", name, f"{value:,.4f}")
    table.add_row("Gamma-Gamma", "mean spend pγ/(q−1)", f"{g.population_mean_spend():,.0f}")
    table.add_row("", "customers", f"{b.n_customers:,.0f}")
    table.add_row("", "margin share used for CLV", f"{fitted.margin:.3f}")
    out.print(table)
    if not (b.converged and g.converged and (n is None or n.converged)):
        err.print("Warning: an optimiser stopped before converging.", style="yellow")


@customers_app.command("report")
def report(
    top: Annotated[int, typer.Option(min=1, help="How many SKUs to list by LTV at stake.")] = 10,
) -> None:
    """Segments, repeat rate, AOV, P(lapse | stockout), the share of churn from stockouts and
    the SKUs with the most LTV at stake."""
    from soko.insight.customer_value import customer_report

    data, models = _load_and_fit(show_progress=False)
    result = customer_report(data, models, top=top)

    metrics = result.metrics.row(0, named=True)
    out.print(
        f"Customers {metrics['customers']:,}  transactions {metrics['transactions']:,}  "
        f"repeat rate {metrics['repeat_rate']:.1%}  AOV {metrics['average_order_value']:,.0f}  "
        f"purchase frequency {metrics['purchase_frequency']:.2f}  (data to {data.as_of})"
    )
    segments = Table(title="RFM segments")
    segments.add_column("segment")
    segments.add_column("customers", justify="right")
    segments.add_column("revenue", justify="right")
    for row in result.segments.iter_rows(named=True):
        segments.add_row(str(row["segment"]), f"{row['customers']:,}", f"{row['revenue']:,.0f}")
    out.print(segments)

    lapse = Table(title="P(lapse | stockout met)")
    for column in ("proxy", "customers met", "estimate", "95 % interval"):
        lapse.add_column(column)
    for estimate in result.lapse.values():
        lapse.add_row(
            estimate.proxy,
            f"{estimate.treated:,}",
            f"{estimate.p_lapse:.3f}",
            f"{estimate.low:.3f} – {estimate.high:.3f}",
        )
    out.print(lapse)
    churn = models.churn
    if churn is not None:
        out.print(
            f"Churn per repeat purchase: dropout, all causes {churn.dropout_all_causes:.3f}; "
            f"natural dropout {churn.natural_dropout:.3f}; stockout lapse "
            f"{churn.lapse_hazard:.3f} ({churn.meets_stockout:.1%} of purchases meet a stockout). "
            f"Customers lost {churn.customers_lost:,.0f}, of them to stockouts "
            f"{churn.customers_lost_to_stockouts:,.0f} ({churn.share_from_stockouts:.1%})."
        )

    skus = Table(title=f"Top {top} SKUs by LTV at stake (P(lapse) × residual CLV of buyers)")
    skus.add_column("SKU", no_wrap=True)  # a code cut short is a code a planner cannot use
    for column in ("customers", "residual CLV", "P(lapse)", "proxy", "LTV at stake"):
        skus.add_column(column, justify="right" if column != "proxy" else "left")
    skus.add_column("gateway")
    for row in result.top_skus.iter_rows(named=True):
        skus.add_row(
            row["sku"],
            f"{row['customers']:,}",
            f"{row['residual_clv_total']:,.0f}",
            f"{row['p_lapse']:.2f}",
            row["proxy"],
            f"{row['ltv_at_stake']:,.0f}",
            "yes" if row["gateway"] else "",
        )
    out.print(skus)


@customers_app.command("export")
def export(
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    encoding: Annotated[
        Encoding, typer.Option(help="utf-8, or cp932 (Shift_JIS) for Excel in Japan.")
    ] = Encoding.utf8,
) -> None:
    """CSV of customers with RFM segment, CLV and the SKUs they wait for (open restock notices)."""
    from soko.insight.customer_value import segment_export

    data, models = _load_and_fit(show_progress=False)
    frame = segment_export(data, models)
    text = frame.write_csv()
    try:
        payload = text.encode(encoding.value)
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end]
        err.print(
            f"Cannot write {out_file} as {encoding.value}: the text {bad!r} has no "
            f"{encoding.value} code; use --encoding utf-8.",
            style="bold red",
            markup=False,
        )
        raise typer.Exit(1) from None
    try:
        out_file.write_bytes(payload)
    except OSError as exc:
        err.print(f"Cannot write {out_file}: {exc.strerror}", style="bold red", markup=False)
        raise typer.Exit(1) from None
    out.print(f"Wrote {frame.height:,} customers to {out_file} ({encoding.value}).")
