"""The registry's machinery: an entry (:class:`Function`), the parts an entry may lack
(with the reason), and modules imported on first use, so declaring entries imports
nothing heavy."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Union


# ---------------------------------------------------------------- parts an entry lacks

@dataclass(frozen=True)
class Missing:
    """A part an entry deliberately lacks, and why."""

    why: str


class Structural(Missing):
    """Not a function of the arguments' values: a tree walker builds the construct
    itself (the reason says which, and how)."""


class NoTaylorRule(Missing):
    """No Taylor rule: the engine falls back to ``jet``, then to nested forward mode,
    which are slower but exact."""


Part = Union[Callable[..., Any], Missing]


# ---------------------------------------------------------------- modules on first use

class Lazy:
    """``module.attr``, imported when first called; :attr:`target` is the object."""

    __slots__ = ("module", "attr", "setup", "_target")

    def __init__(self, module: str, attr: str, setup: str | None):
        self.module, self.attr, self.setup, self._target = module, attr, setup, None

    @property
    def target(self) -> Any:
        if self._target is None:
            if self.setup:
                importlib.import_module(self.setup)
            self._target = getattr(importlib.import_module(self.module), self.attr)
        return self._target

    def __call__(self, *args, **kwargs):
        return self.target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.module}.{self.attr}"


def resolve(part: Part) -> Part:
    """The part itself: a :class:`Lazy` reference imported and looked up."""
    return part.target if isinstance(part, Lazy) else part


class _Module:
    """A module imported on first use: ``jnp.sin`` is a :class:`Lazy` reference."""

    def __init__(self, name: str, setup: str | None = None):
        self._name, self._setup, self._refs = name, setup, {}

    def __getattr__(self, attr: str) -> Lazy:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr not in self._refs:
            self._refs[attr] = Lazy(self._name, attr, self._setup)
        return self._refs[attr]


_JAX = "autodx._jax"  # float64 is switched on before JAX makes its first array
jnp = _Module("jax.numpy", _JAX)
lax = _Module("jax.lax", _JAX)
jnn = _Module("jax.nn", _JAX)
jsp = _Module("jax.scipy.special", _JAX)  # 5 ms of import, paid only by erf
s = _Module("autodx.series")
sp = _Module("sympy")
sx = _Module("autodx.special", _JAX)
sf = _Module("autodx.check.sympy_functions")
mp = _Module("mpmath")


# ---------------------------------------------------------------- the entry

@dataclass(frozen=True)
class Function:
    """One function of the expression language: every part of it, in one place."""

    name: str
    arity: tuple[int, int | None]
    jax: Part
    taylor: Part
    sympy: Part
    mpmath: Part
    domain: str
    doc: str
    printed: str | Missing = ""  # "" is the name itself
    vector: bool = False
    aliases: tuple[str, ...] = ()  # other spellings (sympy's, numpy's), read as this one

    def __post_init__(self):
        if self.printed == "":
            object.__setattr__(self, "printed", self.name)


def _table(*entries: Function) -> dict[str, Function]:
    table: dict[str, Function] = {}
    spellings: set[str] = set()
    for f in entries:
        for name in (f.name, *f.aliases):
            if name in spellings:
                raise ValueError(f"{name!r} is registered twice")
            spellings.add(name)
        table[f.name] = f
    return table
