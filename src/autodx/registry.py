"""Every function of the expression language, each declared once, in :data:`FUNCTIONS`.

Adding a function is one entry and its tests. An entry is a :class:`Function`, e.g.::

    Function("sinh", (1, 1), jax=jnp.sinh, taylor=lambda a: s.sincos(a, 1.0)[0],
             sympy=sp.sinh, mpmath=mp.sinh, domain="all reals", doc="hyperbolic sine")

and its fields are:

- ``name`` and ``arity``: the name in expressions, and (fewest, most) arguments; most
  ``None`` is "any number". The parser checks calls against them (:mod:`autodx.analyze`).
- ``jax``: the value, a function of JAX arrays traceable by every transform
  (:mod:`autodx.compile`). A function ``jax.experimental.jet`` has no rule for must be
  written with ones it has (``tan`` is ``sin/cos``), because jet is the fallback.
- ``taylor``: the Taylor rule (:mod:`autodx.taylor`). It receives one coefficient array
  per argument, ``c[k] = f^(k)(t0) / k!`` on axis 0 (length order + 1, a vector's
  entries on axis 1; an argument that does not depend on the variable arrives as a
  constant series) and returns the result's coefficient array. Write it with the series
  arithmetic of :mod:`autodx.series` (products, ``div``, the ``ode`` and ``sincos``
  recurrences, ``by_derivative``), never with a Python loop over the order: the traced
  program must stay the same size at order 5 and order 100. It is called only when an
  argument depends on the variable; otherwise ``jax`` gives the value.
- ``sympy``: the translation for ``--symbolic`` and ``--check``
  (:mod:`autodx.check.sympy_view`). It receives one sympy expression per argument; the
  translator applies it entry by entry to vector arguments, except that a ``vector``
  function receives whole vectors (lists), and one taking any number of arguments
  (``min``, ``max``) given one vector receives its entries. Use a sympy class where one
  exists: ``--check`` finds the ``mpmath`` part, and ``--symbolic`` the ``printed`` name,
  by the class the translation produces. A class sympy lacks (``sigmoid``, the real
  ``cbrt``) goes in :mod:`autodx.check.sympy_functions`, with its derivative.
- ``mpmath``: the value at 50 digits for ``--check`` (:mod:`autodx.check.references`).
- ``printed``: how ``--symbolic`` writes the function (default: ``name``), so its text
  can be pasted back into autodx.
- ``domain``: a one-line note of where the function (and its derivatives) is defined.
- ``doc``: what it is, in a few words.
- ``vector``: the function takes whole vectors (``dot``, ``sum``, ``prod``, ``norm``):
  a variable passed to it directly is a vector.

A part that cannot be a plain function says so and why, never ``None``:
:class:`Structural` where a tree walker builds the construct itself (``diff``
transforms its sub-expression), :class:`NoTaylorRule` where the engine falls back to
jet and nested forward mode. Declaring entries imports nothing heavy: ``jnp``, ``sp``,
``mp`` and ``s`` below are modules imported on first use, so ``autodx --help`` and
``--symbolic`` without a point never import JAX.

Its tests:

1. ``tests/test_registry.py`` fails until the entry has every part (or a reason), and
   checks each part against an independent oracle: the Taylor rule against mpmath's
   numerical derivatives of the ``mpmath`` part to order 8, the ``jax`` value against
   the ``sympy`` translation evaluated in mpmath, sympy's derivative of the translation
   against mpmath's. Give a one-argument function a point inside its domain in that
   file's ``POINTS``.
2. ``tests/test_compile.py`` differentiates it through the API against sympy: add it to
   ``tests/oracle.py``'s ``SYMPY`` and to ``UNARY`` there.
3. ``tests/test_taylor.py`` checks that its traced program does not grow with the order.

Then add it to the table in ``docs/expressions.md``. An entry's parts, for example:

    >>> sin = FUNCTIONS["sin"]
    >>> sin.arity, sin.printed, sin.domain
    ((1, 1), 'sin', 'all reals')
    >>> import jax.numpy as jnp
    >>> [round(float(c), 6) for c in sin.taylor(jnp.array([0.5, 1.0, 0.0, 0.0]))]
    [0.479426, 0.877583, -0.239713, -0.146264]
    >>> float(sin.mpmath(0.5)) == float(sin.jax(0.5))
    True
"""
from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Union

from .errors import ExpressionError


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

    def __post_init__(self):
        if self.printed == "":
            object.__setattr__(self, "printed", self.name)


def _table(*entries: Function) -> dict[str, Function]:
    table: dict[str, Function] = {}
    for f in entries:
        if f.name in table:
            raise ValueError(f"{f.name!r} is registered twice")
        table[f.name] = f
    return table


# ---------------------------------------------------------------- helpers of the parts

def _jax_vector(name: str, x):
    if jnp.ndim(x) != 1:
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return x


def _jax_reduce(pairwise: Callable, whole: Callable) -> Callable:
    """min/max: elementwise over several arguments, or over the entries of one."""
    def op(*args):
        if len(args) == 1:
            return whole(args[0])
        return functools.reduce(pairwise, args)
    return op


def _jax_log(x, base=None):
    return jnp.log(x) if base is None else jnp.log(x) / jnp.log(base)


def _taylor_log(a, base=None):
    return s.log(a) if base is None else s.div(s.log(a), s.log(base))


def _taylor_cbrt(a):
    sign = jnp.sign(a[0])
    return s.scale(s.pow(s.scale(a, sign), 1.0 / 3.0), sign)


def _taylor_norm(a):
    a = s.vector("norm", a)
    return s.pow(jnp.sum(s.mul(a, a), axis=-1), 0.5)


def _taylor_step(jax_fn: Lazy) -> Callable:
    """Piecewise constant: the value, then zeros."""
    return lambda a: s.lift(jax_fn(a[0]), a)


def _sympy_vector(name: str, v) -> list:
    if not isinstance(v, list):
        raise ExpressionError(f"{name}() needs a vector argument, got a scalar")
    return v


def _sympy_dot(a, b):
    a, b = _sympy_vector("dot", a), _sympy_vector("dot", b)
    if len(a) != len(b):
        raise ExpressionError(f"dot() of vectors of lengths {len(a)} and {len(b)}")
    return sp.Add(*(x * y for x, y in zip(a, b)))


_ERF_SCALE = 2.0 / math.sqrt(math.pi)  # erf'(x) = _ERF_SCALE exp(-x^2)
_WRITTEN_OUT = ("the sympy translation writes it out entry by entry with + and *, so "
                "--symbolic prints, and --check evaluates, the written-out form")


# ---------------------------------------------------------------- the table

FUNCTIONS: dict[str, Function] = _table(
    Function("sin", (1, 1), jax=jnp.sin, taylor=lambda a: s.sincos(a, -1.0)[0],
             sympy=sp.sin, mpmath=mp.sin, domain="all reals", doc="sine (radians)"),
    Function("cos", (1, 1), jax=jnp.cos, taylor=lambda a: s.sincos(a, -1.0)[1],
             sympy=sp.cos, mpmath=mp.cos, domain="all reals", doc="cosine (radians)"),
    Function("tan", (1, 1), jax=lambda x: jnp.sin(x) / jnp.cos(x),  # jet has no tan rule
             taylor=lambda a: s.ode(a, jnp.tan(a[0]), 1.0, 0.0, 1.0), sympy=sp.tan,
             mpmath=mp.tan, domain="x not an odd multiple of pi/2", doc="tangent"),
    Function("asin", (1, 1), jax=lambda x: jnp.arctan2(x, jnp.sqrt((1 - x) * (1 + x))),
             taylor=lambda a: s.by_derivative(a, jnp.arcsin(a[0]),
                                              s.pow(s.one_minus_square(a), -0.5)),
             sympy=sp.asin, mpmath=mp.asin, domain="-1 <= x <= 1; derivatives -1 < x < 1",
             doc="inverse sine"),
    Function("acos", (1, 1), jax=lambda x: jnp.arctan2(jnp.sqrt((1 - x) * (1 + x)), x),
             taylor=lambda a: s.by_derivative(a, jnp.arccos(a[0]),
                                              -s.pow(s.one_minus_square(a), -0.5)),
             sympy=sp.acos, mpmath=mp.acos, domain="-1 <= x <= 1; derivatives -1 < x < 1",
             doc="inverse cosine"),
    Function("atan", (1, 1), jax=lambda x: jnp.arctan2(x, jnp.ones_like(x)),
             taylor=lambda a: s.by_derivative(
                 a, jnp.arctan(a[0]), s.div(s.lift(1.0, a), s.one_minus_square(a, 1.0))),
             sympy=sp.atan, mpmath=mp.atan, domain="all reals", doc="inverse tangent"),
    Function("atan2", (2, 2), jax=jnp.arctan2, taylor=s.atan2, sympy=sp.atan2,
             mpmath=mp.atan2, domain="(y, x) != (0, 0); derivatives off y = 0, x <= 0",
             doc="atan2(y, x): the angle of the point (x, y)"),
    Function("sinh", (1, 1), jax=jnp.sinh, taylor=lambda a: s.sincos(a, 1.0)[0],
             sympy=sp.sinh, mpmath=mp.sinh, domain="all reals", doc="hyperbolic sine"),
    Function("cosh", (1, 1), jax=jnp.cosh, taylor=lambda a: s.sincos(a, 1.0)[1],
             sympy=sp.cosh, mpmath=mp.cosh, domain="all reals", doc="hyperbolic cosine"),
    Function("tanh", (1, 1), jax=jnp.tanh,
             taylor=lambda a: s.ode(a, jnp.tanh(a[0]), 1.0, 0.0, -1.0), sympy=sp.tanh,
             mpmath=mp.tanh, domain="all reals", doc="hyperbolic tangent"),
    Function("asinh", (1, 1), jax=jnp.arcsinh,
             taylor=lambda a: s.by_derivative(a, jnp.arcsinh(a[0]),
                                              s.pow(s.one_minus_square(a, 1.0), -0.5)),
             sympy=sp.asinh, mpmath=mp.asinh, domain="all reals",
             doc="inverse hyperbolic sine"),
    Function("acosh", (1, 1), jax=jnp.arccosh,
             taylor=lambda a: s.by_derivative(a, jnp.arccosh(a[0]),
                                              s.pow(s.mul(a, a) - s.lift(1.0, a), -0.5)),
             sympy=sp.acosh, mpmath=mp.acosh, domain="x >= 1; derivatives x > 1",
             doc="inverse hyperbolic cosine"),
    Function("atanh", (1, 1), jax=jnp.arctanh,
             taylor=lambda a: s.by_derivative(
                 a, jnp.arctanh(a[0]), s.div(s.lift(1.0, a), s.one_minus_square(a))),
             sympy=sp.atanh, mpmath=mp.atanh, domain="-1 < x < 1",
             doc="inverse hyperbolic tangent"),
    Function("exp", (1, 1), jax=jnp.exp, taylor=s.exp, sympy=sp.exp, mpmath=mp.exp,
             domain="all reals", doc="e to the power x"),
    Function("log", (1, 2), jax=_jax_log, taylor=_taylor_log, sympy=sp.log, mpmath=mp.log,
             domain="x > 0 (and base b > 0, b != 1)",
             doc="natural logarithm; log(x, b) to base b"),
    Function("sqrt", (1, 1), jax=jnp.sqrt, taylor=lambda a: s.pow(a, 0.5), sympy=sp.sqrt,
             mpmath=mp.sqrt, domain="x >= 0; derivatives x > 0", doc="square root"),
    Function("cbrt", (1, 1), jax=lambda x: jnp.sign(x) * jnp.abs(x) ** (1.0 / 3.0),
             taylor=_taylor_cbrt, sympy=sf.cbrt,
             mpmath=lambda x: mp.sign(x) * mp.cbrt(abs(x)),
             domain="all reals; derivatives x != 0", doc="real cube root, negative for x < 0"),
    Function("abs", (1, 1), jax=jnp.abs, taylor=lambda a: s.scale(a, jnp.sign(a[0])),
             sympy=sp.Abs, mpmath=abs, domain="all reals; derivatives x != 0",
             doc="absolute value"),
    Function("sign", (1, 1), jax=jnp.sign, taylor=_taylor_step(jnp.sign), sympy=sp.sign,
             mpmath=lambda x: mp.mpf(mp.sign(x)), domain="all reals; derivatives x != 0",
             doc="-1, 0 or 1"),
    Function("floor", (1, 1), jax=jnp.floor, taylor=_taylor_step(jnp.floor),
             sympy=sf.floor, mpmath=mp.floor, domain="all reals; derivatives off integers",
             doc="the integer at or below x"),
    Function("ceiling", (1, 1), jax=jnp.ceil, taylor=_taylor_step(jnp.ceil),
             sympy=sf.ceiling, mpmath=mp.ceil, domain="all reals; derivatives off integers",
             doc="the integer at or above x"),
    Function("round", (1, 1), jax=jnp.round, taylor=_taylor_step(jnp.round),
             sympy=sf.round, mpmath=mp.nint,
             domain="all reals; derivatives off half-integers",
             doc="the nearest integer, ties to even"),
    Function("erf", (1, 1), jax=jsp.erf,
             taylor=lambda a: s.by_derivative(a, jsp.erf(a[0]),
                                              s.scale(s.exp(-s.mul(a, a)), _ERF_SCALE)),
             sympy=sp.erf, mpmath=mp.erf, domain="all reals", doc="the error function"),
    Function("sigmoid", (1, 1), jax=jnn.sigmoid,
             taylor=lambda a: s.ode(a, jnn.sigmoid(a[0]), 0.0, 1.0, -1.0),
             sympy=sf.sigmoid, mpmath=lambda x: 1 / (1 + mp.exp(-x)), domain="all reals",
             doc="the logistic function 1/(1 + exp(-x))"),
    Function("min", (1, None), jax=_jax_reduce(jnp.minimum, jnp.min), taylor=s.minimum,
             sympy=sp.Min, mpmath=lambda *a: min(a), domain="all reals; derivatives off ties",
             doc="the least argument, or the least entry of one vector"),
    Function("max", (1, None), jax=_jax_reduce(jnp.maximum, jnp.max), taylor=s.maximum,
             sympy=sp.Max, mpmath=lambda *a: max(a), domain="all reals; derivatives off ties",
             doc="the greatest argument, or the greatest entry of one vector"),
    Function("dot", (2, 2), jax=lambda a, b: jnp.dot(_jax_vector("dot", a),
                                                     _jax_vector("dot", b)),
             taylor=s.dot, sympy=_sympy_dot, mpmath=Structural(_WRITTEN_OUT),
             printed=Structural(_WRITTEN_OUT), vector=True,
             domain="two vectors of one length", doc="inner product"),
    Function("sum", (1, 1), jax=lambda v: jnp.sum(_jax_vector("sum", v)),
             taylor=lambda a: jnp.sum(s.vector("sum", a), axis=-1),
             sympy=lambda v: sp.Add(*_sympy_vector("sum", v)), mpmath=Structural(_WRITTEN_OUT),
             printed=Structural(_WRITTEN_OUT), vector=True, domain="a vector",
             doc="sum of the entries"),
    Function("prod", (1, 1), jax=lambda v: jnp.prod(_jax_vector("prod", v)),
             taylor=lambda a: s.prod(s.vector("prod", a)),
             sympy=lambda v: sp.Mul(*_sympy_vector("prod", v)),
             mpmath=Structural(_WRITTEN_OUT), printed=Structural(_WRITTEN_OUT), vector=True,
             domain="a vector", doc="product of the entries"),
    Function("norm", (1, 1), jax=lambda v: jnp.sqrt(jnp.sum(_jax_vector("norm", v) ** 2)),
             taylor=_taylor_norm,
             sympy=lambda v: sp.sqrt(sp.Add(*(x ** 2 for x in _sympy_vector("norm", v)))),
             mpmath=Structural(_WRITTEN_OUT), printed=Structural(_WRITTEN_OUT), vector=True,
             domain="a vector; derivatives off the zero vector", doc="Euclidean norm"),
    Function("stop_gradient", (1, 1), jax=lax.stop_gradient,
             taylor=lambda a: s.lift(lax.stop_gradient(a[0]), a), sympy=sf.stop_gradient,
             mpmath=lambda x: x, domain="all reals",
             doc="the value of x, with derivative zero"),
    Function(
        "diff", (2, 3),
        jax=Structural("compile.py differentiates the compiled sub-expression itself: "
                       "nested forward mode in a scalar variable, jax.grad in a vector"),
        taylor=NoTaylorRule("Taylor mode on the tree cannot carry a derivative of a "
                            "sub-expression; the engine falls back to jet, then to nested "
                            "forward mode"),
        sympy=Structural("sympy_view differentiates the translated sub-expression in a "
                         "fresh symbol and substitutes the variable back"),
        mpmath=Structural("the sympy translation has already evaluated the derivative"),
        printed=Structural("--symbolic prints the derivative itself, never diff()"),
        domain="diff(e, v[, n]): v a variable name, n an integer constant from 0 to 10",
        doc="the n-th derivative of e in v (n = 1 by default)"),
)
