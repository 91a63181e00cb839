"""``--symbolic`` and ``--check`` for one command, as the CLI hands them over: the worker
started at once (its import of sympy overlaps JAX's work), asked once the numbers are
known, and its reply put into the result.
"""
from __future__ import annotations

from ..errors import InputError
from ..result import Command, Result
from . import verdict
from .worker import Worker


class Session:
    """A context manager: ``with Session(...) as s: ...; s.finish(result, text, defs)``.
    With neither --symbolic nor --check it starts nothing and ``finish`` does nothing."""

    def __init__(self, symbolic: bool, check: bool, timeout: float):
        self.symbolic, self.check, self.timeout = symbolic, check, timeout
        self.worker = None
        if symbolic or check:
            verdict.check_timeout(timeout)
            self.worker = Worker()

    def finish(self, result: Result, text: str, defs: list[str]) -> None:
        """Ask the worker about ``result`` and attach its reply (symbolic, verdicts)."""
        if self.worker is None:
            return
        request = verdict.request(result, text, defs, self.check, self.symbolic)
        reply = self.worker.ask(request, self.timeout)
        verdict.attach(result, reply, self.check, self.symbolic, self.timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.worker is not None:
            self.worker.__exit__(*exc)
        return False


def formulas(command: Command, text: str, defs, wrt, timeout: float, **options) -> Result:
    """``--symbolic`` without a point: the symbolic derivatives alone, without JAX."""
    verdict.check_timeout(timeout)
    result, request = verdict.formulas(command, text, defs or (), wrt, **options)
    with Worker() as worker:
        reply = worker.ask(request, timeout)
    if reply is None:
        raise InputError(f"sympy did not finish within {timeout:g} s: raise "
                         "--symbolic-timeout, or add --at for the numbers alone")
    if "error" in reply:
        raise InputError(f"no symbolic derivative: {reply['error']}")
    result.show_symbolic, result.symbolic = True, reply["symbolic"]
    return result
