"""JAX, configured once: float64 by default (set before any array is made), and the
persistent compilation cache, so a repeated command skips XLA compilation.

``AUTODX_CACHE_DIR`` sets the cache folder (default: ``$XDG_CACHE_HOME/autodx`` or
``~/.cache/autodx``); ``AUTODX_NO_CACHE=1`` turns it off. A cache folder that cannot
be made or written is skipped with a warning: it never fails a command. JAX itself
turns errors reading or writing an entry (a damaged file, a full disk) into Python
warnings, which the CLI reports as one ``warning:`` line.
"""
from __future__ import annotations

import os
import warnings

import jax

jax.config.update("jax_enable_x64", True)

__all__ = ["jax", "cache_dir", "active_cache_dir", "CacheWarning"]
_ACTIVE: list[str] = []  # the cache folder in use, once it has been found usable


class CacheWarning(UserWarning):
    """The compile cache was skipped; the command goes on without it."""


def cache_dir() -> str | None:
    """The cache folder in use, or None when the cache is off."""
    if os.environ.get("AUTODX_NO_CACHE", "") not in ("", "0"):
        return None
    path = os.environ.get("AUTODX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "autodx")
    return path


def active_cache_dir() -> str | None:
    """The cache folder in use: None when the cache is off or its folder is unusable."""
    return _ACTIVE[0] if _ACTIVE else None


def _configure_cache() -> None:
    path = cache_dir()
    if path is None:
        return
    try:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError("not writable")
    except OSError as e:
        warnings.warn(CacheWarning(f"compile cache {path} skipped ({e.strerror or e}); set "
                                   "AUTODX_CACHE_DIR to a writable folder, or "
                                   "AUTODX_NO_CACHE=1"))
        return
    jax.config.update("jax_compilation_cache_dir", path)
    # autodx's programs compile in well under a second: cache them all, whatever size
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    _ACTIVE.append(path)


_configure_cache()
