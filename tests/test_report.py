"""Tests for cspdash.report: the meeting pack PDF (text, exception report, tagging, alternative text, speed) and the
XLSX scorecard (same numbers as the store, print set-up, formula-like text kept as text)."""

from __future__ import annotations

import io
import re
import shutil
import time
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from e2e_helpers import demo_copy
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from pypdf.generic import ContentStream

from cspdash import report
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.status import AMBER_WORDS, RAG_WORDS
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "indicators.yaml"
MEETING = date(2026, 1, 15)


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory) -> Path:
    """The demo database, built in memory once per session (e2e_helpers.demo_copy); closed: tests open copies."""
    return demo_copy(tmp_path_factory, "report-demo")


def _open_copy(demo_path: Path, target: Path) -> Store:
    shutil.copyfile(demo_path, target)
    return Store(target, load_catalogue(CATALOGUE))


@pytest.fixture(scope="module")
def store(demo_path, tmp_path_factory):
    s = _open_copy(demo_path, tmp_path_factory.mktemp("read") / "read.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="module")
def pack(store) -> report.PackData:
    return report.build_pack(store, None, MEETING)


@pytest.fixture(scope="module")
def built_pdf(store) -> tuple[bytes, float]:
    """The full PDF for the latest demo quarter through the public API, and the seconds it took."""
    buf = io.BytesIO()
    t0 = time.perf_counter()
    report.build_pdf(store, None, buf, meeting_date=MEETING)
    return buf.getvalue(), time.perf_counter() - t0


@pytest.fixture(scope="module")
def pdf_text(built_pdf) -> str:
    return _text(built_pdf[0])


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def _norm(s: str) -> str:
    return " ".join(report.latin1(s).split())


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    j = text.index(end, i + len(start))
    return text[i:j]


# --- PDF: content ----------------------------------------------------------------------------------------------------

def test_pdf_opens(built_pdf, pack):
    data, seconds = built_pdf
    reader = PdfReader(io.BytesIO(data))
    assert data.startswith(b"%PDF-")
    assert len(reader.pages) >= 2 + len(pack.priorities)
    print(f"\nPDF for {pack.period}: {len(pack.items)} indicators, {len(reader.pages)} pages, "
          f"{len(data) / 1e6:.1f} MB in {seconds:.1f} s")  # speed is for benchmarks, not a timed unit test


def test_pdf_has_every_indicator_title_and_rag_word(pdf_text, pack, store):
    assert [s.indicator for s in pack.statuses] == [s.indicator for s in store.statuses(store.latest_complete_quarter())]
    for item in pack.items:
        label = _norm(f"{item.indicator} {item.title}")
        assert label in pdf_text, label
        # The indicator's own section states its status in words right after its heading.
        after = pdf_text[pdf_text.rindex(label):][:len(label) + 120]
        assert RAG_WORDS[item.status.rag] in after, (item.indicator, after)


def test_pdf_cover_names_partnership_quarter_meeting_and_marking(pdf_text, pack):
    cover = pdf_text[:1500]
    for words in (pack.partnership, f"Quarterly performance report: {pack.period}", "Thursday 15 January 2026",
                  "Data as at", pack.data_as_at, "OFFICIAL"):
        assert words in cover, words


def test_pdf_exception_report_lists_reds_and_missing_returns(pdf_text, pack):
    section = _section(pdf_text, "Exception report", f"Priority {pack.priorities[0].id}: ")
    ex = pack.exceptions
    assert ex["red"] and ex["missing"], "the demo quarter has red indicators and missing returns"
    assert f"Red indicators ({len(ex['red'])})" in section
    assert f"Missing returns ({len(ex['missing'])})" in section
    for item in ex["red"] + ex["missing"]:
        assert _norm(item.label) in section, item.indicator
    listed = set(re.findall(r"\b([A-D]\d{1,2}) ", section))
    expected = {i.indicator for i in ex["red"] + ex["missing"] + ex["concern"]}
    assert listed == expected


def test_pdf_exception_report_lists_spc_concerns():
    """A concern (special cause in the wrong direction, or consistent fail) is listed even when not red."""
    fake = _small_pack(variation={"X1": "special_cause_concern"}, assurance={"X2": "consistent_fail"})
    section = _section(_text(report.render_pdf(fake)), "Exception report", "Priority P: ")
    assert "Statistical concerns (SPC) (2)" in section
    assert "X1 First indicator" in section and "X2 Second indicator" in section
    assert "Red indicators (0)" in section and "None this quarter." in section


def _small_pack(variation: dict | None = None, assurance: dict | None = None, commentary: str = "") -> report.PackData:
    """A two-indicator pack without charts (renders in well under a second)."""
    from cspdash.status import Status

    def item(iid: str, title: str, rag: str) -> report.PackItem:
        st = Status(indicator=iid, priority="P", period="2025/26 Q3", value=10.0, target=12.0, comparator=11.0, rag=rag,
                    complete=True, variation=(variation or {}).get(iid, "common_cause"),
                    assurance=(assurance or {}).get(iid), reason=f"Reason for {iid}; {RAG_WORDS[rag]}.")
        comments = (report.Comment(commentary, "chair", "25 Nov 2025 10:00 UTC"),) if commentary else ()
        return report.PackItem(indicator=iid, priority="P", title=title, owner="Owner group", unit="count", decimals=0,
                               synthetic=False, status=st, value_text="10", target_display="at least 12",
                               travel="Down 9.1% on 2024/25 Q3 (worse)", variation_text="v", assurance_text="a",
                               commentary=comments)

    return report.PackData(partnership="Test CSP", area="Test", marking="OFFICIAL", period="2025/26 Q3",
                           data_as_at="25 Nov 2025 10:00 UTC", generated_at="25 Nov 2025 10:01 UTC", rollup_rule="worst",
                           priorities=(report.PriorityInfo("P", "Test priority"),),
                           items=(item("X1", "First indicator", "amber"), item("X2", "Second indicator", "green")))


def test_pdf_keeps_non_latin1_commentary_readable():
    text = _text(report.render_pdf(_small_pack(commentary="Calls → up 5% – “mostly” youth ASB")))
    assert 'Calls -> up 5% - "mostly" youth ASB' in text


# --- PDF: accessibility ----------------------------------------------------------------------------------------------

def _struct_elems(reader: PdfReader) -> list:
    out = []

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, dict) or hasattr(node, "get"):
            if node.get("/Type") == "/StructElem":
                out.append(node)
            kids = node.get("/K")
            if kids is None:
                return
            kids = kids.get_object()
            for k in (kids if isinstance(kids, list) else [kids]):
                if hasattr(k, "get_object") and not isinstance(k.get_object(), int):
                    walk(k)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return out


def test_pdf_is_tagged_with_language_title_outline_and_headings(built_pdf, pack):
    reader = PdfReader(io.BytesIO(built_pdf[0]))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en-GB"
    assert bool(root["/MarkInfo"]["/Marked"])
    assert reader.metadata.title == report.latin1(f"{pack.partnership}: performance pack {pack.period}")
    kinds = [str(e["/S"]) for e in _struct_elems(reader)]
    assert kinds.count("/H1") == 1
    assert kinds.count("/H2") == 4 + len(pack.priorities)  # at a glance, summary, exceptions, about; priorities
    assert kinds.count("/H3") == 3 + len(pack.items)  # three exception lists, one heading per indicator
    assert {"/P", "/Table", "/TR", "/TH", "/TD", "/Figure"} <= set(kinds)
    titles = [o.title for o in reader.outline if not isinstance(o, list)]
    assert "Exception report" in titles
    assert all(f"Priority {p.id}: {report.latin1(p.title)}" in titles for p in pack.priorities)


def test_pdf_charts_are_figures_with_alternative_text(built_pdf, pack):
    reader = PdfReader(io.BytesIO(built_pdf[0]))
    figures = [e for e in _struct_elems(reader) if e["/S"] == "/Figure"]
    charted = [i for i in pack.items if i.history]
    compared = [i for i in pack.items if i.comparison and i.comparison.get("rows")]
    assert compared, "the demo compares B3, B5, C3, D8, D9 and D10 on rates"
    spc = [f for f in figures if str(f["/Alt"]).startswith("SPC chart of ")]
    assert len(spc) == len(charted) and len(figures) == len(charted) + 2 * len(compared)
    for fig, item in zip(spc, charted, strict=True):
        alt = str(fig["/Alt"])
        assert alt.startswith(f"SPC chart of {item.indicator} ") and "Latest value" in alt
    alts = [str(f["/Alt"]) for f in figures]
    for item in compared:  # the funnel plot and the ranked rates, each described
        assert any(a.startswith(f"Funnel plot of {item.indicator} ") for a in alts)
        assert any(a.startswith(f"Ranked rates of {item.indicator} ") for a in alts)


def test_pdf_every_text_and_image_is_tagged_or_an_artifact(built_pdf):
    reader = PdfReader(io.BytesIO(built_pdf[0]))
    nums = reader.trailer["/Root"]["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    parent_tree = {int(nums[i]): nums[i + 1].get_object() for i in range(0, len(nums), 2)}
    for n, page in enumerate(reader.pages, start=1):
        depth, mcids = 0, []
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op in (b"BDC", b"BMC"):
                depth += 1
                if op == b"BDC" and "/MCID" in operands[1]:
                    mcids.append(int(operands[1]["/MCID"]))
            elif op == b"EMC":
                depth -= 1
            elif op in (b"BT", b"Do"):
                assert depth > 0, f"page {n}: {op!r} outside any tag or artifact"
        assert depth == 0, f"page {n}: unbalanced marked content"
        # Each marked-content id points back (through the parent tree) to the element that owns it, on this page.
        owners = parent_tree[int(page["/StructParents"])]
        assert mcids == list(range(len(owners)))
        for mcid, owner in zip(mcids, owners, strict=True):
            owner = owner.get_object()
            assert mcid in owner["/K"] and owner.raw_get("/Pg").idnum == page.indirect_reference.idnum


# --- workbook --------------------------------------------------------------------------------------------------------

def _rows(ws) -> list[dict]:
    head = report.XLSX_HEADER_ROW
    names = [c.value for c in ws[head]]
    return [dict(zip(names, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=head + 1)]


@pytest.fixture(scope="module")
def workbook(store):
    buf = io.BytesIO()
    report.build_xlsx(store, None, buf, meeting_date=MEETING)
    return load_workbook(io.BytesIO(buf.getvalue()))


def test_workbook_round_trips_the_store_figures(workbook, store):
    statuses = store.statuses(store.latest_complete_quarter())
    rows = {r["ID"]: r for r in _rows(workbook["Summary"])}
    assert list(rows) == [s.indicator for s in statuses]
    for s in statuses:
        r = rows[s.indicator]
        # The same numbers (openpyxl writes 15 significant digits: 26.400000000000002 is read back as 26.4).
        for col, v in (("Value", s.value), ("Target level", s.target), ("Comparator", s.comparator)):
            assert r[col] == (None if v is None else pytest.approx(v, rel=1e-12)), (s.indicator, col)
        assert r["Status"] == RAG_WORDS[s.rag]
        assert r["Reason"] == s.reason
        for col, v in (("95% lower", s.lower), ("95% upper", s.upper)):
            assert r[col] == (None if v is None else pytest.approx(v, rel=1e-12)), (s.indicator, col)
        assert (r["Amber because"] or None) == (AMBER_WORDS[s.amber_reason] if s.amber_reason else None)
        assert (r["Provisional"] == "yes") == s.provisional


def test_workbook_has_one_sheet_per_priority(workbook, store):
    assert workbook.sheetnames[0] == "Summary"
    assert len(workbook.sheetnames) == 1 + len(store.cat.priorities)
    for p, name in zip(store.cat.priorities, workbook.sheetnames[1:], strict=True):
        assert name.startswith(f"{p.id} ") and len(name) <= 31
        assert [r["ID"] for r in _rows(workbook[name])] == [i.id for i in store.cat.indicators_of(priority=p.id)]


def test_workbook_is_set_up_for_printing(workbook):
    for ws in workbook.worksheets:
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$4:$4"
        assert ws.freeze_panes == "C5"
        assert ws.column_dimensions["B"].width >= 30
        assert "OFFICIAL" in ws.oddHeader.center.text


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"])
def test_put_keeps_formula_like_text_as_text(text):
    ws = Workbook().active
    cell = report._put(ws, 1, 1, text)
    assert cell.data_type == "s" and cell.value == text and cell.quotePrefix


def test_commentary_that_looks_like_a_formula_arrives_as_text(demo_path, tmp_path):
    s = _open_copy(demo_path, tmp_path / "inj.duckdb")
    try:
        period = s.latest_complete_quarter()
        s.add_commentary("A1", period, '=HYPERLINK("http://x")', "tester@example.org")
        buf = io.BytesIO()
        report.build_xlsx(s, period, buf)
    finally:
        s.close()
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    head = report.XLSX_HEADER_ROW
    col = [c.value for c in wb["Summary"][head]].index("Commentary") + 1
    cell = wb["Summary"].cell(row=head + 1, column=col)
    assert cell.data_type == "s"
    assert cell.value.startswith('=HYPERLINK("http://x")')
    assert cell.quotePrefix
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


# --- small parts -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Up 12% (4,068 → 4,556)", "Up 12% (4,068 -> 4,556)"),
    ("1 amber · 1 red", "1 amber · 1 red"),
    ("it’s – ok…", "it's - ok..."),
    ("≥ 5", ">= 5"),
    ("naïve café", "naïve café"),
    ("emoji ✅ here", "emoji ? here"),
    ("tab\there\x07", "tab\there "),
])
def test_latin1(text, expected):
    assert report.latin1(text) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-12", date(2026, 3, 12)),
    ("12/03/2026", date(2026, 3, 12)),
    ("12 March 2026", date(2026, 3, 12)),
    (date(2026, 3, 12), date(2026, 3, 12)),
    (None, None),
])
def test_parse_meeting_date(value, expected):
    assert report.parse_meeting_date(value) == expected


@pytest.mark.parametrize("value", ["next Tuesday", "2026-13-01", "31/02/2026"])
def test_parse_meeting_date_refuses_non_dates(value):
    with pytest.raises(CspdashError, match="not a date; write it as 2026-03-12"):
        report.parse_meeting_date(value)


def test_pack_json_round_trip(pack):
    again = report.PackData.from_json(pack.to_json())
    assert again == pack


def test_write_pack_chooses_by_extension(tmp_path):
    small = _small_pack()
    pdf = report.write_pack(None, tmp_path / "pack.PDF", small)  # type: ignore[arg-type]
    xlsx = report.write_pack(None, tmp_path / "out" / "scorecard.xlsx", small)  # type: ignore[arg-type]
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert load_workbook(xlsx)["Summary"].cell(row=report.XLSX_HEADER_ROW + 1, column=1).value == "X1"
    with pytest.raises(CspdashError, match=r"\.pdf or \.xlsx, not \.docx"):
        report.write_pack(None, tmp_path / "pack.docx", small)  # type: ignore[arg-type]


def test_live_pack_needs_figures(tmp_path):
    s = Store(tmp_path / "empty.duckdb", load_catalogue(CATALOGUE))
    try:
        with pytest.raises(CspdashError, match="no figures yet"):
            report.build_pdf(s, None, io.BytesIO())
    finally:
        s.close()


def test_file_name(pack):
    assert report.file_name(pack, "pdf") == f"csp-pack-{pack.period.replace('/', '-').replace(' ', '-')}.pdf"
    frozen = replace(pack, snapshot=report.SnapshotInfo(7, "me", "now"))
    assert report.file_name(frozen, ".xlsx").endswith("-snapshot-7.xlsx")


@pytest.mark.parametrize(("title", "expected"), [
    ("Violence", "A Violence"),
    ("Anti-social behaviour including drugs and alcohol", "A Anti-social behaviour"),
    ("Hate crime, community cohesion and extremism", "A Hate crime, community"),
    ("a/b:c*d?[e]", "A a b c d e"),
    ("Supercalifragilisticexpialidocious-and-more", "A Supercalifragilisticexpialido"),
])
def test_sheet_title_is_legal_and_cut_at_a_word(title, expected):
    assert report._sheet_title(report.PriorityInfo("A", title)) == expected
