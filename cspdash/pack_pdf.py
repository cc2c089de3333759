"""The meeting pack as a PDF committee paper: cover, summary, exception report, one section per priority with
each indicator's status, reasons, chart and commentary, and notes on reading it.
"""

from __future__ import annotations

from cspdash.pack import PackData, PackItem, PriorityInfo
from cspdash.pack_charts import chart_alt, chart_drawing, comparison_alts, comparison_drawings, per
from cspdash.pdf_writer import Cell, Writer, new_doc
from cspdash.status import Rollup, headline
from cspdash.vocab import AMBER_WORDS, RAG_MEANING, RAG_WORDS, RAGS
from cspdash.wording import long_date, quarter_span

SUMMARY_HEADERS = ("ID", "Indicator", "Value", "Target", "Status", "Direction of travel")
SUMMARY_WIDTHS = (9, 63, 18, 34, 24, 32)


def _summary_rows(pack: PackData, priority: str | None = None) -> list[list[Cell] | Cell]:
    rows: list[list[Cell] | Cell] = []
    rolls = {r.priority: r for r in pack.rollups}
    for p in pack.priorities:
        if priority is not None and p.id != priority:
            continue
        r = rolls[p.id]
        if priority is None:
            rows.append(Cell(f"Priority {p.id}: {p.title} - overall {RAG_WORDS[r.overall]} "
                              f"({headline(pack.statuses, p.id)})", rag=r.overall, bold=True))
        for it in pack.items_of(p.id):
            rows.append([Cell(it.indicator), Cell(it.title), Cell(it.value_text, align="R"), Cell(it.target_display),
                         Cell(RAG_WORDS.get(it.status.rag, it.status.rag), rag=it.status.rag, bold=True),
                         Cell(it.travel)])
    return rows


def _cover(w: Writer, pack: PackData) -> None:
    pdf = w.pdf
    pdf.add_page()
    pdf.set_y(34)
    w.para(pack.partnership, size=14, style="B", gap=4)
    w.heading(f"Quarterly performance report: {pack.period}", 1, keep=20)
    w.para(f"Figures for {quarter_span(pack.period)}.", size=12, gap=8)
    meeting = long_date(pack.meeting_date) if pack.meeting_date else "not set"
    facts = [("Meeting", meeting), ("Quarter", pack.period), ("Data as at", pack.data_as_at or "no uploads yet"),
             ("Security marking", pack.marking)]
    if pack.snapshot:
        s = pack.snapshot
        facts.append(("Figures", f"Frozen for this meeting by {s.frozen_by} on {s.frozen_at} (snapshot {s.snapshot_id}); "
                                 "later restatements do not change this pack."))
    else:
        facts.append(("Figures", f"Live from the database, produced {pack.generated_at}."))
    w.table(None, (40, 140), [[Cell(k, bold=True), Cell(v)] for k, v in facts], size=10)
    w.heading("At a glance", 2, keep=50)
    w.para(f"{len(pack.items)} indicators: {headline(pack.statuses)}.", size=11)
    rows = []
    for p, r in zip(pack.priorities, pack.rollups, strict=True):
        rows.append([Cell(f"{p.id}: {p.title}"), Cell(RAG_WORDS[r.overall], rag=r.overall, bold=True),
                     Cell(headline(pack.statuses, p.id))])
    w.table(("Priority", "Overall", "Indicators"), (90, 30, 60), rows, size=10)
    ex = pack.exceptions
    w.para(f"Exceptions: {len(ex['red'])} red, {len(ex['concern'])} statistical concern(s), "
           f"{len(ex['missing'])} missing return(s) - see the exception report.", size=11)
    rule = {"worst": "the worst rated indicator decides",
            "majority": "the most common rated status decides, ties to the worse"}.get(pack.rollup_rule, pack.rollup_rule)
    w.para(f"A priority's overall status: {rule}; NO DATA and MONITOR indicators are counted but do not decide it.",
           size=9, colour=(60, 60, 60))


def _key(w: Writer) -> None:
    w.para("How to read the status: each status is a word and a shape, never a colour alone.", size=9, gap=0.8)
    rows = [[Cell(RAG_WORDS[k], rag=k, bold=True), Cell(RAG_MEANING[k])] for k in RAGS]
    w.table(("Status", "Meaning"), (30, 150), rows, size=8.5)


def _summary(w: Writer, pack: PackData) -> None:
    w.pdf.add_page()
    w.heading("Summary of indicators", 2, keep=60)
    w.para(f"Every indicator's figure for {pack.period} against its target; the direction of travel compares it with "
           "the same quarter last year unless stated.", size=9.5)
    _key(w)
    w.table(SUMMARY_HEADERS, SUMMARY_WIDTHS, _summary_rows(pack))


def _exceptions(w: Writer, pack: PackData) -> None:
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
                [[Cell(i.label, bold=True), Cell(i.owner), Cell(why(i))] for i in items])


def _priority(w: Writer, pack: PackData, p: PriorityInfo, roll: Rollup) -> None:
    pdf = w.pdf
    pdf.add_page()
    w.heading(f"Priority {p.id}: {p.title}", 2, keep=60)
    if p.description:
        w.para(p.description, size=9.5, colour=(50, 50, 50))
    w.rag_line(roll.overall, f"overall: {headline(pack.statuses, p.id)}.")
    for it in pack.items_of(p.id):
        chart = chart_drawing(it, pdf.epw)
        s = it.status
        status_headers = ("Status", "Value (95% range)", "Target", "Direction of travel", "Variation (SPC)",
                          "Assurance")
        status_widths = (24, 27, 31, 33, 34, 31)
        word = RAG_WORDS.get(s.rag, s.rag) + (f" ({AMBER_WORDS[s.amber_reason]})" if s.amber_reason else "")
        status_row = [Cell(word, rag=s.rag, bold=True), Cell(_value_range(it), align="R"),
                      Cell(it.target_display), Cell(it.travel), Cell(it.variation_text), Cell(it.assurance_text)]
        owner = f"Owner: {it.owner}. Figure for {s.rated_period or s.period}."
        if it.synthetic:
            owner += " Synthetic demonstration figures, not real data."
        owner += f" Target source: {it.target_source}. Target agreed: {it.target_agreed}."
        notes = "Notes: " + " ".join(s.notes) if s.notes else ""
        # Keep the heading, status, reasons and chart of an indicator on one page.
        keep = (w.table_height(status_headers, status_widths, [status_row]) + w.text_height(f"Why: {s.reason}", 9.5, 1)
                + w.text_height(owner, 8.5, 1) + (w.text_height(notes, 8.5, 1) if notes else 0)
                + (chart[0] + 2 if chart else 8))
        w.heading(it.label, 3, keep=keep)
        w.table(status_headers, status_widths, [status_row], size=8.5)
        w.para(f"Why: {s.reason}", size=9.5, gap=1)
        w.para(owner, size=8.5, colour=(60, 60, 60), gap=1)
        if notes:
            w.para(notes, size=8.5, colour=(60, 60, 60), gap=1)
        if chart:
            w.drawing(*chart, chart_alt(it))
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
        if it.comparison:
            _comparison(w, pack, it)


RATE_HEADERS = ("Rank", "Area", "Count", "Residents", "Rate", "95% interval", "Against London")
RATE_WIDTHS = (11, 55, 18, 24, 18, 30, 24)


def _comparison(w: Writer, pack: PackData, it: PackItem) -> None:
    """An indicator's rates against the other London boroughs: sentence, funnel plot, ranked rates, table."""
    from cspdash.compare import rate_text

    cmp = it.comparison or {}
    title = f"{it.indicator} compared with the other London boroughs ({per(cmp)})"
    w.need(w.text_height(title, 10, 1, "B") + 30)
    w.para(title, size=10, style="B", gap=1)
    if cmp.get("sentence"):
        w.para(cmp["sentence"], size=9.5, gap=1)
    if cmp.get("note"):
        w.para(cmp["note"], size=8.5, colour=(60, 60, 60), gap=1)
    drawings = comparison_drawings(it, pack.area, w.pdf.epw)
    if drawings is None:
        return
    alts = comparison_alts(it, pack.area)
    for (height, draw), alt in zip(drawings, alts, strict=True):
        w.drawing(height, draw, alt)
    rows = [[Cell(str(r["rank"]), align="R"),
             Cell(r["area"] + (" (this partnership)" if r["own"] else " (most-similar group)" if r["similar"] else ""),
                   bold=bool(r["own"])),
             Cell(f"{r['value']:,.0f}", align="R"), Cell(f"{r['population']:,.0f}", align="R"),
             Cell(rate_text(r["rate"]), align="R"), Cell(r["interval"]),
             Cell(r["comparison"].replace("_", " "))] for r in cmp["rows"]]
    w.table(RATE_HEADERS, RATE_WIDTHS, rows, size=7.5)


def _value_range(it: PackItem) -> str:
    """``653 (604-705)``: the value and its 95% range, or the value alone when it has none."""
    return f"{it.value_text} ({it.range_display})" if it.range_display else it.value_text


def _about(w: Writer, pack: PackData) -> None:
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
        "A value marked '(provisional)' includes a month of police data loaded while it was recent: the police often "
        "revise recent months, so it may change. 'Synthetic' marks figures from an upload of invented demonstration "
        "figures. Each indicator page says where its target came from and who agreed it, or 'not recorded'.",
    ):
        w.para(text, size=9.5)


def render_pdf(pack: PackData) -> bytes:
    """The pack as a tagged PDF: cover, summary, exception report, one section per priority, notes."""
    pdf = new_doc(pack)
    w = Writer(pdf)
    _cover(w, pack)
    _summary(w, pack)
    _exceptions(w, pack)
    for p, roll in zip(pack.priorities, pack.rollups, strict=True):
        _priority(w, pack, p, roll)
    _about(w, pack)
    return bytes(pdf.output())
