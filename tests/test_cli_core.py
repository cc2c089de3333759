"""Tests for the catalogue commands of the CLI: validate-config and indicators, --config and $CSPDASH_CONFIG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cspdash.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "indicators.yaml"
REQUIRED_KEYS = {"id", "priority", "title", "direction", "frequency", "unit", "owner"}
SHIPPED_IDS = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "B5", "C1", "C2", "C3", "C4", "C5",
               "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9", "D10", "D11"]

MINIMAL = (ROOT / "tests" / "data" / "minimal-indicators.yaml").read_text(encoding="utf-8")  # the spec's, verbatim

# Three problems in two indicators: all must be listed.
BAD = MINIMAL.replace("direction: decrease", "direction: up").replace("unit: count", "unit: number") + """\
  - id: A2
    priority: A
    owner: nobody
    title: Second
    unit: count
    frequency: quarterly
    direction: decrease
    target: {type: none}
"""
BAD_PROBLEMS = [
    "indicators[A1].unit: expected count|percent|rate|ratio, got 'number'",
    "indicators[A1].direction: expected increase|decrease|neutral, got 'up'",
    "indicators[A2].owner: no subgroup 'nobody'; expected one of asb",
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("CSPDASH_CONFIG", raising=False)
    monkeypatch.delenv("CSPDASH_DB", raising=False)


@pytest.fixture
def minimal(tmp_path) -> Path:
    path = tmp_path / "minimal.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    return path


@pytest.fixture
def bad(tmp_path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "summary"),
    [
        (["validate-config", "--config", str(SHIPPED)],
         f"{SHIPPED}: OK - 4 priorities, 9 subgroups, 25 indicators, 3 datasets"),
        (["--config", str(SHIPPED), "validate-config"],
         f"{SHIPPED}: OK - 4 priorities, 9 subgroups, 25 indicators, 3 datasets"),
        (["--db", "unused.duckdb", "validate-config", "--config", "{minimal}"],
         "{minimal}: OK - 1 priorities, 1 subgroups, 1 indicators, 0 datasets"),
    ],
    ids=["shipped", "config-before-command", "minimal"],
)
def test_validate_config_accepts(argv, summary, minimal, capsys):
    argv = [a.format(minimal=minimal) for a in argv]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert (out.strip(), err) == (summary.format(minimal=minimal), "")


def test_validate_config_rejects_and_lists_every_problem(bad, capsys):
    assert main(["validate-config", "--config", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{bad}: 3 problem(s):", *(f"  - {p}" for p in BAD_PROBLEMS)]


def test_validate_config_missing_file(tmp_path, capsys):
    path = tmp_path / "nope.yaml"
    assert main(["validate-config", "--config", str(path)]) == 1
    assert f"file not found; pass --config PATH or set CSPDASH_CONFIG (looked at {path})" in capsys.readouterr().err


def test_indicators_json_lists_all_25(capsys):
    assert main(["indicators", "--format", "json", "--config", str(SHIPPED)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in records] == SHIPPED_IDS
    assert all(set(r) >= REQUIRED_KEYS for r in records)
    by_id = {r["id"]: r for r in records}
    assert {k: by_id["B2"][k] for k in REQUIRED_KEYS} == {
        "id": "B2", "priority": "B", "title": "Domestic abuse reports to police", "direction": "increase",
        "frequency": "quarterly", "unit": "count", "owner": "vawg"}
    assert [by_id[i]["direction"] for i in ("B2", "C2", "C3")] == ["increase"] * 3


def test_indicators_table(capsys):
    assert main(["indicators", "--config", str(SHIPPED), "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "priority", "owner", "direction", "frequency", "unit", "target_type", "title"]
    assert len(lines) == 2 + 25
    assert lines[2].split()[:7] == ["A1", "A", "asb", "decrease", "quarterly", "count", "change"]


def test_cspdash_config_is_honoured(minimal, monkeypatch, capsys):
    monkeypatch.setenv("CSPDASH_CONFIG", str(minimal))
    assert main(["indicators", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["owner"], r["direction"]) for r in records] == [("A1", "asb", "decrease")]


def test_config_option_wins_over_the_environment(minimal, monkeypatch, capsys):
    monkeypatch.setenv("CSPDASH_CONFIG", str(minimal))
    assert main(["--config", str(SHIPPED), "indicators", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 25


def test_default_config_is_indicators_yaml_in_the_working_directory(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["validate-config"]) == 0
    assert capsys.readouterr().out.startswith("indicators.yaml: OK - 4 priorities, 9 subgroups, 25 indicators")


@pytest.mark.parametrize(
    "argv",
    [[], ["no-such-command"], ["indicators", "--format", "xml"]],
    ids=["no-command", "unknown-command", "bad-format"],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "usage: python -m cspdash" in capsys.readouterr().err


def test_python_dash_m_in_a_subprocess(bad):
    env = {**os.environ, "CSPDASH_CONFIG": str(bad), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "cspdash", "validate-config"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [f"{bad}: 3 problem(s):", *(f"  - {p}" for p in BAD_PROBLEMS)]
