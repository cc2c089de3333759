"""Area comparisons on rates: each area's count per resident against the pooled rate of the areas compared.

An indicator that declares ``compare: {per: 1000, population: all_ages}`` is compared, for a rated period, on its
count per ``per`` residents of the age group in mid-year of the financial year the period falls in (2019/20 and its
quarters: mid-2019). Each area's rate has an exact Poisson (Garwood) 95% interval; it is ``better``, ``similar`` or
``worse`` than the benchmark (the pooled rate of the compared areas) by whether that interval lies wholly on the good
side, includes the benchmark, or lies wholly on the bad side; ``not_compared`` for a neutral indicator. The funnel
plot's limits are the exact Poisson limits of the count expected at the benchmark rate. docs/compare.md gives the
method with a worked example. Pure functions, plus ``compare_areas`` which gathers the figures from a store.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cspdash.config import Indicator
from cspdash.errors import CspdashError
from cspdash.periods import Period
from cspdash.quantiles import garwood

COMPARISONS = ("better", "similar", "worse", "not_compared")
FUNNEL_LEVELS = (0.95, 0.998)  # the two pairs of funnel limits: about 2 and 3 standard deviations
BENCHMARK_NAME = "London"  # the compared areas are the London boroughs of the MPS tables
ALL_AGES = "all_ages"


# --- the statistics --------------------------------------------------------------------------------------------

def rate(count: float, population: float, per: float) -> float:
    """A count per ``per`` residents."""
    return count / population * per


def pooled_rate(counts: Sequence[float], populations: Sequence[float], per: float) -> float | None:
    """The rate of the areas taken together: their counts' sum over their populations' sum; None without residents."""
    total = sum(populations)
    return rate(sum(counts), total, per) if total > 0 else None


def funnel_limits(benchmark: float, population: float, per: float, level: float) -> tuple[float, float]:
    """The funnel plot's limits, as rates, at ``population``: the exact Poisson limits (Garwood's formula) of the
    count expected there at the benchmark rate, ``benchmark * population / per``."""
    expected = benchmark * population / per
    lower, upper = garwood(expected, level)
    return rate(lower, population, per), rate(upper, population, per)


def judge(lower: float, upper: float, benchmark: float, direction: str) -> str:
    """``better``, ``similar`` or ``worse``: whether the interval lies wholly on the good side of the benchmark,
    includes it, or lies wholly on the bad side (the good side follows ``direction``); ``not_compared`` if neutral."""
    if direction == "neutral":
        return "not_compared"
    side = side_of(lower, upper, benchmark)
    if side == "similar":
        return "similar"
    return "better" if (side == "lower") == (direction == "decrease") else "worse"


def side_of(lower: float, upper: float, benchmark: float) -> str:
    """``lower`` or ``higher`` when the interval lies wholly below or above the benchmark, else ``similar``."""
    if upper < benchmark:
        return "lower"
    if lower > benchmark:
        return "higher"
    return "similar"


# --- populations ----------------------------------------------------------------------------------------------

def area_key(name: str) -> str:
    """An area name as matched across files: case, spaces and ``&``/``and`` do not matter."""
    return " ".join(name.replace("&", " and ").casefold().split())


def age_key(group: str) -> str:
    """``All ages`` -> ``all_ages``; ``10 - 14`` -> ``10-14``."""
    g = " ".join(group.casefold().split())
    g = re.sub(r"\s*-\s*", "-", g)
    return g.replace(" ", "_")


def _band(key: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(?:aged_)?(\d{1,3})-(\d{1,3})", key)
    return (int(m.group(1)), int(m.group(2))) if m else None


def population_of(groups: Mapping[str, float], wanted: str) -> float | None:
    """The residents of age group ``wanted`` (``all_ages`` or a band such as ``10-19``) from an area's groups (keyed
    by ``age_key``): the group itself, or the sum of the bands that exactly make it up; None if it cannot be made."""
    if wanted in groups:
        return groups[wanted]
    want = _band(wanted)
    if want is None:
        return None
    parts = sorted((b, v) for k, v in groups.items() if (b := _band(k)) and want[0] <= b[0] and b[1] <= want[1])
    edge = want[0]
    for (lo, hi), _v in parts:
        if lo != edge:
            return None
        edge = hi + 1
    return sum(v for _b, v in parts) if parts and edge == want[1] + 1 else None


def populations_by_area(rows: Sequence[tuple[str, str, str, float]], wanted: str) -> dict[str, tuple[str, str, float]]:
    """``area_key`` -> (code, area, residents of ``wanted``) from (code, area, age_group, population) rows; an area
    whose groups cannot make ``wanted`` is left out. Codes are keys too, for figures given by area code."""
    groups: dict[str, dict[str, float]] = {}
    names: dict[str, tuple[str, str]] = {}
    for code, area, group, pop in rows:
        k = area_key(area)
        names[k] = (code, area)
        groups.setdefault(k, {})[age_key(group)] = float(pop)
    out: dict[str, tuple[str, str, float]] = {}
    for k, g in groups.items():
        pop = population_of(g, wanted)
        if pop is not None:
            code, area = names[k]
            out[k] = out[area_key(code)] = (code, area, pop)
    return out


def population_year(period: Period) -> int:
    """The mid-year whose population a period is compared on: the one in which its financial year starts."""
    return period.fy


# --- the comparison -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AreaRate:
    """One compared area: its count, residents, rate with its 95% interval, and how it compares."""

    area: str
    code: str
    value: float
    population: float
    rate: float
    lower: float
    upper: float
    comparison: str
    own: bool = False
    similar: bool = False


@dataclass(frozen=True)
class Comparison:
    """Every compared area of an indicator for a rated period, against the benchmark and the most-similar group."""

    indicator: str
    period: str
    year: int
    per: float
    age_group: str
    direction: str
    benchmark: float | None
    similar_rate: float | None
    rows: tuple[AreaRate, ...]  # highest rate first
    left_out: tuple[tuple[str, str], ...] = ()  # (area, why)
    own_area: str = ""
    similar_areas: tuple[str, ...] = ()  # the most-similar group's areas that were compared

    @property
    def own(self) -> AreaRate | None:
        """The partnership's own area, if it was compared."""
        return next((r for r in self.rows if r.own), None)

    @property
    def note(self) -> str:
        """Which areas were left out and why, or ""."""
        if not self.left_out:
            return ""
        reasons: dict[str, list[str]] = {}
        for area, why in self.left_out:
            reasons.setdefault(why, []).append(area)
        n = len(self.left_out)
        return (f"{n} area{'s' if n != 1 else ''} left out: "
                + "; ".join(f"{', '.join(a)} ({why})" for why, a in reasons.items()) + ".")

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready object per compared area, highest rate first (the ``compare`` command's array)."""
        return [{"area": r.area, "code": r.code, "value": r.value, "population": r.population, "rate": r.rate,
                 "lower": r.lower, "upper": r.upper, "comparison": r.comparison, "benchmark": self.benchmark,
                 "own": r.own, "similar": r.similar, "similar_rate": self.similar_rate, "indicator": self.indicator,
                 "period": self.period, "population_year": self.year, "per": self.per, "age_group": self.age_group}
                for r in self.rows]


def compare_counts(ind: Indicator, period: Period, counts: Sequence[dict], rows: Sequence[tuple[str, str, str, float]],
                   own_area: str, similar_areas: Sequence[str] = ()) -> Comparison:
    """The comparison of an indicator's ``counts`` (``{area, value, complete}`` per area, as ``Store.area_values``)
    for ``period`` (its rated period), on the population ``rows`` (code, area, age_group, population) of its year."""
    if ind.compare is None:
        raise CspdashError(f"{ind.id} is not compared on rates; add compare: {{per: 1000, population: all_ages}} "
                           "to it in indicators.yaml")
    per, wanted = ind.compare.per, ind.compare.population
    pops = populations_by_area(rows, wanted)
    similar = {area_key(a) for a in similar_areas}
    own_key = area_key(own_area)
    kept, left_out = [], []
    for c in counts:
        area, value = c["area"], c["value"]
        found = pops.get(area_key(area))
        if found is None or found[2] <= 0:
            left_out.append((area, "no population"))
        elif not c.get("complete", True):
            left_out.append((area, "figure not complete"))
        elif value is None or value < 0 or not math.isfinite(value):
            left_out.append((area, "no count"))
        else:
            kept.append((area, found[0], float(value), found[2]))
    benchmark = pooled_rate([k[2] for k in kept], [k[3] for k in kept], per)
    in_group = [k for k in kept if area_key(k[0]) in similar or area_key(k[0]) == own_key]
    similar_rate = pooled_rate([k[2] for k in in_group], [k[3] for k in in_group], per) if similar else None
    out = []
    for area, code, value, pop in kept:
        lo, hi = garwood(value)
        r_lo, r, r_hi = rate(lo, pop, per), rate(value, pop, per), rate(hi, pop, per)
        out.append(AreaRate(area, code, value, pop, r, r_lo, r_hi,
                            judge(r_lo, r_hi, benchmark, ind.direction) if benchmark is not None else "not_compared",
                            area_key(area) == own_key, area_key(area) in similar))
    out.sort(key=lambda a: (-a.rate, a.area))
    return Comparison(ind.id, period.label, population_year(period), per, wanted, ind.direction, benchmark, similar_rate,
                      tuple(out), tuple(left_out), own_area,
                      tuple(a.area for a in out if a.similar))


def compare_areas(store: Any, indicator: str, period: Period) -> Comparison:
    """The comparison of ``indicator`` for the quarter ``period`` (its rated period: the quarter, or the financial
    year of an annual indicator) from a ``cspdash.store.Store``."""
    from cspdash.status import rated_grain

    cat = store.cat
    if not cat.has_indicator(indicator):
        raise CspdashError(f"no indicator {indicator!r} in the catalogue")
    ind = cat.indicator(indicator)
    if ind.compare is None:
        raise CspdashError(f"{indicator} is not compared on rates; add compare: {{per: 1000, population: all_ages}} "
                           "to it in indicators.yaml (docs/compare.md)")
    rated = period.at(rated_grain(ind))
    year = population_year(rated)
    rows = store.population_rows(ind.compare.dataset, year)
    if not rows:
        raise CspdashError(f"no population for mid-{year} in the {ind.compare.dataset} dataset; import one with "
                           f"`python -m cspdash import FILE --dataset {ind.compare.dataset}` (docs/compare.md)")
    return compare_counts(ind, rated, store.area_values(indicator, period), rows, cat.area, cat.similar_areas)


# --- words ------------------------------------------------------------------------------------------------------

def rate_text(x: float | None) -> str:
    """A rate for people: two decimals under 10, one under 100, else whole."""
    if x is None:
        return "-"
    return f"{x:,.2f}" if abs(x) < 10 else f"{x:,.1f}" if abs(x) < 100 else f"{x:,.0f}"


def per_text(per: float) -> str:
    """``per 1,000 residents``."""
    return f"per {per:,.0f} residents"


def sentence(c: Comparison) -> str:
    """The partnership's rate against the benchmark in words, e.g. ``... lower than London (4.10), beyond chance:
    better.``"""
    own = c.own
    if own is None:
        return f"No rate for {c.own_area} in {c.period}: it has no complete figure or no population."
    if c.benchmark is None:
        return f"{own.area}: {rate_text(own.rate)} {per_text(c.per)}; no benchmark."
    side = side_of(own.lower, own.upper, c.benchmark)
    bench = f"{BENCHMARK_NAME} ({rate_text(c.benchmark)})"
    words = (f"similar to {bench}: the difference is within chance" if side == "similar"
             else f"{side} than {bench}, beyond chance")
    verdict = {"better": ": better", "worse": ": worse", "similar": "",
               "not_compared": " (a neutral indicator: neither better nor worse)"}[own.comparison]
    text = (f"{own.area}: {rate_text(own.rate)} {per_text(c.per)} in {c.period} (95% interval "
            f"{rate_text(own.lower)} to {rate_text(own.upper)}), {words}{verdict}.")
    if c.similar_rate is not None:
        text += f" Most-similar group: {rate_text(c.similar_rate)}."
    return text
