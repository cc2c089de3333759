"""UK financial-year periods: months, quarters (Q1 = April-June) and years, their labels and parsing.

Canonical labels: month ``2017-04``, quarter ``2017/18 Q1``, financial year ``2017/18``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from cspdash.errors import PeriodError

Grain = Literal["month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("month", "quarter", "year")

_MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}

ACCEPTED = (
    "quarters: 2017/18 Q1, 2017-18 Q1, FY2017/18 Q1, Q1 2017/18; financial years: 2017/18, FY2017/18; "
    "months: 2017-04, 201704, Apr 2017, April 2017, 04/2017; dates: 30/06/2017 (dd/mm/yyyy) or 2017-06-30"
)


@dataclass(frozen=True, order=True)
class Period:
    """A month, financial-year quarter or financial year, identified by its first month and its grain."""

    fy: int  # calendar year in which the financial year starts: 2017 for 2017/18
    first: int  # index of its first month within the financial year: 0 = April ... 11 = March
    grain: str  # "month" | "quarter" | "year"

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise PeriodError(f"unknown grain {self.grain!r}: expected one of {', '.join(GRAINS)}")
        if not 0 <= self.first < 12 or self.first % _MONTHS_PER[self.grain]:
            raise PeriodError(f"month index {self.first} does not start a {self.grain}")

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The calendar month ``year``-``month``."""
        if not 1 <= month <= 12:
            raise PeriodError(f"month {month} is not 1-12")
        fy = year if month >= 4 else year - 1
        return cls(fy, (month - 4) % 12, "month")

    @classmethod
    def quarter(cls, fy: int, q: int) -> Period:
        """Quarter ``q`` (1-4) of the financial year starting in April ``fy``."""
        if not 1 <= q <= 4:
            raise PeriodError(f"quarter Q{q} does not exist: a financial year has Q1 (Apr-Jun) to Q4 (Jan-Mar)")
        return cls(fy, (q - 1) * 3, "quarter")

    @classmethod
    def year(cls, fy: int) -> Period:
        """The financial year starting in April ``fy``."""
        return cls(fy, 0, "year")

    @classmethod
    def containing(cls, day: date, grain: str = "quarter") -> Period:
        """The period of ``grain`` that contains ``day``."""
        m = cls.month(day.year, day.month)
        return m.at(grain)

    # --- properties ---------------------------------------------------------------------------
    @property
    def n_months(self) -> int:
        """How many calendar months the period spans."""
        return _MONTHS_PER[self.grain]

    @property
    def q(self) -> int:
        """The financial quarter number (1-4) the period starts in."""
        return self.first // 3 + 1

    @property
    def start(self) -> date:
        """The first day of the period."""
        y, m = _calendar(self.fy, self.first)
        return date(y, m, 1)

    @property
    def end(self) -> date:
        """The last day of the period."""
        nxt = self.shift(1).start
        return date.fromordinal(nxt.toordinal() - 1)

    @property
    def fy_label(self) -> str:
        """The financial year, e.g. ``2017/18``."""
        return f"{self.fy}/{(self.fy + 1) % 100:02d}"

    @property
    def label(self) -> str:
        """The canonical label: ``2017-04``, ``2017/18 Q1`` or ``2017/18``."""
        if self.grain == "year":
            return self.fy_label
        if self.grain == "quarter":
            return f"{self.fy_label} Q{self.q}"
        y, m = _calendar(self.fy, self.first)
        return f"{y}-{m:02d}"

    @property
    def display(self) -> str:
        """A label for people: ``Apr 2017``, ``2017/18 Q1`` or ``2017/18``."""
        if self.grain == "month":
            y, m = _calendar(self.fy, self.first)
            return f"{_MONTH_NAMES[m - 1].title()} {y}"
        return self.label

    def __str__(self) -> str:
        return self.label

    # --- arithmetic ---------------------------------------------------------------------------
    @property
    def ordinal(self) -> int:
        """A running index of the period within its grain (consecutive periods differ by 1)."""
        return (self.fy * 12 + self.first) // self.n_months

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (earlier when negative) of the same grain."""
        total = self.fy * 12 + self.first + n * self.n_months
        return Period(total // 12, total % 12, self.grain)

    def previous(self) -> Period:
        """The period just before this one."""
        return self.shift(-1)

    def same_last_year(self) -> Period:
        """The same month or quarter a year earlier (the previous year for a year)."""
        return Period(self.fy - 1, self.first, self.grain)

    def at(self, grain: str) -> Period:
        """The period of ``grain`` that contains this period's first month."""
        if grain not in GRAINS:
            raise PeriodError(f"unknown grain {grain!r}: expected one of {', '.join(GRAINS)}")
        size = _MONTHS_PER[grain]
        return Period(self.fy, self.first - self.first % size, grain)

    def months(self) -> list[Period]:
        """The months the period spans, in order."""
        return [Period(self.fy, self.first + i, "month") for i in range(self.n_months)]

    def quarters(self) -> list[Period]:
        """The quarters the period spans (a month lies in one)."""
        if self.grain == "month":
            return [self.at("quarter")]
        return [Period(self.fy, self.first + 3 * i, "quarter") for i in range(self.n_months // 3)]

    def contains(self, other: Period) -> bool:
        """Whether ``other`` lies wholly inside this period."""
        return self.start <= other.start and other.end <= self.end

    def year_to_date(self) -> list[Period]:
        """The periods of this grain from the start of its financial year up to and including it."""
        step = self.n_months
        return [Period(self.fy, f, self.grain) for f in range(0, self.first + 1, step)]


def _calendar(fy: int, first: int) -> tuple[int, int]:
    """Calendar (year, month) of month index ``first`` in financial year ``fy``."""
    m = (first + 3) % 12 + 1
    return (fy if m >= 4 else fy + 1), m


def _fy(start: str, end: str | None, text: str) -> int:
    """The financial year starting in ``start``, checking the second year if given."""
    y = int(start)
    if end is not None:
        want = (y + 1) % (100 if len(end) == 2 else 10_000)
        if int(end) != want:
            raise PeriodError(
                f"{text!r}: a financial year runs April to March, so {start} must be followed by "
                f"{want:0{len(end)}d}, not {end}"
            )
    return y


_FY = r"(?:FY\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Q(\d), not Q([1-4]): Q0 or Q5 then reaches Period.quarter, which says why it does not exist.
    (re.compile(rf"^{_FY}\s*[,:-]?\s*Q(\d)$", re.I), "fyq"),
    (re.compile(rf"^Q(\d)\s*[,:-]?\s*{_FY}$", re.I), "qfy"),
    (re.compile(rf"^{_FY}$", re.I), "fy"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "ym"),
    (re.compile(r"^(\d{4})(\d{2})$"), "yyyymm"),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), "my"),
    (re.compile(r"^([A-Za-z]{3,9})\.?[\s-]+(\d{4})$"), "monname"),
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s+00:00(?::00)?)?$"), "dmy"),
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$"), "ymd"),
]


def parse_period(value: object, grain: str | None = None) -> Period:
    """Read a period from a label, a ``date`` or ``datetime``; a date becomes the ``grain`` (default quarter) containing it.

    ``grain`` also resolves the one ambiguity, ``2011-12`` (December 2011 or financial year 2011/12).
    """
    if grain is not None and grain not in GRAINS:
        raise PeriodError(f"unknown grain {grain!r}: expected one of {', '.join(GRAINS)}")
    if isinstance(value, Period):
        return value if grain is None else value.at(grain)
    if isinstance(value, datetime):
        return Period.containing(value.date(), grain or "quarter")
    if isinstance(value, date):
        return Period.containing(value, grain or "quarter")
    if not isinstance(value, str):
        raise PeriodError(f"{value!r} is not a period; accepted: {ACCEPTED}")
    text = " ".join(value.strip().split())
    if not text:
        raise PeriodError(f"the period is empty; accepted: {ACCEPTED}")
    for pattern, kind in _PATTERNS:
        m = pattern.match(text)
        if m:
            return _build(kind, m.groups(), text, grain)
    raise PeriodError(f"{value!r} is not a period this tool can read; accepted: {ACCEPTED}")


def _build(kind: str, g: tuple[str, ...], text: str, grain: str | None) -> Period:
    if kind == "fyq":
        return _coarsen(Period.quarter(_fy(g[0], g[1], text), int(g[2])), grain, text)
    if kind == "qfy":
        return _coarsen(Period.quarter(_fy(g[1], g[2], text), int(g[0])), grain, text)
    if kind == "fy":
        is_month = len(g[1]) == 2 and 1 <= int(g[1]) <= 12 and "/" not in text and not text.upper().startswith("FY")
        if is_month and int(g[1]) == (int(g[0]) + 1) % 100 and grain is None:
            raise PeriodError(
                f"{text!r} is ambiguous: write {g[0]}/{g[1]} for the financial year or "
                f"{_MONTH_NAMES[int(g[1]) - 1].title()} {g[0]} for the month"
            )
        if is_month and (grain == "month" or int(g[1]) != (int(g[0]) + 1) % 100):
            return _coarsen(Period.month(int(g[0]), int(g[1])), grain, text)
        return _coarsen(Period.year(_fy(g[0], g[1], text)), grain, text)
    if kind in ("ym", "yyyymm"):
        return _coarsen(Period.month(int(g[0]), int(g[1])), grain, text)
    if kind == "my":
        return _coarsen(Period.month(int(g[1]), int(g[0])), grain, text)
    if kind == "monname":
        name = g[0].lower()
        idx = next((i for i, mn in enumerate(_MONTH_NAMES) if name.startswith(mn) and _full_or_short(name, i)), None)
        if idx is None:
            raise PeriodError(f"{text!r}: {g[0]!r} is not a month name; accepted: {ACCEPTED}")
        return _coarsen(Period.month(int(g[1]), idx + 1), grain, text)
    if kind == "dmy":
        return Period.containing(_date(int(g[2]), int(g[1]), int(g[0]), text), grain or "quarter")
    # ymd
    return Period.containing(_date(int(g[0]), int(g[1]), int(g[2]), text), grain or "quarter")


_FULL = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
         "november", "december"]


def _full_or_short(name: str, idx: int) -> bool:
    return name in (_MONTH_NAMES[idx], _FULL[idx]) or (idx == 8 and name == "sept")


def _date(y: int, m: int, d: int, text: str) -> date:
    try:
        return date(y, m, d)
    except ValueError:
        raise PeriodError(f"{text!r} is not a real date (dates are read as dd/mm/yyyy or yyyy-mm-dd)") from None


def _coarsen(p: Period, grain: str | None, text: str) -> Period:
    """Return ``p`` at ``grain``; a finer grain than ``p`` cannot be made up."""
    if grain is None or grain == p.grain:
        return p
    if _MONTHS_PER[grain] < p.n_months:
        raise PeriodError(f"{text!r} is a {p.grain}, but a {grain} is needed here")
    return p.at(grain)


def quarter_range(first: Period, last: Period) -> list[Period]:
    """Every quarter from ``first`` to ``last`` inclusive."""
    a, b = first.at("quarter"), last.at("quarter")
    return [a.shift(i) for i in range(b.ordinal - a.ordinal + 1)]
