"""The error edge: every failure of a command becomes one ``error:`` line on stderr and
an exit status from :class:`autodx.errors.Status`; Python warnings become ``warning:``
lines. No tracebacks unless ``AUTODX_DEBUG=1``.
"""
from __future__ import annotations

import os
import sys

import typer
import typer.core

from .. import interrupt
from ..errors import AutodxError, Status

# typer bundles click privately (typer._click) from 0.26 on and re-exports only some of
# its exceptions; BadParameter is public, and its base is click's UsageError.
UsageError = typer.BadParameter.__mro__[1]


def stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def one_line(text: str) -> str:
    return " ".join(text.split())


class _PipeClosed(Exception):
    """The reader of stdout went away (``autodx ... | head -1``)."""


class Group(typer.core.TyperGroup):
    """The app's click group, with the error edge around every command."""

    def invoke(self, ctx):
        # typer's own handler turns a closed pipe into exit status 1: catch it first
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise _PipeClosed() from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        stdout = _fd_stat(1)
        try:
            with interrupt.handled():
                code = self._main(args, prog_name, complete_var, extra)
        except SystemExit as e:
            # rich answers a closed pipe by pointing stdout at /dev/null and exiting 1
            if e.code == 1 and _now_devnull(stdout):
                sys.exit(Status.OK)
            raise
        sys.exit(code or Status.OK)

    def _main(self, args, prog_name, complete_var, extra):
        debug = os.environ.get("AUTODX_DEBUG", "") not in ("", "0")
        try:
            with _WarningsAsLines():
                return super().main(args, prog_name or "autodx", complete_var,
                                    standalone_mode=False, **extra)
        except UsageError as e:
            if debug:
                raise
            if type(e).__name__ == "NoArgsIsHelpError":  # a bare group: its help, no error
                try:
                    print(e.ctx.get_help() if e.ctx is not None else e.format_message())
                    sys.stdout.flush()
                except BrokenPipeError:
                    silence_stdout()
                return Status.OK
            where = e.ctx.command_path if e.ctx is not None else "autodx"
            stderr(f"error: {_usage_message(e)} (see: {where} --help)")
            return Status.USAGE
        except AutodxError as e:
            if debug:
                raise
            stderr(f"error: {one_line(str(e))}")
            return e.status
        except (typer.Abort, KeyboardInterrupt):
            stderr("error: interrupted")
            return Status.INTERRUPTED
        except (_PipeClosed, BrokenPipeError):  # the reader has what it wanted
            silence_stdout()
            return Status.OK
        except Exception as e:  # an internal failure: a bug of autodx, not the user's
            if debug:
                raise
            if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e):
                stderr("error: out of memory: the work does not fit in this machine; "
                       "differentiate fewer variables (--wrt), use --hvp or jvp-partial "
                       "instead of full tensors, or split --data into parts")
                return Status.USAGE
            stderr(f"error: internal error: {type(e).__name__}: {one_line(str(e))} "
                   "(run with AUTODX_DEBUG=1 for the traceback, and please report it)")
            return Status.INTERNAL


def _usage_message(e) -> str:
    """click's message, and for an unknown option the nearest real one."""
    name = getattr(e, "option_name", None)
    if name and e.ctx is not None and hasattr(e, "possibilities"):
        import difflib

        known = sorted({o for p in e.ctx.command.params for o in p.opts if o.startswith("--")})
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        return f"no such option {name}" + (f": did you mean {near[0]}?" if near else "")
    return one_line(e.format_message())


def _fd_stat(fd: int):
    try:
        return os.fstat(fd)
    except OSError:
        return None


def _now_devnull(before) -> bool:
    """stdout was something else at the start and is /dev/null now."""
    after, null = _fd_stat(1), os.stat(os.devnull)
    return after is not None and os.path.samestat(after, null) and \
        not (before is not None and os.path.samestat(before, null))


def silence_stdout() -> None:
    """Point stdout at /dev/null, so that the flush at exit cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    except OSError:
        pass


class _WarningsAsLines:
    """Python warnings raised by a command (JAX's compile-cache errors among them)
    become ``warning:`` lines on stderr, once each, instead of multi-line reports."""

    def __enter__(self):
        import warnings

        self.context = warnings.catch_warnings(record=True)
        self.caught = self.context.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc):
        self.context.__exit__(*exc)
        seen = set()
        for w in self.caught:
            line = one_line(str(w.message))
            if line not in seen:
                seen.add(line)
                stderr(f"warning: {line}")
        return False
