"""The typer app and its root options (``--version``); commands register on it.

Help is click's plain text (``rich_markup_mode=None``): conventional, readable in a
pipe, and it imports no rich, so ``autodx --help`` stays fast.
"""
from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from .. import __version__
from .edge import Group

app = typer.Typer(
    cls=Group,
    name="autodx",
    help="Exact derivatives of expressions, by automatic differentiation on JAX.\n\n"
         "Example: autodx grad \"x**3+2*x**2-3*x+1\" --order 3 --at 1",
    no_args_is_help=False,  # _root shows the help itself, on stdout, exit 0
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Distributions that give JAX an accelerator (its plugins, and the older CUDA jaxlibs)
_PLUGIN = re.compile(r"^(jax[-_]?(cuda|rocm|metal|tpu)\w*|jax[-_]plugins?\b.*|libtpu\w*|"
                     r"jaxlib[-_](cuda|rocm)\w*)", re.IGNORECASE)


def version_lines(verbose: bool = False) -> list[str]:
    """What a bug report needs, from package metadata (no JAX import); ``verbose``
    imports JAX to name the devices it finds."""
    import platform
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"
    plugins = sorted({f"{d.metadata['Name']} {d.version}" for d in metadata.distributions()
                      if d.metadata["Name"] and _PLUGIN.match(d.metadata["Name"])})
    lines = [f"autodx {__version__}", f"jax {version('jax')}", f"jaxlib {version('jaxlib')}",
             f"python {platform.python_version()} ({platform.python_implementation()}, "
             f"{platform.system()} {platform.machine()})",
             f"accelerator plugins: {', '.join(plugins) or 'none'}"]
    if verbose:
        from .._jax import jax

        devices = ", ".join(f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip()
                            for d in jax.devices())
        lines.append(f"devices: {devices} (default backend: {jax.default_backend()})")
    return lines


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context,
          version: Annotated[Optional[bool], typer.Option(
              "--version", help="Show the versions of autodx, JAX, jaxlib, Python and the "
                                "accelerator plugins, and exit.")] = None,
          verbose: Annotated[bool, typer.Option(
              "--verbose", help="With --version: also the devices JAX finds (imports "
                                "JAX).")] = False) -> None:
    """Exact derivatives of expressions, by automatic differentiation on JAX.

    Example: autodx grad "x**3+2*x**2-3*x+1" --order 3 --at 1
    """
    if version:
        print("\n".join(version_lines(verbose)))
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit()
