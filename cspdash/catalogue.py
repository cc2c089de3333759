"""The indicator catalogue's typed objects (``Catalogue``, ``Indicator``, ``Target``, ``Priority``, ...) and its closed
vocabularies (units, frequencies, directions, target types), as ``cspdash.config`` builds them from ``indicators.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cspdash.formats import FORMATS
from cspdash.periods import Period

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
