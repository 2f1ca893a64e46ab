"""Interval estimates and power for the deterrence trial and the research statistics.

Every function is pure and takes counts (``k`` events of ``n``); intervals are two-sided at
``confidence`` (default 0.95) and returned as ``(low, high)`` floats in [0, 1] for proportions.

Methods and sources
-------------------
Wilson score interval (:func:`wilson_interval`)
    E. B. Wilson (1927), "Probable inference, the law of succession, and statistical inference",
    *JASA* 22:209-212; method 3 of R. G. Newcombe (1998), "Two-sided confidence intervals for the
    single proportion: comparison of seven methods", *Statistics in Medicine* 17:857-872, who
    recommends it over the Wald interval (good coverage for small ``n`` and rates near 0 or 1).
Newcombe hybrid score interval for a difference (:func:`newcombe_difference`)
    Method 10 of R. G. Newcombe (1998), "Interval estimation for the difference between
    independent proportions: comparison of eleven methods", *Statistics in Medicine*
    17:873-890: the Wilson limits of each proportion combined by the square-and-add rule.
Exact Poisson interval for a rate (:func:`poisson_interval`)
    F. Garwood (1936), "Fiducial limits for the Poisson distribution", *Biometrika* 28:437-442,
    through the chi-square quantiles (``scipy.stats.chi2``).
Sample size and power for two proportions (:func:`required_n_per_arm`, :func:`achieved_power`)
    Normal approximation with the pooled variance under the null hypothesis and the unpooled one
    under the alternative, without continuity correction: J. L. Fleiss, B. Levin & M. C. Paik
    (2003), *Statistical Methods for Rates and Proportions*, 3rd ed., section 4.2 (eq. 4.14
    without the correction); e.g. 0.60 vs 0.40 at alpha 0.05 two-sided and 80 % power needs 97
    per group. :func:`arcsine_n_per_arm` is the arcsine (Cohen's *h*) form, J. Cohen (1988),
    *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed., ch. 6, which gives 903
    per arm for 20 % -> 15 % where the pooled form gives 906 ("about 900").
"""

from __future__ import annotations

import math

from scipy.stats import chi2, norm

from tutela.errors import InputError

__all__ = [
    "DEFAULT_CONFIDENCE",
    "achieved_power",
    "arcsine_n_per_arm",
    "newcombe_difference",
    "poisson_interval",
    "required_n_per_arm",
    "wilson_interval",
]

DEFAULT_CONFIDENCE = 0.95


def _check_counts(k: int, n: int) -> None:
    if isinstance(k, bool) or isinstance(n, bool) or n < 0 or k < 0 or k > n:
        raise InputError(f"need 0 <= k <= n, got k={k!r}, n={n!r}")


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def wilson_interval(k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of the proportion ``k / n``; ``(0.0, 1.0)`` for ``n == 0`` (no
    information). E.g. ``wilson_interval(81, 263)`` is (0.2553, 0.3662) (Newcombe 1998, table
    II) and ``wilson_interval(0, 20)`` is (0, 0.1611). ``InputError`` for impossible counts."""
    _check_counts(k, n)
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def newcombe_difference(
    k1: int, n1: int, k2: int, n2: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float, float]:
    """``(d, low, high)`` for ``d = k1/n1 - k2/n2`` by Newcombe's hybrid score method 10.

    E.g. 56/70 vs 48/80 gives d = 0.2 with (0.0524, 0.3339) (Newcombe 1998, table II). An empty
    group (``n == 0``) gives ``(nan, -1.0, 1.0)``."""
    _check_counts(k1, n1)
    _check_counts(k2, n2)
    if n1 == 0 or n2 == 0:
        return (math.nan, -1.0, 1.0)
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, confidence)
    l2, u2 = wilson_interval(k2, n2, confidence)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (d, max(-1.0, low), min(1.0, high))


def poisson_interval(
    k: int, exposure: float, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """Exact (Garwood) interval of the rate ``k / exposure`` (e.g. clicks per allocated
    contact); ``(0.0, inf)`` for ``exposure == 0``. ``InputError`` for ``k < 0`` or a negative
    exposure."""
    if isinstance(k, bool) or k < 0 or exposure < 0:
        raise InputError(f"need k >= 0 and exposure >= 0, got {k!r}, {exposure!r}")
    if exposure == 0:
        return (0.0, math.inf)
    alpha = 1.0 - confidence
    _z(confidence)  # checks the range
    low = 0.0 if k == 0 else float(chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return (low / exposure, high / exposure)


def _check_rates(p1: float, p2: float, alpha: float) -> None:
    if not (0.0 < p1 < 1.0 and 0.0 < p2 < 1.0) or p1 == p2:
        raise InputError(f"need two different proportions in (0, 1), got {p1!r}, {p2!r}")
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must be in (0, 1), got {alpha!r}")


def required_n_per_arm(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Contacts per arm (equal arms) to detect ``p1`` vs ``p2`` with a two-sided test at level
    ``alpha`` with probability ``power`` (Fleiss et al. 2003, eq. 4.14 without continuity
    correction), rounded up: ``required_n_per_arm(0.20, 0.15)`` is 906,
    ``required_n_per_arm(0.6, 0.4)`` is 97."""
    _check_rates(p1, p2, alpha)
    if not 0.0 < power < 1.0:
        raise InputError(f"power must be in (0, 1), got {power!r}")
    za = float(norm.ppf(1 - alpha / 2))
    zb = float(norm.ppf(power))
    pbar = (p1 + p2) / 2
    top = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil(top * top / (p1 - p2) ** 2 - 1e-9)


def arcsine_n_per_arm(p1: float, p2: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """The same through Cohen's *h* = 2 asin(sqrt p1) - 2 asin(sqrt p2):
    ``n = 2 ((z_{1-alpha/2} + z_power) / h)^2``, rounded up (903 for 0.20 vs 0.15)."""
    _check_rates(p1, p2, alpha)
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))
    z = float(norm.ppf(1 - alpha / 2)) + float(norm.ppf(power))
    return math.ceil(2 * (z / h) ** 2 - 1e-9)


def achieved_power(p1: float, p2: float, n1: int, n2: int, *, alpha: float = 0.05) -> float:
    """Probability that a two-sided two-proportion z test at ``alpha`` rejects when the true
    proportions are ``p1`` and ``p2`` with ``n1`` and ``n2`` contacts (normal approximation of
    :func:`required_n_per_arm`, unequal arms allowed; the far tail is included). ``0.0`` when an
    arm is empty."""
    _check_rates(p1, p2, alpha)
    if n1 <= 0 or n2 <= 0:
        return 0.0
    za = float(norm.ppf(1 - alpha / 2))
    pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
    se0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    se1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = abs(p1 - p2)
    return float(norm.cdf((d - za * se0) / se1) + norm.cdf((-d - za * se0) / se1))
