"""A status's words: values in the indicator's unit, targets, intervals and levels, changes (``Down 12% on ...``) and
provisional figures, as ``cspdash.status`` writes them into a status's reason.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from cspdash.config import Indicator

if TYPE_CHECKING:
    from cspdash.judgement import Interval
    from cspdash.observations import Figure

PROVISIONAL_PREFIX = "Provisional: "  # starts the note of a figure that includes a provisional month


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


def range_text(ind: Indicator, iv: Interval, target: float | None = None) -> str:
    """``24%-50%``, ``604-705``, ``4.1-5.2 per 1,000``: an interval in the indicator's unit.

    Shown to the indicator's decimals, with up to three more where rounding would put an end on the ``target``
    (0.24-7.2 against a target of 0 reads ``0.2-7.2``, not ``0-7``, which would seem to contain it).
    """
    d = ind.decimals
    while target is not None and d < ind.decimals + 3 and round(target, d) in (round(iv.lower, d), round(iv.upper, d)) \
            and target not in (iv.lower, iv.upper):
        d += 1
    pct = "%" if ind.unit == "percent" else ""
    per = f" per {ind.per:,.0f}" if ind.unit == "rate" else ""
    return f"{iv.lower:,.{d}f}{pct}-{iv.upper:,.{d}f}{pct}{per}"


def level_text(ind: Indicator, level: float, value: float | None = None) -> str:
    """A target level in the unit, to the indicator's decimals, or up to two more where rounding would make it look
    equal to the ``value`` (a 5% fall on 50 against a figure of 48 reads ``at most 47.5``, not ``48``)."""
    d = ind.decimals
    while value is not None and level != value and d < ind.decimals + 2 and round(level, d) == round(value, d):
        d += 1
    if ind.unit == "count":
        return f"{round(level, d):,.{d}f}"
    return fmt(dataclasses.replace(ind, decimals=d), round(level, d))


def _level_words(ind: Indicator, level: float, value: float | None = None) -> str:
    """``at most 566``: the level that would just meet a change target (see ``level_text``)."""
    word = {"increase": "at least", "decrease": "at most"}.get(ind.direction, "about")
    return f"{word} {level_text(ind, level, value)}"


def provisional_note(fig: Figure) -> str:
    """``Provisional: includes Nov 2025 ...``: the words for a figure that includes provisional months."""
    months = ", ".join(p.display for p in fig.provisional)
    return (f"{PROVISIONAL_PREFIX}includes {months}, loaded as recent police data; the police often revise recent months, "
            "so this figure may change.")


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
