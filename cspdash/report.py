"""The meeting pack: one quarter's figures as a PDF committee paper and an XLSX scorecard.

Both are rendered from a ``PackData``, built either live from the store (``build_pack``) or from a frozen snapshot
(``cspdash.snapshots.load``), so the PDF, the workbook and the screen show the same numbers.

The PDF is tagged for screen readers (headings, paragraphs, tables, figures with alternative text; page furniture
as artifacts). fpdf2 tags only images and section titles itself, so ``_TagTree`` extends its structure-tree builder
to nest structure elements; it relies on fpdf2 internals and is pinned to fpdf2 2.8.x (tests/test_report.py checks
the tree). Text uses the PDF core fonts, so it is kept to Latin-1 (``latin1``).
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

from cspdash.config import Indicator
from cspdash.errors import CspdashError
from cspdash.periods import Period, parse_period
from cspdash.status import AMBER_WORDS, RAG_WORDS, Rollup, Status, fmt, headline, rated_grain, rollup
from cspdash.store import Store
from cspdash.views import ASSURANCE_WORDS, VARIATION_WORDS

PACK_FORMAT = 1  # version of PackData.to_json; a snapshot written by a newer format is refused

#: Colour-blind-safe RAG palette (as on screen), always drawn with a shape and the word.
RAG_RGB = {"green": (27, 120, 55), "amber": (241, 163, 64), "red": (178, 24, 43), "no_data": (110, 110, 110),
           "monitor": (33, 102, 172)}
#: The shape drawn next to each RAG word (the same shapes in print and on a black-and-white copy).
RAG_SHAPE = {"green": "circle", "amber": "triangle", "red": "square", "no_data": "ring", "monitor": "diamond"}


# ------------------------------------------------------------------------------------------------
# The data of a pack
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comment:
    """A chair's commentary as presented: the text, who wrote it and when."""

    text: str
    user: str
    at: str


@dataclass(frozen=True)
class PriorityInfo:
    """A priority of the plan as presented."""

    id: str
    title: str
    description: str = ""


@dataclass(frozen=True)
class PackItem:
    """One indicator as presented: its status and every text and chart point the pack shows."""

    indicator: str
    priority: str
    title: str
    owner: str
    unit: str
    decimals: int
    synthetic: bool
    status: Status
    value_text: str
    target_display: str  # the level to reach and the rule, e.g. "3,865 (a 5% fall)"
    travel: str  # direction of travel in words, e.g. "Up 12% on 2024/25 Q3 (worse)"
    variation_text: str
    assurance_text: str
    commentary: tuple[Comment, ...] = ()
    history: tuple[dict, ...] = ()  # chart rows: period, value, shown, lower, upper, mean, lpl, upl, target, point_type, ...
    range_display: str = ""  # the figure's 95% range in its unit, e.g. "604-705"; "" when it has none

    @property
    def label(self) -> str:
        """``A1 ASB demand - ...``."""
        return f"{self.indicator} {self.title}"


@dataclass(frozen=True)
class SnapshotInfo:
    """Who froze a pack, when, and its id."""

    snapshot_id: int
    frozen_by: str
    frozen_at: str


@dataclass(frozen=True)
class PackData:
    """Everything a pack shows for one quarter."""

    partnership: str
    area: str
    marking: str
    period: str
    data_as_at: str | None
    generated_at: str
    rollup_rule: str
    priorities: tuple[PriorityInfo, ...]
    items: tuple[PackItem, ...]
    meeting_date: date | None = None
    snapshot: SnapshotInfo | None = None

    @property
    def statuses(self) -> list[Status]:
        """The statuses presented, in catalogue order."""
        return [i.status for i in self.items]

    @property
    def rollups(self) -> list[Rollup]:
        """Each priority's roll-up of the statuses presented."""
        return [rollup(p.id, self.statuses, self.rollup_rule) for p in self.priorities]

    def items_of(self, priority: str) -> list[PackItem]:
        """The items of one priority."""
        return [i for i in self.items if i.priority == priority]

    @property
    def exceptions(self) -> dict[str, list[PackItem]]:
        """Items for the exception report: ``red``, ``concern`` (SPC) and ``missing`` (no data)."""
        return {
            "red": [i for i in self.items if i.status.rag == "red"],
            "concern": [i for i in self.items if i.status.variation == "special_cause_concern"
                        or i.status.assurance == "consistent_fail"],
            "missing": [i for i in self.items if i.status.rag == "no_data"],
        }

    def to_json(self) -> str:
        """The pack as JSON (what a snapshot stores)."""
        d = asdict(self)
        d["format"] = PACK_FORMAT
        d["meeting_date"] = self.meeting_date.isoformat() if self.meeting_date else None
        for item in d["items"]:
            item["status"]["notes"] = list(item["status"]["notes"])
        return json.dumps(d, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> PackData:
        """A pack from ``to_json`` output."""
        d = json.loads(text)
        fmt_version = d.pop("format", 1)
        if fmt_version > PACK_FORMAT:
            raise CspdashError(f"this pack was frozen by a newer cspdash (pack format {fmt_version}); upgrade cspdash")
        items = []
        for it in d.pop("items"):
            st = it.pop("status")
            st["notes"] = tuple(st.get("notes") or ())
            items.append(PackItem(status=Status(**st), commentary=tuple(Comment(**c) for c in it.pop("commentary")),
                                  history=tuple(it.pop("history")), **it))
        snap, meeting = d.pop("snapshot"), d.pop("meeting_date")
        return cls(priorities=tuple(PriorityInfo(**p) for p in d.pop("priorities")), items=tuple(items),
                   meeting_date=date.fromisoformat(meeting) if meeting else None,
                   snapshot=SnapshotInfo(**snap) if snap else None, **d)


def parse_meeting_date(value: date | str | None) -> date | None:
    """A meeting date from a ``date``, ``2026-03-12`` or ``12/03/2026`` (day first); None stays None."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CspdashError(f"meeting date {value!r} is not a date; write it as 2026-03-12 or 12/03/2026 (day first)")


def _when(ts: str | None) -> str | None:
    """``25 Nov 2025 10:41 UTC`` from a stored ISO timestamp (stored times are UTC)."""
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts).strftime("%d %b %Y %H:%M UTC")
    except ValueError:
        return ts


def _travel(ind: Indicator, s: Status) -> str:
    """``Up 12% on 2024/25 Q3 (worse)`` in words; ``-`` without a comparator."""
    if s.trend is None or s.value is None or s.comparator is None:
        return "-"
    on = f" on {s.comparator_period}" if s.comparator_period else ""
    if s.trend == "level":
        return f"Level{on}"
    if ind.unit == "percent":
        size = f" {abs(s.value - s.comparator):.1f} points"
    elif s.change_pct is None:
        size = ""
    else:
        a = abs(s.change_pct)
        size = f" {a:.0f}%" if a >= 10 or a == int(a) else f" {a:.1f}%"
    judged = {True: " (better)", False: " (worse)"}.get(s.improving, "")  # type: ignore[arg-type]
    return f"{'Up' if s.trend == 'up' else 'Down'}{size}{on}{judged}"


def _target_display(ind: Indicator, s: Status) -> str:
    if ind.target.type == "change" and s.target is not None:
        return f"{fmt(ind, s.target)} ({s.target_text.replace(' (relative)', ', relative')})"
    if ind.target.type == "cumulative" and s.target is not None:
        return f"{fmt(ind, s.target)} due so far ({fmt(ind, ind.target.value)} a year)"
    return s.target_text or "-"


def build_pack(store: Store, period: Period | str | None = None, meeting_date: date | str | None = None) -> PackData:
    """The pack for ``period`` (default: the latest complete quarter) from the store's current figures."""
    from cspdash import views  # the screen's own builders: the pack shows the numbers the pages show

    cat = store.cat
    if period is None:
        period = store.latest_complete_quarter()
        if period is None:
            raise CspdashError("the database has no figures yet; import a return first (or run `demo`)")
    quarter = parse_period(period, grain="quarter") if isinstance(period, str) else period.at("quarter")
    statuses = store.statuses(quarter)
    comments: dict[tuple[str, str], list[Comment]] = defaultdict(list)
    for c in store.commentary():
        comments[(c["indicator"], c["period"])].append(Comment(c["text"], c["user"], _when(c["uploaded_at"]) or ""))
    items = []
    for s in statuses:
        ind = cat.indicator(s.indicator)
        h = views.history_frame(store, ind.id, quarter)
        history = tuple({k: _plain(v) for k, v in row.items() if k != "start"} for row in h.to_dict("records"))
        rated = s.rated_period or quarter.at(rated_grain(ind)).label
        items.append(PackItem(
            indicator=ind.id, priority=ind.priority, title=ind.title, owner=cat.subgroup(ind.owner).name,
            unit=ind.unit, decimals=ind.decimals, synthetic=ind.synthetic, status=s, value_text=fmt(ind, s.value),
            target_display=_target_display(ind, s), travel=_travel(ind, s),
            variation_text=VARIATION_WORDS.get(s.variation or "", "Not judged (no SPC for this period)"),
            assurance_text=ASSURANCE_WORDS.get(s.assurance or "", "Not assessed (no fixed target)"),
            commentary=tuple(comments.get((ind.id, rated), ())), history=history,
            range_display="" if s.lower is None else views.range_shown(ind, s.lower, s.upper)))
    return PackData(
        partnership=cat.name, area=cat.area, marking=cat.marking, period=quarter.label,
        data_as_at=views.data_as_at(store), generated_at=datetime.now(UTC).strftime("%d %b %Y %H:%M UTC"),
        rollup_rule=cat.rollup, priorities=tuple(PriorityInfo(p.id, p.title, p.description) for p in cat.priorities),
        items=tuple(items), meeting_date=parse_meeting_date(meeting_date))


def _plain(v: Any) -> Any:
    """A JSON-safe scalar (NaN becomes None)."""
    if v is None or isinstance(v, str | bool | int):
        return v
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return None if math.isnan(f) else f


def resolve(store: Store | None, source: Any = None, meeting_date: date | str | None = None) -> PackData:
    """The pack to render: ``source`` is a PackData, a snapshot (anything with ``.pack``), or a period for a live pack."""
    if isinstance(source, PackData):
        return source
    if isinstance(getattr(source, "pack", None), PackData):
        return source.pack
    if store is None:
        raise CspdashError("a live pack needs the store; pass a Store, or a snapshot to render a frozen pack")
    return build_pack(store, source, meeting_date)


# ------------------------------------------------------------------------------------------------
# Text for the core fonts
# ------------------------------------------------------------------------------------------------

_LATIN1 = str.maketrans({
    "→": "->", "←": "<-", "↑": "up", "↓": "down", "–": "-", "—": "-", "−": "-", "‘": "'", "’": "'",
    "“": '"', "”": '"', "…": "...", "≥": ">=", "≤": "<=", "◀": "<", "•": "-", "\u00a0": " ", "\u2009": " ",
})


def latin1(text: object) -> str:
    """Text the PDF core fonts can show: common symbols spelled out, anything else outside Latin-1 as ``?``."""
    s = str(text).translate(_LATIN1)
    s = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", s)
    return s.encode("latin-1", "replace").decode("latin-1")


def _long_date(d: date) -> str:
    return f"{d:%A} {d.day} {d:%B %Y}"


def _span(period_label: str) -> str:
    p = parse_period(period_label, grain="quarter")
    return f"{p.start.day} {p.start:%B %Y} to {p.end.day} {p.end:%B %Y}"


# ------------------------------------------------------------------------------------------------
# Charts and their alternative text
# ------------------------------------------------------------------------------------------------

CHART_WIDTH_PX = 680
CHART_HEIGHT_PX = 150


def chart_png(item: PackItem) -> bytes | None:
    """The item's SPC history chart as a PNG, rendered on the server (no browser, no network); None without data."""
    if not item.history:
        return None
    import pandas as pd
    import vl_convert as vlc

    from cspdash import charts

    unit = {"count": "Count", "percent": "Percent (%)", "rate": "Rate"}.get(item.unit, item.unit.title())
    chart = charts.history_chart(pd.DataFrame(list(item.history)), y_title=unit, height=CHART_HEIGHT_PX)
    spec = chart.to_dict(validate=False)  # the builder's own output: validation costs ~0.1 s a chart
    spec["width"] = CHART_WIDTH_PX  # the screen's chart fills its container; a file needs a size
    spec["background"] = "white"
    return vlc.vegalite_to_png(spec, scale=2)


def chart_alt(item: PackItem) -> str:
    """A description of the chart for people who cannot see it: span, latest point, mean, limits, signals."""
    h = item.history
    if not h:
        return f"No chart for {item.indicator}: no complete figures yet."
    last = h[-1]
    ind_fmt = _formatter(item)
    parts = [f"SPC chart of {item.label}: {len(h)} points from {h[0]['period']} to {last['period']}.",
             f"Latest value {ind_fmt(last['value'])} in {last['period']}."]
    if last.get("mean") is not None:
        parts.append(f"Mean {ind_fmt(last['mean'])}.")
    if last.get("lpl") is not None and last.get("upl") is not None:
        parts.append(f"Process limits {ind_fmt(last['lpl'])} to {ind_fmt(last['upl'])}.")
    if last.get("target") is not None:
        parts.append(f"Target for the latest period {ind_fmt(last['target'])}.")
    special = [r for r in h if r.get("point_type") not in (None, "common_cause")]
    if special:
        listed = "; ".join(f"{r['period']} ({VARIATION_WORDS.get(r['point_type'], r['point_type']).lower()})"
                           for r in special[-6:])
        more = f" (latest {min(6, len(special))} of {len(special)} listed)" if len(special) > 6 else ""
        parts.append(f"Special-cause points{more}: {listed}.")
    else:
        parts.append("Every point shows common-cause variation.")
    return latin1(" ".join(parts))


def _formatter(item: PackItem):
    ind = Indicator(id=item.indicator, priority=item.priority, owner="", title=item.title, unit=item.unit,
                    frequency="quarterly", direction="neutral", target=None, decimals=item.decimals)  # type: ignore[arg-type]
    return lambda v: fmt(ind, v)


# ------------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------------

def _fpdf() -> SimpleNamespace:
    """fpdf2's classes, imported on first use (no work at import time)."""
    from fpdf import FPDF
    from fpdf.enums import MethodReturnValue, XPos, YPos
    from fpdf.prefs import ViewerPreferences
    from fpdf.structure_tree import StructElem, StructureTreeBuilder

    return SimpleNamespace(FPDF=FPDF, MRV=MethodReturnValue, XPos=XPos, YPos=YPos, ViewerPreferences=ViewerPreferences,
                           StructElem=StructElem, StructureTreeBuilder=StructureTreeBuilder)


def _make_tag_tree(pdf: Any) -> Any:
    """An fpdf2 structure-tree builder that nests elements (Table > TR > TD) under open groups."""
    fp = _fpdf()
    StructElem, StructureTreeBuilder = fp.StructElem, fp.StructureTreeBuilder

    class _TagTree(StructureTreeBuilder):
        def __init__(self) -> None:
            super().__init__()
            self._stack = [self.doc_struct_elem]
            self._elems: list[Any] = []
            self._mcids: dict[int, int] = defaultdict(int)

        def _attach(self, elem: Any, page_number: int) -> None:
            parent = self._stack[-1]
            elem.p = parent
            parent.k.append(elem)
            if parent is not self.doc_struct_elem:
                # fpdf2 sets /Pg only on the top level; nested elements get their page here.
                elem.pg = pdf.pages[page_number]
            self._elems.append(elem)

        def add_marked_content(self, page_number: int, struct_type: str, mcid: int | None = None,
                               title: str | None = None, alt_text: str | None = None) -> tuple[Any, int]:
            spid = self.spid_per_page_number.setdefault(page_number, len(self.spid_per_page_number))
            elem = StructElem(struct_type=struct_type, parent=self._stack[-1], kids=[] if mcid is None else [mcid],
                              page_number=page_number, title=title, alt=alt_text)
            self._attach(elem, page_number)
            if mcid is not None:
                self._mcids[page_number] += 1
            self.struct_tree_root.parent_tree.nums[spid].append(elem)
            return elem, spid

        def next_mcid_for_page(self, page_number: int) -> int:
            return self._mcids[page_number]

        def begin(self, struct_type: str, page_number: int) -> None:
            elem = StructElem(struct_type=struct_type, parent=self._stack[-1], kids=[], page_number=page_number)
            self._attach(elem, page_number)
            self._stack.append(elem)

        def end(self) -> None:
            self._stack.pop()

        def __iter__(self) -> Iterator[Any]:
            yield self.struct_tree_root
            yield self.doc_struct_elem
            yield self.struct_tree_root.parent_tree
            yield from self._elems

    return _TagTree()


@dataclass
class _Cell:
    text: str
    rag: str | None = None
    bold: bool = False
    align: str = "L"


@dataclass
class _Layout:
    margin: float = 16.0
    body: float = 10.0
    small: float = 8.5
    heading: dict[int, float] = field(default_factory=lambda: {1: 22.0, 2: 15.0, 3: 11.5})


def _new_doc(pack: PackData) -> Any:
    fp = _fpdf()
    layout = _Layout()
    title = f"{pack.partnership}: performance pack {pack.period}"

    class _Doc(fp.FPDF):
        def header(self) -> None:
            with self.artifact():
                self.set_font("Helvetica", "B", 9)
                self.set_text_color(0, 0, 0)
                self.set_xy(self.l_margin, 7)
                self.cell(self.epw, 5, latin1(pack.marking), align="C")
            self.set_xy(self.l_margin, self.t_margin)

        def footer(self) -> None:
            with self.artifact():
                self.set_font("Helvetica", "", 8)
                self.set_text_color(60, 60, 60)
                self.set_xy(self.l_margin, self.h - 12)
                self.cell(self.epw / 2, 4, latin1(f"{pack.partnership} - {pack.period}"[:90]))
                self.cell(self.epw / 2, 4, f"Page {self.page_no()} of {{nb}}", align="R")
                self.set_font("Helvetica", "B", 9)
                self.set_text_color(0, 0, 0)
                self.set_xy(self.l_margin, self.h - 8)
                self.cell(self.epw, 4, latin1(pack.marking), align="C")

        # --- tagging -------------------------------------------------------------------------
        @contextmanager
        def tag(self, struct_type: str, alt: str | None = None) -> Iterator[None]:
            mcid = self.struct_builder.next_mcid_for_page(self.page)
            self._add_marked_content(struct_type=f"/{struct_type}", mcid=mcid, alt_text=alt)
            start = self.page
            self._out(f"/{struct_type} <</MCID {mcid}>> BDC")
            yield
            if self.page != start:
                raise CspdashError(f"internal: a page break inside a tagged {struct_type}; measure before drawing")
            self._out("EMC")

        @contextmanager
        def group(self, struct_type: str) -> Iterator[None]:
            self.struct_builder.begin(f"/{struct_type}", self.page)
            try:
                yield
            finally:
                self.struct_builder.end()

        @contextmanager
        def artifact(self) -> Iterator[None]:
            self._out("/Artifact BMC")
            yield
            self._out("EMC")

    pdf = _Doc(orientation="P", unit="mm", format="A4")
    pdf.struct_builder = _make_tag_tree(pdf)
    pdf.layout = layout
    pdf.set_margins(layout.margin, 16, layout.margin)
    pdf.set_auto_page_break(True, margin=18)
    pdf.c_margin = 1.2
    pdf.set_lang("en-GB")
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(pack.partnership))
    pdf.set_subject(latin1(f"Quarterly performance of the partnership plan's indicators, {pack.period}"))
    pdf.set_creator("cspdash")
    pdf.set_keywords(latin1(f"{pack.marking}; community safety; performance; {pack.period}"))
    pdf.viewer_preferences = fp.ViewerPreferences(display_doc_title=True)
    return pdf


class _Writer:
    """Draws the pack's blocks on an fpdf2 document, tagging each one."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        fp = _fpdf()
        self.MRV, self.XPos, self.YPos = fp.MRV, fp.XPos, fp.YPos

    # --- primitives ----------------------------------------------------------------------------
    def room(self) -> float:
        return self.pdf.page_break_trigger - self.pdf.y

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` mm fit below the cursor."""
        if self.room() < height:
            self.pdf.add_page()

    def _lines(self, text: str, w: float, size: float, style: str = "") -> list[str]:
        self.pdf.set_font("Helvetica", style, size)
        return self.pdf.multi_cell(w, size * 0.45, text, dry_run=True, output=self.MRV.LINES) or [""]

    def heading(self, text: str, level: int, outline: bool = True, keep: float = 40.0) -> None:
        """A tagged heading (H1-H3) that is kept with the ``keep`` mm that follow it, and an outline entry."""
        pdf = self.pdf
        size = pdf.layout.heading[level]
        text = latin1(text)
        lines = self._lines(text, pdf.epw, size, "B")
        gap = {1: 2.0, 2: 4.0, 3: 3.0}[level]
        height = gap + len(lines) * size * 0.45
        self.need(height + min(keep, pdf.page_break_trigger - pdf.t_margin - height))
        if pdf.y > pdf.t_margin + 1:
            pdf.ln(gap)
        if outline:
            pdf.start_section(text, level=max(0, level - 2) if level > 1 else 0, strict=False)
        pdf.set_text_color(0, 0, 0)
        with pdf.tag(f"H{level}"):
            pdf.set_font("Helvetica", "B", size)
            pdf.multi_cell(pdf.epw, size * 0.45, "\n".join(lines), align="L",
                           new_x=self.XPos.LMARGIN, new_y=self.YPos.NEXT)
        pdf.ln(1.2 if level > 1 else 2)

    def para(self, text: str, size: float | None = None, style: str = "", colour: tuple[int, int, int] = (0, 0, 0),
             gap: float = 1.6, indent: float = 0.0) -> None:
        """A tagged paragraph, split across pages in whole lines when it is long."""
        pdf = self.pdf
        size = size or pdf.layout.body
        lh = size * 0.45
        w = pdf.epw - indent
        lines = self._lines(latin1(text), w, size, style)
        while lines:
            fit = int(self.room() // lh)
            if fit < min(2, len(lines)):
                pdf.add_page()
                continue
            chunk, lines = lines[:fit], lines[fit:]
            pdf.set_text_color(*colour)
            pdf.set_x(pdf.l_margin + indent)
            with pdf.tag("P"):
                pdf.set_font("Helvetica", style, size)
                pdf.multi_cell(w, lh, "\n".join(chunk), align="L", new_x=self.XPos.LMARGIN, new_y=self.YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(gap)

    def shape(self, rag: str, x: float, y: float, size: float = 3.2) -> None:
        """The RAG shape (an artifact: the word next to it carries the meaning)."""
        pdf = self.pdf
        r, g, b = RAG_RGB.get(rag, (110, 110, 110))
        kind = RAG_SHAPE.get(rag, "ring")
        with pdf.artifact():
            pdf.set_fill_color(r, g, b)
            pdf.set_draw_color(r, g, b)
            pdf.set_line_width(0.5)
            half = size / 2
            cx, cy = x + half, y + half
            if kind == "circle":
                pdf.circle(cx, cy, half, style="F")
            elif kind == "ring":
                pdf.circle(cx, cy, half - 0.25, style="D")
            elif kind == "square":
                pdf.rect(x + 0.15, y + 0.15, size - 0.3, size - 0.3, style="F")
            elif kind == "triangle":
                pdf.polygon([(cx, y - 0.1), (x + size + 0.2, y + size), (x - 0.2, y + size)], style="F")
            else:  # diamond
                pdf.polygon([(cx, y), (x + size, cy), (cx, y + size), (x, cy)], style="D")
            pdf.set_line_width(0.2)
            pdf.set_draw_color(0, 0, 0)

    def rag_line(self, rag: str, text: str, size: float = 11.0) -> None:
        """A paragraph led by the RAG shape and word: ``[shape] RED  rest``."""
        pdf = self.pdf
        lh = size * 0.45
        word = RAG_WORDS.get(rag, rag.upper())
        pdf.set_font("Helvetica", "B", size)
        word_w = pdf.get_string_width(word) + 2
        self.need(len(self._lines(latin1(text), pdf.epw - 5 - word_w, size)) * lh + 2)
        self.shape(rag, pdf.l_margin, pdf.y + (lh - 3.2) / 2)
        pdf.set_x(pdf.l_margin + 5)
        with pdf.tag("P"):
            pdf.set_font("Helvetica", "B", size)
            pdf.cell(word_w, lh, word)
            pdf.set_font("Helvetica", "", size)
            pdf.multi_cell(pdf.epw - 5 - word_w, lh, latin1(text), align="L",
                           new_x=self.XPos.LMARGIN, new_y=self.YPos.NEXT)
        pdf.ln(1)

    # --- tables --------------------------------------------------------------------------------
    def table(self, headers: Sequence[str] | None, widths: Sequence[float], rows: Sequence[list[_Cell] | _Cell],
              size: float | None = None) -> None:
        """A tagged table (Table > TR > TH/TD); a bare ``_Cell`` row is a band across every column.

        Without ``headers`` the first column holds row headers (a key-value table).
        """
        pdf = self.pdf
        size = size or pdf.layout.small
        scale = pdf.epw / sum(widths)
        widths = [w * scale for w in widths]
        body = next((r for r in rows if not isinstance(r, _Cell)), None)
        head = [_Cell(h, bold=True, align=body[k].align if body else "L") for k, h in enumerate(headers or ())]
        head_h = self._row_height(head, widths, size) if head else 0.0
        first = rows[0] if rows else None
        first_h = self._row_height([first] if isinstance(first, _Cell) else first, [pdf.epw] if isinstance(first, _Cell)
                                   else widths, size) if first is not None else 0
        self.need(head_h + first_h + 1)
        with pdf.group("Table"):
            if head:
                self._row(head, widths, head_h, size, header=True, tagged=True)
            for row in rows:
                cells, ws = ([row], [pdf.epw]) if isinstance(row, _Cell) else (row, widths)
                h = self._row_height(cells, ws, size)
                if self.room() < h:
                    pdf.add_page()
                    if head:
                        self._row(head, widths, head_h, size, header=True, tagged=False)  # repeated: an artifact
                self._row(cells, ws, h, size, band=isinstance(row, _Cell), row_headers=not head)
        pdf.ln(3)

    def _cell_lines(self, cell: _Cell, w: float, size: float) -> list[str]:
        icon = 5.0 if cell.rag else 0.0
        lines = self._lines(latin1(cell.text), w - icon, size, "B" if cell.bold else "")
        most = int((self.pdf.page_break_trigger - self.pdf.t_margin - 20) // (size * 0.45))
        return lines if len(lines) <= most else [*lines[:most - 1], "[continues: cut to fit the page]"]

    def _row_height(self, cells: Sequence[_Cell], widths: Sequence[float], size: float) -> float:
        n = max(len(self._cell_lines(c, w, size)) for c, w in zip(cells, widths, strict=True))
        return n * size * 0.45 + 2.4

    def _row(self, cells: Sequence[_Cell], widths: Sequence[float], h: float, size: float, header: bool = False,
             band: bool = False, tagged: bool = True, row_headers: bool = False) -> None:
        pdf = self.pdf
        x, y = pdf.l_margin, pdf.y
        lh = size * 0.45
        with pdf.artifact():
            if header:
                pdf.set_fill_color(38, 50, 72)
                pdf.rect(x, y, sum(widths), h, style="F")
            elif band:
                pdf.set_fill_color(228, 232, 238)
                pdf.rect(x, y, sum(widths), h, style="F")
            pdf.set_draw_color(150, 150, 150)
            pdf.set_line_width(0.2)
            pdf.line(x, y + h, x + sum(widths), y + h)
            pdf.set_draw_color(0, 0, 0)

        def draw() -> None:
            cx = x
            for k, (cell, w) in enumerate(zip(cells, widths, strict=True)):
                icon = 0.0
                if cell.rag:
                    self.shape(cell.rag, cx + 1.2, y + 1.2 + (lh - 3.2) / 2)
                    icon = 5.0
                pdf.set_xy(cx + icon, y + 1.2)
                pdf.set_text_color(*((255, 255, 255) if header else (0, 0, 0)))
                text = "\n".join(self._cell_lines(cell, w, size))
                style = "B" if cell.bold or header else ""
                if tagged:
                    with pdf.tag("TH" if header or band or (row_headers and k == 0) else "TD"):
                        pdf.set_font("Helvetica", style, size)
                        pdf.multi_cell(w - icon, lh, text, align=cell.align, new_x=self.XPos.RIGHT, new_y=self.YPos.TOP)
                else:
                    with pdf.artifact():
                        pdf.set_font("Helvetica", style, size)
                        pdf.multi_cell(w - icon, lh, text, align=cell.align, new_x=self.XPos.RIGHT, new_y=self.YPos.TOP)
                cx += w
            pdf.set_text_color(0, 0, 0)

        if tagged:
            with pdf.group("TR"):
                draw()
        else:
            draw()
        pdf.set_xy(pdf.l_margin, y + h)

    def table_height(self, headers: Sequence[str], widths: Sequence[float], rows: Sequence[list[_Cell]],
                     size: float | None = None) -> float:
        """The height ``table`` will take (rows of cells only)."""
        size = size or self.pdf.layout.small
        scale = self.pdf.epw / sum(widths)
        ws = [w * scale for w in widths]
        return (self._row_height([_Cell(h, bold=True) for h in headers], ws, size)
                + sum(self._row_height(r, ws, size) for r in rows) + 3)

    def text_height(self, text: str, size: float, gap: float = 1.6, style: str = "") -> float:
        """The height ``para`` will take."""
        return len(self._lines(latin1(text), self.pdf.epw, size, style)) * size * 0.45 + gap

    # --- figures -------------------------------------------------------------------------------
    def figure_height(self, png: bytes) -> float:
        """The height of a chart drawn across the text width."""
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            w_px, h_px = im.size
        return self.pdf.epw * h_px / w_px + 2

    def figure(self, png: bytes, alt: str) -> None:
        """A chart across the text width, tagged as a Figure with its alternative text."""
        pdf = self.pdf
        h = self.figure_height(png) - 2
        w = pdf.epw
        self.need(h + 2)
        pdf.image(io.BytesIO(png), x=pdf.l_margin, y=pdf.y, w=w, h=h, alt_text=alt)
        pdf.set_y(pdf.y + h + 2)


SUMMARY_HEADERS = ("ID", "Indicator", "Value", "Target", "Status", "Direction of travel")
SUMMARY_WIDTHS = (9, 63, 18, 34, 24, 32)


def _summary_rows(pack: PackData, priority: str | None = None) -> list[list[_Cell] | _Cell]:
    rows: list[list[_Cell] | _Cell] = []
    rolls = {r.priority: r for r in pack.rollups}
    for p in pack.priorities:
        if priority is not None and p.id != priority:
            continue
        r = rolls[p.id]
        if priority is None:
            rows.append(_Cell(f"Priority {p.id}: {p.title} - overall {RAG_WORDS[r.overall]} "
                              f"({headline(pack.statuses, p.id)})", rag=r.overall, bold=True))
        for it in pack.items_of(p.id):
            rows.append([_Cell(it.indicator), _Cell(it.title), _Cell(it.value_text, align="R"), _Cell(it.target_display),
                         _Cell(RAG_WORDS.get(it.status.rag, it.status.rag), rag=it.status.rag, bold=True),
                         _Cell(it.travel)])
    return rows


def _cover(w: _Writer, pack: PackData) -> None:
    pdf = w.pdf
    pdf.add_page()
    pdf.set_y(34)
    w.para(pack.partnership, size=14, style="B", gap=4)
    w.heading(f"Quarterly performance report: {pack.period}", 1, keep=20)
    w.para(f"Figures for {_span(pack.period)}.", size=12, gap=8)
    meeting = _long_date(pack.meeting_date) if pack.meeting_date else "not set"
    facts = [("Meeting", meeting), ("Quarter", pack.period), ("Data as at", pack.data_as_at or "no uploads yet"),
             ("Security marking", pack.marking)]
    if pack.snapshot:
        s = pack.snapshot
        facts.append(("Figures", f"Frozen for this meeting by {s.frozen_by} on {s.frozen_at} (snapshot {s.snapshot_id}); "
                                 "later restatements do not change this pack."))
    else:
        facts.append(("Figures", f"Live from the database, produced {pack.generated_at}."))
    w.table(None, (40, 140), [[_Cell(k, bold=True), _Cell(v)] for k, v in facts], size=10)
    w.heading("At a glance", 2, keep=50)
    w.para(f"{len(pack.items)} indicators: {headline(pack.statuses)}.", size=11)
    rows = []
    for p, r in zip(pack.priorities, pack.rollups, strict=True):
        rows.append([_Cell(f"{p.id}: {p.title}"), _Cell(RAG_WORDS[r.overall], rag=r.overall, bold=True),
                     _Cell(headline(pack.statuses, p.id))])
    w.table(("Priority", "Overall", "Indicators"), (90, 30, 60), rows, size=10)
    ex = pack.exceptions
    w.para(f"Exceptions: {len(ex['red'])} red, {len(ex['concern'])} statistical concern(s), "
           f"{len(ex['missing'])} missing return(s) - see the exception report.", size=11)
    rule = {"worst": "the worst rated indicator decides",
            "majority": "the most common rated status decides, ties to the worse"}.get(pack.rollup_rule, pack.rollup_rule)
    w.para(f"A priority's overall status: {rule}; NO DATA and MONITOR indicators are counted but do not decide it.",
           size=9, colour=(60, 60, 60))


def _key(w: _Writer) -> None:
    w.para("How to read the status: each status is a word and a shape, never a colour alone.", size=9, gap=0.8)
    rows = [[_Cell("GREEN", rag="green", bold=True), _Cell("the target is met beyond chance (its 95% range is wholly on "
                                                          "the good side)")],
            [_Cell("AMBER", rag="amber", bold=True), _Cell("within tolerance (close to the target), could be chance (the "
                                                          "95% range includes the target) or too small to tell")],
            [_Cell("RED", rag="red", bold=True), _Cell("off the target by more than its tolerance, beyond chance")],
            [_Cell("NO DATA", rag="no_data", bold=True), _Cell("the figure (or its comparator) is missing or incomplete")],
            [_Cell("MONITOR", rag="monitor", bold=True), _Cell("no target: shown for information")]]
    w.table(("Status", "Meaning"), (30, 150), rows, size=8.5)


def _summary(w: _Writer, pack: PackData) -> None:
    w.pdf.add_page()
    w.heading("Summary of indicators", 2, keep=60)
    w.para(f"Every indicator's figure for {pack.period} against its target; the direction of travel compares it with "
           "the same quarter last year unless stated.", size=9.5)
    _key(w)
    w.table(SUMMARY_HEADERS, SUMMARY_WIDTHS, _summary_rows(pack))


def _exceptions(w: _Writer, pack: PackData) -> None:
    ex = pack.exceptions
    w.heading("Exception report", 2, keep=60)
    w.para("Indicators the partnership should discuss: every red status, every statistical concern (special-cause "
           "variation in the wrong direction, or a process that will consistently miss its target) and every "
           "missing return.", size=9.5)
    sections = [
        ("red", "Red indicators", lambda i: i.status.reason),
        ("concern", "Statistical concerns (SPC)", lambda i: f"{i.variation_text}. {i.assurance_text}. {i.status.reason}"),
        ("missing", "Missing returns", lambda i: i.status.reason),
    ]
    for key, title, why in sections:
        items = ex[key]
        w.heading(f"{title} ({len(items)})", 3, keep=20)
        if not items:
            w.para("None this quarter.")
            continue
        w.table(("Indicator", "Owner", "Why"), (62, 38, 80),
                [[_Cell(i.label, bold=True), _Cell(i.owner), _Cell(why(i))] for i in items])


def _priority(w: _Writer, pack: PackData, p: PriorityInfo, roll: Rollup) -> None:
    pdf = w.pdf
    pdf.add_page()
    w.heading(f"Priority {p.id}: {p.title}", 2, keep=60)
    if p.description:
        w.para(p.description, size=9.5, colour=(50, 50, 50))
    w.rag_line(roll.overall, f"overall: {headline(pack.statuses, p.id)}.")
    for it in pack.items_of(p.id):
        png = chart_png(it)
        s = it.status
        status_headers = ("Status", "Value (95% range)", "Target", "Direction of travel", "Variation (SPC)",
                          "Assurance")
        status_widths = (24, 27, 31, 33, 34, 31)
        word = RAG_WORDS.get(s.rag, s.rag) + (f" ({AMBER_WORDS[s.amber_reason]})" if s.amber_reason else "")
        status_row = [_Cell(word, rag=s.rag, bold=True), _Cell(_value_range(it), align="R"),
                      _Cell(it.target_display), _Cell(it.travel), _Cell(it.variation_text), _Cell(it.assurance_text)]
        owner = f"Owner: {it.owner}. Figure for {s.rated_period or s.period}."
        if it.synthetic:
            owner += " Synthetic demonstration figures, not real data."
        notes = "Notes: " + " ".join(s.notes) if s.notes else ""
        # Keep the heading, status, reasons and chart of an indicator on one page.
        keep = (w.table_height(status_headers, status_widths, [status_row]) + w.text_height(f"Why: {s.reason}", 9.5, 1)
                + w.text_height(owner, 8.5, 1) + (w.text_height(notes, 8.5, 1) if notes else 0)
                + (w.figure_height(png) if png else 8))
        w.heading(it.label, 3, keep=keep)
        w.table(status_headers, status_widths, [status_row], size=8.5)
        w.para(f"Why: {s.reason}", size=9.5, gap=1)
        w.para(owner, size=8.5, colour=(60, 60, 60), gap=1)
        if notes:
            w.para(notes, size=8.5, colour=(60, 60, 60), gap=1)
        if png:
            w.figure(png, chart_alt(it))
        else:
            w.para("No chart: no complete figures yet.", size=9)
        if it.commentary:
            for c in it.commentary:
                by = f"Commentary from {c.user}, {c.at}:"
                w.need(w.text_height(by, 9.5, 0.5, "B") + min(w.text_height(c.text, 9.5), 3 * 9.5 * 0.45))
                w.para(by, size=9.5, style="B", gap=0.5)
                w.para(c.text, size=9.5, indent=4)
        else:
            w.para("No commentary was submitted for this quarter.", size=9.5, colour=(60, 60, 60))


def _value_range(it: PackItem) -> str:
    """``653 (604-705)``: the value and its 95% range, or the value alone when it has none."""
    return f"{it.value_text} ({it.range_display})" if it.range_display else it.value_text


def _about(w: _Writer, pack: PackData) -> None:
    w.heading("About this pack", 2, keep=30)
    for text in (
        "Status rules: each indicator is judged against its target in the partnership plan. Every figure has a 95% "
        "range: exact Poisson (Garwood) for counts, Wilson score for percentages of a known number of cases. GREEN "
        "means the target is met beyond chance (the whole range is on the good side of the target, or the figure is "
        "the best possible, such as 0 against at most 0); RED means the target is missed by more than the tolerance "
        "and beyond chance (the whole range is on the bad side). Otherwise the status is AMBER, of one of three kinds: "
        "'within tolerance' (short of the target by less than the tolerance), 'could be chance' (met or missed on its "
        "face, but the range includes the target), or 'too small to tell' (too few cases to rate).",
        "RAG and SPC together: when a GREEN or RED disagrees with the SPC chart (for example RED on common-cause "
        "variation), the reason says so in one more sentence.",
        "Statistical process control (SPC): the charts are XmR charts in the NHS 'Making Data Count' style. The middle "
        "line is the mean; the dashed lines are the process limits, within which figures vary by chance alone. Points "
        "marked as special cause show a real change: an improvement, a concern, or an unusual value.",
        "Direction of travel compares the figure with the comparator of its target (normally the same quarter last "
        "year); '(better)' and '(worse)' follow the direction the plan wants.",
        f"Data as at {pack.data_as_at or 'no uploads yet'}. Every figure is kept in the dashboard with the file, person "
        "and time it came from; see the History page.",
    ):
        w.para(text, size=9.5)


def render_pdf(pack: PackData) -> bytes:
    """The pack as a tagged PDF: cover, summary, exception report, one section per priority, notes."""
    pdf = _new_doc(pack)
    w = _Writer(pdf)
    _cover(w, pack)
    _summary(w, pack)
    _exceptions(w, pack)
    for p, roll in zip(pack.priorities, pack.rollups, strict=True):
        _priority(w, pack, p, roll)
    _about(w, pack)
    return bytes(pdf.output())


def build_pdf(store: Store | None, period: Any, out_path_or_buffer: str | Path | IO[bytes],
              meeting_date: date | str | None = None) -> None:
    """Write the meeting pack PDF for ``period`` (a Period or label; None: the latest complete quarter).

    ``period`` may instead be a snapshot (``snapshots.load``) or a ``PackData``: the frozen figures are rendered.
    """
    _write(render_pdf(resolve(store, period, meeting_date)), out_path_or_buffer)


# ------------------------------------------------------------------------------------------------
# XLSX
# ------------------------------------------------------------------------------------------------

XLSX_COLUMNS: tuple[tuple[str, float], ...] = (
    ("ID", 6), ("Indicator", 42), ("Priority", 8), ("Owner", 24), ("Period", 11), ("Value", 11), ("Target level", 11),
    ("Target", 24), ("Comparator", 11), ("Compared with", 13), ("Change %", 9), ("Direction of travel", 26),
    ("Status", 10), ("Variation (SPC)", 24), ("Assurance", 22), ("Reason", 60), ("Commentary", 60),
)
XLSX_HEADER_ROW = 4
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _number_format(item: PackItem) -> str:
    d = "0" if item.decimals == 0 else "0." + "0" * item.decimals
    return {"count": f"#,##{d}", "percent": f'{d}"%"'}.get(item.unit, f"#,##{'0.0' if item.decimals == 0 else d}")


def _sheet_title(p: PriorityInfo) -> str:
    name = " ".join(re.sub(r"[\[\]:*?/\\]", " ", f"{p.id} {p.title}").split())
    if len(name) <= 31:
        return name
    cut = name[:31]
    return (cut[:cut.rfind(" ")] if " " in cut[2:] else cut).rstrip(" ,;-")  # whole words where possible


def _put(ws: Any, row: int, col: int, value: Any, number_format: str | None = None) -> Any:
    """Write a cell; text that a spreadsheet would read as a formula (= + - @) is kept as text."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
        cell.value = value
        if value.startswith(_FORMULA_START):
            cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
    else:
        cell.value = value
        if number_format and isinstance(value, int | float):
            cell.number_format = number_format
    return cell


def _xlsx_sheet(ws: Any, pack: PackData, items: Sequence[PackItem], title: str) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    _put(ws, 1, 1, title).font = Font(bold=True, size=14)
    meeting = _long_date(pack.meeting_date) if pack.meeting_date else "not set"
    _put(ws, 2, 1, f"{pack.partnership}. Quarter {pack.period}; meeting {meeting}; data as at "
                   f"{pack.data_as_at or 'no uploads yet'}. {pack.marking}")
    if pack.snapshot:
        s = pack.snapshot
        _put(ws, 3, 1, f"Frozen for the meeting by {s.frozen_by} on {s.frozen_at} (snapshot {s.snapshot_id}).")
    else:
        _put(ws, 3, 1, f"Live figures, produced {pack.generated_at}.")
    head = XLSX_HEADER_ROW
    dark = PatternFill("solid", start_color="263248")
    for c, (name, width) in enumerate(XLSX_COLUMNS, start=1):
        cell = _put(ws, head, c, name)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = dark
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(c)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, it in enumerate(items, start=head + 1):
        s = it.status
        nf = _number_format(it)
        values = [it.indicator, it.title, it.priority, it.owner, s.rated_period or s.period, (s.value, nf),
                  (s.target, nf), s.target_text, (s.comparator, nf), s.comparator_period,
                  (None if s.change_pct is None else s.change_pct / 100, "0.0%"), it.travel,
                  RAG_WORDS.get(s.rag, s.rag), it.variation_text, it.assurance_text, s.reason,
                  "\n\n".join(f"{c.text} ({c.user}, {c.at})" for c in it.commentary)]
        for c, v in enumerate(values, start=1):
            value, nf_ = v if isinstance(v, tuple) else (v, None)
            cell = _put(ws, r, c, value, nf_)
            cell.alignment = wrap
        status = ws.cell(row=r, column=13)
        rgb = RAG_RGB.get(s.rag, (110, 110, 110))
        status.fill = PatternFill("solid", start_color="".join(f"{c:02X}" for c in rgb))
        status.font = Font(bold=True, color="000000" if s.rag == "amber" else "FFFFFF")
    ws.freeze_panes = ws.cell(row=head + 1, column=3)
    ws.print_title_rows = f"{head}:{head}"
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(XLSX_COLUMNS))}{head + max(len(items), 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddHeader.center.text = pack.marking.replace("&", "&&")
    ws.oddHeader.center.font = "Arial,Bold"
    ws.oddFooter.left.text = f"{pack.partnership} - {pack.period}".replace("&", "&&")
    ws.oddFooter.center.text = pack.marking.replace("&", "&&")
    ws.oddFooter.right.text = "Page &P of &N"


def render_xlsx(pack: PackData) -> bytes:
    """The pack as a workbook: a summary sheet of every indicator and one sheet per priority, ready to print."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    _xlsx_sheet(ws, pack, pack.items, f"Performance scorecard {pack.period}: all indicators")
    for p in pack.priorities:
        _xlsx_sheet(wb.create_sheet(_sheet_title(p)), pack, pack.items_of(p.id), f"Priority {p.id}: {p.title}")
    wb.properties.title = f"{pack.partnership}: performance scorecard {pack.period}"
    wb.properties.creator = "cspdash"
    wb.properties.keywords = pack.marking
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_xlsx(store: Store | None, period: Any, out_path_or_buffer: str | Path | IO[bytes],
               meeting_date: date | str | None = None) -> None:
    """Write the scorecard workbook for ``period`` (or a snapshot / PackData, as ``build_pdf``)."""
    _write(render_xlsx(resolve(store, period, meeting_date)), out_path_or_buffer)


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------

def _write(data: bytes, out: str | Path | IO[bytes]) -> None:
    if isinstance(out, str | Path):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        out.write(data)


BUILDERS = {".pdf": build_pdf, ".xlsx": build_xlsx}


def write_pack(store: Store, out: str | Path, period: Any = None, meeting_date: date | str | None = None) -> Path:
    """Write the PDF or the workbook, chosen by ``out``'s extension (.pdf or .xlsx); returns the path."""
    path = Path(out)
    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise CspdashError(f"--out {out}: the pack is written as .pdf or .xlsx, not {path.suffix or 'no extension'}; "
                           "end the file name with .pdf or .xlsx")
    builder(store, period, path, meeting_date)
    return path


def file_name(pack: PackData, extension: str) -> str:
    """``csp-pack-2025-26-Q3.pdf`` (with ``-snapshot-7`` for a frozen pack)."""
    tag = pack.period.replace("/", "-").replace(" ", "-")
    snap = f"-snapshot-{pack.snapshot.snapshot_id}" if pack.snapshot else ""
    return f"csp-pack-{tag}{snap}.{extension.lstrip('.')}"


def with_snapshot(pack: PackData, info: SnapshotInfo, meeting_date: date) -> PackData:
    """The pack marked as frozen (used by ``snapshots.load``)."""
    return replace(pack, snapshot=info, meeting_date=meeting_date)
