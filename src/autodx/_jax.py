"""JAX, configured once: float64 by default, set before any array is made."""
import jax

jax.config.update("jax_enable_x64", True)

__all__ = ["jax"]
