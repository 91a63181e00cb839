"""Where a command's work runs (``--device cpu|gpu|auto``), chosen by a pure function of
the work, so that a command gives the same answer in-process and on the warm engine.

Measured on one H100 GPU and 16 CPU cores (issue 13): the headline point query took
3.3 s on the GPU against 1.8 s on the CPU (CUDA start-up and a 2 s GPU compile), and
``perex`` over 1,000,000 rows 4.4 s against 2.5 s; the arithmetic was 0.04 us a row on
either, so start-up, compilation and transfer decided. A GPU therefore pays only for
work whose arithmetic on the CPU would take longer than the GPU's fixed cost, and
``auto`` picks it only then. The model and its constants live here and nowhere else:

    CPU seconds = rows x operations per row x CPU_SECONDS_PER_OP
    GPU pays    when CPU seconds >= GPU_FIXED_SECONDS x GPU_MARGIN

Operations per row: the expression's nodes times what the command does with them
(Taylor mode along one variable: (order + 1)^2 coefficient products; a full derivative
tensor: size^order entries; a Hessian: size^2; a Hessian-vector product or a gradient:
size; a mixed partial of k indices: 2^k). Imports nothing heavy.

The executor (:mod:`autodx.batch`) asks :func:`place` for the device of each run, with
the :class:`Work` the API measured, and runs there (``jax.default_device``); the
command's ``--device`` reaches it through :func:`ask`. When the CPU is chosen before
JAX has started any backend, JAX is kept to the CPU, so a point query never pays an
accelerator's start-up; the warm engine starts every backend once and then only
directs each command's work.
"""
from __future__ import annotations

import enum
import os
import sys
from dataclasses import dataclass

from .errors import InputError

# 0.04 us a row for a per-example gradient of a ten-node expression (issue 13)
CPU_SECONDS_PER_OP = 0.04e-6 / 10
# CUDA start-up and a GPU compile, measured for the headline point query
GPU_FIXED_SECONDS = 2.0
# the GPU must save clearly more than it costs (its arithmetic is not free either)
GPU_MARGIN = 2.0
_GPU_PLUGINS = ("jax-cuda", "jax-rocm", "jaxlib-cuda")  # distribution name prefixes


class Device(str, enum.Enum):
    cpu = "cpu"
    gpu = "gpu"
    auto = "auto"


class Kind(str, enum.Enum):
    """What a command computes for each row."""
    taylor = "taylor"  # derivatives of orders 1..N along one variable
    tensor = "tensor"  # full derivative tensors of orders 1..N over `size` coordinates
    hessian = "hessian"
    linear = "linear"  # a gradient, a Hessian-vector product, a Jacobian row
    partial = "partial"  # one mixed partial of `order` indices


@dataclass(frozen=True)
class Work:
    """The size of a command's work, known before anything is compiled."""
    rows: int
    kind: Kind = Kind.taylor
    order: int = 1
    size: int = 1
    nodes: int = 10


CSV_BYTES_PER_NUMBER = 12  # a CSV of unknown length: its rows estimated from its size


def measure(plan, kind: Kind, order: int, size: int, nodes: int) -> Work:
    """The :class:`Work` of a command over ``plan`` (a :class:`autodx.data.Plan`): its
    rows (a CSV, whose length is known only once read, estimated from its size in
    bytes), and what each row computes.

    Example:
        >>> from types import SimpleNamespace as NS
        >>> measure(NS(total=500), Kind.taylor, 3, 1, 20)
        Work(rows=500, kind=<Kind.taylor: 'taylor'>, order=3, size=1, nodes=20)
    """
    rows = plan.total
    if rows is None:
        rows = 1
        label = getattr(getattr(plan, "source", None), "label", None)
        if isinstance(label, str) and os.path.isfile(label):
            numbers = sum(1 if n is None else n for n in plan.source.layout.values())
            rows = max(1, os.path.getsize(label) // (CSV_BYTES_PER_NUMBER * max(numbers, 1)))
    return Work(rows=rows, kind=kind, order=order, size=size, nodes=nodes)


def ops_per_row(work: Work) -> float:
    """Operations for one row under the model above."""
    n, k, m = max(work.size, 1), max(work.order, 1), max(work.nodes, 1)
    per_node = {Kind.taylor: (k + 1) ** 2, Kind.tensor: sum(n ** j for j in range(1, k + 1)),
                Kind.hessian: n * n, Kind.linear: n, Kind.partial: 2 ** k}[work.kind]
    return float(m * per_node)


def cpu_seconds(work: Work) -> float:
    """The arithmetic's estimated time on the CPU."""
    return max(work.rows, 0) * ops_per_row(work) * CPU_SECONDS_PER_OP


def choose(asked: Device, work: Work, gpu_available: bool) -> Device:
    """Where the work runs: ``Device.cpu`` or ``Device.gpu``.

    Args:
        asked: the ``--device`` option.
        work: the size of the work.
        gpu_available: whether a GPU plugin is installed (see :func:`gpu_installed`).

    Returns:
        The device; ``auto`` becomes the GPU only where it gains.

    Example:
        >>> choose(Device.auto, Work(rows=1, order=3), gpu_available=True)
        <Device.cpu: 'cpu'>
    """
    if asked is Device.cpu:
        return Device.cpu
    if asked is Device.gpu:
        if not gpu_available:
            raise InputError("--device gpu: no GPU support is installed for JAX (e.g. "
                             "pip install 'jax[cuda12]'); use --device cpu or auto")
        return Device.gpu
    worth = gpu_available and cpu_seconds(work) >= GPU_FIXED_SECONDS * GPU_MARGIN
    return Device.gpu if worth else Device.cpu


_ASKED = [Device.auto]


def ask(device: "Device | str") -> None:
    """Record the ``--device`` of the command about to run (each command sets it)."""
    _ASKED[0] = Device(device)


def asked() -> Device:
    return _ASKED[0]


def place(work: Work):
    """The JAX device ``work`` runs on, by :func:`choose` with the ``--device`` asked
    for. Choosing the CPU before JAX has started a backend keeps JAX to the CPU."""
    from ._jax import jax

    choice = choose(_ASKED[0], work, gpu_installed())
    if choice is Device.cpu:
        if not _backends_started():
            jax.config.update("jax_platforms", "cpu")
        return jax.devices("cpu")[0]
    try:
        return jax.devices("gpu")[0]
    except RuntimeError as e:
        raise InputError(f"--device gpu: JAX found no usable GPU ({str(e)[:120]}); use "
                         "--device cpu or auto") from None


MAX_DEVICES = 1 << 16  # --devices N: a count past any machine's is refused as text


def check_devices(text: "str | None") -> "int | None":
    """``--devices`` text -> None (one device, the default), 0 (``all``) or a count.

    Example:
        >>> check_devices("all"), check_devices("4"), check_devices(None)
        (0, 4, None)
    """
    if text is None:
        return None
    t = text.strip().lower()
    if t == "all":
        return 0
    if not (t.isdigit() and 1 <= int(t) <= MAX_DEVICES):
        raise InputError(f"--devices {text[:40]!r}: give all, or a count of devices from 1 "
                         f"to {MAX_DEVICES}")
    return int(t)


_SPREAD: list = [None]


def ask_devices(text: "str | None") -> None:
    """Record the ``--devices`` of the command about to run (checked here)."""
    _SPREAD[0] = check_devices(text)


def spread(where) -> list:
    """The devices a batch is split over: ``[where]`` (the default), or with
    ``--devices`` the first N (or all) local devices of ``where``'s platform."""
    from ._jax import jax

    count = _SPREAD[0]
    if count is None or count == 1:
        return [where]
    local = jax.local_devices(backend=where.platform)
    if count > len(local):
        plural = "s" if len(local) != 1 else ""
        raise InputError(f"--devices {count}: JAX sees {len(local)} {where.platform} "
                         f"device{plural} here; use --devices all, or a count up to "
                         f"{len(local)}")
    return local if count == 0 else local[:count]


def _backends_started() -> bool:
    try:
        from jax._src import xla_bridge
    except ImportError:  # a JAX without the module: assume they have started
        return True
    return bool(getattr(xla_bridge, "_backends", True))


_GPU: list[bool] = []


def gpu_installed() -> bool:
    """Whether JAX has a GPU plugin installed, from package metadata (no JAX import);
    looked up once per process."""
    if not _GPU:
        _GPU.append(_find_gpu_plugin())
    return _GPU[0]


def _find_gpu_plugin() -> bool:
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        if any(n.endswith(".dist-info") and n.lower().replace("_", "-").startswith(
                _GPU_PLUGINS) for n in names):
            return True
    return False


def platforms(device: Device) -> str:
    """The JAX_PLATFORMS value that keeps JAX on ``device`` (set before importing JAX)."""
    return "cpu" if device is Device.cpu else "cuda,rocm,cpu"
