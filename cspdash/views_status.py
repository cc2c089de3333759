"""The screen's status words and the overview: how a status is shown, the quarter picker, the status table
and roll-ups, CSV and XLSX downloads, and meeting mode (plain words, exceptions, priority tiles, slides).

Part of ``cspdash.views``, which re-exports every public name here; pages call them through ``views``.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from cspdash.config import Catalogue, Indicator
from cspdash.periods import Period, parse_period
from cspdash.status import Interval, Status, fmt, headline, range_text
from cspdash.store import Store
from cspdash.vocab import (
    AMBER_REASONS,
    AMBER_WORDS,
    EXCEPTION_WORDS,
    PLAIN_ASSURANCE,
    PLAIN_VARIATION,
    RAG_ICON,
    RAG_WORDS,
    UNKNOWN_ICON,
)
from cspdash.wording import NONE, PROVISIONAL_MARK, assurance_words, change_text, variation_words, when

EMPTY_MESSAGE = "No figures yet: upload a return on the Upload page, or run `python -m cspdash demo`."


def shown(ind: Indicator, v: float | None) -> str:
    """A value in the indicator's unit for display, or the dash for none."""
    text = fmt(ind, v)
    return NONE if text == "-" else text


def shown_status(ind: Indicator, s: Status) -> str:
    """A status's figure for display, marked when it includes a provisional month: ``1,234 (provisional)``."""
    return shown(ind, s.value) + (PROVISIONAL_MARK if s.provisional and s.value is not None else "")


def rag_label(rag: str) -> str:
    """``✅ GREEN``: the icon and the word of a RAG status, joined by no-break spaces so a table never splits it."""
    return f"{RAG_ICON.get(rag, UNKNOWN_ICON)}\u00a0{RAG_WORDS.get(rag, rag.upper())}".replace(" ", "\u00a0")


def range_shown(ind: Indicator, lower: float | None, upper: float | None) -> str:
    """A figure's 95% interval in its unit (``604-705``, ``24.1%-49.9%``), or the dash when it has none."""
    if lower is None or upper is None or (isinstance(lower, float) and math.isnan(lower)):
        return NONE
    return range_text(ind, Interval(float(lower), float(upper), ""))


def status_label(s: Status) -> str:
    """``🟠 AMBER (could be chance)``: the status's icon and word, and for an amber which kind of amber."""
    kind = AMBER_WORDS.get(s.amber_reason or "")
    return rag_label(s.rag) + (f" ({kind})" if kind else "")


def amber_counts(statuses: Sequence[Status]) -> dict[str, int]:
    """How many ambers of each kind (``AMBER_REASONS`` order)."""
    counts = Counter(s.amber_reason for s in statuses if s.rag == "amber")
    return {k: counts.get(k, 0) for k in AMBER_REASONS}


def amber_summary(counts: dict[str, int]) -> str:
    """``Amber: 2 within tolerance · 5 could be chance``, or '' when there is no amber."""
    parts = [f"{n} {AMBER_WORDS[k]}" for k, n in counts.items() if n]
    return f"Amber: {' · '.join(parts)}" if parts else ""


# --- quarters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuarterOption:
    """A quarter the picker offers: how many indicators have a complete figure for it (``count`` of ``total``),
    whether that is enough to call it largely complete, and whether it is the default (the latest such quarter)."""

    label: str
    complete: bool
    count: int = 0
    total: int = 0
    default: bool = False
    later: bool = False  # after the default quarter: returns for it are still coming in

    @property
    def display(self) -> str:
        """The label people see: ``2025/26 Q3``, ``2026/27 Q1 (in progress: 3 of 25)``, ``2010/11 Q1 (4 of 25)``."""
        if self.complete or not self.total:
            return self.label
        if self.later:
            return f"{self.label} (in progress: {self.count} of {self.total})"
        return f"{self.label} ({self.count} of {self.total} figures)"


def quarter_options(store: Store) -> list[QuarterOption]:
    """Every quarter with a complete figure, newest first; the default is the latest largely complete quarter
    (``Store.latest_complete_quarter``), and the quarters after it are labelled as in progress."""
    coverage = store.quarter_coverage()
    default = store.latest_complete_quarter()
    total = len(store.cat.indicators)
    return [QuarterOption(q.label, store.is_largely_complete(n), n, total, q == default,
                          default is not None and q > default)
            for q, n in reversed(coverage.items())]


def share_words(cat: Catalogue) -> str:
    """``half`` or ``60%``: the catalogue's ``partnership.complete_share`` in words."""
    return "half" if cat.complete_share == 0.5 else f"{cat.complete_share:.0%}"


def default_quarter(options: Sequence[QuarterOption]) -> QuarterOption | None:
    """The option the picker starts on, or None when there are none."""
    return next((o for o in options if o.default), options[0] if options else None)


def quarter(label: str) -> Period:
    """The quarter named by a picker label."""
    return parse_period(label, grain="quarter")


# --- overview ------------------------------------------------------------------------------------

STATUS_CSV_COLUMNS = ("indicator", "priority", "title", "owner", "period", "rated_period", "value", "lower", "upper",
                      "interval_method", "target", "comparator", "comparator_period", "change_pct", "rag",
                      "amber_reason", "complete", "provisional", "variation", "assurance", "reason")


def status_frame(store: Store, period: Period) -> pd.DataFrame:
    """One row per indicator for ``period``: raw status fields plus the display columns the pages show."""
    return _status_frame(store.cat, store.statuses(period))


def _status_frame(cat: Catalogue, statuses: Sequence[Status]) -> pd.DataFrame:
    rows = []
    for s in statuses:
        ind = cat.indicator(s.indicator)
        rows.append({
            **s.as_dict(),
            "title": ind.title,
            "owner": ind.owner,
            "owner_name": cat.subgroup(ind.owner).name,
            "Indicator": f"{ind.id} {ind.title}",
            "Value": shown_status(ind, s),
            "95% range": range_shown(ind, s.lower, s.upper),
            "Status": status_label(s),
            "Change": change_text(ind, s),
            "Target": s.target_text,
            "Variation": variation_words(s.variation),
            "Assurance": assurance_words(s.assurance),
            "Reason": s.reason,
        })
    return pd.DataFrame(rows)


def status_csv(frame: pd.DataFrame) -> bytes:
    """The status table as CSV (raw fields, one row per indicator)."""
    cols = [c for c in STATUS_CSV_COLUMNS if c in frame.columns]
    return csv_bytes(frame[cols])


def rollup_records(store: Store, period: Period) -> list[dict]:
    """Each priority's roll-up for ``period``: id, title, overall RAG with its label, counts and reason."""
    return _rollup_records(store, store.statuses(period))


def _rollup_records(store: Store, statuses: Sequence[Status]) -> list[dict]:
    out = []
    for r in store.rollups(statuses):
        p = store.cat.priority(r.priority)
        out.append({"priority": r.priority, "title": p.title, "description": p.description, "overall": r.overall,
                    "label": rag_label(r.overall), "headline": headline(statuses, r.priority),
                    "reason": r.reason, **{k: r.counts.get(k, 0) for k in RAG_WORDS}})
    return out


def data_as_at(store: Store) -> str | None:
    """The time of the latest upload, for the "data as at" stamp; None when nothing was ever uploaded."""
    hist = store.history()
    return when(max(h["uploaded_at"] for h in hist)) if hist else None


@dataclass
class Overview:
    """Everything the overview page shows for one quarter."""

    period: str
    headline: str
    counts: dict[str, int]
    table: pd.DataFrame
    rollups: list[dict]
    data_as_at: str | None
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)
    ambers: dict[str, int] = field(default_factory=dict)  # ambers of each kind (``amber_counts``)

    def rows(self, priority: str) -> pd.DataFrame:
        """The status table's rows of one priority."""
        return self.table[self.table["priority"] == priority]


def expected_source(cat: Catalogue, indicator: str) -> str:
    """Where a figure is expected from: the owner's return, or a record-level extract the analyst loads."""
    ind = cat.indicator(indicator)
    if ind.measure is not None:
        return f"computed from the {ind.measure.dataset} extract (loaded by the CSP analyst)"
    return "the subgroup's quarterly return"


def overview(store: Store, period: Period) -> Overview:
    """The headline, the status table, the roll-ups and the missing returns for ``period``."""
    statuses = store.statuses(period)
    table = _status_frame(store.cat, statuses)
    counts = Counter(s.rag for s in statuses)
    missing = table[table["rag"] == "no_data"]
    missing = pd.DataFrame({
        "Indicator": missing["Indicator"], "Owner": missing["owner_name"],
        "Comes from": [expected_source(store.cat, i) for i in missing["indicator"]], "Reason": missing["Reason"],
    }) if len(missing) else pd.DataFrame(columns=["Indicator", "Owner", "Comes from", "Reason"])
    return Overview(period.label, headline(statuses), {k: counts.get(k, 0) for k in RAG_WORDS},
                    table, _rollup_records(store, statuses), data_as_at(store), missing.reset_index(drop=True),
                    amber_counts(statuses))


# --- downloads ----------------------------------------------------------------------------------

def _quote_formulas(df: pd.DataFrame, starts: tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``df`` whose text cells starting with one of ``starts`` get a leading ' (shown, never run)."""
    safe = df.copy()
    for c in safe.columns:
        if safe[c].dtype == object or pd.api.types.is_string_dtype(safe[c]):
            safe[c] = [("'" + v) if isinstance(v, str) and v[:1] in starts else v for v in safe[c]]
    return safe


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A frame as UTF-8 CSV; text starting = + - @ (or a tab or carriage return) gets a leading ' so that a
    spreadsheet opening the file shows it rather than running it as a formula (file names and names are typed by
    uploaders)."""
    return _quote_formulas(df, ("=", "+", "-", "@", "\t", "\r")).to_csv(index=False).encode("utf-8")


def xlsx_bytes(df: pd.DataFrame, sheet: str = "Data") -> bytes:
    """A frame as an XLSX workbook; text starting = + - @ is quoted so a spreadsheet will not run it."""
    safe = _quote_formulas(df, ("=", "+", "-", "@"))
    buf = io.BytesIO()
    safe.to_excel(buf, index=False, sheet_name=sheet[:31], engine="openpyxl")
    return buf.getvalue()




# --- meeting mode -------------------------------------------------------------------------------

def meeting_rows(frame: pd.DataFrame, priority: str) -> pd.DataFrame:
    """The big-type table of one priority: indicator, value, status, change."""
    part = frame[frame["priority"] == priority]
    return pd.DataFrame({"Indicator": part["Indicator"].tolist(), "Value": part["Value"].tolist(),
                         "Status": part["Status"].tolist(), "Change": part["Change"].tolist(),
                         "rag": part["rag"].tolist()})


#: The overview's columns for people, with the SPC term each one stands for.
PLAIN_COLUMNS = {"Variation": "Variation", "Assurance": "Will we meet the target?"}
SPC_HELP = (
    "**Variation** is statistical process control's (SPC) judgement of the latest figure against the indicator's own "
    "history: *no unusual change* (SPC's common cause) means the figure is within the range its past figures "
    "predict; *unusual change* (special cause) means a point outside the process limits, or a run or trend, "
    "that chance alone is unlikely to explain.\n\n"
    "**Will we meet the target?** is SPC's assurance, for indicators with a fixed target and enough history: "
    "*yes, consistently* when the target lies outside the process limits on the good side, *no, not without a "
    "change* when it lies outside them on the bad side, *could go either way* when it lies between them. "
    "*Not assessed* means the indicator has no fixed target or too few figures."
)


def plain_variation(variation: str | None) -> str:
    """The variation of the latest point in plain words (``Not judged`` without SPC for the period)."""
    return PLAIN_VARIATION.get(variation or "", "Not judged")


def plain_assurance(assurance: str | None) -> str:
    """The answer to "Will we meet the target?" from SPC assurance (``Not assessed`` without one)."""
    return PLAIN_ASSURANCE.get(assurance or "", "Not assessed")


def plain_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The status frame with the SPC columns in plain words under the names people use (``PLAIN_COLUMNS``)."""
    out = frame.copy()
    out["Variation"] = [plain_variation(_code(v)) for v in frame["variation"]]
    out[PLAIN_COLUMNS["Assurance"]] = [plain_assurance(_code(a)) for a in frame["assurance"]]
    return out


def _code(v: object) -> str | None:
    return v if isinstance(v, str) and v else None  # pandas turns a missing code into NaN


def exception_kinds(rag: str, variation: str | None, assurance: str | None) -> list[str]:
    """Why an indicator is an exception (``red``, ``concern``, ``missing``; keys of ``EXCEPTION_WORDS``), or [].

    The same rule as the PDF pack's exception report: every red status, every SPC concern (special-cause variation
    in the wrong direction, or a process that will consistently miss its target) and every missing return.
    """
    kinds = []
    if rag == "red":
        kinds.append("red")
    if variation == "special_cause_concern" or assurance == "consistent_fail":
        kinds.append("concern")
    if rag == "no_data":
        kinds.append("missing")
    return kinds


def exception_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The indicators to discuss, in catalogue order: indicator, value, status, what and why in words, owner, rag."""
    rows = []
    for r in frame.itertuples(index=False):
        variation, assurance = _code(r.variation), _code(r.assurance)
        kinds = exception_kinds(r.rag, variation, assurance)
        if not kinds:
            continue
        why = [r.reason]
        if "concern" in kinds:
            why.insert(0, f"{plain_variation(variation)}; will we meet the target? {plain_assurance(assurance)}.")
        rows.append({"Indicator": r.Indicator, "Value": r.Value, "Status": r.Status,
                     "To discuss": " · ".join(EXCEPTION_WORDS[k] for k in kinds), "Why": " ".join(why),
                     "Owner": r.owner_name, "rag": r.rag})
    return pd.DataFrame(rows, columns=["Indicator", "Value", "Status", "To discuss", "Why", "Owner", "rag"])


def exception_summary(exceptions: pd.DataFrame) -> str:
    """``3 red · 1 statistical concern · 2 missing returns``, or a sentence saying there is nothing to discuss."""
    if exceptions.empty:
        return "Nothing to discuss: no red status, no statistical concern and no missing return."
    counts = Counter(k for text in exceptions["To discuss"] for k in text.split(" · "))
    names = {"Red status": ("red", "red"), "Statistical concern": ("statistical concern", "statistical concerns"),
             "Missing return": ("missing return", "missing returns")}
    return " · ".join(f"{counts[w]} {names[w][counts[w] != 1]}" for w in EXCEPTION_WORDS.values() if counts[w])


@dataclass(frozen=True)
class PriorityTile:
    """One priority at a glance: its status in word, icon and colour, a one-line reason and its page."""

    priority: str
    title: str
    rag: str
    word: str
    icon: str
    reason: str
    page: str


def priority_tiles(rollups: Sequence[dict]) -> list[PriorityTile]:
    """A tile per priority from ``Overview.rollups``; the reason names the indicators' statuses in one line."""
    return [PriorityTile(priority=r["priority"], title=r["title"], rag=r["overall"],
                         word=RAG_WORDS.get(r["overall"], r["overall"].upper()), icon=RAG_ICON.get(r["overall"], UNKNOWN_ICON),
                         reason=f"{r['headline']}.", page=f"pages/priority_{r['priority'].lower()}.py")
            for r in rollups]


@dataclass(frozen=True)
class Slide:
    """One screen of meeting mode: a priority's summary (``indicator`` None) or one of its indicators."""

    priority: str
    indicator: str | None
    number: int  # 1-based position within its priority (the summary is 1)
    of: int  # screens of its priority


def meeting_slides(cat: Catalogue) -> list[Slide]:
    """The screens of meeting mode in order: for each priority, its summary and then each of its indicators."""
    out = []
    for p in cat.priorities:
        inds = [i.id for i in cat.indicators_of(priority=p.id)]
        out += [Slide(p.id, ind, k, len(inds) + 1) for k, ind in enumerate([None, *inds], start=1)]
    return out


def progress_text(slide: Slide) -> str:
    """``Priority B · 3 of 7``: the priority and the screen's place among that priority's screens."""
    return f"Priority {slide.priority} · {slide.number} of {slide.of}"
