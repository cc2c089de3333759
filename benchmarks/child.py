"""One measurement, run in its own process so that its peak memory is its own: ``python -m benchmarks.child TASK
ARGS``. Prints one JSON object on the last line of standard output; times are wall-clock seconds of the work only
(interpreter start-up and imports are left out, and reported separately by the parent as the process's time)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USER = "bench@example.org"


#: cspdash's own reading options (cspdash/datasets.py): every cell as text, the dialect settled on the whole file.
CSPDASH_OPTIONS = ("all_varchar = true, header = true, delim = ',', quote = '\"', strict_mode = false, "
                   "null_padding = true, sample_size = -1")


def floor(files: list[str], db: str, options: str = "") -> dict:
    """DuckDB's own ``read_csv`` of the files into one table of a database file: the least an import can cost.
    With ``options``, the same read with cspdash's reading options (no validation, measures or provenance)."""
    import duckdb

    t = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    sql = f"CREATE TABLE street AS SELECT * FROM read_csv(?{', ' + options if options else ''})"  # noqa: S608
    con.execute(sql, [files])  # options: this module's constant
    rows = con.execute("SELECT count(*) FROM street").fetchone()[0]
    con.close()  # closing checkpoints: the table is in the file
    return {"seconds": time.perf_counter() - t, "rows": rows}


def import_street(files: list[str], db: str, config: str) -> dict:
    """The project's import path for record-level files: ``Store.import_files(..., dataset="street_crime")``."""
    from cspdash.config import load_catalogue
    from cspdash.ingest import SourceFile
    from cspdash.store import Store

    cat = load_catalogue(config)
    t = time.perf_counter()
    store = Store(db, cat)
    result = store.import_files([SourceFile.from_path(p) for p in files], USER, dataset="street_crime")
    store.close()
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rows": sum(u["rows"] for u in result.uploads),
            "figures": len(result.changes) + result.other_area_figures}


def load_returns(folder: str, db: str, config: str) -> dict:
    """Import every return in ``folder`` in one call (the data the status and page measures read)."""
    from cspdash.config import load_catalogue
    from cspdash.store import Store, source_files

    store = Store(db, load_catalogue(config))
    t = time.perf_counter()
    files = sorted(Path(folder).glob("*.csv"))
    result = store.import_files(source_files(files), USER)
    seconds = time.perf_counter() - t
    figures = store.cursor().execute("SELECT count(*) FROM observations").fetchall()[0][0]
    store.close()
    return {"seconds": seconds, "files": len(files), "figures": figures, "uploads": len(result.uploads)}


def status(db: str, config: str, repeat: int) -> dict:
    """Every indicator's status for every quarter with figures (home area), and every indicator's area comparison
    for the latest quarter, as the priority pages ask for it; best of ``repeat`` runs, each on a new Store."""
    from cspdash.config import load_catalogue
    from cspdash.store import Store

    cat = load_catalogue(config)
    runs: dict[str, list[float]] = {"status": [], "areas": [], "open": []}
    n_status = n_areas = quarters = 0
    for _ in range(repeat):
        t = time.perf_counter()
        store = Store(db, cat)
        runs["open"].append(time.perf_counter() - t)
        qs = store.complete_quarters()
        t = time.perf_counter()
        statuses = [s for by_q in store.statuses_by_quarter(qs).values() for s in by_q]
        runs["status"].append(time.perf_counter() - t)
        t = time.perf_counter()
        areas = [store.area_values(i.id, qs[-1]) for i in cat.indicators]
        runs["areas"].append(time.perf_counter() - t)
        n_status, n_areas, quarters = len(statuses), sum(len(a) for a in areas), len(qs)
        store.close()
    return {"status_seconds": min(runs["status"]), "areas_seconds": min(runs["areas"]),
            "open_seconds": min(runs["open"]), "statuses": n_status, "area_figures": n_areas, "quarters": quarters}


def pages(db: str, config: str, repeat: int) -> dict:
    """Server-side renders with Streamlit's AppTest: the Overview and Priority A, cold (every cache emptied and the
    database reopened: at least what an upload costs the next render) and warm (cached), median of ``repeat``;
    plus the very first render of a new process."""
    os.environ["CSPDASH_DB"], os.environ["CSPDASH_CONFIG"] = db, config
    os.chdir(ROOT)  # dashboard.py names its pages relative to the project folder
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    class _NavigationPages(PagesManager):
        """As in tests/test_pages.py: AppTest falls back to the old multipage mode because the page files sit in
        a folder named pages/; the server leaves that mode once dashboard.py calls st.navigation."""

        def __init__(self, *args, **kwargs) -> None:
            PagesManager.uses_pages_directory = False
            super().__init__(*args, **kwargs)

    import streamlit.testing.v1.app_test as app_test

    app_test.PagesManager = _NavigationPages
    app = str(ROOT / "dashboard.py")

    def run(at: AppTest, page: str | None = None) -> float:
        t = time.perf_counter()
        (at.switch_page(page) if page else at).run()
        seconds = time.perf_counter() - t
        if at.exception:
            raise SystemExit(f"the page raised: {[e.message for e in at.exception]}")
        return seconds

    at = AppTest.from_file(app, default_timeout=600)
    out: dict[str, float] = {"first_render": run(at)}
    for name, page in (("overview", None), ("priority", "pages/priority_a.py")):
        cold, warm = [], []
        for _ in range(repeat):
            at = AppTest.from_file(app, default_timeout=600)
            if page:
                run(at)  # the session starts on the Overview, as a person's does
            # What a new upload does: every cached frame is stale and the store recomputes its figures. Clearing
            # the cached store too (it is reopened) makes "cold" an upper bound on that.
            st.cache_data.clear()
            st.cache_resource.clear()
            cold.append(run(at, page))
            warm.append(run(at))
        out[f"{name}_cold"] = statistics.median(cold)
        out[f"{name}_warm"] = statistics.median(warm)
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.child")
    p.add_argument("task", choices=["floor", "floor-options", "import", "returns", "status", "pages"])
    p.add_argument("paths", nargs="*")
    p.add_argument("--db", required=True)
    p.add_argument("--config")
    p.add_argument("--repeat", type=int, default=3)
    a = p.parse_args(argv)
    if a.task == "floor":
        res = floor(a.paths, a.db)
    elif a.task == "floor-options":
        res = floor(a.paths, a.db, CSPDASH_OPTIONS)
    elif a.task == "import":
        res = import_street(a.paths, a.db, a.config)
    elif a.task == "returns":
        res = load_returns(a.paths[0], a.db, a.config)
    elif a.task == "status":
        res = status(a.db, a.config, a.repeat)
    else:
        res = pages(a.db, a.config, a.repeat)
    sys.stdout.flush()
    print(json.dumps(res))


if __name__ == "__main__":
    main()
