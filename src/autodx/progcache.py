"""A cache of whole compiled programs, so a repeated command skips tracing too.

JAX's persistent cache skips XLA compilation, but it is looked up by the lowered
program, so every run still traces and lowers (a quarter of a second for a Taylor
program, more than the arithmetic by far). autodx knows what it is about to compile
before tracing: the command, the expression and helpers, the options, the argument
shapes. That is this cache's key, together with the versions of autodx's own source,
JAX, jaxlib and the device; the entry is a JSON header describing the outputs, then the
serialized executable (``jax.experimental.serialize_executable``).

Loading an executable unpickles part of it, so an entry is trusted only because the
folder is private (:mod:`autodx.cachedir`: 0700, owned by the user, never writable by
others) and entries are only ever read as regular files of a sane size. A damaged,
unreadable or unwritable entry is skipped with a warning and the program is compiled
as usual: the cache never fails a command. The folder is kept under a size bound,
least recently used out.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from typing import Any, Callable

import numpy as np

from . import cachedir
from ._jax import CacheWarning, active_cache_dir, jax

_MAGIC = b"autodx-program-2\n"  # 2: the header holds the payload's sha256


def _source_hash() -> str:
    """A hash of autodx's own modules, sub-packages included: a changed program never
    reuses an old entry (the warm engine's client checks the same hash)."""
    from .client import source_hash

    return source_hash()


_ENV: dict[str, list[str]] = {}


def _device():
    """The device programs are compiled for: ``jax.default_device``'s, else JAX's
    first."""
    chosen = jax.config.jax_default_device
    if chosen is None:
        return jax.devices()[0]
    return jax.devices(chosen)[0] if isinstance(chosen, str) else chosen


def _environment() -> list[str]:
    device = _device()
    name = f"{device.platform}:{getattr(device, 'device_kind', '')}"
    if name not in _ENV:
        import jaxlib

        _ENV[name] = [_source_hash(), jax.__version__, jaxlib.__version__, device.platform,
                      getattr(device, "device_kind", ""),
                      str(jax.config.read("jax_enable_x64"))]
    return _ENV[name]


def _shapes(tree) -> list:
    return [[list(np.shape(a)), str(np.result_type(a))] for a in jax.tree_util.tree_leaves(tree)]


def key_for(parts: list, *args) -> str:
    """The entry name for a program described by ``parts`` called with ``args``."""
    text = json.dumps([_environment(), parts, _shapes(args),
                       str(jax.tree_util.tree_structure(args))], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _folder() -> str | None:
    base = active_cache_dir()
    return None if base is None else cachedir.programs(base)


def compiled(jitted: Callable, args: tuple, parts: list | None,
             options: dict | None = None) -> Callable:
    """A callable equal to ``jitted`` on ``args``: loaded from the cache when it holds
    the program, else compiled (with XLA ``options``) and stored. ``parts`` None means:
    do not cache."""
    folder = _folder()
    if parts is None or folder is None:
        return _compile(jitted.lower(*args), options)
    path = os.path.join(folder, key_for([parts, options], *args) + ".bin")
    loaded = _load(path, args)
    if loaded is not None:
        cachedir.touch(path)
        return _guarded(loaded, lambda: _compile_and_store(jitted, args, path, options),
                        path)
    return _compile_and_store(jitted, args, path, options)


def _compile(lowered, options: dict | None):
    """Compile with XLA ``options``; a jaxlib that does not know one compiles without."""
    if options:
        try:
            return lowered.compile(options)
        except jax.errors.JaxRuntimeError as e:
            if "compile option" not in str(e):
                raise
    return lowered.compile()


def _guarded(loaded: Callable, recompile: Callable[[], Callable], path: str) -> Callable:
    """Run a loaded program; if the runtime rejects it, compile afresh instead."""
    state: dict = {}

    def call(*a):
        if "fresh" in state:
            return state["fresh"](*a)
        try:
            return loaded(*a)
        except Exception as e:  # any failure of a loaded program: compile it afresh
            warnings.warn(CacheWarning(f"compile cache entry {os.path.basename(path)} could "
                                       f"not run ({_first_line(e)}); compiling again"))
            state["fresh"] = recompile()
            return state["fresh"](*a)
    return call


def _first_line(e: BaseException) -> str:
    return str(e).strip().split("\n")[0][:200]


def _rebuild(paths: list, leaves) -> dict:
    out: dict = {}
    for path, leaf in zip(paths, leaves):
        node = out
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = leaf
    return out


def _key(entry) -> Any:
    return getattr(entry, "key", getattr(entry, "idx", getattr(entry, "name", entry)))


def _header(blob: bytes) -> tuple[list, bytes]:
    """The output paths and the payload of an entry; ValueError when it is not one."""
    if not blob.startswith(_MAGIC):
        raise ValueError("not an autodx program")
    head_end = blob.index(b"\n", len(_MAGIC))
    header = json.loads(blob[len(_MAGIC):head_end])
    paths = header["paths"]
    if not (isinstance(paths, list) and header["outputs"] == len(paths) and
            all(isinstance(p, list) and all(isinstance(k, list) and len(k) == 2 and
                                             k[0] in "si" for k in p) for p in paths)):
        raise ValueError("its header is damaged")
    payload = blob[head_end + 1:]
    # a flipped bit in a compiled program reaches XLA: it can abort, or compute wrong
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValueError("its program does not match its checksum")
    return [[k if t == "s" else int(k) for t, k in p] for p in paths], payload


def loads_on_device() -> bool:
    """Whether this JAX loads a program for given devices (``execution_devices``, from
    jax 0.6 on): without it a program is loaded for every local device, which runs a
    one-device program only where JAX sees a single device."""
    if not _LOADS:
        import inspect

        from jax.experimental import serialize_executable as se

        _LOADS.append("execution_devices" in inspect.signature(
            se.deserialize_and_load).parameters)
    return _LOADS[0]


_LOADS: list[bool] = []


def _devices_of(args) -> list:
    """The devices a program for ``args`` runs on: those of the first argument that says
    (a sharded shape, an array on a device), else the device programs are compiled for."""
    for leaf in jax.tree_util.tree_leaves(args):
        sharding = getattr(leaf, "sharding", None)
        if sharding is not None:
            return sorted(sharding.device_set, key=lambda d: d.id)
    return [_device()]


def _load(path: str, args: tuple) -> Callable | None:
    from jax.experimental import serialize_executable as se

    try:
        blob = cachedir.read(path)
        if blob is None:
            return None
        paths, payload = _header(blob)
        in_tree = jax.tree_util.tree_structure((args, {}))
        out_tree = jax.tree_util.tree_structure(tuple(range(len(paths))))
        if loads_on_device():  # the device it runs on, not every local one
            executable = se.deserialize_and_load(payload, in_tree, out_tree,
                                                 execution_devices=_devices_of(args))
        else:
            executable = se.deserialize_and_load(payload, in_tree, out_tree)
    except Exception as e:  # any damage: recompile and overwrite
        warnings.warn(CacheWarning(f"compile cache entry {os.path.basename(path)} skipped "
                                   f"({type(e).__name__}: {_first_line(e)}); compiling "
                                   "again"))
        return None

    def call(*a):
        leaves = executable(*a)
        if len(leaves) != len(paths):
            raise ValueError(f"{len(leaves)} outputs where its header says {len(paths)}")
        return _rebuild(paths, leaves)
    return call


def _compile_and_store(jitted: Callable, args: tuple, path: str,
                       options: dict | None) -> Callable:
    from jax._src import config as jax_config
    from jax.experimental import serialize_executable as se

    lowered = jitted.lower(*args)
    # Compile afresh, not from JAX's own cache (which a user may turn on with
    # JAX_COMPILATION_CACHE_DIR): an executable that JAX loaded from its cache
    # serializes to a payload that fails to run once loaded again ("Function ... not
    # found"), seen with jax 0.10.2 on CPU.
    with jax_config.enable_compilation_cache(False):
        executable = _compile(lowered, options)
    keys = [list(map(_key, p)) for p, _ in
            jax.tree_util.tree_flatten_with_path(lowered.out_info)[0]]
    try:
        payload, _, _ = se.serialize(executable)
        paths = [[("s", k) if isinstance(k, str) else ("i", str(k)) for k in p] for p in keys]
        header = json.dumps({"outputs": len(paths), "paths": paths,
                             "sha256": hashlib.sha256(payload).hexdigest()}).encode()
        _write(path, _MAGIC + header + b"\n" + payload)
        cachedir.trim(os.path.dirname(os.path.dirname(path)))
    except Exception as e:
        warnings.warn(CacheWarning(f"compile cache: could not store a program "
                                   f"({type(e).__name__}: {e})"))
    return executable


def remember(parts: list, name: str, compute: Callable[[], Any],
             valid: Callable[[Any], bool] = lambda v: True) -> Any:
    """A small JSON value (a chunk size) stored beside the programs under ``parts``;
    a stored value that is not ``valid`` is computed again."""
    folder = _folder()
    if parts[0] is None or folder is None:
        return compute()
    path = os.path.join(folder, key_for([parts, name]) + ".json")
    try:
        blob = cachedir.read(path)
        if blob is not None:
            value = json.loads(blob)["value"]
            if valid(value):
                return value
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = compute()
    try:
        _write(path, json.dumps({"value": value}).encode())
    except OSError:
        pass  # an unusable folder is reported when a program is stored
    return value


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (see :func:`autodx.cachedir.write`)."""
    cachedir.write(path, data)
