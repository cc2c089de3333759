"""Process start-up: the wall time of a CLI command and of importing what the app needs, best of a few runs.

    .venv/bin/python -m benchmarks.startup            # print the figures
    .venv/bin/python -m benchmarks.startup --write    # and write them into docs/performance.md ("Start-up")

``benchmarks.run`` calls ``run`` once per ``make bench`` (and prints, writing nothing, with ``--quick``).
"""

from __future__ import annotations

import argparse
import compileall
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import doc as doc_block

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- startup:start -->", "<!-- startup:end -->"
RETURN = b"indicator,period,value,commentary\nA2,2025/26 Q3,150,Fewer repeat callers.\n"


def commands(work: Path) -> list[tuple[str, list[str]]]:
    """(label, argv) of each process measured; the first is Python itself, for scale."""
    db, ret, config = work / "csp.duckdb", work / "a2.csv", str(ROOT / "indicators.yaml")
    py = sys.executable
    return [
        ("`python -c pass` (the interpreter alone)", [py, "-c", "pass"]),
        ("`python -m cspdash --help`", [py, "-m", "cspdash", "--help"]),
        ("`python -m cspdash import --dry-run` of a one-line return", [
            py, "-m", "cspdash", "import", "--db", str(db), "--config", config, "--user", "bench@example.org",
            "--dry-run", str(ret)]),
        ("`python -c \"import streamlit, cspdash.ui\"` (what dashboard.py imports)",
         [py, "-c", "import streamlit, cspdash.ui"]),
    ]


def wall(argv: list[str]) -> float:
    """Seconds from start to exit of one process (a failure stops the benchmark with its message)."""
    t = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)  # noqa: S603 - fixed commands
    took = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-1000:]}")
    return took


def measure(repeat: int = 5) -> dict[str, float]:
    """Best wall time, in seconds, of each command of ``commands`` over ``repeat`` runs (the first run warms the
    disk cache and is not counted). The package's bytecode is compiled first, as an installed package has it: with
    PYTHONDONTWRITEBYTECODE set (as on the CI and development machines) every run would compile cspdash anew."""
    compileall.compile_dir(ROOT / "cspdash", quiet=1)
    with tempfile.TemporaryDirectory(prefix="cspdash-startup-") as tmp:
        work = Path(tmp)
        (work / "a2.csv").write_bytes(RETURN)
        subprocess.run([sys.executable, "-m", "cspdash", "init", "--db", str(work / "csp.duckdb")], cwd=ROOT,  # noqa: S603
                       check=True, capture_output=True)
        figures = {}
        for label, argv in commands(work):
            wall(argv)
            figures[label] = min(wall(argv) for _ in range(max(1, repeat)))
    return figures


def report(figures: dict[str, float], repeat: int) -> str:
    """The Markdown block between the start-up markers of docs/performance.md."""
    lines = [START, f"Best of {repeat} runs after one warm-up, wall time from start to exit:", "",
             "| process | seconds |", "|---|---:|"]
    lines += [f"| {label} | {s:.2f} |" for label, s in figures.items()]
    return "\n".join([*lines, "", END])


def write_doc(block: str, doc: Path = DOC) -> None:
    """Replace the start-up block of ``doc`` (or add it, under its own heading, at the end)."""
    doc_block.write_block(doc, START, END, block, heading="Start-up")


def run(out: Path | None, repeat: int = 5) -> dict[str, float]:
    """Measure, print the block and write it into ``out`` when given; return the figures."""
    figures = measure(repeat)
    block = report(figures, repeat)
    print(block)
    if out:
        write_doc(block, out)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5, help="runs of each process (best counts; default 5)")
    p.add_argument("--write", action="store_true", help="write the figures into docs/performance.md")
    a = p.parse_args(argv)
    run(DOC if a.write else None, a.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
