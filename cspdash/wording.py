"""Wording helpers, in one place: a change in words, dates and times, units, and text a spreadsheet must keep as
text. The screen (``views``), the PDF pack and the XLSX scorecard all use these, so they say the same thing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from cspdash.periods import parse_period
from cspdash.vocab import ARROWS, ASSURANCE_WORDS, IMPROVING_WORDS, NOT_ASSESSED, NOT_JUDGED, TREND_WORDS, VARIATION_WORDS

if TYPE_CHECKING:
    from cspdash.config import Indicator
    from cspdash.status import Status

NONE = "–"  # shown for a missing value (a lone "-" would render as a list bullet in Markdown tables)
PROVISIONAL_MARK = " (provisional)"  # after a figure that includes a provisional month (see the status notes)
#: Text starting with one of these is read as a formula by a spreadsheet (``=``, ``+``, ``-``, ``@``, tab, return).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
UNIT_TITLES = {"count": "Count", "percent": "Percent (%)", "rate": "Rate"}


def change_text(ind: Indicator, s: Status, arrows: bool = True) -> str:
    """The movement against the comparator: ``↑ 12% on 2024/25 Q3 (worse)``, ``↓ 4.9 pts on ...``, ``→ level on ...``;
    ``NONE`` without a comparator. ``arrows=False`` says the direction in a word instead, for print (the PDF's core
    fonts have no arrows): ``Up 12% on 2024/25 Q3 (worse)``, ``Level on ...``."""
    if s.trend is None or s.value is None or s.comparator is None:
        return NONE
    if s.trend == "level":
        size = "level" if arrows else ""
    elif ind.unit == "percent":
        size = f"{abs(s.value - s.comparator):.1f} pts"
    elif s.change_pct is None:
        size = ""
    else:
        a = abs(s.change_pct)
        size = f"{a:.0f}%" if a >= 10 or a == int(a) else f"{a:.1f}%"
    judged = f" ({IMPROVING_WORDS[s.improving]})" if s.improving is not None and s.trend != "level" else ""
    on = f" on {s.comparator_period}" if s.comparator_period else ""
    lead = ARROWS[s.trend] if arrows else TREND_WORDS[s.trend]
    return " ".join(x for x in (lead, size) if x) + on + judged


def variation_words(variation: str | None) -> str:
    """The SPC variation of the latest point in words."""
    return VARIATION_WORDS.get(variation or "", NOT_JUDGED)


def assurance_words(assurance: str | None) -> str:
    """Whether the process will meet its target, in words."""
    return ASSURANCE_WORDS.get(assurance or "", NOT_ASSESSED)


def unit_title(unit: str) -> str:
    """The axis title of a unit."""
    return UNIT_TITLES.get(unit, unit.title())


def when(ts: str | None, none: str = NONE) -> str:
    """``25 Nov 2026 10:41 UTC`` from a stored ISO timestamp (stored times are UTC); ``none`` without one."""
    if not ts:
        return none
    try:
        return datetime.fromisoformat(ts).strftime("%d %b %Y %H:%M UTC")
    except ValueError:
        return ts


def long_date(d: date) -> str:
    """``Thursday 15 January 2026``."""
    return f"{d:%A} {d.day} {d:%B %Y}"


def quarter_span(period_label: str) -> str:
    """``1 October 2025 to 31 December 2025`` for ``2025/26 Q3``."""
    p = parse_period(period_label, grain="quarter")
    return f"{p.start.day} {p.start:%B %Y} to {p.end.day} {p.end:%B %Y}"


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (so it must be stored and shown as text)."""
    return text.startswith(FORMULA_START)
