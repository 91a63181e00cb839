"""Every example in README.md and docs/*.md runs, and prints what the docs say.

```console blocks: each ``$ autodx ...`` line is run through the CLI (in a temporary
folder) and its stdout and stderr must equal the lines below it, up to trailing spaces.
```python blocks are executed and must not raise (they hold their own asserts).
"""
from __future__ import annotations

import glob
import os
import re
import shlex

import pytest

from conftest import ROOT, cli

DOCS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
_BLOCK = re.compile(r"```(console|python)\n(.*?)```", re.DOTALL)


def _examples():
    for path in DOCS:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in _BLOCK.finditer(text):
            line = text[:m.start()].count("\n") + 1
            name = f"{os.path.relpath(path, ROOT)}:{line}"
            if m.group(1) == "python":
                yield pytest.param("python", m.group(2), None, id=name)
                continue
            for command, output in _commands(m.group(2)):
                yield pytest.param("console", command, output, id=f"{name}:{command[:40]}")


def _commands(block: str):
    command, output = None, []
    for line in block.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, output
            command, output = line[2:], []
        else:
            output.append(line)
    if command is not None:
        yield command, output


def _clean(lines):
    return "\n".join(line.rstrip() for line in lines).strip("\n")


# The files the documented commands read, as the docs describe them.
FILES = {
    "points.csv": "x[0],x[1],x[2],x[3],x[4]\n1,2,3,4,5\n6,7,8,9,10\n",
    "batch.csv": "p[0],p[1],p[2],s[0],s[1],s[2]\n1,2,-1,2,1,0\n1,2,-1,2,1,0\n",
    "xs.csv": "x\n1\n2\n3\n",
    "ragged.csv": "x,y\n1,2\n3\n",
    "text.csv": "x,y\n1,2\n3,abc\n",
    "unknown.csv": "x,q\n1,2\n",
}


@pytest.mark.parametrize("kind, code, expected", list(_examples()))
def test_documented_example(kind, code, expected, tmp_cwd, monkeypatch):
    for name, text in FILES.items():
        (tmp_cwd / name).write_text(text)
    if kind == "python":
        import tempfile

        # the examples' temporary folders go where pytest cleans up, not /tmp
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_cwd))
        exec(compile(code, "<docs>", "exec"), {})
        return
    args = shlex.split(code)
    assert args[0] == "autodx", f"only autodx commands can be checked: {code}"
    run = cli(*args[1:])
    assert _clean((run.stdout + run.stderr).splitlines()) == _clean(expected), run


def test_every_doc_has_examples():
    for path in DOCS:
        if os.path.basename(path) in ("benchmarks.md", "design.md", "cli.md"):
            continue
        with open(path, encoding="utf-8") as f:
            assert _BLOCK.search(f.read()), path


def _click_neutral(text: str) -> str:
    """click 8.2 writes a choice as <a|b> and a required argument as {EXPR} where click
    8.1 (under autodx's minimum versions) writes [a|b] and EXPR: the same help."""
    text = re.sub(r"<([^<>\s]*\|[^<>\s]*)>", r"[\1]", text)
    return re.sub(r"\{([A-Z][A-Z_]*)\}", r"\1", text)


def test_cli_reference_is_current():
    import cli_docs

    with open(cli_docs.PATH, encoding="utf-8") as f:
        assert _click_neutral(f.read()) == _click_neutral(cli_docs.render()), \
            "docs/cli.md is stale: run python3 tests/cli_docs.py"


def test_the_benchmark_script_keeps_the_hostile_input_record(tmp_path):
    """benchmarks/run.py rewrites docs/benchmarks.md; the fuzz record must survive it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run",
                                                  os.path.join(ROOT, "benchmarks", "run.py"))
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    with open(os.path.join(ROOT, "docs", "benchmarks.md"), encoding="utf-8") as f:
        current = f.read()
    tail = run.kept_sections(os.path.join(ROOT, "docs", "benchmarks.md"))
    assert tail.lstrip().startswith("## Hostile input") and tail.strip() in current
    assert "10,000" in tail
    assert run.kept_sections(str(tmp_path / "missing.md")) == ""


def _modules() -> list[str]:
    package = os.path.join(ROOT, "src", "autodx")
    names = []
    for folder, _, files in os.walk(package):
        for f in sorted(files):
            if f.endswith(".py") and f != "__main__.py":
                rel = os.path.relpath(os.path.join(folder, f), os.path.dirname(package))
                names.append(rel[:-3].replace(os.sep, ".").removesuffix(".__init__"))
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples_run(name):
    """Every module's docstring examples (``>>>``) run and print what they say."""
    import doctest
    import importlib

    module = importlib.import_module(name)
    with open(module.__file__, encoding="utf-8") as f:
        has_examples = ">>>" in f.read()
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, name
    assert (result.attempted > 0) == has_examples, name  # none hidden from doctest
