"""Hostile input through the whole CLI, surface by surface, under an audit hook.

    python3 benchmarks/fuzz.py [--examples 10000] [--surface NAME]... [--minutes M]
                               [--slow-share 0.25] [--report FILE.json] [--seed N]

Surfaces (tests/hostile.py): expr, def, indices, at, data, out, cache; all of them
unless ``--surface`` picks some. For each, hypothesis draws ``--examples`` examples
(``--minutes`` stops a surface early, and the report says how many ran). Each runs
in a folder of its own, through typer's CliRunner in a worker process that imported
JAX once, with the audit hook (benchmarks/audit.py) installed there and, through a
sitecustomize on PYTHONPATH, in the processes the CLI starts. The worker is killed
past ``--time-limit`` seconds or ``--memory-guard`` GB (and started again), and its
crash is a finding, not the end of the run. Each example is held to the contract by
benchmarks/harness.py's ``check``; violations are listed, never shrunk.

Each surface runs twice: broadly (the sizes the suite uses, no steering), then, for
``--slow-share`` of its examples and minutes, at every size (deep nesting, long
``--def`` chains, many indices, big data: tests/hostile.py) with ``target()`` on the
wall time and the peak memory steering hypothesis toward slow inputs. Every input
over the rule "answers or refuses within 10 s and 2 GB" (timed in the worker, its
peak RSS read from /proc) is measured again at the end in a fresh
``python -m autodx`` with an empty compile cache (time, and max RSS from wait4)
and reported. Record the figures in docs/benchmarks.md under "Hostile input" (a
section benchmarks/run.py keeps when it rewrites the file).
"""
from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import hostile  # noqa: E402
from hostile import harness  # noqa: E402

LIMIT_S, LIMIT_MB = harness.TIME_LIMIT, harness.MEMORY_LIMIT >> 20
_OUTPUT_CAP = 200_000  # characters of stdout/stderr a worker sends back


# ------------------------------------------------------------------ the worker

def serve(fd_in: int, fd_out: int) -> None:
    """The worker: JSON requests in, outcomes out; the CLI runs in-process."""
    import autodx.parse  # noqa: F401  (sets the recursion limit)

    # the log in the surface's folder, which the parent removes (a killed worker
    # cannot clean up after itself)
    harness.audit.install(os.environ.get("AUTODX_FUZZ_AUDIT_LOG"))
    invoke = hostile.invoke
    reader, writer = os.fdopen(fd_in, "r"), os.fdopen(fd_out, "w")
    _warm_up(invoke)
    writer.write("ready\n")
    writer.flush()
    for line in reader:
        req = json.loads(line)
        os.chdir(req["folder"])
        example = hostile.Example(req["surface"], req["argv"], stdin=req["stdin"],
                                  texts=req["texts"])
        out = harness.run_in_process(invoke, example, req["folder"], req["paths"])
        reply = {"code": int(out.code), "stdout": out.stdout[:_OUTPUT_CAP],
                 "stderr": _cap_lines(out.stderr),
                 "exception": out.exception, "seconds": out.seconds,
                 "findings": out.findings, "children": out.children, "leaks": out.leaks}
        writer.write(json.dumps(reply) + "\n")
        writer.flush()


def _cap_lines(text: str, width: int = 2000, lines: int = 200) -> str:
    """stderr as the parent needs it to judge: every line's start (a line cut short
    ends in "...[N chars]", N its true length), at most ``lines`` lines."""
    out = [line if len(line) <= width else f"{line[:width]}...[{len(line)} chars]"
           for line in text.split("\n")]
    return "\n".join(out[:lines] + (["...[more lines]"] if len(out) > lines else []))


def _warm_up(invoke) -> None:
    """Run each kind of command once, outside any example, so that lazy imports and
    first compiles are not charged to the first examples."""
    folder = tempfile.mkdtemp(prefix="autodx-fuzz-warm-")
    os.chdir(folder)
    with open("w.csv", "w") as f:
        f.write("x,y\n1,2\n3,4\n")
    for argv in (["grad", "sin(x)*y", "--at", "x=1,y=2", "--order", "2"],
                 ["hessian", "x*y", "--at", "x=1,y=2", "--out", "w.json"],
                 ["jvp-partial", "x*y", "--indices", "0,1", "--at", "x=1,y=2"],
                 ["grad", "x*y", "--data", "w.csv", "--out", "w.npz"],
                 ["perex", "(w*x-y)**2", "--wrt", "w", "--at", "w=1", "--data", "w.csv",
                  "--out", "o.csv"],
                 ["grad", "x", "--at", "1", "--check", "--symbolic", "--out", "w.npy"],
                 ["grad", "x +", "--at", "1"]):
        invoke(argv, None)
    os.chdir(ROOT)
    shutil.rmtree(folder, ignore_errors=True)


class Worker:
    """A worker process, watched: a request that runs past ``limit`` seconds or over
    ``guard`` bytes of memory kills it (a fresh one is started for the next)."""

    def __init__(self, env: dict):
        self.env, self.proc = env, None
        self.starts = 0

    def start(self) -> None:
        r1, w1 = os.pipe()
        r2, w2 = os.pipe()
        self.proc = subprocess.Popen(
            ["nice", "-n", "10", sys.executable, os.path.abspath(__file__), "--serve",
             str(r1), str(w2)], pass_fds=(r1, w2), env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        os.close(r1)
        os.close(w2)
        self.to, self.back = os.fdopen(w1, "w"), os.fdopen(r2, "r")
        self.starts += 1
        if self.back.readline().strip() != "ready":
            raise RuntimeError("the fuzz worker did not start")

    def ask(self, request: dict, limit: float, guard: int) -> tuple[dict, float, int]:
        """(reply, seconds, peak RSS bytes). When the worker was killed or died the
        reply is ``{"killed": why}`` or ``{"died": how}``."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        _reset_peak(self.proc.pid)
        start = time.perf_counter()
        self.to.write(json.dumps(request) + "\n")
        self.to.flush()
        while True:
            ready, _, _ = select.select([self.back], [], [], 0.1)
            seconds = time.perf_counter() - start
            if ready:
                line = self.back.readline()
                peak = _peak(self.proc.pid)
                if not line:
                    return self._died(seconds, peak)
                try:
                    return json.loads(line), seconds, peak
                except ValueError:  # something in the CLI wrote to our pipe
                    self.stop()
                    return {"died": f"a garbled reply {line[:200]!r}"}, seconds, peak
            rss = _rss(self.proc.pid)
            if seconds > limit or rss > guard:
                peak = max(_peak(self.proc.pid), rss)
                self.stop()
                why = f"killed after {seconds:.1f} s" if seconds > limit else \
                    f"killed at {rss >> 20} MB"
                return {"killed": why}, seconds, peak

    def _died(self, seconds, peak):
        code = self.proc.wait()
        self.proc = None
        how = f"signal {-code} ({signal.Signals(-code).name})" if code < 0 else \
            f"exit {code}"
        return {"died": how}, seconds, peak

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _status(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) << 10
    except (OSError, ValueError):
        pass
    return 0


def _rss(pid):
    return _status(pid, "VmRSS:")


def _peak(pid):
    return _status(pid, "VmHWM:")


def _reset_peak(pid) -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


# ------------------------------------------------------------------ one surface

class Surface:
    """The record of one surface's run."""

    def __init__(self, name: str):
        self.name = name
        self.examples = 0
        self.codes: collections.Counter = collections.Counter()
        self.violations: list[dict] = []
        self.findings = 0
        self.children = 0
        self.slowest: list[tuple] = []  # (seconds, peak MB, description, example)
        self.breaking: list[dict] = []
        self.seconds = 0.0
        self.stopped_early = False
        self.slow_examples = 0  # of them, drawn at every size and steered by target()
        self.disagreements: list[dict] = []  # exit 3: --check said a number is wrong

    def note_time(self, seconds: float, peak_mb: int, example) -> None:
        self.slowest.append((seconds, peak_mb, example.describe(), example))
        self.slowest.sort(key=lambda t: -t[0])
        del self.slowest[10:]

    def kinds(self) -> list[dict]:
        """Each kind of problem (its text with numbers and quoted names blurred), how
        many examples had it, and the first of them."""
        found: dict = {}
        for v in self.violations:
            for p in v["problems"]:
                key = re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'...'", p))[:120]
                entry = found.setdefault(key, {"problem": key, "count": 0,
                                               "example": v["example"][:300],
                                               "stderr": v.get("stderr", "")[-300:]})
                entry["count"] += 1
        return sorted(found.values(), key=lambda e: -e["count"])

    def as_dict(self) -> dict:
        return {"surface": self.name, "examples": self.examples,
                "exit_status": {str(k): v for k, v in sorted(self.codes.items(),
                                                             key=lambda kv: str(kv[0]))},
                "violations": self.violations[:50], "violation_count": len(self.violations),
                "violation_kinds": self.kinds(),
                "audit_findings": self.findings, "audited_children": self.children,
                "slowest": [{"seconds": round(s, 2), "peak_mb": m, "example": d}
                            for s, m, d, _ in self.slowest],
                "slow_examples": self.slow_examples,
                "rule_breaking": self.breaking, "wall_seconds": round(self.seconds),
                "check_disagreements": self.disagreements[:20],
                "stopped_early": self.stopped_early}


class _OutOfTime(BaseException):
    """Ends a surface when its minutes are spent (not an Exception: hypothesis lets it
    through instead of shrinking it)."""


def run_surface(name: str, args, base: str) -> Surface:
    """Two runs of hypothesis on one surface: a broad one (the suite's sizes, no
    steering: many examples), then a slow one (every size, ``target()`` on the time
    and the peak memory) for ``--slow-share`` of the minutes and examples."""
    record = Surface(name)
    folder = tempfile.mkdtemp(prefix=f"{name}-", dir=base)
    cache = os.path.join(folder, "cache")
    env = dict(os.environ, AUTODX_CACHE_DIR=cache, AUTODX_SERVER="off",
               PYTHONWARNINGS="ignore",
               AUTODX_FUZZ_AUDIT_LOG=os.path.join(folder, "audit.log"))
    worker = Worker(env)
    plant = hostile.CachePlant(cache) if name == "cache" else None
    if plant is not None:
        worker.start()
        _seed_cache(worker, plant, folder)
    start = time.perf_counter()
    share = args.slow_share
    minutes = args.minutes or 0
    try:
        for slow, part in ((False, 1 - share), (True, share)):
            if part <= 0:
                continue
            examples = max(int(args.examples * part), 1)
            deadline = time.monotonic() + minutes * part * 60 if minutes else None
            if _fuzz(name, slow, examples, deadline, worker, record, folder, cache, plant,
                     args):
                record.stopped_early = True
    finally:
        worker.stop()
    record.seconds = time.perf_counter() - start
    remeasure(record, args, base)
    shutil.rmtree(folder, ignore_errors=True)
    return record


def _fuzz(name, slow, examples, deadline, worker, record, folder, cache, plant,
          args) -> bool:
    """One hypothesis run; True when the deadline stopped it."""
    from hypothesis import HealthCheck, Verbosity, given, seed, settings, target

    # quiet: stopping at the deadline would otherwise print "reproduce with @seed"
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(hostile.SURFACES[name](slow))
    def fuzz(example):
        if deadline is not None and time.monotonic() > deadline:
            raise _OutOfTime()
        try:
            seconds, peak = run_one(example, worker, record, folder, cache, plant, args)
        except Exception:  # the harness's own failure: recorded, never shrunk
            import traceback

            record.violations.append({"example": example.describe(400), "problems": [
                "the fuzzer failed: " + traceback.format_exc()[-1500:]]})
            print(record.violations[-1], file=sys.stderr, flush=True)
            return
        record.slow_examples += slow
        if slow:
            target(seconds, label="seconds")
            target(peak / 2 ** 30, label="peak GB")

    if args.seed is not None:
        fuzz = seed(args.seed)(fuzz)
    try:
        fuzz()
    except _OutOfTime:
        return True
    return False


def _seed_cache(worker: Worker, plant, folder: str) -> None:
    seed_folder = os.path.join(folder, "seed")
    os.makedirs(seed_folder)
    with open(os.path.join(seed_folder, "cache-data.csv"), "wb") as f:
        f.write(hostile.CACHE_DATA)

    def run(argv):
        reply, _, _ = worker.ask(_request("cache", argv, None, [], seed_folder, []), 600,
                                 1 << 40)
        return reply["stdout"]
    plant.seed(run)
    if not any(plant.entries.values()):
        raise RuntimeError("the cache surface found no cache entries to damage")


def _request(surface, argv, stdin, texts, folder, paths) -> dict:
    return {"surface": surface, "argv": argv, "stdin": stdin, "folder": folder,
            "paths": paths, "texts": [t.decode("latin-1") if isinstance(t, bytes) else t
                                      for t in texts]}


def run_one(example, worker: Worker, record: Surface, base: str, cache: str, plant,
            args) -> tuple[float, int]:
    folder = tempfile.mkdtemp(dir=base)
    try:
        before = harness.plant(example, folder)
        example = harness.resolve(example, folder)
        expected = None
        if plant is not None:
            plant.damage(example)
            expected = plant.expected[example.command]
        reply, seconds, peak = worker.ask(
            _request(example.surface, example.argv, example.stdin, example.texts, folder,
                     [cache]), args.time_limit, args.memory_guard << 30)
        record.examples += 1
        if "killed" in reply or "died" in reply:
            status = reply.get("killed") or reply.get("died")
            record.codes["killed" if "killed" in reply else "died"] += 1
            if "died" in reply:
                record.violations.append({"example": example.describe(400),
                                          "problems": [f"the process died: {status}"]})
            if "killed after" in status:
                seconds = max(seconds, args.time_limit)
        else:
            seconds = reply["seconds"]
            outcome = harness.Outcome(reply["code"], reply["stdout"], reply["stderr"],
                                      reply["exception"], seconds, reply["findings"],
                                      reply["children"], reply["leaks"])
            record.codes[outcome.code] += 1
            if outcome.code == 3:  # to be looked at: a wrong number, or --check crying wolf
                record.disagreements.append({"example": example.describe(400),
                                             "stderr": reply["stderr"][-600:]})
            record.findings += len(outcome.findings)
            record.children += outcome.children
            problems = harness.check(example, folder, outcome, before,
                                     cache if plant else None, expected)
            if problems:
                record.violations.append({"example": example.describe(400),
                                          "problems": problems[:5],
                                          "stderr": reply["stderr"][-400:]})
        peak_mb = peak >> 20
        record.note_time(seconds, peak_mb, example)
        if seconds > LIMIT_S or peak_mb > LIMIT_MB:
            record.breaking.append({"example": example.describe(400), "seconds":
                                    round(seconds, 2), "peak_mb": peak_mb,
                                    "status": reply.get("killed") or reply.get("code"),
                                    "_example": example})
        return seconds, peak
    finally:
        if plant is not None:
            plant.restore(example)
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------ measured again

def remeasure(record: Surface, args, base: str) -> None:
    """Each rule-breaking input (the worst few, one per description) once more in a
    fresh process with an empty cache: its time and max RSS as a user would see them."""
    seen, chosen = set(), []
    for item in sorted(record.breaking, key=lambda b: -b["seconds"]):
        key = item["example"][:120]
        if key not in seen:
            seen.add(key)
            chosen.append(item)
    for item in chosen[:args.remeasure]:
        item["fresh"] = fresh_run(item["_example"], base, args.fresh_limit)
    for item in record.breaking:
        item.pop("_example", None)


def fresh_run(example, base: str, limit: float) -> dict:
    folder = tempfile.mkdtemp(dir=base)
    cache = tempfile.mkdtemp(dir=base)
    try:
        harness.plant(example, folder)
        example = harness.resolve(example, folder)
        env = dict(os.environ, AUTODX_CACHE_DIR=cache, AUTODX_SERVER="off")
        start = time.perf_counter()
        try:
            proc = subprocess.Popen([sys.executable, "-m", "autodx", *example.argv],
                                    cwd=folder, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (OSError, ValueError) as e:  # an argument over the kernel's 128 KB
            return {"seconds": None, "exit": f"no process can be given these "
                    f"arguments ({e.strerror if isinstance(e, OSError) else e})"}
        if example.stdin is not None:
            try:
                proc.stdin.write(example.stdin.encode("utf-8", "replace"))
            except BrokenPipeError:
                pass
        proc.stdin.close()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            seconds = time.perf_counter() - start
            if pid:
                return {"seconds": round(seconds, 2), "max_rss_mb": usage.ru_maxrss >> 10,
                        "exit": os.waitstatus_to_exitcode(status),
                        "stderr": proc.stderr.read().decode(errors="replace")[-300:]}
            if seconds > limit or _rss(proc.pid) > 3 << 30:
                rss = _peak(proc.pid)
                proc.kill()
                os.wait4(proc.pid, 0)
                return {"seconds": f"> {seconds:.0f}", "max_rss_mb": rss >> 20,
                        "exit": "killed"}
            time.sleep(0.05)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)


# ------------------------------------------------------------------ main

def summary(r: Surface) -> str:
    codes = ", ".join(f"{k} x {v}" for k, v in
                      sorted(r.codes.items(), key=lambda kv: str(kv[0])))
    slow = r.slowest[0] if r.slowest else (0.0, 0, "", None)
    lines = [f"{r.name}: {r.examples} examples ({r.slow_examples} steered to slow ones) "
             f"in {r.seconds:.0f} s"
             f"{' (stopped by --minutes)' if r.stopped_early else ''}; exit {codes}; "
             f"slowest {slow[0]:.2f} s, {slow[1]} MB ({slow[2][:80]}); audit findings "
             f"{r.findings}; children audited {r.children}; contract violations "
             f"{len(r.violations)}; over 10 s / 2 GB: {len(r.breaking)}"]
    for k in r.kinds()[:12]:
        lines.append(f"  VIOLATION x {k['count']}: {k['problem']} (first: {k['example'][:160]})")
    for d in r.disagreements[:5]:
        lines.append(f"  CHECK DISAGREES: {d['example'][:200]}")
    for b in sorted(r.breaking, key=lambda b: -b["seconds"])[:10]:
        lines.append(f"  OVER LIMIT {b['seconds']} s, {b['peak_mb']} MB in the worker; "
                     f"fresh: {b.get('fresh')}: {b['example'][:200]}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--surface", action="append", choices=list(hostile.SURFACES))
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop each surface after this many minutes")
    parser.add_argument("--time-limit", type=float, default=12.0,
                        help="kill an example after this many seconds (default 12)")
    parser.add_argument("--memory-guard", type=int, default=3,
                        help="kill an example past this many GB of RSS (default 3)")
    parser.add_argument("--remeasure", type=int, default=3,
                        help="rule-breaking inputs measured again per surface (default 3)")
    parser.add_argument("--fresh-limit", type=float, default=40.0,
                        help="seconds a measurement in a fresh process may take")
    parser.add_argument("--slow-share", type=float, default=0.25,
                        help="share of each surface's examples and minutes drawn at "
                        "every size and steered by target() to slow inputs (default 0.25)")
    parser.add_argument("--report", help="write the figures as JSON to this file")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--serve", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(*args.serve)
    base = tempfile.mkdtemp(prefix="autodx-fuzz-")
    results = []
    try:
        for name in args.surface or list(hostile.SURFACES):
            record = run_surface(name, args, base)
            results.append(record.as_dict())
            print(summary(record), flush=True)
            if args.report:
                _write_report(args.report, results)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _write_report(path: str, results: list) -> None:
    with open(path, "w") as f:
        json.dump({"date": datetime.date.today().isoformat(), "surfaces": results}, f,
                  indent=1, default=str)


if __name__ == "__main__":
    main()
