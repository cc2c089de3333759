"""Accessibility: axe-core runs over every page of the app in Debian's headless Chromium.

The pages are found from the sidebar's navigation links (so a new page is checked without touching this file);
each page's full axe results are written to test-artifacts/axe/<page>.json. A page fails on any serious or critical
violation, and on any heading-order violation (headings must not jump a level, h1 to h3), except the findings
inside Streamlit's own sidebar navigation listed in ALLOWED with their reasons. axe-core comes from the pinned npm
package in package.json / package-lock.json (``make node_modules`` runs ``npm ci``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from e2e_helpers import (
    ARTIFACTS,
    ROOT,
    chromium,
    demo_copy,
    drawn,
    playwright_or_skip,
    settle,
    streamlit_server,
)

pytestmark = pytest.mark.e2e

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PINNED = json.loads((ROOT / "package.json").read_text())["devDependencies"]["axe-core"]
OUT = ARTIFACTS / "axe"
WAIT = 30_000  # ms; a first page render includes starting the script and the DuckDB store
MIN_PAGES = 11  # dashboard.py's navigation: overview, four priorities, indicator, meeting, packs, three returns pages
FAILING_IMPACTS = ("serious", "critical")
ALWAYS_FAILING_RULES = ("heading-order",)  # "moderate" in axe, but a jump from h1 to h3 misleads a screen reader

#: Findings we accept, each inside Streamlit's own sidebar navigation, which the app cannot change:
#: (axe rule id, CSS selector of the container the element must lie within, why it is accepted).
SIDEBAR_NAV = '[data-testid="stSidebarNav"]'
ALLOWED: tuple[tuple[str, str, str], ...] = (
    ("list", SIDEBAR_NAV, "Streamlit puts each section's <div> straight inside the navigation's <ul>"),
    ("listitem", SIDEBAR_NAV, "the page links' <li> sit in those <div>s, not directly in a <ul>"),
)

#: Where a finding sits: every ALLOWED container the element lies within (axe's target is a CSS selector).
_WITHIN_JS = """([violations, containers]) => violations.map(v => v.nodes.map(n => {
    const el = n.target.length === 1 ? document.querySelector(n.target[0]) : null;
    return containers.filter(c => el !== null && el.closest(c) !== null);
}))"""


def allowed(rule: str, within: list[str]) -> str | None:
    """The reason a finding of ``rule`` inside the containers ``within`` is accepted, or None when it is not."""
    return next((why for r, container, why in ALLOWED if r == rule and container in within), None)


def failures(results: dict, within: list[list[list[str]]]) -> list[str]:
    """One line per violating element that fails the page: serious or critical, or always failing, and not allowed."""
    lines = []
    for v, nodes_within in zip(results["violations"], within, strict=True):
        for node, where in zip(v["nodes"], nodes_within, strict=True):
            impact = node.get("impact") or v.get("impact")
            if impact not in FAILING_IMPACTS and v["id"] not in ALWAYS_FAILING_RULES:
                continue
            if allowed(v["id"], where) is None:
                lines.append(f"{v['id']} ({impact}) at {' '.join(node['target'])}: {node['failureSummary']!r} "
                             f"[{node['html'][:160]}]")
    return lines


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    playwright_or_skip()
    db = demo_copy(tmp_path_factory, "e2e-axe")
    with streamlit_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make node_modules` (npm ci installs the pinned axe-core)")
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def page_paths(server, browser) -> list[str]:
    """The URL path of every page in the sidebar's navigation (the first is the default page, "/")."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        settle(page, WAIT)
        # A fresh server's first session keeps Streamlit's listing of the pages/ folder in its sidebar (ui._within_app
        # ends that mode only during the run); from the next load on the sidebar shows dashboard.py's st.navigation,
        # whose pages sit in sections (the folder's listing has none) and whose links appear after the run.
        page.reload()
        settle(page, WAIT)
        page.locator('[data-testid="stNavSectionHeader"]').first.wait_for()
        page.locator('[data-testid="stSidebarNav"] a').first.wait_for()
        hrefs = page.locator('[data-testid="stSidebarNav"] a').evaluate_all("links => links.map(a => a.href)")
    finally:
        page.close()
    paths = list(dict.fromkeys(h.removeprefix(server) or "/" for h in hrefs))
    assert len(paths) >= MIN_PAGES, f"the sidebar navigation lists {len(paths)} pages, fewer than {MIN_PAGES}: {paths}"
    return paths


_RUN_DONE_JS = """() => document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')
    === 'notRunning' && !document.querySelector('[data-testid="stStatusWidget"]')"""


def axe_page(browser, url: str, out: Path) -> list[str]:
    """Open ``url``, run axe-core over the whole document, write its results to ``out``; the failing findings."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT)
    try:
        page.goto(url)
        settle(page, WAIT)
        for summary in page.locator('[data-testid="stExpander"] details > summary').all():
            if not summary.evaluate("s => s.parentElement.open"):
                summary.click()  # a closed expander's table view or comparison is hidden, and axe skips hidden content
                # An on-demand expander (ui.on_demand) reruns the page to draw its charts and tables: wait for it.
                page.wait_for_timeout(100)
                page.wait_for_function(_RUN_DONE_JS, timeout=WAIT)
        drawn(page, WAIT)  # charts and tables draw after the script finishes
        # Streamlit scrolls inside its own container and axe skips what is out of view: show the whole page.
        height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(max(height, 1000), 16_000)})
        drawn(page, WAIT, pause=500)  # the charts newly in view draw, and those that follow the width draw again
        page.add_script_tag(path=str(AXE_JS))
        results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        within = page.evaluate(_WITHIN_JS, [results["violations"], [c for _, c, _ in ALLOWED]])
    finally:
        page.close()
    out.write_text(json.dumps(results, indent=1))
    assert results["testEngine"]["version"] == PINNED, f"axe-core {results['testEngine']['version']} ran, not {PINNED}"
    return failures(results, within)


def test_the_page_list_comes_from_the_sidebar(page_paths):
    assert page_paths[0] == "/"
    assert "/overview" not in page_paths, "the default page (overview) is '/': this is the pages/ folder's listing"
    assert {"/indicator", "/meeting", "/packs", "/upload", "/submissions", "/history"} <= set(page_paths)


def test_axe_finds_nothing_serious_on_any_page(server, browser, page_paths):
    OUT.mkdir(parents=True, exist_ok=True)
    report = {}
    for path in page_paths:
        name = re.sub(r"[^a-z0-9_]+", "-", path.strip("/").lower()) or "overview"
        found = axe_page(browser, server + path, OUT / f"{name}.json")
        if found:
            report[path] = found
    assert not report, "axe-core violations (full results in test-artifacts/axe/):\n" + "\n".join(
        f"{path}: {line}" for path, lines in report.items() for line in lines)


def _results(rule: str, impact: str) -> dict:
    """axe's results with one violation of ``rule`` at ``impact`` on one element."""
    node = {"impact": impact, "target": ["li:nth-child(2)"], "html": "<li>", "failureSummary": "Fix it"}
    return {"violations": [{"id": rule, "impact": impact, "nodes": [node]}]}


@pytest.mark.parametrize(("rule", "impact", "within", "fails"), [
    ("color-contrast", "serious", [], True),
    ("image-alt", "critical", [], True),
    ("region", "moderate", [], False),            # moderate and minor findings are reported, not failed
    ("heading-order", "moderate", [], True),      # ...except a heading that skips a level
    ("listitem", "serious", [SIDEBAR_NAV], False),  # Streamlit's navigation: allowed
    ("listitem", "serious", [], True),             # the same rule in our own content: fails
    ("color-contrast", "serious", [SIDEBAR_NAV], True),  # the sidebar allows only the rules listed
])
def test_which_findings_fail_a_page(rule, impact, within, fails):
    assert bool(failures(_results(rule, impact), [[within]])) is fails
