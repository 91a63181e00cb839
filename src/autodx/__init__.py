"""autodx: exact derivatives of expressions from the command line, built on JAX.

The Python API is loaded on first use, so ``import autodx`` (and ``autodx --help``)
stays fast and never imports JAX or numpy:

- ``autodx.grad``, ``autodx.hessian``, ``autodx.jvp_partial``, ``autodx.perex``: the
  commands, at a point (``at=``) or at every row of ``data=`` (a file, a dict of
  arrays, a 2-D array or a pandas DataFrame);
- ``autodx.jacobian``: the Jacobian of a list of expressions, at a point or over
  ``data=``;
- ``autodx.function``: expression text in, a JAX function out (``jax.jit``,
  ``jax.grad``, ``jax.vmap`` compose with it);
- ``autodx.formula``: the symbolic derivatives, by sympy;
- ``autodx.expression``: the parsed and compiled expression.

See docs/python.md.
"""
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "grad": "api", "hessian": "api", "jvp_partial": "api", "perex": "api",
    "expression": "api", "Expression": "api",
    "GradResult": "views", "GradRows": "views",
    "function": "jaxfunction", "Function": "jaxfunction",
    "formula": "symbolic", "Formula": "symbolic",
    "jacobian": "jacobians",
}
__all__ = ["__version__", *_API]

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads them
    from .api import Expression, expression, grad, hessian, jvp_partial, perex
    from .jacobians import jacobian
    from .jaxfunction import Function, function
    from .symbolic import Formula, formula
    from .views import GradResult, GradRows
else:
    def __getattr__(name: str):
        if name in _API:
            import importlib

            value = getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)
            globals()[name] = value  # found at once next time
            return value
        raise AttributeError(f"module 'autodx' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *(n for n in globals() if n.startswith("__"))})
