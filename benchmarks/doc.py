"""Writing a measured block into docs/performance.md between its markers, keeping the prose around it."""

from __future__ import annotations

from pathlib import Path


def write_block(doc: Path, start: str, end: str, block: str, heading: str = "") -> None:
    """Replace the block between ``start`` and ``end`` in ``doc``, or append it (under ``heading`` when given)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n\n"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + (f"## {heading}\n\n" if heading else "") + block + "\n"
    doc.write_text(text, encoding="utf-8")
