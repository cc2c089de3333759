"""The chi-squared quantile function the Garwood (exact Poisson) interval needs, without scipy.

``chi2.ppf(q, df)`` here equals ``scipy.stats.chi2.ppf(q, df)`` to a relative 1e-12 over the counts cspdash meets
(tests/test_quantiles.py compares the two on a table of counts from 0.01 to 100,000; at a million the difference is
2e-12). Importing scipy took most of a second of every command's start-up for two calls of one function; this module
imports only ``math`` and ``statistics``.

Method: the chi-squared quantile is twice the gamma quantile of shape ``df / 2``; the regularized incomplete gamma
function P(a, x) comes from its series (x < a + 1) or its continued fraction (Numerical Recipes, 3rd ed., 6.2), and
the quantile from Halley's method started at the Wilson-Hilferty approximation, kept inside a bracket that bisection
shrinks whenever a step would leave it.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_EPS = 1e-16
_TINY = 1e-300


def _log_prefactor(a: float, x: float) -> float:
    """log(x^a e^-x / Gamma(a))."""
    return a * math.log(x) - x - math.lgamma(a)


def _p_series(a: float, x: float) -> float:
    term = total = 1.0 / a
    n = a
    while True:
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * _EPS:
            return total * math.exp(_log_prefactor(a, x))


def _q_fraction(a: float, x: float) -> float:
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    i = 0
    while True:
        i += 1
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        step = d * c
        h *= step
        if abs(step - 1) < _EPS:
            return math.exp(_log_prefactor(a, x)) * h


def gamma_p_q(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)): the regularized lower and upper incomplete gamma functions, P + Q = 1."""
    if x <= 0:
        return 0.0, 1.0
    if x < a + 1:
        p = _p_series(a, x)
        return p, 1 - p
    q = _q_fraction(a, x)
    return 1 - q, q


def gamma_ppf(q: float, a: float) -> float:
    """The x with P(a, x) = q: the ``q`` quantile of the gamma distribution of shape ``a`` and scale 1."""
    if not 0 < q < 1 or a <= 0:
        if q == 0:
            return 0.0
        if q == 1:
            return math.inf
        raise ValueError(f"gamma_ppf needs 0 <= q <= 1 and a > 0, got q={q!r}, a={a!r}")
    upper = q > 0.5  # solve Q(a, x) = 1 - q there: no loss of digits near 1
    target = 1 - q if upper else q
    z = NormalDist().inv_cdf(q)
    x = a * (1 - 1 / (9 * a) + z / (3 * math.sqrt(a))) ** 3  # Wilson-Hilferty
    if not x > 0:
        x = math.exp((math.log(q) + math.lgamma(a + 1)) / a)  # the small-x end: P(a, x) ~ x^a / Gamma(a + 1)
        if x == 0:  # below the smallest float (a shape far under 1)
            return 0.0
    lo, hi, previous = 0.0, math.inf, math.inf
    for _ in range(60):
        p, qq = gamma_p_q(a, x)
        f = (qq - target) if upper else (p - target)  # decreasing in x when upper, increasing otherwise
        if f == 0:
            return x
        if (f < 0) != upper:
            lo = x
        else:
            hi = x
        density = math.exp(_log_prefactor(a, x)) / x  # d P / dx
        if density == 0:
            step = math.nan
        else:
            newton = (p - target) / density if not upper else -(qq - target) / density
            step = newton / (1 - 0.5 * newton * ((a - 1) / x - 1))  # Halley's correction
        if abs(step) <= 1e-14 * x or (abs(step) < 1e-10 * x and abs(step) >= 0.5 * previous):
            return x - step  # converged, or down to the noise of P itself (large shapes): no step shrinks further
        previous = abs(step)
        new = x - step
        if not lo < new < hi or math.isnan(new):
            new = (lo + hi) / 2 if hi < math.inf else 2 * x + 1
        x = new
    return x


class _ChiSquared:
    """The chi-squared distribution, spelt as ``scipy.stats.chi2`` for the one method used."""

    @staticmethod
    def ppf(q: float, df: float) -> float:
        """The ``q`` quantile of the chi-squared distribution with ``df`` degrees of freedom."""
        return 2 * gamma_ppf(q, df / 2)


chi2 = _ChiSquared()


def garwood(k: float, level: float = 0.95) -> tuple[float, float]:
    """Exact Poisson interval of a count ``k`` (Garwood 1936): chi2.ppf(a/2, 2k)/2 to chi2.ppf(1-a/2, 2k+2)/2, with
    0 as the lower end of 0. The one copy, used by the status engine (95%) and the area comparison (95%, 99.8%)."""
    a = 1 - level
    lower = 0.0 if k <= 0 else chi2.ppf(a / 2, 2 * k) / 2
    return lower, chi2.ppf(1 - a / 2, 2 * k + 2) / 2
