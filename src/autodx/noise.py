"""The rounding noise of high derivatives, estimated without knowing the exact values.

At high orders the Taylor terms can cancel far more digits than float64 holds
(d^100/dx^100 of sin(x) e^x at 0.5 keeps about 2), whatever the AD method. grad sees it
by running the same compiled program on four extra rows per point, with x moved by a
thousand or two units in the last place: the exact derivatives move smoothly with x (a
linear trend, which second differences remove); rounding errors do not.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .data import PointsPlan, Rows
from .limits import local_scale

# From this order on, grad at --at points estimates the rounding noise of each derivative.
NOISE_ORDER = 10
# Units in the last place: far enough that every rounding in the program comes out
# differently, near enough (about 1e-13 relative) that the derivatives move by a
# negligible, and linear, amount.
SHIFTS = (-1999, -997, 997, 1999)


def shifted(plan: PointsPlan, name: str, precision: int) -> PointsPlan:
    """Each point followed by copies with ``name`` moved by :data:`SHIFTS` units in the
    last place (of the float type in use): more rows for the same compiled program."""
    dtype = np.float64 if precision == 64 else np.float32
    step = len(SHIFTS) + 1
    columns = {k: np.repeat(v, step, axis=0) for k, v in plan.columns.items()}
    given = np.asarray(plan.columns[name], dtype=np.float64)
    x = given.astype(dtype)
    ulp = np.spacing(np.maximum(np.abs(x), dtype(1)))  # near 0, the ulp of 1
    moved = [(x + dtype(shift) * ulp).astype(np.float64) for shift in SHIFTS]
    columns[name] = np.stack([given, *moved], axis=1).reshape(-1)
    return dataclasses.replace(plan, columns=columns, total=len(columns[name]))


def with_noise(values: dict, done: Rows) -> tuple[dict, Rows]:
    """Split the rows of :func:`shifted` off again (from the values and the evaluated
    rows), and add ``noise``: each derivative's estimated relative rounding noise, and
    ``noise_abs``: the same in the units of the derivative (what --check allows for)."""
    step = len(SHIFTS) + 1
    rows = Rows(done.count // step,
                None if done.batched is None else
                {k: v[::step] for k, v in done.batched.items()}, done.fixed)
    stacked = np.stack([np.asarray(values["value"])] +
                       [np.asarray(d) for d in values["derivatives"].values()], axis=1)
    every = stacked.reshape(-1, step, stacked.shape[1]).astype(np.float64)
    out, near = every[:, 0], every[:, 1:]  # near: in the order of SHIFTS
    second = np.stack([(near[:, 0] + near[:, 3]) / 2 - out,
                       (near[:, 1] + near[:, 2]) / 2 - out])
    scale = np.maximum(np.maximum(np.abs(near).max(axis=1), np.abs(out)),
                       local_scale(out))  # a derivative near 0 is known to its neighbours
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = np.abs(second).max(axis=0) / np.maximum(scale, np.finfo(np.float64).tiny)
    return {"value": np.asarray(values["value"])[::step],
            "derivatives": {k: np.asarray(d)[::step] for k, d in values["derivatives"].items()},
            "noise": noise[:, 1:], "noise_abs": np.abs(second).max(axis=0)[:, 1:]}, rows
