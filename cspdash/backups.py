"""Backups while the app runs: a backup for the admin to download, and a daily backup the app writes itself.

DuckDB lets one process open the database file and the running app holds it, so ``python -m cspdash backup`` fails
with "Conflicting lock" while the app runs. Both of these go through the app's own ``Store.backup`` instead, which
takes the write lock (uploads wait a few seconds) and writes a consistent, self-contained copy.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from cspdash.errors import CspdashError
from cspdash.store import Store

log = logging.getLogger(__name__)

DEFAULT_AT = time(2, 30)  # local time: after the working day, before anyone is in
DEFAULT_KEEP = 30  # daily backups kept in the folder; older ones are deleted
PREFIX = "csp-"


def download_name(now: datetime | None = None) -> str:
    """``csp-backup-2026-11-25-1030.duckdb``."""
    return f"csp-backup-{(now or datetime.now()):%Y-%m-%d-%H%M}.duckdb"


def backup_bytes(store: Store) -> bytes:
    """A backup of the whole database as bytes (made in a temporary folder, which is then removed)."""
    with tempfile.TemporaryDirectory(prefix="cspdash-backup-") as tmp:
        return store.backup(Path(tmp) / "backup.duckdb").read_bytes()


def daily_path(directory: Path, day: datetime) -> Path:
    """The file of ``day``'s backup: ``csp-2026-11-25.duckdb``."""
    return directory / f"{PREFIX}{day:%Y-%m-%d}.duckdb"


def write_daily(store: Store, directory: str | Path, now: datetime | None = None, keep: int = DEFAULT_KEEP) -> Path | None:
    """Write today's backup into ``directory`` unless it exists; keep the newest ``keep`` daily backups.

    The copy is written under a temporary name and renamed when complete, so a file named ``csp-DATE.duckdb`` is
    always a whole backup. Returns the new file, or None when today's backup was already there.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = daily_path(folder, now or datetime.now())
    if target.exists():
        return None
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)  # left by a backup interrupted by a crash or a stop
    part.with_name(part.name + ".wal").unlink(missing_ok=True)
    store.backup(part)
    os.replace(part, target)
    if keep > 0:
        for old in sorted(folder.glob(f"{PREFIX}????-??-??.duckdb"))[:-keep]:
            old.unlink(missing_ok=True)
    return target


@dataclass
class DailyBackups:
    """A thread writing one backup a day, at or after ``at`` (local time); at start if today's is missing and due."""

    store: Store
    directory: Path
    at: time = DEFAULT_AT
    keep: int = DEFAULT_KEEP
    check_every: float = 60.0  # seconds between looks at the clock
    last: Path | None = None
    last_error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def due(self, now: datetime) -> bool:
        """Whether today's backup should exist by ``now`` and does not."""
        return now.time() >= self.at and not daily_path(self.directory, now).exists()

    def run_once(self, now: datetime | None = None) -> Path | None:
        """Write today's backup if it is due; errors are logged and kept in ``last_error``, never raised."""
        now = now or datetime.now()
        if not self.due(now):
            return None
        try:
            made = write_daily(self.store, self.directory, now, self.keep)
        except Exception as e:  # a failed night must not stop the next one
            self.last_error = f"{now:%Y-%m-%d %H:%M}: {type(e).__name__}: {e}"
            log.error("cspdash: the daily backup into %s failed: %s", self.directory, e)
            return None
        if made is not None:
            self.last, self.last_error = made, None
            log.info("cspdash: daily backup written to %s", made)
        return made

    def start(self) -> DailyBackups:
        """Start the thread (a daemon: it never keeps the server from stopping)."""
        def loop() -> None:
            self.run_once()
            while not self._stop.wait(self.check_every):
                self.run_once()

        self._thread = threading.Thread(target=loop, name="cspdash-daily-backup", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (tests)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def settings_from_env(env: dict[str, str] | None = None) -> tuple[Path, time, int] | None:
    """(folder, time, days kept) from ``CSPDASH_BACKUP_DIR``, ``CSPDASH_BACKUP_AT`` (HH:MM) and
    ``CSPDASH_BACKUP_KEEP``; None when no folder is set. A bad value fails with a message that says how to fix it."""
    env = os.environ if env is None else env
    folder = (env.get("CSPDASH_BACKUP_DIR") or "").strip()
    if not folder:
        return None
    at_text = (env.get("CSPDASH_BACKUP_AT") or DEFAULT_AT.strftime("%H:%M")).strip()
    try:
        at = datetime.strptime(at_text, "%H:%M").time()
    except ValueError:
        raise CspdashError(f"CSPDASH_BACKUP_AT is {at_text!r}; expected a time such as 02:30 (24-hour HH:MM)") from None
    keep_text = (env.get("CSPDASH_BACKUP_KEEP") or str(DEFAULT_KEEP)).strip()
    if not keep_text.isdigit():
        raise CspdashError(f"CSPDASH_BACKUP_KEEP is {keep_text!r}; expected a whole number of daily backups to keep "
                           "(0 keeps them all)")
    return Path(folder), at, int(keep_text)
