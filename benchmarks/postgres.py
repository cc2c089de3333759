"""PostgreSQL beside DuckDB: the import and status figures of a store on PostgreSQL, against the embedded file's,
written into docs/performance.md (``make bench``; issue 16).

    .venv/bin/python -m benchmarks.postgres --write      # 1,000,000 rows, 3 rounds (a few minutes)
    .venv/bin/python -m benchmarks.postgres --quick      # a smoke run at 10,000 rows, one round; writes nothing

The benchmark starts its own PostgreSQL server as the tests do (tests/pg_server.py: Debian's ``postgresql`` package,
``make postgresql``, in a temporary folder on a free port of 127.0.0.1) but with PostgreSQL's default durability (fsync
at commit), and the extracts folder (``CSPDASH_EXTRACTS``) on the same disk as the DuckDB file. Each measurement runs
in its own process (``benchmarks/child.py``, as ``benchmarks.run`` does), the engines in turn, and each one's best
time counts:

- the record-level import of the police.uk file of ``benchmarks.run`` (``Store.import_files(..., dataset=...)``:
  DuckDB's table in the file, or a Parquet file under ``CSPDASH_EXTRACTS`` with its upload row in PostgreSQL);
- the demo loaded (``python -m cspdash demo``, the whole process), then one indicator return imported into it, as a
  chair uploads one, and the status of every indicator for every complete quarter of the demo;
- the data version (``Store.data_version()``), read at every render to key the app's caches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks import doc as doc_block
from benchmarks.run import DEFAULT_DATA, DOC, ROOT, child, fresh, log, machine, process, street_files

START, END = "<!-- postgres:start -->", "<!-- postgres:end -->"
CONFIG = ROOT / "indicators.yaml"
ENGINES = ("duckdb", "postgresql")
VERSION_READS = 200  # data-version reads timed, one after another


@contextmanager
def postgres() -> Iterator[object]:
    """The benchmark's own PostgreSQL server (tests/pg_server.py), durable as PostgreSQL is by default."""
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from pg_server import running_server
    finally:
        sys.path.remove(str(ROOT / "tests"))
    with running_server(durable=True) as server:
        yield server


@contextmanager
def extracts(folder: Path) -> Iterator[Path]:
    """``CSPDASH_EXTRACTS`` set to a fresh ``folder`` for the child processes started meanwhile."""
    fresh(folder)
    before = os.environ.get("CSPDASH_EXTRACTS")
    os.environ["CSPDASH_EXTRACTS"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("CSPDASH_EXTRACTS", None)
        else:
            os.environ["CSPDASH_EXTRACTS"] = before


def database(engine: str, server, work: Path, name: str) -> str:
    """A new, empty database of ``engine``: a file path under ``work``, or a new PostgreSQL database's URL."""
    if engine == "duckdb":
        fresh(work / name)
        return str(work / name / "csp.duckdb")
    return server.new_database(name.replace("-", "_"))


def return_file(folder: Path, n: int) -> Path:
    """A chair's return for a quarter the demo lacks (A2 and A3 for 2025/26 Q3), its figures differing by ``n``."""
    fresh(folder)
    path = folder / f"a-return-{n}.csv"
    path.write_text(f"indicator,period,value\nA2,2025/26 Q3,{150 + n}\nA3,2025/26 Q3,{40 + n}\n", encoding="utf-8")
    return path


def data_version_seconds(db: str) -> float:
    """The median time of one ``Store.data_version()`` (what every render of the app asks first)."""
    from cspdash.config import load_catalogue
    from cspdash.store import Store

    store = Store(db, load_catalogue(CONFIG))
    try:
        times = []
        for _ in range(VERSION_READS):
            t = time.perf_counter()
            store.data_version()
            times.append(time.perf_counter() - t)
        return statistics.median(times)
    finally:
        store.close()


def measure(rows: int, repeat: int, data: Path) -> tuple[dict[str, dict[str, float]], str]:
    """Every figure, by engine; and the PostgreSQL server's version."""
    files = street_files(data / "street", rows)
    work = data / "postgres"
    m: dict[str, dict[str, float]] = {e: {} for e in ENGINES}
    with postgres() as server:
        version = server_version(server)
        log(f"postgres: record-level import of {rows:,} rows, {repeat} round(s), the engines in turn")
        for n in range(repeat):
            for engine in ENGINES:
                with extracts(work / "extracts"):
                    db = database(engine, server, work, f"import-{n}")
                    done = child("import", *map(str, files), "--db", db, "--config", str(CONFIG))
                m[engine]["import_s"] = min(m[engine].get("import_s", float("inf")), done.result["seconds"])
                m[engine]["import_rss_mb"] = max(m[engine].get("import_rss_mb", 0), done.rss_mb)
                m[engine]["import_rows"] = done.result["rows"]
                shutil.rmtree(work / f"import-{n}", ignore_errors=True)
        for engine in ENGINES:
            log(f"postgres: the demo on {engine}")
            with extracts(work / f"extracts-{engine}"):
                db = database(engine, server, work, "demo")
                cli = [sys.executable, "-m", "cspdash", "--db", db, "--config", str(CONFIG)]
                m[engine]["demo_s"] = process([*cli, "demo"], reports=False).wall
                returns = [child("returns", str(return_file(work / "return", n).parent), "--db", db,
                                 "--config", str(CONFIG)) for n in range(repeat)]
                m[engine]["return_s"] = min(c.result["seconds"] for c in returns)
                st = child("status", "--db", db, "--config", str(CONFIG), "--repeat", str(repeat))
                m[engine].update(status_s=st.result["status_seconds"], statuses=st.result["statuses"],
                                 quarters=st.result["quarters"], open_s=st.result["open_seconds"],
                                 areas_s=st.result["areas_seconds"], status_rss_mb=st.rss_mb)
                m[engine]["version_ms"] = data_version_seconds(db) * 1000
    shutil.rmtree(work, ignore_errors=True)
    return m, version


def report(m: dict[str, dict[str, float]], rows: int, repeat: int, took: float, server_version: str) -> str:
    """The Markdown block between the markers of docs/performance.md."""
    mc = machine()
    d, p = m["duckdb"], m["postgresql"]

    def row(label: str, key: str, fmt: str) -> str:
        ratio = f"{p[key] / d[key]:.2f}×" if d.get(key) else "–"
        return f"| {label} | {d[key]:{fmt}} | {p[key]:{fmt}} | {ratio} |"

    return "\n".join([
        START,
        f"Latest run: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, `python -m benchmarks.postgres`, "
        f"{took / 60:.1f} minutes, {repeat} round(s), the best of each. Machine: {mc['cpu']}, {mc['cores']} cores, "
        f"{mc['memory']} memory; load average at the end {os.getloadavg()[0]:.1f}; PostgreSQL {server_version} on "
        "the same machine over TCP (127.0.0.1), started by the benchmark with its default durability (fsync at "
        "commit); `CSPDASH_EXTRACTS` and the DuckDB file on the same disk.",
        "",
        "| measure | DuckDB file | PostgreSQL | PostgreSQL ÷ DuckDB |",
        "|---|---:|---:|---:|",
        row(f"record-level import, {int(d['import_rows']):,} police.uk rows (`Store.import_files`), s", "import_s",
            ".2f"),
        row("its peak memory (the importing process), MB", "import_rss_mb", ",.0f"),
        row("the whole demo loaded (`python -m cspdash demo`, the process), s", "demo_s", ".1f"),
        row("one indicator return imported into the demo (2 figures), s", "return_s", ".3f"),
        row(f"status of every indicator for each of the demo's {int(d['quarters'])} complete quarters "
            f"({int(d['statuses']):,} statuses), s", "status_s", ".3f"),
        row("area comparison of every indicator, latest quarter, s", "areas_s", ".3f"),
        row("opening the store (`Store(db, catalogue)`), s", "open_s", ".3f"),
        row("the data version (`Store.data_version()`, read at every render), ms", "version_ms", ".2f"),
        "",
        END,
    ])


def server_version(server) -> str:
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as con:
        return con.execute("SHOW server_version").fetchone()[0].split()[0]


def run(out: Path | None, rows: int, repeat: int, data: Path) -> dict[str, dict[str, float]]:
    """Measure, print the block and write it into ``out`` when given; return the figures."""
    t = time.perf_counter()
    m, version = measure(rows, repeat, data)
    block = report(m, rows, repeat, time.perf_counter() - t, version)
    print(block)
    if out:
        doc_block.write_block(out, START, END, block, heading="PostgreSQL beside DuckDB")
        log(f"figures written to {out}")
    return m


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.postgres", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000, help="police.uk rows imported (default 1,000,000)")
    p.add_argument("--repeat", type=int, default=3, help="rounds; the best of each counts (default 3)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 10,000 rows, one round, nothing written")
    p.add_argument("--write", action="store_true", help="write the figures into docs/performance.md")
    p.add_argument("--out", type=Path, help="the Markdown file to write into (default docs/performance.md)")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where generated data goes (default benchmarks/.data)")
    a = p.parse_args(argv)
    rows, repeat = (10_000, 1) if a.quick else (a.rows, max(1, a.repeat))
    out = a.out or (DOC if a.write and not a.quick else None)
    run(out, rows, repeat, a.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
