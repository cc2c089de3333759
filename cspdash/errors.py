"""The exceptions cspdash raises; only the boundary (CLI, pages) turns them into words for a user."""

from __future__ import annotations


class CspdashError(Exception):
    """Base of every error cspdash raises on purpose; its message is meant for the user."""


class PeriodError(CspdashError, ValueError):
    """A period label or date that cannot be read, with the accepted notations in the message."""


class ConfigError(CspdashError):
    """The indicator catalogue is invalid; ``problems`` lists every problem found, not only the first."""

    def __init__(self, problems: list[str], source: str = "indicators.yaml") -> None:
        self.problems = list(problems)
        self.source = source
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s):\n{lines}")


class StorageError(CspdashError):
    """The disk or the database file failed. ``stored`` says whether the change was committed before it did (a
    commit kept in the write-ahead log whose checkpoint failed) or not (nothing was changed)."""

    def __init__(self, message: str, stored: bool = False) -> None:
        self.stored = stored
        super().__init__(message)


class DatabaseMissing(CspdashError):
    """The database file named does not exist; the app and most commands never create one (they fail closed)."""
