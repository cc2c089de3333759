"""The meeting pack: one quarter's figures as a PDF committee paper and an XLSX scorecard.

Both are rendered from a ``PackData``, built either live from the store (``build_pack``) or from a frozen snapshot
(``cspdash.snapshots.load``), so the PDF, the workbook and the screen show the same numbers. This module is the
pack's front door; the work is done in ``pack`` (the data), ``pack_charts`` (chart images and their alternative
text), ``pdf_writer`` and ``pack_pdf`` (the tagged PDF) and ``scorecard`` (the workbook).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cspdash.errors import CspdashError
from cspdash.pack import (  # noqa: F401  (the pack's names, importable from here as before)
    PACK_FORMAT,
    Comment,
    PackData,
    PackItem,
    PriorityInfo,
    SnapshotInfo,
    build_pack,
    file_name,
    parse_meeting_date,
    resolve,
    with_snapshot,
)
from cspdash.pack_charts import chart_alt, chart_drawing, comparison_alts, comparison_drawings  # noqa: F401
from cspdash.pack_pdf import render_pdf
from cspdash.pdf_writer import latin1  # noqa: F401
from cspdash.scorecard import XLSX_COLUMNS, XLSX_HEADER_ROW, _put, _sheet_title, render_xlsx  # noqa: F401

if TYPE_CHECKING:
    from cspdash.store import Store


def build_pdf(store: Store | None, period: Any, out_path_or_buffer: str | Path | IO[bytes],
              meeting_date: date | str | None = None) -> None:
    """Write the meeting pack PDF for ``period`` (a Period or label; None: the latest complete quarter).

    ``period`` may instead be a snapshot (``snapshots.load``) or a ``PackData``: the frozen figures are rendered.
    """
    _write(render_pdf(resolve(store, period, meeting_date)), out_path_or_buffer)


def build_xlsx(store: Store | None, period: Any, out_path_or_buffer: str | Path | IO[bytes],
               meeting_date: date | str | None = None) -> None:
    """Write the scorecard workbook for ``period`` (or a snapshot / PackData, as ``build_pdf``)."""
    _write(render_xlsx(resolve(store, period, meeting_date)), out_path_or_buffer)


def _write(data: bytes, out: str | Path | IO[bytes]) -> None:
    if isinstance(out, str | Path):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        out.write(data)


BUILDERS = {".pdf": build_pdf, ".xlsx": build_xlsx}


def write_pack(store: Store, out: str | Path, period: Any = None, meeting_date: date | str | None = None) -> Path:
    """Write the PDF or the workbook, chosen by ``out``'s extension (.pdf or .xlsx); returns the path."""
    path = Path(out)
    builder = BUILDERS.get(path.suffix.lower())
    if builder is None:
        raise CspdashError(f"--out {out}: the pack is written as .pdf or .xlsx, not {path.suffix or 'no extension'}; "
                           "end the file name with .pdf or .xlsx")
    builder(store, period, path, meeting_date)
    return path
