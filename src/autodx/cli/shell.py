"""``autodx shell``: an interactive session, each line a command as typed after
``autodx``, with line editing and history (readline). A line runs on the warm engine
when one answers, else in this process, which stays warm from one line to the next."""
from __future__ import annotations

import os
import shlex
import sys

import typer

from .. import client
from .app import app

PROMPT = "autodx> "
HISTORY_LINES = 1000
INTRO = ("autodx shell: type a command as after `autodx`, e.g.\n"
         "  grad \"sin(x)\" --order 4 --at 0\n"
         "`help` lists the commands, `help grad` shows one, `exit` or Ctrl-D ends.")


def history_path() -> str:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                             ".local", "state")
    return os.path.join(state, "autodx", "shell_history")


def _readline():
    """readline with the history file loaded, or None where it is missing."""
    try:
        import readline
    except ImportError:
        return None
    try:
        readline.read_history_file(history_path())
    except OSError:
        pass
    readline.set_history_length(HISTORY_LINES)
    return readline


def _save_history(readline) -> None:
    if readline is None:
        return
    path = history_path()
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        readline.write_history_file(path)
        os.chmod(path, 0o600)
    except OSError:
        pass


def words_of(line: str) -> list[str] | str:
    """The words of a line as a shell splits them (a leading ``autodx`` dropped), or the
    error message when the line does not split."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as e:
        return f"{e} (close the quote, or escape it with \\)"
    return words[1:] if words[:1] == ["autodx"] else words


def run_line(words: list[str], command) -> int:
    """One command: on the server when one answers, else here. Its exit status."""
    if words[0] in ("help", "?"):
        words = [*words[1:], "--help"]
    if words[0] == "shell":
        print("error: already in the autodx shell", file=sys.stderr)
        return 2
    status = client.try_forward(words)
    if status is not None:
        return status
    try:
        command.main(args=words, prog_name="autodx")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def loop(stream=None) -> int:
    """Read and run lines until ``exit`` or the end of input; the last status."""
    interactive = stream is None and sys.stdin.isatty()
    readline = _readline() if interactive else None
    command = typer.main.get_command(app)
    if interactive:
        print(INTRO)
    status = 0
    while True:
        try:
            line = input(PROMPT if interactive else "") if stream is None else next(stream)
        except (EOFError, StopIteration):
            if interactive:
                print()
            break
        except KeyboardInterrupt:  # at the prompt: a fresh line, as in a shell
            print()
            continue
        words = words_of(line)
        if isinstance(words, str):
            print(f"error: {words}", file=sys.stderr)
            status = 2
            continue
        if not words:
            continue
        if words[0] in ("exit", "quit"):
            break
        try:
            status = run_line(words, command)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            status = 130
        sys.stdout.flush()
    _save_history(readline)
    return status


@app.command("shell")
def cli_shell() -> None:
    """An interactive session: each line is a command as typed after `autodx`.

    Line editing and history (kept in $XDG_STATE_HOME/autodx/shell_history); `help`
    lists the commands and `help COMMAND` shows one; `exit` or Ctrl-D ends. An error
    prints its `error:` line and the session goes on. Lines run on the warm engine when
    one runs (autodx server start), else in the shell's own process, which stays warm.

    Examples:

    \b
      autodx shell    (then, at the prompt: grad "sin(x)" --order 4 --at 0)
    """
    raise typer.Exit(loop())
