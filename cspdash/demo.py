"""The demo database: real London Datastore crime figures plus clearly labelled synthetic partner returns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml

from cspdash.errors import CspdashError
from cspdash.ingest import SourceFile
from cspdash.store import Store

DEMO_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def load_demo(store: Store, demo_dir: Path = DEMO_DIR) -> Iterator[str]:
    """Import every file of the demo manifest in order, yielding one line of progress per file."""
    manifest = demo_dir / "manifest.yaml"
    if not manifest.is_file():
        raise CspdashError(f"the demo manifest {manifest} is missing; is this a complete checkout?")
    items = yaml.safe_load(manifest.read_text(encoding="utf-8")) or []
    if isinstance(items, dict):
        items = items.get("uploads", [])
    for item in items:
        src = SourceFile.from_path(demo_dir / item["file"])
        res = store.import_files([src], item.get("user") or "demo", item.get("dataset"),
                                 synthetic=bool(item.get("synthetic")))
        for u in res.uploads:
            state = f"upload {u['upload_id']}" if u["upload_id"] else f"already loaded as {u['duplicate_of']}"
            yield f"{u['file_name']}: {u['rows']} rows ({state})"
