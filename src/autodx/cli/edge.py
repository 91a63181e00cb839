"""The error edge: every failure of a command becomes one ``error:`` line on stderr and
an exit status from :class:`autodx.errors.Status`; Python warnings become ``warning:``
lines. No tracebacks unless ``AUTODX_DEBUG=1``.
"""
from __future__ import annotations

import os
import sys

import typer
import typer.core

from ..errors import AutodxError, Status

# typer bundles click privately (typer._click) from 0.26 on and re-exports only some of
# its exceptions; BadParameter is public, and its base is click's UsageError.
UsageError = typer.BadParameter.__mro__[1]


def stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def one_line(text: str) -> str:
    return " ".join(text.split())


class Group(typer.core.TyperGroup):
    """The app's click group, with the error edge around every command."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        debug = os.environ.get("AUTODX_DEBUG", "") not in ("", "0")
        try:
            with _WarningsAsLines():
                code = super().main(args, prog_name or "autodx", complete_var,
                                    standalone_mode=False, **extra)
        except UsageError as e:
            if debug:
                raise
            hint = f" (see: autodx {e.ctx.info_name if e.ctx and e.ctx.parent else ''} --help)"
            stderr(f"error: {one_line(e.format_message())}{hint.replace('  ', ' ')}")
            sys.exit(Status.USAGE)
        except AutodxError as e:
            if debug:
                raise
            stderr(f"error: {one_line(str(e))}")
            sys.exit(e.status)
        except (typer.Abort, KeyboardInterrupt):
            stderr("error: interrupted")
            sys.exit(Status.INTERRUPTED)
        except BrokenPipeError:  # `autodx ... | head -1`: the reader has what it wanted
            sys.stderr = open(os.devnull, "w")
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(Status.OK)
        except Exception as e:  # an internal failure: a bug of autodx, not the user's
            if debug:
                raise
            if isinstance(e, MemoryError) or "RESOURCE_EXHAUSTED" in str(e):
                stderr("error: out of memory: the work does not fit in this machine; "
                       "differentiate fewer variables (--wrt), use --hvp or jvp-partial "
                       "instead of full tensors, or split --data into parts")
                sys.exit(Status.USAGE)
            stderr(f"error: internal error: {type(e).__name__}: {one_line(str(e))} "
                   "(run with AUTODX_DEBUG=1 for the traceback, and please report it)")
            sys.exit(Status.INTERNAL)
        sys.exit(code or Status.OK)


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
