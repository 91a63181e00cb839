"""Ten thousand hostile and broken inputs through the whole CLI, counted and timed.

    python3 benchmarks/fuzz.py [--examples 10000]

Each example is checked as tests/hostile.py says (exit 0, or 2 with one error line;
no traceback; bounded time; nothing executed). Prints the count, the exit statuses,
and the slowest example; record them in docs/benchmarks.md under "Hostile input" (a
section benchmarks/run.py keeps when it rewrites the file).
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import autodx.parse  # noqa: E402,F401  (sets the recursion limit before hypothesis looks)
from autodx.cli import app  # noqa: E402
from hostile import any_text, run_one  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp(prefix="autodx-fuzz-"))
    runner = CliRunner()
    codes: collections.Counter = collections.Counter()
    slowest = [0.0, ""]

    def invoke(argv):
        r = runner.invoke(app, argv)
        return r.exit_code, r.stdout, r.stderr

    @settings(max_examples=args.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(any_text)
    def check(text):
        code, seconds = run_one(invoke, text)
        codes[code] += 1
        if seconds > slowest[0]:
            slowest[:] = [seconds, text]

    start = time.perf_counter()
    check()
    total = time.perf_counter() - start
    print(f"{sum(codes.values())} examples in {total:.0f} s: exit 0 x {codes[0]}, "
          f"exit 2 x {codes[2]}; slowest {slowest[0]:.2f} s ({slowest[1][:60]!r}); "
          "no traceback, no exit 1, nothing executed")


if __name__ == "__main__":
    main()
