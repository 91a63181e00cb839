"""An audit hook that makes "nothing in the input ran" a checked claim, not a hope.

The hostile-input fuzzer (benchmarks/fuzz.py) and the suite (tests/test_hostile.py)
run autodx's commands while a ``sys.addaudithook`` hook watches what the interpreter
does, in the command's own process and in every Python process it starts:

    auditor = audit.install()
    with auditor.example(texts=[expr, *defs], paths=[folder, cache]) as report:
        CliRunner().invoke(app, argv)
    assert report.findings == []

Children (the symbolic worker; ``python -m autodx.server`` started by ``autodx server
start`` and the workers it forks) are reached without touching autodx: while an
example runs, ``PYTHONPATH`` starts with a folder of our own that holds a
``sitecustomize.py`` (``python -P`` leaves PYTHONPATH alone; only ``-I``/``-E``/``-S``
would skip it, and a child that never says hello is visible, see
:attr:`Report.children`). It installs the same hook for the child's whole life and
appends findings to the log file named by ``AUTODX_AUDIT_LOG``; the example's texts
reach it through the file named by ``AUTODX_AUDIT_CONTEXT``.

What is a finding (while an example runs; in a child, at any time):

- ``compile``/``exec`` of code whose text holds the canary (``AUTODX_PWNED``, planted in
  hostile inputs), equals one of the example's input texts, contains one of them (6+
  characters), or, when compiled by code that is not a known library, is a fragment of
  one (2+ characters). Python evaluates annotations and builds dataclasses and
  namedtuples from templates of its own (typing, inspect, dataclasses, collections) and
  compiles modules it imports: those are held to the canary alone. jax, sympy and numpy
  compile plenty of their own code, so matching is on the input, never on "any compile".
- ``os.system``, ``os.exec*``, ``os.posix_spawn``, ``os.spawn*``, ``os.fork``, and any
  network connection.
- ``subprocess.Popen`` of anything but :data:`EXPECTED_CHILDREN`.
- a file opened for writing, removed, renamed, chmod-ed, linked or made outside the
  expected paths: the example's folders, ``/dev/null``, names ``tempfile.mkstemp`` made
  during the example, and ``__pycache__/*.pyc`` (Python caching the bytecode of a module
  that changed under it).
- an import of a module named in the input (a dotted part of its name is a word of
  the input) that is neither a dependency (:data:`LIBRARIES`), nor imported by name in
  autodx's source, nor a standard module that a dependency imports for itself; and an
  import of a module in :data:`DANGEROUS` by code that is not a known library.
- unpickling (``pickle.find_class``) anywhere but in JAX's loader of compiled programs,
  and there of anything outside jax/jaxlib/numpy/ml_dtypes: data files are never
  unpickled; ``marshal.loads`` anywhere but in the import system.
- ``ctypes`` used by anything but a known library, except :data:`WHITELIST`.

The whitelist (:data:`WHITELIST`) is what autodx itself does on purpose, by module:
the symbolic worker loads libc with ``ctypes.CDLL(None)`` and calls
``prctl(PR_SET_PDEATHSIG)`` so that it dies with its parent (and imports ``ctypes``
and ``subprocess``); the warm engine's client and server use a Unix socket, the client
starts ``python -m autodx.server`` detached, and the server forks its workers.

Only the standard library is imported here: the module runs inside sitecustomize.
"""
from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import sys
import threading

CANARY = "AUTODX_PWNED"
ENV_LOG = "AUTODX_AUDIT_LOG"
ENV_CONTEXT = "AUTODX_AUDIT_CONTEXT"
HERE = os.path.abspath(__file__)

# The only processes autodx starts: the symbolic worker (python -P -m ...).
EXPECTED_CHILDREN = (("-P", "-m", "autodx.check.worker"),)

# Dependencies (and their dependencies): their own compiles, imports and ctypes calls
# are theirs, not the input's. autodx is not among them: its code is what is watched.
LIBRARIES = frozenset("""
    jax jaxlib numpy scipy sympy mpmath ml_dtypes opt_einsum typer click rich
    markdown_it mdurl pygments shellingham typing_extensions importlib_metadata zipp
    hypothesis _pytest pytest pluggy attr sortedcontainers gmpy2 flint
""".split())

# Code that builds and compiles code from templates of its own or the module files it
# imports: only the canary counts there.
TEMPLATES = frozenset("""
    typing inspect dataclasses collections enum functools runpy importlib
    importlib._bootstrap importlib._bootstrap_external zipimport pkgutil
""".split())

# Modules whose import by non-library code would mean the input reached further than
# the parser: code execution, serialization, processes, network.
DANGEROUS = frozenset("""
    pickle _pickle shelve marshal ctypes _ctypes subprocess _posixsubprocess pty code
    codeop socket _socket ssl webbrowser multiprocessing http urllib ftplib smtplib
    telnetlib xmlrpc asyncio pdb bdb
""".split())

# (origin module, event, detail) that autodx does on purpose; detail None = any.
WHITELIST = (
    # the symbolic worker: prctl(PR_SET_PDEATHSIG) through libc, so that it dies with
    # the command that started it (the worker is itself started with subprocess)
    ("autodx.check.worker", "import", "ctypes"),
    ("autodx.check.worker", "import", "_ctypes"),
    ("autodx.check.worker", "import", "ctypes._endian"),
    ("autodx.check.worker", "ctypes.dlopen", None),    # CDLL(None): the process itself
    ("autodx.check.worker", "ctypes.dlsym", "prctl"),
    ("autodx.check.worker", "ctypes.get_errno", None),
    ("autodx.check.worker", "ctypes.set_errno", None),
    ("autodx.check.worker", "import", "subprocess"),
    ("autodx.check.worker", "import", "_posixsubprocess"),
    # the warm engine: a Unix socket private to the user, a server started detached
    # (python -m autodx.server), and its workers forked before JAX is imported
    ("autodx.client", "import", "socket"),
    ("autodx.server", "import", "socket"),
    ("autodx.server_worker", "import", "socket"),
    ("autodx.client", "socket.connect", "unix"),
    ("autodx.server", "socket.bind", "unix"),
    ("autodx.server", "socket.sendmsg", "unix"),  # hands a client's fds to a worker
    ("autodx.client", "os.posix_spawn", ("-m", "autodx.server")),
    ("autodx.server", "os.fork", None),
)

_PROCESS_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                   "os.forkpty", "os.startfile", "pty.spawn")
_NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
                   "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request",
                   "http.client.connect", "ftplib.connect", "smtplib.connect",
                   "webbrowser.open", "imaplib.open", "poplib.connect", "nntplib.connect",
                   "telnetlib.Telnet.open")
# event -> positions of the path arguments it touches (for writes, removals, renames)
# Those of _NAMES act on the name itself, not on what a symlink there points to.
_NAMES = {"os.remove", "os.rmdir", "os.rename", "shutil.rmtree", "shutil.move",
          "os.link", "os.symlink", "os.mkdir"}
_PATH_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1),
                "shutil.rmtree": (0,), "shutil.move": (0, 1), "shutil.copyfile": (1,),
                "shutil.copytree": (1,), "os.chmod": (0,), "os.chown": (0,),
                "os.truncate": (0,), "os.link": (0, 1), "os.symlink": (1,),
                "os.mkdir": (0,), "os.utime": (0,), "os.setxattr": (0,),
                "os.removexattr": (0,), "os.chflags": (0,)}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_TEXT = 1 << 20  # characters of each input text matched against compiled code


def _root(module: str | None) -> str:
    return (module or "").split(".")[0]


def _stdlib() -> frozenset:
    return frozenset(getattr(sys, "stdlib_module_names", ()))


def _autodx_imports() -> frozenset:
    """Every module named by an import statement in autodx's source (e.g. ``csv``,
    which ``--out x.csv`` makes autodx import): expected whatever the input says."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("autodx")
        top = os.path.dirname(spec.origin)
    except Exception:
        return frozenset()
    names = set()
    for folder, _, files in os.walk(top):
        for name in files:
            if not name.endswith(".py"):
                continue
            try:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    tree = ast.parse(f.read())
            except (OSError, SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
    return frozenset(n for name in names for n in _prefixes(name))


def _prefixes(name: str):
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


class Context:
    """What one example handed to autodx, and where it may write."""

    def __init__(self, texts=(), paths=(), autodx=None):
        self.autodx = autodx  # autodx's own imports, computed once by the harness
        self.texts = [t[:_MAX_TEXT] for t in (_as_text(t) for t in texts) if t]
        self.stripped = {t.strip() for t in self.texts if t.strip()}
        self.words = {w for t in self.texts for w in _WORD.findall(t)}
        self.paths = [os.path.realpath(p) for p in paths if p]
        self.made: set[str] = set()  # names tempfile.mkstemp returned

    def to_json(self) -> str:
        return json.dumps({"texts": self.texts, "paths": self.paths,
                           "autodx": sorted(self.autodx or ())})

    @classmethod
    def from_json(cls, text: str) -> "Context":
        data = json.loads(text)
        return cls(data.get("texts", ()), data.get("paths", ()), data.get("autodx"))


def _as_text(t) -> str:
    if isinstance(t, (bytes, bytearray)):
        return bytes(t).decode("latin-1")
    return str(t)


class Report:
    """What one example did: ``findings`` (dicts, empty when all is well) and
    ``children`` (the Python processes that installed the hook and said hello)."""

    def __init__(self):
        self.findings: list[dict] = []
        self.children: list[dict] = []
        self.started: list[list] = []  # argv of the processes the example started


class Auditor:
    """The hook of this process. Use :func:`install` (one per process: a hook cannot be
    removed, so it stays, idle, once an example is over)."""

    def __init__(self, log: str, child: bool = False, context: Context | None = None):
        self.log = os.path.realpath(log)
        self.child = child
        self.context = context
        self.active = child
        self.started: list[list] = []
        self._local = threading.local()
        self._stdlib = _stdlib()
        self._autodx: frozenset | None = None  # autodx's own imports, when first needed
        self._site = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the hook

    def hook(self, event: str, args: tuple) -> None:
        if not self.active or getattr(self._local, "busy", False):
            return
        check = _CHECKS.get(event)
        if check is None:
            if event.startswith("ctypes."):
                check = Auditor._ctypes
            elif event.startswith(_PROCESS_EVENTS):
                check = Auditor._process
            else:
                return
        self._local.busy = True
        try:
            found = check(self, event, args)
            if isinstance(found, tuple):  # (the event it stands for, detail)
                self._record(*found)
            elif found:
                self._record(event, found)
        except Exception as e:  # the hook must never change what the program does
            self._record("audit-hook-error", f"{type(e).__name__}: {e}")
        finally:
            self._local.busy = False

    def _record(self, event: str, detail: str) -> None:
        entry = {"kind": "finding", "pid": os.getpid(), "child": self.child,
                 "event": event, "detail": detail[:500], "where": _where()}
        self._append(entry)

    def _append(self, entry: dict) -> None:
        line = (json.dumps(entry, default=repr) + "\n").encode()
        with self._lock:
            fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    # ------------------------------------------------------------ the checks

    def _compile(self, event, args):
        source = args[0]
        if isinstance(source, ast.AST):
            source = ast.unparse(source)
        if isinstance(source, (bytes, bytearray)):
            source = bytes(source).decode("utf-8", "replace")
        if not isinstance(source, str):
            return None
        origin = _origin()
        if origin == "ast":  # ast.parse: a tree, not code (compiling it is checked)
            return None
        if CANARY.lower() in source.lower():
            return f"compiled code holding the canary: {source[:200]!r}"
        filename = args[1] if len(args) > 1 else None
        if _is_file(filename) or origin in TEMPLATES or _root(origin) in TEMPLATES:
            return None
        return self._matches_input(source, library=_root(origin) in LIBRARIES)

    def _matches_input(self, source: str, library: bool) -> str | None:
        ctx = self.context
        if ctx is None:
            return None
        code = source.strip()
        if code in ctx.stripped:
            return f"compiled code equal to an input text: {code[:200]!r}"
        for text in ctx.texts:
            t = text.strip()
            if len(t) >= 6 and t in source:
                return f"compiled code containing an input text: {t[:200]!r}"
            if not library and len(code) >= 2 and code in text:
                return f"compiled a fragment of an input text: {code[:200]!r}"
        return None

    def _exec(self, event, args):
        code = args[0]
        if not hasattr(code, "co_consts"):
            return None
        if code.co_name == "<module>" and _is_file(code.co_filename):
            # a module's body run by the import system: importlib.import_module raises
            # no "import" event of its own, so this is where it shows
            name = _module_being_run()
            found = self._import("import", (name,)) if name else None
            return ("import", found) if found else None
        if _is_file(code.co_filename):
            return None
        if _code_mentions(code, CANARY):
            return f"ran code holding the canary ({code.co_filename})"
        return None

    def _process(self, event, args):
        if event == "os.posix_spawn" and _in_stack(("subprocess",)):
            return None  # subprocess.Popen's own way of starting: its event is checked
        argv = args[1] if event == "os.posix_spawn" and len(args) > 1 else None
        detail = tuple(map(str, argv[1:])) if isinstance(argv, (list, tuple)) else None
        if _allowed(_origin(), event, detail):
            return None
        return f"{event}: {_short(args)}"

    def _popen(self, event, args):
        executable, argv = args[0], args[1]
        if isinstance(argv, (str, bytes)):
            argv = [argv]
        argv = [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a)
                for a in (argv or [])]
        self.started.append(argv)
        if self.child:
            return f"a child process started {argv!r}"
        if executable not in (None, sys.executable) or not argv or \
                argv[0] != sys.executable or tuple(argv[1:]) not in EXPECTED_CHILDREN:
            return f"started an unexpected process {argv!r}"
        return None

    def _network(self, event, args):
        sock = args[0] if args else None
        address = args[1] if len(args) > 1 else None
        unix = isinstance(address, (str, bytes)) or \
            getattr(sock, "family", None) == getattr(_socket_module(), "AF_UNIX", -1)
        if unix and _allowed(_origin(), event, "unix"):
            return None  # a Unix socket, where autodx means to use one
        return f"{event}: {_short(args)}"

    def _open(self, event, args):
        path, mode, flags = (list(args) + [None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                  (isinstance(flags, int) and flags & _WRITE_FLAGS)
        if not writing or isinstance(path, int) or path is None:
            return None
        return self._outside(event, path)

    def _paths(self, event, args):
        for i in _PATH_EVENTS[event]:
            if i < len(args) and args[i] is not None and not isinstance(args[i], int):
                found = self._outside(event, args[i], follow=event not in _NAMES)
                if found:
                    return found
        return None

    def _outside(self, event, path, follow: bool = True) -> str | None:
        try:
            path = os.path.abspath(os.fsdecode(path))
            real = os.path.realpath(path) if follow else os.path.join(
                os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        except (TypeError, ValueError):
            return f"{event} of an odd path {path!r}"
        if real == self.log or real == os.devnull or _is_pyc(real):
            return None
        ctx = self.context
        if ctx is not None:
            if real in ctx.made:
                return None
            for allowed in ctx.paths:
                if real == allowed or real.startswith(allowed.rstrip(os.sep) + os.sep):
                    return None
        return f"{event} outside the expected folders: {real}"

    def _mkstemp(self, event, args):
        if self.context is not None and args:
            self.context.made.add(os.path.realpath(os.fsdecode(args[0])))
        return None

    def _import(self, event, args):
        module = args[0]
        if not isinstance(module, str):
            return None
        origin = _origin(skip=_IMPORTING)
        if _allowed(origin, "import", module):
            return None
        root, origin_root = _root(module), _root(origin)
        library = origin_root in LIBRARIES or origin_root in self._stdlib
        if root in DANGEROUS and not library:
            return f"imported {module} (from {origin})"
        ctx = self.context
        if ctx is None or not (set(module.split(".")) & ctx.words):
            return None
        if root in LIBRARIES or root == "autodx" or (library and root in self._stdlib):
            return None
        if self._autodx is None:
            self._autodx = frozenset(ctx.autodx) if ctx.autodx is not None \
                else _autodx_imports()
        if module in self._autodx or root in self._autodx:
            return None
        return f"imported {module}, a name in the input (from {origin})"

    def _find_class(self, event, args):
        module, name = args[0], args[1]
        if _in_stack(("jax.experimental.serialize_executable",
                      "jax._src.serialize_executable")):
            if _root(module) in ("jax", "jaxlib", "numpy", "ml_dtypes"):
                return None
            return f"a compiled program names {module}.{name}"
        return f"unpickled {module}.{name} outside JAX's program loader"

    def _marshal(self, event, args):
        if _root(_origin(skip=())) in ("importlib", "_frozen_importlib",
                                        "_frozen_importlib_external", "zipimport"):
            return None
        return "marshal.loads outside the import system"

    def _ctypes(self, event, args):
        origin = _origin(skip=("ctypes",) + _IMPORTING)
        detail = args[1] if event == "ctypes.dlsym" and len(args) > 1 else None
        if _allowed(origin, event, detail):
            return None
        if _root(origin) in LIBRARIES:
            return None
        return f"{event} {_short(args)} from {origin}"

    # ------------------------------------------------------------ examples

    @contextlib.contextmanager
    def example(self, texts=(), paths=()):
        """Watch one example: ``texts`` are what it hands autodx (EXPR, --def, --at,
        data file contents, ...), ``paths`` the folders it may write (its own, the
        compile cache). Yields a :class:`Report`, filled in when the block ends."""
        report = Report()
        if self._autodx is None:
            self._autodx = _autodx_imports()
        self.context = Context(texts, paths, self._autodx)
        context_file = self.log + ".context"
        with open(context_file, "w", encoding="utf-8") as f:
            f.write(self.context.to_json())
        saved = {k: os.environ.get(k) for k in ("PYTHONPATH", ENV_LOG, ENV_CONTEXT)}
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [self.site_folder()] + ([saved["PYTHONPATH"]] if saved["PYTHONPATH"] else []))
        os.environ[ENV_LOG] = self.log
        os.environ[ENV_CONTEXT] = context_file
        self.started = []
        self.active = True
        try:
            yield report
        finally:
            self.active = False
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            report.started = self.started
            for entry in self.drain():
                (report.children if entry.get("kind") == "child"
                 else report.findings).append(entry)

    def drain(self) -> list[dict]:
        """The log's entries so far, and an empty log."""
        try:
            with open(self.log, "r+", encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
                f.seek(0)
                f.truncate()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"kind": "finding", "event": "log", "detail": line[:500]})
        return out

    def site_folder(self) -> str:
        """A folder holding the sitecustomize.py that installs this hook in children."""
        if self._site is None:
            folder = self.log + ".site"
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "sitecustomize.py"), "w") as f:
                f.write(_SITECUSTOMIZE.format(path=HERE))
            self._site = folder
        return self._site


_CHECKS = {
    "compile": Auditor._compile,
    "exec": Auditor._exec,
    "subprocess.Popen": Auditor._popen,
    "open": Auditor._open,
    "tempfile.mkstemp": Auditor._mkstemp,
    "import": Auditor._import,
    "pickle.find_class": Auditor._find_class,
    "marshal.loads": Auditor._marshal,
    "marshal.load": Auditor._marshal,
    **{e: Auditor._network for e in _NETWORK_EVENTS},
    **{e: Auditor._paths for e in _PATH_EVENTS},
}

_SITECUSTOMIZE = '''\
# Written by benchmarks/audit.py: install the audit hook in this Python process.
import importlib.util as _u, sys as _s
_spec = _u.spec_from_file_location("autodx_audit", {path!r})
_m = _u.module_from_spec(_spec)
_s.modules["autodx_audit"] = _m
_spec.loader.exec_module(_m)
_m.install_child()
'''


def _frames():
    """The frames of the program around the hook, innermost first (this module's own
    frames left out)."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_globals is not _GLOBALS:
            yield f
        f = f.f_back


_GLOBALS = globals()
_SKIP = ("importlib", "_frozen_importlib", "_frozen_importlib_external", "ctypes",
         "pickle", "subprocess", "os", "tempfile", "shutil", "io", "_pyio", "codecs",
         "pathlib", "posixpath", "genericpath", "runpy", "contextlib", "socket")


_IMPORTING = ("importlib", "_frozen_importlib", "_frozen_importlib_external")


def _module_of(f) -> str:
    """The module a frame runs in; ``python -m NAME``'s ``__main__`` is NAME."""
    name = f.f_globals.get("__name__") or ""
    if name == "__main__":
        spec = f.f_globals.get("__spec__")
        name = getattr(spec, "name", None) or name
    return name


def _origin(skip=_SKIP) -> str | None:
    """The module of the first frame (innermost first) that is not plumbing."""
    for f in _frames():
        name = _module_of(f)
        if skip and (name in skip or _root(name) in skip):
            continue
        return name
    return None


def _in_stack(modules) -> bool:
    return any(_module_of(f) in modules for f in _frames())


def _socket_module():
    return sys.modules.get("socket")


def _module_being_run() -> str | None:
    """The name of the module whose body importlib is executing, if it is."""
    for f in _frames():
        if f.f_code.co_name == "_call_with_frames_removed":
            args = f.f_locals.get("args") or ()
            if len(args) > 1 and isinstance(args[1], dict):
                return args[1].get("__name__")
            return None
    return None


def _where() -> str:
    out = []
    for f in _frames():
        name = _module_of(f) or "?"
        if _root(name) in _IMPORTING:
            continue
        out.append(f"{name}:{f.f_code.co_name}:{f.f_lineno}")
        if len(out) == 6:
            break
    return " <- ".join(out)


def _allowed(origin, event, detail) -> bool:
    for o, e, d in WHITELIST:
        if origin == o and event == e and (d is None or d == detail):
            return True
    return False


def _is_file(filename) -> bool:
    return isinstance(filename, str) and not filename.startswith("<") and \
        filename.endswith((".py", ".pyw")) and os.path.isfile(filename)


def _is_pyc(path: str) -> bool:
    return f"{os.sep}__pycache__{os.sep}" in path and ".pyc" in os.path.basename(path)


def _code_mentions(code, needle: str, depth: int = 0) -> bool:
    if depth > 20:
        return False
    low = needle.lower()
    if any(low in n.lower() for n in code.co_names + code.co_varnames):
        return True
    for c in code.co_consts:
        if isinstance(c, str) and low in c.lower():
            return True
        if hasattr(c, "co_consts") and _code_mentions(c, needle, depth + 1):
            return True
    return False


def _short(args) -> str:
    text = repr(args)
    return text if len(text) <= 300 else text[:300] + "..."


_AUDITOR: list[Auditor] = []


def install(log: str | None = None) -> Auditor:
    """The auditor of this process, installing the hook on the first call. ``log`` is the
    file findings go to (default: a new file in the temporary folder)."""
    if _AUDITOR:
        return _AUDITOR[0]
    if log is None:
        import atexit
        import shutil
        import tempfile

        fd, log = tempfile.mkstemp(prefix="autodx-audit-", suffix=".log")
        os.close(fd)
        for path in (log, log + ".context"):
            atexit.register(lambda p=path: os.path.exists(p) and os.remove(p))
        atexit.register(shutil.rmtree, log + ".site", True)
    auditor = Auditor(log)
    sys.addaudithook(auditor.hook)
    _AUDITOR.append(auditor)
    return auditor


def install_child() -> None:
    """Called by the generated sitecustomize: watch this whole process, and say hello
    (so a harness can tell that its children were watched)."""
    log = os.environ.get(ENV_LOG)
    if not log or _AUDITOR:
        return
    context = None
    try:
        with open(os.environ.get(ENV_CONTEXT, ""), encoding="utf-8") as f:
            context = Context.from_json(f.read())
    except (OSError, ValueError):
        pass
    auditor = Auditor(log, child=True, context=context)
    auditor._append({"kind": "child", "pid": os.getpid(), "argv": list(sys.orig_argv)
                     if hasattr(sys, "orig_argv") else list(sys.argv)})
    sys.addaudithook(auditor.hook)
    _AUDITOR.append(auditor)
    _chain_sitecustomize()


def _chain_sitecustomize() -> None:
    """Run the sitecustomize ours shadows, if there is one."""
    import importlib.machinery

    ours = os.path.dirname(os.path.abspath(sys.modules["sitecustomize"].__file__)) \
        if "sitecustomize" in sys.modules and getattr(
            sys.modules["sitecustomize"], "__file__", None) else None
    rest = [p for p in sys.path if os.path.abspath(p or ".") != ours]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        import importlib.util

        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
