"""The pack commands of the CLI: report (PDF and XLSX), freeze, snapshots and snapshot-diff."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from e2e_helpers import demo_copy
from pypdf import PdfReader

from cspdash.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path_factory) -> Path:
    return demo_copy(tmp_path_factory, "cli-report")


def run(capsys, db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--db", str(db), "--config", str(ROOT / "indicators.yaml"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_freeze_restate_and_diff(db, tmp_path, capsys):
    code, out, _ = run(capsys, db, "report", "--out", str(tmp_path / "pack.pdf"), "--meeting-date", "2026-01-15")
    assert code == 0 and "pack.pdf" in out
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "pack.pdf").pages)
    assert "2025/26 Q3" in text and "Exception report" in text and "RED" in text
    assert run(capsys, db, "report", "--out", str(tmp_path / "score.xlsx"))[0] == 0
    assert "Summary" in openpyxl.load_workbook(tmp_path / "score.xlsx").sheetnames
    assert run(capsys, db, "freeze", "--meeting-date", "15/01/2026", "--user", "analyst@example.org")[0] == 0
    (tmp_path / "r.csv").write_text("indicator,period,value\nA1,2025/26 Q3,3000\n", encoding="utf-8")
    assert run(capsys, db, "import", str(tmp_path / "r.csv"), "--user", "analyst@example.org")[0] == 0
    code, out, _ = run(capsys, db, "snapshots", "--format", "json")
    snaps = json.loads(out)
    assert [(s["snapshot_id"], s["meeting_date"], s["red"]) for s in snaps] == [(1, "2026-01-15", 3)]
    code, out, _ = run(capsys, db, "snapshot-diff", "1", "--format", "json")
    changes = {(c["indicator"], c["field"]): (c["before"], c["after"]) for c in json.loads(out)}
    assert changes[("A1", "value")] == (4556.0, 3000.0) and changes[("A1", "rag")] == ("red", "green")
    code, out, err = run(capsys, db, "report", "--snapshot", "1", "--period", "2025/26 Q3", "--out",
                         str(tmp_path / "x.pdf"))
    assert code == 1 and "not both" in err


def test_report_refuses_other_extensions(db, tmp_path, capsys):
    code, _, err = run(capsys, db, "report", "--out", str(tmp_path / "pack.docx"))
    assert code == 1 and ".pdf" in err
