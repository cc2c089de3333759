"""The status engine: pure functions from an indicator's figures to a RAG status and a one-sentence reason.

No I/O here. The store hands in ``Observation`` rows; ``figures_for`` rolls them up to the grain that is rated
(quarters, or financial years for annual indicators) and ``evaluate`` judges one period. The rules are documented
in docs/status.md.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.stats import binom

from cspdash import spc
from cspdash.config import Catalogue, Indicator
from cspdash.periods import Period

RAGS = ("green", "amber", "red", "no_data", "monitor")
RAG_WORDS = {"green": "GREEN", "amber": "AMBER", "red": "RED", "no_data": "NO DATA", "monitor": "MONITOR"}
_SEVERITY = {"red": 3, "amber": 2, "green": 1}
PROVISIONAL_PREFIX = "Provisional: "  # starts the note of a figure that includes a provisional month
CHANCE_ALPHA = 0.05  # a change with a two-sided exact Poisson p-value at or above this could be chance


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


@dataclass(frozen=True)
class Status:
    """The judgement of one indicator for one period (the fields of ``status --format json``)."""

    indicator: str
    priority: str
    period: str
    value: float | None
    target: float | None
    comparator: float | None
    rag: str
    complete: bool
    variation: str | None
    assurance: str | None
    reason: str
    comparator_period: str | None = None
    change_pct: float | None = None
    trend: str | None = None  # up | down | level
    improving: bool | None = None  # whether the change is in the direction of improvement
    target_text: str = ""
    rated_period: str | None = None  # the period actually judged (annual indicators: a financial year)
    numerator: float | None = None
    denominator: float | None = None
    small_numbers: bool = False
    notes: tuple[str, ...] = ()
    spc_points: int = 0
    provisional: bool = False  # the rated figure includes a provisional month (see notes)

    def as_dict(self) -> dict:
        """A JSON-ready mapping of every field."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 6)  # no float noise such as 26.400000000000002 in exports
        d["notes"] = list(self.notes)
        return d


@dataclass(frozen=True)
class Rollup:
    """A priority's statuses counted, and its overall status by the catalogue's roll-up rule."""

    priority: str
    counts: dict[str, int]
    overall: str
    rule: str
    reason: str
    indicators: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        """A JSON-ready mapping."""
        return {"priority": self.priority, "overall": self.overall, "rule": self.rule, "reason": self.reason,
                **{k: self.counts.get(k, 0) for k in RAGS}, "indicators": list(self.indicators)}


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


# ------------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------------

def fmt(ind: Indicator, v: float | None) -> str:
    """A value in the indicator's unit, e.g. ``3,912``, ``85.2%``, ``4.1 per 1,000``."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    d = ind.decimals
    if ind.unit == "count":
        return f"{v:,.{d}f}" if d or v != int(v) else f"{int(v):,}"
    if ind.unit == "percent":
        return f"{v:,.{d}f}%"
    if ind.unit == "rate":
        return f"{v:,.{d}f} per {ind.per:,.0f}"
    return f"{v:,.{max(d, 2)}f}"


def _pct(x: float) -> str:
    a = abs(x)
    return f"{a:.0f}%" if a >= 10 or a == int(a) else f"{a:.1f}%"


def target_text(ind: Indicator) -> str:
    """The target in words, e.g. ``a 5% fall on the same quarter last year``."""
    t = ind.target
    if t.type == "none":
        return "none (monitor only)"
    if t.type == "fixed":
        word = {"increase": "at least", "decrease": "at most"}[ind.direction]
        return f"{word} {fmt(ind, t.value)}"
    if t.type == "cumulative":
        return f"{fmt(ind, t.value)} by the end of the financial year, judged pro rata"
    v = t.value or 0.0
    if v == 0:
        return "no change"
    relative = " (relative)" if ind.unit != "count" else ""
    return f"a {_pct(v)} {'rise' if v > 0 else 'fall'}{relative}"


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------

def evaluate(ind: Indicator, period: Period, figures: dict[Period, Figure]) -> Status:
    """Judge ``ind`` for the quarter ``period`` from its rolled-up ``figures`` (see ``figures_for``)."""
    grain = rated_grain(ind)
    rated = period.at(grain)
    notes: list[str] = []
    if grain == "year":
        # An annual measure is shown at the latest financial year up to the quarter's year.
        # Only complete years: a part-year built from months must not hide the last complete year.
        years = [p for p in figures if p <= rated and figures[p].value is not None and figures[p].complete]
        if years and years[-1] != rated:
            notes.append(f"Annual measure: {rated.label} not yet available; showing {years[-1].label}.")
            rated = years[-1]
    fig = figures.get(rated)
    spc_res, spc_n = _spc(ind, rated, figures, notes)
    base = dict(indicator=ind.id, priority=ind.priority, period=period.label, rated_period=rated.label,
                target_text=target_text(ind), variation=spc_res.variation if spc_res else None,
                assurance=spc_res.assurance if spc_res else None, spc_points=spc_n)

    if fig is not None and fig.provisional:
        notes.append(provisional_note(fig))

    def status(rag: str, reason: str, **kw) -> Status:
        fields = dict(base, value=fig.value if fig else None, numerator=fig.numerator if fig else None,
                      denominator=fig.denominator if fig else None, target=None, comparator=None,
                      complete=fig.complete if fig else False, rag=rag, reason=reason, notes=tuple(notes),
                      provisional=bool(fig and fig.provisional))
        fields.update(kw)
        return Status(**fields)

    if fig is None or (fig.value is None and not fig.missing):
        why = f"No figure for {rated.label}" + (f" ({fig.note})" if fig and fig.note else "")
        return status("no_data", f"{why}; NO DATA.")
    if not fig.complete:
        months = ", ".join(m.display for m in fig.missing)
        n = rated.n_months
        return status("no_data", f"Incomplete: figures for {n - len(fig.missing)} of {n} months "
                                 f"(missing {months}); not rated; NO DATA.", complete=False)
    if fig.value is None:
        return status("no_data", f"No figure for {rated.label} ({fig.note}); NO DATA.")

    t = ind.target
    if t.type == "cumulative":
        return _cumulative(ind, rated, figures, status)
    comp_p, comp_v, comp_exposure = _comparator(ind, rated, figures)
    change = None if comp_v in (None, 0) else (fig.value - comp_v) / comp_v * 100
    travel = _travel(ind, fig.value, comp_v, comp_p)
    trend_kw = dict(comparator=comp_v, comparator_period=comp_p, change_pct=change, **_trend(ind, fig.value, comp_v))

    if t.type == "none":
        trav = f"; {travel[0].lower()}{travel[1:]}" if travel else ""
        return status("monitor", f"Monitor only: {fmt(ind, fig.value)}{trav}; MONITOR.",
                      **trend_kw)
    if t.type == "fixed":
        return _fixed(ind, fig, travel, trend_kw, status, spc_res)
    # change target
    if comp_v is None:
        return status("no_data", f"{fmt(ind, fig.value)}, but no comparator: no figure for {comp_p}; NO DATA.",
                      **trend_kw)
    goal = t.value or 0.0
    target_v = comp_v * (1 + goal / 100)
    sign = 1 if ind.direction == "increase" else -1
    if change is None:
        rag = "no_data"
    elif sign * (change - goal) >= 0:
        rag = "green"
    elif sign * (change - goal) >= -t.tolerance:
        rag = "amber"
    else:
        rag = "red"
    reason = f"{travel}; target {target_text(ind)}"
    small = False
    if rag in ("green", "red"):
        why_not = _noise(ind, fig, comp_v, comp_exposure, figures.get(rated), t.baseline == "fixed")
        if why_not:
            small, rag = True, "amber"
            reason += f"; {why_not}, so not rated {'green' if sign * (change - goal) >= 0 else 'red'}"
    if change is None:
        reason = f"{fmt(ind, fig.value)} against 0 in {comp_p}: a % change cannot be computed"
    return status(rag, f"{reason}; {RAG_WORDS[rag]}.", target=target_v, small_numbers=small, **trend_kw)


def provisional_note(fig: Figure) -> str:
    """``Provisional: includes Nov 2025 ...``: the words for a figure that includes provisional months."""
    months = ", ".join(p.display for p in fig.provisional)
    return (f"{PROVISIONAL_PREFIX}includes {months}, loaded as recent police data; the police often revise recent months, "
            "so this figure may change.")


def _comparator(ind: Indicator, rated: Period, figures: dict[Period, Figure]) -> tuple[str | None, float | None, float]:
    """(label, value, exposure in periods) of the comparator for a change target (or the travel for others).

    Where the stored comparator is missing and its whole period lies before the indicator's first stored figure, a
    change target's plan figure (``target.baseline_figures``) for that period, or the latest one before it, stands in.
    A count is taken pro rata to the rated period (a year's figure ÷ 4 for a quarter, exposure 4); a percentage,
    rate or ratio is a level and is used as it is.
    """
    label, value, exposure = _stored_comparator(ind, rated, figures)
    t = ind.target
    baseline = t.baseline or "same_quarter_last_year"
    if value is not None or not t.baseline_figures or t.type != "change" or baseline == "fixed":
        return label, value, exposure
    if baseline == "previous_quarter":
        compared = rated.previous()
    elif baseline == "previous_year_average":
        compared = Period.year(rated.fy - 1)
    else:
        compared = rated.same_last_year()
    if figures and compared.end >= min(figures).start:
        return label, value, exposure  # a gap inside the data is missing data, not a reason to reach back to the plan
    plan = t.plan_figure(compared)
    if plan is None:
        return label, value, exposure
    period, figure = plan
    share = rated.n_months / period.n_months if ind.unit == "count" else 1.0
    per = f" a {period.grain}, pro rata" if share != 1 else ""
    return f"the {period.label} plan baseline ({fmt(ind, figure)}{per})", figure * share, 1 / share


def _stored_comparator(ind: Indicator, rated: Period,
                       figures: dict[Period, Figure]) -> tuple[str | None, float | None, float]:
    """(label, value, exposure in periods) of the stored comparator."""
    t = ind.target
    baseline = t.baseline or "same_quarter_last_year"
    if t.type == "change" and baseline == "fixed":
        return "the baseline", t.baseline_value, 1.0
    if t.type == "change" and baseline == "previous_quarter" and rated.grain == "quarter":
        p = rated.previous()
    elif t.type == "change" and baseline == "previous_year_average" and rated.grain == "quarter":
        prev = Period.year(rated.fy - 1).quarters()
        figs = [figures.get(q) for q in prev]
        label = f"the {prev[0].fy_label} quarterly average"
        if any(f is None or f.value is None or not f.complete for f in figs):
            return label, None, 4.0
        if ind.has_ratio and all(f.numerator is not None and f.denominator for f in figs):  # type: ignore[union-attr]
            num = sum(f.numerator for f in figs)  # type: ignore[union-attr,misc]
            den = sum(f.denominator for f in figs)  # type: ignore[union-attr,misc]
            return label, num / den * ind.scale, 4.0
        return label, sum(f.value for f in figs) / 4, 4.0  # type: ignore[union-attr,misc]
    else:
        p = rated.same_last_year()
    f = figures.get(p)
    return p.label, (f.value if f is not None and f.complete else None), 1.0


def _trend(ind: Indicator, value: float | None, comp: float | None) -> dict:
    if value is None or comp is None:
        return {"trend": None, "improving": None}
    trend = "up" if value > comp else "down" if value < comp else "level"
    improving = None if ind.direction == "neutral" or trend == "level" else (trend == "up") == (ind.direction == "increase")
    return {"trend": trend, "improving": improving}


def _travel(ind: Indicator, value: float, comp: float | None, comp_p: str | None) -> str:
    """``Down 12% on 2016/17 Q3 (3,912 → 3,443)``; empty without a comparator."""
    if comp is None or comp_p is None:
        return ""
    pair = f"({fmt(ind, comp)} → {fmt(ind, value)})"
    if ind.unit == "percent":
        diff = value - comp
        word = "Up" if diff > 0 else "Down" if diff < 0 else "Level"
        pts = "" if diff == 0 else f" {abs(diff):.{max(ind.decimals, 1)}f} points"
        return f"{word}{pts} on {comp_p} {pair}"
    if comp == 0:
        return f"{'Up' if value > 0 else 'Level'} on {comp_p} {pair}"
    ch = (value - comp) / comp * 100
    word = "Up" if ch > 0 else "Down" if ch < 0 else "Level"
    return f"{word}{'' if ch == 0 else ' ' + _pct(ch)} on {comp_p} {pair}"


def chance_p(k: int, n: int, p: float) -> float:
    """Two-sided exact binomial p-value of ``k`` successes in ``n`` trials: ``scipy.stats.binomtest(k, n, p).pvalue``.

    The same definition (the probability of every outcome no more likely than ``k``, with scipy's relative tolerance
    of 1e-7), from one vectorised pmf rather than binomtest's search: binomtest's overhead was half the time of
    rating every indicator for every quarter.
    """
    if k == p * n:
        return 1.0
    pmf = binom.pmf(np.arange(n + 1), n, p)
    return float(min(1.0, pmf[pmf <= pmf[k] * (1 + 1e-7)].sum()))


def _noise(ind: Indicator, fig: Figure, comp: float, exposure: float, _f: Figure | None, fixed_base: bool) -> str:
    """Why a change must not be rated on its face (small numbers or chance), or ''."""
    threshold = ind.small_numbers
    if ind.has_ratio:
        if fig.denominator is not None and fig.denominator < threshold:
            return f"based on only {fig.denominator:,.0f} cases (fewer than {threshold:g})"
        return ""
    if ind.unit != "count":
        return ""
    if threshold and fig.value < threshold and comp < threshold:
        return f"numbers too small to rate (both below {threshold:g})"
    if fixed_base:
        return ""
    a, b = round(fig.value), round(comp * exposure)
    if a + b == 0:
        return ""
    p = chance_p(a, a + b, 1 / (1 + exposure))
    if p >= CHANCE_ALPHA:
        return f"the change could be chance (exact Poisson test p = {p:.2f})"
    return ""


def _fixed(ind: Indicator, fig: Figure, travel: str, trend_kw: dict, status, spc_res) -> Status:
    t = ind.target
    goal = t.value or 0.0
    sign = 1 if ind.direction == "increase" else -1
    gap = sign * (fig.value - goal)  # type: ignore[operator]
    rag = "green" if gap >= 0 else "amber" if gap >= -t.tolerance else "red"
    amber_from = goal - sign * t.tolerance
    band = f" (amber to {fmt(ind, amber_from)})" if t.tolerance else ""
    reason = f"{fmt(ind, fig.value)} against a target of {target_text(ind)}{band}"
    if travel:
        reason += f"; {travel[0].lower()}{travel[1:]}"
    small = False
    if rag in ("green", "red") and ind.has_ratio and fig.denominator is not None and fig.denominator < ind.small_numbers:
        small = True
        reason += f"; based on only {fig.denominator:,.0f} cases (fewer than {ind.small_numbers:g}), so not rated {rag}"
        rag = "amber"
    return status(rag, f"{reason}; {RAG_WORDS[rag]}.", target=goal, small_numbers=small, **trend_kw)


def _cumulative(ind: Indicator, rated: Period, figures: dict[Period, Figure], status) -> Status:
    t = ind.target
    quarters = rated.year_to_date()
    figs = [figures.get(q) for q in quarters]
    gaps = [q.label for q, f in zip(quarters, figs, strict=True) if f is None or f.value is None or not f.complete]
    # Pro rata by months elapsed: an annual indicator's single period is the whole year, not one quarter.
    due = (t.value or 0.0) * sum(q.n_months for q in quarters) / 12
    if gaps:
        return status("no_data", f"No figure for {', '.join(gaps)}, so the year to date cannot be totalled; NO DATA.",
                      target=due)
    ytd = float(sum(f.value for f in figs))  # type: ignore[union-attr,misc]
    sign = 1 if ind.direction == "increase" else -1
    short_pct = 0.0 if due == 0 else sign * (ytd - due) / due * 100
    rag = "green" if sign * (ytd - due) >= 0 else "amber" if short_pct >= -t.tolerance else "red"
    by = "the year end" if rated.grain == "year" else f"Q{rated.q} ({fmt(ind, t.value)} by the year end)"
    reason = f"{fmt(ind, ytd)} so far in {rated.fy_label} against {fmt(ind, due)} due by {by}; {RAG_WORDS[rag]}."
    return status(rag, reason, value=ytd, target=due, comparator=None)


def rebase_positions(periods: Sequence[Period], rebase: Sequence[Period]) -> tuple[int, ...]:
    """Each rebase period's position in ``periods`` (oldest first): the first point at or after it, once each.

    A rebase period missing from the series (no complete figure) starts its phase at the next point; one after the
    last point starts no phase; one at or before the first point maps to 0, which starts no new phase either.
    """
    positions: list[int] = []
    for r in rebase:
        k = next((i for i, p in enumerate(periods) if p >= r), None)
        if k is not None and k not in positions:
            positions.append(k)
    return tuple(sorted(positions))


def indicator_spc(ind: Indicator, periods: Sequence[Period], values: Sequence[float]) -> spc.SPCResult:
    """The XmR chart of an indicator's series (its periods and values), with the catalogue's phases and target."""
    target = ind.target.value if ind.target.type == "fixed" else None
    if not ind.spc.rebase and ind.spc.fix_after_n_points is None:
        return spc.compute(values, ind.direction, target=target)
    return spc.compute(values, ind.direction, target=target, rebase_at=rebase_positions(periods, ind.spc.rebase),
                       fix_after_n_points=ind.spc.fix_after_n_points)


def _spc(ind: Indicator, rated: Period, figures: dict[Period, Figure], notes: list[str]):
    """XmR over the complete figures up to ``rated``; None when the rated figure is not the last point."""
    series = [(p, f.value) for p, f in figures.items() if p <= rated and f.complete and f.value is not None]
    if not series or series[-1][0] != rated:
        return None, len(series)
    res = indicator_spc(ind, [p for p, _ in series], [v for _, v in series])
    notes.extend(res.notes)
    return res, len(series)


def evaluate_all(cat: Catalogue, period: Period, observations: dict[str, Sequence[Observation]]) -> list[Status]:
    """Status of every indicator in the catalogue for ``period`` (observations keyed by indicator id)."""
    return [evaluate(i, period, figures_for(i, observations.get(i.id, ()))) for i in cat.indicators]


# ------------------------------------------------------------------------------------------------
# Roll-up
# ------------------------------------------------------------------------------------------------

def rollup(priority: str, statuses: Sequence[Status], rule: str = "worst") -> Rollup:
    """Count a priority's statuses and decide its overall status.

    Only green, amber and red are rated; no_data and monitor are counted but never decide the overall status.
    ``worst``: red if any indicator is red, else amber if any is amber, else green.
    ``majority``: the most common rated status; a tie goes to the worse one.
    Nothing rated: ``no_data``.
    """
    counts = Counter(s.rag for s in statuses if s.priority == priority)
    ids = tuple(s.indicator for s in statuses if s.priority == priority)
    full = {k: counts.get(k, 0) for k in RAGS}
    rated = {k: full[k] for k in ("green", "amber", "red") if full[k]}
    if not rated:
        overall = "no_data"
    elif rule == "majority":
        overall = max(rated, key=lambda k: (rated[k], _SEVERITY[k]))
    else:
        overall = max(rated, key=lambda k: _SEVERITY[k])
    rule_text = {"worst": "the worst rated indicator decides",
                 "majority": "the most common rated status decides, ties to the worse"}.get(rule, rule)
    reason = f"{headline(statuses, priority)}; {rule_text}; {RAG_WORDS[overall]}."
    return Rollup(priority, full, overall, rule, reason, ids)


def headline(statuses: Sequence[Status], priority: str | None = None) -> str:
    """``9 green · 4 amber · 2 red · 1 no data`` (zero counts left out)."""
    counts = Counter(s.rag for s in statuses if priority is None or s.priority == priority)
    parts = [f"{counts[k]} {k.replace('_', ' ')}" for k in RAGS if counts.get(k)]
    return " · ".join(parts) if parts else "no indicators"
