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
  argument depends on the variable; otherwise ``jax`` gives the value. A piecewise
  constant function (``floor``, the relations) takes its rule from ``_taylor_step`` or
  ``_taylor_value`` in ``parts.py``, which mark it constant: Taylor mode and
  :mod:`autodx.partial` then carry its result as a plain value, exactly constant, so
  that a function of it has derivatives 0 (``asin(floor(x))``).
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

from .core import (Function, Lazy, Missing, NoTaylorRule, Part, Structural,  # noqa: F401
                   resolve)
from .table import (COMPLEX, COMPLEX_WHY, FUNCTIONS, OPERATORS, SPELLINGS,  # noqa: F401
                    signature, vocabulary)
