"""The store's layout: one module per noun behind the ``Store`` facade, and the engine's statements in ``db.py`` only.

``BEGIN``/``COMMIT``/``ROLLBACK``/``CHECKPOINT`` are written in one place (``db.transaction``, ``db.checkpoint`` and
the ``db.begin``/``db.rollback`` they use), so their error handling is the same everywhere; snapshots and backups use
the db module, never the store's private members.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from cspdash.store import Store

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "cspdash").glob("*.py"))
ENGINE_STATEMENT = re.compile(r"\b(BEGIN|COMMIT|ROLLBACK|CHECKPOINT)\b")

#: The facade's public methods and properties: pages, commands and tests call these.
STORE_API = {
    "folder", "cursor", "close", "revive", "data_version", "is_empty", "current_observations", "current_figures",
    "statuses", "statuses_by_quarter", "rollups", "quarter_coverage", "is_largely_complete", "complete_quarters",
    "latest_complete_quarter", "history", "series", "provenance", "synthetic_figure", "commentary", "area_values",
    "population_rows", "events", "originals", "upload_content", "import_files", "withdraw", "add_commentary",
    "upload_owners", "has_accounts", "actor", "user", "list_users", "add_user", "disable_user", "enable_user",
    "set_password", "unlock_user", "account_stamp", "sign_in", "backup",
}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and functions (prose, not statements)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def engine_statements(path: Path) -> list[str]:
    """Every string in a module's code (not its docstrings or comments) naming BEGIN/COMMIT/ROLLBACK/CHECKPOINT."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = _docstrings(tree)
    return [f"{path.name}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose
            and ENGINE_STATEMENT.search(node.value)]


def private_reaches(path: Path) -> list[str]:
    """Every ``name._member`` in a module where ``name`` is not a module it imports (a store, a connection...)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {(a.asname or a.name).split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
               for a in node.names}
    return [f"{path.name}:{node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_")
            and not node.attr.startswith("__") and node.value.id not in modules and node.value.id != "self"]


def test_the_checker_finds_a_statement_written_by_hand(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Runs BEGIN ... COMMIT (prose)."""\n\ndef f(cur):\n    cur.execute("BEGIN TRANSACTION")\n'
                      '    cur.execute("checkpoint")  # lower case is not a statement this code writes\n')
    assert engine_statements(sample) == ["sample.py:4: 'BEGIN TRANSACTION'"]


#: The engines: db.py (DuckDB) and pg.py (PostgreSQL) each own their one transaction().
ENGINES = ("db.py", "pg.py")


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.name not in ENGINES], ids=lambda p: p.name)
def test_only_the_db_module_writes_transaction_and_checkpoint_statements(path):
    assert engine_statements(path) == []


def test_the_db_module_writes_each_statement():
    found = " ".join(engine_statements(ROOT / "cspdash" / "db.py"))
    assert all(word in found for word in ("BEGIN", "COMMIT", "ROLLBACK", "CHECKPOINT"))


def test_the_checker_finds_a_reach_into_the_store(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from cspdash import datasets as ds\n\ndef f(store):\n    ds._first_line(None)\n"
                      "    with store._write:\n        return store.db.lock\n")
    assert private_reaches(sample) == ["sample.py:5: store._write"]


@pytest.mark.parametrize("name", ["snapshots.py", "backups.py"])
def test_snapshots_and_backups_use_no_private_member_of_the_store(name):
    assert private_reaches(ROOT / "cspdash" / name) == []


def test_the_store_keeps_its_public_methods():
    public = {n for n, _ in inspect.getmembers(Store) if not n.startswith("_")}
    assert public == STORE_API
