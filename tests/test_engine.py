"""The engine on plain jnp functions: no parser, no CLI. Oracles are closed forms."""
from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from autodx import engine


def test_scalar_derivatives_by_jet_match_closed_form():
    run = engine.scalar_derivatives(lambda x: jnp.exp(2 * x), 6)
    out = np.asarray(run(0.5))
    assert out == pytest.approx([2.0 ** k * math.exp(1.0) for k in range(7)], rel=1e-13)


def test_scalar_derivatives_use_the_series_when_given():
    calls = []

    def series(x, order):
        calls.append(order)
        return jnp.asarray([1.0 / math.factorial(k) for k in range(order + 1)]) * jnp.exp(x)
    run = engine.scalar_derivatives(lambda x: jnp.exp(x), 4, series)
    assert np.asarray(run(0.0)) == pytest.approx([1.0] * 5, rel=1e-15)
    assert calls == [4]


def test_fallback_to_nested_forward_mode_when_no_taylor_rule():
    # jet has no rule for reduce_prod or a custom_jvp: the engine must still be exact
    f = jax_f = lambda x: jnp.prod(jnp.stack([x, x, x]))  # x^3
    run = engine.scalar_derivatives(jax_f, 4)
    assert np.asarray(run(2.0)) == pytest.approx([8.0, 12.0, 12.0, 6.0, 0.0])
    del f


def test_nested_fallback_has_an_order_limit():
    run = engine.scalar_derivatives(lambda x: jnp.prod(jnp.stack([x, x])),
                                    engine.MAX_NESTED_ORDER + 1)
    with pytest.raises(engine.OrderTooHigh, match="Taylor mode"):
        run(1.0)


def test_tensor_derivatives_of_a_cubic():
    # f = x0^2 x1: grad (2 x0 x1, x0^2), hessian [[2 x1, 2 x0], [2 x0, 0]]
    run = engine.tensor_derivatives(lambda x: x[0] ** 2 * x[1], 3)
    value, (g, h, t) = run(jnp.array([3.0, 2.0]))
    assert float(value) == 18.0
    assert np.asarray(g).tolist() == [12.0, 9.0]
    assert np.asarray(h).tolist() == [[4.0, 6.0], [6.0, 0.0]]
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 1] = expected[0, 1, 0] = expected[1, 0, 0] = 2.0
    assert np.array_equal(np.asarray(t), expected)


def test_tensor_size_limit():
    engine.check_tensor_size(10, 6)
    with pytest.raises(ValueError, match="entries"):
        engine.check_tensor_size(10, 7)

