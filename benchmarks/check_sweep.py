"""--check over random expressions: how much it checks, and whether it cries wolf.

    python3 benchmarks/check_sweep.py [--examples 500] [--seed 2026] [--jobs 2]
                                      [--time-limit 120] [--symbolic-timeout 10]
                                      [--report FILE.json] [--again FILE.json] [--record]

Draws random expression trees over autodx's vocabulary (the property tests' functions,
each kept inside its domain on [-1, 1], diff() inside trees, plus the special
functions, max/min, abs and floor), each printed twice: as autodx text and as a sympy
expression, its twin. Half the commands get the template text, half sympy's own
``str()`` of the twin (what ``--symbolic`` prints, which autodx must read back). Each
example is one command, ``--check --format json`` at one or two random points in
[-1, 1]: ``grad`` of one variable at a random order from 1 to 30 (most), ``grad`` of two
variables to order 4, ``hessian`` of two variables, or ``jacobian`` of two
expressions. The commands run in ``--jobs`` worker processes, each running the CLI
in-process (JAX imported once), killed past ``--time-limit`` seconds (the command then
counts as timed out, and the worker is started again).

Every number's verdict is counted: ok (and against which references), disagrees, not
checkable (by reason). Every disagreement is settled by an oracle that shares nothing
with autodx: mpmath's own numerical differentiation (``mpmath.diff``) of the twin,
turned into an mpmath function by sympy's ``lambdify`` (the twin is our own, not user
text), at 50 and at 80 digits. It says who is wrong: autodx's float64 number (the check
was right), or the reference (a bug in check/). ``--record`` writes the summary into
docs/benchmarks.md under "The --check sweep", a section benchmarks/run.py keeps.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import random
import re
import select
import shlex
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import mpmath  # noqa: E402
import sympy as sp  # noqa: E402

import test_properties as props  # noqa: E402  (the generator and its sympy twin)

X, Y = props.X, props.Y

# the rest of the vocabulary: name -> (autodx template, sympy builder), inside domains
UNARY = {
    **props.UNARY,
    "erfc": ("erfc({})", sp.erfc),
    "erfinv": ("erfinv(tanh({})/2)", lambda a: sp.erfinv(sp.tanh(a) / 2)),
    "gamma": ("gamma(2 + sin({}))", lambda a: sp.gamma(2 + sp.sin(a))),
    "loggamma": ("loggamma(2 + ({})^2)", lambda a: sp.loggamma(2 + a ** 2)),
    "digamma": ("digamma(2 + cos({}))", lambda a: sp.polygamma(0, 2 + sp.cos(a))),
    "LambertW": ("LambertW(1 + ({})^2)", lambda a: sp.LambertW(1 + a ** 2)),
    "besselj": ("besselj(1, {})", lambda a: sp.besselj(1, a)),
    "besseli": ("besseli(0, {})", lambda a: sp.besseli(0, a)),
    "zeta": ("zeta(3 + ({})^2)", lambda a: sp.zeta(3 + a ** 2)),
    "sinc": ("sinc({})", sp.sinc),
    "expm1": ("expm1({})", lambda a: sp.exp(a) - 1),
    "log1p": ("log1p(({})^2)", lambda a: sp.log(1 + a ** 2)),
    "sech": ("sech({})", sp.sech),
    "rawabs": ("abs({})", sp.Abs),              # a kink wherever the argument is 0
    "floor": ("floor(3*({}))", lambda a: sp.floor(3 * a)),
}
BINARY = {
    **props.BINARY,
    "max": ("max({}, {})", sp.Max), "min": ("min({}, {})", sp.Min),
    "logaddexp": ("logaddexp({}, {})", lambda a, b: sp.log(sp.exp(a) + sp.exp(b))),
    "hypot": ("hypot({}, 1 + ({})^2)", lambda a, b: sp.sqrt(a ** 2 + (1 + b ** 2) ** 2)),
}
KINDS = [("grad", 0.7), ("grad2", 0.1), ("hessian", 0.1), ("jacobian", 0.1)]
NOTES = "<!-- notes on the run follow; check_sweep.py --record keeps them -->"


# ------------------------------------------------------------------ the examples

def _tree(rng: random.Random, leaves: int, names: tuple):
    """A random tree with about ``leaves`` leaves over the variables ``names``."""
    if leaves <= 1:
        return ("var", rng.choice(names)) if rng.random() < 0.75 else \
            ("num", rng.randint(-3, 3))
    if rng.random() < 0.5:
        return (rng.choice(sorted(UNARY)), _tree(rng, leaves - 1, names))
    split = rng.randint(1, leaves - 1)
    return (rng.choice(sorted(BINARY)), _tree(rng, split, names),
            _tree(rng, leaves - split, names))


def _render(tree) -> tuple[str, sp.Expr]:
    """(autodx text, sympy twin) of a tree."""
    if tree[0] == "var":
        return tree[1], {"x": X, "y": Y}[tree[1]]
    if tree[0] == "num":
        return f"({tree[1]})", sp.Integer(tree[1])
    if tree[0] in UNARY:
        template, build = UNARY[tree[0]]
        text, expr = _render(tree[1])
        return template.format(text), build(expr)
    template, build = BINARY[tree[0]]
    (ta, ea), (tb, eb) = _render(tree[1]), _render(tree[2])
    return template.format(ta, tb), build(ea, eb)


def _expression(rng: random.Random, names: tuple) -> tuple[str, sp.Expr]:
    """A random expression in every one of ``names``: template text or sympy's str()."""
    symbols = {"x": X, "y": Y}
    text, expr = _render(_tree(rng, rng.randint(2, 7), names))
    missing = [n for n in names if symbols[n] not in expr.free_symbols]
    if missing:  # every variable present, so the coordinates are known
        text = f"{text} + {'*'.join(missing)}"
        expr = expr + sp.Mul(*(symbols[n] for n in missing))
    if rng.random() < 0.5:  # sympy's printing of the twin, as --symbolic shows it
        text = str(expr)
    return text, expr


def _point(rng: random.Random, names: tuple) -> dict:
    return {n: round(rng.uniform(-1, 1), 3) for n in names}


def cases(n: int, seed: int) -> list[dict]:
    """n commands with their twins and points, reproducibly."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
        names = ("x",) if kind == "grad" else ("x", "y")
        points = [_point(rng, names) for _ in range(rng.choice((1, 1, 2)))]
        if kind == "jacobian":
            (t1, e1), (t2, e2) = _expression(rng, names), _expression(rng, names)
            argv, twins = ["jacobian", f"[{t1}, {t2}]"], [e1, e2]
        else:
            text, expr = _expression(rng, names)
            argv, twins = ["hessian" if kind == "hessian" else "grad", text], [expr]
            if kind != "hessian":
                argv += ["--order", str(rng.randint(1, 30) if kind == "grad" else
                                        rng.randint(1, 4))]
        for p in points:
            argv += ["--at", p["x"] if names == ("x",) else
                     ",".join(f"{k}={v}" for k, v in p.items())]
        out.append({"kind": kind, "argv": [str(a) for a in argv], "twins": twins,
                    "points": points, "names": names})
    return out


# ------------------------------------------------------------------ the workers

def serve(fd_in: int, fd_out: int) -> None:
    """A worker: JSON argv lines in, outcomes out; the CLI runs in-process."""
    from typer.testing import CliRunner

    from autodx.cli import app

    reader, writer = os.fdopen(fd_in, "r"), os.fdopen(fd_out, "w")
    CliRunner().invoke(app, ["grad", "x**2", "--at", "1", "--check"])  # warm up
    writer.write("ready\n")
    writer.flush()
    for line in reader:
        start = time.perf_counter()
        r = CliRunner().invoke(app, json.loads(line))
        writer.write(json.dumps({"code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr,
                                 "seconds": time.perf_counter() - start}) + "\n")
        writer.flush()


class Worker:
    """A serving process, killed past the time limit of a command and started again."""

    def __init__(self, env: dict):
        self.env, self.proc = env, None

    def start(self) -> None:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve", str(r1), str(w2)],
            pass_fds=(r1, w2), env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
        os.close(r1)
        os.close(w2)
        self.to, self.back = os.fdopen(w1, "w"), os.fdopen(r2, "r")
        if self.back.readline().strip() != "ready":
            raise RuntimeError("the sweep's worker did not start")

    def run(self, argv: list[str], limit: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        start = time.perf_counter()
        self.to.write(json.dumps(argv) + "\n")
        self.to.flush()
        ready, _, _ = select.select([self.back], [], [], limit)
        line = self.back.readline() if ready else ""
        if not line:
            self.stop()
            return {"code": None, "seconds": time.perf_counter() - start,
                    "stderr": "killed at the time limit" if not ready else "the worker died"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def run_all(todo: list[dict], args) -> list[dict]:
    """Every case through the workers, ``args.jobs`` at a time; outcomes in order."""
    cache = tempfile.mkdtemp(prefix="autodx-sweep-cache-")
    env = dict(os.environ, AUTODX_SERVER="off", AUTODX_CACHE_DIR=cache,
               PYTHONPATH=os.path.join(ROOT, "src"))
    outcomes: list = [None] * len(todo)
    queue = list(range(len(todo)))
    lock = threading.Lock()
    start = time.time()

    def work():
        worker = Worker(env)
        while True:
            with lock:
                if not queue:
                    break
                i = queue.pop(0)
            argv = todo[i]["argv"] + ["--check", "--format", "json", "--symbolic-timeout",
                                      str(args.symbolic_timeout)]
            outcomes[i] = worker.run(argv, args.time_limit)
            with lock:
                done = sum(o is not None for o in outcomes)
                if done % 25 == 0:
                    print(f"{done} of {len(todo)} commands, {time.time() - start:.0f} s",
                          flush=True)
        worker.stop()
    threads = [threading.Thread(target=work) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    subprocess.run(["rm", "-rf", cache], check=False)
    return outcomes


# ------------------------------------------------------------------ the oracle

_LABEL = re.compile(r"^d?(\d*)f(?:\[(\d+)\])?(?:/(.*))?$")


def _partial(label: str) -> tuple[int, dict]:
    """(output index, variable -> order) of an entry label: ``d3f/dx^2 dy``, ``f[1]``."""
    m = _LABEL.match(label)
    counts: dict = {}
    for part in (m.group(3) or "").split():
        name, _, power = part[1:].partition("^")
        counts[name] = counts.get(name, 0) + int(power or 1)
    return int(m.group(2) or 0), counts


def oracle(case: dict, point: dict, label: str, digits: int) -> float | None:
    """The entry's value by mpmath.diff of the twin at ``digits``; None where mpmath
    cannot say (it raised)."""
    output, counts = _partial(label)
    names = case["names"]
    symbols = [{"x": X, "y": Y}[n] for n in names]
    fn = sp.lambdify(symbols, case["twins"][output], "mpmath")
    with mpmath.workdps(digits):
        at = [mpmath.mpf(point[n]) for n in names]
        orders = [counts.get(n, 0) for n in names]
        try:
            value = mpmath.diff(fn, at, orders) if any(orders) else fn(*at)
            return float(mpmath.re(value))
        except Exception:  # noqa: BLE001
            return None


def settle(case: dict, point: dict, c: dict, warned: bool) -> dict:
    """Who is wrong in a disagreement: autodx, the reference, or neither (the judge)."""
    truth, again = oracle(case, point, c["entry"], 50), oracle(case, point, c["entry"], 80)
    item = {"entry": c["entry"], "value": c["value"], "exact": c["exact"], "fd": c["fd"],
            "fd_bound": c["fd_bound"], "oracle": truth, "why": c["why"],
            "rounding warning": warned}
    # a derivative that is 0 comes out of mpmath.diff as noise near 1e-80: absolute floor
    if truth is None or again is None or abs(truth - again) > 1e-12 * abs(truth) + 1e-20:
        item["settled"] = "unsettled: the oracle is not stable"
        return item
    autodx_ok = abs(c["value"] - truth) <= 1e-8 * abs(truth) + 1e-12
    refs = [r for r in (c["exact"], c["fd"]) if r is not None]
    refs_ok = all(abs(r - truth) <= 1e-10 * abs(truth) + (c["fd_bound"] or 0) + 1e-14
                  for r in refs)
    item["settled"] = ("reference wrong" if autodx_ok else "both wrong") if not refs_ok else \
        ("judge too strict: autodx agrees with the oracle" if autodx_ok else
         "autodx inaccurate, the check is right" + (
             " (autodx warned of rounding noise)" if warned else " (no warning from autodx)"))
    return item


# ------------------------------------------------------------------ the summary

def _reason(why: str) -> str:
    """A not-checkable reason without the expression in it."""
    why = re.sub(r"^.*\) is not smooth at this point$", "a non-smooth function at its kink", why)
    why = re.sub(r"^.*\) cannot be evaluated here$", "a non-smooth function's argument "
                 "cannot be evaluated", why)
    return re.sub(r"no high-precision rule for .*", "no high-precision rule", why)


def _kind_of_ok(c: dict) -> str:
    why = c["why"] or ""
    if why.startswith("checked against the symbolic only"):
        return "ok, symbolic derivative only"
    if why.startswith("checked against the finite difference only"):
        return "ok, finite difference only"
    if why.startswith("checked against the Cauchy integral only"):
        return "ok, Cauchy integral only"
    return "ok, both references"


def summarise(todo: list[dict], outcomes: list[dict], seconds: float) -> dict:
    numbers: collections.Counter = collections.Counter()
    reasons: collections.Counter = collections.Counter()
    commands: collections.Counter = collections.Counter()
    disagreements, failures = [], []
    examples: dict = collections.defaultdict(list)
    numbers_late = 0
    for case, out in zip(todo, outcomes):
        commands[case["kind"]] += 1
        line = "autodx " + shlex.join(case["argv"] + ["--check"])
        if out["code"] not in (0, 3):
            commands["failed or timed out"] += 1
            failures.append({"command": line, "code": out["code"],
                             "stderr": out["stderr"][-300:]})
            continue
        doc = json.loads(out["stdout"])
        warnings = doc.get("warnings", [])
        late = any("sympy did not finish" in w for w in warnings)
        commands["sympy out of time"] += late
        numbers_late += late * sum(len(r["check"]) for r in doc["results"])
        warned = any(w.startswith("rounding noise") for w in warnings)
        for point, result in zip(case["points"], doc["results"]):
            for c in result["check"]:
                if c["verdict"] == "ok":
                    numbers[_kind_of_ok(c)] += 1
                elif c["verdict"] == "not checkable":
                    numbers["not checkable"] += 1
                    reasons[_reason(c["why"])] += 1
                    if line not in examples[_reason(c["why"])]:
                        examples[_reason(c["why"])].append(line)
                else:
                    numbers["disagrees"] += 1
                    disagreements.append({"command": line, "at": point,
                                          **settle(case, point, c, warned)})
    total = sum(numbers.values())
    return {"date": datetime.date.today().isoformat(), "seconds": round(seconds),
            "commands": dict(commands), "numbers": total,
            "ok": sum(v for k, v in numbers.items() if k.startswith("ok")),
            "numbers where sympy ran out of time": numbers_late,
            "verdicts": dict(numbers.most_common()),
            "not checkable, why": dict(reasons.most_common()),
            "not checkable, commands": {k: v[:5] for k, v in examples.items()},
            "disagreements": disagreements, "failed commands": failures,
            "settled": dict(collections.Counter(d["settled"] for d in disagreements))}


def table(s: dict) -> str:
    """The summary as Markdown."""
    n = s["numbers"]
    rows = ["| verdict | numbers | share |", "|---|---|---|"]
    rows += [f"| {k} | {v:,} | {100 * v / n:.1f}% |" for k, v in s["verdicts"].items()]
    rows += ["", "| not checkable, why | numbers |", "|---|---|"]
    rows += [f"| {k} | {v:,} |" for k, v in s["not checkable, why"].items()]
    return "\n".join(rows)


def record(s: dict, args, path: str) -> None:
    """Write the section "## The --check sweep" of docs/benchmarks.md (replace it, or
    add it at the end: after "## Hostile input", where benchmarks/run.py keeps it)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    heading = "## The --check sweep"
    settled = ", ".join(f"{v} {k}" for k, v in s["settled"].items()) or "none"
    k = s["commands"]
    commands = (f"{sum(k.get(name, 0) for name, _ in KINDS):,} commands ({k.get('grad', 0)} "
                f"grad of one variable at orders 1 to 30, {k.get('grad2', 0)} grad of two "
                f"variables to order 4, {k.get('hessian', 0)} hessian, {k.get('jacobian', 0)} "
                f"jacobian; sympy ran out of time in {k.get('sympy out of time', 0)}, "
                f"{k.get('failed or timed out', 0)} failed or timed out)")
    section = "\n".join([
        heading, "",
        f"`python3 benchmarks/check_sweep.py --examples {args.examples} --seed {args.seed}`, "
        f"{s['date']}, {platform.machine()}, {os.cpu_count()} CPU cores (shared), "
        f"{args.jobs} workers, `--symbolic-timeout {args.symbolic_timeout:g}`: {commands} "
        f"in {s['seconds']:,} s; {s['numbers']:,} numbers, {s['ok']:,} ok "
        f"({100 * s['ok'] / s['numbers']:.1f}%). The commands where sympy ran out of time "
        f"hold {s['numbers where sympy ran out of time']:,} numbers: all of them were not "
        f"checkable before the worker computed the references from the function's values "
        f"first. Disagreements, settled by mpmath.diff of the sympy twin: {settled}.", "",
        table(s), "", NOTES, ""])
    if heading in text:
        start = text.index(heading)
        notes = text.find(NOTES, start)
        after = text.find("\n## ", start + 1)
        end = after if after != -1 else len(text)
        kept = text[notes:end].split("\n", 1)[1] if notes != -1 and notes < end else ""
        text = text[:start] + section + kept.lstrip("\n") + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.rstrip("\n") + "\n")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--symbolic-timeout", type=float, default=10.0)
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--report", help="write the summary and every command's outcome as "
                    "JSON to this file")
    ap.add_argument("--again", metavar="REPORT", help="summarise the outcomes of an earlier "
                    "--report (same --examples and --seed) instead of running the commands")
    args = ap.parse_args()
    todo = cases(args.examples, args.seed)
    start = time.time()
    if args.again:
        with open(args.again) as f:
            earlier = json.load(f)
        outcomes, seconds = earlier["outcomes"], earlier["summary"]["seconds"]
    else:
        outcomes = run_all(todo, args)
        seconds = time.time() - start
    s = summarise(todo, outcomes, seconds)
    print(table(s))
    print(json.dumps({k: v for k, v in s.items() if k != "disagreements"}, indent=2))
    for d in s["disagreements"]:
        print("disagreement:", json.dumps(d))
    if args.report:
        with open(args.report, "w") as f:
            json.dump({"summary": s, "outcomes": outcomes}, f)
    if args.record:
        record(s, args, os.path.join(ROOT, "docs", "benchmarks.md"))


if __name__ == "__main__":
    main()
