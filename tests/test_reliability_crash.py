"""Crash safety: SIGKILL the importer (``python -m cspdash import BIG.csv --dataset street_crime``) at random moments.

After every kill the database must open, hold the whole upload or none of it (``uploads``, ``ds_street_crime`` and
``observations`` agree, the original file's bytes are retrievable) and everything committed earlier must be
unchanged (a digest of every table, before and after). Half of the kills are spread evenly over a reference run
(start-up, reading, validating, staging, writing); the other half wait until the importer starts writing to the
database file or its write-ahead log and then strike at a random moment of the write.

The default suite runs a small version (4 kills of a 20,000-row file); ``make reliability`` runs the full one
(30 kills of a 400,000-row, ~100 MB file) and records its figures.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e_helpers import demo_copy
from reliability_helpers import db_digest, police_uk_csv, record
from tests_config import CONFIG, ROOT

from cspdash import snapshots
from cspdash.config import load_catalogue
from cspdash.store import Store

ADMIN = "analyst@towerhamlets.gov.uk"


@dataclass
class Campaign:
    """What a kill campaign found."""

    kills: int = 0  # SIGKILLs delivered
    finished_first: int = 0  # attempts where the import ended before its kill moment (not counted as kills)
    reopened: int = 0
    none_stored: int = 0
    whole_stored: int = 0
    partial: int = 0
    earlier_changed: int = 0
    during_write: int = 0
    import_seconds: float = 0.0
    leftovers: set[str] = field(default_factory=set)  # files a kill left behind (temporary, never referenced)
    failures: list[str] = field(default_factory=list)


def _files(db: Path) -> dict[str, int]:
    """Sizes of the database file and its write-ahead log (0 when absent)."""
    return {s: (db.with_name(db.name + s).stat().st_size if db.with_name(db.name + s).exists() else 0)
            for s in ("", ".wal")}


def _import_cmd(db: Path, big: Path) -> list[str]:
    return [sys.executable, "-m", "cspdash", "--db", str(db), "--config", str(CONFIG), "import", str(big),
            "--dataset", "street_crime", "--user", ADMIN]


def _base_db(tmp_path_factory, name: str) -> Path:
    """The demo database with an admin account and a frozen snapshot: the "earlier" data a crash must not touch."""
    db = demo_copy(tmp_path_factory, name)
    s = Store(db, load_catalogue(CONFIG))
    try:
        s.add_user(ADMIN, "admin", by="test")
        snapshots.freeze(s, None, "2026-01-15", ADMIN)
    finally:
        s.close()
    return db


def _reference(db: Path, big: Path) -> tuple[float, float, int]:
    """Run the import to the end on a copy: (seconds, seconds until it started writing, observations it stored)."""
    import shutil

    ref = db.with_name("reference.duckdb")
    shutil.copyfile(db, ref)
    start_sizes = _files(ref)
    t0 = time.monotonic()
    proc = subprocess.Popen(_import_cmd(ref, big), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    writing = None
    while proc.poll() is None:
        if writing is None and _files(ref) != start_sizes:
            writing = time.monotonic() - t0
        time.sleep(0.002)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr.read().decode()
    s = Store(ref, load_catalogue(CONFIG))
    try:
        uid = s.history()[0]["upload_id"]
        obs = s.cursor().execute("SELECT count(*) FROM observations WHERE upload_id = ?", [uid]).fetchone()[0]
    finally:
        s.close()
    return took, writing or took * 0.7, obs


def _check_after_kill(db: Path, big: Path, rows: int, obs_expected: int, before: dict, before_ids: set[int],
                      sha: str, camp: Campaign, label: str) -> None:
    """Open the database as the app would and check the all-or-nothing and nothing-earlier-changed rules."""
    try:
        s = Store(db, load_catalogue(CONFIG))
    except Exception as e:  # the one outcome that must never happen
        camp.failures.append(f"{label}: the database did not open: {e}")
        return
    camp.reopened += 1
    try:
        cur = s.cursor()
        ids = {r[0] for r in cur.execute("SELECT upload_id FROM uploads").fetchall()}
        new = sorted(ids - before_ids)
        orphans = cur.execute(
            "SELECT (SELECT count(*) FROM ds_street_crime WHERE upload_id NOT IN (SELECT upload_id FROM uploads)) + "
            "(SELECT count(*) FROM observations WHERE upload_id NOT IN (SELECT upload_id FROM uploads))").fetchone()[0]
        if orphans:
            camp.partial += 1
            camp.failures.append(f"{label}: {orphans} figures or records belong to no upload")
        if not new:
            camp.none_stored += 1
            if db_digest(cur) != before:
                camp.earlier_changed += 1
                camp.failures.append(f"{label}: nothing was stored, yet the tables changed")
        elif len(new) == 1:
            uid = new[0]
            stored_rows = cur.execute("SELECT rows FROM uploads WHERE upload_id = ?", [uid]).fetchone()[0]
            records = cur.execute("SELECT count(*) FROM ds_street_crime WHERE upload_id = ?", [uid]).fetchone()[0]
            figures = cur.execute("SELECT count(*) FROM observations WHERE upload_id = ?", [uid]).fetchone()[0]
            events = cur.execute("SELECT count(*) FROM events WHERE upload_id = ? AND action = 'upload'", [uid]).fetchone()[0]
            original = hashlib.sha256(s.upload_content(uid)[1]).hexdigest()
            whole = (stored_rows, records, figures, events, original) == (rows, rows, obs_expected, 1, sha)
            if whole:
                camp.whole_stored += 1
            else:
                camp.partial += 1
                camp.failures.append(f"{label}: upload {uid} is partial: rows {stored_rows}, records {records}, "
                                     f"figures {figures}/{obs_expected}, events {events}, original ok {original == sha}")
            if db_digest(cur, exclude_uploads=[uid]) != before:
                camp.earlier_changed += 1
                camp.failures.append(f"{label}: upload {uid} was stored and earlier data changed")
            s.withdraw(uid, ADMIN, "crash test: withdrawn so that the next kill imports the same file again")
        else:
            camp.partial += 1
            camp.failures.append(f"{label}: {len(new)} uploads appeared from one import")
        s.statuses()  # the store still answers
    finally:
        s.close()


def run_campaign(db: Path, big: Path, rows: int, kills: int, seed: int) -> Campaign:
    """Kill the importer ``kills`` times (half spread over a run, half during its writes); check after each kill."""
    rng = random.Random(seed)
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    took, writing, obs_expected = _reference(db, big)
    camp = Campaign(import_seconds=took)
    spread = kills - kills // 2
    for k in range(kills * 2):
        if camp.kills >= kills:
            break
        s = Store(db, load_catalogue(CONFIG))
        try:
            before = db_digest(s.cursor())
            before_ids = {r[0] for r in s.cursor().execute("SELECT upload_id FROM uploads").fetchall()}
        finally:
            s.close()
        start_sizes = _files(db)
        proc = subprocess.Popen(_import_cmd(db, big), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        if k % 2 == 0 and k // 2 < spread:  # stratified: one kill in each slice of the reference run
            at = took * (k // 2 + rng.random()) / spread
            label = f"kill {k + 1} at {at:.2f} s"
            while proc.poll() is None and time.monotonic() - t0 < at:
                time.sleep(0.001)
        else:  # during the write: from the first byte written to the end of the reference run
            delay = rng.random() * max(took - writing, 0.05)
            while proc.poll() is None and _files(db) == start_sizes:
                time.sleep(0.0005)
            started = time.monotonic()
            label = f"kill {k + 1} at {started - t0 + delay:.2f} s ({delay:.3f} s into the write)"
            while proc.poll() is None and time.monotonic() - started < delay:
                time.sleep(0.0005)
        if proc.poll() is None:
            camp.during_write += _files(db) != start_sizes
            os.kill(proc.pid, signal.SIGKILL)
            camp.kills += 1
        else:
            camp.finished_first += 1
        proc.wait()
        camp.leftovers |= {p.relative_to(db.parent).as_posix() for p in db.parent.rglob("*")
                           if p.name.endswith((".part", ".tmp")) or ".tmp" in p.parent.name}
        _check_after_kill(db, big, rows, obs_expected, before, before_ids, sha, camp, label)
    return camp


def _assert_safe(camp: Campaign) -> None:
    assert not camp.failures, "\n".join(camp.failures)
    assert camp.reopened == camp.kills + camp.finished_first
    assert camp.partial == 0 and camp.earlier_changed == 0
    assert camp.none_stored + camp.whole_stored == camp.kills + camp.finished_first


def test_sigkill_during_import_leaves_all_or_nothing_small(tmp_path_factory, tmp_path):
    db = _base_db(tmp_path_factory, "crash-small")
    big = police_uk_csv(tmp_path / "BIG.csv", 20_000)
    camp = run_campaign(db, big, 20_000, kills=4, seed=1)
    _assert_safe(camp)


@pytest.mark.slow
def test_sigkill_during_large_import_leaves_all_or_nothing(tmp_path_factory, tmp_path):
    rows, kills = 400_000, 30
    db = _base_db(tmp_path_factory, "crash-large")
    big = police_uk_csv(tmp_path / "BIG.csv", rows)
    try:
        camp = run_campaign(db, big, rows, kills=kills, seed=20171)
        record("crash", kills=camp.kills, finished_first=camp.finished_first, rows=rows, file_mb=big.stat().st_size / 1e6,
               import_seconds=round(camp.import_seconds, 2), reopened=camp.reopened, none_stored=camp.none_stored,
               whole_stored=camp.whole_stored, partial=camp.partial, earlier_changed=camp.earlier_changed,
               during_write=camp.during_write, leftovers=sorted(camp.leftovers))
        _assert_safe(camp)
        assert camp.kills == kills
        assert camp.none_stored and camp.whole_stored, "the kills should land both before and after the commit"
    finally:
        big.unlink(missing_ok=True)
