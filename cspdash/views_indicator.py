"""The screen's indicator detail: history and SPC, the priority pages' indicator cards, area comparisons (counts
and rates per resident), and the series and provenance of stored figures.

Part of ``cspdash.views``, which re-exports every public name here; pages call them through ``views``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from cspdash.compare import FUNNEL_LEVELS, Comparison, compare_areas, funnel_limits, rate_text
from cspdash.config import Indicator
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.status import PROVISIONAL_PREFIX, Status, evaluate, fmt, indicator_spc, interval, rated_grain
from cspdash.store import Store
from cspdash.views_status import range_shown, shown_status, status_label
from cspdash.vocab import POINT_STYLE
from cspdash.wording import assurance_words, change_text, variation_words, when

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

