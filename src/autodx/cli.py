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
from .errors import AutodxError, InputError, Status


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
            with _warnings_as_lines():
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
        except (typer.Abort, KeyboardInterrupt):
            _stderr("error: interrupted")
            sys.exit(130)
        except BrokenPipeError:  # `autodx ... | head -1`: the reader has what it wanted
            sys.stderr = open(os.devnull, "w")
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except Exception as e:  # an internal failure: a bug of autodx, not the user's
            if debug:
                raise
            if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e):
                _stderr("error: out of memory: the work does not fit in this machine; "
                        "differentiate fewer variables (--wrt), use --hvp or jvp-partial "
                        "instead of full tensors, or split --data into parts")
                sys.exit(Status.USAGE)
            _stderr(f"error: internal error: {type(e).__name__}: {_one_line(str(e))} "
                    "(run with AUTODX_DEBUG=1 for the traceback, and please report it)")
            sys.exit(Status.INTERNAL)
        sys.exit(code or 0)


class _warnings_as_lines:
    """Python warnings raised by a command (JAX's compile-cache errors among them)
    become ``warning:`` lines on stderr, once each, instead of multi-line reports."""

    def __enter__(self):
        import warnings

        self.context = warnings.catch_warnings(record=True)
        self.caught = self.context.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self.context.__exit__(*exc)
        seen = set()
        for w in self.caught:
            line = _one_line(str(w.message))
            if line not in seen:
                seen.add(line)
                _stderr(f"warning: {line}")
        return False


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
Data = Annotated[Optional[str], typer.Option(
    "--data", metavar="FILE", show_default=False,
    help="Many points, one per row: .csv (header x,y or x[0],x[1]), .npy, .npz, or - "
         "for CSV on stdin. Variables not in the file come from --at.")]
Symbolic = Annotated[bool, typer.Option(
    "--symbolic", help="Show each result's symbolic derivative (sympy, from the parsed "
                       "expression) beside its number: a column of the table, strings in "
                       "JSON. Without --at or --data: the symbolic derivatives alone.")]
Check = Annotated[bool, typer.Option(
    "--check", help="Verify every number against the symbolic derivative evaluated at 50 "
                    "digits (mpmath) and a Richardson finite difference with an error bound; "
                    "exit status 3 if one disagrees. At most 1,000 points.")]
SymTimeout = Annotated[float, typer.Option(
    "--symbolic-timeout", metavar="SECONDS",
    help="Time limit for sympy in --symbolic and --check; when it runs out the numbers "
         "are shown without it.")]
_COMMAND = {"ignore_unknown_options": True}  # an EXPR may start with '-': "-x**2"


class _Progress:
    """A rich progress bar on stderr, shown only on a terminal and only once the work
    has taken more than half a second."""

    def __init__(self):
        import time

        self.clock = time.perf_counter
        self.start = self.clock()
        self.bar = None
        self.task = None
        self.enabled = sys.stderr.isatty() and os.environ.get("CI", "") == ""

    def __call__(self, rows: int, total: Optional[int]) -> None:
        if not self.enabled:
            return
        if self.bar is None and self.clock() - self.start > 0.5:
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("rows", total=total)
        if self.bar is not None:
            self.bar.update(self.task, advance=rows)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def _emit(result, fmt: Format, out: Optional[str], precision: int) -> None:
    """Write the finished results: to --out atomically, or to stdout in one piece."""
    from . import outfile, render

    for w in (render.nonfinite_warnings(result) + render.noise_warnings(result)
              + result.extra.get("notes", [])):
        _stderr(f"warning: {w}")
    if out:
        outfile.write_out(out, lambda: render.document(result), lambda: render.csv_rows(result),
                          lambda: render.arrays(result), render.main_array(result))
        _stderr(f"wrote {result.rows.count} result{'s' if result.rows.count != 1 else ''} "
                f"to {out}")
        return
    if fmt is Format.json:
        import json

        sys.stdout.write(json.dumps(render.document(result), indent=2, allow_nan=False) + "\n")
    elif fmt is Format.csv:
        import csv

        csv.writer(sys.stdout, lineterminator="\n").writerows(render.csv_rows(result))
    elif fmt is Format.plain:
        sys.stdout.write("".join(line + "\n" for line in render.plain(result, precision)))
    else:
        from rich.console import Console

        Console(highlight=False, markup=False).print(render.table(result, precision))


def _derivatives(command: str, compute, expr: str, defs, at, data, wrt, fmt: Format,
                 out: Optional[str], precision: int, symbolic: bool, check: bool,
                 timeout: float, **formula_options) -> None:
    """What grad, hessian and jvp-partial share: the formulas alone (--symbolic without
    a point), or ``compute(api, expression, progress)`` with the symbolic worker running
    beside it for --symbolic and --check. A callable option (the --hvp vector) is read
    only on the path that needs it."""
    if symbolic and not (check or at or data):
        options = {k: v() if callable(v) else v for k, v in formula_options.items()}
        return _formulas(fmt, out, timeout, command, expr, defs, wrt, **options)
    with _trust(symbolic, check, timeout, fmt, out) as worker:
        api, e = _prepare(expr, defs, out)
        with _Progress() as progress:
            result = compute(api, e, progress)
        _finish(result, e, worker, symbolic, check, timeout, fmt, out, precision)


def _formulas(fmt: Format, out: Optional[str], timeout: float, command: str, expr: str,
              defs, wrt, **options) -> None:
    """--symbolic without --at or --data: the symbolic derivatives alone, without JAX."""
    from . import outfile, render, trust

    trust.check_timeout(timeout)
    outfile.check_out(out)
    if fmt is Format.csv and not out or out and not out.lower().endswith(".json"):
        raise InputError("--symbolic without a point gives formulas, not numbers: use "
                         "--format table, json or plain, or --out FILE.json (or add --at)")
    result, request = trust.formulas(command, expr, defs or (), wrt, **options)
    with trust.Worker() as worker:
        reply = worker.ask(request, timeout)
    if reply is None:
        raise InputError(f"sympy did not finish within {timeout:g} s: raise "
                         "--symbolic-timeout, or add --at for the numbers alone")
    if "error" in reply:
        raise InputError(f"no symbolic derivative: {reply['error']}")
    result.extra["symbolic"] = reply["symbolic"]
    if out:
        outfile.write_out(out, lambda: render.document(result), None, None, "")
        _stderr(f"wrote the symbolic derivatives to {out}")
    elif fmt is Format.json:
        import json

        sys.stdout.write(json.dumps(render.document(result), indent=2) + "\n")
    elif fmt is Format.plain:
        sys.stdout.write("".join(line + "\n" for line in render.formula_lines(result)))
    else:
        from rich.console import Console

        Console(highlight=False, markup=False).print(render.formula_table(result))


def _trust(symbolic: bool, check: bool, timeout: float, fmt: Format, out: Optional[str]):
    """The symbolic worker for --symbolic or --check, started at once so that importing
    sympy overlaps JAX's work; a do-nothing context otherwise."""
    import contextlib

    if not (symbolic or check):
        return contextlib.nullcontext()
    from . import trust

    trust.check_timeout(timeout)
    if symbolic and (fmt in (Format.csv, Format.plain) and not out or
                     out and not out.lower().endswith(".json")):
        raise InputError("--symbolic adds text to the results: use --format table or json, "
                         "or --out FILE.json")
    return trust.Worker()


def _finish(result, e, worker, symbolic: bool, check: bool, timeout: float, fmt: Format,
            out: Optional[str], precision: int) -> None:
    """Ask the worker (if any), write the results, and say how the check went."""
    if worker is None:
        _emit(result, fmt, out, precision)
        return
    from . import trust

    reply = worker.ask(trust.request(result, e, check, precision, symbolic), timeout)
    result.extra["notes"] = trust.attach(result, reply, check, symbolic, timeout, precision)
    _emit(result, fmt, out, precision)
    if check:
        _stderr(trust.summary_line(result))
        if result.extra["check_summary"]["disagrees"]:
            raise typer.Exit(Status.CHECK)


def _prepare(expr: str, defs, out: Optional[str]):
    from . import api, outfile

    outfile.check_out(out)
    return api, api.expression(expr, defs or ())


# ---------------------------------------------------------------- commands

@app.command("grad", context_settings=_COMMAND)
def cli_grad(
    expr: Expr,
    order: Annotated[int, typer.Option("--order", "-n", metavar="N",
                                       help="Compute derivatives of orders 1..N.")] = 1,
    at: At = None,
    data: Data = None,
    wrt: Wrt = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = 10.0,
) -> None:
    """Derivatives of orders 1..N of a scalar expression.

    One variable: each derivative is a number. Several variables, or a vector: the gradient, the Hessian, and higher derivative tensors over the differentiated coordinates (x, y, z[0], z[1], ... in name order); the table shows each distinct partial once, JSON the full tensor. Along one variable every order uses Taylor mode, so order 50 costs about what order 3 does.

    [bold]Examples[/bold]

      autodx grad "x**3+2*x**2-3*x+1" --order 4 --at 1

      autodx grad "x*y**2 + sin(z[0])" --order 2 --at "x=1,y=2,z=[0.5,1]"

      autodx grad "L(w - 0.1*diff(L(w), w))" --def "L(u) = (u*a - 1)**2" --wrt w --at w=0.3,a=2

      autodx grad "sin(x)*exp(x)" --order 50 --at 0.5 --format plain

      autodx grad "x**2 * y" --data points.csv --format csv

      autodx grad "x**3*y" --order 2 --symbolic

      autodx grad "atan2(y, x)" --order 3 --at x=1,y=2 --check
    """
    p = int(precision.value)

    def compute(api, e, progress):
        api.check_order(order, p)
        return api.grad_rows(e, api.plan(e, at or [], data), order, wrt, p, progress)
    _derivatives("grad", compute, expr, defs, at, data, wrt, fmt, out, p, symbolic, check,
                 symbolic_timeout, order=order)


@app.command("hessian", context_settings=_COMMAND)
def cli_hessian(
    expr: Expr,
    at: At = None,
    data: Data = None,
    wrt: Wrt = None,
    hvp: Annotated[Optional[str], typer.Option(
        "--hvp", metavar="VECTOR", show_default=False,
        help="Compute the Hessian-vector product H v instead of H, without forming H: "
             "[1,0,2], or a .npy/.csv/.txt file holding the vector.")] = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = 10.0,
) -> None:
    """The Hessian matrix of a scalar expression, or a Hessian-vector product.

    The Hessian is forward over reverse mode (the Jacobian of the gradient), over the differentiated coordinates (--wrt, default all). --hvp computes H v as a forward-mode derivative of the gradient in the direction v: its cost is a few gradients, whatever the dimension, so it works where the n x n matrix would not fit in memory.

    [bold]Examples[/bold]

      autodx hessian "dot(x, x)" --at "[1,2,3]"

      autodx hessian "x**2*y + y**3" --at x=1,y=2 --format json

      autodx hessian "sum(exp(x))" --at "[0,1,2]" --hvp "[1,0,0]"

      autodx hessian "x*y" --data points.csv --out hessians.npy

      autodx hessian "x**2*y + y**3" --at x=1,y=2 --check --symbolic
    """
    from . import data as datamod

    p = int(precision.value)

    def vector():
        return datamod.read_vector(hvp, "--hvp") if hvp is not None else None

    def compute(api, e, progress):
        return api.hessian_rows(e, api.plan(e, at or [], data), wrt, vector(), p, progress)
    _derivatives("hessian", compute, expr, defs, at, data, wrt, fmt, out, p, symbolic, check,
                 symbolic_timeout, hvp=vector)


@app.command("jvp-partial", context_settings=_COMMAND)
def cli_jvp_partial(
    expr: Expr,
    indices: Annotated[str, typer.Option(
        "--indices", metavar="I,J,...", show_default=False,
        help="The coordinates of the partial: positions (0,2,4) in the flat coordinates, "
             "or names (x,y,y or \"z[1],z[3]\"); repeats allowed.")],
    at: At = None,
    data: Data = None,
    wrt: Wrt = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = 10.0,
) -> None:
    """One mixed partial derivative, without computing any other.

    --indices 0,2,4 is d3f / dx0 dx2 dx4 over the flattened differentiated coordinates. It is computed by nested forward-mode products (jvp) with one-hot tangents: the cost is 2^k evaluations of f for k indices, and no derivative tensor is ever formed. Over --data it is evaluated for every row in one vectorised, compiled program.

    [bold]Examples[/bold]

      autodx jvp-partial "prod(x)" --indices 0,2,4 --at "[1,2,3,4,5]"

      autodx jvp-partial "x**2*y**3" --indices x,y,y --at x=1,y=2

      autodx jvp-partial "prod(x)" --indices 0,2,4 --data points.npy --out d3.npy

      autodx jvp-partial "x**2*y**3" --indices x,y,y --symbolic --format plain
    """
    p = int(precision.value)

    def compute(api, e, progress):
        return api.jvp_partial_rows(e, api.plan(e, at or [], data), indices, wrt, p, progress)
    _derivatives("jvp-partial", compute, expr, defs, at, data, wrt, fmt, out, p, symbolic,
                 check, symbolic_timeout, indices=indices)


@app.command("perex", context_settings=_COMMAND)
def cli_perex(
    expr: Expr,
    wrt: Annotated[str, typer.Option(
        "--wrt", metavar="PARAMS", show_default=False,
        help="The parameters, comma-separated: shared by every example, given by --at.")],
    at: At = None,
    data: Annotated[str, typer.Option(
        "--data", metavar="FILE", show_default=False,
        help="The examples, one per row: .csv, .npy, .npz, or - for CSV on stdin.")] = "",
    timing: Annotated[bool, typer.Option(
        "--timing", help="Report compile time, time per example, and the same without jit "
                         "(on stderr, and in JSON).")] = False,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
) -> None:
    """Per-example gradients: the gradient in the parameters for every row of the data.

    The parameters (--wrt, values from --at) are shared; the other variables come from each row of --data. All rows go through one jit-compiled vmap of grad (parameters in_axes=None, data in_axes=0), in chunks, so a million rows is one compile.

    [bold]Examples[/bold]

      autodx perex "(stop_gradient(r + dot(theta, s)) - dot(theta, p))**2" --wrt theta --at "theta=[0.1,-0.1,0],r=1" --data batch.npz

      autodx perex "(w*x - y)**2" --wrt w --at w=0.5 --data xy.csv --out grads.npy --timing
    """
    p = int(precision.value)
    if not data:
        raise InputError("perex needs --data FILE: the examples, one per row")
    api, e = _prepare(expr, defs, out)
    keep = fmt in (Format.table, Format.json) and not (out and not out.endswith(".json"))
    with _Progress() as progress:
        result = api.perex_rows(e, api.plan(e, at or [], data), wrt, p, progress, timing,
                                keep_inputs=keep)
    if timing:
        _stderr(_timing_line(result.extra["timing"]))
    _emit(result, fmt, out, p)


def _timing_line(t: dict) -> str:
    compile_s = t["trace"] + t["lower"] + t["compile"]
    speedup = t["nojit_per_row"] / t["per_row"] if t["per_row"] > 0 else float("inf")
    return (f"timing: compile {compile_s * 1e3:.1f} ms (trace {t['trace'] * 1e3:.1f}, lower "
            f"{t['lower'] * 1e3:.1f}, XLA {t['compile'] * 1e3:.1f}); jit+vmap "
            f"{_us(t['per_row'])} per example over {t['rows']} rows; without jit "
            f"{_us(t['nojit_per_row'])} per example (first {t['nojit_rows']} rows): "
            f"{speedup:,.0f}x")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g} us" if seconds < 1e-3 else f"{seconds * 1e3:.3g} ms"


def main() -> None:
    """The ``autodx`` console script."""
    app()
