"""Storage errors in words (issue 13, item 5): a full disk, a failed checkpoint, a damaged database file.

The disk is filled for real, without root: the process doing the write runs with RLIMIT_FSIZE (and SIGXFSZ ignored),
so a write past the limit fails with EFBIG ("File too large"), a genuine error from the operating system that
DuckDB reports as it would "No space left on device". The limit is set in a subprocess for the CLI, and for the
in-process tests only around the one write, then lifted ("the space is freed").

- The commit cannot be written: "not stored: the disk is full (free space at DIR)", nothing stored.
- The commit is written but the checkpoint is not: "stored, but the checkpoint failed: …; it will be retried"; the
  upload is there afterwards and the log is folded in once there is space.
- DuckDB invalidates a database whose checkpoint failed: the Store (and so the app's cached store) reopens it at
  its next use, once the cause is gone.
- A damaged file names `restore` and the newest backup; the CLI never prints a traceback.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from e2e_helpers import app_env
from reliability_helpers import police_uk_csv
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode  # noqa: F401  (AppTest must run dashboard.py in navigation mode)
from tests_config import CONFIG, ROOT

from cspdash import cli
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError, StorageError
from cspdash.ingest import SourceFile
from cspdash.store import Store

USER = "analyst@towerhamlets.gov.uk"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A large police.uk extract (the database's bulk) and a small one of other months (the upload that fails)."""
    folder = tmp_path_factory.mktemp("extracts")
    return {"big": police_uk_csv(folder / "big.csv", 12_000, seed=1, months=("2024-01", "2024-02", "2024-03")),
            "small": police_uk_csv(folder / "small.csv", 1_500, seed=2, months=("2024-04",))}


@pytest.fixture
def db(tmp_path, files) -> Path:
    """A database holding the large extract, checkpointed (no write-ahead log)."""
    path = tmp_path / "data" / "csp.duckdb"
    s = Store(path, load_catalogue(CONFIG))
    try:
        s.import_files([SourceFile.from_path(files["big"])], USER, "street_crime")
    finally:
        s.close()
    assert not wal(path).exists()
    return path


def wal(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def limited(limit: int):
    """For subprocess.run(preexec_fn=...): no file of the child may grow past ``limit`` bytes (EFBIG, not a
    signal). The hard limit stays unlimited."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


@contextlib.contextmanager
def files_limited_to(limit: int):
    """In this process, for the block only: no file may grow past ``limit`` bytes (then the space is "freed")."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, previous)


def run_cli(db: Path, *args: str, limit: int | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(CONFIG), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          preexec_fn=limited(limit) if limit else None)


def uploads(db: Path) -> list[str]:
    done = run_cli(db, "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    import json
    return [h["file_name"] for h in json.loads(done.stdout)]


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "cannot rollback" not in done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    return done.stderr.strip()


# --- the CLI with a full disk ----------------------------------------------------------------------------------------

def test_a_commit_that_cannot_be_written_is_not_stored(db, files):
    # The commit writes the upload (its 340 kB original and records) to the write-ahead log: 64 kB is too little.
    done = run_cli(db, "import", str(files["small"]), "--dataset", "street_crime", "--user", USER, limit=64 * 1024)
    message = one_line_error(done)
    assert message == f"error: not stored: the disk is full (free space at {db.parent})"
    assert uploads(db) == ["big.csv"]  # nothing stored; the database opens once there is space


def test_a_checkpoint_that_fails_after_the_commit_says_stored_and_is_retried(db, files):
    # The log fits (it is smaller than the database) but the database file may not grow: the checkpoint fails.
    done = run_cli(db, "import", str(files["small"]), "--dataset", "street_crime", "--user", USER,
                   limit=os.path.getsize(db) + 16 * 1024)
    message = one_line_error(done)
    assert message == (f"error: stored, but the checkpoint failed: the disk is full (free space at {db.parent}); "
                       "it will be retried")
    assert wal(db).exists()  # the upload is in the write-ahead log
    assert uploads(db) == ["small.csv", "big.csv"]  # space freed: the next command finds it, and checkpoints
    assert not wal(db).exists()


# --- the store reopens an invalidated database once the cause is gone -----------------------------------------------

def test_the_store_reopens_after_a_failed_checkpoint(db, files):
    s = Store(db, load_catalogue(CONFIG))
    try:
        with files_limited_to(os.path.getsize(db) + 16 * 1024):
            with pytest.raises(StorageError, match=r"^stored, but the checkpoint failed: the disk is full") as e:
                s.import_files([SourceFile.from_path(files["small"])], USER, "street_crime")
            assert e.value.stored
            # DuckDB has invalidated the connection; reads reopen it (the log is replayed in memory)
            assert [h["file_name"] for h in s.history()] == ["small.csv", "big.csv"]
        s.withdraw(2, USER, "test")  # space freed: writes work again
        assert [h["state"] for h in s.history()] == ["withdrawn", "active"]
    finally:
        s.close()
    s = Store(db, load_catalogue(CONFIG))  # the checkpoint is retried when the database is opened
    try:
        assert not wal(db).exists()
        assert [h["state"] for h in s.history()] == ["withdrawn", "active"]
    finally:
        s.close()


def test_a_failed_commit_is_reported_not_hidden_behind_rollback(db, files):
    s = Store(db, load_catalogue(CONFIG))
    try:
        with files_limited_to(64 * 1024), pytest.raises(StorageError) as e:
            s.import_files([SourceFile.from_path(files["small"])], USER, "street_crime")
        assert str(e.value) == f"not stored: the disk is full (free space at {db.parent})" and not e.value.stored
        assert [h["file_name"] for h in s.history()] == ["big.csv"]
        s.import_files([SourceFile.from_path(files["small"])], USER, "street_crime")  # space freed: it stores
        assert [h["file_name"] for h in s.history()] == ["small.csv", "big.csv"]
    finally:
        s.close()


def test_the_app_shows_the_data_again_once_the_space_is_freed(db, files, monkeypatch):
    from cspdash import ui

    app_env(monkeypatch, db, CONFIG)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.run()
    assert not at.exception, [x.message for x in at.exception]
    s = ui._open_store(str(db), str(CONFIG))  # the app's own cached store
    try:
        with files_limited_to(os.path.getsize(db) + 16 * 1024), pytest.raises(StorageError):
            s.import_files([SourceFile.from_path(files["small"])], USER, "street_crime")
        with pytest.raises(duckdb.FatalException, match="invalidated"):
            s.db._con.execute("SELECT 1")  # DuckDB refuses every query on this connection now
        at.switch_page("pages/history.py").run()
        assert not at.exception, [x.message for x in at.exception]
        shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
        assert "small.csv" in shown and "big.csv" in shown
    finally:
        ui._open_store.clear()
        s.close()


# --- a damaged database points to restore and the newest backup -----------------------------------------------------

@pytest.mark.parametrize("damage, on_open", [
    (lambda b: bytes(200) + b[200:], True),  # the header: found when the file is opened
    (lambda b: b[:4096] + bytes(8192) + b[12288:], True),  # a block zeroed: its checksum fails
    (lambda b: b[: len(b) // 3], False),  # cut short: found when the lost part is read
], ids=["header overwritten", "block zeroed", "truncated"])
def test_a_damaged_database_names_restore_and_the_newest_backup(db, tmp_path, monkeypatch, damage, on_open):
    folder = tmp_path / "daily"
    s = Store(db, load_catalogue(CONFIG))
    try:
        folder.mkdir()
        s.backup(folder / "csp-2026-12-01.duckdb")
    finally:
        s.close()
    db.write_bytes(damage(db.read_bytes()))
    monkeypatch.setenv("CSPDASH_BACKUP_DIR", str(folder))
    if on_open:
        with pytest.raises(CspdashError, match=rf"the database {db} is damaged .*Fix: stop the app and restore the "
                                               rf"newest backup; the newest backup is {folder / 'csp-2026-12-01.duckdb'}"
                                               rf": python -m cspdash --db {db} restore "
                                               rf"{folder / 'csp-2026-12-01.duckdb'}"):
            Store(db, load_catalogue(CONFIG))
    done = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(CONFIG), "status"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=dict(os.environ, CSPDASH_BACKUP_DIR=str(folder)))
    message = one_line_error(done)
    assert "is damaged" in message and f"restore {folder / 'csp-2026-12-01.duckdb'}" in message
    # and the restore it names works, though the damaged file cannot be opened
    done = run_cli(db, "restore", str(folder / "csp-2026-12-01.duckdb"))
    assert done.returncode == 0, done.stderr
    assert uploads(db) == ["big.csv"]


def test_without_a_backup_the_message_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("CSPDASH_BACKUP_DIR", raising=False)
    bad = tmp_path / "csp.duckdb"
    bad.write_bytes(b"\0" * 8192)
    with pytest.raises(CspdashError, match=r"is damaged .*restore BACKUP \(no backup was found"):
        Store(bad, load_catalogue(CONFIG))


# --- the CLI's boundary -----------------------------------------------------------------------------------------------

def test_the_cli_turns_any_exception_into_one_line(monkeypatch, capsys):
    def broken(args, out):
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setitem(cli.COMMANDS, "indicators", broken)
    assert cli.main(["--config", str(CONFIG), "indicators"]) == cli.EXIT_PROBLEMS
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: unexpected RuntimeError: something nobody foresaw (a fault in cspdash")

    def interrupted(args, out):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "indicators", interrupted)
    assert cli.main(["--config", str(CONFIG), "indicators"]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "interrupted\n"


def test_a_storage_error_from_the_os_is_one_line(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(blocked / "csp.duckdb"), "--config",
                           str(CONFIG), "init"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    message = one_line_error(done)
    assert message.startswith("error: the storage failed: File exists (") and "a-file" in message, message
