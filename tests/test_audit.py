"""The audit hook (benchmarks/audit.py) catches what the hostile-input tests claim never
happens. Code planted in autodx at runtime (an ``eval`` in the tokenizer, a shell
command, a stray process, a write, an import, an unpickling) is found through the CLI,
in the command's process and in the symbolic worker it starts; the real CLI, doing
everything it does, gives no finding."""
from __future__ import annotations

import ctypes
import importlib
import os
import pickle
import re
import subprocess
import sys

import pytest

import autodx.parse
from hostile import CANARY, Example, audit, invoke, run_example

CACHE = os.environ.get("AUTODX_CACHE_DIR", "")


class Marker:
    """Pickled and unpickled by a plant: what loading a pickle from user data looks like."""


def _run(tmp_path, argv, **kw):
    outcome, _ = run_example(invoke, Example("audit", argv, **kw), str(tmp_path), [CACHE])
    return outcome


_WRAPPER = """
def tokenize(text, *args, **kwargs):
    seen.append(text)
    try:
        {body}
    except Exception:
        pass
    return original(text, *args, **kwargs)
"""


@pytest.fixture
def plant(monkeypatch, tmp_path):
    """``plant(body)``: the tokenizer also runs the statement ``body`` on every text it
    reads (errors swallowed, as a careless parser would), as code of autodx.parse
    itself, so the hook sees it where such a bug would be. Returns the texts it saw,
    so a test can tell that the plant was reached."""
    seen: list[str] = []

    def install(body):
        namespace = dict(vars(autodx.parse), seen=seen, original=autodx.parse.tokenize,
                         os=os, re=re, pickle=pickle, subprocess=subprocess,
                         importlib=importlib, ctypes=ctypes, Marker=Marker,
                         OUTSIDE=str(tmp_path / "outside.txt"))
        exec(_WRAPPER.format(body=body), namespace)
        monkeypatch.setattr(autodx.parse, "tokenize", namespace["tokenize"])
        return seen
    return install


# name -> (the planted statement, the audit event that must report it)
PLANTS = {
    "eval of the input": ("eval(text)", "compile"),
    "exec of the compiled input": ("exec(compile(text, '<input>', 'eval'))", "compile"),
    "eval of one number in it": (r"[eval(m) for m in re.findall(r'\d+\.\d+', text)]",
                                 "compile"),
    "os.system": ("os.system('true')", "os.system"),
    "a subprocess": ("subprocess.run(['true'])", "subprocess.Popen"),
    "a write outside its folders": ("open(OUTSIDE, 'w').close()", "open"),
    "a removal outside its folders": ("os.remove(OUTSIDE)", "os.remove"),
    "an import of a module the input names": (
        "[importlib.import_module(w) for w in re.findall('colorsys', text)]", "import"),
    "an unpickling": ("pickle.loads(pickle.dumps(Marker()))", "pickle.find_class"),
    "ctypes": ("ctypes.CDLL(None).getpid()", "ctypes.dlopen"),
}


@pytest.mark.parametrize("name", list(PLANTS))
def test_code_planted_in_the_parser_is_caught_through_the_cli(name, plant, tmp_path,
                                                                monkeypatch):
    body, event = PLANTS[name]
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    (tmp_path / "outside.txt").write_text("")
    seen = plant(body)
    outcome = _run(tmp_path, ["grad", "x*colorsys + 2.5", "--at", "x=1,colorsys=2"])
    assert seen, "the plant was never reached: autodx.parse no longer calls tokenize"
    assert outcome.code == 0, outcome
    found = [f for f in outcome.findings if f["event"] == event]
    assert found, (name, outcome.findings)
    assert "autodx.parse:tokenize" in found[0]["where"], found[0]


def test_without_a_plant_the_same_command_gives_no_finding(tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    outcome = _run(tmp_path, ["grad", "x*colorsys + 2.5", "--at", "x=1,colorsys=2"])
    assert outcome.code == 0 and outcome.findings == [], outcome


def test_the_canary_is_caught_wherever_it_is_compiled(tmp_path, plant):
    """A plant that builds code of its own around a piece of the input still carries
    the canary."""
    plant(f"exec('_ = ' + repr(text.split('+')[0].strip()) + '.upper()') "
          f"if {CANARY!r} in text else None")
    outcome = _run(tmp_path, ["grad", f"{CANARY} + x", "--at", f"x=1,{CANARY}=2"])
    assert any("canary" in f["detail"] for f in outcome.findings), outcome.findings


def _plant_in_children(tmp_path, monkeypatch) -> None:
    """A second sitecustomize, which ours runs after installing the hook: an eval in
    the tokenizer of every Python process the CLI starts."""
    site = tmp_path / "plant"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import autodx.parse as P\n"
        "_tokenize = P.tokenize\n"
        "def tokenize(text, *a, **k):\n"
        "    try:\n"
        "        eval(text)\n"
        "    except Exception:\n"
        "        pass\n"
        "    return _tokenize(text, *a, **k)\n"
        "P.tokenize = tokenize\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))


def test_the_hook_reaches_the_symbolic_worker(tmp_path, monkeypatch):
    """The worker (python -P -m autodx.check.worker) gets the hook from the
    sitecustomize on PYTHONPATH, says hello, and reports what is planted in it: here an
    eval in its tokenizer, planted by a second sitecustomize that ours runs after it."""
    _plant_in_children(tmp_path, monkeypatch)
    auditor = audit.install()
    with auditor.example(texts=["x*y + 2.5"], paths=[str(tmp_path), CACHE]) as report:
        code, _, stderr, _ = invoke(["grad", "x*y + 2.5", "--at", "x=1,y=2", "--symbolic"])
    assert code == 0, stderr
    assert report.children, "the worker never installed the hook"
    assert [f for f in report.findings if f["child"] and f["event"] == "compile"], \
        report.findings
    assert not [f for f in report.findings if not f["child"]], report.findings


def test_the_hook_reaches_the_warm_engine(tmp_path, monkeypatch):
    """``autodx server start`` spawns ``python -m autodx.server`` (detached), which
    forks its workers: the hook reaches all of them through the same sitecustomize. A
    command forwarded to the server, with an eval planted in the server's tokenizer,
    is caught in the server's worker; the engine's own socket, spawn and fork are the
    whitelist's, so nothing else is found in any child."""
    _plant_in_children(tmp_path, monkeypatch)
    folder = tmp_path / "server"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("AUTODX_SERVER_DIR", str(folder))
    monkeypatch.delenv("AUTODX_SERVER", raising=False)
    text = "x*y + 2.5"

    def autodx(*argv):
        return subprocess.run([sys.executable, "-m", "autodx", *argv], capture_output=True,
                              text=True, timeout=120)
    auditor = audit.install()
    with auditor.example(texts=[text], paths=[str(tmp_path), CACHE]) as report:
        try:
            started = autodx("server", "start")
            run = autodx("grad", text, "--at", "x=1,y=2", "--format", "plain")
        finally:
            autodx("server", "stop")
    assert started.returncode == 0, started.stderr
    assert run.returncode == 0 and run.stdout.split() == ["2", "1"], run
    assert any("autodx.server" in c["argv"] for c in report.children), report.children
    in_children = [f for f in report.findings if f["child"]]
    assert in_children, "the planted eval in the server was not found"
    assert {f["event"] for f in in_children} == {"compile"}, in_children


def test_the_real_cli_gives_no_finding(tmp_path):
    """Everything autodx does on purpose: compile and cache programs, read each kind of
    data file, write each kind of --out file, and start the symbolic worker (which
    loads libc with ctypes for prctl: the documented whitelist)."""
    files = {"d.csv": b"x,y\n1,2\n3,4\n"}
    for argv in (["grad", "sin(x)*y", "--at", "x=1,y=2", "--order", "3", "--check",
                  "--symbolic"],
                 ["hessian", "x*y**2", "--at", "x=1,y=2", "--out", "h.json"],
                 ["jvp-partial", "sin(z[0]*z[1])", "--indices", "0,1", "--at", "z=[1,2]",
                  "--out", "j.npy"],
                 ["grad", "x*y", "--data", "d.csv", "--out", "g.npz"],
                 ["perex", "(w*x-y)**2", "--wrt", "w", "--at", "w=1", "--data", "d.csv",
                  "--out", "p.csv"],
                 ["grad", "x +", "--at", "1"]):
        outcome = _run(tmp_path, argv, files=files, texts=list(argv))
        assert outcome.code in (0, 2), outcome
        assert outcome.findings == [], (argv, outcome.findings)


def test_the_whitelist_is_what_autodx_does():
    """Each whitelisted (module, event) is still done by that module: an entry nobody
    needs is one a planted call could hide behind."""
    import inspect

    from autodx.check import worker

    source = inspect.getsource(worker)
    assert "ctypes.CDLL(None" in source and "prctl" in source
    assert tuple(audit.EXPECTED_CHILDREN[0]) == ("-P", "-m", worker.MODULE)
    for origin, event, detail in audit.WHITELIST:
        module = importlib.import_module(origin)
        text = inspect.getsource(module)
        word = {"import": f"import {detail}".replace("import _ctypes", "import ctypes")
                .replace("import ctypes._endian", "import ctypes")
                .replace("import _posixsubprocess", "import subprocess"),
                "ctypes.dlopen": "CDLL(", "ctypes.dlsym": str(detail),
                "ctypes.get_errno": "use_errno", "ctypes.set_errno": "use_errno",
                "socket.connect": ".connect(", "socket.bind": ".bind(",
                "socket.sendmsg": "send_fds(",
                "os.posix_spawn": "posix_spawn(", "os.fork": "os.fork("}[event]
        assert word in text, (origin, event, word)
