"""The warm engine, tested with real servers in temporary folders (always stopped):
forwarded commands answer byte for byte as in-process ones, and each safety promise
of the issue holds (private socket, same version, stale or hung or dying servers,
Ctrl-C, eight clients at once, internal errors, the memory bound)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from autodx import client

HEADLINE = ["grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1"]


SNAPSHOT: list[str] = []


def snapshot() -> str:
    """A copy of autodx's source for the servers and their callers: a server makes way
    for a caller whose source differs, and a checkout may change while the tests run."""
    if not SNAPSHOT:
        top = tempfile.mkdtemp(prefix="adx-src-")
        shutil.copytree(os.path.dirname(client.__file__), os.path.join(top, "autodx"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        SNAPSHOT.append(top)
    return SNAPSHOT[0]


@pytest.fixture(scope="module", autouse=True)
def _snapshot():
    yield
    while SNAPSHOT:
        shutil.rmtree(SNAPSHOT.pop(), ignore_errors=True)


class Server:
    """A server of our own in a short temporary folder (a socket path has 108 bytes)."""

    def __init__(self, **env):
        self.dir = tempfile.mkdtemp(prefix="adx-", dir="/tmp")
        path = os.pathsep.join(filter(None, [snapshot(), os.environ.get("PYTHONPATH")]))
        self.env = dict(os.environ, AUTODX_SERVER_DIR=self.dir, AUTODX_SERVER_IDLE="600",
                        AUTODX_SERVER_TIMEOUT="20", PYTHONPATH=path)
        self.env.update(env)
        if "AUTODX_SERVER" not in env:
            self.env.pop("AUTODX_SERVER", None)
        self.pids: set[int] = set()

    @property
    def socket(self) -> str:
        return os.path.join(self.dir, client.SOCKET_NAME)

    def start(self) -> "Server":
        p = self.run("server", "start")
        assert p.returncode == 0, (p.stderr, self.log())
        self.pids |= self.all_pids()
        return self

    def run(self, *args, stdin=None, input=None, env=None, **kw):
        full = dict(self.env, **(env or {}))
        return subprocess.run([sys.executable, "-m", "autodx", *args], capture_output=True,
                              env=full, timeout=120, stdin=stdin, input=input, **kw)

    def here(self, *args, **kw):
        """The same command in-process."""
        return self.run(*args, env={"AUTODX_SERVER": "off", **kw.pop("env", {})}, **kw)

    def status(self) -> dict:
        return client.ask("status", self.socket)

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def served(self) -> int:
        try:
            return self.status()["served"]
        except client.Unavailable:
            raise AssertionError(f"the server is gone: {self.log()}") from None

    def all_pids(self) -> set[int]:
        s = self.status()
        return {s["pid"], *(w["pid"] for w in s["workers"])}

    def wait(self, predicate, seconds=60.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def ready_workers(self) -> int:
        return sum(w["ready"] and not w["busy"] for w in self.status()["workers"])

    def close(self) -> None:
        try:
            self.pids |= self.all_pids()
            client.ask("stop", self.socket)
        except (client.Unavailable, OSError, ValueError):
            pass
        for pid in self.pids:
            _wait_gone(pid, 10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of ours is not alive
        return os.waitpid(pid, os.WNOHANG)[0] == 0
    except ChildProcessError:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"


def _wait_gone(pid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if not _alive(pid):
                return
        except OSError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def server():
    s = Server()
    try:
        yield s.start()
    finally:
        s.close()


@pytest.fixture
def fresh():
    """A server of its own for a test that stops, kills or stalls it."""
    made = []

    def make(**env):
        made.append(Server(**env))
        return made[-1]
    yield make
    for s in made:
        s.close()


def same(a, b) -> None:
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


# ---------------------------------------------------------------- start, status, stop

def test_status_says_running_with_exit_0_and_not_running_with_3(server, fresh):
    p = server.run("server", "status")
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    for word in ("running: pid", "version: autodx", "uptime:", "memory:", "served:"):
        assert word in text
    none = fresh()
    p = none.run("server", "status")
    assert p.returncode == 3 and b"not running" in p.stdout


def test_start_twice_is_one_server_and_stop_ends_it(fresh):
    s = fresh().start()
    pid = s.status()["pid"]
    assert b"already running" in s.run("server", "start").stdout
    assert s.status()["pid"] == pid
    p = s.run("server", "stop")
    assert p.returncode == 0 and b"stopped" in p.stdout
    assert s.wait(lambda: not _alive(pid), 10)
    assert not os.path.exists(s.socket)
    assert s.run("server", "status").returncode == 3


def test_folder_0700_socket_0600(server):
    assert stat.S_IMODE(os.stat(server.dir).st_mode) == 0o700
    info = os.lstat(server.socket)
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600


def test_a_folder_open_to_others_is_never_used(fresh, tmp_path):
    s = fresh()
    os.chmod(s.dir, 0o755)
    p = s.run("server", "start")
    assert p.returncode == 2 and b"open to others" in p.stderr
    assert client.folder_problem(s.dir)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_is_refused(server):
    os.chmod(server.dir, 0o711)
    os.chmod(server.socket, 0o666)
    # as nobody: connect, ask for the status, and report whether anything came back
    code = ("import os, socket, sys\nfrom autodx import client\n"
            "hello = client.hello('status')\nos.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(10)\n"
            "s.connect(sys.argv[1])\n"
            "try:\n    client.send_json(s, hello)\n    print(len(s.recv(1)))\n"
            "except OSError:\n    print(0)\n")
    try:
        p = subprocess.run([sys.executable, "-c", code, server.socket],
                           capture_output=True, text=True, timeout=60, env=server.env)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "0"  # closed without a word
    finally:
        os.chmod(server.dir, 0o700)
        os.chmod(server.socket, 0o600)


# ---------------------------------------------------------------- the same answers

COMMANDS = [
    HEADLINE,
    ["grad", "x**3+2*x**2-3*x+1", "--order", "3", "--at", "1", "--format", "json"],
    ["grad", "sin(x)*y", "--at", "x=1,y=2", "--at", "x=0,y=1", "--format", "csv"],
    ["grad", "x*y*z", "--order", "2", "--at", "x=1,y=2,z=3"],
    ["grad", "sin(x)", "--order", "4", "--at", "0", "--format", "plain", "--digits", "6"],
    ["hessian", "x**2*y + y**3", "--at", "x=1,y=2"],
    ["hessian", "dot(x, x)", "--at", "x=[1,2,3]", "--hvp", "[1,0,0]", "--format", "json"],
    ["jvp-partial", "x*y*z**2", "--indices", "0,1,2", "--at", "x=1,y=2,z=3"],
    ["jacobian", "[x*y, x+y]", "--at", "x=1,y=2"],
    ["series", "exp(x)", "--at", "0", "--order", "5"],
    ["grad", "log(x)", "--at", "-1"],  # a warning on stderr, then the table
    ["grad", "-x**2", "--at", "2", "--precision", "32"],
    ["grad", "L(w - 0.1*diff(L(w), w))", "--def", "L(w) = (w*a - 1)**2", "--wrt", "w",
     "--at", "w=0.3,a=2", "--format", "json"],
    ["grad", "sin(x)*exp(x)", "--order", "2", "--at", "1", "--check"],  # a worker process
    ["functions"],
    ["--help"],
    ["grad", "--help"],
    ["--version"],
    ["grad", "x +", "--at", "1"],  # errors: one line, exit 2
    ["grad", "x", "--at", "y=1"],
    ["grad", "x", "--nope"],
    ["grad", "x**2", "--order", "0", "--at", "1"],
    ["cache", "info"],
    [],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a)[:40] or "(none)")
def test_forwarded_answers_equal_in_process(server, args):
    before = server.served()
    forwarded = server.run(*args)
    same(forwarded, server.here(*args))
    assert server.served() == before + 1


def test_the_callers_folder_umask_and_out_files(server, tmp_path):
    for who, run in (("here", server.here), ("there", server.run)):
        folder = tmp_path / who
        folder.mkdir()
        p = run("grad", "x**2", "--at", "0", "--at", "0.5", "-o", "out.csv", cwd=folder,
                umask=0o027)
        assert p.returncode == 0, p.stderr
    a, b = tmp_path / "here" / "out.csv", tmp_path / "there" / "out.csv"
    assert a.read_bytes() == b.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == stat.S_IMODE(b.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path / "there")) == ["out.csv"]


def test_data_from_the_callers_stdin(server, tmp_path):
    rows = "x,y\n" + "".join(f"{i},{i * 0.5}\n" for i in range(50))
    args = ["grad", "x*y**2", "--data", "-", "--format", "csv"]
    before = server.served()
    same(server.run(*args, input=rows.encode()), server.here(*args, input=rows.encode()))
    path = tmp_path / "rows.csv"
    path.write_text(rows)
    with open(path) as f1, open(path) as f2:
        same(server.run(*args, stdin=f1), server.here(*args, stdin=f2))
    assert server.served() == before + 2


def test_environment_of_the_caller(server):
    args = ["grad", "x", "--at", "1"]
    for env in ({"COLUMNS": "30"}, {"NO_COLOR": "1"}, {"AUTODX_DEBUG": "1"}):
        same(server.run(*args, env=env), server.here(*args, env=env))


def _on_terminal(server, args, columns: int, here: bool):
    """Exit status, terminal bytes and stderr of ``args`` with stdout on a terminal
    ``columns`` wide (COLUMNS unset, so the width comes from the terminal)."""
    import fcntl
    import pty
    import struct
    import termios

    main, tty = pty.openpty()
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in server.env.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", **({"AUTODX_SERVER": "off"} if here else {}))
    p = subprocess.Popen([sys.executable, "-m", "autodx", *args], stdout=tty,
                         stderr=subprocess.PIPE, env=env)
    os.close(tty)
    out = b""
    try:
        while chunk := os.read(main, 1 << 16):
            out += chunk
    except OSError:  # the terminal's other side closed
        pass
    finally:
        os.close(main)
    err = p.stderr.read()
    p.stderr.close()
    p.wait(60)
    return p.returncode, out, err


@pytest.mark.parametrize("columns", [120, 24])
def test_tables_and_colour_on_the_callers_terminal(server, columns):
    args = ["grad", "x*y*z", "--order", "2", "--at", "x=1,y=2,z=3"]
    before = server.served()
    there = _on_terminal(server, args, columns, here=False)
    here = _on_terminal(server, args, columns, here=True)
    assert there == here
    assert b"\x1b[" in there[1]  # colour: the caller's stdout is a terminal
    assert server.served() == before + 1


# ---------------------------------------------------------------- when things go wrong

def test_a_stale_socket_is_cleared_and_the_command_runs_here(fresh):
    s = fresh().start()
    for pid in s.all_pids():
        os.kill(pid, signal.SIGKILL)
    for pid in s.pids:
        _wait_gone(pid, 10)
    p = s.run(*HEADLINE)
    same(p, s.here(*HEADLINE))  # no warning: nothing was lost
    assert not os.path.exists(s.socket)


def test_a_hung_server_times_out_with_one_warning(server):
    pid = server.status()["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        p = server.run(*HEADLINE, env={"AUTODX_SERVER_TIMEOUT": "1"})
    finally:
        os.kill(pid, signal.SIGCONT)
    here = server.here(*HEADLINE)
    assert (p.returncode, p.stdout) == (here.returncode, here.stdout)
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "stopped answering" in \
        lines[0]


def _busy_worker(server) -> int:
    def busy():
        return [w["pid"] for w in server.status()["workers"] if w["busy"]]
    assert server.wait(lambda: busy(), 60)
    return busy()[0]


def test_a_server_dying_mid_command_leaves_the_answer_to_the_caller(server, tmp_path):
    assert server.wait(lambda: server.ready_workers() == 2)
    out = tmp_path / "r.json"
    p = subprocess.Popen([sys.executable, "-m", "autodx", *HEADLINE, "-o", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(server.env, AUTODX_SERVER_TEST_PAUSE="30"))
    os.kill(_busy_worker(server), signal.SIGKILL)  # as the kernel's OOM killer would
    stdout, stderr = p.communicate(timeout=120)
    here = server.here(*HEADLINE, "-o", str(tmp_path / "h.json"))
    assert p.returncode == 0 and stdout == b""
    lines = stderr.decode().splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: ") and "stopped" in lines[0]
    assert lines[1] == here.stderr.decode().strip().replace("h.json", "r.json")
    assert json.loads(out.read_text()) == json.loads((tmp_path / "h.json").read_text())
    assert sorted(os.listdir(tmp_path)) == ["h.json", "r.json"]
    assert server.wait(lambda: server.ready_workers() == 2)  # replaced
    before = server.served()
    same(server.run(*HEADLINE), server.here(*HEADLINE))
    assert server.served() == before + 1


def test_ctrl_c_in_the_client_ends_the_command_not_the_server(server):
    assert server.wait(lambda: server.ready_workers() == 2)
    p = subprocess.Popen([sys.executable, "-m", "autodx", *HEADLINE], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         env=dict(server.env, AUTODX_SERVER_TEST_PAUSE="30"))
    worker = _busy_worker(server)
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert (p.returncode, stdout, stderr) == (130, b"", b"error: interrupted\n")
    assert server.wait(lambda: not _alive(worker), 10)  # the command stopped with it
    assert server.wait(lambda: server.ready_workers() == 2)
    before = server.served()
    same(server.run(*HEADLINE), server.here(*HEADLINE))
    assert server.served() == before + 1


def test_eight_clients_at_once(server):
    before = server.served()
    results = {}

    def one(i):
        results[i] = server.run("grad", "x**3", "--at", str(i), "--format", "plain")
    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, p in results.items():
        assert p.returncode == 0 and p.stderr == b"", p.stderr
        assert [float(v) for v in p.stdout.split()] == [3 * i ** 2]
    assert server.served() == before + 8


def test_an_escaping_error_answers_as_in_process_and_the_server_goes_on(server):
    args = ["grad", "x +", "--at", "1"]
    env = {"AUTODX_DEBUG": "1"}
    p, here = server.run(*args, env=env), server.here(*args, env=env)
    assert p.returncode == here.returncode == 1
    assert b"Traceback" in p.stderr and p.stderr.splitlines()[-1] == here.stderr.splitlines()[-1]
    same(server.run(*HEADLINE), server.here(*HEADLINE))


def test_a_command_over_the_memory_bound_runs_here(fresh):
    s = fresh(AUTODX_SERVER_MEMORY_MB="1", AUTODX_SERVER_WORKERS="1").start()
    args = ["grad", "sin(x)*exp(x)/(1+x**2)+cos(3*x)*tanh(x)", "--order", "20", "--at", "0.5"]
    same(s.run(*args), s.here(*args))
    assert s.served() == 0


def test_another_autodx_makes_the_server_exit(fresh):
    s = fresh().start()
    pid = s.status()["pid"]
    hello = client.hello("run")
    hello["identity"]["source"] = "0" * 64
    with client.connect(s.socket) as sock:
        client.send_json(sock, hello)
        kind, _ = client.recv_frame(sock)
    assert kind == client.FALLBACK
    assert s.wait(lambda: not _alive(pid), 20)
    same(s.run(*HEADLINE), s.here(*HEADLINE))


def test_other_engine_settings_run_here_and_the_server_stays(server):
    before = server.served()
    env = {"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    same(server.run(*HEADLINE, env=env), server.here(*HEADLINE, env=env))
    assert server.served() == before


def test_off_never_forwards(server):
    before = server.served()
    p = server.run(*HEADLINE, env={"AUTODX_SERVER": "off"})
    assert p.returncode == 0
    assert server.served() == before


def test_auto_starts_one_and_it_exits_when_idle(fresh):
    s = fresh(AUTODX_SERVER="auto", AUTODX_SERVER_IDLE="5")
    same(s.run(*HEADLINE), s.here(*HEADLINE))  # this one runs here
    assert s.wait(lambda: os.path.exists(s.socket), 60)
    assert s.wait(lambda: s.run("server", "status").returncode == 0, 60)
    s.pids |= s.all_pids()
    assert s.wait(lambda: not os.path.exists(s.socket), 60)  # idle: gone by itself
    assert s.run("server", "status").returncode == 3


def test_the_source_hash_is_the_program_caches():
    from autodx import progcache

    assert client.source_hash() == progcache._source_hash()


def test_the_client_imports_nothing_heavy_before_forwarding(server):
    p = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autodx", "--help"], capture_output=True,
        env=server.env, timeout=60)
    assert p.returncode == 0 and b"Usage" in p.stdout
    modules = {line.split("|")[-1].strip().split(".")[0]
               for line in p.stderr.decode().splitlines() if line.startswith("import time:")}
    assert not modules & {"jax", "numpy", "rich", "typer", "click"}, modules & {
        "jax", "numpy", "rich", "typer", "click"}


def test_a_distributed_command_is_never_forwarded(server, tmp_path):
    """A process of a --distributed job joins the job itself: with a server running it
    runs in-process (here it stops at the missing job configuration, as it would with
    no server), and the server serves nothing."""
    (tmp_path / "d.csv").write_text("x\n1\n2\n")
    before = server.served()
    env = {k: "" for k in ("AUTODX_COORDINATOR", "AUTODX_NUM_PROCESSES",
                           "AUTODX_PROCESS_ID")}
    there = server.run("grad", "x**2", "--data", "d.csv", "--distributed", "-o", "o.csv",
                       cwd=tmp_path, env=env)
    here = server.here("grad", "x**2", "--data", "d.csv", "--distributed", "-o", "o.csv",
                       cwd=tmp_path, env=env)
    assert (there.returncode, there.stdout, there.stderr) == \
        (here.returncode, here.stdout, here.stderr)
    assert server.served() == before
    assert b"warm engine" not in there.stderr
