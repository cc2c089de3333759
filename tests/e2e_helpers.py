"""Helpers of the browser test: a demo database, a real Streamlit server on a free port, headless Chromium."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"


def build_demo_db(path: Path, config: Path = ROOT / "indicators.yaml") -> Path:
    """Load the demo manifest into an in-memory store and write it to ``path`` (about 5 s, against ~30 s on disk)."""
    from cspdash.config import load_catalogue
    from cspdash.demo import load_demo
    from cspdash.store import Store

    mem = Store(":memory:", load_catalogue(config))
    try:
        for _ in load_demo(mem):
            pass
        return mem.backup(path)
    finally:
        mem.close()


def demo_template(tmp_path_factory) -> Path:
    """The session's demo database, built once per test run, whichever test asks first: under pytest-xdist the
    workers share it (it sits in the folder above each worker's own temporary folder, built under a file lock)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    template = root / "demo-template" / "demo.duckdb"
    template.parent.mkdir(parents=True, exist_ok=True)
    with (root / "demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not template.exists():
            part = template.with_name("demo.part.duckdb")
            part.unlink(missing_ok=True)
            build_demo_db(part)
            os.replace(part, template)  # a half-built template is never seen under the final name
    return template


def demo_copy(tmp_path_factory, name: str) -> Path:
    """A fresh copy of the run's demo database (``demo_template``), for one test or module to change."""
    template = demo_template(tmp_path_factory)
    target = tmp_path_factory.mktemp(name) / "csp.duckdb"
    shutil.copyfile(template, target)
    return target


def accounts_file(path: Path, users: list[tuple], config: Path = ROOT / "indicators.yaml") -> Path:
    """A closed database at ``path`` with the accounts ``users``, each (e-mail, role, subgroups, password or None):
    a module makes it once (password hashes are slow on purpose) and each test opens a ``file_copy`` of it."""
    from cspdash.config import load_catalogue
    from cspdash.store import Store

    store = Store(path, load_catalogue(config))
    try:
        for email, role, subgroups, password in users:
            store.add_user(email, role, subgroups or (), password=password)
    finally:
        store.close()
    return path


def file_copy(tmp_path_factory, db: Path, name: str) -> Path:
    """A fresh copy of a closed database file ``db`` (with its write-ahead log, if one was left), for one test: a
    module builds a costly database once (accounts with their password hashes, say) and each test writes to a copy."""
    target = tmp_path_factory.mktemp(name) / db.name
    shutil.copyfile(db, target)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


#: A return the demo lacks: A2 (repeat ASB callers) for 2025/26 Q3, which turns A2 from NO DATA to a rated status.
GOOD_RETURN = (b"indicator,period,value,commentary\n"
               b"A2,2025/26 Q3,150,Fewer repeat callers after the Community MARAC reviews.\n")
#: A return with two problems: an unknown indicator and a period that is not a quarter.
BAD_RETURN = b"indicator,period,value\nZ9,2025/26 Q3,10\nA2,next spring,12\n"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def browser_missing_reason() -> str | None:
    """Why the browser test cannot run here, or None; in CI (``CI`` set) a missing browser is never a reason."""
    if Path(CHROMIUM).exists() or os.environ.get("CI"):
        return None
    return f"Debian's chromium is not installed at {CHROMIUM}; run `make chromium` (apt-get install chromium)"


def playwright_or_skip():
    """Playwright's sync API, or skip the test when Debian's chromium is missing (never in CI) or playwright is."""
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's headless Chromium through Playwright (skipped as ``playwright_or_skip`` says)."""
    with playwright_or_skip().sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def settle(page, timeout: int = 30_000, pause: int = 300) -> None:
    """Wait until Streamlit has finished running the script (its status widget is gone), then ``pause`` ms more."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    if pause:
        page.wait_for_timeout(pause)


#: Whether every chart on screen has drawn: each visible Vega-Lite chart holds its canvas (or SVG), and no element is a
#: loading skeleton. A chart in a closed tab or expander is not visible and is not waited for.
_DRAWN_JS = """() => {
    const visible = el => el.checkVisibility ? el.checkVisibility() : el.offsetParent !== null;
    const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(visible);
    return charts.every(c => c.querySelector('canvas, svg') !== null)
        && !document.querySelector('[data-testid="stSkeleton"]');
}"""


def drawn(page, timeout: int = 30_000, pause: int = 250) -> None:
    """Wait until the charts on screen have drawn (they draw after the script finishes), then ``pause`` ms more:
    a condition in place of a fixed wait of a second or more."""
    page.wait_for_function(_DRAWN_JS, timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    if pause:
        page.wait_for_timeout(pause)


def app_env(monkeypatch, db: Path, config: Path = ROOT / "indicators.yaml", open_mode: bool = True) -> Path:
    """Point the app (CSPDASH_DB, CSPDASH_CONFIG) at ``db`` and ``config`` for an AppTest; return ``db``.

    ``open_mode``: start it as ``make run`` does, with ``CSPDASH_OPEN_MODE=1`` on 127.0.0.1, so a database without
    accounts (the demo) is in open mode; with accounts the setting changes nothing.
    """
    monkeypatch.setenv("CSPDASH_DB", str(db))
    monkeypatch.setenv("CSPDASH_CONFIG", str(config))
    if open_mode:
        monkeypatch.setenv("CSPDASH_OPEN_MODE", "1")
    else:
        monkeypatch.delenv("CSPDASH_OPEN_MODE", raising=False)
    server_address(monkeypatch, "127.0.0.1")
    return db


def server_address(monkeypatch, address: str | None) -> None:
    """Set Streamlit's ``server.address`` for this test (an AppTest has no server: the app reads the option)."""
    import copy

    from streamlit import config

    option = copy.copy(config.get_config_options()["server.address"])
    option.set_value(address, "a test")
    monkeypatch.setitem(config._config_options, "server.address", option)  # the original comes back after the test


@contextlib.contextmanager
def streamlit_server(db: Path | str, port: int | None = None, timeout: float = 60, open_mode: bool = True,
                     script: Path = ROOT / "dashboard.py", extra_env: dict[str, str] | None = None,
                     name: str | None = None) -> Iterator[str]:
    """Run ``streamlit run dashboard.py`` (or another ``script``) on ``db`` (a file, or a PostgreSQL URL with
    ``name`` for its log; on 127.0.0.1; ``open_mode`` sets ``CSPDASH_OPEN_MODE=1`` as ``make run`` does; ``extra_env``
    adds variables such as ``CSPDASH_EXTRACTS``) and yield its URL; the server is stopped on exit.
    benchmarks/pages.py uses it too."""
    port = port or free_port()
    env = dict(os.environ, CSPDASH_DB=str(db), CSPDASH_CONFIG=str(ROOT / "indicators.yaml"), **(extra_env or {}))
    env.pop("CSPDASH_OPEN_MODE", None)
    if open_mode:
        env["CSPDASH_OPEN_MODE"] = "1"
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    label = name or Path(db).parent.name  # one log per server: tests run side by side
    log = ARTIFACTS / f"streamlit-server-{label}-{script.stem}.log"
    ARTIFACTS.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [streamlit, "run", str(script), "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not answer on {url} within {timeout:.0f} s; see {log}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def on_screen(text: str) -> re.Pattern:
    """A pattern for ``text`` as the app shows it: ``ui.md`` puts an invisible word joiner (U+2060) before an ``@``,
    after ``www`` and between ``:`` and ``//`` so that no link is made of it."""
    return re.compile(re.escape(text).replace("@", "\u2060?@").replace("www", "www\u2060?").replace(r":", r":\u2060?"))
