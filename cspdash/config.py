"""The indicator catalogue (``indicators.yaml``): loading, validation and the typed objects the rest of cspdash uses.

Every problem is collected and reported together, each naming the place, the value and the fix, e.g.
``indicators[B2].direction: expected increase|decrease|neutral, got 'up'``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from cspdash.errors import ConfigError, PeriodError
from cspdash.formats import FORMATS, check_measures
from cspdash.periods import Period, parse_period

UNITS = ("count", "percent", "rate", "ratio")
FREQUENCIES = ("monthly", "quarterly", "annual")
DIRECTIONS = ("increase", "decrease", "neutral")
TARGET_TYPES = ("fixed", "change", "cumulative", "none")
BASELINES = ("same_quarter_last_year", "previous_quarter", "previous_year_average", "fixed")
ROLLUP_RULES = ("worst", "majority")
RATINGS = ("target", "mdc")  # partnership.rating: against the target with intervals, or Making Data Count
DATASET_FORMATS = tuple(FORMATS)  # police_uk_street, mps_borough, mps_ward, population (cspdash.formats)
DEFAULT_SMALL_NUMBERS = 10
DEFAULT_COMPLETE_SHARE = 0.5  # a quarter is the default once half the indicators have a complete figure for it
DEFAULT_POLICE_FORCE = "Metropolitan Police Service"  # as police.uk spells it in "Reported by"
NOT_RECORDED = "not recorded"  # shown for a target's source or agreement the catalogue does not give
DEFAULT_PROVISIONAL_MONTHS = 3  # police figures less than 3 months old when loaded are often revised
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Target:
    """How an indicator is judged: see docs/catalogue.md for the exact meaning of each field."""

    type: str = "none"  # fixed | change | cumulative | none
    value: float | None = None  # fixed: the level; change: the % change wanted; cumulative: the annual total
    tolerance: float = 0.0  # fixed: units short; change: percentage points short; cumulative: % of pro-rata short
    baseline: str | None = None  # change only
    baseline_value: float | None = None  # change with baseline: fixed
    baseline_figures: tuple[tuple[Period, float], ...] = ()  # change: the plan's figures before the data, oldest first
    source: str = ""  # where the target's level came from, e.g. "CSP Plan 2017-21, Priority D"
    agreed_by: str = ""  # who agreed the target
    agreed_on: date | None = None  # when it was agreed

    @property
    def source_text(self) -> str:
        """Where the target's level came from, or ``not recorded``."""
        return self.source or NOT_RECORDED

    @property
    def agreed_text(self) -> str:
        """Who agreed the target and when (``CSP Executive, 18 Jul 2017``), or ``not recorded``."""
        when = f"{self.agreed_on.day} {self.agreed_on:%b %Y}" if self.agreed_on else ""
        return ", ".join(x for x in (self.agreed_by, when) if x) or NOT_RECORDED

    def plan_figure(self, before: Period) -> tuple[Period, float] | None:
        """The latest of ``baseline_figures`` whose period ends on or before the end of ``before``, or None."""
        found = [(p, v) for p, v in self.baseline_figures if p.end <= before.end]
        return found[-1] if found else None


@dataclass(frozen=True)
class Measure:
    """How an indicator is computed from a record-level dataset by DuckDB SQL (trusted admin input)."""

    dataset: str
    aggregate: str | None = None
    where: str | None = None
    query: str | None = None
    area: str | None = None  # column giving the area, for aggregate measures


@dataclass(frozen=True)
class Compare:
    """What an indicator's areas are compared on: a count per ``per`` residents of an age group (docs/compare.md)."""

    per: float = 1000.0
    population: str = "all_ages"  # all_ages, or an age band such as 10-19 made of the population file's bands
    dataset: str | None = None  # the population dataset; None: the catalogue's one dataset of format population


@dataclass(frozen=True)
class SPCSettings:
    """An indicator's SPC phases: periods where a new phase starts, and how many points fix each phase's limits."""

    rebase: tuple[Period, ...] = ()  # at the indicator's rated grain, in increasing order
    fix_after_n_points: int | None = None  # None: limits use every point of the phase


@dataclass(frozen=True)
class Indicator:
    """One priority performance indicator of the plan."""

    id: str
    priority: str
    owner: str
    title: str
    unit: str
    frequency: str
    direction: str
    target: Target
    definition: str = ""
    rationale: str = ""
    small_numbers: float = DEFAULT_SMALL_NUMBERS
    paired_with: str | None = None
    measure: Measure | None = None
    source: str = ""
    per: float = 1000.0  # rate indicators: value = numerator / denominator * per
    decimals: int = 0
    spc: SPCSettings = field(default_factory=SPCSettings)
    compare: Compare | None = None  # rates per resident against the other areas (docs/compare.md)

    @property
    def has_ratio(self) -> bool:
        """Whether figures for this indicator may come as numerator and denominator."""
        return self.unit in ("percent", "rate", "ratio")

    @property
    def scale(self) -> float:
        """The factor turning numerator / denominator into the indicator's value."""
        return {"percent": 100.0, "rate": self.per, "ratio": 1.0}.get(self.unit, 1.0)


@dataclass(frozen=True)
class Priority:
    """A priority of the plan (A-D)."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class Subgroup:
    """A CSP subgroup that owns indicators and sends returns."""

    id: str
    name: str
    priority: tuple[str, ...]
    chair: str = ""


@dataclass(frozen=True)
class Dataset:
    """A record-level dataset that indicators may be computed from."""

    name: str
    format: str
    description: str = ""


@dataclass(frozen=True)
class Catalogue:
    """The whole validated catalogue."""

    name: str
    area: str
    priorities: tuple[Priority, ...]
    subgroups: tuple[Subgroup, ...]
    indicators: tuple[Indicator, ...]
    datasets: tuple[Dataset, ...] = ()
    rollup: str = "worst"
    first_period: Period | None = None
    last_period: Period | None = None
    marking: str = "OFFICIAL"
    complete_share: float = DEFAULT_COMPLETE_SHARE
    police_force: str = DEFAULT_POLICE_FORCE
    rating: str = "target"
    provisional_months: int = DEFAULT_PROVISIONAL_MONTHS
    similar_areas: tuple[str, ...] = ()  # the partnership's own most-similar group (docs/compare.md)
    public: bool = False  # statuses and figures readable without signing in (never e-mails or original files)
    _by_id: dict[str, Indicator] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({i.id: i for i in self.indicators})

    def indicator(self, indicator_id: str) -> Indicator:
        """The indicator with this id; KeyError if there is none."""
        return self._by_id[indicator_id]

    def has_indicator(self, indicator_id: str) -> bool:
        """Whether the catalogue declares this indicator."""
        return indicator_id in self._by_id

    def priority(self, priority_id: str) -> Priority:
        """The priority with this id."""
        return next(p for p in self.priorities if p.id == priority_id)

    def subgroup(self, subgroup_id: str) -> Subgroup:
        """The subgroup with this id."""
        return next(s for s in self.subgroups if s.id == subgroup_id)

    def dataset(self, name: str) -> Dataset:
        """The dataset with this name."""
        return next(d for d in self.datasets if d.name == name)

    def indicators_of(self, priority: str | None = None, owner: str | None = None) -> list[Indicator]:
        """The indicators of a priority and/or owned by a subgroup, in catalogue order."""
        return [
            i for i in self.indicators
            if (priority is None or i.priority == priority) and (owner is None or i.owner == owner)
        ]


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


_INDICATOR_KEYS = {
    "id", "priority", "owner", "title", "definition", "unit", "frequency", "direction", "rationale", "target",
    "small_numbers", "paired_with", "measure", "source", "per", "decimals", "spc", "compare",
}
_MOVED_KEYS = {"synthetic"}  # refused with a message saying where the key went
_INDICATOR_REQUIRED = {"id", "priority", "owner", "title", "unit", "frequency", "direction", "target"}
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


def parse_catalogue(data: Any, source: str = "indicators.yaml") -> Catalogue:
    """Validate a parsed catalogue mapping; raise ConfigError listing every problem."""
    probs = _Problems()
    top_keys = {"partnership", "priorities", "subgroups", "indicators", "datasets", "periods"}
    if not _keys(data, "catalogue", top_keys, {"partnership", "priorities", "subgroups", "indicators"}, probs):
        raise ConfigError(probs.items, source)

    part = data.get("partnership") or {}
    name, area, rollup, marking = "", "", "worst", "OFFICIAL"
    share, force, rating, public = DEFAULT_COMPLETE_SHARE, DEFAULT_POLICE_FORCE, "target", False
    provisional = DEFAULT_PROVISIONAL_MONTHS
    similar: tuple[str, ...] = ()
    if _keys(part, "partnership", {"name", "area", "rollup", "marking", "complete_share", "police_force", "rating",
                                   "provisional_months", "similar_areas", "public"}, {"name"}, probs):
        name = _text(part, "name", "partnership", probs)
        area = _text(part, "area", "partnership", probs) or name
        rollup = _choice(part, "rollup", "partnership", ROLLUP_RULES, probs, default="worst") or "worst"
        marking = _text(part, "marking", "partnership", probs, "OFFICIAL")
        share = _number(part, "complete_share", "partnership", probs, DEFAULT_COMPLETE_SHARE, minimum=0.0)
        if share is not None and share > 1:
            probs.add("partnership.complete_share", f"expected a share between 0 and 1, got {share:g}; "
                      "write 0.5 for half the indicators")
        share = DEFAULT_COMPLETE_SHARE if share is None else share
        force = _text(part, "police_force", "partnership", probs, DEFAULT_POLICE_FORCE) or DEFAULT_POLICE_FORCE
        rating = _choice(part, "rating", "partnership", RATINGS, probs, default="target") or "target"
        provisional = part.get("provisional_months", DEFAULT_PROVISIONAL_MONTHS)
        if isinstance(provisional, bool) or not isinstance(provisional, int) or not 0 <= provisional <= 24:
            probs.add("partnership.provisional_months", f"expected a whole number of months from 0 to 24, got "
                                                        f"{provisional!r}; 0 marks no month provisional")
            provisional = DEFAULT_PROVISIONAL_MONTHS
        similar = _similar(part, probs)
        public = part.get("public", False)
        if not isinstance(public, bool):
            hint = "; remove the quotes" if str(public).strip().lower() in ("true", "false") else ""
            probs.add("partnership.public", f"expected true or false, got {public!r}{hint}")
            public = False

    first = last = None
    if data.get("periods") is not None and _keys(data["periods"], "periods", {"first", "last"}, set(), probs):
        first = _period(data["periods"], "first", probs)
        last = _period(data["periods"], "last", probs)
        if first and last and last < first:
            probs.add("periods", f"last ({last}) is before first ({first}); swap them")

    priorities: list[Priority] = []
    for n, raw in enumerate(_ids(data.get("priorities"), "priorities", probs)):
        where = f"priorities[{raw.get('id', n) if isinstance(raw, dict) else n}]"
        if _keys(raw, where, {"id", "title", "description"}, {"id", "title"}, probs):
            priorities.append(Priority(str(raw.get("id", "")), _text(raw, "title", where, probs),
                                       _text(raw, "description", where, probs)))
    _unique([p.id for p in priorities], "priorities", probs)
    pids = {p.id for p in priorities}

    subgroups: list[Subgroup] = []
    for n, raw in enumerate(_ids(data.get("subgroups"), "subgroups", probs)):
        where = f"subgroups[{raw.get('id', n) if isinstance(raw, dict) else n}]"
        if not _keys(raw, where, {"id", "name", "priority", "chair"}, {"id", "name", "priority"}, probs):
            continue
        pr = raw.get("priority")
        prs = tuple(str(p) for p in (pr if isinstance(pr, list) else [pr] if pr is not None else []))
        for p in prs:
            if p not in pids:
                probs.add(f"{where}.priority", f"no priority {p!r}; expected one of {'|'.join(sorted(pids))}")
        subgroups.append(Subgroup(str(raw.get("id", "")), _text(raw, "name", where, probs), prs,
                                  _text(raw, "chair", where, probs)))
    _unique([s.id for s in subgroups], "subgroups", probs)
    sids = {s.id for s in subgroups}

    datasets: list[Dataset] = []
    raw_ds = data.get("datasets") or {}
    if not isinstance(raw_ds, dict):
        probs.add("datasets", f"expected a mapping of name: {{format: ...}}, got {_show(raw_ds)}")
        raw_ds = {}
    for dname, raw in raw_ds.items():
        where = f"datasets[{dname}]"
        if not _DATASET_NAME.match(str(dname)):
            probs.add(where, "a dataset name is lower-case letters, digits and _ starting with a letter")
        if _keys(raw, where, {"format", "description"}, {"format"}, probs):
            fmt = _choice(raw, "format", where, DATASET_FORMATS, probs)
            if fmt:
                datasets.append(Dataset(str(dname), fmt, _text(raw, "description", where, probs)))
    dnames = {str(d) for d in raw_ds}

    indicators: list[Indicator] = []
    raw_inds = _ids(data.get("indicators"), "indicators", probs)
    all_ids = {str(r.get("id")) for r in raw_inds if isinstance(r, dict) and r.get("id") is not None}
    for n, raw in enumerate(raw_inds):
        ind = _indicator(raw, n, pids, sids, dnames, all_ids, {s.id: s for s in subgroups}, probs)
        if ind is not None:
            indicators.append(ind)
    # From the raw ids, so a duplicate is reported even when one of the pair has other problems.
    _unique([str(r["id"]) for r in raw_inds if isinstance(r, dict) and r.get("id") is not None], "indicators", probs)
    indicators = _resolve_compare(indicators, datasets, probs)

    if probs.items:
        raise ConfigError(probs.items, source)
    return Catalogue(name, area, tuple(priorities), tuple(subgroups), tuple(indicators), tuple(datasets),
                     rollup, first, last, marking, share, force, rating, provisional, similar, public)


def _indicator(raw: Any, n: int, pids: set[str], sids: set[str], dnames: set[str], all_ids: set[str],
               subgroups: dict[str, Subgroup], probs: _Problems) -> Indicator | None:
    iid = raw.get("id") if isinstance(raw, dict) else None
    where = f"indicators[{iid if iid is not None else n}]"
    if not _keys({k: v for k, v in raw.items() if k not in _MOVED_KEYS} if isinstance(raw, dict) else raw, where,
                 _INDICATOR_KEYS, _INDICATOR_REQUIRED, probs):
        return None
    iid = str(iid if iid is not None else "")
    if iid and not _ID.match(iid):
        probs.add(f"{where}.id", f"expected a short id of letters, digits, '_', '.' or '-' starting with a letter, got {iid!r}")
    priority = str(raw.get("priority", ""))
    if priority and priority not in pids:
        probs.add(f"{where}.priority", f"expected {'|'.join(sorted(pids)) or 'a declared priority'}, got {priority!r}")
    owner = str(raw.get("owner", ""))
    if owner and owner not in sids:
        probs.add(f"{where}.owner", f"no subgroup {owner!r}; expected one of {'|'.join(sorted(sids))}")
    elif priority in pids and owner and subgroups[owner].priority and priority not in subgroups[owner].priority:
        probs.add(f"{where}.owner", f"subgroup {owner!r} serves priority {'|'.join(subgroups[owner].priority)}, "
                                    f"not {priority!r}; add {priority} to its priority list or change the owner")
    unit = _choice(raw, "unit", where, UNITS, probs)
    frequency = _choice(raw, "frequency", where, FREQUENCIES, probs)
    direction = _choice(raw, "direction", where, DIRECTIONS, probs)
    target = (_target(raw.get("target"), f"{where}.target", direction, probs, frequency) if "target" in raw
              else Target())
    if target.type == "cumulative" and unit not in (None, "count"):
        probs.add(f"{where}.target.type", f"a cumulative target adds counts up over the year; unit is {unit}")
    paired = raw.get("paired_with")
    if paired is not None:
        paired = str(paired)
        if paired not in all_ids:
            probs.add(f"{where}.paired_with", f"no indicator {paired!r}; name another indicator's id")
        elif paired == iid:
            probs.add(f"{where}.paired_with", "an indicator cannot be paired with itself")
    small = _number(raw, "small_numbers", where, probs, default=DEFAULT_SMALL_NUMBERS, minimum=0.0)
    per = _number(raw, "per", where, probs, default=1000.0, minimum=1.0)
    if "per" in raw and unit != "rate":
        probs.add(f"{where}.per", f"only used by unit: rate, not {unit}; remove it")
    decimals = raw.get("decimals", 1 if unit in ("percent", "rate", "ratio") else 0)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 4:
        probs.add(f"{where}.decimals", f"expected a whole number 0-4, got {decimals!r}")
        decimals = 0
    if "synthetic" in raw:
        probs.add(f"{where}.synthetic", "no longer a catalogue key: whether figures are synthetic is recorded on "
                                        "the upload (import --synthetic; docs/data.md); remove it")
    measure = _measure(raw.get("measure"), f"{where}.measure", dnames, probs)
    spc_settings = _spc(raw.get("spc"), f"{where}.spc", frequency, probs)
    compare = _compare(raw.get("compare"), f"{where}.compare", unit, probs)
    if None in (unit, frequency, direction) or not iid:
        return None
    return Indicator(
        id=iid, priority=priority, owner=owner, title=_text(raw, "title", where, probs), unit=unit,
        frequency=frequency, direction=direction, target=target,
        definition=_text(raw, "definition", where, probs), rationale=_text(raw, "rationale", where, probs),
        small_numbers=small if small is not None else DEFAULT_SMALL_NUMBERS, paired_with=paired, measure=measure,
        source=_text(raw, "source", where, probs), per=per or 1000.0, decimals=decimals,
        spc=spc_settings, compare=compare,
    )


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


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file; raise ConfigError naming the file and every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"file not found; pass --config PATH or set CSPDASH_CONFIG (looked at {p})"], str(p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError([f"cannot read the file: {e}"], str(p)) from None
    return loads_catalogue(text, str(p))


def loads_catalogue(text: str, source: str = "indicators.yaml") -> Catalogue:
    """Parse catalogue YAML text and validate it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError([f"{at}not valid YAML ({getattr(e, 'problem', None) or e}); check indentation and quoting"],
                          source) from None
    cat = parse_catalogue(data, source)
    problems = check_measures(cat)
    if problems:
        raise ConfigError(problems, source)
    return cat
