"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (``make postgresql`` installs it), started
with ``initdb`` and ``pg_ctl`` in a temporary folder on a free port of 127.0.0.1, and removed afterwards.

PostgreSQL refuses to run as root, so when the tests run as root (as CI does here) ``initdb``, ``pg_ctl`` and the
server run as the unprivileged user ``nobody`` (``runuser``), in a folder under the system's temporary folder owned by
that user; as a normal user they run as that user. Clients connect over TCP with a password (SCRAM), as the app will.
The server is tuned for throw-away data (no fsync). The ``postgres_server`` fixture in tests/conftest.py starts one
per test session (one per pytest-xdist worker) and FAILS, never skips, when the binaries are missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

#: Where Debian installs each major version's server binaries.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
#: The unprivileged user the server runs as when the tests run as root.
UNPRIVILEGED = "nobody"
SUPERUSER = "csp_test"
MISSING = ("PostgreSQL's server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin or on PATH: "
           "run `make postgresql` (it installs Debian's postgresql package), then run the tests again")


class PostgresMissing(RuntimeError):
    """The server binaries are not installed; the message says to run ``make postgresql``."""


def _major(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(p) for p in version.split(".") if p.isdigit()) or (0,)


def find_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: the newest Debian version, else the one on PATH."""
    found = [d for d in glob.glob(DEBIAN_BINARIES) if os.access(Path(d) / "initdb", os.X_OK)
             and os.access(Path(d) / "pg_ctl", os.X_OK)]
    if found:
        return Path(max(found, key=_major))
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl and Path(initdb).parent == Path(pg_ctl).parent:
        return Path(initdb).parent
    raise PostgresMissing(MISSING)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """One PostgreSQL server in ``folder`` (data in ``folder/data``, its log in ``folder/server.log``)."""

    bin: Path
    folder: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    user: str = SUPERUSER
    host: str = "127.0.0.1"
    durable: bool = False  # True: PostgreSQL's default durability (fsync at commit), as the benchmarks measure it
    _databases: int = 0

    @property
    def as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a PostgreSQL binary, as ``nobody`` when this process is root; its output is kept for the message."""
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", UNPRIVILEGED, "--", *cmd]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # no PGDATA/PGPORT of the caller
        env.update(LC_ALL="C", LANG="C")
        done = subprocess.run(cmd, cwd=self.folder, env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")
        return done

    def start(self) -> PostgresServer:
        """initdb a new cluster and start it on a free port (a few tries: another process may take the port)."""
        if self.as_root:
            nobody = pwd.getpwnam(UNPRIVILEGED)
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
        pwfile = self.folder / "pwfile"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self.as_root:
            os.chown(pwfile, pwd.getpwnam(UNPRIVILEGED).pw_uid, -1)
        pwfile.chmod(0o600)
        self._run("initdb", "-D", "data", "-U", self.user, f"--pwfile={pwfile}", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
        pwfile.unlink()
        for attempt in range(3):
            self.port = free_port()
            options = f"-p {self.port} -k {self.folder} -c listen_addresses={self.host} -c max_connections=100"
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            done = self._run("pg_ctl", "-D", "data", "-l", "server.log", "-w", "-t", "60", "-o", options, "start",
                             check=attempt == 2)
            if done.returncode == 0:
                return self
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        """``postgresql://USER:PASSWORD@127.0.0.1:PORT/DBNAME`` (the form ``--db`` takes)."""
        return f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/{dbname}"

    def new_database(self, prefix: str = "t") -> str:
        """A new, empty database; returns its URL (each test gets its own, so tests never see each other's rows)."""
        import psycopg  # only the tests that use PostgreSQL load it
        from psycopg import sql

        self._databases += 1
        name = f"{prefix}_{os.getpid()}_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@contextlib.contextmanager
def running_server(durable: bool = False):
    """A started ``PostgresServer`` (``durable``: with PostgreSQL's default fsync at commit), stopped and removed on
    exit; ``PostgresMissing`` without the binaries."""
    binaries = find_binaries()
    # Under the system's temporary folder, not pytest's (mode 0700, owned by root): ``nobody`` must reach it.
    folder = Path(tempfile.mkdtemp(prefix="cspdash-pg-", dir=tempfile.gettempdir()))
    server = PostgresServer(binaries, folder, durable=durable)
    try:
        yield server.start()
    finally:
        server.stop()
