"""Measure cspdash at a borough's and a region's size and write the figures into docs/performance.md.

    make bench                                   # the default sizes: 0.1x, 1x and 10x (about 10-15 minutes)
    .venv/bin/python -m benchmarks.run --quick   # a smoke run at small sizes (about a minute); writes nothing
    .venv/bin/python -m benchmarks.run --help

At scale 1 the data is a year of London police.uk street-level records (1,000,000 rows, about 235 MB) and a
regional deployment of 33 areas x 64 quarters x 20 indicators. Other scales multiply the rows (in files of at
most 1,000,000 rows, one a year, since a record-level file is limited to 512 MiB) and the number of areas.
Every measurement runs in a child process (``benchmarks/child.py``) so that its peak memory (``ru_maxrss``) is
its own. Generated data goes under ``benchmarks/.data/`` (git-ignored) and is reused while its size matches.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import doc as doc_block
from benchmarks import gen, pack, startup

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / "benchmarks" / ".data"
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

BASE_ROWS = 1_000_000  # a year of London police.uk records
BASE_AREAS = 33  # the London boroughs and the City
FILE_ROWS = 1_000_000  # rows per generated file: a larger file would pass the 512 MiB limit of a record-level file

#: Budgets of the issue, at scale 1.
BUDGETS = {"import_ratio": 1.3, "import_rss_mb": 700, "status": 1.0, "page_warm": 0.5, "page_cold": 3.0}


@dataclass
class Child:
    """What a child process reported, with its wall time and peak resident memory."""

    result: dict
    wall: float
    rss_mb: float


@dataclass
class Scale:
    """Every figure measured at one scale."""

    scale: float
    rows: int
    files: int
    csv_mb: float
    areas: int
    figures: int = 0
    measures: dict[str, float] = field(default_factory=dict)


def child(*args: str) -> Child:
    """Run ``python -m benchmarks.child ARGS``; return its JSON, wall time and peak resident memory (its own
    ``ru_maxrss`` from ``wait4``, not the running maximum over every child that ``RUSAGE_CHILDREN`` gives)."""
    return process([sys.executable, "-m", "benchmarks.child", *args])


#: Runs a command and reports its wall time and peak memory on the last line of stderr. Linux hands a process the
#: peak memory of the process that started it (``ru_maxrss`` survives fork and exec), so a child started straight from
#: this process, grown by the earlier steps to about 1 GB, would report at least that much; started from this small
#: launcher it reports its own.
_LAUNCHER = """import os, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_pid, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t
print(f"\\nbenchmark-child {wall} {usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def process(cmd: list[str], reports: bool = True) -> Child:
    """Run ``cmd``; its JSON (the last line starting ``{`` when it ``reports``), wall time and peak memory (its own,
    measured by ``_LAUNCHER``)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], cwd=ROOT, stdout=out, stderr=err,  # noqa: S603
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}\n{stderr[-4000:]}")
    _tag, wall, maxrss = stderr.rstrip().splitlines()[-1].split()
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    return Child(json.loads(lines[-1]) if reports else {}, float(wall), int(maxrss) / 1024)  # ru_maxrss: KiB


def street_files(folder: Path, rows: int, quoted: bool = False) -> list[Path]:
    """Generated police.uk files holding ``rows`` rows in all, one year a file (reused when already there); with
    ``quoted`` every cell quoted as RFC 4180 allows (``gen.street_csv``)."""
    folder.mkdir(parents=True, exist_ok=True)
    out, left, year = [], rows, 2024
    while left > 0:
        n = min(FILE_ROWS, left)
        path = folder / f"street-{'quoted-' if quoted else ''}{year}-{n}.csv"
        if not path.exists():
            tmp = path.with_suffix(".part")
            gen.street_csv(tmp, n, year=year, seed=year, quoted=quoted)
            tmp.rename(path)
        out.append(path)
        left -= n
        year -= 1
    return out


def measure_scale(scale: float, data: Path, repeat: int, pages: bool) -> Scale:
    """Import, status and page figures at one scale."""
    rows = max(1000, round(BASE_ROWS * scale))
    areas = max(2, round(BASE_AREAS * scale))
    work = data / f"scale-{scale:g}"
    files = street_files(data / "street", rows)
    s = Scale(scale, rows, len(files), sum(f.stat().st_size for f in files) / 1e6, areas)
    config = str(ROOT / "indicators.yaml")
    m = s.measures

    log(f"scale {scale:g}: import {rows:,} rows in {len(files)} file(s), {s.csv_mb:,.0f} MB")
    # The machine may be busy with something else: run the sides in turn, several times, and keep each one's best
    # time (the least disturbed) and worst memory.
    runs: dict[str, list[Child]] = {"floor": [], "floor-options": [], "import": []}
    for _ in range(repeat if scale <= 1 else 1):
        for task in runs:
            fresh(work / task)
            args = ["--db", str(work / task / "csp.duckdb")] + (["--config", config] if task == "import" else [])
            runs[task].append(child(task, *map(str, files), *args))
            if task == "import":
                m["import_disk_mb"] = du(work / task) / 1e6
            shutil.rmtree(work / task, ignore_errors=True)
    for task, key in (("floor", "floor"), ("floor-options", "floor_opts"), ("import", "import")):
        m[f"{key}_s"] = min(c.result["seconds"] for c in runs[task])
        m[f"{key}_rss_mb"] = max(c.rss_mb for c in runs[task])
        m[f"{key}_wall_s"] = min(c.wall for c in runs[task])
    m["import_ratio"] = m["import_s"] / m["floor_s"]
    log(f"  floor {m['floor_s']:.2f} s, {m['floor_rss_mb']:.0f} MB; with cspdash's reading options "
        f"{m['floor_opts_s']:.2f} s; cspdash {m['import_s']:.2f} s ({m['import_ratio']:.2f}x), "
        f"{m['import_rss_mb']:.0f} MB")
    if scale <= 1 and len(files) == 1:
        for variant, quoted in (("unquoted", False), ("quoted", True)):
            cli_import(street_files(data / "street", rows, quoted)[0], work / "cli", config, repeat, m, variant)

    log(f"scale {scale:g}: status and pages for {areas} areas x {gen.QUARTERS} quarters x {len(gen.INDICATORS)} "
        "indicators")
    cat = gen.catalogue_yaml(data / "catalogue.yaml")
    fresh(work / "status")
    db = str(work / "status" / "csp.duckdb")
    returns = gen.returns(work / "returns", areas)
    loaded = child("returns", str(returns[0].parent), "--db", db, "--config", str(cat))
    s.figures = loaded.result["figures"]
    m["returns_s"], m["returns_rss_mb"] = loaded.result["seconds"], loaded.rss_mb
    st = child("status", "--db", db, "--config", str(cat), "--repeat", str(repeat))
    m["status_s"], m["areas_s"], m["status_rss_mb"] = st.result["status_seconds"], st.result["areas_seconds"], st.rss_mb
    m["statuses"], m["quarters"] = st.result["statuses"], st.result["quarters"]
    log(f"  {s.figures:,} figures; status of every quarter {m['status_s']:.3f} s; areas {m['areas_s']:.3f} s")
    if pages:
        pg = child("pages", "--db", db, "--config", str(cat), "--repeat", str(repeat))
        m.update({f"page_{k}_s": v for k, v in pg.result.items()})
        m["pages_rss_mb"] = pg.rss_mb
        log(f"  overview {m['page_overview_cold_s']:.2f} s cold / {m['page_overview_warm_s']:.2f} s warm; priority "
            f"{m['page_priority_cold_s']:.2f} s cold / {m['page_priority_warm_s']:.2f} s warm")
    shutil.rmtree(work, ignore_errors=True)
    return s


def cli_import(file: Path, work: Path, config: str, repeat: int, m: dict[str, float], variant: str) -> None:
    """The whole ``python -m cspdash import FILE --dataset street_crime`` process (start-up, imports, the import,
    exit) into a new database, against DuckDB's own ``read_csv`` of the file into a table (the floor's own time),
    the two run in turn ``repeat`` times (at least twice): the best time of each and the import's worst memory."""
    cli = [sys.executable, "-m", "cspdash", "--db", str(work / "csp.duckdb"), "--config", config]
    # The package's bytecode compiled first, as an installed package has it: a shell with PYTHONDONTWRITEBYTECODE
    # set (which the children inherit) would otherwise compile every module of cspdash from source at each start.
    compileall.compile_dir(ROOT / "cspdash", quiet=1)
    floors, imports = [], []
    for _ in range(max(2, repeat)):
        fresh(work)
        floors.append(child("floor", str(file), "--db", str(work / "floor.duckdb")))
        process([*cli, "init"], reports=False)
        imports.append(process([*cli, "import", str(file), "--dataset", "street_crime", "--user", "bench"],
                               reports=False))
        shutil.rmtree(work, ignore_errors=True)
    m[f"cli_{variant}_mb"] = file.stat().st_size / 1e6
    m[f"cli_{variant}_s"] = min(c.wall for c in imports)
    m[f"cli_{variant}_floor_s"] = min(c.result["seconds"] for c in floors)
    m[f"cli_{variant}_ratio"] = m[f"cli_{variant}_s"] / m[f"cli_{variant}_floor_s"]
    m[f"cli_{variant}_rss_mb"] = max(c.rss_mb for c in imports)
    log(f"  CLI import of the {variant} file: {m[f'cli_{variant}_s']:.2f} s against the floor's "
        f"{m[f'cli_{variant}_floor_s']:.2f} s ({m[f'cli_{variant}_ratio']:.2f}x), {m[f'cli_{variant}_rss_mb']:.0f} MB")


def fresh(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the report --------------------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    """CPU, cores, memory and versions of the machine measured."""
    import duckdb
    import streamlit

    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem_kb / 2**20:.1f} GiB",
            "python": platform.python_version(), "duckdb": duckdb.__version__, "streamlit": streamlit.__version__,
            "os": f"{platform.system()} {platform.release()}"}


def _ok(value: float, budget: float) -> str:
    return "✅" if value <= budget else "❌"


def report(scales: list[Scale], took: float, command: str = "python -m benchmarks.run",
           packed: dict[str, float] | None = None) -> str:
    """The Markdown block written between the markers of docs/performance.md."""
    mc = machine()
    one = next((s for s in scales if s.scale == 1), None)
    lines = [
        START,
        f"Latest run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, {took / 60:.1f} minutes in all. "
        f"Machine: {mc['cpu']}, {mc['cores']} cores (`nproc`), {mc['memory']} memory, {mc['os']}; "
        f"Python {mc['python']}, DuckDB {mc['duckdb']}, Streamlit {mc['streamlit']}.",
        "",
    ]
    if one is not None:
        m = one.measures
        lines += [
            "**Budgets at scale 1** (a year of London police.uk records; 33 areas × 64 quarters × 20 indicators):",
            "",
            "| budget | measured | |",
            "|---|---|---|",
            *(f"| CLI import of the {v} file ≤ 1.3 × DuckDB's own `read_csv`, < 700 MB | "
              f"{m[f'cli_{v}_ratio']:.2f} × ({m[f'cli_{v}_s']:.1f} s against {m[f'cli_{v}_floor_s']:.1f} s), "
              f"{m[f'cli_{v}_rss_mb']:,.0f} MB | {_ok(m[f'cli_{v}_ratio'], BUDGETS['import_ratio'])} "
              f"{_ok(m[f'cli_{v}_rss_mb'], BUDGETS['import_rss_mb'])} |"
              for v in ("quoted", "unquoted") if f"cli_{v}_s" in m),
            f"| status of every indicator for every quarter < 1 s | {m['status_s']:.2f} s "
            f"({int(m['statuses']):,} statuses) | {_ok(m['status_s'], BUDGETS['status'])} |",
        ]
        if "page_overview_warm_s" in m:
            for name, label in (("overview", "Overview"), ("priority", "Priority A")):
                lines.append(f"| {label} page, warm < 0.5 s / cold < 3 s | {m[f'page_{name}_warm_s']:.2f} s / "
                             f"{m[f'page_{name}_cold_s']:.2f} s | "
                             f"{_ok(m[f'page_{name}_warm_s'], BUDGETS['page_warm'])} "
                             f"{_ok(m[f'page_{name}_cold_s'], BUDGETS['page_cold'])} |")
        lines.append("")
    lines += import_table(scales)
    lines += pack.lines(packed) if packed else []
    head = "| measure | " + " | ".join(f"{s.scale:g}×" for s in scales) + " |"
    lines += ["**Growth** (each column is a separate run on freshly generated data):", "", head,
              "|---|" + "---:|" * len(scales)]

    def row(label: str, fmt, key: str | None = None) -> None:
        cells = []
        for s in scales:
            v = getattr(s, key) if key and hasattr(s, key) else s.measures.get(key or label)
            cells.append("–" if v is None else fmt(v))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("police.uk rows", lambda v: f"{v:,}", "rows")
    lines.append("| files (CSV MB) | " + " | ".join(f"{s.files} ({s.csv_mb:,.0f})" for s in scales) + " |")
    row("DuckDB `read_csv` into a table (the floor), s", lambda v: f"{v:.2f}", "floor_s")
    row("the same with cspdash's reading options, s", lambda v: f"{v:.2f}", "floor_opts_s")
    row("cspdash import, s", lambda v: f"{v:.2f}", "import_s")
    row("import ÷ floor", lambda v: f"{v:.2f}", "import_ratio")
    row("floor peak RSS, MB", lambda v: f"{v:,.0f}", "floor_rss_mb")
    row("import peak RSS, MB", lambda v: f"{v:,.0f}", "import_rss_mb")
    row("database + originals on disk, MB", lambda v: f"{v:,.0f}", "import_disk_mb")
    row("areas", lambda v: f"{v:,}", "areas")
    row("figures stored (observations)", lambda v: f"{v:,}", "figures")
    row("importing those returns, s", lambda v: f"{v:.2f}", "returns_s")
    row("status, every indicator × 64 quarters, s", lambda v: f"{v:.3f}", "status_s")
    row("area comparison, 20 indicators, s", lambda v: f"{v:.3f}", "areas_s")
    lines.append("| Overview page cold / warm, s | " + " | ".join(_pair(s, "overview") for s in scales) + " |")
    lines.append("| Priority A page cold / warm, s | " + " | ".join(_pair(s, "priority") for s in scales) + " |")
    lines.append("| first render in a new process, s | " + " | ".join(
        f"{s.measures['page_first_render_s']:.2f}" if "page_first_render_s" in s.measures else "–" for s in scales)
        + " |")
    lines += ["", END]
    return "\n".join(lines)


def import_table(scales: list[Scale]) -> list[str]:
    """The whole CLI import process of the largest one-file scale's quoted and unquoted file against the floor."""
    one = next((s for s in reversed(scales) if "cli_quoted_s" in s.measures), None)
    if one is None:
        return []
    m = one.measures
    lines = [f"**Import, the whole CLI process** (`python -m cspdash import FILE --dataset street_crime`, from start to "
             f"exit, {one.rows:,} rows) against DuckDB's own `read_csv` into a table; the sides alternating, each "
             "side's best time and the import's worst memory:", "",
             "| file | import | DuckDB floor | ratio | peak memory |", "|---|---:|---:|---:|---:|"]
    for v, label in (("quoted", 'cells quoted as RFC 4180 allows (`""` for an empty Context)'),
                     ("unquoted", "the same file without quotes")):
        lines.append(f"| {label}, {m[f'cli_{v}_mb']:,.0f} MB | {m[f'cli_{v}_s']:.2f} s | {m[f'cli_{v}_floor_s']:.2f} s "
                     f"| {m[f'cli_{v}_ratio']:.2f}× | {m[f'cli_{v}_rss_mb']:,.0f} MB |")
    return [*lines, ""]


def _pair(s: Scale, name: str) -> str:
    m = s.measures
    if f"page_{name}_cold_s" not in m:
        return "–"
    return f"{m[f'page_{name}_cold_s']:.2f} / {m[f'page_{name}_warm_s']:.2f}"


def write_doc(block: str, doc: Path = DOC) -> None:
    """Replace the block between the markers of ``doc`` (or append it) and keep the prose around it."""
    doc_block.write_block(doc, START, END, block)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scales", default="0.1,1,10", help="comma-separated multiples of the base size (default 0.1,1,10)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: scales 0.01 and 0.1, one repetition, nothing written unless --out is given")
    p.add_argument("--repeat", type=int, default=3, help="repetitions of the status and page measures (best/median)")
    p.add_argument("--no-pages", action="store_true", help="skip the Streamlit page renders")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where generated data goes (default benchmarks/.data)")
    p.add_argument("--out", type=Path, help="the Markdown file to write the figures into (default docs/performance.md; "
                                            "not written by --quick unless given)")
    p.add_argument("--json", type=Path, help="also write every figure as JSON here")
    a = p.parse_args(argv)
    scales = [0.01, 0.1] if a.quick else [float(x) for x in a.scales.split(",")]
    repeat = 1 if a.quick else a.repeat
    out = a.out if a.out or a.quick else DOC
    t = time.perf_counter()
    results = [measure_scale(sc, a.data, repeat, not a.no_pages) for sc in scales]
    packed = pack.measure(a.data, repeat)
    log(f"pack: the demo quarter's PDF in {packed['pack_s']:.2f} s cold; the CLI's report {packed['pack_cli_s']:.2f} s")
    took = time.perf_counter() - t
    block = report(results, took, " ".join(["python -m benchmarks.run", *(sys.argv[1:] if argv is None else argv)]),
                   packed)
    print(block)
    if a.json:
        a.json.write_text(json.dumps([r.__dict__ for r in results], indent=2), encoding="utf-8")
    if out:
        write_doc(block, out)
        log(f"figures written to {out}")
    startup.run(out, repeat=max(repeat, 3))  # process start-up: its own block of the same document
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
