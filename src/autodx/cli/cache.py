"""``autodx cache info | clear``: the compile cache, seen and emptied without JAX."""
from __future__ import annotations

import typer

from .. import cachedir
from ..errors import InputError
from .app import app

cache_app = typer.Typer(help="The compile cache: where it is, how big, and emptying it.",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB"


@cache_app.command("info")
def cli_cache_info() -> None:
    """Where the compile cache is, whether it is used, and its size against its bound.

    The folder is AUTODX_CACHE_DIR (default ~/.cache/autodx), private to you (0700);
    AUTODX_NO_CACHE=1 turns the cache off; AUTODX_CACHE_MAX_MB bounds its size (default
    500), the least recently used programs going first.

    Examples:

    \b
      autodx cache info
    """
    d = cachedir.describe(cachedir.folder())
    print(f"folder: {d['folder'] or '(none)'}")
    print(f"state: {d['state']}")
    print(f"entries: {d['entries']} ({_mb(d['bytes'])})")
    print(f"limit: {_mb(d['limit_bytes'])} (AUTODX_CACHE_MAX_MB)")


@cache_app.command("clear")
def cli_cache_clear() -> None:
    """Remove every compiled program from the cache (and nothing else in its folder).

    Examples:

    \b
      autodx cache clear
    """
    base = cachedir.folder()
    if base is None:
        raise InputError("the compile cache is off (AUTODX_NO_CACHE is set): nothing to "
                         "clear")
    d = cachedir.describe(base)
    if d["state"].startswith(("refused", "unusable")):
        raise InputError(f"compile cache {base}: {d['state']}; not touching it")
    count, size = cachedir.clear(base)
    print(f"removed {count} entr{'y' if count == 1 else 'ies'} ({_mb(size)}) from {base}")
