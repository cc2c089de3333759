"""Smoke test of the browser benchmark of the pages (benchmarks/pages.py, run by `make bench`): two pages, one round.

It starts two Streamlit servers and Chromium (about a minute here), so it is marked slow; the figures themselves are
not checked (the machine running the tests may be busy): docs/performance.md holds a real run's.
"""

from __future__ import annotations

import pytest
from e2e_helpers import playwright_or_skip

from benchmarks import pages


@pytest.mark.slow
def test_the_pages_benchmark_measures_every_page_it_is_asked_for(tmp_path):
    playwright_or_skip()
    rows = pages.measure(repeat=1, only="priority_a")
    assert [r["path"] for r in rows] == ["/priority_a"]
    r = rows[0]
    assert r["page"].startswith("A. ") and r["seconds"] > 0 and r["bare_seconds"] > 0
    assert r["ratio"] == pytest.approx(r["seconds"] / r["bare_seconds"])
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nProse kept.\n\n{pages.START}\nold\n{pages.END}\n", encoding="utf-8")
    pages.write_doc(pages.report(rows, 1), doc)
    text = doc.read_text(encoding="utf-8")
    assert "Prose kept." in text and "old" not in text and "| A. " in text and "`/priority_a`" in text
