"""Reading uploaded returns as text and validating them, before anything is stored.

Every cell is read as text and converted with explicit UK rules (dd/mm/yyyy dates, ``1,234`` numbers); type
sniffing never decides what a cell means. Every problem is collected with file, row, column, value and fix.

It builds on ``sources`` (``SourceFile``, size, extension and encoding checks), ``problems`` (``Problem``,
``ValidationError``, ``Collector``) and ``cells`` (cell text, numbers); their names still import from here.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from cspdash.cells import FORMULA_PREFIXES, cell_text, column_letter, number_problem, parse_number
from cspdash.config import Catalogue, Indicator
from cspdash.errors import PeriodError
from cspdash.periods import Period, parse_period
from cspdash.problems import (  # noqa: F401  (MAX_*: names other modules and tests import from here)
    MAX_PROBLEM_TEXT,
    MAX_PROBLEM_WORDS,
    MAX_PROBLEMS,
    MAX_PROBLEMS_CHARS,
    Collector,
    Problem,
    ValidationError,
)
from cspdash.sources import (  # noqa: F401  (likewise MAX_DATASET_BYTES, the encoding checks and safe_name)
    MAX_DATASET_BYTES,
    MAX_RETURN_BYTES,
    REFUSED_EXTENSIONS,
    RETURN_EXTENSIONS,
    SourceFile,
    check_extension,
    check_size,
    decode_text,
    looks_utf16,
    refuse_mixed_encodings,
    refuse_utf16,
    safe_name,
)

MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_XLSX_RATIO = 100  # uncompressed / compressed, per member: beyond this it is treated as a zip bomb
MAX_XLSX_MEMBERS = 1000
MAX_XLSX_CELLS = 1_000_000  # cells read from a return's sheet, empty ones included: a return has a few thousand
MAX_CELL_CHARS = 32_767  # Excel's own limit on the text of one cell
MAX_SHEET_CHARS = 20_000_000  # text read from a return's sheet: as much as the largest CSV return can hold
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024  # a workbook's table of texts (xl/sharedStrings.xml), unpacked
MAX_SHARED_STRINGS = 100_000  # distinct texts in that table; a return has a few thousand
MAX_FIGURE = 1e12  # no partnership figure comes near; far larger ones (1e308) overflow the sums of year-to-date targets


# ------------------------------------------------------------------------------------------------
# Reading CSV and XLSX as text
# ------------------------------------------------------------------------------------------------

def xlsx_safety(data: bytes, file: str) -> None:
    """Check an .xlsx before parsing: a real zip, no macros, capped uncompressed size and compression ratio."""
    def refuse(msg: str, fix: str = "save the workbook again from Excel as .xlsx, or export the sheet as CSV") -> None:
        raise ValidationError([Problem(file, None, None, None, msg, fix)])

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        refuse("this is not a valid .xlsx workbook (it is not a zip package; the file may be truncated or corrupt)")
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_XLSX_MEMBERS:
            refuse(f"the workbook has {len(infos)} parts, more than the {MAX_XLSX_MEMBERS} allowed")
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            refuse("this zip file is not an Excel workbook")
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            refuse("the workbook contains macros", "save it as .xlsx (macro-free), or export the sheet as CSV")
        total = 0
        for i in infos:
            total += i.file_size
            if i.file_size > MAX_XLSX_UNCOMPRESSED or total > MAX_XLSX_UNCOMPRESSED:
                refuse(f"the workbook unpacks to more than {MAX_XLSX_UNCOMPRESSED // 2**20} MB")
            if i.compress_size and i.file_size / i.compress_size > MAX_XLSX_RATIO and i.file_size > 1_000_000:
                refuse(f"part {i.filename} is compressed {i.file_size // i.compress_size}:1, a sign of a zip bomb")
        _check_shared_strings(zf, refuse)


def _check_shared_strings(zf: zipfile.ZipFile, refuse: Callable[..., None]) -> None:
    """Refuse a table of texts (xl/sharedStrings.xml, or wherever [Content_Types].xml puts it) over
    ``MAX_SHARED_STRINGS_BYTES`` unpacked or ``MAX_SHARED_STRINGS`` texts, before openpyxl loads it whole."""
    fix = "copy the return into a new workbook (a return's texts are a few hundred short cells), or export it as CSV"
    parts = {"xl/sharedStrings.xml"}
    try:
        with zf.open("[Content_Types].xml") as f:
            types = f.read(1 << 20)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
        types = b""
    # <Override PartName="/xl/sharedStrings.xml" ContentType="...sharedStrings+xml"/>, attributes in any order.
    for tag in re.findall(rb"<(?:\w+:)?Override\b[^>]*>", types):
        if b"sharedStrings+xml" in tag and (m := re.search(rb'PartName\s*=\s*["\']/?([^"\']+)', tag)):
            parts.add(m.group(1).decode("utf-8", "replace"))
    names = {i.filename.lower(): i for i in zf.infolist()}
    for part in sorted(parts):
        info = names.get(part.lower())
        if info is None:
            continue
        limit = MAX_SHARED_STRINGS_BYTES
        if info.file_size > limit:
            refuse(f"the workbook's table of texts ({info.filename}) unpacks to {info.file_size / 2**20:,.1f} MB, "
                   f"over the {limit // 2**20} MB limit", fix)
        try:
            with zf.open(info) as f:
                data = f.read(limit + 1)  # the stated size may lie: read no more than the limit
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, zlib.error):
            refuse(f"part {info.filename} of the workbook is corrupt")
        if len(data) > limit:
            refuse(f"the workbook's table of texts ({info.filename}) unpacks to more than {limit // 2**20} MB", fix)
        count = sum(1 for _ in re.finditer(rb"<(?:\w+:)?si\b", data))
        if count > MAX_SHARED_STRINGS:
            refuse(f"the workbook's table of texts ({info.filename}) holds {count:,} texts, over the "
                   f"{MAX_SHARED_STRINGS:,} limit", fix)


def read_rows(src: SourceFile, limit: int = MAX_RETURN_BYTES) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(header, [(row number, cells)]) of a CSV or the first sheet of an XLSX, every cell as text.

    Blank rows are left out but keep their place: row numbers are the spreadsheet's (the header's row is the
    first non-blank row), so a problem reported in row 7 is in row 7 of the file as the uploader sees it.
    """
    check_extension(src, RETURN_EXTENSIONS)
    check_size(src, limit)
    data = src.read()
    if src.suffix == ".xlsx":
        return _read_xlsx(data, src.display_name)
    text = decode_text(data, src.display_name)
    sample = text[:4096]
    first = sample.splitlines()[0] if sample else ""
    delim = ","
    if "," not in first and ";" in first:
        delim = ";"
    elif "," not in first and "\t" in first:
        delim = "\t"
    rows: list[list[str]] = []
    probs = Collector()
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim):
            rows.append(row)
            if sum(map(len, row)) > MAX_CELL_CHARS:
                _long_cells(src.display_name, len(rows), row, rows[0], probs)
    except csv.Error as e:
        if "field larger than field limit" in str(e):  # the csv module's own bound, 131,072 characters
            probs.add(src.display_name, len(rows) + 1, None, None, _LONG_CELL, _LONG_CELL_FIX)
            probs.raise_if_any()
        raise ValidationError([Problem(src.display_name, None, None, None, f"the CSV cannot be read ({e})",
                                       "export it again from Excel as CSV")]) from None
    probs.raise_if_any()
    numbered = _numbered(rows)
    if not numbered:
        raise ValidationError([Problem(src.display_name, 1, None, None, "the file has no header row",
                                       "start from the template: its first row names the columns")])
    return numbered[0][1], numbered[1:]


_LONG_CELL = f"the cell holds more than {MAX_CELL_CHARS:,} characters, Excel's own limit for a cell"
_LONG_CELL_FIX = "a cell of a return holds a figure or a short comment (up to 4,000 characters): shorten the cell"




def _long_cells(file: str, n: int, row: list[str], header: list[str], probs: Collector) -> None:
    """Record a problem for each cell of row ``n`` longer than Excel allows (named by its header, else its letter)."""
    for j, cell in enumerate(row):
        if len(cell) > MAX_CELL_CHARS:
            name = header[j].strip() if n > 1 and j < len(header) and 0 < len(header[j].strip()) <= 100 else ""
            probs.add(file, n, name or column_letter(j), cell,
                      f"the cell holds {len(cell):,} characters, more than Excel's limit of {MAX_CELL_CHARS:,}",
                      _LONG_CELL_FIX)


def _numbered(rows: list[list[str]]) -> list[tuple[int, list[str]]]:
    """The non-blank rows with their 1-based row numbers (a blank row still counts)."""
    return [(n, r) for n, r in enumerate(rows, start=1) if any(c.strip() for c in r)]


def _read_xlsx(data: bytes, file: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import openpyxl  # imported here: only uploads of workbooks need it

    xlsx_safety(data, file)
    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)  # cached values, not formulas
    except Exception as e:  # openpyxl raises many types for corrupt parts
        _unreadable_workbook(file, e)
    try:
        # Read-only openpyxl parses the sheet while it is iterated, so a corrupt or lying part fails here, not above.
        ws = wb.worksheets[0]
        # The stored dimension (e.g. "A1:C2") is written by whatever saved the file and may be wrong; trusting it
        # would silently drop the rows and columns beyond it.
        ws.reset_dimensions()
        rows: list[list[str]] = []
        unsure: list[tuple[int, int]] = []  # empty cells that may be formulas without a saved result
        cells = chars = 0
        probs = Collector()
        for i, r in enumerate(ws.iter_rows()):
            # A row is padded to its last cell: one cell in column XFD is 16,384 cells, so a small file of such
            # rows would fill the server's memory. Count every cell read.
            cells += len(r)
            if cells > MAX_XLSX_CELLS:
                _too_many_cells(file)
            row = [cell_text(c.value, c.number_format) for c in r]
            rows.append(row)
            # One shared text may be used by any number of cells: count the text of every cell read, not the file.
            length = sum(map(len, row))
            if length > MAX_CELL_CHARS:
                _long_cells(file, i + 1, row, rows[0], probs)
                length = sum(min(len(t), MAX_CELL_CHARS + 1) for t in row)  # refused, so never copied or parsed
            chars += length
            if chars > MAX_SHEET_CHARS:
                if probs:  # the over-long cells found so far say why
                    probs.raise_if_any()
                probs.add(file, None, None, None, f"the first sheet holds more than {MAX_SHEET_CHARS:,} characters "
                          "of text; a return is a few hundred short rows",
                          "delete what is not the return, or export the sheet as CSV")
                probs.raise_if_any()
            # Excel saves a formula's text result with t="str", even an empty one; a formula written by a program
            # without a result has neither a type nor a value, like an empty cell.
            unsure += [(i, j) for j, c in enumerate(r) if c.value is None and c.data_type == "n"]
        probs.raise_if_any()
    except ValidationError:
        raise
    except Exception as e:
        _unreadable_workbook(file, e)
    finally:
        wb.close()
    if unsure:
        _refuse_uncached_formulas(data, file, rows, unsure)
    numbered = _numbered(rows)
    if not numbered:
        raise ValidationError([Problem(file, 1, None, None, "the first sheet is empty",
                                       "put the return on the first sheet, starting with the header row")])
    width = max(len(r) for _, r in numbered)
    if width * len(numbered) > MAX_XLSX_CELLS:  # every row is padded to the widest one below
        _too_many_cells(file)
    return ([*numbered[0][1], *[""] * (width - len(numbered[0][1]))],
            [(n, r + [""] * (width - len(r))) for n, r in numbered[1:]])


def _unreadable_workbook(file: str, e: Exception) -> NoReturn:
    raise ValidationError([Problem(file, None, None, None, f"the workbook cannot be opened ({type(e).__name__})",
                                   "open it in Excel, save it again as .xlsx, or export the sheet as CSV")]) from None


def _too_many_cells(file: str) -> NoReturn:
    raise ValidationError([Problem(file, None, None, None,
                                   f"the first sheet has more than {MAX_XLSX_CELLS:,} cells (counting empty cells up to "
                                   "the last column and row used); a return is a few hundred rows",
                                   "delete the unused rows and columns beyond the return, or export the sheet as CSV")])


def _refuse_uncached_formulas(data: bytes, file: str, rows: list[list[str]], unsure: list[tuple[int, int]]) -> None:
    """Refuse formulas that have no saved result (openpyxl, like most programs, does not compute formulas, so the
    figure Excel would show is unknown); raise ValidationError listing each such cell."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()
            formulas = [list(r) for r in ws.iter_rows(values_only=True)]  # no bigger than the read above
        finally:
            wb.close()
    except Exception as e:
        _unreadable_workbook(file, e)
    header = next((r for r in rows if any(c.strip() for c in r)), [])
    probs = Collector()
    for i, j in unsure:
        f = formulas[i][j] if i < len(formulas) and j < len(formulas[i]) else None
        if isinstance(f, str) and f.startswith("="):
            column = header[j].strip() if j < len(header) and header[j].strip() else get_column_letter(j + 1)
            probs.add(file, i + 1, column, f, "the cell holds a formula with no saved result, so its figure is unknown",
                      "open the workbook in Excel and save it (Excel saves the results), or type the figure")
    probs.raise_if_any()


# ------------------------------------------------------------------------------------------------
# Indicator returns
# ------------------------------------------------------------------------------------------------

RETURN_COLUMNS = ("indicator", "period", "value", "numerator", "denominator", "area", "commentary")
IGNORED_COLUMNS = ("title", "unit", "owner", "priority", "target", "notes")


@dataclass(frozen=True)
class ReturnRow:
    """One validated row of an indicator return."""

    row: int
    indicator: str
    period: Period
    area: str  # '' = the partnership's own area
    value: float | None
    numerator: float | None
    denominator: float | None
    commentary: str


def _allowed_grains(ind: Indicator) -> tuple[str, ...]:
    return {"monthly": ("month", "quarter"), "quarterly": ("quarter",), "annual": ("year",)}[ind.frequency]


def home_area(cat: Catalogue, area: str) -> str:
    """'' for the partnership's own area (blank or its name, any case), else the area as written."""
    a = " ".join(area.split())
    return "" if not a or a.casefold() in (cat.area.casefold(), cat.name.casefold()) else a


def parse_return(src: SourceFile, cat: Catalogue) -> list[ReturnRow]:
    """Validate an indicator return (CSV or XLSX); raise ValidationError listing every problem."""
    header, rows = read_rows(src)
    file = src.display_name
    col = {h.strip().lower().replace(" ", "_"): i for i, h in enumerate(header) if h.strip()}
    probs = Collector()
    for h in header:
        key = h.strip().lower().replace(" ", "_")
        if key and key not in RETURN_COLUMNS and key not in IGNORED_COLUMNS:
            probs.add(file, 1, h, h, "unknown column", f"use only the template's columns: {', '.join(RETURN_COLUMNS)}")
    for need in ("indicator", "period"):
        if need not in col:
            probs.add(file, 1, need, None, f"the column {need!r} is missing",
                      "add it to the header row (see the template for your subgroup)")
    if "value" not in col and not ("numerator" in col and "denominator" in col):
        probs.add(file, 1, "value", None, "there is no value column (nor numerator and denominator)",
                  "add a 'value' column, or 'numerator' and 'denominator' for percentages and rates")
    if probs:
        probs.raise_if_any()
    if not rows:
        probs.add(file, 2, None, None, "the file has a header but no data rows", "add one row per indicator and period")
        probs.raise_if_any()

    def get(r: list[str], name: str) -> str:
        i = col.get(name)
        return r[i].strip() if i is not None and i < len(r) else ""

    out: list[ReturnRow] = []
    seen: dict[tuple[str, Period, str], int] = {}
    width = len(header)
    for n, r in rows:
        extra = [c for c in r[width:] if c.strip()]
        if extra:
            # Usually an unquoted "1,234": the cells no longer line up with the header, so no cell can be trusted.
            probs.add(file, n, None, ",".join(r), f"the row has {width + len(extra)} cells but the header has {width} "
                      "columns", "put numbers with thousands separators in quotes (\"1,234\") or type them without "
                      "commas (1234); remove text beyond the last column")
            continue
        iid = get(r, "indicator")
        if not iid:
            probs.add(file, n, "indicator", "", "the indicator is empty", "give an indicator id such as A1")
            continue
        if not cat.has_indicator(iid):
            match = next((i.id for i in cat.indicators if i.id.casefold() == iid.casefold()), None)
            if match is None:
                probs.add(file, n, "indicator", iid, "unknown indicator",
                          f"use one of the catalogue's ids ({', '.join(i.id for i in cat.indicators[:30])})")
                continue
            iid = match
        ind = cat.indicator(iid)
        period = _period(get(r, "period"), ind, cat, file, n, probs)
        nums = {k: _num(get(r, k), k, k == "value" and ind.unit == "percent", file, n, probs)
                for k in ("value", "numerator", "denominator")}
        commentary = get(r, "commentary")
        if len(commentary) > 4000:
            probs.add(file, n, "commentary", commentary, "the commentary is longer than 4,000 characters",
                      "shorten it; link to a fuller report instead")
        area = home_area(cat, get(r, "area"))
        if area.startswith(FORMULA_PREFIXES):  # no place is called "=HYPERLINK(...)"; it would travel into exports
            probs.add(file, n, "area", area, "the area looks like a spreadsheet formula, not a place",
                      "write the area's name (e.g. Hackney), or leave it empty for the partnership's own area")
            continue
        if period is None or any(v is False for v in nums.values()):
            continue
        value, num, den = (None if v is False else v for v in (nums["value"], nums["numerator"], nums["denominator"]))
        if not _values_ok(ind, value, num, den, commentary, file, n, probs):
            continue
        key = (iid, period, area)
        if key in seen:
            probs.add(file, n, "period", get(r, "period"),
                      f"duplicate row: {iid} {period.label}{' ' + area if area else ''} is already given in row {seen[key]}",
                      "keep one row per indicator, period and area")
            continue
        seen[key] = n
        if num is not None and den is not None and value is None:
            value = num / den * ind.scale if den else None
        out.append(ReturnRow(n, iid, period, area, value, num, den, commentary))
    probs.raise_if_any()
    return out


def _period(text: str, ind: Indicator, cat: Catalogue, file: str, n: int, probs: Collector) -> Period | None:
    allowed = _allowed_grains(ind)
    examples = {"month": "2017-04 or Apr 2017", "quarter": "2017/18 Q1", "year": "2017/18"}
    want = " or ".join(examples[g] for g in allowed)
    if not text:
        probs.add(file, n, "period", "", "the period is empty", f"write the period, e.g. {want}")
        return None
    try:
        # A date (30/04/2018) means the period of the indicator's own frequency that contains it: the month for a
        # monthly indicator (so a monthly return dated by month-ends is three months, not one quarter three times).
        p = parse_period(text, grain=allowed[0]) if _looks_like_date(text) else parse_period(text)
    except PeriodError as e:
        probs.add(file, n, "period", text, str(e).split(";")[0], f"write it as {want} (dates as dd/mm/yyyy)")
        return None
    if p.grain not in allowed:
        probs.add(file, n, "period", text, f"{ind.id} is a {ind.frequency} indicator but this is a {p.grain}",
                  f"write it as {want}")
        return None
    first, last = cat.first_period, cat.last_period
    if (first and p.end < first.start) or (last and p.start > last.end):
        probs.add(file, n, "period", text, f"{p.label} is outside the catalogue's range "
                                           f"({first.label if first else '...'} to {last.label if last else '...'})",
                  "check the year; the range is set under periods: in indicators.yaml")
        return None
    return p


def _looks_like_date(text: str) -> bool:
    return bool(re.match(r"^\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}", text.strip()))


def _num(text: str, column: str, percent: bool, file: str, n: int, probs: Collector) -> float | bool | None:
    """The number in a cell, None when empty, False (and a problem) when not a figure the cell may hold."""
    if not text:
        return None
    trouble = number_problem(text, percent)
    if trouble is not None:
        probs.add(file, n, column, text, *trouble)
        return False
    return parse_number(text)


def _values_ok(ind: Indicator, value: float | None, num: float | None, den: float | None, commentary: str,
               file: str, n: int, probs: Collector) -> bool:
    ok = True
    if (num is None) != (den is None):
        probs.add(file, n, "denominator" if den is None else "numerator", None,
                  "numerator and denominator must be given together", "fill in both, or neither and give the value")
        return False
    if num is not None and not ind.has_ratio:
        probs.add(file, n, "numerator", num, f"{ind.id} is a {ind.unit}, not a percentage or rate",
                  "give the count in the value column and leave numerator and denominator empty")
        return False
    if value is None and num is None and not commentary:
        probs.add(file, n, "value", "", "the value is empty", "give the figure, or remove the row")
        return False
    for name, v in (("value", value), ("numerator", num), ("denominator", den)):
        if v is not None and v == 0 and math.copysign(1.0, v) < 0:  # "-0": a sign typed on nothing, or a lost digit
            probs.add(file, n, name, "-0", "a minus sign on 0", "type 0, or check the cell for a missing digit")
            ok = False
        elif v is not None and v < 0:
            probs.add(file, n, name, _g(v), "negative figures are not allowed", "check the sign; counts cannot be negative")
            ok = False
        elif v is not None and v > MAX_FIGURE:
            probs.add(file, n, name, _g(v), f"the figure is larger than {MAX_FIGURE:,.0f}",
                      "check the cell: a figure this large is a typing or export error")
            ok = False
    if not ok:
        return False
    if ind.unit == "count" and value is not None and not float(value).is_integer():
        probs.add(file, n, "value", _g(value), f"{ind.id} is a count, so it must be a whole number",
                  "give the whole number of cases")
        return False
    if den is not None and num is not None:
        if den == 0:
            probs.add(file, n, "denominator", "0", "the denominator is 0", "give the number of cases the percentage is of")
            return False
        if ind.unit == "percent" and num > den:
            probs.add(file, n, "numerator", _g(num), f"numerator {_g(num)} is larger than denominator {_g(den)}",
                      "check the two figures: the numerator counts part of the denominator")
            return False
        if value is not None:
            computed = num / den * ind.scale
            if abs(computed - value) > 0.5 * 10 ** -ind.decimals + 1e-9:
                probs.add(file, n, "value", _g(value),
                          f"does not match numerator / denominator ({computed:.{ind.decimals}f})",
                          "leave the value empty (it is computed) or correct it")
                return False
    if ind.unit == "percent" and value is not None and value > 100:
        probs.add(file, n, "value", _g(value), "a percentage cannot be over 100", "give the percentage, e.g. 85.5")
        return False
    return True


def _g(v: float) -> str:
    return f"{v:g}"
