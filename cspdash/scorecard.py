"""The meeting pack as an XLSX scorecard: a summary sheet of every indicator and one sheet per priority, ready to
print; text a spreadsheet would read as a formula is kept as text.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from cspdash.pack import PackData, PackItem, PriorityInfo
from cspdash.vocab import AMBER_WORDS, RAG_COLOUR, RAG_TEXT, RAG_WORDS
from cspdash.wording import formula_like, long_date

XLSX_COLUMNS: tuple[tuple[str, float], ...] = (
    ("ID", 6), ("Indicator", 42), ("Priority", 8), ("Owner", 24), ("Period", 11), ("Value", 11), ("Target level", 11),
    ("Target", 24), ("Comparator", 11), ("Compared with", 13), ("Change %", 9), ("Direction of travel", 26),
    ("Status", 10), ("Variation (SPC)", 24), ("Assurance", 22), ("Reason", 60), ("Commentary", 60),
    ("95% lower", 11), ("95% upper", 11), ("Amber because", 16), ("Provisional", 11), ("Target source", 30),
    ("Target agreed", 24),
)
XLSX_HEADER_ROW = 4


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
        if formula_like(value):
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
    meeting = long_date(pack.meeting_date) if pack.meeting_date else "not set"
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
                  "\n\n".join(f"{c.text} ({c.user}, {c.at})" for c in it.commentary),
                  (s.lower, nf), (s.upper, nf), AMBER_WORDS.get(s.amber_reason or "", ""),
                  "yes" if s.provisional else "", it.target_source, it.target_agreed]
        for c, v in enumerate(values, start=1):
            value, nf_ = v if isinstance(v, tuple) else (v, None)
            cell = _put(ws, r, c, value, nf_)
            cell.alignment = wrap
        status = ws.cell(row=r, column=13)
        status.fill = PatternFill("solid", start_color=RAG_COLOUR.get(s.rag, RAG_COLOUR["no_data"]).lstrip("#").upper())
        status.font = Font(bold=True, color=RAG_TEXT.get(s.rag, RAG_TEXT["no_data"]).lstrip("#").upper())
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
