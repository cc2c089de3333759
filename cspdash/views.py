"""What the dashboard's pages display, built from the Store as plain DataFrames and records (no Streamlit here).

Every page asks this module for its data and only renders what it gets back; the words, icons and colours of
the status vocabulary live here too, so that tables, charts and the CSV say the same thing.
"""

from __future__ import annotations

import io
import math
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path

import pandas as pd

from cspdash import auth
from cspdash.auth import User
from cspdash.compare import FUNNEL_LEVELS, Comparison, compare_areas, funnel_limits, rate_text
from cspdash.config import Catalogue, Indicator
from cspdash.errors import ConfigError, CspdashError
from cspdash.ingest import ValidationError
from cspdash.periods import Period, parse_period
from cspdash.status import (
    PROVISIONAL_PREFIX,
    Interval,
    Status,
    evaluate,
    fmt,
    headline,
    indicator_spc,
    interval,
    range_text,
    rated_grain,
)
from cspdash.store import ImportResult, Store
from cspdash.vocab import (  # noqa: F401  (re-exported: the pages and tests name them through views)
    AMBER_REASONS,
    AMBER_WORDS,
    ARROWS,
    ASSURANCE_WORDS,
    EXCEPTION_WORDS,
    PLAIN_ASSURANCE,
    PLAIN_VARIATION,
    POINT_STYLE,
    RAG_COLOUR,
    RAG_ICON,
    RAG_TEXT,
    RAG_WORDS,
    SUBMISSION_WORDS,
    UNKNOWN_ICON,
    VARIATION_WORDS,
    contrast_ratio,
)
from cspdash.wording import (  # noqa: F401  (re-exported, as above)
    NONE,
    PROVISIONAL_MARK,
    assurance_words,
    change_text,
    unit_title,
    variation_words,
    when,
)

# The status vocabulary and the wording helpers live in cspdash.vocab and cspdash.wording (re-exported above).

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


# --- indicator history and SPC ---------------------------------------------------------------------

def history_frame(store: Store, indicator: str, period: Period | None = None) -> pd.DataFrame:
    """An indicator's rated history up to ``period``: value, SPC mean and limits, point type, target per period.

    Only complete figures are charted and fed to SPC, as the status engine does. The target column is the level
    the period had to reach (a change target's level moves with its comparator; a cumulative annual target is
    shown pro rata per quarter).
    """
    ind = store.cat.indicator(indicator)
    figures = store.current_figures()[indicator]
    last = period.at(rated_grain(ind)) if period is not None else None
    series = [(p, f) for p, f in figures.items() if f.complete and f.value is not None and (last is None or p <= last)]
    cols = ["period", "start", "value", "shown", "lower", "upper", "mean", "lpl", "upl", "target", "point_type", "point",
            "rule", "phase"]
    if not series:
        return pd.DataFrame(columns=cols)
    res = indicator_spc(ind, [p for p, _ in series], [f.value for _, f in series])
    phase_of = [k for k, ph in enumerate(res.phases, start=1) for _ in range(ph.stop - ph.start)]
    rows = []
    for k, (p, f) in enumerate(series):
        pt = res.points.iloc[k]
        iv = interval(ind, f.value, f.numerator, f.denominator)
        rows.append({
            "period": p.label, "start": p.start.isoformat(), "value": f.value, "shown": fmt(ind, f.value),
            "lower": iv.lower if iv else None, "upper": iv.upper if iv else None,
            "mean": _num(pt["mean"]), "lpl": _num(pt["lpl"]), "upl": _num(pt["upl"]),
            "target": _target_at(ind, p, figures), "point_type": pt["point_type"],
            "point": POINT_STYLE[pt["point_type"]][0], "rule": res.special_cause_types[k], "phase": phase_of[k],
        })
    return pd.DataFrame(rows, columns=cols)


def _num(v: object) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)  # type: ignore[arg-type]


def _target_at(ind: Indicator, p: Period, figures: dict) -> float | None:
    t = ind.target
    if t.type == "fixed":
        return t.value
    if t.type == "cumulative":
        return (t.value or 0.0) * p.n_months / 12
    if t.type == "change":
        s = evaluate(ind, p if p.grain == "quarter" else Period.quarter(p.fy, 4), figures)
        return s.target
    return None


def spc_detail(store: Store, indicator: str, period: Period | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The SPC points table (period, value, mean, limits, point type in words, rule) and the SPC notes."""
    ind = store.cat.indicator(indicator)
    h = history_frame(store, indicator, period)
    notes: list[str] = []
    if len(h):
        periods = [parse_period(label, grain=rated_grain(ind)) for label in h["period"]]
        notes = list(indicator_spc(ind, periods, h["value"].tolist()).notes)
    else:
        notes = ["No complete figures yet: nothing to judge."]
    table = pd.DataFrame({
        "Period": h["period"], "Value": h["shown"],
        "Mean": [fmt(ind, v) for v in h["mean"]], "Lower limit": [fmt(ind, v) for v in h["lpl"]],
        "Upper limit": [fmt(ind, v) for v in h["upl"]], "Point": h["point"], "Rule": h["rule"], "Phase": h["phase"],
    })
    return table, notes


def chart_table(h: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """The table view of an indicator's chart: the same numbers, formatted in its unit."""
    return pd.DataFrame({
        "Period": h["period"], "Value": h["shown"],
        "95% range": [range_shown(ind, lo, hi) for lo, hi in zip(h["lower"], h["upper"], strict=True)],
        "Target": [fmt(ind, v) for v in h["target"]],
        "Mean": [fmt(ind, v) for v in h["mean"]], "Lower limit": [fmt(ind, v) for v in h["lpl"]],
        "Upper limit": [fmt(ind, v) for v in h["upl"]], "Point": h["point"],
    })


# --- priority pages -----------------------------------------------------------------------------

@dataclass
class IndicatorCard:
    """What a priority page shows for one indicator."""

    id: str
    title: str
    unit: str
    definition: str
    rationale: str
    source: str
    synthetic: bool  # the rated figure came from an upload marked synthetic
    target_source: str  # where the target's level came from, or "not recorded"
    target_agreed: str  # who agreed it and when, or "not recorded"
    provisional_note: str  # why the figure is provisional, or ""
    owner: str
    status: dict
    label: str
    value_text: str
    range_text: str  # the figure's 95% range and how it was worked out, or "" without one
    change: str
    variation: str
    assurance: str
    history: pd.DataFrame
    table: pd.DataFrame
    commentary: list[dict]
    areas: pd.DataFrame | None
    comparison: Comparison | None = None  # rates per resident against London (indicators with compare:)
    funnel: pd.DataFrame | None = None  # funnel_frame(comparison)
    comparison_note: str = ""  # why an indicator with compare: has no comparison, or which areas were left out


def indicator_card(store: Store, indicator: str, period: Period,
                   statuses: Sequence[Status] | None = None) -> IndicatorCard:
    """An indicator's status, chart data, table, texts, commentary and (when it has areas) comparison."""
    ind = store.cat.indicator(indicator)
    s = next(x for x in (statuses or store.statuses(period)) if x.indicator == indicator)
    h = history_frame(store, indicator, period)
    rated = period.at(rated_grain(ind))
    comparison, note = None, ""
    if ind.compare is not None:
        try:
            comparison = compare_areas(store, indicator, period)
            note = comparison.note
        except CspdashError as e:
            note = f"No rate comparison: {e}."
    areas = rate_frame(comparison) if comparison is not None else area_frame(store, indicator, period)
    return IndicatorCard(
        id=ind.id, title=ind.title, unit=ind.unit, definition=ind.definition, rationale=ind.rationale,
        source=ind.source, synthetic=store.synthetic_figure(indicator, period),
        target_source=ind.target.source_text, target_agreed=ind.target.agreed_text,
        provisional_note=next((n for n in s.notes if n.startswith(PROVISIONAL_PREFIX)), ""),
        owner=store.cat.subgroup(ind.owner).name, status=s.as_dict(),
        label=status_label(s), value_text=shown_status(ind, s),
        range_text=(f"95% range {range_shown(ind, s.lower, s.upper)} ({s.interval_method})"
                    if s.interval_method else "No 95% range (no numerator and denominator)"
                    if s.value is not None else ""),
        change=change_text(ind, s),
        variation=variation_words(s.variation), assurance=assurance_words(s.assurance), history=h, table=chart_table(h, ind),
        commentary=store.commentary(indicator, rated), areas=areas if len(areas) > 1 else None,
        comparison=comparison if comparison is not None and len(comparison.rows) > 1 else None,
        funnel=funnel_frame(comparison) if comparison is not None and len(comparison.rows) > 1 else None,
        comparison_note=note,
    )


def priority_cards(store: Store, priority: str, period: Period) -> list[IndicatorCard]:
    """The cards of every indicator of a priority, in catalogue order."""
    statuses = store.statuses(period)
    return [indicator_card(store, i.id, period, statuses) for i in store.cat.indicators_of(priority=priority)]


def area_frame(store: Store, indicator: str, period: Period) -> pd.DataFrame:
    """Every area's figure for the rated period, largest first, with the partnership's own area flagged."""
    ind = store.cat.indicator(indicator)
    rows = store.area_values(indicator, period)
    df = pd.DataFrame(rows, columns=["area", "value", "complete", "own"])
    df["rank"] = range(1, len(df) + 1)
    df["shown"] = [fmt(ind, v) for v in df["value"]]
    return df


def area_table(df: pd.DataFrame) -> pd.DataFrame:
    """The table view of an area comparison."""
    return pd.DataFrame({"Rank": df["rank"], "Area": [f"{a} (this partnership)" if o else a
                                                       for a, o in zip(df["area"], df["own"], strict=True)],
                         "Value": df["shown"], "Complete": ["yes" if c else "no" for c in df["complete"]]})


def area_summary(df: pd.DataFrame, area: str) -> str:
    """``Tower Hamlets has the 5th highest figure of 32 areas ...``: for an indicator not compared on rates."""
    own = df[df["own"]]
    if own.empty:
        return f"No figure for {area} in this period."
    return (f"{area} has the {_ordinal(int(own['rank'].iloc[0]))} highest figure of {len(df)} areas. These are counts, "
            "not rates per resident: add compare: to the indicator in the catalogue to compare areas fairly.")


# --- area comparisons on rates (cspdash.compare) ------------------------------------------------------------------

COMPARISON_WORDS = {"better": "better", "similar": "similar", "worse": "worse", "not_compared": "not compared"}


def rate_frame(c: Comparison) -> pd.DataFrame:
    """Every compared area, highest rate first: area, value, population, rate, lower, upper, comparison, own,
    similar, rank, shown (the rate as text), interval (as text), who (own / similar / other, in words)."""
    df = pd.DataFrame([{"area": r.area, "value": r.value, "population": r.population, "rate": r.rate,
                        "lower": r.lower, "upper": r.upper, "comparison": r.comparison, "own": r.own,
                        "similar": r.similar} for r in c.rows],
                      columns=["area", "value", "population", "rate", "lower", "upper", "comparison", "own", "similar"])
    df["complete"] = True
    df["rank"] = range(1, len(df) + 1)
    df["shown"] = [rate_text(v) for v in df["rate"]]
    df["interval"] = [f"{rate_text(lo)} to {rate_text(hi)}" for lo, hi in zip(df["lower"], df["upper"], strict=True)]
    df["who"] = ["This partnership" if o else "Most-similar group" if s else "Other areas"
                 for o, s in zip(df["own"], df["similar"], strict=True)]
    df["benchmark"] = c.benchmark
    return df


def funnel_frame(c: Comparison, steps: int = 60) -> pd.DataFrame:
    """The funnel plot's data: one row per compared area (``area`` set) and per point of a population grid
    (``area`` empty), each with the benchmark and its 95% and 99.8% limits (as rates) at that population, and for an
    area where it falls (``beyond``: within, beyond 95% or beyond 99.8%)."""
    pops = [r.population for r in c.rows]
    bench = c.benchmark or 0.0
    lo, hi = min(pops) * 0.8, max(pops) * 1.1
    grid = [lo * (hi / lo) ** (k / (steps - 1)) for k in range(steps)]
    rows = [{"area": r.area, "population": r.population, "rate": r.rate, "own": r.own, "similar": r.similar,
             "comparison": r.comparison} for r in c.rows]
    rows += [{"area": None, "population": p, "rate": None, "own": False, "similar": False, "comparison": None}
             for p in grid]
    for row in rows:
        row["benchmark"] = bench
        (row["lower95"], row["upper95"]), (row["lower998"], row["upper998"]) = (
            funnel_limits(bench, row["population"], c.per, level) for level in FUNNEL_LEVELS)
        if row["area"] is not None:
            r = row["rate"]
            row["beyond"] = ("beyond 99.8% limits" if not row["lower998"] <= r <= row["upper998"] else
                             "beyond 95% limits" if not row["lower95"] <= r <= row["upper95"] else "within limits")
        else:
            row["beyond"] = None
    return pd.DataFrame(rows).sort_values(["population", "area"], na_position="first", ignore_index=True)


def _area_name(area: str, own: bool, similar: bool) -> str:
    return f"{area} (this partnership)" if own else f"{area} (most-similar group)" if similar else area


def rate_table(df: pd.DataFrame, per: float) -> pd.DataFrame:
    """The table view of the ranked rates."""
    return pd.DataFrame({
        "Rank": df["rank"],
        "Area": [_area_name(a, o, s) for a, o, s in zip(df["area"], df["own"], df["similar"], strict=True)],
        "Count": [f"{v:,.0f}" for v in df["value"]], "Residents": [f"{p:,.0f}" for p in df["population"]],
        f"Rate per {per:,.0f}": df["shown"], "95% interval": df["interval"],
        "Against London": [COMPARISON_WORDS[c] for c in df["comparison"]]})


def funnel_table(funnel: pd.DataFrame) -> pd.DataFrame:
    """The table view of the funnel plot: each area's rate against the limits at its population."""
    df = funnel[funnel["area"].notna()].sort_values("population", ascending=False)
    return pd.DataFrame({
        "Area": [_area_name(a, o, s) for a, o, s in zip(df["area"], df["own"], df["similar"], strict=True)],
        "Residents": [f"{p:,.0f}" for p in df["population"]], "Rate": [rate_text(r) for r in df["rate"]],
        "95% limits": [f"{rate_text(lo)} to {rate_text(hi)}" for lo, hi in zip(df["lower95"], df["upper95"], strict=True)],
        "99.8% limits": [f"{rate_text(lo)} to {rate_text(hi)}"
                         for lo, hi in zip(df["lower998"], df["upper998"], strict=True)],
        "Where it falls": df["beyond"]})


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- indicator page -----------------------------------------------------------------------------

def series_frame(store: Store, indicator: str) -> pd.DataFrame:
    """Every figure ever stored for an indicator, current or not, with its file, person and time."""
    ind = store.cat.indicator(indicator)
    rows = store.series(indicator)
    out = []
    for r in rows:
        state = "withdrawn" if r["state"] == "withdrawn" else "current" if r["current"] else "superseded"
        out.append({"period": r["period"], "grain": r["grain"], "value": r["value"], "shown": fmt(ind, r["value"]),
                    "numerator": r["numerator"], "denominator": r["denominator"], "state": state,
                    "upload_id": r["upload_id"], "file": r["file_name"], "user": r["user"],
                    "uploaded_at": r["uploaded_at"], "source_row": r["source_row"],
                    "synthetic": bool(r["synthetic"]), "provisional": bool(r["provisional"])})
    return pd.DataFrame(out, columns=["period", "grain", "value", "shown", "numerator", "denominator", "state",
                                      "upload_id", "file", "user", "uploaded_at", "source_row", "synthetic",
                                      "provisional"])


def series_display(df: pd.DataFrame) -> pd.DataFrame:
    """The series for the screen: restated and withdrawn figures marked in words."""
    marks = {"current": "✅ current", "superseded": "↩ superseded (restated)", "withdrawn": "🚫 withdrawn"}
    return pd.DataFrame({"Period": df["period"], "Value": df["shown"], "Figure": [marks[s] for s in df["state"]],
                         "Upload": df["upload_id"], "File": df["file"], "By": df["user"],
                         "Uploaded": [when(t) for t in df["uploaded_at"]], "Row": df["source_row"]})


#: Columns naming uploaders or their files: left out for an anonymous visitor of a public dashboard.
PEOPLE_COLUMNS = ("By", "File", "user", "file")


def without_people(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without the columns that name an uploader or their file (``PEOPLE_COLUMNS``)."""
    return df.drop(columns=[c for c in PEOPLE_COLUMNS if c in df.columns])


def provenance_frame(store: Store, indicator: str, period: Period) -> pd.DataFrame:
    """The stored figures behind the rated figure of ``period``: period, value, upload, file, person, time."""
    ind = store.cat.indicator(indicator)
    rows = store.provenance(indicator, period)
    return pd.DataFrame({"Period": [r["period"] for r in rows], "Value": [fmt(ind, r["value"]) for r in rows],
                         "Marked": [_marks(r) for r in rows],
                         "Upload": [r["upload_id"] for r in rows], "File": [r["file_name"] for r in rows],
                         "By": [r["user"] for r in rows], "Uploaded": [when(r["uploaded_at"]) for r in rows],
                         "Row": [r["source_row"] for r in rows]})


def _marks(row: dict) -> str:
    """``synthetic``, ``provisional``, both or empty: how a stored figure is marked."""
    return ", ".join(k for k in ("synthetic", "provisional") if row.get(k))


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


# --- submissions tracker ------------------------------------------------------------------------

def submissions_frame(store: Store, period: Period) -> pd.DataFrame:
    """For each indicator: owner, whether ``period`` has its figure (complete/incomplete/missing), last upload."""
    cat = store.cat
    figures = store.current_figures()
    rows = []
    for ind in cat.indicators:
        rated = period.at(rated_grain(ind))
        fig = figures[ind.id].get(rated)
        if fig is None or (fig.value is None and fig.complete):
            state = "missing"
        elif not fig.complete:
            state = "incomplete"
        else:
            state = "complete"
        prov = store.provenance(ind.id, period) if state != "missing" else []
        last = max(prov, key=lambda r: r["uploaded_at"]) if prov else None
        detail = ""
        if fig is not None and fig.missing:
            detail = "missing " + ", ".join(m.display for m in fig.missing)
        rows.append({"indicator": ind.id, "title": ind.title, "priority": ind.priority, "owner": ind.owner,
                     "owner_name": cat.subgroup(ind.owner).name, "period": rated.label, "state": state,
                     "Submission": SUBMISSION_WORDS[state], "detail": detail,
                     "file": last["file_name"] if last else NONE,
                     "last_upload": when(last["uploaded_at"]) if last else NONE, "by": last["user"] if last else NONE})
    return pd.DataFrame(rows)


SUBMISSION_COLUMNS = ("Indicator", "Title", "Owner", "Period", "Submission", "Detail", "Last upload", "By", "File")
SUBMISSION_RAG = {"complete": "green", "incomplete": "amber", "missing": "red"}


def submissions_display(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The tracker's table for the screen, and the RAG colour of each row's Submission cell."""
    table = frame.rename(columns={"indicator": "Indicator", "title": "Title", "owner_name": "Owner", "period": "Period",
                                  "detail": "Detail", "last_upload": "Last upload", "by": "By", "file": "File"})
    return table[list(SUBMISSION_COLUMNS)], frame["state"].map(SUBMISSION_RAG)


def submissions_headline(frame: pd.DataFrame) -> str:
    """``21 complete · 1 incomplete · 3 missing``."""
    counts = frame["state"].value_counts() if len(frame) else pd.Series(dtype=int)
    return " · ".join(f"{counts.get(k, 0)} {k}" for k in SUBMISSION_WORDS)


def submissions_late(frame: pd.DataFrame, period: Period) -> str | None:
    """A sentence naming the indicators without a complete figure and their owners, or None."""
    late = frame[frame["state"] != "complete"]
    if late.empty:
        return None
    who = "; ".join(f"{r.indicator} ({r.owner_name})" for r in late.itertuples())
    return f"{len(late)} indicator(s) without a complete figure for {period.label}: {who}"


# --- history ------------------------------------------------------------------------------------

def uploads_frame(store: Store) -> pd.DataFrame:
    """Every upload, newest first, with its state and how many figures it restated or has had restated."""
    hist = store.history()
    restates: Counter[int] = Counter()
    restated: Counter[int] = Counter()
    for ind in store.cat.indicators:
        by_period: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r in store.series(ind.id):
            by_period[(r["period"], r["grain"])].append(r["upload_id"])
        for ids in by_period.values():
            ids = sorted(set(ids))
            for earlier, later in pairwise(ids):
                restates[later] += 1
                restated[earlier] += 1
    rows = []
    for h in hist:
        uid = h["upload_id"]
        what = h["dataset"] or ("commentary" if h["kind"] == "commentary" else "indicator return")
        state = "🚫 withdrawn" if h["state"] == "withdrawn" else "✅ active"
        rows.append({"upload_id": uid, "State": state, "File": h["file_name"], "What": what, "By": h["user"],
                     "Uploaded": when(h["uploaded_at"]), "Rows": h["rows"], "Restates": restates.get(uid, 0),
                     "Restated later": restated.get(uid, 0),
                     "Withdrawn": (f"{when(h['withdrawn_at'])} by {h['withdrawn_by']}"
                                   + (f": {h['withdraw_reason']}" if h["withdraw_reason"] else ""))
                     if h["state"] == "withdrawn" else "",
                     "Note": h["note"] or "", "state": h["state"], "kind": h["kind"]})
    return pd.DataFrame(rows, columns=["upload_id", "State", "File", "What", "By", "Uploaded", "Rows", "Restates",
                                       "Restated later", "Withdrawn", "Note", "state", "kind"])


def original_name(upload_id: int, file_name: str) -> str:
    """The download name of an upload's original file: ``upload-15-returns.csv``."""
    if file_name.startswith("("):  # commentary typed in the app has no file of its own
        return f"upload-{upload_id}-commentary.txt"
    return f"upload-{upload_id}-{file_name}"


def uploads_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The uploads table for the screen."""
    cols = ["upload_id", "State", "File", "What", "Restates", "Restated later", "Withdrawn", "By", "Uploaded", "Rows",
            "Note"]
    return frame[cols].rename(columns={"upload_id": "Upload"})


def upload_choices(frame: pd.DataFrame, active_only: bool = False) -> dict[int, str]:
    """``{15: "15: returns.csv (who, when)"}`` for a picker, newest first; optionally active uploads only."""
    rows = frame[frame["state"] == "active"] if active_only else frame
    return {int(r.upload_id): f"{r.upload_id}: {r.File} ({r.By}, {r.Uploaded})" for r in rows.itertuples()}


def upload_file_name(frame: pd.DataFrame, upload_id: int) -> str:
    """The name the original of an upload downloads as."""
    return original_name(upload_id, str(frame.loc[frame["upload_id"] == upload_id, "File"].iloc[0]))


# --- upload -------------------------------------------------------------------------------------

RETURN_KIND = "return"


def can_mark_synthetic(user: User | None) -> bool:
    """Whether ``user`` may mark an upload synthetic on the Upload page: admins (and open mode's implicit admin)."""
    return user is not None and user.role == "admin"


def upload_kinds(cat: Catalogue) -> dict[str, str]:
    """What an uploaded file can be: ``return`` or a catalogue dataset name, with a description."""
    kinds = {RETURN_KIND: "Indicator return (CSV or XLSX, from a subgroup template)"}
    for d in cat.datasets:
        kinds[d.name] = f"Record-level extract: {d.name} - {d.description}" if d.description else d.name
    return kinds


def upload_types(kind: str) -> list[str]:
    """The file extensions accepted for a kind of upload."""
    return ["csv", "xlsx"] if kind == RETURN_KIND else ["csv", "parquet"]


def template_bytes(cat: Catalogue, subgroup: str, extension: str, period: str | None = None) -> bytes:
    """A subgroup's return template as CSV or XLSX bytes."""
    from cspdash.templates import write_template

    if extension not in ("csv", "xlsx"):
        raise CspdashError(f"a template is .csv or .xlsx, not .{extension}")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_template(cat, subgroup, Path(tmp) / f"template.{extension}", period)
        return path.read_bytes()


def template_quarters(store: Store, today: date) -> list[str]:
    """Ended quarters a template can be pre-filled with, newest first: the last ended quarter and the eight before
    it, plus the quarter after the latest complete one when that has ended (the return most likely due)."""
    last_ended = Period.containing(today).previous()
    qs = {last_ended.shift(-k) for k in range(9)}
    latest = store.latest_complete_quarter()
    if latest is not None and latest.shift(1) <= last_ended:
        qs.add(latest.shift(1))
    return [q.label for q in sorted(qs, reverse=True)]


def template_quarter_default(store: Store, subgroup: str, today: date) -> str:
    """The quarter a subgroup's template starts on: the latest ended quarter it still owes (some indicator it
    returns by hand has no complete figure for it, and that figure's period has ended), else the last ended one."""
    figures = store.current_figures()
    owned = [i for i in store.cat.indicators_of(owner=subgroup) if i.measure is None]
    labels = template_quarters(store, today)
    for label in labels:
        q = quarter(label)
        for ind in owned:
            rated = q.at(rated_grain(ind))
            fig = figures[ind.id].get(rated)
            if rated.end < today and (fig is None or not fig.complete or fig.value is None):
                return label
    return labels[0]


def template_subgroups(cat: Catalogue, user: User | None) -> dict[str, str]:
    """Subgroups whose template ``user`` is offered (id → name): a chair's own, everyone else's all."""
    mine = set(user.subgroups) if user is not None and user.role == "chair" else None
    return {g.id: g.name for g in cat.subgroups if mine is None or g.id in mine}


ACCOUNT_STATES = {"active": "✅ Active", "locked": "🔒 Locked out", "disabled": "⛔ Disabled"}


def accounts_frame(users: Sequence[dict]) -> pd.DataFrame:
    """The accounts table (from ``Store.list_users``): e-mail, role, subgroups, state in words, sign-in, last seen."""
    rows = [{"E-mail": u["email"], "Role": u["role"], "Subgroups": ", ".join(u["subgroups"]) or NONE,
             "State": ACCOUNT_STATES["disabled" if u["disabled"] else "locked" if u["locked"] else "active"],
             "Sign-in": "password" if u["local_password"] else "identity provider",
             "Last signed in": when(u["last_signin_at"]) if u["last_signin_at"] else NONE,
             "Created by": u["created_by"]} for u in users]
    return pd.DataFrame(rows, columns=["E-mail", "Role", "Subgroups", "State", "Sign-in", "Last signed in",
                                       "Created by"])


def template_name(subgroup: str, period: str | None, extension: str) -> str:
    """``return-asb-2025-26-Q3.csv``."""
    tag = (period or "").replace("/", "-").replace(" ", "-")
    return f"return-{subgroup}{'-' + tag if tag else ''}.{extension}"


def preview_frame(result: ImportResult, cat: Catalogue) -> pd.DataFrame:
    """What an import does: indicator, period, value before → after and RAG before → after."""
    rows = []
    for c in result.changes:
        ind = cat.indicator(c.indicator)
        rows.append({"Indicator": f"{ind.id} {ind.title}", "Period": c.period,
                     "Value": f"{shown(ind, c.old_value)} → {shown(ind, c.new_value)}",
                     "Status": f"{rag_label(c.old_rag)} → {rag_label(c.new_rag)}",
                     "Changes status": "yes" if c.old_rag != c.new_rag else "no"})
    return pd.DataFrame(rows, columns=["Indicator", "Period", "Value", "Status", "Changes status"])


def uploads_summary(result: ImportResult) -> list[str]:
    """One sentence per file of an import (or its preview)."""
    out = []
    for u in result.uploads:
        inside = f", {u['rows_in_area']:,} of them in the partnership's area" if "rows_in_area" in u else ""
        inside += ", marked synthetic" if u.get("synthetic") else ""
        if u.get("duplicate_of"):
            out.append(f"{u['file_name']}: identical to upload {u['duplicate_of']}; nothing will change.")
        elif u.get("upload_id"):
            out.append(f"{u['file_name']}: stored as upload {u['upload_id']} ({_rows(u['rows'])}{inside}).")
        else:
            out.append(f"{u['file_name']}: {_rows(u['rows'])} ready to store{inside}.")
    if result.other_area_figures:
        out.append(f"Plus {result.other_area_figures:,} figures for other areas (comparators).")
    return out


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def problems_frame(err: ValidationError) -> pd.DataFrame:
    """The problems of a refused upload: file, row, column, value, problem, fix."""
    rows = [p.as_dict() for p in err.problems]
    return pd.DataFrame({"File": [r["file"] for r in rows], "Row": [r["row"] for r in rows],
                         "Column": [r["column"] or "" for r in rows], "Value": [r["value"] or "" for r in rows],
                         "Problem": [r["message"] for r in rows], "Fix": [r["fix"] for r in rows]})


def check_summary(err: CspdashError) -> CspdashError:
    """What the upload page keeps of a refused check between reruns: the words and the (bounded) problems, never
    the frames the error was raised in, which hold the file's bytes and cells."""
    if isinstance(err, ValidationError):
        return ValidationError(err.problems, err.more)
    if isinstance(err, ConfigError):
        return ConfigError(err.problems, err.source)
    return CspdashError(str(err))


def problems_message(err: ValidationError) -> str:
    """``2 problems found; nothing was stored. Fix them in the file and upload it again.``"""
    total = len(err.problems) + err.more
    more = f" (the first {len(err.problems)} are listed)" if err.more else ""
    return (f"The upload was refused: {total} problem{'s' if total != 1 else ''} found{more}; nothing was stored. "
            "Fix them in the file and upload it again.")


def commentary_choices(cat: Catalogue, user: User | None = None) -> list[str]:
    """Indicator ids in catalogue order that ``user`` may comment on (all of them when no user is given)."""
    return [i.id for i in cat.indicators if user is None or auth.allowed(user, "comment", [i.owner])]


def withdrawable(store: Store, frame: pd.DataFrame, user: User) -> dict[int, str]:
    """The active uploads ``user`` may withdraw, for a picker (datasets: admins only; returns: their owners)."""
    out = {}
    for uid, label in upload_choices(frame, active_only=True).items():
        kind = frame.loc[frame["upload_id"] == uid, "kind"].iloc[0]
        action = "import_dataset" if kind == "dataset" else "withdraw"
        owners = [] if kind == "dataset" else store.upload_owners(uid)
        if auth.allowed(user, action, owners):
            out[uid] = label
    return out


def indicator_label(cat: Catalogue, indicator: str) -> str:
    """``A1 ASB demand - calls to police ...``."""
    return f"{indicator} {cat.indicator(indicator).title}"


def looks_like_email(text: str) -> bool:
    """Whether ``text`` is shaped like an e-mail address (one @, a dot after it, no spaces)."""
    t = text.strip()
    if " " in t or t.count("@") != 1:
        return False
    local, domain = t.split("@")
    return bool(local) and "." in domain.strip(".") and not domain.startswith(".")


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
