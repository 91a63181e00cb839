"""One small function per command: parse the options, hand over to the API (and to the
``--symbolic``/``--check`` session), and write what comes back."""
from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from ..errors import InputError, Status
from ..result import Command
from .app import app
from .edge import stderr
from .options import (SYMBOLIC_TIMEOUT, At, Check, Data, Defs, Dev, Device, Devs, Digits,
                      Distributed, Expr, ExprCommand, Fmt, Format, Out, Prec, Precision,
                      Sink, SymTimeout, Symbolic, Wrt, use_device)
from .output import Progress, check_stdout, emit, emit_formulas, streamed, streams


def _prepare(expr: str, defs, out: Optional[str], data: Optional[str] = None,
             expression=None):
    from .. import api, outfile

    check_stdout(out)
    outfile.check_out(out, data)
    return api, (expression or api.expression)(expr, defs or ())


def _derivatives(command: Command, compute, expr: str, defs, at, data, wrt, sink: Sink,
                 symbolic: bool, check: bool, timeout: float, expression=None,
                 distributed: bool = False, **formula_options) -> None:
    """What grad, hessian, jvp-partial and jacobian share: the formulas alone (--symbolic
    without a point), or ``compute(api, expression, progress)`` with the
    --symbolic/--check session beside it. ``expression(text, defs)`` parses (default:
    :func:`autodx.api.expression`). A callable option (the --hvp vector) is read only on
    the path that needs it. With ``distributed``, this process's share of the rows
    (``compute(..., rows=plan)``), merged by process 0 (:mod:`autodx.cli.job`)."""
    if distributed:
        from .job import distribute

        distribute(compute, expr, defs, at, data, sink,
                   {"--symbolic": symbolic, "--check": check}, expression)
        return
    from ..check.session import Session, formulas

    fmt, out = sink.fmt, sink.out
    if symbolic and not (check or at or data):
        from .. import outfile
        from ..check.verdict import check_timeout

        check_timeout(timeout)
        outfile.check_out(out, data)
        if not sink.text and (out or fmt is not Format.plain):
            raise InputError("--symbolic without a point gives formulas, not numbers: use "
                             "--format table, json or plain, or --out FILE.json (or add "
                             "--at)")
        options = {k: v() if callable(v) else v for k, v in formula_options.items()}
        emit_formulas(formulas(command, expr, defs, wrt, timeout, **options), sink)
        return
    if symbolic and not sink.text:
        raise InputError("--symbolic adds text to the results: use --format table or json, "
                         "or --out FILE.json")
    with Session(symbolic, check, timeout) as session:
        api, e = _prepare(expr, defs, out, data, expression)
        if streams(sink, symbolic, check):  # CSV: written as the rows are computed
            with Progress() as progress:
                streamed(lambda stream: compute(api, e, progress, stream), sink)
            return
        with Progress() as progress, sink.holding():
            result = compute(api, e, progress)
        session.finish(result, e.text, list(defs or ()))
    emit(result, sink)
    if check:
        from ..check.verdict import summary_line

        stderr(summary_line(result))
        if result.check_summary["disagrees"]:
            raise typer.Exit(Status.CHECK)


@app.command("grad", cls=ExprCommand)
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
    digits: Digits = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = SYMBOLIC_TIMEOUT,
    device: Dev = Device.auto,
    devices: Devs = None,
    distributed: Distributed = False,
) -> None:
    """Derivatives of orders 1..N of a scalar expression.

    One variable: each derivative is a number. Several variables, or a vector: the gradient, the Hessian, and higher derivative tensors over the differentiated coordinates (x, y, z[0], z[1], ... in name order); the table shows each distinct partial once, JSON the full tensor. Along one variable every order uses Taylor mode, so order 50 costs about what order 3 does.

    Examples:

    \b
      autodx grad "x**3+2*x**2-3*x+1" --order 4 --at 1
      autodx grad "x*y**2 + sin(z[0])" --order 2 --at "x=1,y=2,z=[0.5,1]"
      autodx grad "L(w - 0.1*diff(L(w), w))" --def "L(u) = (u*a - 1)**2" --wrt w --at w=0.3,a=2
      autodx grad "sin(x)*exp(x)" --order 50 --at 0.5 --format plain
      autodx grad "x**2 * y" --data points.csv --format csv
      autodx grad "x**3*y" --order 2 --symbolic
      autodx grad "atan2(y, x)" --order 3 --at x=1,y=2 --check
    """
    p = int(precision.value)
    use_device(device, devices)

    def compute(api, e, progress, stream=None, rows=None):
        api.check_order(order, p)
        rows = api.plan(e, at or [], data) if rows is None else rows
        return api.grad_rows(e, rows, order, wrt, p, progress, stream,
                             **({"noise_from": 1} if check else {}))
    _derivatives(Command.grad, compute, expr, defs, at, data, wrt, Sink(fmt, out, digits),
                 symbolic, check, symbolic_timeout, distributed=distributed, order=order)


@app.command("hessian", cls=ExprCommand)
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
    digits: Digits = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = SYMBOLIC_TIMEOUT,
    device: Dev = Device.auto,
    devices: Devs = None,
    distributed: Distributed = False,
) -> None:
    """The Hessian matrix of a scalar expression, or a Hessian-vector product.

    The Hessian is forward over reverse mode (the Jacobian of the gradient), over the differentiated coordinates (--wrt, default all). --hvp computes H v as a forward-mode derivative of the gradient in the direction v: its cost is a few gradients, whatever the dimension, so it works where the n x n matrix would not fit in memory.

    Examples:

    \b
      autodx hessian "dot(x, x)" --at "[1,2,3]"
      autodx hessian "x**2*y + y**3" --at x=1,y=2 --format json
      autodx hessian "sum(exp(x))" --at "[0,1,2]" --hvp "[1,0,0]"
      autodx hessian "x*y" --data points.csv --out hessians.npy
      autodx hessian "x**2*y + y**3" --at x=1,y=2 --check --symbolic
    """
    p = int(precision.value)
    use_device(device, devices)

    def vector():
        from ..vectors import read_vector

        return read_vector(hvp, "--hvp") if hvp is not None else None

    def compute(api, e, progress, stream=None, rows=None):
        rows = api.plan(e, at or [], data) if rows is None else rows
        return api.hessian_rows(e, rows, wrt, vector(), p, progress, stream)
    _derivatives(Command.hessian, compute, expr, defs, at, data, wrt, Sink(fmt, out, digits),
                 symbolic, check, symbolic_timeout, distributed=distributed, hvp=vector)


@app.command("jvp-partial", cls=ExprCommand)
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
    digits: Digits = None,
    symbolic: Symbolic = False,
    check: Check = False,
    symbolic_timeout: SymTimeout = SYMBOLIC_TIMEOUT,
    device: Dev = Device.auto,
    devices: Devs = None,
    distributed: Distributed = False,
) -> None:
    """One mixed partial derivative, without computing any other.

    --indices 0,2,4 is d3f / dx0 dx2 dx4 over the flattened differentiated coordinates. It is computed by nested forward-mode products (jvp) with one-hot tangents: the cost is 2^k evaluations of f for k indices, and no derivative tensor is ever formed. Over --data it is evaluated for every row in one vectorised, compiled program.

    Examples:

    \b
      autodx jvp-partial "prod(x)" --indices 0,2,4 --at "[1,2,3,4,5]"
      autodx jvp-partial "x**2*y**3" --indices x,y,y --at x=1,y=2
      autodx jvp-partial "prod(x)" --indices 0,2,4 --data points.npy --out d3.npy
      autodx jvp-partial "x**2*y**3" --indices x,y,y --symbolic --format plain
    """
    p = int(precision.value)
    use_device(device, devices)

    def compute(api, e, progress, stream=None, rows=None):
        rows = api.plan(e, at or [], data) if rows is None else rows
        return api.jvp_partial_rows(e, rows, indices, wrt, p, progress, stream)
    _derivatives(Command.jvp_partial, compute, expr, defs, at, data, wrt, Sink(fmt, out, digits),
                 symbolic, check, symbolic_timeout, distributed=distributed, indices=indices)


@app.command("perex", cls=ExprCommand)
def cli_perex(
    expr: Expr,
    wrt: Annotated[List[str], typer.Option(
        "--wrt", metavar="PARAMS", show_default=False,
        help="The parameters, comma-separated or repeated: shared by every example, "
             "given by --at; the gradient lists them in this order.")],
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
    digits: Digits = None,
    device: Dev = Device.auto,
    devices: Devs = None,
    distributed: Distributed = False,
) -> None:
    """Per-example gradients: the gradient in the parameters for every row of the data.

    The parameters (--wrt, values from --at) are shared; the other variables come from each row of --data. All rows go through one jit-compiled vmap of grad (parameters in_axes=None, data in_axes=0), in chunks, so a million rows is one compile.

    Examples:

    \b
      autodx perex "(stop_gradient(r + dot(theta, s)) - dot(theta, p))**2" --wrt theta --at "theta=[0.1,-0.1,0],r=1" --data batch.npz
      autodx perex "(w*x - y)**2" --wrt w --at w=0.5 --data xy.csv --out grads.npy --timing
    """
    p = int(precision.value)
    use_device(device, devices)
    sink = Sink(fmt, out, digits)
    if not data:
        raise InputError("perex needs --data FILE: the examples, one per row")
    if distributed:
        from .job import distribute

        distribute(lambda api, e, progress, rows: api.perex_rows(
            e, rows, wrt, p, progress, keep_inputs=sink.text), expr, defs, at, data, sink,
            {"--timing": timing})
        return
    api, e = _prepare(expr, defs, out, data)
    if streams(sink) and not timing:  # CSV: written as the rows are computed
        with Progress() as progress:
            streamed(lambda stream: api.perex_rows(
                e, api.plan(e, at or [], data), wrt, p, progress, keep_inputs=False,
                stream=stream), sink)
        return
    with Progress() as progress, sink.holding():  # inputs shown in tables and JSON only
        result = api.perex_rows(e, api.plan(e, at or [], data), wrt, p, progress, timing,
                                keep_inputs=sink.text)
    if timing:
        stderr(_timing_line(result.timing))
    emit(result, sink)


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
