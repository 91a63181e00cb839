"""The differentiated coordinates of a command: whole variables, vectors expanded, or
single entries of a vector, in ``--wrt``'s order; flattened into one vector for the
engine and merged back into the variables."""
from __future__ import annotations

from dataclasses import dataclass

from . import limits
from .errors import InputError
from .result import flat_labels


@dataclass(frozen=True)
class Coords:
    """The differentiated coordinates, in --wrt's order (else natural name order): whole
    variables, vectors expanded (``z`` is ``z[0], z[1], ...``), or single entries of a
    vector (``z[1]``)."""

    names: tuple[str, ...]          # as selected: "x", "z", "z[1]"
    sizes: tuple[int | None, ...]   # vector length; None for one number

    @staticmethod
    def of(names: list[str], layout: dict[str, int | None]) -> "Coords":
        sizes = []
        for name in names:
            var, index = limits.split_entry(name)
            if index is None:
                sizes.append(layout[var])
                continue
            if layout[var] is None:
                raise InputError(f"--wrt {name}: {var} is a number, not a vector")
            if not 0 <= index < layout[var]:
                raise InputError(f"--wrt {name}: {var} has {layout[var]} entries, 0 to "
                                 f"{layout[var] - 1}")
            sizes.append(None)
        return Coords(tuple(names), tuple(sizes))

    @property
    def labels(self) -> list[str]:
        return flat_labels(dict(zip(self.names, self.sizes)))

    @property
    def n(self) -> int:
        return sum(1 if s is None else s for s in self.sizes)

    @property
    def scalar(self) -> bool:
        """One scalar variable: derivatives are numbers, by Taylor mode."""
        return len(self.names) == 1 and self.sizes[0] is None and "[" not in self.names[0]

    def entry(self, i: int) -> tuple[str, int | None]:
        """The variable and entry (None for a scalar) of flat coordinate ``i``."""
        for name, size in zip(self.names, self.sizes):
            if i < (1 if size is None else size):
                var, index = limits.split_entry(name)
                return var, index if size is None else i
            i -= 1 if size is None else size
        raise IndexError(i)

    def flat(self, env: dict):
        import jax.numpy as jnp

        parts = []
        for name in self.names:
            var, index = limits.split_entry(name)
            parts.append(jnp.atleast_1d(env[var] if index is None else env[var][index]))
        return jnp.concatenate(parts)

    def merge(self, x, env: dict) -> dict:
        out, start = dict(env), 0
        for name, size in zip(self.names, self.sizes):
            var, index = limits.split_entry(name)
            if index is not None:
                out[var] = out[var].at[index].set(x[start])
            else:
                out[var] = x[start] if size is None else x[start:start + size]
            start += 1 if size is None else size
        return out
