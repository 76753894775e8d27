"""The app in a real browser: ``streamlit run app.py`` driven by Playwright in Debian's Chromium.

Checks what AppTest cannot: the st_folium map component renders Leaflet from
the app's own static folder (no internet), with area polygons and numbered
centre markers, and a click on a centre opens its explanation. Screenshots go
to ``test-artifacts/``. Skipped when ``/usr/bin/chromium`` is absent, except
under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.report_helpers import ARTIFACTS, CHROMIUM_ARGS, chromium_or_skip, click_until_popup

ROOT = Path(__file__).resolve().parents[1]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'
LOCAL = ("http://127.0.0.1", "data:", "blob:", "about:")

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited early with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"streamlit did not listen on port {port} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    chromium_or_skip()
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "app_server.log").open("wb")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        _wait_for_port(port, proc, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_maps_render_offline_and_explain_centres(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    outside: list[str] = []
    served: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on(
                "request",
                lambda r: (served if r.url.startswith(LOCAL) else outside).append(r.url),
            )
            page.set_default_timeout(60_000)

            # 1. The first screen: the demo region with its need map.
            page.goto(server, wait_until="domcontentloaded")
            expect(page.get_by_text("In use: Demoshire")).to_be_visible(timeout=90_000)
            need = page.frame_locator(MAP_FRAME).first
            expect(need.locator(".leaflet-container")).to_be_visible(timeout=60_000)
            expect(need.locator("path.leaflet-interactive").nth(100)).to_be_attached()
            page.wait_for_timeout(1000)  # let tiles-free panes settle for the picture
            page.screenshot(path=str(ARTIFACTS / "app_first_screen.png"))

            # 2. The plan: numbered centres over area polygons.
            page.get_by_role("link", name="4. Get the plan").click()
            expect(page.get_by_text("Why each centre was chosen")).to_be_visible(timeout=120_000)
            frame = page.frame_locator(MAP_FRAME).first
            expect(frame.locator(".leaflet-container")).to_be_visible()
            areas = frame.locator("path.leaflet-interactive")
            expect(areas.nth(100)).to_be_attached()
            centres = frame.locator(".nhc-centre")
            expect(centres.first).to_be_visible()
            assert centres.count() >= 2

            # 3. Click centre no. 1 and read why it was chosen.
            first = centres.filter(has_text=re.compile(r"^\s*1\s*$")).first
            popup = frame.locator(".leaflet-popup-content")
            click_until_popup(first, popup, attempts=4, timeout_ms=3_000)
            text = popup.inner_text()
            assert "It opens in year 1" in text  # the neighbourhood's reason (default model)
            assert "within 15 minutes' drive" in text
            assert "Population newly within reach" in text
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "app_plan_popup.png"))
        finally:
            browser.close()
    assert not outside, f"requests left the machine: {outside[:5]}"
    # Leaflet came from the app's own static folder
    assert any(u.endswith("/app/static/leaflet/leaflet.js") for u in served)
    assert any(u.endswith("/app/static/leaflet/leaflet.css") for u in served)


# --------------------------------------------------------------------------- every render draws

# Opened by a direct link (``/plan``), Streamlit's frontend first probes the page's
# path as a base URL (``/plan/_stcore/health``, ``.../host-config``), gets 404 and
# falls back to ``/``: Streamlit's own probing, not an error of the app.
_STREAMLIT_PROBE = re.compile(r"/[\w-]+/_stcore/(health|host-config)$")


def _watch(page: Any, errors: list[str]) -> None:
    """Collect the page's (and its frames') console errors and uncaught exceptions."""

    def console(m: Any) -> None:
        url = str(m.location.get("url", ""))
        if m.type == "error" and not _STREAMLIT_PROBE.search(url):
            errors.append(f"console: {m.text} ({url})")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))


def _map_draws(page: Any, *, min_paths: int = 100, timeout_ms: int = 120_000) -> None:
    """The page's first map has its Leaflet panes and at least ``min_paths`` drawn paths."""
    from playwright.sync_api import expect

    frame = page.frame_locator(MAP_FRAME).first
    expect(frame.locator(".leaflet-container")).to_be_visible(timeout=timeout_ms)
    expect(frame.locator(".leaflet-overlay-pane")).to_be_attached(timeout=timeout_ms)
    expect(frame.locator("path.leaflet-interactive").nth(min_paths)).to_be_attached(
        timeout=timeout_ms
    )


def _server_exceptions(log: Path) -> list[str]:
    text = log.read_text(encoding="utf-8", errors="replace")
    return [line for line in text.splitlines() if "Traceback" in line or "Exception" in line]


def test_maps_draw_after_reload_direct_links_and_in_two_sessions(server: str) -> None:
    """Regression: a cached folium.Map drew once per server process, then stayed blank."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        try:
            one = browser.new_context(viewport={"width": 1280, "height": 900})
            two = browser.new_context(viewport={"width": 1280, "height": 900})
            a, b = one.new_page(), two.new_page()
            for p in (a, b):
                _watch(p, errors)
                p.set_default_timeout(120_000)
            # two sessions open the first page at once
            a.goto(server, wait_until="domcontentloaded")
            b.goto(server, wait_until="domcontentloaded")
            _map_draws(a)
            _map_draws(b)
            # a reload draws again
            a.reload(wait_until="domcontentloaded")
            _map_draws(a)
            a.screenshot(path=str(ARTIFACTS / "app_area_after_reload.png"))
            # pages opened by direct link, in both sessions
            for path in ("need", "plan"):
                a.goto(f"{server}/{path}", wait_until="domcontentloaded")
                b.goto(f"{server}/{path}", wait_until="domcontentloaded")
                _map_draws(a)
                _map_draws(b)
                a.screenshot(path=str(ARTIFACTS / f"app_{path}_direct.png"))
            b.reload(wait_until="domcontentloaded")
            _map_draws(b)
            a.wait_for_timeout(500)
        finally:
            browser.close()
    assert not errors, errors[:5]


def test_four_sessions_replanning_at_once_raise_nothing(server: str) -> None:
    """Four sessions change the number of centres and open the plan at the same time."""
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    log = ARTIFACTS / "app_server.log"
    before = len(_server_exceptions(log))
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_or_skip(), args=CHROMIUM_ARGS)
        try:
            pages = []
            for _ in range(4):
                p = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                _watch(p, errors)
                p.set_default_timeout(180_000)
                p.goto(f"{server}/policy", wait_until="domcontentloaded")
                pages.append(p)
            for i, p in enumerate(pages):
                box = p.get_by_label("New centres in all")
                expect(box).to_be_visible(timeout=180_000)  # the first visit makes the region
                box.fill(str(4 + i))
                box.press("Enter")
            for p in pages:
                p.wait_for_timeout(300)
                p.get_by_role("link", name="4. Get the plan").click()
            for i, p in enumerate(pages):
                expect(p.get_by_text(f"{4 + i} new centres", exact=False).first).to_be_visible(
                    timeout=180_000
                )
                _map_draws(p, timeout_ms=180_000)
            pages[0].screenshot(path=str(ARTIFACTS / "app_plan_concurrent.png"))
        finally:
            browser.close()
    assert not errors, errors[:5]
    assert _server_exceptions(log)[before:] == []
