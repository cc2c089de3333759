"""Original files of uploads: small ones in the ``content`` column, large ones beside the database, content-addressed.

A large original is kept as ``uploads/<sha256>`` beside the database file, written whole under a temporary name and
renamed, and checked against its SHA-256 whenever it is read. Databases in one folder may share these files. A
PostgreSQL store has no file to be beside: its large originals go to ``$CSPDASH_EXTRACTS/originals/<sha256>``
(storage every app replica and command can reach); while that is unset, an upload that needs it is refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from pathlib import Path

from cspdash.db import Cursor
from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile

#: An upload larger than this keeps its original bytes in a file beside the database (``uploads/<sha256>``), not in
#: the ``content`` column: writing a 250 MB extract into a BLOB took longer than reading the extract itself.
INLINE_ORIGINAL_BYTES = 4 * 1024 * 1024
ORIGINALS_DIR = "uploads"  # beside the database file; content-addressed, so databases in one folder may share it
EXTRACTS_ENV = "CSPDASH_EXTRACTS"  # a PostgreSQL store's shared storage: originals in its ``originals`` folder


class Originals:
    """The originals folder of one database (``folder`` None for a database in memory: everything is inline)."""

    def __init__(self, db_path: Path | None, folder: Path | None = None) -> None:
        self.folder = folder if db_path is None else None if str(db_path) == ":memory:" else db_path.parent / ORIGINALS_DIR
        self.shared_storage = db_path is None  # a PostgreSQL store's: a large original needs $CSPDASH_EXTRACTS

    @classmethod
    def shared(cls, env: dict[str, str] | None = None) -> Originals:
        """The originals of a PostgreSQL store: ``$CSPDASH_EXTRACTS/originals`` (folder None while it is unset)."""
        root = ((os.environ if env is None else env).get(EXTRACTS_ENV) or "").strip()
        return cls(None, Path(root) / "originals" if root else None)

    def kept_outside(self, src: SourceFile) -> bool:
        """Whether an upload's original bytes are kept in a file beside the database rather than in the row; a
        CspdashError, nothing stored, when a PostgreSQL store would need ``$CSPDASH_EXTRACTS`` and it is unset."""
        if src.size <= INLINE_ORIGINAL_BYTES:
            return False
        if self.folder is None and self.shared_storage:
            raise CspdashError(
                f"{src.display_name}: {src.size / 1024 / 1024:.1f} MB is more than the "
                f"{INLINE_ORIGINAL_BYTES // 1024 // 1024} MB a PostgreSQL store keeps in the database, and "
                f"${EXTRACTS_ENV} is not set, so there is nowhere to keep the original file; nothing was stored. "
                f"Fix: set {EXTRACTS_ENV} to a folder every app replica and command can reach (originals go to its "
                "originals/ folder)")
        return self.folder is not None

    def keep(self, src: SourceFile, sha: str) -> None:
        """Keep an upload's original bytes as ``<folder>/<sha256>`` (``uploads/`` beside the database)."""
        assert self.folder is not None
        target = self.folder / sha
        if target.is_file() and target.stat().st_size == src.size:
            return  # the same bytes are already kept (the name is their hash)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{sha}.{threading.get_ident()}.part"
        try:
            if src.path is not None:
                shutil.copyfile(src.path, tmp)  # in the kernel where it can (copy_file_range), not through Python
            else:
                tmp.write_bytes(src.read())
            with tmp.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise CspdashError(f"{src.display_name}: cannot keep the original file in {self.folder} "
                               f"({e.strerror}); nothing was stored. Fix: check the disk space and permissions") from None
        fsync_dir(self.folder)

    def path(self, upload_id: int, name: str, sha: str) -> Path:
        """The file holding an upload's original bytes, checked against its SHA-256."""
        path = self.folder / sha if self.folder else None
        if path is None and self.shared_storage:
            raise CspdashError(f"the original of upload {upload_id} ({name}) is kept as originals/{sha} in "
                               f"${EXTRACTS_ENV}, which is not set. Fix: set {EXTRACTS_ENV} to the shared folder")
        if path is None or not path.is_file():
            raise CspdashError(f"the original of upload {upload_id} ({name}) is missing: it was kept as {path}. "
                               "Fix: copy that file back from the machine's backups, or restore a backup made with "
                               "`backup` (a backup holds every original)")
        if sha256_file(path) != sha:
            raise CspdashError(f"the original of upload {upload_id} ({name}) in {path} has been changed: its "
                               f"SHA-256 no longer matches {sha}. Fix: restore the file from a backup")
        return path

    def content(self, cur: Cursor, upload_id: int) -> tuple[str, bytes]:
        """(file name, original bytes) of an upload, from the database or the originals folder beside it."""
        row = next(iter(cur.execute(
            "SELECT file_name, content, sha256, size_bytes FROM uploads WHERE upload_id = ?", [upload_id]).fetchall()),
            None)
        if row is None:
            raise CspdashError(f"there is no upload {upload_id}; see `history` for the ids")
        name, content, sha, size = row
        if content is not None or not size:
            return name, bytes(content or b"")
        return name, self.path(upload_id, name, sha).read_bytes()


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, read in 4 MB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
