"""cspdash.quantiles.chi2.ppf against scipy.stats.chi2.ppf: equal to a relative 1e-12 (scipy stays a test dependency)."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import chi2 as scipy_chi2

from cspdash import compare, status
from cspdash.quantiles import chi2, gamma_p_q, gamma_ppf

#: Counts as the Garwood interval meets them: small, fractional (weighted or part-year), and large (a year of a
#: borough's crimes), each at the quantiles of the 95% and 99% intervals and a few others.
COUNTS = [0.01, 0.1, 0.5, 1, 2, 3, 4, 5, 7.5, 9, 10, 11, 15, 20, 33.3, 50, 99, 100, 101.5, 250, 999, 1000, 2500.5,
          5000, 12345.6, 50_000, 100_000]
QUANTILES = [0.005, 0.025, 0.1, 0.5, 0.9, 0.975, 0.995]


@pytest.mark.parametrize("k", COUNTS)
@pytest.mark.parametrize("q", QUANTILES)
def test_chi2_ppf_equals_scipy(k, q):
    for df in (2 * k, 2 * k + 2):  # the lower and the upper end of the Garwood interval
        expected = float(scipy_chi2.ppf(q, df))
        assert chi2.ppf(q, df) == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_chi2_ppf_equals_scipy_on_random_counts():
    rng = random.Random(15)
    for _ in range(300):
        k = rng.choice((rng.uniform(0.01, 50), rng.uniform(50, 5000), float(rng.randint(1, 300))))
        for q, df in ((0.025, 2 * k), (0.975, 2 * k + 2)):
            assert chi2.ppf(q, df) == pytest.approx(float(scipy_chi2.ppf(q, df)), rel=1e-12), (k, q)


@pytest.mark.parametrize(("q", "a", "expected"), [(0.0, 3.0, 0.0), (1.0, 3.0, math.inf), (0.5, 1.0, math.log(2))])
def test_gamma_ppf_edges(q, a, expected):
    assert gamma_ppf(q, a) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize(("q", "a"), [(-0.1, 1.0), (1.5, 1.0), (0.5, 0.0), (0.5, -2.0)])
def test_gamma_ppf_refuses_what_has_no_quantile(q, a):
    with pytest.raises(ValueError, match="gamma_ppf needs"):
        gamma_ppf(q, a)


@pytest.mark.parametrize(("a", "x"), [(1.0, 0.0), (1.0, 1.0), (3.0, 2.0), (3.0, 10.0), (250.0, 240.0)])
def test_p_and_q_add_up_and_match_the_exponential(a, x):
    p, q = gamma_p_q(a, x)
    assert p + q == pytest.approx(1.0, abs=1e-15)
    if a == 1.0:  # the exponential distribution: P = 1 - e^-x
        assert p == pytest.approx(1 - math.exp(-x), abs=1e-15)


@pytest.mark.parametrize("k", [0, 1, 4, 37, 1234])
def test_the_garwood_intervals_are_scipys(k):
    lower = 0.0 if k == 0 else float(scipy_chi2.ppf(0.025, 2 * k)) / 2
    upper = float(scipy_chi2.ppf(0.975, 2 * k + 2)) / 2
    for got in (status.garwood(k), compare.garwood(k)):
        assert got == pytest.approx((lower, upper), rel=1e-12)
