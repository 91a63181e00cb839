"""Expressions as LaTeX, for Jupyter (``_repr_latex_``): texts in autodx's language are
parsed (never ``sympify``), translated into sympy by :mod:`autodx.check.sympy_view`
and printed by ``sympy.latex``, in a process of its own, under a time and memory
limit: sympy has no bound of its own on what a short expression costs
(``9**9**9*x``), and a notebook must not hang on showing one.

``python -P -m autodx.check.latex`` reads one JSON request on stdin (``texts``,
``defs``, ``names``) and writes JSON lines: first the LaTeX of each variable name, then
that of each text in turn (None where it cannot be made), so that the texts done when
time runs out are kept.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

MODULE = "autodx.check.latex"
TIMEOUT = 10.0          # seconds a reply may take, sympy's import included
MEMORY_LIMIT = 2 << 30  # bytes of address space the process may use


def latex(texts: list[str], defs: list[str], names: list[str],
          timeout: float = TIMEOUT) -> tuple[dict[str, str], list[str | None]]:
    """How sympy writes each variable name in LaTeX (``theta`` is ``\\theta``, ``x10``
    ``x_{10}``; the name itself where it cannot say), and the LaTeX of each text (with
    helper definitions ``defs``; ``names`` are the variables, all numbers), None for a
    text that sympy cannot write in time.

    Example:
        >>> latex(["sin(theta)*y", "x10**2"], [], ["theta", "x10", "y"])[1]
        ['y \\\\sin{\\\\left(\\\\theta \\\\right)}', 'x_{10}^{2}']
    """
    lines = ask({"texts": texts, "defs": defs, "names": names}, timeout)
    shown = lines[0] if lines else {n: n for n in names}
    return shown, (lines[1:] + [None] * len(texts))[:len(texts)]


def ask(request: dict, timeout: float) -> list:
    """Run the request in a fresh process: the reply lines it wrote before it ended or
    ran out of time."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    try:
        done = subprocess.run([sys.executable, "-P", "-m", MODULE], input=json.dumps(request),
                              capture_output=True, text=True, timeout=timeout, env=env)
        out = done.stdout
    except subprocess.TimeoutExpired as e:  # what it wrote before is kept
        out = e.stdout or ""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
    except OSError:
        return []
    lines = []
    for line in out.split("\n"):
        try:
            lines.append(json.loads(line))
        except ValueError:
            break
    return lines


def _limit(seconds: float) -> None:
    """Bound this process itself, so it ends even if its parent is killed first."""
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        cpu = int(seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    except (ImportError, ValueError, OSError):
        pass


def _one(text: str, defs: list[str], env: dict) -> str | None:
    import sympy as sp

    from ..errors import AutodxError
    from ..parse import parse_expression
    from .sympy_view import to_sympy

    try:
        tree, helpers, _ = parse_expression(text, defs)
        value = to_sympy(tree, helpers, env)
        return None if isinstance(value, list) else sp.latex(value)
    except (AutodxError, ArithmeticError, TypeError, ValueError, RecursionError,
            MemoryError, NotImplementedError):
        return None


def _main() -> None:
    _limit(TIMEOUT)
    import sympy as sp

    from .sympy_view import symbols

    request = json.loads(sys.stdin.read())
    names = list(request["names"])
    env = symbols(dict.fromkeys(names))
    _write({n: sp.latex(sp.Symbol(n)) for n in names})
    for text in request["texts"]:
        _write(_one(text, request["defs"], env))


def _write(item) -> None:
    sys.stdout.write(json.dumps(item) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _main()
