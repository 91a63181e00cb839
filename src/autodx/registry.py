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
- ``aliases``: other spellings of the same function (``Abs``, ``arcsin``, ``ln``): the
  parser reads them as ``name``, and ``autodx functions`` lists them.
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


def _truth(v):
    return v != 0


def _jax_relation(op: str) -> Callable:
    compare = {"Lt": jnp.less, "Le": jnp.less_equal, "Gt": jnp.greater,
               "Ge": jnp.greater_equal, "Eq": jnp.equal, "Ne": jnp.not_equal}[op]
    return lambda a, b: jnp.where(compare(a, b), 1.0, 0.0)


def _jax_logic(reduce: str) -> Callable:
    pairwise = jnp.logical_and if reduce == "and" else jnp.logical_or
    return lambda *args: jnp.where(functools.reduce(pairwise, map(_truth, args)), 1.0, 0.0)


def _taylor_value(jax_fn: Callable) -> Callable:
    """Piecewise constant in all its arguments: the value at t0, then zeros."""
    def rule(*cs):
        like = max(cs, key=lambda c: c.ndim)
        return s.lift(jax_fn(*(c[0] for c in cs)), like)
    return rule


def _jax_piecewise(*args):
    """(e1, c1, e2, c2, ...): the first e whose c is true; nan where none is (sympy's
    Piecewise is undefined there)."""
    out = math.nan
    for e, c in reversed(list(zip(args[::2], args[1::2]))):
        out = jnp.where(_truth(c), e, out)
    return out


def _taylor_piecewise(*cs):
    like = max(cs, key=lambda c: c.ndim)
    out = jnp.full_like(like, math.nan)
    for e, c in reversed(list(zip(cs[::2], cs[1::2]))):
        e, c = s.match(e, c)
        out, e = s.match(out, e)
        out = jnp.where(_truth(c[0]), e, out)
    return out


def _mp_piecewise(*args):
    for e, c in zip(args[::2], args[1::2]):
        if c:
            return e
    return mp.nan


def _jax_heaviside(x, h0=0.5):
    return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, h0))


def _mp_heaviside(x, h0=0.5):
    return mp.mpf(1) if x > 0 else (mp.mpf(0) if x < 0 else mp.mpf(h0))


def _jax_dirac(x, k=0):
    return jnp.where(x == 0, math.inf, 0.0)


def _mp_dirac(x, k=0):
    return mp.inf if x == 0 else mp.mpf(0)


_MP_RELATIONS = {
    "Lt": lambda a, b: mp.mpf(a < b), "Le": lambda a, b: mp.mpf(a <= b),
    "Gt": lambda a, b: mp.mpf(a > b), "Ge": lambda a, b: mp.mpf(a >= b),
    "Eq": lambda a, b: mp.mpf(a == b), "Ne": lambda a, b: mp.mpf(a != b),
}


def _taylor_mod(a, b):
    a, b = s.match(a, b)
    return s.with_value(a - s.scale(b, jnp.floor(a[0] / b[0])), jnp.mod(a[0], b[0]))


def _acot(x):
    return jnp.where(x >= 0, math.pi / 2, -math.pi / 2) - jnp.arctan(x)


def _taylor_inverse(value: Callable, slope: Callable) -> Callable:
    """f(a) by integrating f'(a) a', f'(a) given as a series function of a."""
    return lambda a: s.by_derivative(a, value(a[0]), slope(a))


def _side(a):
    return jnp.where(a >= 0, 1.0, -1.0)


def _taylor_logaddexp(a, b):
    a, b = s.match(a, b)
    high = jnp.where(a[0] >= b[0], 1.0, 0.0)
    top, low = high * a + (1 - high) * b, high * b + (1 - high) * a
    return top + s.log1p(s.exp(low - top))


def _jax_logaddexp(a, b):
    top = jnp.maximum(a, b)
    return top + jnp.log1p(jnp.exp(-jnp.abs(a - b)))


def _jax_lambertw(x, k=0):
    return jnp.where(k == 0, sx.lambertw(x), math.nan)


def _sympy_optional(cls: Lazy, default) -> Callable:
    """A sympy class whose last argument may be left out."""
    return lambda x, extra=None: cls(x) if extra is None or extra == default else cls(x, extra)


def _taylor_root(a, n):
    a, n = s.match(a, n)
    return s.exp(s.div(s.log(a), n))


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
             doc="inverse sine",
             aliases=('arcsin',)),
    Function("acos", (1, 1), jax=lambda x: jnp.arctan2(jnp.sqrt((1 - x) * (1 + x)), x),
             taylor=lambda a: s.by_derivative(a, jnp.arccos(a[0]),
                                              -s.pow(s.one_minus_square(a), -0.5)),
             sympy=sp.acos, mpmath=mp.acos, domain="-1 <= x <= 1; derivatives -1 < x < 1",
             doc="inverse cosine",
             aliases=('arccos',)),
    Function("atan", (1, 1), jax=lambda x: jnp.arctan2(x, jnp.ones_like(x)),
             taylor=lambda a: s.by_derivative(
                 a, jnp.arctan(a[0]), s.div(s.lift(1.0, a), s.one_minus_square(a, 1.0))),
             sympy=sp.atan, mpmath=mp.atan, domain="all reals", doc="inverse tangent",
             aliases=('arctan',)),
    Function("atan2", (2, 2), jax=jnp.arctan2, taylor=s.atan2, sympy=sp.atan2,
             mpmath=mp.atan2, domain="(y, x) != (0, 0); derivatives off y = 0, x <= 0",
             doc="atan2(y, x): the angle of the point (x, y)",
             aliases=('arctan2',)),
    Function("sinh", (1, 1), jax=jnp.sinh, taylor=lambda a: s.sincos(a, 1.0)[0],
             sympy=sp.sinh, mpmath=mp.sinh, domain="all reals", doc="hyperbolic sine"),
    Function("cosh", (1, 1), jax=jnp.cosh, taylor=lambda a: s.sincos(a, 1.0)[1],
             sympy=sp.cosh, mpmath=mp.cosh, domain="all reals", doc="hyperbolic cosine"),
    Function("tanh", (1, 1), jax=sx.tanh, taylor=s.tanh, sympy=sp.tanh,
             mpmath=mp.tanh, domain="all reals", doc="hyperbolic tangent"),
    Function("asinh", (1, 1), jax=jnp.arcsinh,
             taylor=lambda a: s.by_derivative(a, jnp.arcsinh(a[0]),
                                              s.pow(s.one_minus_square(a, 1.0), -0.5)),
             sympy=sp.asinh, mpmath=mp.asinh, domain="all reals",
             doc="inverse hyperbolic sine",
             aliases=('arcsinh',)),
    Function("acosh", (1, 1), jax=jnp.arccosh,
             taylor=lambda a: s.by_derivative(a, jnp.arccosh(a[0]),
                                              s.pow(s.mul(a, a) - s.lift(1.0, a), -0.5)),
             sympy=sp.acosh, mpmath=mp.acosh, domain="x >= 1; derivatives x > 1",
             doc="inverse hyperbolic cosine",
             aliases=('arccosh',)),
    Function("atanh", (1, 1), jax=jnp.arctanh,
             taylor=lambda a: s.by_derivative(
                 a, jnp.arctanh(a[0]), s.div(s.lift(1.0, a), s.one_minus_square(a))),
             sympy=sp.atanh, mpmath=mp.atanh, domain="-1 < x < 1",
             doc="inverse hyperbolic tangent",
             aliases=('arctanh',)),
    Function("exp", (1, 1), jax=jnp.exp, taylor=s.exp, sympy=sp.exp, mpmath=mp.exp,
             domain="all reals", doc="e to the power x"),
    Function("log", (1, 2), jax=_jax_log, taylor=_taylor_log, sympy=sp.log, mpmath=mp.log,
             domain="x > 0 (and base b > 0, b != 1)",
             doc="natural logarithm; log(x, b) to base b",
             aliases=('ln',)),
    Function("sqrt", (1, 1), jax=jnp.sqrt, taylor=lambda a: s.pow(a, 0.5), sympy=sp.sqrt,
             mpmath=mp.sqrt, domain="x >= 0; derivatives x > 0", doc="square root"),
    Function("cbrt", (1, 1), jax=lambda x: jnp.sign(x) * jnp.abs(x) ** (1.0 / 3.0),
             taylor=_taylor_cbrt, sympy=sf.cbrt,
             mpmath=lambda x: mp.sign(x) * mp.cbrt(abs(x)),
             domain="all reals; derivatives x != 0", doc="real cube root, negative for x < 0"),
    Function("abs", (1, 1), jax=jnp.abs, taylor=lambda a: s.scale(a, jnp.sign(a[0])),
             sympy=sp.Abs, mpmath=abs, domain="all reals; derivatives x != 0",
             doc="absolute value",
             aliases=('Abs', 'absolute', 'fabs')),
    Function("sign", (1, 1), jax=jnp.sign, taylor=_taylor_step(jnp.sign), sympy=sp.sign,
             mpmath=lambda x: mp.mpf(mp.sign(x)), domain="all reals; derivatives x != 0",
             doc="-1, 0 or 1"),
    Function("floor", (1, 1), jax=jnp.floor, taylor=_taylor_step(jnp.floor),
             sympy=sf.floor, mpmath=mp.floor, domain="all reals; derivatives off integers",
             doc="the integer at or below x"),
    Function("ceiling", (1, 1), jax=jnp.ceil, taylor=_taylor_step(jnp.ceil),
             sympy=sf.ceiling, mpmath=mp.ceil, domain="all reals; derivatives off integers",
             doc="the integer at or above x",
             aliases=('ceil',)),
    Function("round", (1, 1), jax=jnp.round, taylor=_taylor_step(jnp.round),
             sympy=sf.round, mpmath=mp.nint,
             domain="all reals; derivatives off half-integers",
             doc="the nearest integer, ties to even"),
    Function("erf", (1, 1), jax=jsp.erf,
             taylor=lambda a: s.by_derivative(a, jsp.erf(a[0]),
                                              s.scale(s.exp(-s.mul(a, a)), _ERF_SCALE)),
             sympy=sp.erf, mpmath=mp.erf, domain="all reals", doc="the error function"),
    Function("sigmoid", (1, 1), jax=sx.sigmoid, taylor=s.sigmoid,
             sympy=sf.sigmoid, mpmath=lambda x: 1 / (1 + mp.exp(-x)), domain="all reals",
             doc="the logistic function 1/(1 + exp(-x))",
             aliases=('expit',)),
    Function("min", (1, None), jax=_jax_reduce(jnp.minimum, jnp.min), taylor=s.minimum,
             sympy=sp.Min, mpmath=lambda *a: min(a), domain="all reals; derivatives off ties",
             doc="the least argument, or the least entry of one vector",
             aliases=('Min', 'minimum', 'amin')),
    Function("max", (1, None), jax=_jax_reduce(jnp.maximum, jnp.max), taylor=s.maximum,
             sympy=sp.Max, mpmath=lambda *a: max(a), domain="all reals; derivatives off ties",
             doc="the greatest argument, or the greatest entry of one vector",
             aliases=('Max', 'maximum', 'amax')),
    # ------------------------------------------------ trigonometric, the rest of sympy's
    Function("cot", (1, 1), jax=lambda x: jnp.cos(x) / jnp.sin(x),
             taylor=lambda a: s.ode(a, jnp.cos(a[0]) / jnp.sin(a[0]), -1.0, 0.0, -1.0),
             sympy=sp.cot, mpmath=mp.cot, domain="x not a multiple of pi", doc="cotangent"),
    Function("sec", (1, 1), jax=lambda x: 1 / jnp.cos(x),
             taylor=lambda a: s.div(s.lift(1.0, a), s.sincos(a, -1.0)[1]), sympy=sp.sec,
             mpmath=mp.sec, domain="x not an odd multiple of pi/2", doc="secant, 1/cos(x)"),
    Function("csc", (1, 1), jax=lambda x: 1 / jnp.sin(x),
             taylor=lambda a: s.div(s.lift(1.0, a), s.sincos(a, -1.0)[0]), sympy=sp.csc,
             mpmath=mp.csc, domain="x not a multiple of pi", doc="cosecant, 1/sin(x)"),
    Function("acot", (1, 1), jax=_acot,
             taylor=_taylor_inverse(_acot, lambda a: s.div(s.lift(-1.0, a),
                                                           s.one_minus_square(a, 1.0))),
             sympy=sp.acot, mpmath=mp.acot, domain="all reals (acot(0) = pi/2, sympy's); "
             "derivatives x != 0", doc="inverse cotangent, in (-pi/2, pi/2]",
             aliases=("arccot",)),
    Function("asec", (1, 1),
             jax=lambda x: jnp.arctan2(jnp.sqrt((x - 1) * (x + 1)), _side(x)),
             taylor=_taylor_inverse(lambda x: jnp.arccos(1 / x), lambda a: s.pow(
                 s.mul(s.mul(a, a), s.mul(a, a) - s.lift(1.0, a)), -0.5)),
             sympy=sp.asec, mpmath=mp.asec, domain="|x| >= 1; derivatives |x| > 1",
             doc="inverse secant, acos(1/x)", aliases=("arcsec",)),
    Function("acsc", (1, 1),
             jax=lambda x: jnp.arctan2(_side(x), jnp.sqrt((x - 1) * (x + 1))),
             taylor=_taylor_inverse(lambda x: jnp.arcsin(1 / x), lambda a: -s.pow(
                 s.mul(s.mul(a, a), s.mul(a, a) - s.lift(1.0, a)), -0.5)),
             sympy=sp.acsc, mpmath=mp.acsc, domain="|x| >= 1; derivatives |x| > 1",
             doc="inverse cosecant, asin(1/x)", aliases=("arccsc",)),
    Function("coth", (1, 1), jax=sx.coth, taylor=sx.coth_series, sympy=sp.coth,
             mpmath=mp.coth, domain="x != 0", doc="hyperbolic cotangent"),
    Function("sech", (1, 1), jax=sx.sech, taylor=sx.sech_series, sympy=sp.sech,
             mpmath=mp.sech, domain="all reals", doc="hyperbolic secant, 1/cosh(x)"),
    Function("csch", (1, 1), jax=sx.csch, taylor=sx.csch_series, sympy=sp.csch,
             mpmath=mp.csch, domain="x != 0", doc="hyperbolic cosecant, 1/sinh(x)"),
    Function("acoth", (1, 1), jax=lambda x: jnp.arctanh(1 / x),
             taylor=_taylor_inverse(lambda x: jnp.arctanh(1 / x), lambda a: s.div(
                 s.lift(1.0, a), s.one_minus_square(a))),
             sympy=sp.acoth, mpmath=mp.acoth, domain="|x| > 1",
             doc="inverse hyperbolic cotangent", aliases=("arccoth",)),
    Function("asech", (1, 1), jax=lambda x: jnp.arccosh(1 / x),
             taylor=_taylor_inverse(lambda x: jnp.arccosh(1 / x), lambda a: -s.pow(
                 s.mul(s.mul(a, a), s.one_minus_square(a)), -0.5)),
             sympy=sp.asech, mpmath=mp.asech, domain="0 < x <= 1; derivatives 0 < x < 1",
             doc="inverse hyperbolic secant", aliases=("arcsech",)),
    Function("acsch", (1, 1), jax=lambda x: jnp.arcsinh(1 / x),
             taylor=_taylor_inverse(lambda x: jnp.arcsinh(1 / x), lambda a: -s.pow(
                 s.mul(s.mul(a, a), s.one_minus_square(a, 1.0)), -0.5)),
             sympy=sp.acsch, mpmath=mp.acsch, domain="x != 0",
             doc="inverse hyperbolic cosecant", aliases=("arccsch",)),
    Function("sinc", (1, 1), jax=sx.sinc, taylor=sx.sinc_series, sympy=sp.sinc,
             mpmath=mp.sinc, domain="all reals",
             doc="sin(x)/x, 1 at 0 (sympy's; numpy's sinc is sin(pi x)/(pi x))"),
    # ------------------------------------------------ exponentials and logarithms
    Function("expm1", (1, 1), jax=jnp.expm1, taylor=s.expm1,
             sympy=lambda x: sp.exp(x) - 1, mpmath=mp.expm1, domain="all reals",
             doc="exp(x) - 1, accurate near 0"),
    Function("log1p", (1, 1), jax=jnp.log1p, taylor=s.log1p,
             sympy=lambda x: sp.log(1 + x), mpmath=mp.log1p, domain="x > -1",
             doc="log(1 + x), accurate near 0"),
    Function("exp2", (1, 1), jax=lambda x: jnp.exp(x * math.log(2)),
             taylor=lambda a: s.exp(s.scale(a, math.log(2))), sympy=lambda x: 2 ** x,
             mpmath=lambda x: mp.power(2, x), domain="all reals", doc="2 to the power x"),
    Function("log10", (1, 1), jax=lambda x: jnp.log(x) / math.log(10),
             taylor=lambda a: s.scale(s.log(a), 1 / math.log(10)),
             sympy=lambda x: sp.log(x) / sp.log(10), mpmath=mp.log10, domain="x > 0",
             doc="logarithm to base 10"),
    Function("log2", (1, 1), jax=lambda x: jnp.log(x) / math.log(2),
             taylor=lambda a: s.scale(s.log(a), 1 / math.log(2)),
             sympy=lambda x: sp.log(x) / sp.log(2), mpmath=lambda x: mp.log(x, 2),
             domain="x > 0", doc="logarithm to base 2"),
    Function("root", (2, 2), jax=lambda x, n: jnp.power(x, 1 / n), taylor=_taylor_root,
             sympy=sp.root, mpmath=lambda x, n: mp.power(x, 1 / n),
             domain="x > 0 (cbrt is the real cube root of a negative)",
             doc="root(x, n) = x**(1/n)"),
    Function("square", (1, 1), jax=jnp.square, taylor=lambda a: s.mul(a, a),
             sympy=lambda x: x ** 2, mpmath=lambda x: x ** 2, domain="all reals",
             doc="x**2"),
    Function("rsqrt", (1, 1), jax=lax.rsqrt, taylor=lambda a: s.pow(a, -0.5),
             sympy=lambda x: 1 / sp.sqrt(x), mpmath=lambda x: 1 / mp.sqrt(x),
             domain="x > 0", doc="1/sqrt(x)"),
    Function("hypot", (2, 2), jax=lambda a, b: jnp.sqrt(a * a + b * b),
             taylor=lambda a, b: s.pow(s.mul(a, a) + s.mul(b, b), 0.5),
             sympy=lambda a, b: sp.sqrt(a ** 2 + b ** 2), mpmath=mp.hypot,
             domain="all reals; derivatives off (0, 0)", doc="sqrt(a**2 + b**2)"),
    Function("logaddexp", (2, 2), jax=_jax_logaddexp, taylor=_taylor_logaddexp,
             sympy=lambda a, b: sp.log(sp.exp(a) + sp.exp(b)),
             mpmath=lambda a, b: mp.log(mp.exp(a) + mp.exp(b)), domain="all reals",
             doc="log(exp(a) + exp(b)), without overflow"),
    Function("logit", (1, 1), jax=lambda p: jnp.log(p) - jnp.log1p(-p),
             taylor=lambda a: s.log(a) - s.log1p(-a), sympy=lambda p: sp.log(p / (1 - p)),
             mpmath=lambda p: mp.log(p / (1 - p)), domain="0 < p < 1",
             doc="log(p/(1 - p)), the inverse of sigmoid"),
    # ------------------------------------------------ pieces, steps and conditions
    Function("frac", (1, 1), jax=lambda x: x - jnp.floor(x),
             taylor=lambda a: s.with_value(a, a[0] - jnp.floor(a[0])), sympy=sf.frac,
             mpmath=mp.frac, domain="all reals; derivatives off integers",
             doc="x - floor(x), in [0, 1)"),
    Function("trunc", (1, 1), jax=jnp.trunc, taylor=_taylor_step(jnp.trunc),
             sympy=sf.trunc, mpmath=lambda x: mp.mpf(int(x)),
             domain="all reals; derivatives off integers",
             doc="the integer part, towards 0", aliases=("fix", "Integer")),
    Function("Mod", (2, 2), jax=jnp.mod, taylor=_taylor_mod, sympy=sf.Mod,
             mpmath=lambda a, b: a - b * mp.floor(a / b),
             domain="b != 0; derivatives off the jumps (a a multiple of b)",
             doc="a - b*floor(a/b), the sign of b (sympy's Mod, Python's %); a % b",
             aliases=("mod", "fmod_floor")),
    Function("Heaviside", (1, 2), jax=_jax_heaviside, taylor=_taylor_value(_jax_heaviside),
             sympy=_sympy_optional(sp.Heaviside, 0.5), mpmath=_mp_heaviside,
             domain="all reals; derivatives x != 0",
             doc="0 below 0, 1 above, Heaviside(0) = 1/2 (sympy's); Heaviside(x, h0)",
             aliases=("heaviside",)),
    Function("DiracDelta", (1, 2), jax=_jax_dirac, taylor=_taylor_value(_jax_dirac),
             sympy=_sympy_optional(sp.DiracDelta, 0), mpmath=_mp_dirac,
             domain="x != 0 (inf at 0, with a warning)",
             doc="0 away from 0; DiracDelta(x, k) is its k-th derivative"),
    Function("Piecewise", (2, None), jax=_jax_piecewise, taylor=_taylor_piecewise,
             sympy=sf.piecewise, mpmath=_mp_piecewise,
             domain="where a condition holds (nan where none does)",
             doc="Piecewise((e1, c1), (e2, c2), ..., (e, True)): the first e whose c holds"),
    *(Function(op, (2, 2), jax=_jax_relation(op), taylor=_taylor_value(_jax_relation(op)),
               sympy=getattr(sp, op), mpmath=_MP_RELATIONS[op],
               domain="all reals; derivatives 0, off where it switches",
               doc=f"{text}: 1 where it holds, else 0")
      for op, text in (("Lt", "a < b"), ("Le", "a <= b"), ("Gt", "a > b"),
                       ("Ge", "a >= b"), ("Eq", "a == b"), ("Ne", "a != b"))),
    Function("And", (1, None), jax=_jax_logic("and"), taylor=_taylor_value(_jax_logic("and")),
             sympy=sf.logic_and, mpmath=lambda *a: mp.mpf(all(a)),
             domain="conditions (a number is true where it is not 0)",
             doc="c1 & c2 & ...: every condition holds"),
    Function("Or", (1, None), jax=_jax_logic("or"), taylor=_taylor_value(_jax_logic("or")),
             sympy=sf.logic_or, mpmath=lambda *a: mp.mpf(any(a)),
             domain="conditions (a number is true where it is not 0)",
             doc="c1 | c2 | ...: some condition holds"),
    Function("Not", (1, 1), jax=lambda c: jnp.where(_truth(c), 0.0, 1.0),
             taylor=_taylor_value(lambda c: jnp.where(_truth(c), 0.0, 1.0)),
             sympy=sf.logic_not, mpmath=lambda c: mp.mpf(not c),
             domain="a condition (a number is true where it is not 0)",
             doc="~c: the condition does not hold"),
    Function("Float", (1, 1), jax=lambda x: x + 0.0, taylor=lambda a: a,
             sympy=lambda x: x, mpmath=lambda x: x, domain="all reals",
             doc="the number itself (sympy's Float(0.5))"),
    Function("Rational", (2, 2), jax=lambda p, q: p / q,
             taylor=lambda p, q: s.div(*s.match(p, q)), sympy=lambda p, q: p / q,
             mpmath=lambda p, q: p / q, domain="q != 0", doc="p/q (sympy's Rational(1, 3))"),
    # ------------------------------------------------ special functions
    Function("erfc", (1, 1), jax=jsp.erfc,
             taylor=lambda a: s.by_derivative(a, jsp.erfc(a[0]),
                                              s.scale(s.exp(-s.mul(a, a)), -_ERF_SCALE)),
             sympy=sp.erfc, mpmath=mp.erfc, domain="all reals",
             doc="1 - erf(x), accurate where erf(x) is near 1"),
    Function("erfinv", (1, 1), jax=jsp.erfinv, taylor=sx.erfinv_series, sympy=sp.erfinv,
             mpmath=mp.erfinv, domain="-1 < x < 1", doc="the inverse of erf"),
    Function("gamma", (1, 1), jax=sx.gamma, taylor=sx.gamma_series, sympy=sp.gamma,
             mpmath=mp.gamma, domain="x not 0, -1, -2, ...", doc="the gamma function",
             aliases=("tgamma",)),
    Function("loggamma", (1, 1), jax=jsp.gammaln, taylor=sx.loggamma_series,
             sympy=sp.loggamma, mpmath=mp.loggamma,
             domain="x > 0 (for x < 0 autodx gives log|gamma(x)|, scipy's gammaln; "
             "sympy's is complex)", doc="log(gamma(x))", aliases=("gammaln", "lgamma")),
    Function("digamma", (1, 1), jax=jsp.digamma, taylor=sx.digamma_series, sympy=sp.digamma,
             mpmath=mp.digamma, domain="x not 0, -1, -2, ...",
             doc="gamma'(x)/gamma(x), printed by sympy as polygamma(0, x)", aliases=("psi",)),
    Function("polygamma", (2, 2), jax=sx.polygamma, taylor=sx.polygamma_series,
             sympy=sp.polygamma, mpmath=mp.polygamma,
             domain="n an integer >= 0 (constant); x not 0, -1, -2, ...",
             doc="polygamma(n, x): the n-th derivative of digamma"),
    Function("beta", (2, 2), jax=sx.beta, taylor=sx.beta_series, sympy=sp.beta,
             mpmath=mp.beta, domain="a, b, a + b not 0, -1, -2, ...",
             doc="gamma(a) gamma(b) / gamma(a + b)"),
    Function("factorial", (1, 1), jax=lambda x: sx.gamma(x + 1),
             taylor=lambda a: sx.gamma_series(a + s.lift(1.0, a)), sympy=sp.factorial,
             mpmath=mp.factorial, domain="x not -1, -2, ... (real x: gamma(x + 1))",
             doc="x! = gamma(x + 1)"),
    Function("binomial", (2, 2), jax=sx.binomial, taylor=sx.binomial_series,
             sympy=sp.binomial, mpmath=mp.binomial,
             domain="real n, k through gamma; derivatives off the poles",
             doc="gamma(n + 1) / (gamma(k + 1) gamma(n - k + 1))", aliases=("comb",)),
    Function("LambertW", (1, 2), jax=_jax_lambertw,
             taylor=lambda a, k=None: sx.lambertw_series(a), sympy=sp.LambertW,
             mpmath=lambda x, k=0: mp.lambertw(x, int(k)),
             domain="x >= -1/e; derivatives x > -1/e; the principal branch (k = 0) only",
             doc="W(x): the solution of W exp(W) = x", aliases=("lambertw",)),
    Function("besselj", (2, 2), jax=sx.besselj, taylor=sx.besselj_series,
             sympy=sp.besselj, mpmath=mp.besselj,
             domain="n an integer with |n| <= 40 (constant); |x| + |n| + order < 250",
             doc="besselj(n, x): Bessel function of the first kind", aliases=("jv", "jn")),
    Function("besseli", (2, 2), jax=sx.besseli, taylor=sx.besseli_series,
             sympy=sp.besseli, mpmath=mp.besseli,
             domain="n an integer with |n| <= 40 (constant); |x| <= 100",
             doc="besseli(n, x): modified Bessel function of the first kind",
             aliases=("iv",)),
    Function("zeta", (1, 2), jax=sx.zeta, taylor=sx.zeta_series, sympy=sp.zeta,
             mpmath=mp.zeta, domain="s > 1 (and q > 0 in zeta(s, q))",
             doc="Riemann zeta(s); zeta(s, q) is Hurwitz's"),
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

# Every spelling of a function, its aliases included, -> its name in FUNCTIONS.
SPELLINGS: dict[str, str] = {spelling: f.name for f in FUNCTIONS.values()
                             for spelling in (f.name, *f.aliases)}

# sympy's names for complex numbers: refused with a reason, never read as a variable.
COMPLEX = frozenset({"I", "re", "im", "conjugate", "arg"})
COMPLEX_WHY = "complex numbers are not supported: autodx differentiates real functions"


# ---------------------------------------------------------------- the vocabulary, listed

# How a call is written, where the arity alone does not say (the rest: x, or a, b).
_ARGS = {
    "log": "x[, b]", "atan2": "y, x", "polygamma": "n, x", "besselj": "n, x",
    "besseli": "n, x", "root": "x, n", "Heaviside": "x[, h0]", "DiracDelta": "x[, k]",
    "Piecewise": "(e1, c1), (e2, c2), ...", "zeta": "s[, q]", "LambertW": "x[, k]",
    "binomial": "n, k", "Rational": "p, q", "diff": "e, v[, n]", "min": "a, b, ... | v",
    "max": "a, b, ... | v", "And": "c1, c2, ...", "Or": "c1, c2, ...", "Not": "c",
    "sum": "v", "prod": "v", "norm": "v", "dot": "u, v",
}
# Operators that are spellings of an entry, as the parser reads them.
OPERATORS = {"Lt": "<", "Le": "<=", "Gt": ">", "Ge": ">=", "Eq": "==", "Ne": "!=",
             "Mod": "%", "And": "&", "Or": "|", "Not": "~", "diff": "Derivative(e, x)"}


def signature(f: Function) -> str:
    """How a call of ``f`` is written: ``"n, x"`` for ``polygamma``."""
    if f.name in _ARGS:
        return _ARGS[f.name]
    low, high = f.arity
    if high is None:
        return "a, b, ..."
    names = ["x"] if (low, high) == (1, 1) else ["a", "b"][:high]
    return ", ".join(names[:low]) + "".join(f"[, {n}]" for n in names[low:high])


def vocabulary() -> list[dict[str, str]]:
    """One row per function of the language: name, arguments, domain, aliases, meaning;
    what ``autodx functions`` prints and docs/expressions.md's table shows.

    Example:
        >>> [row for row in vocabulary() if row["name"] == "asin"][0]["aliases"]
        'arcsin'
    """
    return [{"name": f.name, "arguments": signature(f), "domain": f.domain,
             "aliases": ", ".join(([OPERATORS[f.name]] if f.name in OPERATORS else []) +
                                  list(f.aliases)),
             "meaning": f.doc}
            for f in sorted(FUNCTIONS.values(), key=lambda f: f.name.lower())]
