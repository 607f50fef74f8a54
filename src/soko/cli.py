"""The ``soko`` command line (Typer). Every command honours ``SOKO_DATABASE_URL``."""

from __future__ import annotations

import os
import secrets
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from soko.cli_customers import customers_app
from soko.cli_forecast import forecast_command
from soko.cli_plan import plan
from soko.cli_policy import policy_app
from soko.errors import ErrorCode, SokoError
from soko.settings import Settings
from soko.web.users_cli import users_app

app = typer.Typer(
    name="soko",
    help="Soko: one stock across every sales channel, and orders priced by customer value.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


class MappingName(StrEnum):
    soko = "soko"
    shopify = "shopify"
    online_retail = "online-retail"


class Preset(StrEnum):
    small = "small"
    medium = "medium"
    large = "large"


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to import.")],
    mapping: Annotated[
        MappingName | None,
        typer.Option(help="Force a column mapping instead of detecting it from the header."),
    ] = None,
) -> None:
    """Import files in one all-or-nothing transaction; errors list file, row and column."""
    from soko.data.importer import ImportFailed, import_paths

    settings = Settings()
    try:
        report = import_paths(
            settings, paths, mapping=mapping.value if mapping else None, progress=True
        )
    except ImportFailed as failure:
        for line in failure.lines():
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        err.print(f"Nothing was imported: {len(failure.errors)} error(s).", style="bold red")
        raise typer.Exit(1) from None
    report.print(out)


@app.command()
def generate(
    preset: Annotated[Preset, typer.Option(help="Size of the data set.")] = Preset.small,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 1,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write import files (and truth/) here instead of loading."),
    ] = None,
) -> None:
    """Make a realistic demo data set with its ground truth."""
    from soko.data.demo import generate_into_store, generate_to_files

    settings = Settings()
    if out_dir is not None:
        generate_to_files(preset.value, seed, out_dir, progress=True)
        out.print(f"Wrote the {preset.value} preset (seed {seed}) to {out_dir}")
    else:
        report = generate_into_store(settings, preset.value, seed, progress=True)
        report.print(out)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes; more use more cores under load.")
    ] = 1,
) -> None:
    """Serve the web app and the HTTP API."""
    import uvicorn

    from soko.store.db import make_engine, migrate
    from soko.web.app import create_app

    settings = Settings()
    migrate(make_engine(settings))
    out.print(f"Soko is at http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    else:  # each worker process builds its own app from the same environment
        if settings.secret_key is None:  # one key for all workers, or sessions break
            os.environ["SOKO_SECRET_KEY"] = secrets.token_urlsafe(32)
        uvicorn.run(
            "soko.web.app:app_from_env",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level="warning",
        )


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    preset: Annotated[Preset, typer.Option(help="Size of the demo data set.")] = Preset.medium,
) -> None:
    """Load the demo data set when the store is empty, then serve."""
    from soko.data.demo import generate_into_store, store_is_empty

    settings = Settings()
    if store_is_empty(settings):
        out.print(f"Loading the {preset.value} demo data set (one time)…")
        generate_into_store(settings, preset.value, 1, progress=True).print(out)
        plan()  # the Orders page opens on a computed plan
    serve(host=host, port=port, workers=1)


token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
ledger_app = typer.Typer(help="The stock ledger.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(ledger_app, name="ledger")
app.add_typer(customers_app, name="customers", help="Customer value: fit, report, export.")
app.add_typer(policy_app, name="policy", help="Inventory policies: the textbook calculator.")
app.add_typer(users_app, name="user", help="Web users and their roles.")
app.command("forecast")(forecast_command)
app.command("plan")(plan)


class ScopeName(StrEnum):
    read = "read"
    reserve = "reserve"
    adjust = "adjust"
    admin = "admin"


@token_app.command("create")
def token_create(
    scope: Annotated[list[ScopeName], typer.Option(help="A scope; repeat for several.")],
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from soko.api.auth import Scope, create_token
    from soko.store.db import make_engine, migrate

    engine = make_engine(Settings())
    migrate(engine)
    with engine.begin() as conn:
        token = create_token(conn, [Scope(s.value) for s in scope])
    out.print(f"Token with scopes {', '.join(s.value for s in scope)} (shown only now):")
    sys.stdout.write(token + "\n")


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Rebuild every balance from movements and reservations; name each that differs."""
    from soko.ledger.service import verify
    from soko.store.db import make_engine, migrate

    engine = make_engine(Settings())
    migrate(engine)
    with engine.connect() as conn:
        differences = verify(conn)
    if not differences:
        out.print("Ledger verified: every balance equals its movements and reservations.")
        return
    for d in differences:
        err.print(
            f"{d.sku} at {d.location}: on hand {d.on_hand} (movements say {d.rebuilt_on_hand}), "
            f"reserved {d.reserved} (reservations say {d.rebuilt_reserved})",
            markup=False,
        )
    err.print(f"{len(differences)} balance(s) differ from the ledger.", style="bold red")
    raise typer.Exit(1)


@ledger_app.command("expire")
def ledger_expire() -> None:
    """Expire every cart hold past its time and give its units back."""
    from soko.ledger.service import expire_due
    from soko.settings import local_now
    from soko.store.db import make_engine, migrate

    settings = Settings()
    engine = make_engine(settings)
    migrate(engine)
    with engine.begin() as conn:
        n = expire_due(conn, local_now(settings))
    out.print(f"{n} hold(s) expired.")


@app.command()
def contract() -> None:
    """Print the data contract (docs/data-contract.md) generated from the code's schema."""
    from soko.data.contract import render_markdown

    sys.stdout.write(render_markdown())


def main() -> None:
    """Entry point: a user never sees a stack trace, only what went wrong."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("Interrupted.")
        sys.exit(130)
    except Exception as exc:  # last line of defence: a user never sees a stack trace
        err.print(describe(exc), style="bold red", markup=False)
        sys.exit(2)


def describe(exc: BaseException) -> str:
    """A one-line message for a user, whatever the exception."""
    if isinstance(exc, SokoError):
        return f"{exc.message} ({exc.code})"
    from sqlalchemy.exc import OperationalError

    if isinstance(exc, OperationalError):
        return (
            "The store cannot be reached: check SOKO_DATABASE_URL or SOKO_DATA_DIR "
            f"({ErrorCode.store_unavailable}): {exc.orig}"
        )
    return f"Unexpected error ({ErrorCode.internal_error}): {type(exc).__name__}: {exc}"
