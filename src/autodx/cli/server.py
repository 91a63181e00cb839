"""``autodx server start | stop | status``: the warm engine's front end (the engine is
:mod:`autodx.server`)."""
from __future__ import annotations

import os
import time

import typer

from .. import client
from ..errors import InputError
from .app import app

NOT_RUNNING = 3  # `status` of a server that does not run, as LSB status commands say
START_TIMEOUT = 60.0

server_app = typer.Typer(help="The warm engine: a background process that answers every "
                              "autodx command without starting Python and JAX again.",
                         no_args_is_help=True)
app.add_typer(server_app, name="server")


def _ping() -> dict | None:
    try:
        return client.ask("ping")
    except (client.Unavailable, OSError, ValueError):
        return None


def _wait_stopped(pid: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and os.path.exists(client.socket_path()):
        time.sleep(0.02)
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


@server_app.command("start")
def cli_server_start() -> None:
    """Start the warm engine in the background, and return once it answers.

    While it runs, every autodx command is forwarded to it and answers as it would
    in-process, only faster. It exits after AUTODX_SERVER_IDLE seconds without a
    command (default 900). AUTODX_SERVER=off never forwards; AUTODX_SERVER=auto starts
    it on demand. Its socket is in AUTODX_SERVER_DIR (default
    $XDG_RUNTIME_DIR/autodx), a folder only you can enter.

    Examples:

    \b
      autodx server start
    """
    found = _ping()
    if found and found.get("same"):
        print(f"autodx server already running (pid {found['pid']})")
        return
    if found:  # another autodx's server: make way
        client.ask("stop")
        _wait_stopped(found["pid"])
    folder = client.server_dir()
    why = client.prepare_folder(folder)
    if why:
        raise InputError(f"cannot use {folder} for the autodx server: {why}; set "
                         "AUTODX_SERVER_DIR to a folder of your own")
    pid = client.start_background()
    deadline = time.monotonic() + START_TIMEOUT
    while pid is not None and time.monotonic() < deadline:
        found = _ping()
        if found and found.get("ready"):
            print(f"autodx server started (pid {found['pid']}, socket "
                  f"{client.socket_path()})")
            return
        if not found and _exited(pid) and not _locked(folder):
            break  # it ended, and no other server is starting in its place
        time.sleep(0.05)
    raise InputError(f"the autodx server did not start; see "
                     f"{os.path.join(folder, 'server.log')}")


def _locked(folder: str) -> bool:
    """Another server holds the folder's lock (it is starting or running)."""
    import fcntl

    try:
        with open(os.path.join(folder, client.LOCK_NAME), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True


def _exited(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return True


@server_app.command("stop")
def cli_server_stop() -> None:
    """Stop the warm engine (commands then run in-process again).

    Examples:

    \b
      autodx server stop
    """
    found = _ping()
    if not found:
        print("no autodx server is running")
        return
    client.ask("stop")
    _wait_stopped(found["pid"])
    print(f"autodx server stopped (pid {found['pid']})")


@server_app.command("status")
def cli_server_status() -> None:
    """Whether the warm engine runs: its pid, version, uptime, memory and the commands
    it has served. Exit status 0 when it runs, 3 when it does not.

    Examples:

    \b
      autodx server status
    """
    try:
        s = client.ask("status")
    except (client.Unavailable, OSError, ValueError):
        print(f"not running (socket {client.socket_path()})")
        raise typer.Exit(NOT_RUNNING)
    busy = sum(w["busy"] for w in s["workers"])
    print(f"running: pid {s['pid']}")
    print(f"version: autodx {s['version']}, jax {s['jax']}"
          + ("" if s["same"] else " (not this autodx: the next command replaces it)"))
    print(f"uptime: {_duration(s['uptime'])}")
    print(f"memory: {s['memory'] / (1 << 20):,.1f} MB ({len(s['workers'])} workers, "
          f"{busy} busy, {s['queued']} waiting)")
    print(f"served: {s['served']} command{'s' if s['served'] != 1 else ''}")
    print(f"socket: {s['socket']}")
    print(f"idle exit: after {_duration(s['idle_exit'])} without a command")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s} s"
    return f"{minutes // 60} h {minutes % 60} min"
