"""The warm engine against `python -c "import jax"`: the four cases of issue 13, each a
ratio to JAX's import measured in the same run, medians of interleaved rounds.

    python3 benchmarks/server.py [--rounds 5] [--loop 100]

Starts a server of its own (a temporary AUTODX_SERVER_DIR and an empty compile
cache), stops it at the end, prints a table and writes it into docs/benchmarks.md as
the section "## The warm engine" (the rest of the file is kept).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADING = "## The warm engine"
HEADLINE = ["grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1"]
GOALS = {"headline": 0.15, "help": 0.15, "loop": 15.0, "new": 0.6}


def _script() -> list[str]:
    """The installed console script, run directly (not through a shell shim)."""
    exe = os.path.join(os.path.dirname(sys.executable), "autodx")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "autodx"]


def _time(cmd: list[str], env: dict, shell: bool = False) -> float:
    start = time.perf_counter()
    subprocess.run(cmd if not shell else cmd[0], env=env, check=True, shell=shell,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(rounds: int, loop: int) -> dict[str, list[float]]:
    folder = tempfile.mkdtemp(prefix="adx-bench-", dir="/tmp")
    # a copy of the source: an edit of the checkout during the run would (rightly) make
    # the server exit, and the rest of the run would measure in-process commands
    shutil.copytree(os.path.join(ROOT, "src", "autodx"), os.path.join(folder, "src", "autodx"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    path = os.pathsep.join(filter(None, [os.path.join(folder, "src"),
                                         os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, AUTODX_SERVER_DIR=os.path.join(folder, "s"),
               AUTODX_CACHE_DIR=os.path.join(folder, "cache"), PYTHONPATH=path)
    env.pop("AUTODX_SERVER", None)
    off = dict(env, AUTODX_SERVER="off")
    script = _script()
    points = " ".join(f"{1 + i / loop:.4f}" for i in range(loop))
    shell_loop = (f'for p in {points}; do {" ".join(script)} grad "x**3+2*x**2-3*x+1" '
                  f'--order 3 --at $p; done')
    times: dict[str, list[float]] = {k: [] for k in
                                     ("jax", "headline", "help", "loop", "new", "in-process")}
    try:
        subprocess.run([*script, "server", "start"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([*script, *HEADLINE], env=env, check=True, stdout=subprocess.DEVNULL)
        for r in range(rounds):
            times["jax"].append(_time([sys.executable, "-c", "import jax"], env))
            times["headline"].append(_time([*script, *HEADLINE], env))
            times["help"].append(_time([*script, "--help"], env))
            times["loop"].append(_time([shell_loop], env, shell=True))
            new = f"sin(x)*exp(x)/(1+x**2) + {r + 2}*cos({r + 3}*x)"
            times["new"].append(_time([*script, "grad", new, "--order", "20", "--at", "0.5"],
                                      env))
            times["in-process"].append(_time([*script, *HEADLINE], off))
        status = subprocess.run([*script, "server", "status"], env=env, capture_output=True,
                                text=True).stdout
        served = int(status.split("served: ")[1].split()[0])
        assert served == 1 + rounds * (loop + 3), f"not all forwarded: {status}"
    finally:
        subprocess.run([*script, "server", "stop"], env=env, stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
    return times


def report(times: dict[str, list[float]], rounds: int, loop: int) -> str:
    med = {k: statistics.median(v) for k, v in times.items()}
    jax = med["jax"]
    rows = [("headline `grad ... --order 3 --at 1`, server running", "headline"),
            ("`autodx --help`, server running", "help"),
            (f"{loop} headline commands at {loop} points in a shell loop, total", "loop"),
            ("a new expression, order 20, empty cache, server running", "new")]
    lines = [HEADING, "",
             f"`python3 benchmarks/server.py`, {time.strftime('%Y-%m-%d')}, "
             f"{platform.machine()}, {os.cpu_count()} CPU cores, Python "
             f"{platform.python_version()}. Each figure is the median of {rounds} "
             f"interleaved rounds, as a ratio to `python -c \"import jax\"` in the same "
             f"run ({jax:.3f} s); the server was started once, with an empty compile "
             "cache, before the rounds.", "",
             "| case | seconds | ratio to import jax | goal |", "|---|---|---|---|"]
    for label, key in rows:
        ratio = med[key] / jax
        mark = "met" if ratio <= GOALS[key] else "missed"
        lines.append(f"| {label} | {med[key]:.3f} | {ratio:.3f} | <= {GOALS[key]} ({mark}) |")
    lines += [f"| for comparison: the headline in-process (`AUTODX_SERVER=off`) | "
              f"{med['in-process']:.3f} | {med['in-process'] / jax:.3f} | |", ""]
    return "\n".join(lines)


def write(section: str) -> None:
    """Put the section in docs/benchmarks.md in place of the old one, or at the end."""
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if HEADING in text:
        start = text.index(HEADING)
        rest = text[start + len(HEADING):]
        end = rest.find("\n## ")
        after = "" if end < 0 else rest[end + 1:]
        text = text[:start] + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", type=int, default=100)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    section = report(measure(args.rounds, args.loop), args.rounds, args.loop)
    print(section)
    if not args.no_write:
        write(section)


if __name__ == "__main__":
    main()
