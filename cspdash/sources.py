"""Uploaded files as bytes, before anything is parsed: ``SourceFile`` (its name shown safely, its bytes read or spooled
to disk), the size and extension checks, and the text encodings a CSV may or may not be in.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from cspdash.cells import column_letter
from cspdash.errors import CspdashError
from cspdash.problems import Problem, ValidationError

MAX_RETURN_BYTES = 20 * 1024 * 1024  # an indicator return is a few hundred rows
MAX_DATASET_BYTES = 512 * 1024 * 1024  # a year of London police.uk records is about 250 MB
RETURN_EXTENSIONS = (".csv", ".xlsx")
REFUSED_EXTENSIONS = {".xlsm": "it may contain macros", ".xls": "it is the old binary Excel format",
                      ".xlsb": "it is a binary Excel format"}


@dataclass(frozen=True)
class SourceFile:
    """An uploaded file: its original name (for display only, never used as a path) and its bytes or a path."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_path(cls, path: str | Path) -> SourceFile:
        """A file on disk (CLI imports); read lazily."""
        p = Path(path)
        return cls(p.name, None, p)

    @property
    def display_name(self) -> str:
        """The base name with control characters removed: ``../../x.csv`` shows as ``x.csv``."""
        return safe_name(self.name)

    @property
    def suffix(self) -> str:
        """The lower-case extension, e.g. ``.csv``."""
        return PurePath(self.display_name).suffix.lower()

    @property
    def size(self) -> int:
        """Size in bytes."""
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path else 0

    def read(self) -> bytes:
        """All the bytes."""
        if self.data is not None:
            return self.data
        if self.path is None:
            return b""
        try:
            return self.path.read_bytes()
        except OSError as e:
            raise CspdashError(f"{self.display_name}: cannot read the file ({e.strerror})") from None

    @contextlib.contextmanager
    def on_disk(self) -> Iterator[SourceFile]:
        """This file with a path to read it from: itself when it has one, else (a browser upload, held as bytes)
        its bytes spooled to a temporary file in a folder of the upload's own, removed on leaving. The name shown
        stays the upload's."""
        if self.path is not None or self.data is None:
            yield self
            return
        with tempfile.TemporaryDirectory(prefix="cspdash-upload-") as folder:
            try:
                with tempfile.NamedTemporaryFile(dir=folder, suffix=self.suffix, delete=False) as f:
                    f.write(self.data)
            except OSError as e:
                raise CspdashError(f"{self.display_name}: cannot spool the upload to a temporary file "
                                   f"({e.strerror}); nothing was stored. Fix: check the disk space") from None
            yield SourceFile(self.name, None, Path(f.name))

    def sha256(self) -> str:
        """The SHA-256 of the bytes, streamed for files on disk."""
        h = hashlib.sha256()
        if self.data is not None:
            h.update(self.data)
        elif self.path is not None:
            with self.path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()


def safe_name(name: str) -> str:
    """The last path component of ``name`` with control characters dropped, never empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip().lstrip(".")
    return base[:200] or "unnamed"


def check_extension(src: SourceFile, allowed: tuple[str, ...]) -> None:
    """Refuse macro-enabled and old Excel formats and anything not in ``allowed``."""
    suf = src.suffix
    if suf in REFUSED_EXTENSIONS:
        raise ValidationError([Problem(src.display_name, None, None, None,
                                       f"{suf} files are refused because {REFUSED_EXTENSIONS[suf]}",
                                       "open it in Excel and save as .xlsx (Excel Workbook) or CSV")])
    if suf not in allowed:
        raise ValidationError([Problem(src.display_name, None, None, None, f"{suf or 'no extension'} is not accepted",
                                       f"upload a {' or '.join(allowed)} file")])


def check_size(src: SourceFile, limit: int) -> None:
    """Refuse files over ``limit`` bytes and empty files."""
    size = src.size
    if size == 0:
        raise ValidationError([Problem(src.display_name, None, None, None, "the file is empty",
                                       "export the data again; a return needs a header row and data rows")])
    if size > limit:
        raise ValidationError([Problem(src.display_name, None, None, None,
                                       f"the file is {size / 1e6:,.1f} MB, over the {limit / 1e6:,.0f} MB limit",
                                       "split it into smaller files (for example one per month)")])



# ------------------------------------------------------------------------------------------------
# Text encodings
# ------------------------------------------------------------------------------------------------

def looks_utf16(head: bytes) -> bool:
    """Whether text starts like UTF-16 (a UTF-16 byte-order mark, or every other byte NUL): Excel's "Unicode Text"."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    even, odd = head[:200:2], head[1:200:2]
    return len(odd) >= 2 and ((odd.count(0) == len(odd) and 0 not in even) or (even.count(0) == len(even) and 0 not in odd))


def refuse_utf16(head: bytes, file: str) -> None:
    """Raise ValidationError naming the encoding when ``head`` is UTF-16 text (which would otherwise look binary)."""
    if looks_utf16(head):
        raise ValidationError([Problem(file, None, None, None, "the text is UTF-16 (Excel's 'Unicode Text'), not UTF-8",
                                       "save the file from Excel as 'CSV UTF-8 (Comma delimited)'")])


def decode_text(data: bytes, file: str) -> str:
    """Decode CSV bytes: UTF-8 with or without BOM, else Windows-1252 (Excel's CSV on council PCs)."""
    refuse_utf16(data[:200], file)
    if b"\x00" in data[:65536]:
        raise ValidationError([Problem(file, None, None, None, "this is not a text file (it contains binary bytes)",
                                       "export the sheet as CSV (comma separated) or upload the .xlsx itself")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    refuse_mixed_encodings(data, file)
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem(file, None, None, None,
                                       f"the text is neither UTF-8 nor Windows-1252 (byte {e.start})",
                                       "save the file as 'CSV UTF-8 (Comma delimited)' from Excel")]) from None


#: Bytes that are not UTF-8 but that Windows-1252 leaves undefined, as ``surrogateescape`` decoding shows them.
_NOT_CP1252 = re.compile("[\udc81\udc8d\udc8f\udc90\udc9d]")
_BEYOND_ASCII = re.compile("[\u0080-\ud7ff\ue000-\U0010ffff]")


def refuse_mixed_encodings(data: bytes, file: str) -> None:
    """Raise ValidationError when ``data`` is partly UTF-8 and partly Windows-1252 (each byte that is not UTF-8 is a
    Windows-1252 character, and the rest holds UTF-8 characters beyond ASCII): read as Windows-1252, each UTF-8
    character would silently become two or three wrong ones (``Café`` as ``CafÃ©``)."""
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError as e:
        bad = e.start
    text = data.decode("utf-8", "surrogateescape")
    utf8 = _BEYOND_ASCII.search(text)  # the stray bytes are surrogates, outside its ranges
    if utf8 is None or _NOT_CP1252.search(text):  # one encoding, or neither: the caller says which
        return
    row, column, cell = _cell_at(data, bad)
    utf8_row = data.count(b"\n", 0, data.find(utf8.group().encode("utf-8"))) + 1
    raise ValidationError([Problem(
        file, row, column, cell,
        f"the file mixes two text encodings: this cell is Windows-1252 but row {utf8_row} is UTF-8 "
        f"({utf8.group()!r}), so some characters would be read wrongly",
        "open the file in Excel, check the accented characters, and save it once as 'CSV UTF-8 (Comma delimited)'")])


def _cell_at(data: bytes, offset: int) -> tuple[int, str, str]:
    """(row, column, text) of the CSV cell holding byte ``offset``, for a message: the row counts lines and the
    column counts delimiters (a quoted line break or delimiter would shift them), named by the header's cell."""
    first = data[:4096].split(b"\n", 1)[0]
    delimiter = b";" if b"," not in first and b";" in first else b"\t" if b"," not in first and b"\t" in first else b","
    row = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    line = data[start:end if end >= 0 else len(data)].rstrip(b"\r")
    j = line.count(delimiter, 0, offset - start)
    header = data[:data.find(b"\n")].rstrip(b"\r").split(delimiter) if b"\n" in data else []
    name = header[j].decode("cp1252", "replace").strip().strip('"') if j < len(header) and row > 1 else ""
    cell = line.split(delimiter)[j].decode("cp1252", "replace").strip().strip('"')
    return row, name or column_letter(j), cell

