"""An indicator's figures: the ``Observation`` rows the store hands in, rolled up by ``figures_for`` to the grain that
is rated (quarters, or financial years for annual indicators) as ``Figure``s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from cspdash.config import Indicator
from cspdash.periods import Period


@dataclass(frozen=True)
class Observation:
    """One stored figure at its own grain: a month, a quarter or a financial year."""

    period: Period
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    provisional: bool = False  # police data loaded while recent (store: partnership.provisional_months)


@dataclass(frozen=True)
class Figure:
    """An indicator's figure for a rated period, rolled up from observations."""

    period: Period
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    complete: bool = True
    missing: tuple[Period, ...] = ()  # months with no figure, when built from months
    note: str = ""
    provisional: tuple[Period, ...] = ()  # the provisional periods it includes


# ------------------------------------------------------------------------------------------------
# Roll-up of observations to the rated grain
# ------------------------------------------------------------------------------------------------

def rated_grain(ind: Indicator) -> str:
    """The grain an indicator is judged at: financial years for annual indicators, otherwise quarters."""
    return "year" if ind.frequency == "annual" else "quarter"


def figures_for(ind: Indicator, observations: Iterable[Observation]) -> dict[Period, Figure]:
    """Roll observations up to the rated grain; counts add up, ratios come from summed numerators and denominators.

    A figure given at the rated grain itself wins over one built from its months. A period built from months
    with any month missing is incomplete and lists the missing months.
    """
    grain = rated_grain(ind)
    direct: dict[Period, Observation] = {}
    parts: dict[Period, list[Observation]] = {}
    for ob in observations:
        if ob.period.grain == grain:
            direct[ob.period] = ob
        elif ob.period.n_months < {"quarter": 3, "year": 12}[grain]:
            parts.setdefault(ob.period.at(grain), []).append(ob)
    out: dict[Period, Figure] = {}
    for p, obs in parts.items():
        fig = _combine(ind, p, obs)
        provisional = tuple(sorted(ob.period for ob in obs if ob.provisional))
        out[p] = replace(fig, provisional=provisional) if provisional else fig
    for p, ob in direct.items():
        out[p] = Figure(p, _value(ind, ob), ob.numerator, ob.denominator, provisional=(p,) if ob.provisional else ())
    return dict(sorted(out.items()))


def _value(ind: Indicator, ob: Observation | Figure) -> float | None:
    if ob.numerator is not None and ob.denominator is not None and ind.has_ratio:
        return ob.numerator / ob.denominator * ind.scale if ob.denominator else None
    return ob.value


def _has_figure(ob: Observation) -> bool:
    return ob.value is not None or (ob.numerator is not None and ob.denominator is not None)


def _combine(ind: Indicator, period: Period, obs: list[Observation]) -> Figure:
    """Combine the months (or quarters) inside ``period``."""
    # A month stored without a figure (value, or numerator and denominator) is missing, not present.
    have = {m for ob in obs if _has_figure(ob) for m in ob.period.months()}
    missing = tuple(m for m in period.months() if m not in have)
    if ind.has_ratio:
        if any(ob.numerator is None or ob.denominator is None for ob in obs):
            return Figure(period, None, complete=not missing, missing=missing,
                          note="percentages and rates given without numerator and denominator cannot be added up")
        num = sum(ob.numerator for ob in obs)  # type: ignore[misc]
        den = sum(ob.denominator for ob in obs)  # type: ignore[misc]
        return Figure(period, num / den * ind.scale if den else None, num, den, not missing, missing)
    values = [ob.value for ob in obs if ob.value is not None]
    return Figure(period, float(sum(values)) if values else None, complete=not missing, missing=missing)
