"""Smoke test of the benchmarks (`make bench`): every step runs at a tiny size, so the benchmark code cannot rot.

The figures themselves are not checked here (the machine running the tests may be busy); docs/performance.md
holds a real run's.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks import gen, run
from cspdash.config import load_catalogue
from cspdash.datasets import FORMATS


def test_generated_files_have_the_shapes_measured(tmp_path):
    street = gen.street_csv(tmp_path / "street.csv", 1200, year=2023)
    with street.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == gen.STREET_COLUMNS and len(rows) == 1201
    assert {r[1] for r in rows[1:]} == {f"2023-{m:02d}" for m in range(1, 13)}
    assert len(FORMATS["police_uk_street"].columns) == len(rows[0])
    cat = load_catalogue(gen.catalogue_yaml(tmp_path / "catalogue.yaml"))
    assert len(cat.indicators) == 20 and [p.id for p in cat.priorities] == ["A", "B", "C", "D"]
    (home, other) = gen.returns(tmp_path / "returns", 2)
    assert home.name == "return-000.csv" and other.read_text(encoding="utf-8").count("\n") > 1280


@pytest.mark.slow  # a benchmark smoke run (about a minute): `make test-slow`
def test_a_tiny_run_writes_its_table_between_the_markers(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nProse kept.\n\n{run.START}\nold figures\n{run.END}\n\nMore prose.\n", encoding="utf-8")
    assert run.main(["--scales", "0.001", "--repeat", "1", "--data", str(tmp_path / "data"), "--out", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert "Prose kept." in text and "More prose." in text and "old figures" not in text
    assert text.count(run.START) == text.count(run.END) == 1
    for row in ("| cspdash import, s |", "| status, every indicator × 64 quarters, s |",
                "| Priority A page cold / warm, s |"):
        line = next(ln for ln in text.splitlines() if ln.startswith(row))
        assert "–" not in line, line  # every measure was taken
    assert not list(Path(tmp_path / "data").glob("scale-*"))  # the scratch databases are removed
