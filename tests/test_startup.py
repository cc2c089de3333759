"""Start-up: each CLI command imports what it needs when it runs. ``--help`` and ``import`` load no scipy, altair,
streamlit, vl_convert or pandas (read from ``python -X importtime``, the modules the real process loaded)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("scipy", "altair", "streamlit", "vl_convert", "pandas")
RETURN = b"indicator,period,value,commentary\nA2,2025/26 Q3,150,Fewer repeat callers.\n"


def loaded(*args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    """The top-level packages ``python -X importtime -m cspdash ARGS`` imported, and the finished process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSPDASH_")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "cspdash", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in done.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return names, done


def test_loaded_reads_importtime():
    names, done = loaded("--help")
    assert done.returncode == 0 and {"argparse", "cspdash"} <= names


def test_help_loads_no_catalogue_and_no_heavy_package():
    names, done = loaded("--help")
    assert done.returncode == 0 and "import" in done.stdout
    assert not names & {*HEAVY, "yaml", "duckdb", "pandas", "numpy"}, sorted(names & {*HEAVY, "yaml", "duckdb"})


@pytest.mark.parametrize("dry_run", [False, True])
def test_the_import_command_loads_no_heavy_package(tmp_path, dry_run):
    db, ret = tmp_path / "csp.duckdb", tmp_path / "a2.csv"
    ret.write_bytes(RETURN)
    _, init = loaded("init", "--db", str(db), "--config", str(ROOT / "indicators.yaml"))
    assert init.returncode == 0, init.stderr[-2000:]
    names, done = loaded("import", "--db", str(db), "--config", str(ROOT / "indicators.yaml"), "--user",
                         "asb-chair@example.org", *(["--dry-run"] if dry_run else []), str(ret))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "A2" in done.stdout and "2025/26 Q3" in done.stdout  # the preview of statuses ran (the Garwood interval)
    assert not names & set(HEAVY), f"`import` loaded {sorted(names & set(HEAVY))}; import them where they are used"


@pytest.mark.slow  # a benchmark smoke run (each command's process timed): `make test-slow`
def test_the_startup_benchmark_writes_its_block_and_keeps_the_rest(tmp_path):
    from benchmarks import startup

    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nProse.\n\n{startup.START}\nold\n{startup.END}\n\nMore.\n", encoding="utf-8")
    figures = startup.run(doc, repeat=1)
    text = doc.read_text(encoding="utf-8")
    assert "Prose." in text and "More." in text and "old" not in text and text.count(startup.START) == 1
    assert len(figures) == 4 and all(0 < s < 120 for s in figures.values())
    assert "| `python -m cspdash --help` |" in text
