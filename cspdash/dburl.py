"""What ``--db`` / ``$CSPDASH_DB`` names: a DuckDB file (a path, today's store) or a PostgreSQL database (a URL).

``parse_db`` reads the value once, with no side effect: a filesystem path is a ``DuckDBTarget``;
``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME`` (or ``postgres://``) is a ``PostgresTarget``; anything else with
a URL scheme (``sqlite:///x``, ``duckdb:/x``, ``http://...``) is refused, so that it is never taken as a file name
and a file made at ``postgresql:/...``. A password in the value never appears in a message, a ``repr`` or a log:
``mask`` replaces it with ``***``. ``cspdash.store.Store`` opens either target; ``duckdb_path`` is for the commands
that still need a file (``restore``): it returns the file's path, or refuses a PostgreSQL URL in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from cspdash.errors import CspdashError

#: The URL schemes that name PostgreSQL (libpq's two spellings).
POSTGRES_SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
URL_FORM = "postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME"
PG_UNAVAILABLE = "PostgreSQL store: not available in this version"  # for this command (backup, restore)

#: A URL scheme (RFC 3986: a letter, then letters, digits, ``+ - .``) followed by ``:/``. One letter alone is a
#: Windows drive (``C:/data/csp.duckdb``), a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):/")
#: A scheme and its slashes, then the rest (``mask``).
_HEAD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*:/*)(.*)$", re.DOTALL)
_FIX = ("give the DuckDB file's path (e.g. data/csp.duckdb) or a PostgreSQL URL "
        f"{URL_FORM} in --db or $CSPDASH_DB")


class DatabaseURLError(CspdashError):
    """``--db`` / ``$CSPDASH_DB`` is neither a path nor a PostgreSQL URL cspdash can use; the message names the value
    (its password masked) and the fix."""


@dataclass(frozen=True)
class DuckDBTarget:
    """An embedded DuckDB file (or ``:memory:``)."""

    path: str

    def masked(self) -> str:
        return self.path


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL database; ``password`` is left out of ``repr`` and of ``masked()``."""

    user: str
    host: str
    port: int
    dbname: str
    password: str | None = field(default=None, repr=False)

    def masked(self) -> str:
        """The URL with the password shown as ``***`` (for messages and logs)."""
        secret = ":***" if self.password is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{self.user}{secret}@{host}:{self.port}/{self.dbname}"

    def connect_args(self) -> dict[str, object]:
        """Keyword arguments for ``psycopg.connect`` / a pool's ``kwargs`` (the password passed as a value, never in
        a string that could be logged)."""
        args: dict[str, object] = {"user": self.user, "host": self.host, "port": self.port, "dbname": self.dbname}
        if self.password is not None:
            args["password"] = self.password
        return args


def mask(value: str) -> str:
    """``value`` with the password of a ``scheme://user:password@...`` URL replaced by ``***``: everything between
    the first ``:`` after the slashes and the last ``@`` (so a password with an unencoded ``@ / ?`` is hidden whole)."""
    head = _HEAD.match(value)
    if head is None:
        return value
    scheme, rest = head.groups()
    userinfo, at, tail = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return value
    return f"{scheme}{userinfo.split(':', 1)[0]}:***@{tail}"


def parse_db(value: str) -> DuckDBTarget | PostgresTarget:
    """The store ``value`` names; ``DatabaseURLError`` for an empty value, a URL of another scheme, or a PostgreSQL
    URL that lacks its user, host or database name or has a bad port, a query or a fragment."""
    if not value or not value.strip():
        raise DatabaseURLError(f"the database is empty: {_FIX}")
    before, colon, _ = value.partition(":")
    if colon and before.lower() in POSTGRES_SCHEMES:  # also ``postgresql:x``, refused below: never a file name
        return _postgres(value)
    scheme = _SCHEME.match(value)
    if scheme is None:
        return DuckDBTarget(value)
    raise DatabaseURLError(f"{mask(value)!r} is a {scheme.group(1).lower()}: URL, which cspdash cannot use as a "
                           f"database (nothing was created): {_FIX}")


def _postgres(value: str) -> PostgresTarget:
    shown = mask(value)

    def bad(what: str) -> DatabaseURLError:
        return DatabaseURLError(f"{shown!r} is not a PostgreSQL URL cspdash can use: {what}; write it as {URL_FORM} "
                                "(percent-encode @ : / in the user or password, e.g. %40 for @)")

    if not value.split(":", 1)[1].startswith("//"):
        raise bad("the scheme must be followed by //")
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        raise bad("options after ? or # are not supported (set them with libpq's PG* environment variables)")
    try:
        port = parts.port
    except ValueError:
        raise bad("the port must be a number from 1 to 65535") from None
    if port == 0:
        raise bad("the port must be a number from 1 to 65535")
    if not parts.username:
        raise bad("the user is missing")
    if not parts.hostname:
        raise bad("the host is missing")
    dbname = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
    if not dbname or "/" in dbname:
        raise bad("the database name is missing" if not dbname else "the database name must not contain /")
    password = unquote(parts.password) if parts.password is not None else None
    return PostgresTarget(user=unquote(parts.username), host=parts.hostname, port=port or DEFAULT_PORT,
                          dbname=dbname, password=password)


def duckdb_path(value: str, what: str = "this command") -> str:
    """The DuckDB file ``value`` names, for ``what`` (a command that still needs a file); a PostgreSQL URL is refused
    (fail closed, nothing created), and anything else that is a URL as ``parse_db`` refuses it."""
    target = parse_db(value)
    if isinstance(target, PostgresTarget):
        raise unavailable(target, what)
    return target.path


def unavailable(target: PostgresTarget, what: str) -> DatabaseURLError:
    """``what`` (e.g. "backup") refused on the PostgreSQL database ``target``, in words, its password masked."""
    return DatabaseURLError(
        f"{PG_UNAVAILABLE}: {target.masked()} names a PostgreSQL database, and {what} works only on a DuckDB file "
        "in this version of cspdash (nothing was created or changed). Give the DuckDB file's path in --db or "
        "$CSPDASH_DB (default data/csp.duckdb); docs/scaling.md says where PostgreSQL support stands")
