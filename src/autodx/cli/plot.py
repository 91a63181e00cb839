"""``autodx plot``: f and its derivatives over a range, as a text plot on the terminal or
an image (or the numbers behind it) with --out."""
from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from ..errors import InputError
from .app import app
from .edge import stderr
from .options import Defs, Dev, Device, Devs, Expr, ExprCommand, Prec, Precision, use_device
from .output import Progress, check_stdout, table_width


@app.command("plot", cls=ExprCommand)
def cli_plot(
    expr: Expr,
    span: Annotated[str, typer.Option(
        "--range", metavar="A:B", show_default=False,
        help="The interval of the plotted variable, e.g. -2:2.")],
    order: Annotated[int, typer.Option("--order", "-n", metavar="N",
                                       help="Plot f and its derivatives up to order N.")] = 2,
    points: Annotated[int, typer.Option("--points", metavar="K",
                                        help="Samples over the range.")] = 400,
    at: Annotated[Optional[str], typer.Option(
        "--at", metavar="POINT", show_default=False,
        help="Values of the variables that are not plotted: a=2,b=[1,2].")] = None,
    wrt: Annotated[Optional[str], typer.Option(
        "--wrt", metavar="VAR", show_default=False,
        help="The plotted variable (default: the one --at does not give).")] = None,
    out: Annotated[Optional[str], typer.Option(
        "--out", "-o", metavar="FILE", show_default=False,
        help="An image (.png, .svg, .pdf; needs matplotlib) or the numbers behind the plot "
             "(.csv, .json, .npy).")] = None,
    size: Annotated[str, typer.Option("--size", metavar="WxH",
                                      help="Image size in pixels.")] = "800x500",
    precision: Prec = Precision.f64,
    defs: Defs = None,
    device: Dev = Device.auto,
    devices: Devs = None,
) -> None:
    """Plot f and its derivatives up to order N over a range.

    All the samples go through one vectorised program (Taylor mode along the plotted variable). On a terminal the plot is text, one panel per curve on its own scale; --out writes an image (title, legend, grid, colour-blind-safe colours) or the numbers. Poles and domain edges leave gaps, with a warning.

    Examples:

    \b
      autodx plot "sin(x)*exp(-x/4)" --order 2 --range 0:10
      autodx plot "tanh(a*x)" --range -3:3 --at a=2 --out tanh.png --size 900x500
      autodx plot "1/x" --order 1 --range -1:1 --out curve.csv
    """
    from .. import api, data, outfile, plot

    use_device(device, devices)
    check_stdout(out or "image")  # the text plot needs stdout; a file does not
    lo, hi = plot.parse_range(span)
    plot.check_points(points)
    w, h = _size(size)
    suffix = os.path.splitext(out)[1].lower() if out else ""
    outfile.check_out(out, suffixes=plot.IMAGES + plot.NUMBERS)
    e = api.expression(expr, defs or ())
    given = {k: v for k, v in (data.parse_at(at) if at else {}).items()}
    ranged = [k for k, v in given.items() if isinstance(v, data.Range)]
    if ranged:  # plot's samples are --range and --points
        r, name = given[ranged[0]], ranged[0]
        raise InputError(f"--at {name + '=' if name else ''}{r}: plot samples the plotted "
                         f"variable over --range A:B with --points K (here "
                         f"{'--wrt ' + name + ' ' if name else ''}--range {r.start:g}:"
                         f"{r.stop:g} --points {r.count}), not over a range in --at; give "
                         "the other variables one value each")
    if None in given:
        raise InputError("--at: name the values of the variables that are not plotted "
                         "(a=2), the plotted one comes from --range")
    free = [v for v in e.variables if v not in given]
    var = wrt or (free[0] if len(free) == 1 else None)
    if var is None or var not in e.variables or var in given:
        raise InputError(f"plot: say which variable to plot with --wrt (the variables: "
                         f"{', '.join(e.variables)}), and give the others with --at")
    import numpy as np

    xs = np.linspace(lo, hi, points)
    plan = api.plan(e, [{**given, var: x} for x in xs])
    with Progress() as progress:
        result = api.grad_rows(e, plan, order, [var], int(precision.value), progress)
    curves = plot.Curves(expr, var, xs, np.stack(
        [np.asarray(result.values["value"], float)] +
        [np.asarray(result.values["derivatives"][k], float) for k in range(1, order + 1)]))
    for k, y in enumerate(curves.y):
        bad = ~np.isfinite(y)
        if bad.any():
            stderr(f"warning: {plot.name(k)} is not finite at {int(bad.sum())} of {points} "
                   f"points (first: {var}={xs[np.argmax(bad)]:.6g}): left as gaps")
    if not out:
        colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        sys.stdout.write("\n".join(plot.text(curves, table_width() or 80, colour)) + "\n")
    elif suffix in plot.IMAGES:
        outfile.write_atomic(out, lambda tmp: plot.image(curves, tmp, (w, h), suffix[1:]))
        stderr(f"wrote the plot to {out}")
    else:
        _numbers(curves, out)
        stderr(f"wrote {points} points to {out}")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size {text!r}: give WIDTHxHEIGHT in pixels, e.g. 800x500") \
            from None
    if not (50 <= w <= 10_000 and 50 <= h <= 10_000):
        raise InputError(f"--size {text}: each side from 50 to 10,000 pixels")
    return w, h


def _numbers(curves, out: str) -> None:
    import numpy as np

    from .. import csvout, outfile, render

    table = np.column_stack([curves.x, curves.y.T])

    def document():
        return {"command": "plot", "expression": curves.expression,
                "variable": curves.variable, "x": render.to_jsonable(curves.x, []),
                "curves": {n: render.to_jsonable(y, []) for n, y in zip(curves.names,
                                                                         curves.y)},
                "schema": 1}

    def text():
        yield ",".join([curves.variable] + curves.names) + "\n"
        yield csvout.csv_block(table + 0.0)
    outfile.write_out(out, document, text, lambda: {"plot": table}, "plot")
