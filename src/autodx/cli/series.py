"""``autodx series``: the Taylor polynomial around a point, as coefficients and as text
that autodx reads back."""
from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import InputError
from .app import app
from .edge import stderr
from .options import Defs, Digits, Expr, ExprCommand, Fmt, Format, Out, Prec, Precision, Wrt
from .output import Progress, check_stdout


@app.command("series", cls=ExprCommand)
def cli_series(
    expr: Expr,
    at: Annotated[str, typer.Option(
        "--at", metavar="POINT", show_default=False,
        help="The point to expand around: 0.5, or x=0.5,y=1, or z=[0,1].")],
    order: Annotated[int, typer.Option("--order", "-n", metavar="N",
                                       help="The degree of the polynomial.")] = 3,
    wrt: Wrt = None,
    fmt: Fmt = Format.table,
    precision: Prec = Precision.f64,
    defs: Defs = None,
    out: Out = None,
    digits: Digits = None,
) -> None:
    """The Taylor polynomial of EXPR around a point, up to degree N.

    One variable: the coefficients f^(k)(x0)/k!. Several variables (or a vector): every term of total degree at most N, from the derivative tensors. The polynomial is printed in autodx's own language, every number in full, so it can be pasted back: --format plain prints just that line. Variables not in --wrt stay fixed at their --at values.

    Examples:

    \b
      autodx series "exp(x)" --at 0 --order 4
      autodx series "sin(x)*y" --at x=0,y=2 --order 3 --wrt x,y
      autodx series "log(1 + x)" --at 0.5 --order 5 --format plain
    """
    from .. import api, outfile, polynomial, render

    check_stdout(out)
    outfile.check_out(out)
    if out and fmt is not Format.table:
        raise InputError("--format and --out: a file's format comes from its name; drop "
                         "--format")
    p = int(precision.value)
    e = api.expression(expr, defs or ())
    with Progress() as progress:
        result = api.grad_rows(e, api.plan(e, [at]), order, wrt, p, progress)
    for w in render.warnings_of(result):
        stderr(f"warning: {w}")
    terms = polynomial.terms(result)
    line = polynomial.text(result)
    doc = {"command": "series", "expression": expr, "coordinates": result.coordinates,
           "at": result.rows.point(0), "order": order,
           "terms": [{"powers": dict(zip(result.coordinates, t.powers)), "degree": t.degree,
                      "coefficient": render.to_jsonable(t.coefficient)} for t in terms],
           "polynomial": line, "warnings": [], "schema": 1}
    header = [f"power of {c}" for c in result.coordinates] + ["degree", "coefficient"]
    rows = [[str(q) for q in t.powers] + [str(t.degree), render.exact(t.coefficient)]
            for t in terms]
    if out:
        _write(out, doc, header, rows, terms)
        stderr(f"wrote the Taylor polynomial to {out}")
    elif fmt is Format.plain:
        sys.stdout.write(line + "\n")
    elif fmt is Format.json:
        import json

        sys.stdout.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    elif fmt is Format.csv:
        sys.stdout.write("".join(",".join(r) + "\n" for r in [header] + rows))
    else:
        _table(result, terms, line, digits)


def _write(out: str, doc: dict, header: list, rows: list, terms: list) -> None:
    import numpy as np

    from .. import outfile

    def arrays():
        return {"coefficients": np.array([t.coefficient for t in terms]),
                "powers": np.array([t.powers for t in terms])}
    outfile.write_out(out, lambda: doc,
                      lambda: iter(["".join(",".join(r) + "\n" for r in [header] + rows)]),
                      arrays, "coefficients")


def _table(result, terms, line: str, digits: Optional[int]) -> None:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from .. import polynomial, render
    from .output import print_table

    def build(width):
        at = render.point_text(result.rows.point(0), result.precision, digits)
        t = Table(show_edge=False)
        t.add_column("term", style="bold", overflow="fold")
        t.add_column("degree", justify="right", no_wrap=True)
        t.add_column("coefficient", justify="right", no_wrap=True, overflow="fold")
        for term in terms:
            t.add_row(polynomial.monomial(result, term), str(term.degree),
                      render.number(term.coefficient, result.precision, digits))
        return Group(Text(f"Taylor polynomial of f = {result.expression} at {at}"), t,
                     Text(f"polynomial: {line}", overflow="fold"))
    print_table(build)
