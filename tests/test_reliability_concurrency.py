"""Concurrency: two sessions upload different subgroups' returns at once while a third reads, on one shared Store.

DuckDB lets one process hold the file, so the app's sessions are threads sharing one ``Store`` (as Streamlit's
sessions share ``st.cache_resource``). Each round, the ASB chair and the hate-crime chair each upload a return
that restates every figure of theirs with a value encoding the round; a reader thread meanwhile calls
``current_observations``, ``statuses``, ``history`` and ``series`` in a loop. A reader that saw half an upload
would see figures of two rounds side by side, or an upload in the history whose figures are not all there.

The default suite runs ROUNDS (20) rounds, and its check that a torn upload would be seen runs as many; ``make
test-slow`` and ``make reliability`` run 300, and ``make reliability`` records the figures.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from reliability_helpers import record
from tests_config import CONFIG

from cspdash.config import load_catalogue
from cspdash.ingest import SourceFile
from cspdash.periods import parse_period
from cspdash.store import Store

QUARTERS = ("2024/25 Q4", "2025/26 Q1", "2025/26 Q2", "2025/26 Q3")
RATED = parse_period("2025/26 Q3")
ASB, HATE = "chair-asb@towerhamlets.gov.uk", "chair-hate@towerhamlets.gov.uk"
#: The indicators each writer restates; every figure of a round carries the round in its value.
WRITERS = {ASB: ("A1", "A2"), HATE: ("C1", "C2")}
FIGURES_PER_UPLOAD = 2 * len(QUARTERS)
#: Rounds in the default suite (a stress run of 300 is marked slow).
ROUNDS = 20


def asb_return(r: int) -> bytes:
    """The ASB chair's return of round ``r``: A1 = 100000 + r, A2 = 200000 + r, every quarter."""
    lines = ["indicator,period,value,commentary"]
    lines += [f"A1,{q},{100000 + r},round {r}" for q in QUARTERS]
    lines += [f"A2,{q},{200000 + r}," for q in QUARTERS]
    return ("\n".join(lines) + "\n").encode()


def hate_return(r: int) -> bytes:
    """The hate-crime chair's return of round ``r``: C1 as r out of 100000 (a percentage), C2 = 300000 + r."""
    lines = ["indicator,period,numerator,denominator,value"]
    lines += [f"C1,{q},{r},100000," for q in QUARTERS]
    lines += [f"C2,{q},,,{300000 + r}" for q in QUARTERS]
    return ("\n".join(lines) + "\n").encode()


def round_of(indicator: str, value: float, numerator: float | None) -> int:
    """The round a figure came from."""
    if indicator == "C1":
        return int(numerator)
    return int(value) - {"A1": 100000, "A2": 200000, "C2": 300000}[indicator]


@dataclass
class Run:
    """What a concurrent run saw."""

    rounds: int = 0
    uploads: int = 0
    reads: int = 0
    lost: int = 0
    duplicated: int = 0
    short: list[int] = field(default_factory=list)  # uploads without all their figures at the end
    final_rounds: dict[str, set[int]] = field(default_factory=dict)
    torn: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _reader(store: Store, stop: threading.Event, run: Run) -> None:
    """Read as the pages do until told to stop; note every read that shows half an upload."""
    def torn(msg: str) -> None:
        run.torn.append(msg)

    while not stop.is_set():
        try:
            obs = store.current_observations(["A1", "A2", "C1", "C2"])
            for who, inds in WRITERS.items():
                figs = [(i, o) for i in inds for o in obs.get(i, [])]
                rounds = {round_of(i, o.value, o.numerator) for i, o in figs}
                if figs and (len(rounds) != 1 or len(figs) != FIGURES_PER_UPLOAD):
                    torn(f"current_observations: {who} figures from rounds {sorted(rounds)}, {len(figs)} figures")
            statuses = {s.indicator: s for s in store.statuses(RATED)}
            a1, a2 = statuses["A1"], statuses["A2"]
            if (a1.value is None) != (a2.value is None) or (
                    a1.value is not None and round_of("A1", a1.value, None) != round_of("A2", a2.value, None)):
                torn(f"statuses: A1 {a1.value} and A2 {a2.value} come from different uploads")
            history = store.history()
            counts = Counter(r["upload_id"] for i in ("A1", "A2", "C1", "C2") for r in store.series(i))
            for h in history:
                if h["rows"] != FIGURES_PER_UPLOAD or counts[h["upload_id"]] != FIGURES_PER_UPLOAD:
                    torn(f"history: upload {h['upload_id']} lists {h['rows']} rows, "
                         f"{counts[h['upload_id']]} figures are stored")
            run.reads += 1
        except Exception as e:  # any error in a reader is a failure of the store
            run.errors.append(f"reader: {type(e).__name__}: {e}")
            return


def run_rounds(db: Path, rounds: int) -> Run:
    """Two uploaders and a reader on one Store for ``rounds`` rounds; check every upload landed exactly once."""
    store = Store(db, load_catalogue(CONFIG))
    run = Run()
    try:
        store.add_user("analyst@towerhamlets.gov.uk", "admin", by="test")
        store.add_user(ASB, "chair", ["asb"], by="test")
        store.add_user(HATE, "chair", ["hate"], by="test")
        start = threading.Barrier(2)
        stop = threading.Event()
        made: dict[str, list[int]] = {ASB: [], HATE: []}

        def writer(who: str, make) -> None:
            for r in range(1, rounds + 1):
                try:
                    start.wait(timeout=60)
                    res = store.import_files([SourceFile(f"{who.split('@')[0]}-round-{r}.csv", data=make(r))], who)
                    made[who] += [u["upload_id"] for u in res.uploads]
                except Exception as e:
                    run.errors.append(f"writer {who} round {r}: {type(e).__name__}: {e}")
                    start.abort()
                    return

        threads = [threading.Thread(target=writer, args=(ASB, asb_return)),
                   threading.Thread(target=writer, args=(HATE, hate_return)),
                   threading.Thread(target=_reader, args=(store, stop, run))]
        for t in threads:
            t.start()
        for t in threads[:2]:
            t.join()
        stop.set()
        threads[2].join()
        run.rounds = min(len(made[ASB]), len(made[HATE]))
        run.uploads = len(made[ASB]) + len(made[HATE])

        history = store.history()
        names = Counter(h["file_name"] for h in history)
        run.duplicated = sum(n - 1 for n in names.values() if n > 1)
        expected = {f"{w.split('@')[0]}-round-{r}.csv" for w in WRITERS for r in range(1, rounds + 1)}
        run.lost = len(expected - set(names))
        per_upload = dict(store.cursor().execute(
            "SELECT upload_id, count(*) FROM observations GROUP BY upload_id").fetchall())
        run.short = [h["upload_id"] for h in history if per_upload.get(h["upload_id"]) != FIGURES_PER_UPLOAD]
        final = store.current_observations(["A1", "C2"])
        run.final_rounds = {i: {round_of(i, o.value, o.numerator) for o in final[i]} for i in ("A1", "C2")}
    finally:
        store.close()
    return run


def _assert_consistent(run: Run, rounds: int) -> None:
    assert not run.errors, run.errors
    assert not run.torn, run.torn[:10]
    assert run.rounds == rounds and run.uploads == 2 * rounds
    assert run.lost == 0 and run.duplicated == 0 and not run.short
    assert run.final_rounds == {"A1": {rounds}, "C2": {rounds}}
    assert run.reads > 0


def test_two_uploaders_and_a_reader_on_one_store(tmp_path):
    run = run_rounds(tmp_path / "csp.duckdb", rounds=ROUNDS)
    _assert_consistent(run, ROUNDS)


def test_the_reader_would_see_a_torn_upload(tmp_path, monkeypatch):
    """The check itself works, in as many rounds as the default suite runs: commit an upload before its figures,
    and the reader notices."""
    import cspdash.uploads as store_module

    real = store_module._bulk_insert

    def split_commit(cur, table, frame):
        if table == "observations":  # the bug this guards against: the upload row visible before its figures
            cur.execute("COMMIT")
            time.sleep(0.005)
            cur.execute("BEGIN TRANSACTION")
        real(cur, table, frame)

    monkeypatch.setattr(store_module, "_bulk_insert", split_commit)
    run = run_rounds(tmp_path / "csp.duckdb", rounds=ROUNDS)
    assert run.torn, "a reader running during a split commit should have seen an upload without its figures"


@pytest.mark.slow
def test_two_uploaders_and_a_reader_many_rounds(tmp_path):
    rounds = 300
    t0 = time.monotonic()
    run = run_rounds(tmp_path / "csp.duckdb", rounds=rounds)
    record("concurrency", rounds=run.rounds, uploads=run.uploads, reads=run.reads, torn_reads=len(run.torn),
           lost=run.lost, duplicated=run.duplicated, errors=len(run.errors), seconds=round(time.monotonic() - t0, 1))
    _assert_consistent(run, rounds)
