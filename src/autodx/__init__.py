"""autodx: exact derivatives of expressions from the command line, built on JAX.

The Python API (``autodx.grad``, ``autodx.expression``) is loaded on first use, so
``import autodx`` (and ``autodx --help``) stays fast and never imports JAX.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "grad", "expression", "GradResult", "Expression"]


def __getattr__(name: str):
    if name in ("grad", "expression", "GradResult", "Expression"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'autodx' has no attribute {name!r}")
