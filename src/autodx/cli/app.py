"""The typer app and its root options (``--version``); commands register on it."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import __version__
from .edge import Group

app = typer.Typer(
    cls=Group,
    name="autodx",
    help="Exact derivatives of expressions, by automatic differentiation on JAX.\n\n"
         "Example: autodx grad \"x**3+2*x**2-3*x+1\" --order 3 --at 1",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"autodx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Show the version and exit.")] = None) -> None:
    """Exact derivatives of expressions, by automatic differentiation on JAX.

    Example: autodx grad "x**3+2*x**2-3*x+1" --order 3 --at 1
    """
