"""Tests for cspdash.charts: pure functions from a small table to an Altair chart specification."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cspdash import charts
from cspdash.views import POINT_STYLE


def history(n: int = 8, target: float | None = 25.0, special: int = 0) -> pd.DataFrame:
    """A history frame like views.history_frame: ``special`` last points are special cause (improvement)."""
    kinds = ["common_cause"] * (n - special) + ["special_cause_improvement"] * special
    return pd.DataFrame({
        "period": [f"2024/25 Q{k % 4 + 1}" if k < 4 else f"2025/26 Q{k % 4 + 1}" for k in range(n)],
        "start": [f"2024-{k:02d}-01" for k in range(1, n + 1)],
        "value": [20.0 + k for k in range(n)], "shown": [str(20 + k) for k in range(n)],
        "mean": [23.5] * n, "lpl": [15.0] * n, "upl": [32.0] * n, "target": [target] * n,
        "point_type": kinds, "point": [POINT_STYLE[k][0] for k in kinds],
        "rule": ["Common Cause"] * (n - special) + ["7 Point Trend (Increasing)"] * special,
    })


def layers(chart) -> list[dict]:
    return chart.to_dict()["layer"]


def test_history_chart_layers_lines_values_and_points():
    spec = layers(charts.history_chart(history()))
    assert len(spec) == 3  # reference lines, the value line, the points
    lines = spec[0]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["Mean", "Process limits", "Target"]
    assert lines["encoding"]["strokeDash"]["field"] == "line"  # lines differ by dash, not only colour


def test_points_differ_by_shape_and_colour():
    points = layers(charts.history_chart(history(special=2)))[-1]["encoding"]
    assert points["shape"]["field"] == points["color"]["field"] == "point"
    domain = points["shape"]["scale"]["domain"]
    assert domain == ["Common cause", "Special cause: improvement"]
    shapes, colours = points["shape"]["scale"]["range"], points["color"]["scale"]["range"]
    assert len(set(shapes)) == len(set(colours)) == 2
    assert {t["field"] for t in points["tooltip"]} == {"period", "shown", "point", "rule"}


def test_no_target_line_without_a_target():
    lines = layers(charts.history_chart(history(target=None)))[0]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["Mean", "Process limits"]


def test_one_point_has_no_limits():
    h = history(n=1).assign(lpl=[math.nan], upl=[math.nan], target=[None])
    lines = layers(charts.history_chart(h))[0]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["Mean"]


def test_history_chart_is_fed_one_row_per_period():
    spec = charts.history_chart(history(n=12)).to_dict()
    sizes = sorted(len(v) for v in spec["datasets"].values())
    assert sizes == [12, 12 * 4]  # the points table and the long table of its four reference lines


def test_history_chart_is_readable_at_a_distance():
    config = charts.history_chart(history()).to_dict()["config"]
    assert config["axis"]["labelFontSize"] >= 14 and config["legend"]["labelFontSize"] >= 14
    assert config["axis"]["labelColor"] == "#000000"


@pytest.fixture
def areas() -> pd.DataFrame:
    return pd.DataFrame({"area": ["Westminster", "Tower Hamlets", "Camden"], "value": [790.0, 653.0, 500.0],
                         "complete": [True] * 3, "own": [False, True, False], "rank": [1, 2, 3],
                         "shown": ["790", "653", "500"]})


def test_area_chart_highlights_the_partnership_in_colour_and_words(areas):
    spec = charts.area_chart(areas, "Tower Hamlets").to_dict()
    bars, _others, own = spec["layer"]
    assert bars["encoding"]["color"]["scale"]["domain"] == ["This partnership", "Other areas"]
    assert bars["encoding"]["color"]["scale"]["range"][0] == charts.OWN_COLOUR
    assert bars["encoding"]["y"]["sort"] == ["Westminster", "Tower Hamlets", "Camden"]
    labels = {r["label"] for d in spec["datasets"].values() for r in d if "label" in r}
    assert "653  ◀ Tower Hamlets" in labels and "790" in labels
    assert own["mark"]["fontWeight"] == "bold"


def test_area_chart_escapes_the_area_name_in_its_expression(areas):
    spec = charts.area_chart(areas.assign(area=["A", "O'Brien \\ Co", "B"]), "O'Brien \\ Co").to_dict()
    weight = spec["layer"][0]["encoding"]["y"]["axis"]["labelFontWeight"]["expr"]
    assert "'O\\'Brien \\\\ Co'" in weight


@pytest.mark.parametrize(
    ("phases", "mean_lines"),
    [
        (None, 1),  # a frame without a phase column: one phase
        ([1] * 8, 1),
        ([1] * 3 + [2] * 5, 2),
        ([1] * 2 + [2] * 3 + [3] * 3, 3),
    ],
)
def test_each_phase_has_its_own_mean_and_limit_lines(phases, mean_lines):
    """A rebased history draws one mean, one lower and one upper line per phase, none joining two phases."""
    h = history()
    if phases is not None:
        h = h.assign(phase=phases, mean=[10.0 * p for p in phases])
    spec = charts.history_chart(h).to_dict()
    lines = spec["layer"][0]
    assert lines["encoding"]["detail"]["field"] == "series"
    rows = pd.DataFrame(spec["datasets"][lines["data"]["name"]])
    for line, count in (("Mean", mean_lines), ("Process limits", 2 * mean_lines), ("Target", 1)):
        assert rows.loc[rows["line"] == line, "series"].nunique() == count, line
    if phases is not None:
        by_period = dict(zip(h["period"], phases, strict=True))
        for _, part in rows[rows["line"] == "Mean"].groupby("series"):
            assert len({by_period[p] for p in part["period"]}) == 1  # a mean line stays within one phase
            assert part["y"].nunique() == 1
