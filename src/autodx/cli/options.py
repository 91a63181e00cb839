"""The options the commands share, declared once (typer ``Annotated`` types), and the
choices as ``str`` enums."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Annotated, List, Optional

import typer
import typer.core


class Precision(str, enum.Enum):
    """Float width of the arithmetic."""

    f64 = "64"
    f32 = "32"


class Device(str, enum.Enum):
    """--device (:mod:`autodx.device` decides; imported only when a command runs)."""

    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


def use_device(choice: Device, count: Optional[str] = None) -> None:
    """Hand the command's --device and --devices (all, N, or None for one) to the
    executor; --devices is checked here, before any work."""
    from .. import device

    device.ask(choice.value)
    device.ask_devices(count)


class Format(str, enum.Enum):
    """How results are written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    plain = "plain"


@dataclass(frozen=True)
class Sink:
    """Where and how the results go: --format, --out, --digits."""

    fmt: Format = Format.table
    out: Optional[str] = None
    digits: Optional[int] = None

    def __post_init__(self):
        if self.digits is not None and not 1 <= self.digits <= 17:
            from ..errors import InputError

            raise InputError(f"--digits {self.digits}: give 1 to 17 significant digits "
                             "(17 is every digit a float64 has)")

    @property
    def text(self) -> bool:
        return writes_text(self.fmt, self.out)

    def holding(self):
        """While computing a result held whole (every format but streamed CSV): its rows
        and numbers are bounded (:class:`autodx.limits.Hold`), lower where every number
        becomes text (JSON, plain) than where they stay arrays (a table, .npy, .npz, CSV
        beside --check or --symbolic)."""
        from ..limits import Hold, holding

        if self.out is not None:
            json_out = self.out.lower().endswith(".json")
            return holding(Hold(f"--out {self.out}", "json" if json_out else "arrays"))
        kind = {Format.json: "json", Format.plain: "text"}.get(self.fmt, "arrays")
        return holding(Hold("a table" if self.fmt is Format.table else
                            f"--format {self.fmt.value}", kind))


def writes_text(fmt: Format, out: Optional[str]) -> bool:
    """Whether the output can hold text beside the numbers (symbolic derivatives): a
    table or JSON on stdout, or a .json file."""
    if out:
        return out.lower().endswith(".json")
    return fmt in (Format.table, Format.json)


class ExprCommand(typer.core.TyperCommand):
    """A command whose EXPR may begin with '-' ("-x*h", "-x**2").

    Options are ``--words`` and the registered short flags (``-h``, ``-n``, ``-o``,
    ``-f``, a value attached in the form it must take: ``-n3``, ``-fjson``,
    ``-oout.csv``); any other token that begins with a single '-' is EXPR, and is handed
    to click after ``--`` so that it is never read as a cluster of short flags
    (``-x*h`` held ``-h``, and printed the help). ``--`` itself ends the options.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        finally:  # --device holds for this command only (the warm engine runs many)
            import sys

            if "autodx.device" in sys.modules:
                sys.modules["autodx.device"].ask("auto")
                sys.modules["autodx.device"].ask_devices(None)

    def parse_args(self, ctx, args):
        valued = {o for p in self.params if isinstance(p, typer.core.TyperOption)
                  and not p.is_flag and not p.count for o in p.opts + p.secondary_opts}
        shorts = {o for p in self.params for o in p.opts + p.secondary_opts
                  if len(o) == 2 and o[0] == "-" and o[1] != "-"} | {"-h"}
        kept, exprs, i = [], [], 0
        while i < len(args):
            token = args[i]
            if token == "--":
                kept += args[i:]
                break
            if token in valued and i + 1 < len(args):  # an option and its value
                kept += [token, args[i + 1]]
                i += 2
                continue
            if token.startswith("-") and not token.startswith("--") and len(token) > 1 \
                    and token not in shorts and not _ATTACHED.fullmatch(token):
                exprs.append(token)
            else:
                kept.append(token)
            i += 1
        if exprs:
            kept += exprs if "--" in kept else ["--", *exprs]
        try:
            rest = super().parse_args(ctx, kept)
        except typer.BadParameter.__mro__[1] as e:  # click's UsageError
            e.ctx = ctx  # the parser raises some without it: name this command in hints
            raise
        source = ctx.get_parameter_source("fmt")
        if ctx.params.get("out") and source is not None and source.name == "COMMANDLINE":
            raise typer.BadParameter.__mro__[1](
                "--format and --out: a file's format comes from its name (r.csv is CSV, "
                "r.json JSON, .npy/.npz arrays); drop --format, or drop --out to write to "
                "stdout", ctx=ctx)
        return rest


_ATTACHED = re.compile(r"-n\d+|-f(?:table|json|csv|plain)|-o[\w./-]+\.(?:json|csv|npy|npz)",
                       re.IGNORECASE)


Expr = Annotated[str, typer.Argument(
    help="The expression, e.g. \"x**3 + 2*x**2\" or \"dot(x, x)\". It may begin with "
         "'-' (\"-x*h\"): only --words and -h, -n, -o, -f are options; -- ends them.",
    metavar="EXPR", show_default=False)]
At = Annotated[Optional[List[str]], typer.Option(
    "--at", metavar="POINT", show_default=False,
    help="A point: 1.5, [1,2,3], x=1,y=2 or theta=[0.1,0],r=1; a range x=0:1:11 "
         "(start:stop:count, ends included) gives many points, two ranges their grid. "
         "Repeat for more points.")]
Wrt = Annotated[Optional[List[str]], typer.Option(
    "--wrt", metavar="VARS", show_default=False,
    help="Variables (or entries like z[0]) to differentiate in, comma-separated or "
         "repeated, in the order the results list them (default: all, in natural name "
         "order: x2 before x10).")]
Fmt = Annotated[Format, typer.Option(
    "--format", "-f", help="How results are written to stdout.", case_sensitive=False)]
Digits = Annotated[Optional[int], typer.Option(
    "--digits", metavar="N", show_default=False,
    help="Significant digits of the numbers in table and plain output (default 12, or "
         "6 at --precision 32); JSON and CSV always carry every digit.")]
Prec = Annotated[Precision, typer.Option(
    "--precision", help="float64 (64) or float32 (32) arithmetic.")]
Defs = Annotated[Optional[List[str]], typer.Option(
    "--def", metavar="\"NAME(ARGS) = BODY\"", show_default=False,
    help="Define a helper function usable in EXPR; repeatable.")]
Out = Annotated[Optional[str], typer.Option(
    "--out", "-o", metavar="FILE", show_default=False,
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
SYMBOLIC_TIMEOUT = 10.0  # seconds: the default of --symbolic-timeout
Dev = Annotated[Device, typer.Option(
    "--device", case_sensitive=False,
    help="Where the arithmetic runs: auto (default) puts points and small batches on the "
         "CPU and only large batches on a GPU, where one is installed and gains; cpu or "
         "gpu to insist.")]
Devs = Annotated[Optional[str], typer.Option(
    "--devices", metavar="all|N", show_default=False,
    help="Split each batch's rows over all (or N) local devices of the kind --device "
         "chose, each running the one-device program on its share: the results are one "
         "device's, bit for bit. Default: one device.")]
Distributed = Annotated[bool, typer.Option(
    "--distributed",
    help="Join a JAX distributed job (AUTODX_COORDINATOR, AUTODX_NUM_PROCESSES and "
         "AUTODX_PROCESS_ID, or a launcher JAX detects, such as SLURM): each process "
         "computes its share of the --data rows, and process 0 writes --out, the same as "
         "one process would (see docs/scale.md).")]
