"""The PDF writer of the meeting pack: a tagged fpdf2 document and the blocks drawn on it (headings, paragraphs,
tables, figures, the RAG shape and word), each tagged for screen readers.

fpdf2 tags only images and section titles itself, so ``_make_tag_tree`` extends its structure-tree builder to nest
structure elements (Table > TR > TD); it relies on fpdf2 internals and is pinned to fpdf2 2.8.x (tests/test_report.py
checks the tree). Text uses the PDF core fonts, so it is kept to Latin-1 (``latin1``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from cspdash.errors import CspdashError
from cspdash.vocab import RAG_COLOUR, RAG_SHAPE, RAG_WORDS, rgb

if TYPE_CHECKING:
    from cspdash.pack import PackData

_LATIN1 = str.maketrans({
    "→": "->", "←": "<-", "↑": "up", "↓": "down", "–": "-", "—": "-", "−": "-", "‘": "'", "’": "'",
    "“": '"', "”": '"', "…": "...", "≥": ">=", "≤": "<=", "◀": "<", "•": "-", "\u00a0": " ", "\u2009": " ",
})


def latin1(text: object) -> str:
    """Text the PDF core fonts can show: common symbols spelled out, anything else outside Latin-1 as ``?``."""
    s = str(text).translate(_LATIN1)
    s = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", s)
    return s.encode("latin-1", "replace").decode("latin-1")


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
class Cell:
    text: str
    rag: str | None = None
    bold: bool = False
    align: str = "L"


@dataclass
class Layout:
    margin: float = 16.0
    body: float = 10.0
    small: float = 8.5
    heading: dict[int, float] = field(default_factory=lambda: {1: 22.0, 2: 15.0, 3: 11.5})


def new_doc(pack: PackData) -> Any:
    fp = _fpdf()
    layout = Layout()
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


class Writer:
    """Draws the pack's blocks on an fpdf2 document, tagging each one."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self._measured: dict[tuple[str, float, float, str], list[str]] = {}  # text laid out once, drawn later
        self._widths: dict[tuple[str, str, float], float] = {}
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
        """``text`` broken into the lines it takes in a cell ``w`` mm wide, at spaces (a word longer than the line at
        any letter). Measured once per text: blocks are measured to keep them together, then drawn."""
        key = (text, round(w, 4), size, style)
        if key not in self._measured:
            self.pdf.set_font("Helvetica", style, size)
            room = w - 2 * self.pdf.c_margin
            lines: list[str] = []
            for para in text.split("\n"):
                line, used = "", 0.0
                for word in para.split(" "):
                    width = self._width(word)
                    if line and used + self._width(" ") + width <= room:
                        line, used = f"{line} {word}", used + self._width(" ") + width
                        continue
                    if line:
                        lines.append(line)
                    line, used = word, width
                    while used > room and len(line) > 1:  # a word wider than the line: cut it at a letter
                        cut = max(1, next((k for k in range(1, len(line) + 1) if self._width(line[:k]) > room),
                                          len(line)) - 1)
                        lines.append(line[:cut])
                        line = line[cut:]
                        used = self._width(line)
                lines.append(line)
            self._measured[key] = lines or [""]
        return list(self._measured[key])

    def _width(self, text: str) -> float:
        """The width of ``text`` in the current font (kept per font: the same words recur on every page)."""
        font = (self.pdf.font_style, self.pdf.font_size_pt)
        key = (text, *font)
        if key not in self._widths:
            self._widths[key] = self.pdf.get_string_width(text)
        return self._widths[key]

    def _draw_lines(self, lines: Sequence[str], w: float, lh: float, align: str = "L", beside: bool = False) -> None:
        """Lines already broken (``_lines``), one cell each from the cursor; then the cursor goes below them at the
        left margin, or ``beside`` them: to their right, at their top (the next cell of a table row)."""
        pdf = self.pdf
        x, y = pdf.x, pdf.y
        for k, line in enumerate(lines):
            pdf.set_xy(x, y + k * lh)
            pdf.cell(w, lh, line, align=align)
        if beside:
            pdf.set_xy(x + w, y)
        else:
            pdf.set_xy(pdf.l_margin, y + len(lines) * lh)

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
            self._draw_lines(lines, pdf.epw, size * 0.45)
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
                self._draw_lines(chunk, w, lh)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(gap)

    def shape(self, rag: str, x: float, y: float, size: float = 3.2) -> None:
        """The RAG shape (an artifact: the word next to it carries the meaning)."""
        pdf = self.pdf
        r, g, b = rgb(RAG_COLOUR.get(rag, RAG_COLOUR["no_data"]))
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
            self._draw_lines(self._lines(latin1(text), pdf.epw - 5 - word_w, size), pdf.epw - 5 - word_w, lh)
        pdf.ln(1)

    # --- tables --------------------------------------------------------------------------------
    def table(self, headers: Sequence[str] | None, widths: Sequence[float], rows: Sequence[list[Cell] | Cell],
              size: float | None = None) -> None:
        """A tagged table (Table > TR > TH/TD); a bare ``Cell`` row is a band across every column.

        Without ``headers`` the first column holds row headers (a key-value table).
        """
        pdf = self.pdf
        size = size or pdf.layout.small
        scale = pdf.epw / sum(widths)
        widths = [w * scale for w in widths]
        body = next((r for r in rows if not isinstance(r, Cell)), None)
        head = [Cell(h, bold=True, align=body[k].align if body else "L") for k, h in enumerate(headers or ())]
        head_h = self._row_height(head, widths, size) if head else 0.0
        first = rows[0] if rows else None
        first_h = self._row_height([first] if isinstance(first, Cell) else first, [pdf.epw] if isinstance(first, Cell)
                                   else widths, size) if first is not None else 0
        self.need(head_h + first_h + 1)
        with pdf.group("Table"):
            if head:
                self._row(head, widths, head_h, size, header=True, tagged=True)
            for row in rows:
                cells, ws = ([row], [pdf.epw]) if isinstance(row, Cell) else (row, widths)
                h = self._row_height(cells, ws, size)
                if self.room() < h:
                    pdf.add_page()
                    if head:
                        self._row(head, widths, head_h, size, header=True, tagged=False)  # repeated: an artifact
                self._row(cells, ws, h, size, band=isinstance(row, Cell), row_headers=not head)
        pdf.ln(3)

    def _cell_lines(self, cell: Cell, w: float, size: float) -> list[str]:
        icon = 5.0 if cell.rag else 0.0
        lines = self._lines(latin1(cell.text), w - icon, size, "B" if cell.bold else "")
        most = int((self.pdf.page_break_trigger - self.pdf.t_margin - 20) // (size * 0.45))
        return lines if len(lines) <= most else [*lines[:most - 1], "[continues: cut to fit the page]"]

    def _row_height(self, cells: Sequence[Cell], widths: Sequence[float], size: float) -> float:
        n = max(len(self._cell_lines(c, w, size)) for c, w in zip(cells, widths, strict=True))
        return n * size * 0.45 + 2.4

    def _row(self, cells: Sequence[Cell], widths: Sequence[float], h: float, size: float, header: bool = False,
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
                lines = self._cell_lines(cell, w, size)
                style = "B" if cell.bold or header else ""
                if tagged:
                    with pdf.tag("TH" if header or band or (row_headers and k == 0) else "TD"):
                        pdf.set_font("Helvetica", style, size)
                        self._draw_lines(lines, w - icon, lh, cell.align, beside=True)
                else:
                    with pdf.artifact():
                        pdf.set_font("Helvetica", style, size)
                        self._draw_lines(lines, w - icon, lh, cell.align, beside=True)
                cx += w
            pdf.set_text_color(0, 0, 0)

        if tagged:
            with pdf.group("TR"):
                draw()
        else:
            draw()
        pdf.set_xy(pdf.l_margin, y + h)

    def table_height(self, headers: Sequence[str], widths: Sequence[float], rows: Sequence[list[Cell]],
                     size: float | None = None) -> float:
        """The height ``table`` will take (rows of cells only)."""
        size = size or self.pdf.layout.small
        scale = self.pdf.epw / sum(widths)
        ws = [w * scale for w in widths]
        return (self._row_height([Cell(h, bold=True) for h in headers], ws, size)
                + sum(self._row_height(r, ws, size) for r in rows) + 3)

    def text_height(self, text: str, size: float, gap: float = 1.6, style: str = "") -> float:
        """The height ``para`` will take."""
        return len(self._lines(latin1(text), self.pdf.epw, size, style)) * size * 0.45 + gap

    # --- figures ---------------------------------------------------------------------------------
    def drawing(self, height: float, draw: Callable[[Any, float, float, float], float], alt: str) -> None:
        """A chart drawn across the text width by ``draw(pdf, x, y, width)``, kept on one page and tagged as one
        Figure with its alternative text."""
        pdf = self.pdf
        self.need(height + 2)
        y = pdf.y
        with pdf.tag("Figure", alt=alt):
            draw(pdf, pdf.l_margin, y, pdf.epw)
        pdf.set_xy(pdf.l_margin, y + height + 2)
