"""The default quarter: the latest quarter in which at least ``partnership.complete_share`` of the indicators have a
complete figure for the partnership's own area. An early return for a later quarter never moves it (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from e2e_helpers import demo_copy

from cspdash import views
from cspdash.config import load_catalogue
from cspdash.errors import ConfigError
from cspdash.ingest import SourceFile
from cspdash.periods import parse_period
from cspdash.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "indicators.yaml"

#: An early return: two of the ASB subgroup's figures for the quarter after the demo's latest complete one.
EARLY = b"indicator,period,value\nA1,2026/27 Q1,4100\nA2,2026/27 Q1,150\n"


def catalogue(tmp_path: Path, n: int, share: float | None) -> Path:
    """A catalogue of ``n`` quarterly count indicators (Q1..Qn), with ``complete_share`` set when given."""
    part = {"name": "Test CSP", "area": "Testshire"}
    if share is not None:
        part["complete_share"] = share
    data = {"partnership": part, "priorities": [{"id": "A", "title": "A"}],
            "subgroups": [{"id": "g", "name": "G", "priority": "A"}],
            "indicators": [{"id": f"I{k}", "priority": "A", "owner": "g", "title": f"I{k}", "unit": "count",
                            "frequency": "quarterly", "direction": "decrease", "target": {"type": "none"}}
                           for k in range(1, n + 1)]}
    path = tmp_path / "cat.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load(store: Store, figures: dict[str, int]) -> None:
    """Store one return with ``figures`` = {quarter label: how many of I1..In have a figure for it}."""
    lines = ["indicator,period,value"]
    for label, k in figures.items():
        lines += [f"I{i},{label},{10 + i}" for i in range(1, k + 1)]
    store.import_files([SourceFile("r.csv", data="\n".join(lines).encode())], "analyst@example.org")


# (indicators, share, {quarter: figures}, expected default, expected largely complete quarters)
CASES = [
    (4, None, {"2024/25 Q1": 4, "2024/25 Q2": 2, "2024/25 Q3": 1}, "2024/25 Q2", ["2024/25 Q1", "2024/25 Q2"]),
    (4, 0.75, {"2024/25 Q1": 4, "2024/25 Q2": 2, "2024/25 Q3": 1}, "2024/25 Q1", ["2024/25 Q1"]),
    (4, 1.0, {"2024/25 Q1": 3, "2024/25 Q2": 4}, "2024/25 Q2", ["2024/25 Q2"]),
    (4, 0.25, {"2024/25 Q1": 4, "2024/25 Q2": 1}, "2024/25 Q2", ["2024/25 Q1", "2024/25 Q2"]),
    # nothing largely complete yet (a new partnership): the latest of the quarters with the most figures
    (10, None, {"2024/25 Q1": 3, "2024/25 Q2": 1, "2024/25 Q3": 3}, "2024/25 Q3", []),
    (10, None, {"2024/25 Q1": 4, "2024/25 Q2": 1}, "2024/25 Q1", []),
    # an early return two quarters ahead does not move a complete quarter
    (6, None, {"2024/25 Q1": 6, "2024/25 Q2": 5, "2025/26 Q1": 2}, "2024/25 Q2", ["2024/25 Q1", "2024/25 Q2"]),
]


@pytest.mark.parametrize(("n", "share", "figures", "default", "complete"), CASES)
def test_default_quarter_rule(tmp_path, n, share, figures, default, complete):
    s = Store(":memory:", load_catalogue(catalogue(tmp_path, n, share)))
    try:
        load(s, figures)
        assert s.latest_complete_quarter() == parse_period(default)
        assert [q.label for q in s.complete_quarters()] == complete
        options = views.quarter_options(s)
        assert views.default_quarter(options).label == default
        for o in options:
            assert o.count == figures[o.label] and o.total == n
            assert o.later == (parse_period(o.label) > parse_period(default))
        assert s.statuses()[0].period == default  # the status engine's default follows the same rule
    finally:
        s.close()


@pytest.mark.parametrize(("share", "problem"), [
    (1.5, "partnership.complete_share: expected a share between 0 and 1, got 1.5; write 0.5 for half"),
    (-0.1, "partnership.complete_share: expected a number of at least 0, got -0.1"),
    ("half", "partnership.complete_share: expected a number, got 'half'"),
])
def test_complete_share_is_validated(tmp_path, share, problem):
    with pytest.raises(ConfigError) as e:
        load_catalogue(catalogue(tmp_path, 2, share))
    assert any(p.startswith(problem) for p in e.value.problems), e.value.problems


def test_shipped_catalogue_defaults():
    cat = load_catalogue(SHIPPED)
    assert cat.complete_share == 0.5
    assert cat.police_force == "Metropolitan Police Service"


@pytest.fixture
def demo(tmp_path_factory) -> Path:
    return demo_copy(tmp_path_factory, "default-quarter")


def cli(db: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(SHIPPED), *args],
                          capture_output=True, cwd=ROOT, input=stdin, timeout=120, check=False)


def test_an_early_return_does_not_move_the_status_command(demo, tmp_path):
    before = json.loads(cli(demo, "status", "--format", "json").stdout)
    early = tmp_path / "early.csv"
    early.write_bytes(EARLY)
    done = cli(demo, "import", str(early), "--user", "asb-chair@example.org")
    assert done.returncode == 0, done.stderr.decode()
    after = json.loads(cli(demo, "status", "--format", "json").stdout)
    assert {s["period"] for s in after} == {s["period"] for s in before} == {"2025/26 Q3"}
    assert [s["rag"] for s in after] == [s["rag"] for s in before]
    assert "red" in {s["rag"] for s in after}  # the reds stay in the default view
    # the later quarter stays selectable, labelled as in progress
    s = Store(demo, load_catalogue(SHIPPED))
    try:
        options = {o.label: o for o in views.quarter_options(s)}
        assert options["2026/27 Q1"].display == "2026/27 Q1 (in progress: 2 of 25)"
        assert views.default_quarter(list(options.values())).label == "2025/26 Q3"
    finally:
        s.close()


def test_the_sidebar_and_meeting_mode_stay_on_the_complete_quarter_after_an_early_return(demo, monkeypatch):
    from e2e_helpers import app_env
    from streamlit.testing.v1 import AppTest
    from test_pages import _NavigationPages

    # as tests/test_pages.py: AppTest starts every run in Streamlit's old pages/ mode; run the app's navigation
    monkeypatch.setattr("streamlit.testing.v1.app_test.PagesManager", _NavigationPages)
    s = Store(demo, load_catalogue(SHIPPED))
    try:
        s.import_files([SourceFile("early.csv", data=EARLY)], "asb-chair@example.org")
    finally:
        s.close()
    app_env(monkeypatch, demo, SHIPPED)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception, [e.message for e in at.exception]
    picker = at.sidebar.selectbox[0]
    assert picker.value == "2025/26 Q3"
    assert picker.options[0] == "2026/27 Q1 (in progress: 2 of 25)"
    at.switch_page("pages/meeting.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.sidebar.selectbox[0].value == "2025/26 Q3"
    assert any("2025/26 Q3" in m.value.replace("\\", "") for m in [*at.markdown, *at.title, *at.header, *at.caption])
