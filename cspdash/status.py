"""The status engine: pure functions from an indicator's figures to a RAG status and a one-sentence reason.

No I/O here. The store hands in ``Observation`` rows; ``figures_for`` rolls them up to the grain that is rated
(quarters, or financial years for annual indicators) and ``evaluate`` judges one period. The rules are documented
in docs/status.md.

The parts live in modules by noun, and this module re-exports their public names (the same objects):
``observations`` (observations rolled up to figures), ``judgement`` (a figure's 95% interval and the rule that rates it)
and ``status_text`` (a status's words). Here: a status assembled for one indicator, and a priority's roll-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cspdash import spc
from cspdash.config import RATINGS, Catalogue, Indicator
from cspdash.judgement import (  # noqa: F401  (names not used here are re-exported: cspdash and tests use them)
    POISSON,
    WILSON,
    Z95,
    Interval,
    _face,
    _iv_fields,
    _too_small,
    disagreement,
    interval,
    judge,
    wilson,
)
from cspdash.observations import (
    Figure,
    Observation,
    figures_for,
    rated_grain,
)
from cspdash.periods import Period
from cspdash.quantiles import garwood  # noqa: F401  (re-exported, as above)
from cspdash.status_text import (  # noqa: F401  (re-exported, as above)
    PROVISIONAL_PREFIX,
    _level_words,
    _travel,
    fmt,
    level_text,
    provisional_note,
    range_text,
    target_text,
)
from cspdash.vocab import AMBER_REASONS, AMBER_WORDS, RAG_WORDS, RAGS  # noqa: F401  (re-exported)

_SEVERITY = {"red": 3, "amber": 2, "green": 1}


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
    lower: float | None = None  # the figure's 95% interval (see ``interval``); None when it has none
    upper: float | None = None
    interval_method: str | None = None  # "exact Poisson (Garwood)" or "Wilson score"
    amber_reason: str | None = None  # for amber: within_tolerance | could_be_chance | too_small_to_tell
    disagreement: str | None = None  # the sentence saying how the RAG and the SPC chart disagree, if they do
    rating: str = "target"  # the rule that rated it: target (the catalogue's target) or mdc (Making Data Count)
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
# Evaluation
# ------------------------------------------------------------------------------------------------

def evaluate(ind: Indicator, period: Period, figures: dict[Period, Figure], rating: str = "target") -> Status:
    """Judge ``ind`` for the quarter ``period`` from its rolled-up ``figures`` (see ``figures_for``).

    ``rating`` is the catalogue's ``partnership.rating``: ``target`` judges the figure against its target with its
    95% interval; ``mdc`` rates fixed and change targets from the SPC chart's variation and assurance.
    """
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {'|'.join(RATINGS)}, got {rating!r}")
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
        if fields["rag"] in ("green", "red") and fields["spc_points"] >= spc.TRIAL_LIMIT_POINTS:
            fields["disagreement"] = disagreement(fields["rag"], fields["variation"], fields["assurance"],
                                                  fields.get("rating") == "mdc")
            if fields["disagreement"]:
                fields["reason"] = f"{fields['reason']} {fields['disagreement']}"
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
    iv = interval(ind, fig.value, fig.numerator, fig.denominator)
    base.update(_iv_fields(iv))
    if t.type == "cumulative":
        return _cumulative(ind, rated, figures, status)
    comp_p, comp_v = _comparator(ind, rated, figures)
    change = None if comp_v in (None, 0) else (fig.value - comp_v) / comp_v * 100
    travel = _travel(ind, fig.value, comp_v, comp_p)
    trend_kw = dict(comparator=comp_v, comparator_period=comp_p, change_pct=change, **_trend(ind, fig.value, comp_v))

    if t.type == "none":
        trav = f"; {travel[0].lower()}{travel[1:]}" if travel else ""
        return status("monitor", f"Monitor only: {fmt(ind, fig.value)}{trav}; MONITOR.",
                      **trend_kw)
    if t.type == "fixed":
        level: float | None = t.value or 0.0
    elif comp_v is None:
        return status("no_data", f"{fmt(ind, fig.value)}, but no comparator: no figure for {comp_p}; NO DATA.",
                      **trend_kw)
    elif change is None:
        return status("no_data", f"{fmt(ind, fig.value)} against 0 in {comp_p}: a % change cannot be computed; "
                                 "NO DATA.", target=comp_v * (1 + (t.value or 0.0) / 100), **trend_kw)
    else:
        level = comp_v * (1 + (t.value or 0.0) / 100)
    if rating == "mdc":
        return _mdc(ind, fig, level, travel, trend_kw, spc_res, spc_n, status)
    if t.type == "fixed":
        return _fixed(ind, fig, iv, travel, trend_kw, status)
    # change target
    goal = t.value or 0.0
    sign = 1 if ind.direction == "increase" else -1
    face = _face(sign * (change - goal), t.tolerance)  # type: ignore[operator]
    small = _too_small(ind, fig, comp_v)
    rag, why, words = judge(ind, face, fig.value, level, iv, small)  # type: ignore[arg-type]
    words_t, lvl = target_text(ind), _level_words(ind, level, fig.value)  # type: ignore[arg-type]
    goal_text = f"{words_t[:-1]}; {lvl})" if words_t.endswith(")") else f"{words_t} ({lvl})"
    reason = f"{travel}; target {goal_text}{words}"
    return status(rag, f"{reason}; {RAG_WORDS[rag]}.", target=level, small_numbers=why == "too_small_to_tell",
                  amber_reason=why, **trend_kw)


def _comparator(ind: Indicator, rated: Period, figures: dict[Period, Figure]) -> tuple[str | None, float | None]:
    """(label, value) of the comparator for a change target (or the travel for others).

    Where the stored comparator is missing and its whole period lies before the indicator's first stored figure, a
    change target's plan figure (``target.baseline_figures``) for that period, or the latest one before it, stands in.
    A count is taken pro rata to the rated period (a year's figure ÷ 4 for a quarter); a percentage,
    rate or ratio is a level and is used as it is.
    """
    label, value = _stored_comparator(ind, rated, figures)
    t = ind.target
    baseline = t.baseline or "same_quarter_last_year"
    if value is not None or not t.baseline_figures or t.type != "change" or baseline == "fixed":
        return label, value
    if baseline == "previous_quarter":
        compared = rated.previous()
    elif baseline == "previous_year_average":
        compared = Period.year(rated.fy - 1)
    else:
        compared = rated.same_last_year()
    if figures and compared.end >= min(figures).start:
        return label, value  # a gap inside the data is missing data, not a reason to reach back to the plan
    plan = t.plan_figure(compared)
    if plan is None:
        return label, value
    period, figure = plan
    share = rated.n_months / period.n_months if ind.unit == "count" else 1.0
    per = f" a {period.grain}, pro rata" if share != 1 else ""
    return f"the {period.label} plan baseline ({fmt(ind, figure)}{per})", figure * share


def _stored_comparator(ind: Indicator, rated: Period,
                       figures: dict[Period, Figure]) -> tuple[str | None, float | None]:
    """(label, value) of the stored comparator."""
    t = ind.target
    baseline = t.baseline or "same_quarter_last_year"
    if t.type == "change" and baseline == "fixed":
        return "the baseline", t.baseline_value
    if t.type == "change" and baseline == "previous_quarter" and rated.grain == "quarter":
        p = rated.previous()
    elif t.type == "change" and baseline == "previous_year_average" and rated.grain == "quarter":
        prev = Period.year(rated.fy - 1).quarters()
        figs = [figures.get(q) for q in prev]
        label = f"the {prev[0].fy_label} quarterly average"
        if any(f is None or f.value is None or not f.complete for f in figs):
            return label, None
        if ind.has_ratio and all(f.numerator is not None and f.denominator for f in figs):  # type: ignore[union-attr]
            num = sum(f.numerator for f in figs)  # type: ignore[union-attr,misc]
            den = sum(f.denominator for f in figs)  # type: ignore[union-attr,misc]
            return label, num / den * ind.scale
        return label, sum(f.value for f in figs) / 4  # type: ignore[union-attr,misc]
    else:
        p = rated.same_last_year()
    f = figures.get(p)
    return p.label, (f.value if f is not None and f.complete else None)


def _trend(ind: Indicator, value: float | None, comp: float | None) -> dict:
    if value is None or comp is None:
        return {"trend": None, "improving": None}
    trend = "up" if value > comp else "down" if value < comp else "level"
    improving = None if ind.direction == "neutral" or trend == "level" else (trend == "up") == (ind.direction == "increase")
    return {"trend": trend, "improving": improving}


def _fixed(ind: Indicator, fig: Figure, iv: Interval | None, travel: str, trend_kw: dict, status) -> Status:
    t = ind.target
    goal = t.value or 0.0
    sign = 1 if ind.direction == "increase" else -1
    face = _face(sign * (fig.value - goal), t.tolerance)  # type: ignore[operator]
    small = _too_small(ind, fig, None)
    rag, why, words = judge(ind, face, fig.value, goal, iv, small)  # type: ignore[arg-type]
    amber_from = goal - sign * t.tolerance
    band = f" (amber to {fmt(ind, amber_from)})" if t.tolerance else ""
    reason = f"{fmt(ind, fig.value)} against a target of {target_text(ind)}{band}{words}"
    if travel:
        reason += f"; {travel[0].lower()}{travel[1:]}"
    return status(rag, f"{reason}; {RAG_WORDS[rag]}.", target=goal, small_numbers=why == "too_small_to_tell",
                  amber_reason=why, **trend_kw)


def _cumulative(ind: Indicator, rated: Period, figures: dict[Period, Figure], status) -> Status:
    t = ind.target
    quarters = rated.year_to_date()
    figs = [figures.get(q) for q in quarters]
    gaps = [q.label for q, f in zip(quarters, figs, strict=True) if f is None or f.value is None or not f.complete]
    # Pro rata by months elapsed: an annual indicator's single period is the whole year, not one quarter.
    due = (t.value or 0.0) * sum(q.n_months for q in quarters) / 12
    if gaps:
        return status("no_data", f"No figure for {', '.join(gaps)}, so the year to date cannot be totalled; NO DATA.",
                      target=due, **_iv_fields(None))
    ytd = float(sum(f.value for f in figs))  # type: ignore[union-attr,misc]
    sign = 1 if ind.direction == "increase" else -1
    short_pct = 0.0 if due == 0 else sign * (ytd - due) / due * 100
    face = "green" if sign * (ytd - due) >= 0 else _face(short_pct, t.tolerance)
    iv = interval(ind, ytd)
    rag, why, words = judge(ind, face, ytd, due, iv)
    by = "the year end" if rated.grain == "year" else f"Q{rated.q} ({fmt(ind, t.value)} by the year end)"
    reason = f"{fmt(ind, ytd)} so far in {rated.fy_label} against {fmt(ind, due)} due by {by}{words}; {RAG_WORDS[rag]}."
    return status(rag, reason, value=ytd, target=due, comparator=None, amber_reason=why, **_iv_fields(iv))


def _mdc(ind: Indicator, fig: Figure, level: float | None, travel: str, trend_kw: dict, spc_res, spc_n: int,
         status) -> Status:
    """``partnership.rating: mdc``: rate from the SPC chart's assurance and variation, as Making Data Count does."""
    head = f"{fmt(ind, fig.value)} against a target of {_level_words(ind, level, fig.value) if level is not None else 'none'}"
    trav = f"; {travel[0].lower()}{travel[1:]}" if travel else ""
    if spc_res is None or spc_n < spc.TRIAL_LIMIT_POINTS:
        return status("amber", f"{head}{trav}; only {spc_n} points on the SPC chart (fewer than "
                               f"{spc.TRIAL_LIMIT_POINTS}): too small to tell; AMBER.", target=level,
                      amber_reason="too_small_to_tell", rating="mdc", **trend_kw)
    assur = spc.assurance(level, spc_res.lpl, spc_res.upl, ind.direction)
    var = spc_res.variation
    d, pct = max(ind.decimals, 1), "%" if ind.unit == "percent" else ""
    limits = f"process limits {spc_res.lpl:,.{d}f}{pct}-{spc_res.upl:,.{d}f}{pct}"
    if assur == "consistent_fail":
        rag, words = "red", f"the {limits} lie wholly on the wrong side of the target, so it will not be met without a change"
    elif assur == "consistent_pass":
        rag, words = "green", f"the {limits} lie wholly on the good side of the target, so it is reliably met"
    elif var == "special_cause_concern":
        rag, words = "red", "the SPC chart shows special-cause concern"
    elif var == "special_cause_improvement":
        rag, words = "green", "the SPC chart shows special-cause improvement"
    else:
        rag, words = "amber", (f"common-cause variation, and the target lies within the {limits}, so it will be met "
                               "in some periods and missed in others by chance")
    return status(rag, f"{head}{trav}; {words}; {RAG_WORDS[rag]}.", target=level, assurance=assur,
                  amber_reason="could_be_chance" if rag == "amber" else None, rating="mdc", **trend_kw)


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
    return [evaluate(i, period, figures_for(i, observations.get(i.id, ())), cat.rating) for i in cat.indicators]


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
