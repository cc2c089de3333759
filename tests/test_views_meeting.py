"""Tests for the overview-at-a-glance and meeting-mode functions of cspdash.views (exceptions, tiles, slides)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from e2e_helpers import demo_copy

from cspdash import views
from cspdash.config import load_catalogue
from cspdash.status import RAG_WORDS, RAGS
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = Store(demo_copy(tmp_path_factory, "views-meeting"), load_catalogue(ROOT / "indicators.yaml"))
    yield s
    s.close()


@pytest.fixture(scope="module")
def ov(store):
    return views.overview(store, store.latest_complete_quarter())


# --- exceptions ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("rag", "variation", "assurance", "kinds"), [
    ("green", "common_cause", "consistent_pass", []),
    ("amber", "special_cause_improvement", "inconsistent", []),
    ("amber", "special_cause_neutral_high", None, []),
    ("monitor", None, None, []),
    ("red", "common_cause", None, ["red"]),
    ("amber", "special_cause_concern", None, ["concern"]),
    ("green", "common_cause", "consistent_fail", ["concern"]),
    ("red", "special_cause_concern", "consistent_fail", ["red", "concern"]),
    ("no_data", None, None, ["missing"]),
])
def test_exception_kinds(rag, variation, assurance, kinds):
    assert views.exception_kinds(rag, variation, assurance) == kinds


def frame(*rows: tuple) -> pd.DataFrame:
    """A status frame with the columns exception_frame reads: (indicator, rag, variation, assurance)."""
    return pd.DataFrame([{"indicator": i, "Indicator": f"{i} Title", "Value": "1", "Status": views.rag_label(rag),
                          "rag": rag, "variation": v, "assurance": a, "reason": f"Reason of {i}.",
                          "owner_name": "Owner"} for i, rag, v, a in rows])


def test_exception_frame_lists_reds_concerns_and_missing_in_words():
    ex = views.exception_frame(frame(("A1", "red", "common_cause", None), ("A2", "green", "common_cause", None),
                                     ("B1", "amber", "special_cause_concern", float("nan")),
                                     ("C1", "no_data", float("nan"), float("nan")),
                                     ("D1", "red", "common_cause", "consistent_fail")))
    assert list(ex["Indicator"]) == ["A1 Title", "B1 Title", "C1 Title", "D1 Title"]
    assert list(ex["To discuss"]) == ["Red status", "Statistical concern", "Missing return",
                                      "Red status · Statistical concern"]
    b1 = ex.iloc[1]["Why"]
    assert b1.startswith("Unusual change for the worse; will we meet the target? Not assessed.") and "Reason of B1" in b1
    assert "special_cause" not in " ".join(ex["Why"])  # no SPC codes on the screen
    assert views.exception_summary(ex) == "2 red · 2 statistical concerns · 1 missing return"


def test_exception_summary_when_nothing_is_wrong():
    ex = views.exception_frame(frame(("A1", "green", "common_cause", None)))
    assert ex.empty and list(ex.columns) == ["Indicator", "Value", "Status", "To discuss", "Why", "Owner", "rag"]
    assert views.exception_summary(ex).startswith("Nothing to discuss")


def test_exception_frame_of_the_demo_names_every_red_and_missing(ov):
    ex = views.exception_frame(ov.table)
    ids = {i.split()[0] for i in ex["Indicator"]}
    table = ov.table
    assert set(table.loc[table["rag"].isin(["red", "no_data"]), "indicator"]) <= ids
    concern = table[(table["variation"] == "special_cause_concern") | (table["assurance"] == "consistent_fail")]
    assert set(concern["indicator"]) <= ids
    assert len(ex) == len(ids)  # one row per indicator


# --- plain words for SPC ------------------------------------------------------------------------------

def test_plain_table_renames_the_spc_columns_and_drops_the_jargon(ov):
    t = views.plain_table(ov.table)
    assert "Will we meet the target?" in t.columns
    words = set(t["Variation"]) | set(t["Will we meet the target?"])
    assert words <= (set(views.PLAIN_VARIATION.values()) | set(views.PLAIN_ASSURANCE.values())
                     | {"Not judged", "Not assessed"})
    assert not any("cause" in w for w in words)
    assert list(t["indicator"]) == list(ov.table["indicator"])


@pytest.mark.parametrize(("code", "variation", "assurance"), [
    (None, "Not judged", "Not assessed"),
    ("special_cause_concern", "Unusual change for the worse", "Not assessed"),
    ("consistent_fail", "Not judged", "No, not without a change"),
])
def test_plain_words(code, variation, assurance):
    assert views.plain_variation(code) == variation and views.plain_assurance(code) == assurance


def test_every_spc_outcome_has_plain_words():
    assert set(views.PLAIN_VARIATION) == set(views.VARIATION_WORDS)
    assert set(views.PLAIN_ASSURANCE) == set(views.ASSURANCE_WORDS)


# --- tiles --------------------------------------------------------------------------------------

def test_priority_tiles(ov):
    tiles = views.priority_tiles(ov.rollups)
    assert [t.priority for t in tiles] == ["A", "B", "C", "D"]
    for t, r in zip(tiles, ov.rollups, strict=True):
        assert (t.rag, t.word, t.icon) == (r["overall"], RAG_WORDS[r["overall"]], views.RAG_ICON[r["overall"]])
        assert t.reason == f"{r['headline']}." and "\n" not in t.reason
        assert (ROOT / t.page).is_file()


# --- slides -------------------------------------------------------------------------------------

def test_meeting_slides_give_each_priority_a_summary_then_its_indicators(store):
    slides = views.meeting_slides(store.cat)
    cat = store.cat
    assert len(slides) == len(cat.priorities) + len(cat.indicators)
    assert slides[0] == views.Slide("A", None, 1, len(cat.indicators_of(priority="A")) + 1)
    for p in cat.priorities:
        mine = [s for s in slides if s.priority == p.id]
        assert [s.indicator for s in mine] == [None, *(i.id for i in cat.indicators_of(priority=p.id))]
        assert [s.number for s in mine] == list(range(1, len(mine) + 1)) and {s.of for s in mine} == {len(mine)}


@pytest.mark.parametrize(("slide", "text"), [
    (views.Slide("B", "B2", 3, 7), "Priority B · 3 of 7"),
    (views.Slide("A", None, 1, 5), "Priority A · 1 of 5"),
])
def test_progress_text(slide, text):
    assert views.progress_text(slide) == text


# --- contrast -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("fg", "bg", "ratio"), [
    ("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0), ("#777777", "#ffffff", 4.48),
    ("#000000", "#b2182b", 3.06),  # the black-on-red of the first meeting mode
])
def test_contrast_ratio(fg, bg, ratio):
    assert views.contrast_ratio(fg, bg) == pytest.approx(ratio, abs=0.01)
    assert views.contrast_ratio(bg, fg) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("rag", RAGS)
def test_every_status_colour_has_text_that_reads_on_it(rag):
    assert views.contrast_ratio(views.RAG_TEXT[rag], views.RAG_COLOUR[rag]) >= 4.5
