"""`milimo resolve …`: the DaVinci Resolve script (docs/resolve.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from milimo import resolve_install
from milimo.cli_common import console, fail
from milimo.errors import MilimoError

resolve_app = typer.Typer(help="DaVinci Resolve: the Milimo script.", no_args_is_help=True)


@resolve_app.command("install")
def install(
    python: Annotated[
        Path | None,
        typer.Option("--python", help="the Python that Resolve runs (default: python3 on PATH)"),
    ] = None,
    scripts_dir: Annotated[
        Path | None,
        typer.Option("--scripts-dir", help="Resolve's Scripts folder (default: the per-user one of this OS)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be installed where, and stop")] = False,
) -> None:
    """Put Milimo in Workspace > Scripts > Utility and its client library into Resolve's Python."""
    try:
        plan = resolve_install.plan(python, scripts_dir)
        for line in resolve_install.describe(plan):
            say(line)
        if dry_run:
            say("dry run: nothing was changed")
            return
        resolve_install.install(plan, lambda step: say(f"→ {step}"))
    except MilimoError as error:
        fail(str(error))
    say(
        "installed: restart Resolve (or open Workspace > Scripts once) and choose Workspace > Scripts > Utility > "
        "Milimo. Resolve 21.1 and later run Python scripts in Studio only."
    )


def say(line: str) -> None:
    """One line as it is: paths are neither wrapped nor read as markup."""
    console.print(line, soft_wrap=True, markup=False, highlight=False)
