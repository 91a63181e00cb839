"""``autodx jacobian``: the Jacobian matrix of a list of expressions (or of one
vector-valued expression)."""
from __future__ import annotations

from .app import app
from .commands import _derivatives
from ..result import Command
from .options import (SYMBOLIC_TIMEOUT, At, Check, Data, Defs, Dev, Device, Devs, Digits,
                      Distributed, Expr, ExprCommand, Fmt, Format, Out, Prec, Precision,
                      Sink, SymTimeout, Symbolic, Wrt, use_device)


@app.command("jacobian", cls=ExprCommand)
def cli_jacobian(
    expr: Expr,
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
    """The Jacobian matrix of a list of expressions: one row per expression, one column per coordinate.

    EXPR is a list "[E1, E2, ...]", a --def helper whose body is such a list (called as the whole expression), or one expression whose value is a vector (exp(v) for a vector v). The Jacobian is computed by forward mode (one pass per coordinate) when there are no more coordinates than outputs, else by reverse mode (one pass per output), for every point in one compiled program. JSON gives "value" (the outputs) and "jacobian" (nested lists, outputs x coordinates); --format plain one matrix row a line.

    Examples:

    \b
      autodx jacobian "[x*y, sin(x), x + y**2]" --at x=1,y=2
      autodx jacobian "[r*cos(t), r*sin(t)]" --at r=2,t=pi/6 --check
      autodx jacobian "F(x, y)" --def "F(a, b) = [a*b, exp(a - b)]" --at x=1,y=1
      autodx jacobian "exp(v)" --at "v=[0,1,2]" --format plain
      autodx jacobian "[x*y, x/y]" --data points.csv --format csv
    """
    p = int(precision.value)
    use_device(device, devices)

    def compute(api, e, progress, stream=None, rows=None):
        from .. import jacobians

        rows = jacobians.plan(e, at or [], data) if rows is None else rows
        return jacobians.jacobian_rows(e, rows, wrt, p, progress, stream)

    def expression(text, defs):
        from .. import jacobians

        return jacobians.expression(text, defs)
    _derivatives(Command.jacobian, compute, expr, defs, at, data, wrt, Sink(fmt, out, digits),
                 symbolic, check, symbolic_timeout, expression=expression,
                 distributed=distributed)
