"""Backup and restore: a round trip keeps every upload, figure, comment, account, snapshot and original file.

The database is the demo plus everything else a live one holds: accounts (with a password, locked-out and disabled
ones), a withdrawal, commentary typed in the app, frozen snapshots and a record-level extract large enough for its
original to be kept in a file beside the database. It is backed up (by the open store, as the app does, and by
``python -m cspdash backup``), restored into another folder, and every table compared row by row.

Also: the backups that work while the app holds the database (the admin's download, the app's own daily backup).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import datetime, time
from pathlib import Path

import pytest
from e2e_helpers import app_env, demo_copy
from reliability_helpers import police_uk_csv, record, tables
from streamlit.testing.v1 import AppTest
from test_pages import _navigation_mode  # noqa: F401  (AppTest must run dashboard.py in navigation mode)
from tests_config import CONFIG, ROOT

from cspdash import backups, snapshots
from cspdash.auth import SignInError
from cspdash.backups import restore
from cspdash.config import load_catalogue
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile
from cspdash.store import Store

ADMIN = "analyst@towerhamlets.gov.uk"
PASSWORD = "correct horse battery staple"


def copy_db(src: Path, dst: Path) -> Path:
    """A copy of a database file with the originals kept beside it (what copying the data folder gives)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    if (src.parent / "uploads").is_dir():
        shutil.copytree(src.parent / "uploads", dst.parent / "uploads", dirs_exist_ok=True)
    return dst


def contents(s: Store) -> dict[str, list[tuple]]:
    """Every row of every table, sorted; the uploads' ``content`` column left out (originals are compared as files:
    a backup holds them inline where the live database keeps large ones beside it)."""
    cur = s.cursor()
    out = {}
    for t in tables(cur):
        cols = [r[0] for r in cur.execute(f'DESCRIBE "{t}"').fetchall() if not (t == "uploads" and r[0] == "content")]
        out[t] = cur.execute(f'SELECT {", ".join(cols)} FROM "{t}" ORDER BY ALL').fetchall()
    return out


def originals(s: Store) -> dict[int, tuple[str, str]]:
    """(file name, SHA-256 of the bytes retrieved) of every upload's original."""
    return {h["upload_id"]: (s.upload_content(h["upload_id"])[0],
                             hashlib.sha256(s.upload_content(h["upload_id"])[1]).hexdigest()) for h in s.history()}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Path:
    """A database holding every kind of thing cspdash stores."""
    db = demo_copy(tmp_path_factory, "backup-live")
    s = Store(db, load_catalogue(CONFIG))
    try:
        s.add_user(ADMIN, "admin", password=PASSWORD, by="test")
        s.add_user("chair-asb@towerhamlets.gov.uk", "chair", ["asb"], password=PASSWORD, by="test")
        s.add_user("viewer@towerhamlets.gov.uk", "viewer", by="test")
        s.add_user("left@towerhamlets.gov.uk", "meeting", by="test")
        s.disable_user("left@towerhamlets.gov.uk", by="test")
        with pytest.raises(SignInError):
            s.sign_in("chair-asb@towerhamlets.gov.uk", "wrong password")  # a failed sign-in is counted
        s.sign_in(ADMIN, PASSWORD)
        period = s.latest_complete_quarter()
        s.add_commentary("A1", period, "Typed in the app: <b>not bold</b>, 'quoted', ünïcödé.", ADMIN)
        big = police_uk_csv(db.parent / "street-2024.csv", 30_000)  # over 4 MiB: its original is kept beside the db
        s.import_files([SourceFile.from_path(big)], ADMIN, "street_crime")
        r = s.import_files([SourceFile("sent-in-error.csv", data=b"indicator,period,value\nA2,2025/26 Q3,999\n")], ADMIN)
        s.withdraw(r.uploads[0]["upload_id"], ADMIN, "sent in error")
        snapshots.freeze(s, period, "2026-01-15", ADMIN)
        snapshots.freeze(s, period, "2026-03-12", ADMIN)
    finally:
        s.close()
    return db


def _round_trip(live: Path, backup: Path, target: Path) -> dict:
    """Restore ``backup`` to ``target`` and compare it with ``live``; return the comparison's figures."""
    restore(backup, target, load_catalogue(CONFIG))
    a, b = Store(live, load_catalogue(CONFIG)), Store(target, load_catalogue(CONFIG))
    try:
        before, after = contents(a), contents(b)
        names = sorted(before)
        assert names == sorted(after)
        for t in names:
            assert before[t] == after[t], f"table {t} differs after the round trip"
        assert originals(a) == originals(b)
        for h in a.history():
            assert hashlib.sha256(b.upload_content(h["upload_id"])[1]).hexdigest() == h["sha256"]
        assert [s.as_dict() for s in a.statuses()] == [s.as_dict() for s in b.statuses()]
        for snap in snapshots.list_snapshots(a):
            assert snapshots.load(a, snap["snapshot_id"]).pack == snapshots.load(b, snap["snapshot_id"]).pack
        assert b.sign_in(ADMIN, PASSWORD).role == "admin"  # the password hash came through
        # The sequences came through: the next upload, event and snapshot get new ids, not a clash with old ones.
        nxt = b.import_files([SourceFile("after-restore.csv", data=b"indicator,period,value\nA3,2025/26 Q3,7\n")], ADMIN)
        assert nxt.uploads[0]["upload_id"] > max(h["upload_id"] for h in a.history())
        assert snapshots.freeze(b, None, "2026-06-01", ADMIN) > max(s["snapshot_id"] for s in snapshots.list_snapshots(a))
        return {"tables": len(names), "rows": sum(len(v) for v in before.values()), "originals": len(originals(a))}
    finally:
        a.close()
        b.close()


def test_backup_by_the_open_store_restores_everything_elsewhere(live, tmp_path):
    s = Store(live, load_catalogue(CONFIG))
    try:
        assert any((live.parent / "uploads").iterdir()), "the large extract's original should be kept beside the db"
        out = s.backup(tmp_path / "backups" / "csp-backup.duckdb")
    finally:
        s.close()
    figures = _round_trip(live, out, tmp_path / "elsewhere" / "csp.duckdb")
    assert not (tmp_path / "elsewhere" / "uploads").exists()  # the originals travelled inside the backup
    record("backup", differences=0, **figures)


def test_backup_and_restore_commands_round_trip(live, tmp_path):
    out = tmp_path / "cli-backup.duckdb"
    copy = copy_db(live, tmp_path / "live" / "csp.duckdb")
    run = [sys.executable, "-m", "cspdash", "--db", str(copy), "--config", str(CONFIG)]
    done = subprocess.run([*run, "backup", "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "restored" / "csp.duckdb"
    done = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(target), "--config", str(CONFIG), "restore",
                           str(out)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _round_trip(copy, out, target)


def test_restore_over_a_database_keeps_the_replaced_one(live, tmp_path):
    db = copy_db(live, tmp_path / "csp.duckdb")
    s = Store(db, load_catalogue(CONFIG))
    try:
        out = s.backup(tmp_path / "b.duckdb")
    finally:
        s.close()
    kept = restore(out, db, load_catalogue(CONFIG))
    assert kept is not None and kept.exists() and kept.read_bytes() == live.read_bytes()


def test_the_cli_backup_cannot_run_while_the_app_holds_the_database(live, tmp_path):
    """The limitation the in-app backups exist for: DuckDB lets one process open the file."""
    s = Store(live, load_catalogue(CONFIG))  # this process plays the running app
    try:
        done = subprocess.run([sys.executable, "-m", "cspdash", "--db", str(live), "--config", str(CONFIG), "backup",
                               "--out", str(tmp_path / "b.duckdb")], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 1 and "lock" in done.stderr.lower(), done.stderr
        data = backups.backup_bytes(s)  # the app's own backup works meanwhile
    finally:
        s.close()
    (tmp_path / "downloaded.duckdb").write_bytes(data)
    _round_trip(live, tmp_path / "downloaded.duckdb", tmp_path / "from-download" / "csp.duckdb")


# --- the app's daily backup ---------------------------------------------------------------------------------------

def test_daily_backup_writes_once_a_day_after_its_time_and_keeps_the_newest(live, tmp_path):
    s = Store(live, load_catalogue(CONFIG))
    folder = tmp_path / "nightly"
    try:
        daily = backups.DailyBackups(s, folder, at=time(2, 30), keep=3)
        assert daily.run_once(datetime(2026, 11, 25, 1, 0)) is None  # before its time
        first = daily.run_once(datetime(2026, 11, 25, 2, 31))
        assert first == folder / "csp-2026-11-25.duckdb" and first.exists()
        assert daily.run_once(datetime(2026, 11, 25, 23, 0)) is None  # once a day
        for day in (26, 27, 28, 29):
            daily.run_once(datetime(2026, 11, day, 3, 0))
        assert sorted(p.name for p in folder.iterdir()) == ["csp-2026-11-27.duckdb", "csp-2026-11-28.duckdb",
                                                             "csp-2026-11-29.duckdb"]
        # A backup interrupted half-way (a crash, a stop) leaves only a hidden .part file, replaced next time.
        (folder / ".csp-2026-11-30.duckdb.part").write_bytes(b"half a backup")
        assert daily.run_once(datetime(2026, 11, 30, 3, 0)) == folder / "csp-2026-11-30.duckdb"
        assert not (folder / ".csp-2026-11-30.duckdb.part").exists()
    finally:
        s.close()
    _round_trip(live, folder / "csp-2026-11-30.duckdb", tmp_path / "restored" / "csp.duckdb")


def test_daily_backup_failure_is_logged_and_does_not_stop_the_thread(live, tmp_path, monkeypatch):
    s = Store(live, load_catalogue(CONFIG))
    try:
        blocked = tmp_path / "not-a-folder"
        blocked.write_text("a file where the folder should be")
        daily = backups.DailyBackups(s, blocked, at=time(0, 0))
        assert daily.run_once() is None and "Error" in (daily.last_error or "")
        daily = backups.DailyBackups(s, tmp_path / "ok", at=time(0, 0), check_every=0.05).start()
        for _ in range(200):
            if daily.last is not None:
                break
            __import__("time").sleep(0.05)
        daily.stop()
        assert daily.last is not None and daily.last.exists()
    finally:
        s.close()


@pytest.mark.parametrize(("env", "expected"), [
    ({}, None),
    ({"CSPDASH_BACKUP_DIR": "/srv/backups"}, (Path("/srv/backups"), time(2, 30), 30)),
    ({"CSPDASH_BACKUP_DIR": "b", "CSPDASH_BACKUP_AT": "23:05", "CSPDASH_BACKUP_KEEP": "0"}, (Path("b"), time(23, 5), 0)),
    ({"CSPDASH_BACKUP_DIR": "b", "CSPDASH_BACKUP_AT": "2am"}, "CSPDASH_BACKUP_AT is '2am'; expected a time such as 02:30"),
    ({"CSPDASH_BACKUP_DIR": "b", "CSPDASH_BACKUP_KEEP": "-1"}, "CSPDASH_BACKUP_KEEP is '-1'; expected a whole number"),
])
def test_daily_backup_settings(env, expected):
    if isinstance(expected, str):
        with pytest.raises(CspdashError, match=expected):
            backups.settings_from_env(env)
    else:
        assert backups.settings_from_env(env) == expected


# --- the admin's download on the Upload history page ----------------------------------------------------------------

def _history_page(db: Path, monkeypatch, email: str | None) -> AppTest:
    app_env(monkeypatch, db, CONFIG)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    if email:
        at.session_state["csp_signed_in"] = {"email": email, "at": datetime.now()}
    at.run()
    at.switch_page("pages/history.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.mark.parametrize(("email", "offered"), [(ADMIN, True), ("chair-asb@towerhamlets.gov.uk", False),
                                                 ("viewer@towerhamlets.gov.uk", False), (None, False)])
def test_history_page_offers_the_backup_download_to_admins_only(live, tmp_path, monkeypatch, email, offered):
    db = copy_db(live, tmp_path / "csp.duckdb")
    at = _history_page(db, monkeypatch, email)
    labels = [b.label for b in at.get("download_button")]
    assert ("Download a backup" in labels) == offered, labels
