"""The PostgreSQL benchmark (benchmarks/postgres.py, part of `make bench`): its table, and a smoke run at a tiny size.

The figures themselves are not checked (the machine running the tests may be busy); docs/performance.md holds a real
run's.
"""

from __future__ import annotations

import pytest

from benchmarks import postgres

KEYS = ("import_s", "import_rss_mb", "import_rows", "demo_s", "return_s", "status_s", "statuses", "quarters",
        "open_s", "areas_s", "status_rss_mb", "version_ms")


def test_the_table_sets_each_figure_beside_duckdbs():
    figures = {"duckdb": dict.fromkeys(KEYS, 2.0), "postgresql": dict.fromkeys(KEYS, 3.0)}
    block = postgres.report(figures, rows=1000, repeat=1, took=60, server_version="15.1")
    lines = block.splitlines()
    assert lines[0] == postgres.START and lines[-1] == postgres.END
    assert "PostgreSQL 15.1" in block and "fsync at commit" in block
    rows = [ln for ln in lines if ln.startswith("| ") and not ln.startswith("| measure")]
    assert len(rows) == 8 and all(ln.endswith("| 1.50× |") for ln in rows)


@pytest.mark.slow  # a benchmark smoke run (a minute or two: the demo is loaded into both engines): `make test-slow`
def test_a_tiny_run_writes_its_block_between_the_markers(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nProse kept.\n\n{postgres.START}\nold figures\n{postgres.END}\n", encoding="utf-8")
    assert postgres.main(["--quick", "--data", str(tmp_path / "data"), "--out", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "Prose kept." in text and "old figures" not in text and text.count(postgres.START) == 1
    assert "| record-level import, 10,000 police.uk rows" in text and "| status of every indicator" in text
    assert not (tmp_path / "data" / "postgres").exists()  # the work folder is removed
