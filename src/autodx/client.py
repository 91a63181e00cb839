"""The client side of the warm engine: forward a command to a running server.

A command is forwarded to a running server (:mod:`autodx.server`) when one answers,
and runs in-process otherwise. Forwarding is decided before anything heavy is
imported: this module uses the standard library only (no JAX, numpy, rich or typer),
so a forwarded command costs Python's start-up, a connect and the work itself.

What travels: argv, the working folder, the umask, the environment, whether stdout
and stderr are terminals and the terminal's size, the encodings of the standard
streams, and for ``--data -`` the caller's stdin (a regular file is handed over as
it is; anything else is first copied to a private temporary file, so that the command
can be run again in-process if the server fails). The server answers with the bytes
of stdout and stderr in the order they were written, and the exit status; the client
writes them only once the command has finished, so a server that fails mid-command
leaves nothing written, and the command runs here instead.

The socket is trusted only in a folder that is ours and closed to others (0700, not a
symlink), and only when the process at its other end runs as our user.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys

from . import __version__

PROTOCOL = 1
SOCKET_NAME = "server.sock"
LOCK_NAME = "server.lock"
HEADER = struct.Struct("!cI")  # kind, length
# frame kinds
JSON, OUT, ERR, BEAT, EXIT, FALLBACK = b"J", b"1", b"2", b"H", b"X", b"F"
DEFAULT_TIMEOUT = 10.0  # seconds without a word from the server: it hangs
# Variables that shape the engine when it starts (JAX, XLA, the compile cache folder,
# import-time settings of typer and rich): a caller whose values differ from the
# server's runs in-process.
_ENGINE_PREFIXES = ("JAX_", "XLA_", "TF_", "CUDA_", "NVIDIA_", "TPU_", "PJRT_", "LIBTPU",
                    "TYPER_", "_TYPER_", "PYTHON", "LD_")
_ENGINE_NAMES = ("AUTODX_CACHE_DIR", "AUTODX_NO_CACHE", "XDG_CACHE_HOME", "HOME",
                 "TERMINAL_WIDTH", "TERMINAL_COLOR_SYSTEM", "GITHUB_ACTIONS", "FORCE_COLOR",
                 "PY_COLORS", "OMP_NUM_THREADS", "LANG", "LC_ALL", "LC_CTYPE")


# ---------------------------------------------------------------- where and who

def server_dir() -> str:
    """The folder of the server's socket: AUTODX_SERVER_DIR, else
    ``$XDG_RUNTIME_DIR/autodx``, else ``autodx-UID`` in the temporary folder."""
    given = os.environ.get("AUTODX_SERVER_DIR")
    if given:
        return given
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        return os.path.join(runtime, "autodx")
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f"autodx-{os.getuid()}")


def socket_path() -> str:
    return os.path.join(server_dir(), SOCKET_NAME)


def folder_problem(folder: str) -> str | None:
    """Why ``folder`` cannot hold our socket (None when it can): it must be a real
    folder, ours, that no one else may enter."""
    try:
        info = os.lstat(folder)
    except OSError as e:
        return e.strerror or str(e)
    if not stat.S_ISDIR(info.st_mode):
        return "not a folder (or a symlink)"
    if info.st_uid != os.getuid():
        return f"owned by user {info.st_uid}"
    if stat.S_IMODE(info.st_mode) & 0o077:
        return f"open to others (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def prepare_folder(folder: str) -> str | None:
    """Make the socket's folder (0700) if needed; why it cannot be used, or None."""
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as e:
        return e.strerror or str(e)
    return folder_problem(folder)


def peer_uid(sock: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def hung_up(sock: socket.socket) -> bool:
    """The other end of ``sock`` has closed it (a caller's Ctrl-C); never waits."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except OSError as e:  # BlockingIOError: nothing to read, the caller is still there
        return not isinstance(e, BlockingIOError)


def source_hash() -> str:
    """A hash of autodx's own modules (sub-packages too), without importing JAX: the
    program cache's key and the warm engine's version check."""
    top = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for folder, _, files in sorted(os.walk(top)):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    h.update(os.path.relpath(path, top).encode() + b"\0" + f.read())
    return h.hexdigest()


def _distributions() -> dict:
    """Versions of JAX, jaxlib, their plugins and numpy, read from the names of their
    ``.dist-info`` folders (importlib.metadata alone costs 12 ms to import)."""
    found: dict = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                name, _, version = n[:-len(".dist-info")].partition("-")
                key = name.lower().replace("_", "-")
                if key.startswith(("jax", "libtpu", "numpy")):
                    found.setdefault(key, version)
    return found


def identity() -> dict:
    """What client and server must share: autodx's version and source, JAX's, Python's."""
    return {"protocol": PROTOCOL, "autodx": __version__, "source": source_hash(),
            "distributions": _distributions(), "python": sys.version, "prefix": sys.prefix}


def engine_key(env=None) -> dict:
    """The caller's settings that the engine takes once, at start-up."""
    env = os.environ if env is None else env
    keys = {k: v for k, v in env.items() if k.startswith(_ENGINE_PREFIXES) or k in _ENGINE_NAMES}
    return {"env": keys, "gid": os.getgid(), "groups": sorted(os.getgroups())}


# ---------------------------------------------------------------- frames

def send_frame(sock: socket.socket, kind: bytes, payload: bytes = b"", fds=()) -> None:
    data = HEADER.pack(kind, len(payload)) + payload
    if fds:
        sent = socket.send_fds(sock, [data], list(fds))
        data = data[sent:]
    if data:
        sock.sendall(data)


def send_json(sock: socket.socket, obj, fds=()) -> None:
    send_frame(sock, JSON, json.dumps(obj).encode(), fds)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> tuple[bytes, bytes]:
    kind, length = HEADER.unpack(_recv_exact(sock, HEADER.size))
    return kind, _recv_exact(sock, length)


def recv_request(sock: socket.socket, limit: int = 1 << 24) -> tuple[dict, list[int]]:
    """The first frame of a connection, a JSON request, with the descriptors sent
    along with it."""
    data, fds, _, _ = socket.recv_fds(sock, HEADER.size, 4)
    if len(data) < HEADER.size:
        data += _recv_exact(sock, HEADER.size - len(data))
    kind, length = HEADER.unpack(data)
    if kind != JSON or length > limit:
        raise ConnectionError("not a request")
    return json.loads(_recv_exact(sock, length)), fds


# ---------------------------------------------------------------- connecting

class Unavailable(Exception):
    """No server to forward to; the command runs in-process. ``warn`` is the one
    ``warning:`` line to print first, or empty."""

    def __init__(self, warn: str = ""):
        super().__init__(warn)
        self.warn = warn


def timeout() -> float:
    text = os.environ.get("AUTODX_SERVER_TIMEOUT", "")
    try:
        return float(text) if float(text) > 0 else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT


def connect(path: str | None = None) -> socket.socket:
    """A connection to our server, or :class:`Unavailable`. A socket with nothing
    listening (its server was killed) is removed."""
    path = path or socket_path()
    if folder_problem(os.path.dirname(path)):
        raise Unavailable()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout())
    try:
        sock.connect(path)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        sock.close()
        if isinstance(e, ConnectionRefusedError):
            _remove_stale(path)
        raise Unavailable() from None
    except OSError as e:
        sock.close()
        raise Unavailable(f"cannot reach the autodx server ({e.strerror or e}); "
                          "running the command here") from None
    if peer_uid(sock) != os.getuid():
        sock.close()
        raise Unavailable("the autodx server's socket belongs to another user; "
                          "running the command here")
    return sock


def _remove_stale(path: str) -> None:
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)


def ask(op: str, path: str | None = None) -> dict:
    """Send ``op`` (status, stop, ping) and return the server's answer."""
    sock = connect(path)
    with sock:
        send_json(sock, hello(op))
        kind, payload = recv_frame(sock)
        if kind != JSON:
            raise Unavailable("the autodx server answered out of turn")
        return json.loads(payload)


# ---------------------------------------------------------------- forwarding

def _terminal() -> dict:
    facts = {"stdout": _isatty(sys.stdout), "stderr": _isatty(sys.stderr), "size": None}
    try:
        facts["size"] = list(os.get_terminal_size(sys.__stdout__.fileno()))
    except (AttributeError, ValueError, OSError):
        pass
    return facts


def _isatty(stream) -> bool:
    with contextlib.suppress(ValueError, OSError):
        return stream is not None and stream.isatty()
    return False


def _encodings() -> dict:
    return {name: [getattr(s, "encoding", None) or "utf-8", getattr(s, "errors", None) or
                   "strict"] for name, s in (("stdin", sys.stdin), ("stdout", sys.stdout),
                                             ("stderr", sys.stderr))}


def _reads_stdin(argv: list[str]) -> bool:
    """``--data -``, however it is spelled: the only way a command reads stdin."""
    return any(a == "-" or (a.startswith("--") and a.endswith("=-")) for a in argv)


class _Stdin:
    """The caller's stdin as a descriptor the server may read, kept so that the command
    can read it once more in-process: a regular file is passed as it is (and wound
    back), anything else is first copied to a private temporary file."""

    def __init__(self):
        self.fd, self.offset, self.copy = None, 0, None
        if sys.stdin is None:
            return
        fd = sys.stdin.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            self.fd, self.offset = fd, os.lseek(fd, 0, os.SEEK_CUR)
            return
        import tempfile

        self.copy = tempfile.TemporaryFile()
        while True:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            self.copy.write(block)
        self.copy.flush()
        self.fd = self.copy.fileno()
        os.lseek(self.fd, 0, os.SEEK_SET)

    def rewind(self) -> None:
        """Make stdin what it was for the in-process run."""
        if self.fd is None:
            return
        os.lseek(self.fd, self.offset, os.SEEK_SET)
        if self.copy is not None:
            os.dup2(self.fd, 0)


def hello(op: str) -> dict:
    """The first frame of a connection: what is asked, and who asks."""
    return {"op": op, "identity": identity(), "engine": engine_key()}


def body(argv: list[str]) -> dict:
    """The second frame of a ``run``: the command and the caller's circumstances."""
    mask = os.umask(0o022)
    os.umask(mask)
    return {"argv": argv, "cwd": os.getcwd(), "umask": mask, "env": dict(os.environ),
            "terminal": _terminal(), "encodings": _encodings(),
            "closed": [n for n in ("stdin", "stdout", "stderr") if getattr(sys, n) is None]}


def forward(argv: list[str], sock: socket.socket) -> int:
    """Run ``argv`` on the server behind ``sock``; its exit status, once its output is
    written here. :class:`Unavailable` when the command must run in-process instead."""
    try:
        second = body(argv)
    except OSError as e:  # a working folder that is gone
        raise Unavailable() from e
    stdin = _Stdin() if _reads_stdin(argv) else None
    first = hello("run")
    first["stdin"] = stdin is not None and stdin.fd is not None
    try:
        _send_all(sock, first, second, [stdin.fd] if first["stdin"] else ())
        chunks, status = _collect(sock)
    except Unavailable:
        if stdin:
            stdin.rewind()
        raise
    return _write(chunks, status)


def _send_all(sock: socket.socket, first: dict, second: dict, fds) -> None:
    """Send the request. A server that hangs up before it has read it has done nothing
    (it was stopping): the command runs here, without a word."""
    try:
        send_json(sock, first, fds)
        send_json(sock, second)
    except socket.timeout:
        raise Unavailable("the autodx server stopped answering; running the command "
                          "here") from None
    except OSError:
        raise Unavailable() from None


def _collect(sock: socket.socket) -> tuple[list, int]:
    chunks = []
    try:
        while True:
            kind, payload = recv_frame(sock)
            if kind in (OUT, ERR):
                chunks.append((1 if kind == OUT else 2, payload))
            elif kind == EXIT:
                return chunks, int(json.loads(payload)["status"])
            elif kind == FALLBACK:  # not for the server (another engine, too much memory)
                raise Unavailable(json.loads(payload).get("warn", ""))
    except socket.timeout:
        raise Unavailable("the autodx server stopped answering; running the command "
                          "here") from None
    except (ConnectionError, OSError, ValueError, KeyError):
        raise Unavailable("the autodx server stopped before the command finished (out "
                          "of memory?); running the command here") from None


def _write(chunks, status: int) -> int:
    """Write the command's output as it was written, and return its exit status. A
    reader that went away ends it quietly, and a stdout that cannot take it is one
    ``error:`` line, as in-process."""
    closed = set()
    for fd, data in chunks:
        if fd in closed:
            continue
        try:
            _write_all(fd, data)
        except BrokenPipeError:
            closed.add(fd)
        except OSError as e:
            closed.add(fd)
            if fd == 1:
                from .errors import Status

                _write_all(2, f"error: cannot write the results to standard output: "
                           f"{e.strerror or e}\n".encode())
                status = Status.USAGE
    return int(status)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _mode() -> str:
    mode = os.environ.get("AUTODX_SERVER", "").strip().lower()
    return mode if mode in ("off", "auto") else ""


def try_forward(argv: list[str]) -> int | None:
    """The exit status of ``argv`` run on the server, or None: run it in-process (a
    ``warning:`` line says why when something went wrong)."""
    if _mode() == "off" or argv[:1] in (["server"], ["shell"]) or "--distributed" in argv:
        return None  # (a process of a --distributed job joins the job itself)
    try:
        sock = connect()
    except Unavailable as e:
        if e.warn:
            _write_all(2, f"warning: {e.warn}\n".encode())
        if _mode() == "auto" and not e.warn:
            start_background()
        return None
    with sock:
        try:
            return forward(argv, sock)
        except Unavailable as e:
            if e.warn:
                _write_all(2, f"warning: {e.warn}\n".encode())
            return None


def start_background() -> int | None:
    """Start a server, detached (a session of its own, no terminal), and return its
    pid at once; None when it cannot be started."""
    null = os.devnull
    actions = [(os.POSIX_SPAWN_OPEN, fd, null, os.O_RDWR, 0) for fd in (0, 1, 2)]
    try:
        return os.posix_spawn(sys.executable, [sys.executable, "-m", "autodx.server"],
                              os.environ, file_actions=actions, setsid=True)
    except OSError:
        return None
