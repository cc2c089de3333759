"""The status vocabulary (cspdash.vocab) and the wording helpers (cspdash.wording): one table each, read by the
screen, the PDF pack and the scorecard alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cspdash import pdf_writer, scorecard, status, views, vocab, wording
from cspdash.config import Indicator, Target
from cspdash.status import Status


@pytest.mark.parametrize("rag", vocab.RAGS)
def test_every_status_has_a_word_an_icon_a_shape_and_colours(rag):
    look = vocab.RAG_LOOK[rag]
    assert look.word and look.word == look.word.upper()
    assert look.icon and look.shape
    assert look.colour.startswith("#") and len(look.colour) == 7
    assert look.text in ("#ffffff", "#000000")


@pytest.mark.parametrize("rag", vocab.RAGS)
def test_text_on_each_status_colour_has_a_contrast_of_at_least_4_5(rag):
    assert vocab.contrast_ratio(vocab.RAG_TEXT[rag], vocab.RAG_COLOUR[rag]) >= 4.5


@pytest.mark.parametrize("table", ["RAG_WORDS", "RAG_ICON", "RAG_SHAPE", "RAG_COLOUR"])
def test_no_two_statuses_share_a_word_icon_shape_or_colour(table):
    values = getattr(vocab, table)
    assert set(values) == set(vocab.RAGS) and len(set(values.values())) == len(vocab.RAGS)


@pytest.mark.parametrize(("module", "name"), [
    (status, "RAG_WORDS"), (status, "RAGS"), (status, "AMBER_WORDS"), (status, "AMBER_REASONS"),
    (views, "RAG_COLOUR"), (views, "RAG_TEXT"), (views, "RAG_ICON"), (views, "RAG_WORDS"), (views, "AMBER_WORDS"),
    (views, "VARIATION_WORDS"), (views, "ASSURANCE_WORDS"), (views, "POINT_STYLE"), (views, "PLAIN_VARIATION"),
    (views, "PLAIN_ASSURANCE"), (views, "SUBMISSION_WORDS"), (views, "EXCEPTION_WORDS"),
])
def test_the_old_names_are_the_vocabulary_itself(module, name):
    assert getattr(module, name) is getattr(vocab, name)


@pytest.mark.parametrize(("codes", "words"), [
    ("AMBER_REASONS", "AMBER_WORDS"), (tuple(vocab.VARIATION_WORDS), "PLAIN_VARIATION"),
    (tuple(vocab.ASSURANCE_WORDS), "PLAIN_ASSURANCE"), (tuple(vocab.VARIATION_WORDS), "POINT_STYLE"),
    ("RAGS", "RAG_MEANING"),
])
def test_every_code_has_its_words(codes, words):
    keys = getattr(vocab, codes) if isinstance(codes, str) else codes
    assert set(getattr(vocab, words)) == set(keys)


@pytest.mark.parametrize(("fg", "bg", "ratio"), [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0),
                                                 ("#777777", "#ffffff", 4.48)])
def test_contrast_ratio(fg, bg, ratio):
    assert vocab.contrast_ratio(fg, bg) == pytest.approx(ratio, abs=0.01)
    assert vocab.contrast_ratio(bg, fg) == pytest.approx(ratio, abs=0.01)


def test_rgb():
    assert vocab.rgb("#1b7837") == (27, 120, 55)


# --- wording --------------------------------------------------------------------------------------------------------

def _ind(unit: str) -> Indicator:
    return Indicator(id="X1", priority="A", owner="o", title="t", unit=unit, frequency="quarterly",
                     direction="decrease", target=Target(type="none"))


BASE = Status(indicator="X1", priority="A", period="2025/26 Q3", rag="red", reason="r", value=110.0, comparator=100.0,
              target=None, complete=True, variation=None, assurance=None,
              comparator_period="2024/25 Q3", change_pct=10.0, trend="up", improving=False)


@pytest.mark.parametrize(("kw", "unit", "screen", "printed"), [
    ({}, "count", "↑ 10% on 2024/25 Q3 (worse)", "Up 10% on 2024/25 Q3 (worse)"),
    ({"value": 95.5, "change_pct": -4.5, "trend": "down", "improving": True}, "count",
     "↓ 4.5% on 2024/25 Q3 (better)", "Down 4.5% on 2024/25 Q3 (better)"),
    ({"value": 100.0, "change_pct": 0.0, "trend": "level", "improving": None}, "count",
     "→ level on 2024/25 Q3", "Level on 2024/25 Q3"),
    ({"improving": None}, "count", "↑ 10% on 2024/25 Q3", "Up 10% on 2024/25 Q3"),
    ({"value": 82.6, "comparator": 87.5, "change_pct": -5.6, "trend": "down"}, "percent",
     "↓ 4.9 pts on 2024/25 Q3 (worse)", "Down 4.9 pts on 2024/25 Q3 (worse)"),
    ({"comparator_period": None}, "count", "↑ 10% (worse)", "Up 10% (worse)"),
    ({"trend": None, "comparator": None}, "count", wording.NONE, wording.NONE),
])
def test_change_text_says_the_same_on_screen_and_in_print(kw, unit, screen, printed):
    s = replace(BASE, **kw)
    assert wording.change_text(_ind(unit), s) == screen
    assert wording.change_text(_ind(unit), s, arrows=False) == printed
    assert views.change_text is wording.change_text


@pytest.mark.parametrize(("code", "variation", "assurance"), [
    (None, vocab.NOT_JUDGED, vocab.NOT_ASSESSED),
    ("common_cause", "Common cause: no significant change", vocab.NOT_ASSESSED),
    ("special_cause_concern", "Special cause: concern", vocab.NOT_ASSESSED),
])
def test_variation_and_assurance_words(code, variation, assurance):
    assert wording.variation_words(code) == variation
    assert wording.assurance_words(None) == assurance
    assert wording.assurance_words("consistent_fail") == "Will consistently miss the target"


@pytest.mark.parametrize(("ts", "shown", "none"), [
    ("2026-11-25 10:41:02", "25 Nov 2026 10:41 UTC", "–"), (None, "–", "–"), ("", "", ""),
    ("not a time", "not a time", "–"),
])
def test_when(ts, shown, none):
    assert wording.when(ts, none=none) == shown


@pytest.mark.parametrize(("d", "text"), [(date(2026, 1, 15), "Thursday 15 January 2026"),
                                         (date(2025, 3, 1), "Saturday 1 March 2025")])
def test_long_date(d, text):
    assert wording.long_date(d) == text


@pytest.mark.parametrize(("label", "span"), [("2025/26 Q3", "1 October 2025 to 31 December 2025"),
                                             ("2025/26 Q4", "1 January 2026 to 31 March 2026")])
def test_quarter_span(label, span):
    assert wording.quarter_span(label) == span


@pytest.mark.parametrize(("unit", "title"), [("count", "Count"), ("percent", "Percent (%)"), ("rate", "Rate"),
                                             ("score", "Score")])
def test_unit_title(unit, title):
    assert wording.unit_title(unit) == title


@pytest.mark.parametrize(("text", "formula"), [
    ("=1+2", True), ("+44 20", True), ("-3", True), ("@SUM(A1)", True), ("\tx", True), ("\rx", True),
    ("a = b", False), ("", False), ("3-4", False),
])
def test_formula_like(text, formula):
    assert wording.formula_like(text) is formula


@pytest.mark.parametrize(("text", "kept"), [("=HYPERLINK(\"x\")", "=HYPERLINK(\"x\")"), ("plain", "plain")])
def test_the_scorecard_keeps_formula_like_text_as_text(text, kept):
    from openpyxl import Workbook

    ws = Workbook().active
    cell = scorecard._put(ws, 1, 1, text)
    assert cell.value == kept and cell.data_type == "s"
    assert bool(cell.quotePrefix) is wording.formula_like(text)


@pytest.mark.parametrize(("text", "printed"), [("↑ 10% → 4,556", "up 10% -> 4,556"), ("a\u00a0b – c", "a b - c"),
                                               ("emoji ✅", "emoji ?")])
def test_latin1(text, printed):
    assert pdf_writer.latin1(text) == printed
