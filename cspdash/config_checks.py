"""The catalogue's field checks: a small declarative checker that collects every problem, each naming the place, the
value and the fix (``cspdash.config`` composes them into ``parse_catalogue``).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from cspdash.catalogue import (
    BASELINES,
    TARGET_TYPES,
    Compare,
    Dataset,
    Indicator,
    Measure,
    SPCSettings,
    Target,
)
from cspdash.errors import PeriodError
from cspdash.periods import Period, parse_period

# ------------------------------------------------------------------------------------------------
# Validation: a small declarative checker that collects every problem.
# ------------------------------------------------------------------------------------------------

class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, msg: str) -> None:
        self.items.append(f"{where}: {msg}")


def _keys(obj: Any, where: str, allowed: set[str], required: set[str], probs: _Problems) -> bool:
    """Check a mapping's keys; False when ``obj`` is not a mapping at all."""
    if not isinstance(obj, dict):
        probs.add(where, f"expected a mapping with keys {', '.join(sorted(required | allowed))}, got {_show(obj)}")
        return False
    for k in obj:
        if k not in allowed:
            hint = _closest(str(k), allowed)
            probs.add(f"{where}.{k}", "unknown key" + (f"; did you mean {hint!r}?" if hint else
                                                         f"; allowed keys: {', '.join(sorted(allowed))}"))
    for k in sorted(required):
        if obj.get(k) in (None, ""):
            probs.add(f"{where}.{k}", "required; add it")
    return True


def _closest(word: str, options: set[str]) -> str | None:
    import difflib

    hits = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return hits[0] if hits else None


def _show(v: Any) -> str:
    return repr(v) if not isinstance(v, dict | list) else type(v).__name__


def _choice(obj: dict, key: str, where: str, options: tuple[str, ...], probs: _Problems,
            default: str | None = None) -> str | None:
    v = obj.get(key, default)
    if v is None:
        return None
    if v not in options:
        probs.add(f"{where}.{key}", f"expected {'|'.join(options)}, got {v!r}")
        return None
    return v


def _number(obj: dict, key: str, where: str, probs: _Problems, default: float | None = None,
            minimum: float | None = None) -> float | None:
    v = obj.get(key, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        hint = "; remove the quotes" if isinstance(v, str) and _is_number(v) else ""
        probs.add(f"{where}.{key}", f"expected a number, got {v!r}{hint}")
        return None
    if minimum is not None and v < minimum:
        probs.add(f"{where}.{key}", f"expected a number of at least {minimum:g}, got {v!r}")
        return None
    return float(v)


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def _text(obj: dict, key: str, where: str, probs: _Problems, default: str = "") -> str:
    v = obj.get(key, default)
    if v is None:
        return default
    if not isinstance(v, str):
        probs.add(f"{where}.{key}", f"expected text, got {v!r}; put it in quotes")
        return default
    return v.strip()


_TARGET_KEYS = {"type", "value", "tolerance", "baseline", "baseline_value", "annual", "baseline_figures", "source",
                "agreed"}
_AGREED_KEYS = {"by", "date"}
_MEASURE_KEYS = {"dataset", "aggregate", "where", "query", "area"}
_SPC_KEYS = {"rebase", "fix_after_n_points"}
_COMPARE_KEYS = {"per", "population", "dataset"}
_AGE_BAND = re.compile(r"^(all_ages|(\d{1,3})-(\d{1,3}))$")
MIN_FIX_AFTER_N_POINTS = 12  # NHSRplotthedots refuses fewer: limits on fewer points are trial limits


def _spc(raw: Any, where: str, frequency: str | None, probs: _Problems) -> SPCSettings:
    """The ``spc`` key: rebase periods read at the indicator's rated grain, and fix_after_n_points."""
    if raw is None or not _keys(raw, where, _SPC_KEYS, set(), probs):
        return SPCSettings()
    grain = "year" if frequency == "annual" else "quarter"  # as status.rated_grain
    rebase = raw.get("rebase") or []
    periods: list[Period] = []
    if not isinstance(rebase, list):
        probs.add(f"{where}.rebase", f"expected a list of periods, e.g. [2012/13 Q1], got {_show(rebase)}")
        rebase = []
    for k, item in enumerate(rebase):
        try:
            period = parse_period(item if not isinstance(item, int | float) else str(item), grain=grain)
        except PeriodError as e:
            probs.add(f"{where}.rebase[{k}]", f"{e}; write a {grain} such as "
                                              f"{'2012/13' if grain == 'year' else '2012/13 Q1'}")
            continue
        # a finer period (a month, or a quarter of an annual indicator) means the rated period containing it
        if periods and period <= periods[-1]:
            probs.add(f"{where}.rebase[{k}]", f"{period.label} is not after {periods[-1].label}; list each period "
                                              "once, oldest first")
        else:
            periods.append(period)
    fix = raw.get("fix_after_n_points")
    if fix is not None and (isinstance(fix, bool) or not isinstance(fix, int) or fix < MIN_FIX_AFTER_N_POINTS):
        probs.add(f"{where}.fix_after_n_points", f"expected a whole number of at least {MIN_FIX_AFTER_N_POINTS} "
                                                 f"(as in NHSRplotthedots), got {fix!r}; or remove it")
        fix = None
    return SPCSettings(tuple(periods), fix)


def _compare(raw: Any, where: str, unit: str | None, probs: _Problems) -> Compare | None:
    """The ``compare`` key: ``{per: 1000, population: all_ages}`` or an age band such as ``10-19``."""
    if raw is None or not _keys(raw, where, _COMPARE_KEYS, set(), probs):
        return None
    if unit not in (None, "count"):
        probs.add(where, f"only a count can be compared as a rate per resident; unit is {unit}; remove compare")
    per = _number(raw, "per", where, probs, default=1000.0, minimum=1.0) or 1000.0
    band = raw.get("population", "all_ages")
    m = _AGE_BAND.match(band) if isinstance(band, str) else None
    if m is None or (m.group(2) is not None and int(m.group(2)) > int(m.group(3))):
        probs.add(f"{where}.population", f"expected all_ages or an age band such as 10-19, got {band!r}")
        band = "all_ages"
    dataset = _text(raw, "dataset", where, probs) or None
    return Compare(per, band, dataset)


def _resolve_compare(indicators: list[Indicator], datasets: list[Dataset], probs: _Problems) -> list[Indicator]:
    """Name the population dataset of every compared indicator: its own ``dataset`` or the catalogue's only one."""
    populations = [d.name for d in datasets if d.format == "population"]
    out = []
    for ind in indicators:
        c = ind.compare
        if c is not None:
            where = f"indicators[{ind.id}].compare"
            if c.dataset is not None and c.dataset not in populations:
                probs.add(f"{where}.dataset", f"no dataset of format population named {c.dataset!r}; declare it "
                          f"under datasets: (population datasets: {', '.join(populations) or 'none'})")
            elif c.dataset is None and len(populations) != 1:
                probs.add(where, "name the population dataset with dataset: NAME" if populations else
                          "no dataset of format population is declared; add one under datasets: "
                          "(e.g. population: {format: population})")
            else:
                ind = replace(ind, compare=replace(c, dataset=c.dataset or populations[0]))
        out.append(ind)
    return out


def _similar(part: dict, probs: _Problems) -> tuple[str, ...]:
    """``partnership.similar_areas``: the partnership's own most-similar group, a list of area names."""
    raw = part.get("similar_areas")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(a, str) and a.strip() for a in raw):
        probs.add("partnership.similar_areas", f"expected a list of area names, e.g. [Hackney, Newham], got {_show(raw)}")
        return ()
    names = [" ".join(a.split()) for a in raw]
    seen: set[str] = set()
    for a in names:
        if a.casefold() in seen:
            probs.add("partnership.similar_areas", f"{a!r} is listed twice; list each area once")
        seen.add(a.casefold())
    return tuple(names)


def _target(raw: Any, where: str, direction: str | None, probs: _Problems, frequency: str | None = None) -> Target:
    if not _keys(raw, where, _TARGET_KEYS, {"type"}, probs):
        return Target()
    ttype = _choice(raw, "type", where, TARGET_TYPES, probs)
    if ttype is None:
        return Target()
    said = dict(source=_text(raw, "source", where, probs), **_agreed(raw.get("agreed"), f"{where}.agreed", probs))
    tol = _number(raw, "tolerance", where, probs, default=0.0, minimum=0.0) or 0.0
    extra = {"fixed": {"baseline", "baseline_value", "annual", "baseline_figures"}, "change": {"annual"},
             "cumulative": {"baseline", "baseline_value", "value", "baseline_figures"},
             "none": {"value", "tolerance", "baseline", "baseline_value", "annual", "baseline_figures"}}[ttype]
    for k in sorted(extra & set(raw)):
        probs.add(f"{where}.{k}", f"not used by a target of type {ttype}; remove it")
    if ttype != "none" and direction == "neutral":
        probs.add(f"{where}.type", f"a neutral indicator cannot have a {ttype} target; use type: none (monitor only) "
                                   "or give the indicator a direction")
    if ttype == "none":
        return Target("none", **said)
    if ttype == "cumulative":
        annual = _number(raw, "annual", where, probs, minimum=0.0)
        if raw.get("annual") is None:
            probs.add(f"{where}.annual", "required for a cumulative target: the total wanted by the year end")
        return Target("cumulative", annual, tol, **said)
    value = _number(raw, "value", where, probs)
    if raw.get("value") is None:
        probs.add(f"{where}.value", f"required for a {ttype} target: give a number")
    if ttype == "fixed":
        return Target("fixed", value, tol, **said)
    baseline = _choice(raw, "baseline", where, BASELINES, probs, default="same_quarter_last_year")
    bval = _number(raw, "baseline_value", where, probs, minimum=0.0)
    if baseline == "fixed" and raw.get("baseline_value") is None:
        probs.add(f"{where}.baseline_value", "required when baseline is fixed: the figure to compare against")
    if baseline not in (None, "fixed") and "baseline_value" in raw:
        probs.add(f"{where}.baseline_value", f"only used with baseline: fixed, not {baseline}; remove it")
    figures = _baseline_figures(raw.get("baseline_figures"), f"{where}.baseline_figures", frequency, probs)
    if figures and baseline == "fixed":
        probs.add(f"{where}.baseline_figures", "not used with baseline: fixed (baseline_value is the comparator); "
                                               "remove one of them")
    return Target("change", value, tol, baseline, bval, figures, **said)


def _agreed(raw: Any, where: str, probs: _Problems) -> dict:
    """A target's ``agreed: {by: WHO, date: YYYY-MM-DD}`` as ``agreed_by`` and ``agreed_on``."""
    if raw is None:
        return {"agreed_by": "", "agreed_on": None}
    if isinstance(raw, dict) and True in raw:  # YAML reads a key `on:` (or `yes:`) as true
        probs.add(f"{where}.on", "write the date as `date: YYYY-MM-DD` (YAML reads the key `on` as true)")
        raw = {k: v for k, v in raw.items() if k is not True}
    if not _keys(raw, where, _AGREED_KEYS, {"by"}, probs):
        return {"agreed_by": "", "agreed_on": None}
    by = _text(raw, "by", where, probs)
    on = raw.get("date")
    if isinstance(on, str):
        with contextlib.suppress(ValueError):  # refused below, as text
            on = date.fromisoformat(on.strip())
    if on is not None and (not isinstance(on, date) or isinstance(on, datetime)):
        probs.add(f"{where}.date", f"expected a date written YYYY-MM-DD, e.g. 2017-07-18, got {on!r}")
        on = None
    return {"agreed_by": by, "agreed_on": on}


def _baseline_figures(raw: Any, where: str, frequency: str | None, probs: _Problems) -> tuple[tuple[Period, float], ...]:
    """A change target's ``baseline_figures: {PERIOD: FIGURE}``: financial years (or quarters, for indicators rated
    by quarter), oldest first."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not raw:
        probs.add(where, f"expected a mapping of period: figure, e.g. {{2015/16: 16320}}, got {_show(raw)}")
        return ()
    grains = ("year",) if frequency == "annual" else ("year", "quarter")
    out: list[tuple[Period, float]] = []
    for key, value in raw.items():
        at = f"{where}[{key}]"
        try:
            period = parse_period(str(key))
        except PeriodError as e:
            probs.add(at, f"{e}; write a financial year such as 2015/16")
            continue
        if period.grain not in grains:
            probs.add(at, f"{period.label} is a {period.grain}; give a financial year such as 2015/16"
                          + (" or a quarter such as 2015/16 Q1" if "quarter" in grains else ""))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            hint = "; remove the quotes" if isinstance(value, str) and _is_number(value) else ""
            probs.add(at, f"expected a number of at least 0, got {value!r}{hint}")
            continue
        if any(p.start < period.end and period.start < p.end for p, _ in out):
            probs.add(at, f"{period.label} overlaps another period given; give each period once")
            continue
        out.append((period, float(value)))
    return tuple(sorted(out))


def _measure(raw: Any, where: str, datasets: set[str], probs: _Problems) -> Measure | None:
    if raw is None:
        return None
    if not _keys(raw, where, _MEASURE_KEYS, {"dataset"}, probs):
        return None
    ds = _text(raw, "dataset", where, probs)
    if ds and ds not in datasets:
        probs.add(f"{where}.dataset", f"no dataset named {ds!r}; declare it under datasets: "
                                      f"(declared: {', '.join(sorted(datasets)) or 'none'})")
    agg, query = _text(raw, "aggregate", where, probs) or None, _text(raw, "query", where, probs) or None
    if (agg is None) == (query is None):
        probs.add(where, "give exactly one of aggregate (with an optional where) or query")
    if query is not None and ("where" in raw or "area" in raw):
        probs.add(where, "where and area go with aggregate; a query selects its own rows and returns period, value[, area]")
    return Measure(ds, agg, _text(raw, "where", where, probs) or None, query, _text(raw, "area", where, probs) or None)


def _ids(raw: Any, key: str, probs: _Problems) -> list[dict]:
    if raw is None:
        probs.add(key, "required; add a list")
        return []
    if not isinstance(raw, list):
        probs.add(key, f"expected a list, got {_show(raw)}")
        return []
    return raw


def _period(obj: dict, key: str, probs: _Problems) -> Period | None:
    if obj.get(key) is None:
        return None
    try:
        return parse_period(str(obj[key]), grain="quarter")
    except PeriodError as e:
        probs.add(f"periods.{key}", str(e))
        return None


def _unique(ids: list[str], where: str, probs: _Problems) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            probs.add(f"{where}[{i}]", "duplicate id; ids must be unique")
        seen.add(i)
