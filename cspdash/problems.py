"""Problems found in an uploaded file, and the refusal that lists them: each names file, row, column, value and fix,
and what one refusal keeps is bounded (``MAX_PROBLEMS`` in full, ``MAX_PROBLEMS_CHARS`` characters), the rest counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from cspdash.errors import CspdashError

MAX_PROBLEMS = 200  # problems listed in full; the rest are counted
MAX_PROBLEM_TEXT = 200  # characters of a problem's column and value kept: enough to find the cell
MAX_PROBLEM_WORDS = 1000  # characters of a problem's message and fix kept (ours are far shorter; a period's text is not)
MAX_PROBLEMS_CHARS = 100_000  # characters of all the problems listed for one refusal; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file; ``row`` counts the header as row 1, like a spreadsheet."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    fix: str

    def __post_init__(self) -> None:
        # Cut when made: one 2 MB text reused by 200 cells would otherwise be kept, printed and shown 200 times.
        for name, limit in (("column", MAX_PROBLEM_TEXT), ("value", MAX_PROBLEM_TEXT), ("message", MAX_PROBLEM_WORDS),
                            ("fix", MAX_PROBLEM_WORDS)):
            text = getattr(self, name)
            if text is not None and len(text) > limit:
                object.__setattr__(self, name, text[:limit - 1] + "…")

    @property
    def size(self) -> int:
        """Characters held, to bound what a refusal keeps."""
        return sum(len(t) for t in (self.file, self.column, self.value, self.message, self.fix) if t)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        if self.value is not None:
            shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            where += f", value {shown!r}"
        return f"{where}: {self.message}. Fix: {self.fix}"

    def as_dict(self) -> dict:
        """A JSON-ready mapping."""
        return {"file": self.file, "row": self.row, "column": self.column, "value": self.value,
                "message": self.message, "fix": self.fix}


class ValidationError(CspdashError):
    """An upload was refused; ``problems`` lists every problem found (nothing was stored)."""

    def __init__(self, problems: list[Problem], more: int = 0) -> None:
        kept = _bounded(problems)
        self.problems = kept
        self.more = more + len(problems) - len(kept)
        more = self.more
        total = len(self.problems) + more
        lines = "\n".join(f"  - {p}" for p in self.problems)
        tail = f"\n  ... and {more} more problem(s) of the same kinds" if more else ""
        super().__init__(f"{total} problem(s); nothing was stored:\n{lines}{tail}")


def _bounded(problems: list[Problem]) -> list[Problem]:
    """The first problems, at most ``MAX_PROBLEMS`` of them and ``MAX_PROBLEMS_CHARS`` characters in all."""
    kept: list[Problem] = []
    chars = 0
    for p in problems:
        chars += p.size
        if len(kept) >= MAX_PROBLEMS or chars > MAX_PROBLEMS_CHARS:
            break
        kept.append(p)
    return kept


class Collector:
    """Collects problems, keeping the first ``MAX_PROBLEMS`` (and ``MAX_PROBLEMS_CHARS`` characters) in full and
    counting the rest."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.problems: list[Problem] = []
        self.more = 0
        self.limit = limit
        self.chars = 0

    def add(self, file: str, row: int | None, column: str | None, value: object, message: str, fix: str) -> None:
        """Record a problem."""
        if len(self.problems) >= self.limit or self.chars > MAX_PROBLEMS_CHARS:
            self.more += 1
            return
        shown = None if value is None else str(value)
        p = Problem(file, row, column, shown, message, fix)
        self.chars += p.size
        if self.chars > MAX_PROBLEMS_CHARS:
            self.more += 1
            return
        self.problems.append(p)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise ValidationError if anything was collected."""
        if self.problems:
            raise ValidationError(self.problems, self.more)

