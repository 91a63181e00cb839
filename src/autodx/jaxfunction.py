"""Expression text in, a JAX function out: :func:`function`.

The compiled expression (:attr:`autodx.api.Expression.fun`, a function of a dict of
arrays) as a Python callable with a real signature: one parameter per variable, in
coordinate order (natural name order: ``x2`` before ``x10``), given by position or by
name. It is plain traceable JAX code, so ``jax.jit``, ``jax.grad``, ``jax.vmap`` and
``jax.jacfwd`` compose with it as with a hand-written ``jnp`` function. autodx turns on
JAX's float64 mode (``jax_enable_x64``) when it is imported, as the CLI does.

Example:
    >>> import jax
    >>> f = function("sin(x)*y")
    >>> f
    autodx.function('sin(x)*y')  # f(x, y)
    >>> float(jax.grad(f, argnums=1)(0.5, 2.0)) == float(jax.numpy.sin(0.5))
    True
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Sequence

from ._jax import jax
import jax.numpy as jnp

from . import api
from .errors import InputError
from .limits import natural

if TYPE_CHECKING:
    from jax.typing import ArrayLike


class Function:
    """A compiled expression as a JAX-traceable Python function; see :func:`function`.

    Attributes:
        text: the expression's text.
        defs: the helper definitions it was compiled with.
        variables: the parameters, in coordinate order.
        expression: the parsed and compiled :class:`autodx.api.Expression`.
    """

    def __init__(self, expression: api.Expression, defs: Sequence[str] = ()):
        self.expression = expression
        self.text = expression.text
        self.defs = list(defs)
        self.variables = sorted(expression.variables, key=natural)
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(v, inspect.Parameter.POSITIONAL_OR_KEYWORD)
             for v in self.variables])
        self.__name__ = self.__qualname__ = "f"
        self.__doc__ = f"f({', '.join(self.variables)}) = {self.text}"
        self._latex: list[str | None] = []

    def __call__(self, *args: ArrayLike, **kwargs: ArrayLike) -> jax.Array:
        try:
            bound = self.__signature__.bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"{self.__doc__}: {e}") from None
        env = {name: self._argument(name, value) for name, value in bound.arguments.items()}
        return jnp.asarray(self.expression.fun(env))

    def _argument(self, name: str, value: Any) -> jax.Array:
        """A number or a vector as a JAX array; whole numbers become floats (of the
        default precision), so that ``f(1, 2)`` is ``f(1.0, 2.0)``."""
        array = jnp.asarray(value)
        if not jnp.issubdtype(array.dtype, jnp.inexact):
            array = array.astype(float)
        if array.ndim > 1 or (array.ndim == 0 and name in self.expression.info.vectors):
            kind = (f"a vector ({self.expression.info.vectors[name]})"
                    if name in self.expression.info.vectors else "a number or a vector")
            raise InputError(f"{self.__doc__}: {name} must be {kind}, not an array of "
                             f"shape {array.shape}; to evaluate many points, map over "
                             "them with jax.vmap(f)")
        return array

    def __repr__(self) -> str:
        defs = f", defs={self.defs!r}" if self.defs else ""
        return f"autodx.function({self.text!r}{defs})  # f({', '.join(self.variables)})"

    def _repr_latex_(self) -> str | None:
        """The expression in LaTeX, by sympy in a worker process (bounded in time; None,
        so that Jupyter shows the text, when it cannot say: a vector variable, whose
        length only a value gives, or sympy out of time)."""
        if self.expression.info.vectors:
            return None
        if not self._latex:
            from .check.latex import latex

            self._latex.append(latex([self.text], self.defs, self.variables)[1][0])
        return None if self._latex[0] is None else f"$\\displaystyle {self._latex[0]}$"


def function(text: str, defs: Sequence[str] = ()) -> Function:
    """Compile expression text into a JAX-traceable Python function of its variables.

    Args:
        text: the expression, in autodx's language (``"sin(x)*y"``, ``"dot(w, x)"``).
        defs: helper definitions, ``["L(u) = (u*a - 1)**2"]``.

    Returns:
        A :class:`Function`: call it as ``f(x, y)`` (coordinate order, see
        ``f.variables``) or ``f(x=..., y=...)``; numbers for scalar variables, 1-D
        arrays for vectors. It returns a JAX array.

    Example:
        >>> f = function("x**2 * y")
        >>> f.variables
        ['x', 'y']
        >>> float(f(3, y=2)), float(jax.grad(f)(3.0, 2.0))
        (18.0, 12.0)
    """
    return Function(api.expression(text, defs), defs)
