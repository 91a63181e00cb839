"""The typer app: one small function per command, and the only place that knows about
exit codes and consoles. JAX is imported inside the commands, never at import time,
so ``autodx --help`` and ``autodx --version`` stay fast.
"""
from __future__ import annotations

import enum
import os
import sys
from typing import List, Optional

import typer
import typer.core
from typer import _click as click
from typing import Annotated

from . import __version__
from .errors import AutodxError, Status


class Precision(str, enum.Enum):
    """Float width of the arithmetic."""

    f64 = "64"
    f32 = "32"


class Format(str, enum.Enum):  # the same choices as render.Format, without importing it
    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


# ---------------------------------------------------------------- error edge

def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class _Group(typer.core.TyperGroup):
    """Maps every failure to one ``error:`` line and an exit status; no tracebacks
    unless ``AUTODX_DEBUG=1``."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        debug = os.environ.get("AUTODX_DEBUG", "") not in ("", "0")
        try:
            code = super().main(args, prog_name or "autodx", complete_var,
                                standalone_mode=False, **extra)
        except click.exceptions.UsageError as e:
            if debug:
                raise
            hint = f" (see: autodx {e.ctx.info_name if e.ctx and e.ctx.parent else ''} --help)"
            _stderr(f"error: {_one_line(e.format_message())}{hint.replace('  ', ' ')}")
            sys.exit(Status.USAGE)
        except AutodxError as e:
            if debug:
                raise
            _stderr(f"error: {_one_line(str(e))}")
            sys.exit(e.status)
        except click.exceptions.Abort:
            _stderr("error: interrupted")
            sys.exit(130)
        except Exception as e:  # an internal failure: a bug of autodx, not the user's
            if debug:
                raise
            _stderr(f"error: internal error: {type(e).__name__}: {_one_line(str(e))} "
                    "(run with AUTODX_DEBUG=1 for the traceback, and please report it)")
            sys.exit(Status.INTERNAL)
        sys.exit(code or 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


app = typer.Typer(
    cls=_Group,
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


# ---------------------------------------------------------------- shared options

Expr = Annotated[str, typer.Argument(
    help="The expression, e.g. \"x**3 + 2*x**2\" or \"dot(x, x)\".",
    show_default=False)]
At = Annotated[Optional[List[str]], typer.Option(
    "--at", metavar="POINT", show_default=False,
    help="A point: 1.5, [1,2,3], x=1,y=2 or theta=[0.1,0],r=1. Repeat for more points.")]
Wrt = Annotated[Optional[str], typer.Option(
    "--wrt", metavar="VARS", show_default=False,
    help="Variables to differentiate in, comma-separated (default: all).")]
Fmt = Annotated[Format, typer.Option(
    "--format", help="How results are written to stdout.", case_sensitive=False)]
Prec = Annotated[Precision, typer.Option(
    "--precision", help="float64 (64) or float32 (32) arithmetic.")]
Defs = Annotated[Optional[List[str]], typer.Option(
    "--def", metavar="\"NAME(ARGS) = BODY\"", show_default=False,
    help="Define a helper function usable in EXPR; repeatable.")]
Out = Annotated[Optional[str], typer.Option(
    "--out", metavar="FILE", show_default=False,
    help="Write the results to FILE (.json, .csv, .npy, .npz) instead of stdout.")]


def _emit(fmt: Format, out: Optional[str], precision: int, table, document: dict,
          rows: list, lines: list, arrays: dict, warnings: list[str]) -> None:
    """Write the finished results: to --out atomically, or to stdout in one piece."""
    from . import data

    for w in warnings:
        _stderr(f"warning: {w}")
    if out:
        data.write_out(out, document, rows, arrays)
        _stderr(f"wrote {out}")
        return
    if fmt is Format.json:
        import json

        sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
    elif fmt is Format.csv:
        import csv
        import io

        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        sys.stdout.write(buffer.getvalue())
    elif fmt is Format.plain:
        sys.stdout.write("".join(line + "\n" for line in lines))
    else:
        from rich.console import Console

        Console(highlight=False).print(table())


# ---------------------------------------------------------------- commands

@app.command("grad", context_settings={"ignore_unknown_options": True})
def cli_grad(
    expr: Expr,
    order: Annotated[int, typer.Option("--order", "-n", metavar="N",
                                       help="Compute derivatives of orders 1..N.")] = 1,
    at: At = None,
    wrt: Wrt = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
) -> None:
    """Derivatives of orders 1..N of a scalar expression.

    One variable: each derivative is a number. Several variables, or a vector: the gradient, the Hessian, and higher derivative tensors over the differentiated coordinates (x, y, z[0], z[1], ... in name order); the table shows each distinct partial once, JSON the full tensor. Along one variable every order uses Taylor mode, so order 50 costs about what order 3 does.

    [bold]Examples[/bold]

      autodx grad "x**3+2*x**2-3*x+1" --order 4 --at 1

      autodx grad "x*y**2 + sin(z[0])" --order 2 --at "x=1,y=2,z=[0.5,1]"

      autodx grad "L(w - 0.1*diff(L(w), w))" --def "L(u) = (u*a - 1)**2" --wrt w --at w=0.3,a=2

      autodx grad "sin(x)*exp(x)" --order 50 --at 0.5 --format plain
    """
    from . import api, data, render

    p = int(precision.value)
    data.check_out(out)
    api.check_order(order, p)
    expression = api.expression(expr, defs or ())
    wrt_names = wrt.split(",") if wrt is not None else None
    results = api.grad_points(expression, api.points(expression, at or []), order,
                              wrt_names, p)
    warnings = render.nonfinite_warnings(results)
    document = render.grad_json(expression.text, results, [])
    arrays = render.grad_arrays(results)
    if out and out.lower().endswith(".npy"):
        arrays = {f"d{order}": arrays[f"d{order}"]}
    _emit(fmt, out, p, lambda: render.grad_table(expression.text, results, p), document,
          render.grad_csv(results), render.grad_plain(results, p), arrays, warnings)


def main() -> None:
    """The ``autodx`` console script."""
    app()
