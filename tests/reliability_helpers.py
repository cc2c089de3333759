"""Helpers of the reliability tests (tests/test_reliability_*.py) and the figures they report.

- ``police_uk_csv`` writes a large police.uk-shaped street-level file (synthetic, seeded) for the crash tests.
- hostile and broken files (zip bombs, lying zip directories, XML entity bombs, cell bombs, wide files, binary).
- ``table_digest`` / ``db_digest`` fingerprint every cspdash table, so "nothing committed earlier changed" is one
  comparison.
- ``record`` appends a figure to the JSON file named by ``$CSPDASH_RELIABILITY_FIGURES`` (``make reliability`` sets
  it); ``python tests/reliability_helpers.py FIGURES.json docs/reliability.md`` writes them into the figures table
  of docs/reliability.md, between the ``<!-- figures -->`` markers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import struct
import sys
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import duckdb
import openpyxl

ROOT = Path(__file__).resolve().parents[1]
FIGURES_ENV = "CSPDASH_RELIABILITY_FIGURES"

#: The police.uk street-level header, as downloaded.
POLICE_UK_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]
_CRIME_TYPES = ["Anti-social behaviour", "Violence and sexual offences", "Other theft", "Burglary", "Vehicle crime",
                "Shoplifting", "Criminal damage and arson", "Drugs", "Public order", "Robbery", "Theft from the person",
                "Bicycle theft", "Possession of weapons", "Other crime"]
_OUTCOMES = ["Investigation complete; no suspect identified", "Under investigation", "Status update unavailable",
             "Unable to prosecute suspect", "Awaiting court outcome", "Offender given a caution"]
_BOROUGHS = ["Tower Hamlets"] * 8 + ["Hackney", "Newham"]  # mostly the partnership's own area, some neighbours
_STREETS = ["Whitechapel Road", "Commercial Street", "Brick Lane", "Mile End Road", "Roman Road", "Cable Street",
            "Westferry Road", "Bethnal Green Road", "Burdett Road", "Poplar High Street"]

#: The tables whose contents must survive a crash and a backup/restore round trip.
CORE_TABLES = ("uploads", "observations", "commentary", "events", "users", "schema_version")


def police_uk_csv(path: Path, rows: int, seed: int = 2017, months: Iterable[str] = ("2024-01", "2024-02", "2024-03")
                  ) -> Path:
    """Write a police.uk street-level CSV of ``rows`` synthetic Tower Hamlets records (about 230 bytes a row)."""
    rng = random.Random(seed)
    months = list(months)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(POLICE_UK_HEADER)
        for n in range(rows):
            crime = rng.choice(_CRIME_TYPES)
            lsoa = rng.randint(1, 150)
            w.writerow([
                "" if crime == "Anti-social behaviour" else f"{rng.getrandbits(256):064x}",
                months[n % len(months)], "Metropolitan Police Service", "Metropolitan Police Service",
                f"{-0.07 + rng.random() * 0.07:.6f}", f"{51.49 + rng.random() * 0.04:.6f}",
                f"On or near {rng.choice(_STREETS)}", f"E0100{4000 + lsoa}",
                f"{_BOROUGHS[lsoa % len(_BOROUGHS)]} {lsoa:03d}{'ABCD'[lsoa % 4]}",
                crime, "" if crime == "Anti-social behaviour" else rng.choice(_OUTCOMES), ""])
    return path


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes that takes no disk space (a hole after ``head``)."""
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table of the main database (cspdash's own and the ``ds_*`` dataset tables), sorted."""
    return sorted(r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
    ).fetchall())


def table_digest(con: duckdb.DuckDBPyConnection, table: str, where: str = "") -> tuple[int, int]:
    """(row count, order-independent hash of every row) of ``table``, optionally of the rows matching ``where``."""
    q = '"' + table.replace('"', '""') + '"'
    row = con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {q} AS t {'WHERE ' + where if where else ''}"
                      ).fetchone()
    return int(row[0]), int(row[1])


def db_digest(con: duckdb.DuckDBPyConnection, exclude_uploads: Iterable[int] = ()) -> dict[str, tuple[int, int]]:
    """``table_digest`` of every table; rows belonging to ``exclude_uploads`` (by upload_id) are left out."""
    ids = sorted(set(exclude_uploads))
    out = {}
    for t in tables(con):
        cols = {r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()}
        where = f"upload_id IS NULL OR upload_id NOT IN ({', '.join(map(str, ids))})" if ids and "upload_id" in cols else ""
        out[t] = table_digest(con, t, where)
    return out


def record(section: str, **figures: object) -> None:
    """Add figures for ``section`` to the figures file named by $CSPDASH_RELIABILITY_FIGURES (no-op when unset)."""
    target = os.environ.get(FIGURES_ENV)
    if not target:
        return
    path = Path(target)
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entry = data.setdefault(section, {})
    for k, v in figures.items():
        if isinstance(v, int | float) and k.endswith("_count_add"):
            key = k.removesuffix("_count_add")
            entry[key] = entry.get(key, 0) + v
        else:
            entry[k] = v
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")


# --- hostile and broken files: each a function returning the bytes of one upload ---------------------
POLICE_HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
                 "Last outcome category,Context")
POLICE_ROW = ",2024-01,Metropolitan Police Service,Metropolitan Police Service,-0.05,51.52,On or near Brick Lane," \
             "E01004200,Tower Hamlets 001A,Anti-social behaviour,,"
GOOD_RETURN_ROW = "A2,2025/26 Q3,150"
SQL = "'); DROP TABLE uploads; --"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def workbook(rows: list[list[object]]) -> bytes:
    """An .xlsx with ``rows`` on its first sheet (strings starting = are stored as formulas, with no result)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_XLSX_ROWS = [["indicator", "period", "value"], ["A2", "2025/26 Q3", 150]]


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The zip package ``data`` with some parts replaced or added."""
    replace, add = replace or {}, add or {}
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, body in add.items():
            z.writestr(name, body)
    return out.getvalue()


def sheet_xml(rows: bytes) -> bytes:
    return b'<?xml version="1.0"?><worksheet ' + NS + b"><sheetData>" + rows + b"</sheetData></worksheet>"


def zip_bomb(unpacked: int = 150 * 2**20) -> bytes:
    """A valid workbook plus a part of ``unpacked`` zero bytes (compressed about 1000:1)."""
    out = io.BytesIO()
    base = zipfile.ZipFile(io.BytesIO(workbook(GOOD_XLSX_ROWS)))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in base.infolist():
            z.writestr(info.filename, base.read(info.filename))
        with z.open("xl/media/image1.bin", "w") as f:
            chunk = bytes(2**20)
            for _ in range(unpacked // 2**20):
                f.write(chunk)
    return out.getvalue()


def ratio_bomb() -> bytes:
    """A workbook whose sheet part is 20 MB of spaces: under the size caps, over the compression-ratio cap."""
    xlsx = workbook(GOOD_XLSX_ROWS)
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml")
    return rezip(xlsx, {"xl/worksheets/sheet1.xml": sheet.replace(b"</sheetData>", b"</sheetData>" + b" " * 20_000_000)})


def lying_zip_bomb(part: str = "xl/worksheets/sheet1.xml", unpacked: int = 20_000_000) -> bytes:
    """A workbook whose sheet unpacks to ``unpacked`` bytes while its zip directory says it is no bigger than its
    compressed size (so the size and ratio checks, which read the directory, pass)."""
    xlsx = workbook(GOOD_XLSX_ROWS)
    sheet = zipfile.ZipFile(io.BytesIO(xlsx)).read(part)
    data = bytearray(rezip(xlsx, {part: sheet + b" " * unpacked}))
    name = part.encode()
    for sig, name_len_at, name_at, csize_at, size_at in ((b"PK\x01\x02", 28, 46, 20, 24), (b"PK\x03\x04", 26, 30, 18, 22)):
        pos = data.find(sig)
        while pos >= 0:
            n = struct.unpack("<H", data[pos + name_len_at:pos + name_len_at + 2])[0]
            if bytes(data[pos + name_at:pos + name_at + n]) == name:
                data[pos + size_at:pos + size_at + 4] = data[pos + csize_at:pos + csize_at + 4]
            pos = data.find(sig, pos + 4)
    return bytes(data)


def cell_bomb(rows: int = 2000) -> bytes:
    """A small workbook whose rows each have one cell in the last column (XFD): 16,384 cells a row when read."""
    body = b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(1, rows + 1))
    return rezip(workbook(GOOD_XLSX_ROWS), {"xl/worksheets/sheet1.xml": sheet_xml(body)})


def billion_laughs() -> bytes:
    """A workbook whose sheet defines nested XML entities (a billion "lol"s when expanded)."""
    ents = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    xml = (b'<?xml version="1.0"?><!DOCTYPE lolz [' + ents + b"]><worksheet " + NS +
           b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    return rezip(workbook(GOOD_XLSX_ROWS), {"xl/worksheets/sheet1.xml": xml})


def external_entity() -> bytes:
    """A workbook whose sheet pulls in /etc/passwd through an external XML entity (XXE)."""
    xml = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet ' + NS +
           b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>')
    return rezip(workbook(GOOD_XLSX_ROWS), {"xl/worksheets/sheet1.xml": xml})


def macro_workbook() -> bytes:
    return rezip(workbook(GOOD_XLSX_ROWS), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})


def corrupt_xlsx() -> bytes:
    """A workbook with 200 bytes in the middle of its compressed data inverted."""
    data = bytearray(workbook(GOOD_XLSX_ROWS))
    mid = len(data) // 2
    data[mid:mid + 200] = bytes(b ^ 0xFF for b in data[mid:mid + 200])
    return bytes(data)


def random_binary(n: int = 50_000, seed: int = 7, nul: bool = True) -> bytes:
    rng = random.Random(seed)
    data = bytes(rng.getrandbits(8) for _ in range(n))
    return data if nul else data.replace(b"\x00", b"\x80").replace(b"\n", b"\x81")


def wide_csv(columns: int = 10_000) -> bytes:
    """A CSV with ``columns`` columns and one data row."""
    return (",".join(f"col{i}" for i in range(columns)) + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


# --- the figures table of docs/reliability.md ------------------------------------------------------

START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def figures_table(data: dict, when: str) -> str:
    """The Markdown figures table from the recorded figures."""
    crash = data.get("crash", {})
    conc = data.get("concurrency", {})
    hostile = data.get("hostile", {})
    backup = data.get("backup", {})
    server = data.get("server", {})
    rows = [
        ("Crash: SIGKILLs of `python -m cspdash import` (police.uk file)",
         f"{crash.get('kills', 0)} kills of a {crash.get('rows', 0):,}-row, {crash.get('file_mb', 0):.0f} MB import "
         f"({crash.get('import_seconds', 0):.1f} s uninterrupted); {crash.get('finished_first', 0)} more runs finished "
         "before their kill moment and were checked the same way"),
        ("Crash: outcome after each run (killed or finished)",
         f"{crash.get('none_stored', 0)} left nothing stored, {crash.get('whole_stored', 0)} left the whole upload, "
         f"{crash.get('partial', 0)} left part of one; {crash.get('during_write', 0)} kills struck after the importer "
         f"had begun writing to the database file or its write-ahead log"),
        ("Crash: database opened afterwards",
         f"{crash.get('reopened', 0)} of {crash.get('kills', 0) + crash.get('finished_first', 0)} runs"),
        ("Crash: earlier data changed (checksum of every table)", f"{crash.get('earlier_changed', 0)} times"),
        ("Concurrency: rounds (2 uploaders + 1 reader, one Store)",
         f"{conc.get('rounds', 0)} rounds, {conc.get('uploads', 0)} uploads, {conc.get('reads', 0)} reads"),
        ("Concurrency through the real server (Chromium, 3 sessions)",
         f"{server.get('rounds', 0)} rounds, {server.get('uploads', 0)} uploads confirmed at once, "
         f"{server.get('reads', 0)} overview reloads"),
        ("Concurrency: uploads lost or stored twice", f"{conc.get('lost', 0)} lost, {conc.get('duplicated', 0)} twice"),
        ("Concurrency: reads that saw half an upload", str(conc.get("torn_reads", 0))),
        ("Hostile inputs tried (named cases + generated files)",
         f"{hostile.get('named', 0)} named cases, {hostile.get('generated', 0)} generated files"),
        ("Hostile inputs: stored, crashed, or left the store unable to answer",
         f"{hostile.get('stored', 0)} stored, {hostile.get('crashed', 0)} crashed, "
         f"{hostile.get('store_down', 0)} store down"),
        ("Backup/restore: tables compared, differences",
         f"{backup.get('tables', 0)} tables, {backup.get('rows', 0):,} rows, {backup.get('differences', 0)} differences; "
         f"{backup.get('originals', 0)} original files byte-identical"),
        ("Data lost, all tests", str(crash.get("earlier_changed", 0) + crash.get("partial", 0) + conc.get("lost", 0)
                                     + backup.get("differences", 0))),
    ]
    lines = [f"Figures of the run of {when} (`make reliability`):", "", "| what | result |", "|---|---|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def write_figures(figures: Path, doc: Path) -> str:
    """Replace the figures table in ``doc`` with one made from ``figures``; return the table."""
    data = json.loads(figures.read_text(encoding="utf-8"))
    table = figures_table(data, datetime.now().strftime("%Y-%m-%d %H:%M"))
    text = doc.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{doc} has no {START} ... {END} markers; add them where the table goes")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    doc.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")
    return table


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python tests/reliability_helpers.py FIGURES.json docs/reliability.md")
    print(write_figures(Path(sys.argv[1]), Path(sys.argv[2])))
