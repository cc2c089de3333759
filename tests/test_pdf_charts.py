"""The pack's vector charts (cspdash.pdf_charts): ticks, heights that match what is drawn, and every legend word."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from cspdash import pdf_charts
from cspdash.vocab import FUNNEL_LINES, POINT_STYLE, WHO_STYLE


@pytest.mark.parametrize(("lo", "hi", "count", "first", "last", "step"), [
    (3811.5, 4828.5, 5, 3800, 5000, 200), (0.91, 2.86, 5, 0.5, 3.0, 0.5), (0, 1, 5, 0, 1, 0.2),
    (5, 5, 5, 4.4, 5.6, 0.2), (124638, 455000, 8, 100000, 500000, 50000),
])
def test_nice_ticks_cover_the_range_in_round_steps(lo, hi, count, first, last, step):
    ticks = pdf_charts.nice_ticks(lo, hi, count)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert ticks[0] == pytest.approx(first) and ticks[-1] == pytest.approx(last)
    assert ticks[1] - ticks[0] == pytest.approx(step)


@pytest.mark.parametrize(("v", "step", "short", "text"), [
    (4800, 200, False, "4,800"), (1.5, 0.5, False, "1.5"), (0.25, 0.25, False, "0.25"), (140000, 20000, True, "140k"),
    (1000, 500, True, "1.0k"), (30, 10, False, "30"),
])
def test_tick_text(v, step, short, text):
    assert pdf_charts.tick_text(v, step, short) == text


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    pdf.add_page()
    return pdf


def _history(n: int = 20) -> list[dict]:
    kinds = list(POINT_STYLE)
    return [{"period": f"20{10 + k // 4}/{11 + k // 4} Q{k % 4 + 1}", "value": 100.0 + k, "lower": 90.0 + k,
             "upper": 110.0 + k, "mean": 110.0, "lpl": 80.0, "upl": 140.0, "target": 105.0 if k > 2 else None,
             "point_type": kinds[k % len(kinds)], "phase": 1 if k < 10 else 2} for k in range(n)]


def test_the_spc_chart_uses_the_height_it_announces_and_names_every_line_and_point():
    pdf, rows = _pdf(), _history()
    used = pdf_charts.history(pdf, 16, 20, 178, rows, "Count")
    assert used == pytest.approx(pdf_charts.history_height(rows, 178))
    text = " ".join(PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0].extract_text().split())
    for words in ("Mean", "Process limits", "Target", "Count", *(v[0] for v in POINT_STYLE.values())):
        assert words in text, words


def test_a_long_legend_wraps_within_the_width():
    groups = [("Lines", ["Mean", "Process limits", "Target"]), ("Points", [v[0] for v in POINT_STYLE.values()])]
    assert len(pdf_charts.legend_lines(groups, 100)) > 1
    assert pdf_charts.legend_height(groups, 100) > pdf_charts.legend_height(groups, 1000)


def test_the_comparison_charts_name_the_own_area_and_every_kind_of_area():
    rows = [{"area": a, "rate": r, "lower": r - 0.2, "upper": r + 0.2, "own": a == "Tower Hamlets",
             "similar": a == "Hackney", "shown": f"{r:.2f}", "benchmark": 1.66}
            for a, r in (("Westminster", 2.86), ("Tower Hamlets", 1.83), ("Hackney", 1.65), ("Barnet", 1.05))]
    funnel = [{"area": None, "population": p, "rate": None, "benchmark": 1.66, "lower95": 1.66 - 50 / p ** 0.5,
               "upper95": 1.66 + 50 / p ** 0.5, "lower998": 1.66 - 80 / p ** 0.5, "upper998": 1.66 + 80 / p ** 0.5}
              for p in (100000, 200000, 400000)]
    funnel += [{**r, "population": 150000 + 50000 * k, "lower95": None, "upper95": None, "lower998": None,
                "upper998": None} for k, r in enumerate(rows)]
    pdf = _pdf()
    assert pdf_charts.funnel(pdf, 16, 20, 178, funnel, "Tower Hamlets", "Rate") == pdf_charts.funnel_height(178)
    assert pdf_charts.rates(pdf, 16, 120, 178, rows, "Tower Hamlets", "Rate") == pdf_charts.rates_height(rows, 178)
    text = " ".join(PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0].extract_text().split())
    for words in ("Tower Hamlets", "1.83 (Tower Hamlets)", "Residents", "Westminster", *FUNNEL_LINES, *WHO_STYLE):
        assert words in text, words
