"""``soko user …``: create the people who sign in to the web app.

Also runnable as ``python -m soko.web.users_cli`` (the browser tests do so).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from soko.errors import SokoError
from soko.settings import Settings
from soko.web.users import Role

users_app = typer.Typer(help="People who sign in to the web app.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@users_app.callback()
def users() -> None:
    """People who sign in to the web app (a group, so ``soko user create`` stays a subcommand)."""


@users_app.command("create")
def user_create(
    name: Annotated[str, typer.Option(help="The name to sign in with.")],
    role: Annotated[
        Role,
        typer.Option(
            help="viewer: reads; planner: + adjusts; store_staff: + reserves; admin: all."
        ),
    ],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="Asked for when left out; give it only in scripts.",
        ),
    ],
) -> None:
    """Create a user. Once a user exists, the web app asks everyone to sign in."""
    from soko.store.db import make_engine, migrate
    from soko.web.users import create_user

    engine = make_engine(Settings())
    migrate(engine)
    try:
        with engine.begin() as conn:
            create_user(conn, name, role, password)
    except SokoError as exc:
        err.print(f"{exc.message} ({exc.code})", style="bold red", markup=False)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    out.print(f"User {name} created with the {role.value} role.", markup=False)


if __name__ == "__main__":
    users_app(prog_name="soko user")
