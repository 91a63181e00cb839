"""Scaling out (issue 15), each figure beside its baseline measured in the same run:

1. --devices 4 against one device, both with JAX's 4 forced host devices
   (XLA_FLAGS=--xla_force_host_platform_device_count=4), on the headline Taylor batch
   (grad "sin(x)*exp(x)/(1+x**2)" --order 30 over --rows rows); the two outputs must be
   the same bytes.
2. --distributed with 2 processes on 127.0.0.1 against one process, perex over a CSV of
   --big-rows rows (2,000,000 by default); the two outputs must be the same bytes.

    python3 benchmarks/scale.py [--rows 100000] [--big-rows 2000000] [--rounds 3]

Wall-clock seconds of whole commands (start-up, compiling, reading, writing), medians
of interleaved rounds, in a temporary folder with a compile cache of its own. On a
machine with fewer cores than forced devices they share the cores, so (1) measures the
overhead of the sharded path, not a speed-up; on several real devices the same command
shows the speed-up.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HEADLINE = ["grad", "sin(x)*exp(x)/(1+x**2)", "--order", "30"]
PEREX = ["perex", "(w*x - y)**2", "--wrt", "w", "--at", "w=0.5"]


def _run(args: list[str], env: dict, cwd: str) -> float:
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "autodx", *args], env=env, cwd=cwd,
                       capture_output=True, text=True)
    if p.returncode:
        raise SystemExit(f"autodx {' '.join(args)} failed:\n{p.stderr}")
    return time.perf_counter() - start


def _job(args: list[str], env: dict, cwd: str, count: int = 2) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "autodx", *args], cwd=cwd,
                              env={**env, "AUTODX_COORDINATOR": f"127.0.0.1:{port}",
                                   "AUTODX_NUM_PROCESSES": str(count),
                                   "AUTODX_PROCESS_ID": str(i)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(count)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"a process of the job failed:\n{err}")
    return time.perf_counter() - start


def _csv(path: str, columns: dict[str, np.ndarray]) -> None:
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        table = np.stack(list(columns.values()), 1)
        for start in range(0, len(table), 100_000):
            np.savetxt(f, table[start:start + 100_000], delimiter=",", fmt="%.17g")


def _median(times: list[float]) -> str:
    return f"{statistics.median(times):7.2f} s"


def sharded(folder: str, env: dict, rows: int, rounds: int) -> None:
    _csv(os.path.join(folder, "x.csv"), {"x": np.linspace(-3, 3, rows)})
    forced = {**env, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    one, four = [], []
    for _ in range(rounds):
        one.append(_run([*HEADLINE, "--data", "x.csv", "--out", "one.npy"], forced, folder))
        four.append(_run([*HEADLINE, "--data", "x.csv", "--out", "four.npy",
                          "--devices", "4"], forced, folder))
    same = filecmp.cmp(os.path.join(folder, "one.npy"), os.path.join(folder, "four.npy"),
                       shallow=False)
    print(f"\n1. grad order 30 over {rows:,} rows, 4 forced host devices on "
          f"{os.cpu_count()} cores")
    print(f"   one device (baseline)  {_median(one)}")
    print(f"   --devices 4            {_median(four)}   "
          f"({statistics.median(four) / statistics.median(one):.2f}x the baseline)")
    print(f"   same bytes: {'yes' if same else 'NO'}")


def distributed(folder: str, env: dict, rows: int, rounds: int) -> None:
    rng = np.random.default_rng(15)
    _csv(os.path.join(folder, "big.csv"), {"x": rng.normal(size=rows),
                                           "y": rng.normal(size=rows)})
    one, two = [], []
    for _ in range(rounds):
        one.append(_run([*PEREX, "--data", "big.csv", "--out", "one.npy"], env, folder))
        two.append(_job([*PEREX, "--data", "big.csv", "--out", "two.npy", "--distributed"],
                        env, folder))
    same = filecmp.cmp(os.path.join(folder, "one.npy"), os.path.join(folder, "two.npy"),
                       shallow=False)
    size = os.path.getsize(os.path.join(folder, "big.csv")) / 2**20
    print(f"\n2. perex over a {rows:,}-row CSV ({size:.0f} MiB), 2 processes on 127.0.0.1")
    print(f"   one process (baseline) {_median(one)}")
    print(f"   2 processes            {_median(two)}   "
          f"({statistics.median(two) / statistics.median(one):.2f}x the baseline)")
    print(f"   same bytes: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big-rows", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    a = parser.parse_args()
    import jax

    print(f"autodx scaling: {platform.machine()}, {os.cpu_count()} cores, jax "
          f"{jax.__version__}, medians of {a.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="autodx-scale-") as folder:
        env = {**os.environ, "AUTODX_SERVER": "off", "JAX_PLATFORMS": "cpu",
               "AUTODX_CACHE_DIR": os.path.join(folder, "cache")}
        env.pop("XLA_FLAGS", None)
        sharded(folder, env, a.rows, a.rounds)
        distributed(folder, env, a.big_rows, a.rounds)


if __name__ == "__main__":
    main()
