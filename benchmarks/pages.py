"""Every page of the app against a bare Streamlit page, opened by URL in a real browser (Debian's Chromium).

    .venv/bin/python -m benchmarks.pages            # print the figures
    .venv/bin/python -m benchmarks.pages --write    # and write them into docs/performance.md ("Pages in a browser")

Two Streamlit servers run side by side on 127.0.0.1 (``tests/e2e_helpers.streamlit_server``): the app
(``dashboard.py``) on a demo database in open mode, as ``make run`` starts it, and a generated bare page (a title, a
20-row table and 4 Altair charts, ``BARE_PAGE``). Every page of the app (the links of its sidebar) is opened once
first, so that the server's caches are warm; then, in each of ``--repeat`` rounds, the bare page and each page are
opened by URL in a new tab one right after the other, the order of the pair alternating from round to round (so
neither side always follows the other); the best time of each counts, and the slowest and each round's ratio are
reported as the spread, with the machine's load average.

**Ready** (``READY_JS``): the time from asking for the URL until, all at once, Streamlit's script run has finished
(the app root's ``data-test-script-state`` is ``notRunning`` and no running-status widget is shown), the main area
holds an ``h1`` or, for a page without one, at least one element, no placeholder is left (``stSkeleton``: Streamlit
shows one while it loads the code of a chart or table, after the script run has finished), every chart has drawn
(each visible ``stVegaLiteChart`` holds its canvas or SVG) and every visible interactive table has its canvas
(visible: not in a closed expander, not hidden, of some height).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import doc as doc_block

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- pages:start -->", "<!-- pages:end -->"
BUDGET = 1.5  # every page within 1.5x the bare page (issue 15, item 7)

BARE_PAGE = '''\
"""A bare Streamlit page: a title, a 20-row table and 4 Altair charts (the yardstick of benchmarks/pages.py)."""
import altair as alt
import pandas as pd
import streamlit as st

st.title("Bare page", anchor=False)
df = pd.DataFrame({"quarter": [f"Q{i}" for i in range(20)], "n": range(20), "value": [i * 1.5 for i in range(20)]})
st.table(df)
for i in range(4):
    st.altair_chart(alt.Chart(df).mark_line(point=True).encode(x="n:Q", y="value:Q").properties(
        title=f"Chart {i + 1}", height=220), width="stretch", theme=None)
'''

READY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main) return false;
  const shown = (el) => el.checkVisibility() && !el.closest('details:not([open])')
    && el.getBoundingClientRect().height > 0;
  if (!main.querySelector('h1') && !main.querySelector('[data-testid="stElementContainer"]')) return false;
  for (const k of main.querySelectorAll('[data-testid="stSkeleton"]')) if (shown(k)) return false;
  for (const c of main.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    if (shown(c) && !c.querySelector('canvas, svg')) return false;
  }
  for (const d of main.querySelectorAll('[data-testid="stDataFrame"]')) {
    if (shown(d) && !d.querySelector('canvas')) return false;
  }
  return true;
}"""


def ready_seconds(context, url: str, timeout: float = 60) -> float:
    """Seconds from asking for ``url`` in a new tab until the page is ready (``READY_JS``)."""
    tab = context.new_page()
    try:
        t = time.perf_counter()
        tab.goto(url, wait_until="commit")
        tab.wait_for_function(READY_JS, timeout=timeout * 1000, polling=20)
        return time.perf_counter() - t
    finally:
        tab.close()


def app_pages(context, url: str) -> list[tuple[str, str]]:
    """(title, URL) of every page of the app's sidebar navigation, the Overview (its default page) first."""
    tab = context.new_page()
    try:
        for _ in range(2):  # a fresh server's first session may list the pages/ folder, not st.navigation's pages
            tab.goto(url)
            tab.wait_for_function(READY_JS, timeout=60_000, polling=50)
        tab.locator('[data-testid="stSidebarNavLink"]').first.wait_for(timeout=60_000)
        links = tab.eval_on_selector_all('[data-testid="stSidebarNavLink"]',
                                         "els => els.map(e => [e.innerText.trim(), e.href])")
    finally:
        tab.close()
    if not links:
        raise RuntimeError("the app showed no page links: is the database in open mode?")
    return [(title.splitlines()[-1].strip(), href) for title, href in links]  # the text after the icon's name


def measure(repeat: int = 5, only: str = "") -> list[dict]:
    """Best and slowest ready time of every app page (or those whose path contains ``only``) and of the bare page
    measured beside it (right before or right after, alternating), over ``repeat`` rounds; and each round's ratio."""
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT / "tests"))  # the browser tests' server and Chromium settings, shared
    from e2e_helpers import CHROMIUM, CHROMIUM_ARGS, build_demo_db, streamlit_server

    with tempfile.TemporaryDirectory(prefix="cspdash-pages-") as tmp:
        db = build_demo_db(Path(tmp) / "csp.duckdb")
        bare = Path(tmp) / "bare_page.py"  # the bare page ignores the database the server is given
        bare.write_text(BARE_PAGE, encoding="utf-8")
        with streamlit_server(db) as app_url, streamlit_server(db, script=bare) as bare_url, \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            try:
                pages = [(t, h) for t, h in app_pages(context, app_url) if only in h.removeprefix(app_url)]
                for _, href in pages:  # warm: the server's caches, the browser's cache of Streamlit's own files
                    ready_seconds(context, href)
                ready_seconds(context, bare_url)
                times: dict[str, list[float]] = {href: [] for _, href in pages}
                bare_times: dict[str, list[float]] = {href: [] for _, href in pages}
                for n in range(max(1, repeat)):
                    for _, href in pages:  # the pair's order alternates: neither side always follows the other
                        pair = [(bare_times[href], bare_url), (times[href], href)]
                        for seconds, url in pair if n % 2 == 0 else reversed(pair):
                            seconds.append(ready_seconds(context, url))
            finally:
                browser.close()
    rows = []
    for title, href in pages:
        s, b = min(times[href]), min(bare_times[href])
        rows.append({"page": title, "path": "/" + href.split("/", 3)[3], "seconds": s, "bare_seconds": b,
                     "ratio": s / b, "worst": max(times[href]), "bare_worst": max(bare_times[href]),
                     "ratios": sorted(p / q for p, q in zip(times[href], bare_times[href], strict=True))})
    return rows


def report(rows: list[dict], repeat: int, load: str = "") -> str:
    """The Markdown block between the pages markers of docs/performance.md."""
    lines = [START, f"Opened by URL in Chromium with the server's caches warm; {repeat} rounds, in each the bare page "
             "(a title, a 20-row table and 4 Altair charts) and the page one after the other, in alternating order; "
             f"the best of each counts (the slowest in brackets); budget: ready within {BUDGET}× the bare page."
             + (f" {load}" if load else ""), "",
             "| page | path | ready, s | bare page, s | ratio | ratio of each round | |",
             "|---|---|---:|---:|---:|---|---|"]
    for r in rows:
        ok = "✅" if r["ratio"] <= BUDGET else "❌"
        rounds = ", ".join(f"{x:.2f}" for x in r.get("ratios", []))
        lines.append(f"| {r['page']} | `{r['path']}` | {r['seconds']:.2f} ({r.get('worst', r['seconds']):.2f}) | "
                     f"{r['bare_seconds']:.2f} ({r.get('bare_worst', r['bare_seconds']):.2f}) | {r['ratio']:.2f}× | "
                     f"{rounds} | {ok} |")
    return "\n".join([*lines, "", END])


def load_text() -> str:
    """How busy the machine was: the load averages (1, 5, 15 minutes) and the number of cores."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return ""
    return f"Load average at the end: {one:.1f}, {five:.1f}, {fifteen:.1f} on {os.cpu_count()} cores."


def write_doc(block: str, doc: Path = DOC) -> None:
    """Replace the pages block of ``doc`` (or add it, under its own heading, at the end)."""
    doc_block.write_block(doc, START, END, block, heading="Pages in a browser")


def run(out: Path | None, repeat: int = 5, only: str = "") -> list[dict]:
    """Measure, print the block and write it into ``out`` when given; return the rows."""
    rows = measure(repeat, only)
    block = report(rows, repeat, load_text())
    print(block)
    if out:
        write_doc(block, out)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pages", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5, help="rounds; the best of each page counts (default 5)")
    p.add_argument("--write", action="store_true", help="write the figures into docs/performance.md")
    p.add_argument("--only", default="", help="measure only the pages whose URL path contains this (never written)")
    a = p.parse_args(argv)
    run(DOC if a.write and not a.only else None, max(1, a.repeat), a.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
