"""autodx's benchmarks: every figure next to its baselines, measured in the same run.

    python3 benchmarks/run.py            # everything, about ten minutes
    python3 benchmarks/run.py --quick    # fewer repeats and a shorter order sweep

Prints a table and writes docs/benchmarks.md (with the date, machine and versions)
and docs/cost-vs-order.svg. End-to-end figures are wall-clock times of whole
commands in fresh processes, medians of interleaved runs, and are given as ratios to
``python -c "import jax"`` measured in the same rounds, the floor every command pays.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from plot import svg_plot  # noqa: E402

PY = sys.executable
AUTODX = [PY, "-m", "autodx"]
F = "sin(x)*exp(x)/(1+x**2)"
PARTIAL16 = ["jvp-partial", "sin(prod(x))", "--at", "x=[" + ",".join(["1.1"] * 16) + "]",
             "--indices", ",".join(map(str, range(16)))]
NO_CACHE = {"AUTODX_NO_CACHE": "1", "AUTODX_SERVER": "off"}  # an empty cache, no server
TD = "(stop_gradient(r + dot(theta, s)) - dot(theta, p))**2"


# ---------------------------------------------------------------- measuring

class _Done:
    def __init__(self, stdout: str, stderr: str):
        self.stdout, self.stderr = stdout, stderr


def timed(cmd, env=None, timeout=600.0):
    """(seconds, max RSS in MiB, output) of one command in a fresh process; the RSS is
    that process's own (``os.wait4``), not the largest child's so far."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return float("inf"), float("nan"), None
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = _Done(out.read(), err.read())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)[:200]} failed:\n{done.stderr[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, done


def fresh_cache():
    return {"AUTODX_CACHE_DIR": tempfile.mkdtemp(prefix="autodx-bench-cache-")}


def interleaved(cases: dict, rounds: int) -> dict:
    """Median seconds of each case, the cases run in turn, ``rounds`` times.

    A case is (command, env factory); the env factory runs before every run, so a
    cold case gets an empty cache each time."""
    times = {name: [] for name in cases}
    for _ in range(rounds):
        for name, (cmd, env) in cases.items():
            times[name].append(timed(cmd, env())[0])
    return {name: statistics.median(t) for name, t in times.items()}


def script(code: str):
    return [PY, "-c", code]


IMPORT_JAX = script("import jax")

JET = """
import time, jax, jax.numpy as jnp
from jax.experimental import jet
jax.config.update("jax_enable_x64", True)
f = lambda x: jnp.sin(x) * jnp.exp(x) / (1 + x ** 2)
n = {order}
g = jax.jit(lambda x: jet.jet(f, (x,), ((1.0,) + (0.0,) * (n - 1),))[1][-1])
print(float(g(0.5)))
"""

NESTED_GRAD = """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
g = lambda x: jnp.sin(x) * jnp.exp(x) / (1 + x ** 2)
for _ in range({order}):
    g = jax.grad(g)
print(float(jax.jit(g)(0.5)))
"""

SYMPY = """
import sympy as sp
x = sp.Symbol("x")
f = sp.sin(x) * sp.exp(x) / (1 + x ** 2)
print(sp.diff(f, x, {order}).subs(x, sp.Rational(1, 2)).evalf(17))
"""

SYMPY_JAX_POLY = """
import jax, sympy as sp
x = sp.Symbol("x")
f = x**3 + 2*x**2 - 3*x + 1
print([sp.diff(f, x, k).subs(x, 1) for k in (1, 2, 3)])
"""

PARTIAL_VS_TENSOR = """
import statistics, time, numpy as np, jax, jax.numpy as jnp
from autodx import engine
x = np.random.default_rng(0).normal(size=({rows}, {dims}))
ours = engine.vectorize(lambda r, _: engine.jvp_partial(jnp.prod, [0, 2, 4])(r)[1], (0, None))
third = jax.jacfwd(jax.jacfwd(jax.grad(jnp.prod)))
full = jax.jit(jax.vmap(lambda r: third(r)[0, 2, 4]))
a, b = ours(x, None), full(x)
assert np.allclose(a, b)
def best(f):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        jax.block_until_ready(f())
        times.append(time.perf_counter() - start)
    return statistics.median(times)
print(best(lambda: ours(x, None)), best(lambda: full(x)))
"""

NESTED_JVP = """
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
g = lambda x: jnp.sin(jnp.prod(x))
def along(g, i):
    return lambda x: jax.jvp(g, (x,), (jnp.zeros_like(x).at[i].set(1.0),))[1]
for i in range({k}):
    g = along(g, i)
print(float(jax.jit(g)(jnp.full(16, 1.1))))
"""

LOOP_GRAD = """
import time, numpy as np, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
z = np.load({path!r})
theta = jnp.array([0.1, -0.1, 0.0])
def loss(theta, p, s, r):
    return (jax.lax.stop_gradient(r + jnp.dot(theta, s)) - jnp.dot(theta, p)) ** 2
g = jax.grad(loss)
n = {rows}
start = time.perf_counter()
out = [g(theta, z["p"][i], z["s"][i], z["r"][i]) for i in range(n)]
jax.block_until_ready(out)
print((time.perf_counter() - start) / n)
"""


# ---------------------------------------------------------------- data

def make_data(folder: str, csv_rows: int):
    import numpy as np

    rng = np.random.default_rng(0)
    paths = {}
    paths["x1m"] = os.path.join(folder, "x1m.npy")
    np.save(paths["x1m"], rng.normal(size=(1_000_000, 5)))
    paths["x10k"] = os.path.join(folder, "x10k.npy")
    np.save(paths["x10k"], rng.normal(size=(10_000, 5)))
    n = 1_000_000
    paths["td1m"] = os.path.join(folder, "td1m.npz")
    np.savez(paths["td1m"], p=rng.normal(size=(n, 3)), s=rng.normal(size=(n, 3)),
             r=rng.normal(size=n))
    paths["td_csv"] = os.path.join(folder, "td.csv")
    with open(paths["td_csv"], "w") as f:
        f.write("p[0],p[1],p[2],s[0],s[1],s[2],r\n")
        for start in range(0, csv_rows, 500_000):
            block = np.round(rng.normal(size=(min(500_000, csv_rows - start), 7)), 4)
            np.savetxt(f, block, delimiter=",", fmt="%.4f")
    return paths


# ---------------------------------------------------------------- the cases

def startup_cases(rounds: int, rows: list):
    warm = fresh_cache()
    grad3 = AUTODX + ["grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1"]
    timed(grad3, warm)  # the first run fills the cache: the case is the second run
    t = interleaved({
        "jax": (IMPORT_JAX, dict),
        "help": (AUTODX + ["--help"], dict),
        "grad3": (grad3, lambda: warm),
        "sympy+jax": (script(SYMPY_JAX_POLY), dict),
        "o20": (AUTODX + ["grad", F, "--order", "20", "--at", "0.5"], fresh_cache),
        "o50": (AUTODX + ["grad", F, "--order", "50", "--at", "0.5"], fresh_cache),
        "partial16": (AUTODX + PARTIAL16, lambda: NO_CACHE),
    }, rounds)
    floor = t["jax"]
    rows += [
        ("`autodx --help`", t["help"], floor, 0.35,
         "typer and rich alone import in ~0.1 s"),
        ("`grad` polynomial `--order 3 --at 1`, second run", t["grad3"], floor, 1.3,
         f"sympy+jax script: {t['sympy+jax']:.2f} s ({t['sympy+jax'] / floor:.2f}x)"),
    ]
    return t


def high_order_rows(t: dict, rows: list, quick: bool):
    floor = t["jax"]
    jet20 = timed(script(JET.format(order=20)), fresh_cache())[0]
    sym20 = timed(script(SYMPY.format(order=20)))[0]
    rows.append((f"`grad \"{F}\" --order 20`, empty cache", t["o20"], floor, 2.0,
                 f"jet under jit: {jet20:.2f} s ({jet20 / floor:.1f}x); "
                 f"sympy diff: {sym20:.2f} s ({sym20 / floor:.1f}x)"))
    if quick:  # jet at order 50 takes half a minute
        jet50_text = "jet under jit: not run with --quick"
    else:
        jet50 = timed(script(JET.format(order=50)), fresh_cache())[0]
        jet50_text = f"jet under jit: {jet50:.2f} s ({jet50 / floor:.1f}x)"
    rows.append(("the same at `--order 50`, empty cache", t["o50"], floor, 2.5, jet50_text))


def partial_rows(t: dict, rows: list):
    """jvp-partial at the documented limit of 16 indices, against nested one-hot jvps
    (which double the program at every index: 8 indices take over 90 s)."""
    nested = {k: timed(script(NESTED_JVP.format(k=k)), timeout=300)[0] for k in (6, 7)}
    rows.append(("`jvp-partial \"sin(prod(x))\"` with 16 indices `--at` a point, empty "
                 "cache", t["partial16"], t["jax"], 2.5,
                 "nested one-hot jax.jvp under jit: " +
                 ", ".join(f"{k} indices {s:.2f} s ({s / t['jax']:.1f}x)"
                           for k, s in nested.items()) +
                 "; values checked against sympy in tests/test_partial.py"))


def order_sweep(quick: bool) -> dict:
    """Seconds of one fresh command per order: autodx (empty cache), jet under jit,
    nested jax.grad, sympy's diff. A method is stopped past a time limit."""
    orders = [1, 2, 4, 8, 16, 32] if quick else [1, 2, 3, 4, 6, 8, 12, 16, 20, 30, 50]
    limit = 30.0 if quick else 90.0
    methods = {
        "autodx": lambda n: AUTODX + ["grad", F, "--order", str(n), "--at", "0.5"],
        "jet under jit": lambda n: script(JET.format(order=n)),
        "nested jax.grad": lambda n: script(NESTED_GRAD.format(order=n)),
        "sympy diff": lambda n: script(SYMPY.format(order=n)),
    }
    out = {m: [] for m in methods}
    for name, command in methods.items():
        for n in orders:
            seconds = timed(command(n), fresh_cache(), timeout=limit)[0]
            out[name].append((n, seconds))
            if seconds > limit / 2:  # the next order would pass the limit
                break
    return out


def batch_rows(t: dict, paths: dict, rounds: int, rows: list, folder: str):
    floor = t["jax"]
    out = os.path.join(folder, "out.npy")
    jvp = AUTODX + ["jvp-partial", "prod(x)", "--indices", "0,2,4", "--data", paths["x1m"],
                    "--out", out]
    perex = AUTODX + ["perex", TD, "--wrt", "theta", "--at", "theta=[0.1,-0.1,0]",
                      "--data", paths["td1m"], "--out", out]
    warm = fresh_cache()
    timed(jvp, warm)
    timed(perex, warm)
    b = interleaved({"jax": (IMPORT_JAX, dict), "jvp cold": (jvp, fresh_cache),
                     "jvp warm": (jvp, lambda: warm), "perex cold": (perex, fresh_cache),
                     "perex warm": (perex, lambda: warm)}, rounds)
    floor = b["jax"]
    compare = []
    for n_rows, dims in ((10_000, 5), (2_000, 20)):
        p = timed(script(PARTIAL_VS_TENSOR.format(rows=n_rows, dims=dims)))[2]
        ours, full = map(float, p.stdout.split())
        compare.append(f"{n_rows:,} x {dims}: nested jvp {ours * 1e3:.2f} ms, full-tensor "
                       f"slicing {full * 1e3:.1f} ms ({full / ours:,.0f}x slower)")
    rows.append(("`jvp-partial \"prod(x)\" --indices 0,2,4`, 1,000,000 x 5 `.npy`, "
                 "empty cache", b["jvp cold"], floor, 2.0,
                 f"warm cache: {b['jvp warm']:.2f} s ({b['jvp warm'] / floor:.2f}x); "
                 "run time after compiling, " + "; ".join(compare) + "; the full tensor "
                 "at 1,000,000 rows ran out of memory in the seed (26.8 GB)"))
    loop = float(timed(script(LOOP_GRAD.format(path=paths["td1m"], rows=300)))[2].stdout)
    rows.append(("`perex` TD loss, 1,000,000 rows `.npz`, empty cache", b["perex cold"],
                 floor, 2.0,
                 f"warm cache: {b['perex warm']:.2f} s ({b['perex warm'] / floor:.2f}x); "
                 f"Python loop over jax.grad: {loop * 1e3:.2f} ms per example, "
                 f"{loop * 1e6:,.0f} s for 1,000,000 rows"))
    return b


def csv_memory_row(paths: dict, csv_rows: int, rows: list, folder: str):
    import numpy as np

    out = os.path.join(folder, "g.npy")
    seconds, rss, _ = timed(AUTODX + ["perex", TD, "--wrt", "theta", "--at",
                                      "theta=[0.1,-0.1,0]", "--data", paths["td_csv"],
                                      "--out", out], fresh_cache())
    grads = np.load(out)
    with open(paths["td_csv"]) as f:
        f.readline()
        first = np.array([float(v) for v in f.readline().split(",")])
    p, s, r = first[:3], first[3:6], first[6]
    theta = np.array([0.1, -0.1, 0.0])
    expected = -2 * (r + theta @ s - theta @ p) * p
    ok = grads.shape == (csv_rows, 3) and np.allclose(grads[0], expected)
    size = os.path.getsize(paths["td_csv"]) / 2 ** 20
    rows.append((f"`perex` TD loss, {csv_rows:,}-row CSV ({size:.0f} MiB): max RSS",
                 rss, 1024.0, 1.0,
                 f"{seconds:.1f} s; output rows complete and in order: {ok}"))


def csv_speed_row(paths: dict, csv_rows: int, rounds: int, rows: list, folder: str):
    """perex from the big CSV to CSV on stdout, against numpy.loadtxt reading the same
    file, interleaved in the same rounds (issue: at most 3x, every row, exact floats)."""
    import numpy as np

    out = os.path.join(folder, "g.csv")
    command = ["bash", "-c", " ".join(AUTODX + ["perex", f"'{TD}'", "--wrt", "theta", "--at",
                                                "theta=[0.1,-0.1,0]", "--data",
                                                paths["td_csv"], "--format", "csv", ">",
                                                out])]
    loadtxt = [PY, "-c", f"import numpy; numpy.loadtxt({paths['td_csv']!r}, delimiter=',', "
                         "skiprows=1)"]
    t = interleaved({"perex csv": (command, fresh_cache), "loadtxt": (loadtxt, dict)},
                    max(1, rounds // 2))
    _, rss, _ = timed(command, fresh_cache())
    got = np.loadtxt(out, delimiter=",", skiprows=1)
    data = np.loadtxt(paths["td_csv"], delimiter=",", skiprows=1, max_rows=1000)
    p, s, r = data[:, :3], data[:, 3:6], data[:, 6]
    theta = np.array([0.1, -0.1, 0.0])
    want = -2 * (r + s @ theta - p @ theta)[:, None] * p
    ok = got.shape == (csv_rows, 3) and np.allclose(got[:1000], want, rtol=1e-12)
    rows.append((f"`perex` TD loss, {csv_rows:,}-row CSV to CSV on stdout", t["perex csv"],
                 t["loadtxt"], 3.0,
                 f"baseline: numpy.loadtxt of the same file; max RSS {rss:.0f} MiB; every "
                 f"row present, in order, exact: {ok}"))
    first = statistics.median(first_row(AUTODX + ["perex", TD, "--wrt", "theta", "--at",
                                                   "theta=[0.1,-0.1,0]", "--data",
                                                   paths["td_csv"], "--format", "csv"])
                              for _ in range(max(1, rounds // 2)))
    rows.append((f"`perex` TD loss, {csv_rows:,}-row CSV to CSV: the first row on stdout",
                 first, t["perex csv"], 0.5,
                 "baseline: the whole command (above): rows are written as each chunk is "
                 "computed, reading and writing overlapped"))


def first_row(cmd: list) -> float:
    """Seconds until the first result row (after the header) reaches a pipe."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, **fresh_cache()))
    p.stdout.readline()
    p.stdout.readline()
    seconds = time.perf_counter() - start
    p.stdout.read()
    p.wait()
    return seconds


# ---------------------------------------------------------------- report

def machine() -> str:
    import jax
    import jaxlib
    import numpy
    import sympy

    import autodx

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}, autodx "
            f"{autodx.__version__}, jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
            f"numpy {numpy.__version__}, sympy {sympy.__version__}")


def report(rows: list, sweep: dict, rounds: int) -> str:
    lines = [
        "# Benchmarks", "",
        f"Measured {datetime.date.today().isoformat()} by `python3 benchmarks/run.py` on: "
        f"{machine()}.", "",
        "Each figure is the wall-clock time of a whole command in a fresh process, the "
        f"median of {rounds} runs interleaved with `python -c \"import jax\"`, and is "
        "given as a ratio to that floor (memory: max RSS against 1 GiB). "
        "\"Empty cache\" runs start with an empty compile cache; \"warm\" runs repeat a "
        "command whose program is cached.", "",
        "| case | autodx | floor | ratio | goal | met | baselines, measured in the same run |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, value, floor, goal, note in rows:
        ratio = value / floor
        unit = "MiB" if "RSS" in name else "s"
        lines.append(f"| {name} | {value:.2f} {unit} | {floor:.2f} {unit} | {ratio:.2f} | "
                     f"<= {goal} | {'yes' if ratio <= goal else '**no**'} | {note} |")
    lines += ["", "## Cost against derivative order", "",
              f"`{F}` at 0.5, one fresh process per point (empty caches), seconds on a "
              "log scale. A method stops once a run takes more than half the time limit.",
              "", "![cost against derivative order](cost-vs-order.svg)", "",
              "| order | " + " | ".join(sweep) + " |",
              "|---|" + "---|" * len(sweep)]
    orders = sorted({n for series in sweep.values() for n, _ in series})
    for n in orders:
        cells = []
        for series in sweep.values():
            found = [s for m, s in series if m == n]
            cells.append(f"{found[0]:.2f}" if found and found[0] != float("inf")
                         else ("> limit" if found else "not run"))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds, a short order sweep, a 1,000,000-row CSV")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 5)
    csv_rows = 1_000_000 if args.quick else 5_000_000
    folder = tempfile.mkdtemp(prefix="autodx-bench-")
    # JAX's modules were compiled to bytecode when pip installed them; give autodx's
    # the same (an editable install, or PYTHONDONTWRITEBYTECODE, would leave them out)
    import autodx

    subprocess.run([PY, "-m", "compileall", "-q", os.path.dirname(autodx.__file__)],
                   check=True)
    try:
        print("making data ...", flush=True)
        paths = make_data(folder, csv_rows)
        rows: list = []
        print("start-up and high orders ...", flush=True)
        t = startup_cases(rounds, rows)
        high_order_rows(t, rows, args.quick)
        partial_rows(t, rows)
        print("batches ...", flush=True)
        batch_rows(t, paths, rounds, rows, folder)
        csv_memory_row(paths, csv_rows, rows, folder)
        csv_speed_row(paths, csv_rows, rounds, rows, folder)
        print("order sweep ...", flush=True)
        sweep = order_sweep(args.quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    text = report(rows, sweep, rounds)
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    tail = kept_sections(path)
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n" + tail)
    with open(os.path.join(ROOT, "docs", "cost-vs-order.svg"), "w") as f:
        f.write(svg_plot(sweep, "derivative order", "seconds (log scale)"))
    print(text)


# Sections of docs/benchmarks.md that other scripts' runs fill in (benchmarks/fuzz.py,
# benchmarks/server.py): this script rewrites the file but keeps them, from the first
# of these headings on.
KEPT = ("## Hostile input", "## The warm engine")


def kept_sections(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    starts = [text.index(h) for h in KEPT if h in text]
    return "\n" + text[min(starts):] if starts else ""


if __name__ == "__main__":
    main()
