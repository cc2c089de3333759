"""Tests for cspdash.templates: each subgroup's return template lists exactly its non-computed indicators and,
filled in, imports cleanly."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from cspdash.cli import main
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile
from cspdash.periods import Period
from cspdash.store import Store
from cspdash.templates import TEMPLATE_COLUMNS, neutralise, template_rows, write_template

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "indicators.yaml"
TEST_CATALOGUE = Path(__file__).resolve().parent / "data" / "catalogues" / "returns.yaml"


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(SHIPPED)


@pytest.fixture(scope="module")
def small():
    return load_catalogue(TEST_CATALOGUE)


def expected_ids(cat, subgroup: str) -> list[str]:
    return [i.id for i in cat.indicators if i.owner == subgroup and i.measure is None]


def fill(cat, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Fill a template's rows the way a chair would: counts in value, percentages and rates as a ratio."""
    out = []
    for n, r in enumerate(rows):
        ind = cat.indicator(r["indicator"])
        r = dict(r)
        if ind.unit == "count":
            r["value"] = str(10 + n)
        elif ind.unit == "rate":
            r["numerator"], r["denominator"] = "3", "1,000"
        else:
            r["numerator"], r["denominator"] = "45", "60"
        r["commentary"] = f"Filled in for {ind.id}"
        out.append(r)
    return out


def read_template(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    wb = openpyxl.load_workbook(path)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    return [{h: "" if v is None else str(v) for h, v in zip(rows[0], r, strict=True)} for r in rows[1:]]


def write_filled(path: Path, rows: list[dict[str, str]]) -> None:
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            w = csv.DictWriter(f, fieldnames=TEMPLATE_COLUMNS)
            w.writeheader()
            w.writerows(rows)
        return
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    for n, r in enumerate(rows, start=2):
        for c, col in enumerate(TEMPLATE_COLUMNS, start=1):
            ws.cell(n, c).value = r[col] or None
    wb.save(path)


SHIPPED_SUBGROUPS = ["asb", "substance", "vawg", "violence", "hate", "prevent", "cohesion", "reoffending", "yot"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("subgroup", SHIPPED_SUBGROUPS)
def test_template_lists_the_subgroups_non_computed_indicators_and_imports(tmp_path, shipped, subgroup, suffix):
    path = write_template(shipped, subgroup, tmp_path / f"{subgroup}{suffix}", "2018/19 Q2")
    rows = read_template(path)
    assert [r["indicator"] for r in rows] == expected_ids(shipped, subgroup)
    assert all(r["value"] == r["numerator"] == r["denominator"] == r["commentary"] == "" for r in rows)
    for r in rows:
        want = "2018/19" if shipped.indicator(r["indicator"]).frequency == "annual" else "2018/19 Q2"
        assert r["period"] == want
    write_filled(path, fill(shipped, rows))
    s = Store(tmp_path / "csp.duckdb", shipped)
    try:
        res = s.import_files([SourceFile.from_path(path)], f"chair-{subgroup}@example.org")
        assert res.uploads[0]["rows"] == len(rows)
        stored = s.cursor().execute("SELECT indicator FROM observations ORDER BY rowid").fetchall()
        assert [i for (i,) in stored] == [r["indicator"] for r in rows]
        assert len(s.commentary()) == len(rows)
    finally:
        s.close()


def test_small_catalogue_templates(tmp_path, small):
    assert [r["indicator"] for r in template_rows(small, "asb", "2018/19 Q1")] == ["A1", "A2"]
    assert [r["indicator"] for r in template_rows(small, "vawg", "2018/19 Q1")] == ["B1", "B2", "B3"]
    assert template_rows(small, "ops", "2018/19 Q1") == []  # everything it owns is computed from datasets
    assert [r["period"] for r in template_rows(small, "vawg", "2018/19 Q4")] == ["2018/19 Q4", "2018/19", "2018/19 Q4"]


def test_default_period_is_the_last_ended_quarter(shipped):
    from datetime import date

    last = Period.containing(date.today()).previous()
    assert {r["period"] for r in template_rows(shipped, "asb")} == {last.label}


def test_xlsx_template_has_a_guide_sheet(tmp_path, shipped):
    path = write_template(shipped, "hate", tmp_path / "hate.xlsx", "2018/19 Q1")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Return", "Guide"]
    guide = list(wb["Guide"].iter_rows(values_only=True))
    assert [r[0] for r in guide[1:]] == ["C1", "C2", "C3"]
    assert "numerator and denominator" in guide[1][3]


@pytest.mark.parametrize(("subgroup", "out", "words"), [
    ("nope", "t.csv", "no subgroup 'nope'"), ("asb", "t.ods", "a template is written as .csv or .xlsx"),
])
def test_template_errors(tmp_path, shipped, subgroup, out, words):
    with pytest.raises(CspdashError, match=words):
        write_template(shipped, subgroup, tmp_path / out, "2018/19 Q1")


@pytest.mark.parametrize(("text", "safe"), [("=HYPERLINK(x)", "'=HYPERLINK(x)"), ("+1", "'+1"), ("-x", "'-x"),
                                            ("@x", "'@x"), ("ASB calls", "ASB calls"), ("", "")])
def test_neutralise(text, safe):
    assert neutralise(text) == safe


def test_template_command(tmp_path, capsys):
    out = tmp_path / "vawg.xlsx"
    assert main(["--config", str(TEST_CATALOGUE), "template", "--subgroup", "vawg", "--out", str(out),
                 "--period", "2018/19 Q1"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert [r["indicator"] for r in read_template(out)] == ["B1", "B2", "B3"]
    assert main(["--config", str(TEST_CATALOGUE), "template", "--subgroup", "nope", "--out", str(out)]) == 1
    assert "no subgroup 'nope'" in capsys.readouterr().err
