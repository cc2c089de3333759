"""The data version on PostgreSQL (issue 16): every app replica keys its caches by ``Store.data_version()``, the
largest id of the data events, so that id must rise at every commit of another process, in commit order.

Two transactions of two connections each add a data event: the second waits until the first has committed (the lock
``pg.Cursor.in_commit_order`` takes), so it takes the larger id and no commit can land under a maximum a replica has already read.
"""

from __future__ import annotations

import threading

from tests_config import ROOT

from cspdash import db
from cspdash.config import load_catalogue
from cspdash.dburl import parse_db
from cspdash.pg import PostgresDatabase

CAT = load_catalogue(ROOT / "indicators.yaml")


def waiting_for_the_lock(database: PostgresDatabase) -> bool:
    """Whether some connection waits for an advisory lock (the second transaction, at its data event)."""
    return database.cursor().execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0] > 0


def test_data_events_commit_in_the_order_of_their_ids(postgres_server):
    database = PostgresDatabase(parse_db(postgres_server.new_database()))
    database.open(CAT)
    first, second = database.writer(), database.writer()
    ids: dict[str, int] = {}

    def add(cur, name: str) -> None:
        with database.transaction(cur):
            db.event(cur, "chair@example.org", "upload", None, name)
            ids[name] = cur.execute("SELECT currval('event_seq')").fetchone()[0]

    try:
        first.execute("BEGIN")
        db.event(first, "chair@example.org", "upload", None, "first")
        ids["first"] = first.execute("SELECT currval('event_seq')").fetchone()[0]
        other = threading.Thread(target=add, args=(second, "second"))
        other.start()
        for _ in range(600):  # until the second transaction waits at its event (at most a minute on a busy machine)
            if waiting_for_the_lock(database):
                break
            other.join(0.1)
        assert waiting_for_the_lock(database) and "second" not in ids
        assert database.data_version() == 0  # neither has committed
        first.execute("COMMIT")
        other.join(60)
        assert not other.is_alive()
        assert ids["second"] > ids["first"] and database.data_version() == ids["second"]
        # A sign-in's event, not a data event, neither waits nor moves the version.
        database.write(lambda cur: db.event(cur, "x@example.org", "signin_failed", None, ""))
        assert database.data_version() == ids["second"]
    finally:
        first.close()
        second.close()
        database.close()
