"""JAX, configured once: float64 by default (set before any array is made), and the
folder of autodx's program cache (:mod:`autodx.progcache`).

``AUTODX_CACHE_DIR`` sets the cache folder (default: ``$XDG_CACHE_HOME/autodx`` or
``~/.cache/autodx``); ``AUTODX_NO_CACHE=1`` turns it off. A folder that cannot be made,
written or trusted (:func:`autodx.cachedir.prepare`) is skipped with a warning: it
never fails a command. JAX's own persistent cache is not used: autodx's program cache
keeps every program it compiles, without tracing it again.
"""
from __future__ import annotations

import warnings

import jax

from . import cachedir

jax.config.update("jax_enable_x64", True)

__all__ = ["jax", "active_cache_dir", "CacheWarning"]
_ACTIVE: list[str] = []  # the cache folder in use, once it has been found usable


class CacheWarning(UserWarning):
    """The compile cache was skipped; the command goes on without it."""


def active_cache_dir() -> str | None:
    """The cache folder in use: None when the cache is off or its folder is unusable."""
    return _ACTIVE[0] if _ACTIVE else None


def _configure_cache() -> None:
    path = cachedir.folder()
    if path is None:
        return
    why = cachedir.prepare(path)
    if why:
        warnings.warn(CacheWarning(f"compile cache {path} skipped ({why}); set "
                                   "AUTODX_CACHE_DIR to a folder of your own, or "
                                   "AUTODX_NO_CACHE=1"))
        return
    _ACTIVE.append(path)


_configure_cache()
