"""The status vocabulary, in one place: each RAG status, kind of amber, SPC variation and assurance with its word,
icon, colour and printed shape.

The screen (``views``, ``ui``), the pack (PDF and scorecard) and the status reasons all read these tables, so a
status looks and reads the same everywhere. Status is never shown by colour alone: the screen pairs each colour with
an icon and the word, print with a shape and the word. No imports from the rest of cspdash: everything may use it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Look:
    """How one RAG status is shown: its word, its icon on screen, its shape in print, its colour and the text colour
    that reads on that colour (contrast at least 4.5:1)."""

    word: str
    icon: str
    shape: str
    colour: str
    text: str


RAGS = ("green", "amber", "red", "no_data", "monitor")

#: Colour-blind-safe RAG palette (ColorBrewer PuOr/RdBu ends, checked for deuteranopia); never shown alone.
RAG_LOOK = {
    "green": Look("GREEN", "✅", "circle", "#1b7837", "#ffffff"),
    "amber": Look("AMBER", "⚠️", "triangle", "#f1a340", "#000000"),
    "red": Look("RED", "⛔", "square", "#b2182b", "#ffffff"),
    "no_data": Look("NO DATA", "❔", "ring", "#bdbdbd", "#000000"),
    "monitor": Look("MONITOR", "👁", "diamond", "#2166ac", "#ffffff"),
}
RAG_WORDS = {k: v.word for k, v in RAG_LOOK.items()}
RAG_ICON = {k: v.icon for k, v in RAG_LOOK.items()}
RAG_SHAPE = {k: v.shape for k, v in RAG_LOOK.items()}
RAG_COLOUR = {k: v.colour for k, v in RAG_LOOK.items()}
#: Text colour that reads on each RAG background.
RAG_TEXT = {k: v.text for k, v in RAG_LOOK.items()}
UNKNOWN_ICON = "❔"

#: What each status means, as the pack's key says it.
RAG_MEANING = {
    "green": "the target is met beyond chance (its 95% range is wholly on the good side)",
    "amber": "within tolerance (close to the target), could be chance (the 95% range includes the target) or too "
             "small to tell",
    "red": "off the target by more than its tolerance, beyond chance",
    "no_data": "the figure (or its comparator) is missing or incomplete",
    "monitor": "no target: shown for information",
}

AMBER_REASONS = ("within_tolerance", "could_be_chance", "too_small_to_tell")
AMBER_WORDS = {"within_tolerance": "within tolerance", "could_be_chance": "could be chance",
               "too_small_to_tell": "too small to tell"}

VARIATION_WORDS = {
    "common_cause": "Common cause: no significant change",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause: unusually high",
    "special_cause_neutral_low": "Special cause: unusually low",
}
NOT_JUDGED = "Not judged (no SPC for this period)"
ASSURANCE_WORDS = {
    "consistent_pass": "Will consistently meet the target",
    "consistent_fail": "Will consistently miss the target",
    "inconsistent": "May meet or miss the target",
}
NOT_ASSESSED = "Not assessed"

#: SPC's variation of the latest point, in the words an executive uses (the meeting screen).
PLAIN_VARIATION = {
    "common_cause": "No unusual change",
    "special_cause_improvement": "Unusual change for the better",
    "special_cause_concern": "Unusual change for the worse",
    "special_cause_neutral_high": "Unusually high",
    "special_cause_neutral_low": "Unusually low",
}
#: SPC assurance answered as the question "Will we meet the target?".
PLAIN_ASSURANCE = {
    "consistent_pass": "Yes, consistently",
    "consistent_fail": "No, not without a change",
    "inconsistent": "Could go either way",
}

#: Point types of the SPC chart, in legend order, with their colour (Okabe-Ito) and shape.
POINT_STYLE = {
    "common_cause": ("Common cause", "#7f7f7f", "circle"),
    "special_cause_improvement": ("Special cause: improvement", "#0072B2", "diamond"),
    "special_cause_concern": ("Special cause: concern", "#D55E00", "square"),
    "special_cause_neutral_high": ("Special cause: unusually high", "#CC79A7", "triangle-up"),
    "special_cause_neutral_low": ("Special cause: unusually low", "#CC79A7", "triangle-down"),
}

#: Lines of the SPC chart: (colour, dash pattern).
LINE_STYLE = {
    "Mean": ("#4d4d4d", [1, 0]),
    "Process limits": ("#8c8c8c", [6, 4]),
    "Target": ("#000000", [2, 3]),
}
OWN_COLOUR, OTHER_COLOUR = "#0072B2", "#c7c7c7"
#: Who an area is in the comparison charts: (colour, point shape); the own area is also labelled in words.
WHO_STYLE = {"This partnership": (OWN_COLOUR, "diamond"), "Most-similar group": ("#E69F00", "square"),
             "Other areas": ("#6f6f6f", "circle")}
#: The funnel's lines: (colour, dash pattern).
FUNNEL_LINES = {"London (benchmark)": ("#000000", [1, 0]), "95% limits": ("#4d4d4d", [6, 3]),
                "99.8% limits": ("#8c8c8c", [2, 2])}

#: Direction of travel: the arrow on screen and the word in print (the PDF's core fonts have no arrows).
ARROWS = {"up": "↑", "down": "↓", "level": "→"}
TREND_WORDS = {"up": "Up", "down": "Down", "level": "Level"}
IMPROVING_WORDS = {True: "better", False: "worse"}

SUBMISSION_WORDS = {"complete": "✅ COMPLETE", "incomplete": "⚠️ INCOMPLETE", "missing": "⛔ MISSING"}
#: Why an indicator is on the exception list, in the order the list gives them.
EXCEPTION_WORDS = {"red": "Red status", "concern": "Statistical concern", "missing": "Missing return"}


def rgb(colour: str) -> tuple[int, int, int]:
    """``(27, 120, 55)`` from ``#1b7837``."""
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def contrast_ratio(foreground: str, background: str) -> float:
    """The WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21; 4.5 is the minimum for normal text)."""
    def luminance(colour: str) -> float:
        channels = [c / 255 for c in rgb(colour)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
