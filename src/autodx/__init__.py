"""autodx: exact derivatives of expressions from the command line, built on JAX.

The Python API (``autodx.grad``, ``autodx.hessian``, ``autodx.jvp_partial``,
``autodx.perex``, ``autodx.expression``) is loaded on first use, so
``import autodx`` (and ``autodx --help``) stays fast and never imports JAX.
"""
__version__ = "0.1.0"

_API = ("grad", "hessian", "jvp_partial", "perex", "expression", "GradResult", "Expression")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'autodx' has no attribute {name!r}")
