"""Browser test of the Overview and Meeting mode at projector sizes (1280x720 and 1920x1080), in Debian's Chromium.

Takes screenshots into test-artifacts/, checks that each meeting screen and its Previous/Next buttons fit the
viewport without scrolling, that the arrow keys and Page Up / Page Down move between screens, and that the status
block's text reads on its colour (WCAG contrast of at least 4.5:1, measured on the rendered page).
"""

from __future__ import annotations

import re

import pytest
from e2e_helpers import (
    ARTIFACTS,
    chromium,
    demo_copy,
    drawn,
    playwright_or_skip,
    settle,
    streamlit_server,
)

from cspdash import views

pytestmark = pytest.mark.e2e

WAIT = 30_000  # ms; a first page render includes starting the script and the DuckDB store
SIZES = [(1280, 720), (1920, 1080)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    playwright_or_skip()
    with streamlit_server(demo_copy(tmp_path_factory, "e2e-meeting")) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as b:
        yield b


def progress(page) -> str:
    """The progress line of meeting mode (``Priority A · 1 of 5``); '' while a rerun shows the old and the new one."""
    lines = page.locator('[data-testid="stMain"] p', has_text=re.compile(r"^Priority [A-Z] · \d+ of \d+$")
                         ).all_inner_texts()
    return lines[0].strip() if len(lines) == 1 else ""


def overflow(page) -> list[str]:
    """Visible elements of the main area that reach beyond the viewport, and whether the main area scrolls."""
    return page.evaluate("""() => {
        const out = [];
        for (const el of document.querySelectorAll('[data-testid="stMain"] [data-testid="stElementContainer"]')) {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) continue;  // hidden (the Page Up / Page Down buttons)
            if (r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5 || r.top < -0.5)
                out.push(`${el.innerText.slice(0, 40)} [${Math.round(r.top)}..${Math.round(r.bottom)}]`);
        }
        for (const el of document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppScrollToBottomContainer"]'))
            if (el.scrollHeight > el.clientHeight + 1) out.push(`scrolls: ${el.scrollHeight} > ${el.clientHeight}`);
        return out;
    }""")


def inside(page, locator) -> bool:
    """Whether an element's bounding box lies wholly inside the viewport."""
    box = locator.bounding_box()
    vp = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= vp["width"]
            and box["y"] + box["height"] <= vp["height"])


def rgb_hex(css: str) -> str:
    """``#rrggbb`` from a computed ``rgb(r, g, b)``."""
    r, g, b = (int(x) for x in re.findall(r"\d+", css)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def press(page, key: str) -> str:
    """Press ``key`` and return the progress line once it has changed (or, after 10 s, as it stands)."""
    before = progress(page)
    page.keyboard.press(key)
    for _ in range(200):
        page.wait_for_timeout(50)
        now = progress(page)
        if now not in (before, ""):
            settle(page, pause=100)
            return progress(page)
    return before


def go_to(page, wanted: str) -> None:
    """Press → until the progress line reads ``wanted`` (at most one round of the screens)."""
    for _ in range(40):
        if progress(page) == wanted:
            return
        press(page, "ArrowRight")
    raise AssertionError(f"never reached {wanted}")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_overview_at_projector_sizes(server, browser, width, height):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT)
    page.goto(server)
    settle(page)
    page.get_by_text("Open priority D").wait_for()  # a first visit reruns through dashboard.py
    settle(page, pause=1000)
    tiles = page.locator('[class*="st-key-csp_tile_"]')
    assert tiles.count() == 4
    for k in range(4):
        assert inside(page, tiles.nth(k)), f"tile {k} is not on the first screen at {width}x{height}"
        assert re.search(r"(GREEN|AMBER|RED|NO DATA|MONITOR)", tiles.nth(k).inner_text())
    page.screenshot(path=str(ARTIFACTS / f"overview-{width}x{height}.png"))
    page.close()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_meeting_mode_fits_and_moves_with_the_keyboard(server, browser, width, height):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(WAIT)
    page.goto(f"{server}/meeting")
    settle(page)
    page.get_by_text("Next ▶").wait_for()  # a first visit to /meeting reruns through dashboard.py
    assert progress(page) == "Priority A · 1 of 5"
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    main = page.locator('[data-testid="stMain"]').bounding_box()
    assert main["x"] == 0 and main["width"] >= width - 20, "meeting mode uses the full width"

    # the keyboard: → and Page Down forward, ← and Page Up back
    for key, expected in [("ArrowRight", "Priority A · 2 of 5"), ("PageDown", "Priority A · 3 of 5"),
                          ("ArrowLeft", "Priority A · 2 of 5"), ("PageUp", "Priority A · 1 of 5"),
                          ("ArrowLeft", "Priority D · 12 of 12")]:
        assert press(page, key) == expected, key

    # every kind of screen fits: the longest priority summary, the indicators with a chart and commentary (visited in
    # the order → reaches them from D 12 of 12, so the walk goes once round the screens, not three times)
    for wanted, name in [("Priority A · 1 of 5", "summary-a"), ("Priority A · 2 of 5", "indicator-a1"),
                         ("Priority B · 4 of 6", "indicator-b3"), ("Priority D · 1 of 12", "summary-d")]:
        go_to(page, wanted)
        drawn(page)  # charts draw after the script finishes
        page.screenshot(path=str(ARTIFACTS / f"meeting-{name}-{width}x{height}.png"))
        assert overflow(page) == [], (wanted, width, height)
        for key in ("csp_meeting_prev", "csp_meeting_next"):
            assert inside(page, page.locator(f".st-key-{key} button")), (key, wanted)
        if "indicator" in name:
            assert page.locator('[data-testid="stVegaLiteChart"]').count() == 1
            assert page.get_by_text("Target:").count() == 1 and page.get_by_text("Chair's commentary").count() == 1
        if name == "summary-a":
            assert_red_reads_on_its_colour(page)  # here, not after the walk: going back to A 1 took 12 more screens
    page.close()


def assert_red_reads_on_its_colour(page) -> None:
    """The status block's text reads on its colour, measured on the page (A's summary is RED), and so does the RED
    cell of the summary's table."""
    block = page.locator(".st-key-csp_meeting_rag_red")
    text = block.locator("p").first
    assert "RED" in text.inner_text()
    fg = rgb_hex(text.evaluate("e => getComputedStyle(e).color"))
    bg = rgb_hex(block.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert (fg, bg) == (views.RAG_TEXT["red"], views.RAG_COLOUR["red"])
    assert views.contrast_ratio(fg, bg) >= 4.5
    cell = page.locator('[data-testid="stTable"] td', has_text="RED").first
    fg = rgb_hex(cell.locator("p").evaluate("e => getComputedStyle(e).color"))  # the text as drawn
    bg = rgb_hex(cell.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert views.contrast_ratio(fg, bg) >= 4.5, (fg, bg)
