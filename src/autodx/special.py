"""JAX values and Taylor rules of the functions that need more than one line: the
tails-accurate hyperbolic and logistic functions, the gamma family, LambertW, the
inverse error function, Bessel functions of integer order and the zeta function.

Each value is differentiable by every JAX transform to any order (a ``custom_jvp``
whose derivative is written with the function itself where autodiff of the algorithm
would be wrong or slow). Each Taylor rule is series arithmetic of
:mod:`autodx.series` whose program does not grow with the order: the gamma family and
Bessel functions compose their own Taylor coefficients at the point (closed forms in
zeta values and neighbouring orders), LambertW and erfinv solve their ODE by Picard
iteration (one more correct coefficient a step), zeta sums its Euler-Maclaurin formula.
:mod:`autodx.registry` names them.

    >>> import jax.numpy as jnp
    >>> round(float(lambertw(jnp.asarray(1.0))), 12)  # the omega constant
    0.56714329041
"""
from __future__ import annotations

import math

import numpy as np

from ._jax import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from . import series as s

BESSEL_MAX_ORDER = 40   # |n| of besselj(n, x), besseli(n, x)
_BESSEL_SPARE = 16      # orders beyond it that nested derivatives reach (n +- order)
_BESSEL_POINTS = 320    # trapezoid points of J's integral: exact for |x| + n < ~250
_BESSEL_TERMS = 200     # terms of I's power series: |x| up to ~120


# ---------------------------------------------------------------- tails

def _side(x):
    return jnp.where(x >= 0, 1.0, -1.0).astype(jnp.result_type(x, float))


def tanh(x):
    """tanh, for |x| >= 1 through E = exp(-2|x|): derivatives keep their relative
    accuracy in the tails, where JAX's rule 1 - tanh^2 rounds to 0 (at x = -20)."""
    side = _side(x)
    e = jnp.expm1(-2.0 * side * x)
    return jnp.where(jnp.abs(x) < 1.0, jnp.tanh(x), side * -e / (2.0 + e))


def sigmoid(x):
    """1/(1 + exp(-x)), for |x| >= 1 through E = exp(-|x|): accurate derivatives at
    x = 35, where JAX's rule s (1 - s) rounds to 0."""
    e = jnp.exp(-_side(x) * x)
    return jnp.where(jnp.abs(x) < 1.0, jax.nn.sigmoid(x), jnp.where(x >= 0, 1.0, e) / (1.0 + e))


def sech(x):
    e = jnp.exp(-_side(x) * x)
    return 2.0 * e / (1.0 + e * e)


def csch(x):
    side = _side(x)
    return side * -2.0 * jnp.exp(-side * x) / jnp.expm1(-2.0 * side * x)


def coth(x):
    side = _side(x)
    e = jnp.expm1(-2.0 * side * x)
    return side * (2.0 + e) / -e


def sech_series(a):
    side = s._side(a)
    e = s.exp(s.scale(a, -side))
    return s.div(s.scale(e, 2.0), s.lift(1.0, a) + s.mul(e, e))


def csch_series(a):
    side = s._side(a)
    return s.scale(s.div(s.exp(s.scale(a, -side)), s.expm1(s.scale(a, -2.0 * side))),
                   -2.0 * side)


def coth_series(a):
    side = s._side(a)
    e = s.expm1(s.scale(a, -2.0 * side))
    return s.scale(s.div(s.lift(2.0, a) + e, -e), side)


# ---------------------------------------------------------------- the gamma family

def _zeta_k(k, x0):
    """Hurwitz zeta(k, x0) for the integers k >= 2 of an array (JAX's is exact there)."""
    return jsp.zeta(k, x0)


def polygamma_coefficients(m, x0, n: int):
    """psi^(m+k)(x0) / k! for k = 0..n-1: (-1)^(m+k+1) (m+k)!/k! zeta(m+k+1, x0), and
    digamma(x0) for m + k = 0."""
    x0 = jnp.asarray(x0)
    k = jnp.arange(n, dtype=x0.dtype).reshape((-1,) + (1,) * x0.ndim)
    j = m + k
    sign = jnp.where(jnp.mod(j + 1, 2) == 0, 1.0, -1.0)
    ratio = jnp.exp(jsp.gammaln(j + 1) - jsp.gammaln(k + 1))
    c = sign * ratio * _zeta_k(jnp.maximum(j + 1, 2.0), x0)
    return jnp.where(j == 0, jsp.digamma(x0), c)


def polygamma_series(m, a):
    return s.compose(a, polygamma_coefficients(m[0], a[0], a.shape[0]))


def digamma_series(a):
    return polygamma_series(jnp.zeros_like(a[:1]), a)


def loggamma_series(a):
    """log|gamma(a)|: its derivative is digamma."""
    return s.by_derivative(a, jsp.gammaln(a[0]), digamma_series(a))


def gamma_series(a):
    return s.scale(s.exp(loggamma_series(a)), jsp.gammasgn(a[0]))


def gamma(x):
    return jsp.gammasgn(x) * jnp.exp(jsp.gammaln(x))


def beta(a, b):
    return gamma(a) * gamma(b) / gamma(a + b)


def beta_series(a, b):
    a, b = s.match(a, b)
    sign = jsp.gammasgn(a[0]) * jsp.gammasgn(b[0]) * jsp.gammasgn(a[0] + b[0])
    log = loggamma_series(a) + loggamma_series(b) - loggamma_series(a + b)
    return s.scale(s.exp(log), sign)


def binomial(n, k):
    return gamma(n + 1) / (gamma(k + 1) * gamma(n - k + 1))


def binomial_series(n, k):
    n, k = s.match(n, k)
    one = s.lift(1.0, n)
    sign = jsp.gammasgn(n[0] + 1) * jsp.gammasgn(k[0] + 1) * jsp.gammasgn(n[0] - k[0] + 1)
    log = loggamma_series(n + one) - loggamma_series(k + one) - loggamma_series(n - k + one)
    return s.scale(s.exp(log), sign)


# ---------------------------------------------------------------- implicit functions

def picard(a, y0, slope):
    """The series y = f(a) with f(a0) = y0 and f'(a) = ``slope(y, a)`` (a series):
    each step makes one more coefficient exact, in one loop of order + 1 steps."""
    def step(_, y):
        return s.by_derivative(a, y0, slope(y, a))
    return s._loop(0, a.shape[0], step, s.lift(y0, a))


@jax.custom_jvp
def lambertw(x):
    """The principal branch W0 on x >= -1/e: Halley's iteration from a branch-point
    or logarithmic start."""
    x = jnp.asarray(x, float)
    p = jnp.sqrt(jnp.maximum(2.0 * (math.e * x + 1.0), 0.0))
    near = -1.0 + p - p * p / 3.0 + 11.0 / 72.0 * p ** 3
    big = jnp.log(jnp.maximum(x, 3.0))
    w = jnp.where(x < -0.25, near, jnp.where(x < 3.0, jnp.log1p(jnp.maximum(x, -0.25)),
                                              big - jnp.log(big)))
    for _ in range(12):
        e = jnp.exp(w)
        f = w * e - x
        wp1 = w + 1.0
        step = f / (e * wp1 - (w + 2.0) * f / (2.0 * wp1))
        w = jnp.where(jnp.abs(wp1) < 1e-300, w, w - step)
    return jnp.where(x < -1.0 / math.e, jnp.nan, jnp.where(x == 0, 0.0, w))


@lambertw.defjvp
def _lambertw_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    w = lambertw(x)
    return w, dx / (x + jnp.exp(w))  # W' = W/(x(1+W)) = 1/(x + e^W), finite at 0


def lambertw_series(a):
    return picard(a, lambertw(a[0]),
                  lambda y, a: s.div(s.lift(1.0, a), a + s.exp(y)))


def erfinv_series(a):
    half_root_pi = math.sqrt(math.pi) / 2.0
    return picard(a, jsp.erfinv(a[0]),
                  lambda y, a: s.scale(s.exp(s.mul(y, y)), half_root_pi))


# ---------------------------------------------------------------- Bessel functions

def _bessel_table(x, top: int, kind: str):
    """J_m(x) or I_m(x) for m = 0..top, on axis 0. J: the power series for |x| < 8,
    else the trapezoid rule on (1/2pi) int cos(m t - x sin t) dt (exact for a periodic
    analytic integrand once the points outnumber |x| + m); I: the power series, whose
    terms are all positive, in logarithms."""
    x = jnp.asarray(x, float)
    m = jnp.arange(top + 1, dtype=x.dtype).reshape((-1,) + (1,) * x.ndim)
    safe = jnp.where(x == 0, 1.0, jnp.abs(x))
    k = jnp.arange(_BESSEL_TERMS, dtype=x.dtype).reshape((-1, 1) + (1,) * x.ndim)
    log_term = (2 * k + m) * jnp.log(safe / 2) - jsp.gammaln(k + 1) - jsp.gammaln(k + m + 1)
    terms = jnp.exp(log_term) * (jnp.where(jnp.mod(k, 2) == 0, 1.0, -1.0)
                                 if kind == "j" else 1.0)
    power = jnp.sum(terms, axis=0) * jnp.where((x < 0) & (jnp.mod(m, 2) == 1), -1.0, 1.0)
    power = jnp.where(x == 0, (m == 0).astype(x.dtype), power)
    if kind == "i":
        return power
    t = (2 * math.pi / _BESSEL_POINTS) * jnp.arange(_BESSEL_POINTS, dtype=x.dtype)
    t = t.reshape((-1, 1) + (1,) * x.ndim)
    integral = jnp.mean(jnp.cos(m * t - x * jnp.sin(t)), axis=0)
    return jnp.where(jnp.abs(x) < 8, power, integral)


def _order(table, n, kind: str):
    """Entries of orders n (an integer array, possibly negative) of a table."""
    n = jnp.round(jnp.asarray(n)).astype(jnp.int32)
    m = jnp.abs(n)
    got = jnp.take_along_axis(table, m.reshape(m.shape + (1,) * (table.ndim - m.ndim)),
                              axis=0) if m.ndim else table[m]
    if kind == "j":
        got = got * jnp.where((n < 0) & (jnp.mod(m, 2) == 1), -1.0, 1.0)
    return got


def _bessel_value(kind: str):
    @jax.custom_jvp
    def f(n, x):
        table = _bessel_table(x, BESSEL_MAX_ORDER + _BESSEL_SPARE, kind)
        valid = jnp.abs(jnp.round(n)) <= BESSEL_MAX_ORDER + _BESSEL_SPARE
        return jnp.where(valid, _order(table, n, kind), jnp.nan)

    @f.defjvp
    def _jvp(primals, tangents):  # J' = (J_{n-1} - J_{n+1})/2, I' = (I_{n-1} + I_{n+1})/2
        (n, x), (_, dx) = primals, tangents
        sign = -1.0 if kind == "j" else 1.0
        return f(n, x), (f(n - 1, x) + sign * f(n + 1, x)) / 2 * dx
    return f


besselj = _bessel_value("j")
besseli = _bessel_value("i")


def _bessel_weights(n_coeffs: int, kind: str) -> np.ndarray:
    """W[k, j] with f^(k)/k! = sum_j W[k, j] f_{n-k+2j}: 2^-k (+-1)^j / (j! (k-j)!)."""
    k = np.arange(n_coeffs)[:, None]
    j = np.arange(n_coeffs)[None, :]
    log = -np.vectorize(math.lgamma)(j + 1.0) - np.vectorize(math.lgamma)(
        np.maximum(k - j, 0) + 1.0) - k * math.log(2)
    w = np.exp(log) * (np.where(j % 2 == 0, 1.0, -1.0) if kind == "j" else 1.0)
    return np.where(j <= k, w, 0.0)


def _bessel_series(kind: str):
    def rule(n, a):
        n0, x0, size = n[0], a[0], a.shape[0]
        table = _bessel_table(x0, BESSEL_MAX_ORDER + size + 1, kind)
        k = np.arange(size)[:, None]
        j = np.arange(size)[None, :]
        orders = n0 - k + 2 * j   # (size, size), traced through n0
        got = _order(table, orders.reshape(-1), kind).reshape((size, size) + x0.shape)
        weights = jnp.asarray(_bessel_weights(size, kind)).reshape(
            (size, size) + (1,) * x0.ndim)
        coeffs = jnp.sum(weights * got, axis=1)
        return s.compose(a, coeffs)
    return rule


besselj_series = _bessel_series("j")
besseli_series = _bessel_series("i")


# ---------------------------------------------------------------- zeta

_EM_TERMS, _EM_ORDER = 12, 8   # Euler-Maclaurin: 12 terms summed, 8 Bernoulli corrections
_B2J = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510]


def zeta(x, q=None):
    return jsp.zeta(x, 1.0 if q is None else q)


def zeta_series(a, q=None):
    """zeta(a, q) = sum_{n<N} (q+n)^-a + (q+N)^(1-a)/(a-1) + (q+N)^-a/2
    + sum_j B_2j/(2j)! a(a+1)...(a+2j-2) (q+N)^(-a-2j+1), all in series arithmetic."""
    q = s.lift(1.0, a) if q is None else q
    a, q = s.match(a, q)
    one = s.lift(1.0, a)
    n = jnp.arange(_EM_TERMS, dtype=a.dtype)
    logs = s.log(q[..., None] + s.lift(n, q[..., None]))          # log(q + n), per n
    total = jnp.sum(s.exp(-s.mul(a[..., None], logs)), axis=-1)
    far = q + s.lift(float(_EM_TERMS), q)                            # q + N
    power = s.exp(-s.mul(a, s.log(far)))                             # (q+N)^-a
    total = total + s.div(s.mul(power, far), a - one) + s.scale(power, 0.5)
    rising, far2 = a, s.mul(far, far)
    for j, b in enumerate(_B2J, start=1):
        power = s.div(power, far if j == 1 else far2)                # (q+N)^(-a-2j+1)
        total = total + s.scale(s.mul(rising, power), b / math.factorial(2 * j))
        rising = s.mul(s.mul(rising, a + s.lift(2.0 * j - 1, a)), a + s.lift(2.0 * j, a))
    return s.with_value(total, zeta(a[0], q[0]))


@jax.custom_jvp
def polygamma(n, x):
    """psi^(n)(x) for an integer n >= 0 given as a float (JAX's wants an integer dtype)."""
    n = jnp.round(jnp.asarray(n, float))
    j = jnp.maximum(n, 1.0)
    sign = jnp.where(jnp.mod(n + 1, 2) == 0, 1.0, -1.0)
    value = sign * jnp.exp(jsp.gammaln(j + 1)) * jsp.zeta(j + 1, x)
    return jnp.where(n < 0, jnp.nan, jnp.where(n == 0, jsp.digamma(x), value))


@polygamma.defjvp
def _polygamma_jvp(primals, tangents):
    (n, x), (_, dx) = primals, tangents
    return polygamma(n, x), polygamma(n + 1.0, x) * dx


def sinc(x):
    """sin(x)/x, 1 at 0 (sympy's sinc; numpy's is normalised, sin(pi x)/(pi x)). Near 0
    its Taylor polynomial to x^30, so that every derivative is right there."""
    x = jnp.asarray(x, float)
    near = jnp.zeros_like(x)
    for k in range(15, -1, -1):
        near = near * x * x + (-1.0) ** k / math.factorial(2 * k + 1)
    safe = jnp.where(jnp.abs(x) < 0.5, 1.0, x)
    return jnp.where(jnp.abs(x) < 0.5, near, jnp.sin(safe) / safe)


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(100)
_GL_T, _GL_W = 0.5 * (_GL_NODES + 1.0), 0.5 * _GL_WEIGHTS  # Gauss-Legendre on [0, 1]


def sinc_series(a):
    """sinc(a0 + u) = int_0^1 cos((a0 + u) t) dt: near 0 its coefficients are the
    quadratures of t^k cos^(k)(a0 t) / k!; elsewhere sin(a)/a."""
    x0, n = a[0], a.shape[0]
    k = np.arange(n).reshape((-1, 1) + (1,) * x0.ndim)
    t = _GL_T.reshape((1, -1) + (1,) * x0.ndim)
    w = _GL_W.reshape((1, -1) + (1,) * x0.ndim)
    log_scale = k * np.log(t) - np.vectorize(math.lgamma)(k + 1.0)
    own = jnp.sum(w * np.exp(log_scale) * jnp.cos(x0 * t + k * math.pi / 2), axis=1)
    near = s.compose(a, own)
    far = s.div(s.sincos(a, -1.0)[0], a)
    return jnp.where(jnp.abs(x0) < 1.0, near, far)
