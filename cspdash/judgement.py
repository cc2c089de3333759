"""The judgement of one figure (docs/status.md): its 95% interval (exact Poisson for counts, Wilson for percentages),
the rule that turns a status on its face and its interval into green, amber or red, too few cases to tell, and the
sentence saying where the RAG and the SPC chart disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cspdash.config import Indicator
from cspdash.observations import Figure
from cspdash.quantiles import garwood
from cspdash.status_text import range_text

Z95 = 1.959963984540054  # the normal quantile of a two-sided 95% interval
POISSON, WILSON = "exact Poisson (Garwood)", "Wilson score"


# ------------------------------------------------------------------------------------------------
# Uncertainty: a 95% interval for every figure
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    """A figure's 95% interval in the indicator's unit, the method, and the cases it rests on."""

    lower: float
    upper: float
    method: str  # POISSON or WILSON
    cases: float | None = None  # the denominator of a percentage (Wilson); None for counts, rates and ratios


def wilson(x: float, n: float) -> tuple[float, float]:
    """Wilson score 95% interval for the proportion ``x`` of ``n`` (as proportions, 0-1)."""
    p, z2 = x / n, Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def interval(ind: Indicator, value: float | None, numerator: float | None = None,
             denominator: float | None = None) -> Interval | None:
    """The figure's 95% interval: Garwood for counts; Wilson for a percentage given as numerator of denominator;
    Garwood on the numerator, scaled, for rates, ratios and percentages above 100%. None when it cannot be had
    (no figure, a negative count, a percentage or rate without numerator and denominator)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if ind.has_ratio:
        if numerator is None or denominator is None or denominator <= 0 or numerator < 0:
            return None
        if ind.unit == "percent" and numerator <= denominator:
            lo, hi = wilson(numerator, denominator)
            return Interval(lo * 100, hi * 100, WILSON, denominator)
        lo, hi = garwood(numerator)
        return Interval(lo * ind.scale / denominator, hi * ind.scale / denominator, POISSON)
    if ind.unit != "count" or value < 0:
        return None
    lo, hi = garwood(value)
    return Interval(lo, hi, POISSON)


def _iv_fields(iv: Interval | None) -> dict:
    if iv is None:
        return {"lower": None, "upper": None, "interval_method": None}
    return {"lower": iv.lower, "upper": iv.upper, "interval_method": iv.method}


def _best_possible(ind: Indicator, value: float, target: float) -> bool:
    """A figure at the end of its scale that meets a target set there (0 of a harm, 100% of a good) cannot do better,
    so it meets the target whatever its interval."""
    if ind.direction == "decrease":
        return target <= 0 and value <= 0
    return ind.unit == "percent" and target >= 100 and value >= 100


def judge(ind: Indicator, face: str, value: float, target: float, iv: Interval | None,
          too_small: str = "") -> tuple[str, str | None, str]:
    """The rule of docs/status.md: a figure's status from its status on its face and its 95% interval.

    ``face`` is green (the target is met), amber (short within the tolerance) or red (short by more). Returns
    (rag, amber_reason, words): green or red stand only when the target lies outside the figure's interval on the
    matching side, and not on too few cases; otherwise the status is amber and ``amber_reason`` says which amber.
    ``words`` is the clause for the reason, beginning with its own connector (``", but ..."`` or ``"; ..."``).
    """
    if face == "amber":
        return "amber", "within_tolerance", ": short of the target, but within the tolerance"
    verb = "met" if face == "green" else "missed"
    if too_small:
        return "amber", "too_small_to_tell", f"; {too_small}: too small to tell, so not rated {face}"
    if face == "green" and _best_possible(ind, value, target):
        return "green", None, "; the best possible figure"
    if iv is None:
        return ("amber", "could_be_chance", f", {verb} on its face, but with no numerator and denominator there is "
                f"no 95% range, so it could be chance; not rated {face}")
    up = ind.direction == "increase"
    # beyond chance: the target lies outside the interval, on the good side for a green, the bad side for a red
    beyond = (target < iv.lower if up else target > iv.upper) if face == "green" else (
        target > iv.upper if up else target < iv.lower)
    on = f"on {iv.cases:,.0f} cases " if iv.cases is not None else ""
    rng = range_text(ind, iv, target)
    if beyond:
        return face, None, f"; 95% range {rng}, so {verb} beyond chance"
    return "amber", "could_be_chance", f", {verb} on its face, but {on}that could be chance: 95% range {rng}"


def _face(gap: float, tolerance: float) -> str:
    """green when the target is met (gap >= 0), amber when short within the tolerance, else red."""
    return "green" if gap >= 0 else "amber" if gap >= -tolerance else "red"


def disagreement(rag: str, variation: str | None, assurance: str | None, mdc: bool = False) -> str | None:
    """One sentence when the RAG and the SPC chart tell different stories; None when they agree or cannot.

    With ``mdc`` (the status was rated from the chart itself) only a latest point pulling the other way disagrees.
    """
    if mdc:
        assurance = None
        variation = variation if variation in ("special_cause_improvement", "special_cause_concern") else None
    if rag == "red":
        if variation == "common_cause":
            return ("The SPC chart shows only common-cause variation, so this miss is part of the usual pattern: "
                    "the service, not this quarter, needs to change.")
        if variation == "special_cause_improvement":
            return "The SPC chart shows special-cause improvement: it is getting better, although the target is missed."
        if assurance == "consistent_pass":
            return "The SPC chart's limits lie wholly on the target's good side: the target is usually met."
    if rag == "green":
        if variation == "special_cause_concern":
            return "The SPC chart shows special-cause concern: something has changed for the worse, although the target is met."
        if assurance == "consistent_fail":
            return ("The SPC chart's limits lie wholly on the wrong side of the target: meeting it this time is "
                    "unusual and should not be relied on.")
    return None


def _too_small(ind: Indicator, fig: Figure, comp: float | None) -> str:
    """Why a figure rests on too few cases to rate (the catalogue's ``small_numbers``), or ''."""
    threshold = ind.small_numbers
    if ind.has_ratio:
        if fig.denominator is not None and fig.denominator < threshold:
            return f"based on only {fig.denominator:,.0f} cases (fewer than {threshold:g})"
        return ""
    if ind.unit == "count" and comp is not None and threshold and fig.value < threshold and comp < threshold:  # type: ignore[operator]
        return f"numbers too small to rate (both below {threshold:g})"
    return ""
