"""Browser tests: Playwright driving Debian's chromium, and a folder for what they leave to look at.

Playwright cannot download its own browsers here, so the tests use ``/usr/bin/chromium``
(``TIDTAM_CHROMIUM`` overrides it). Without it the browser tests are skipped with the reason shown;
with ``TIDTAM_REQUIRE_BROWSER=1`` (CI sets it, after installing chromium and the Thai fonts) a
missing browser is a failure instead.

Registered as a plugin by conftest.py, so a test asks for ``chromium`` by name.
Screenshots and other artefacts go to ``var/test-artefacts/<name>/`` (never committed).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TIDTAM_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("TIDTAM_REQUIRE_BROWSER") == "1"
ARTEFACTS = Path(__file__).resolve().parent.parent / "var" / "test-artefacts"
THAI_FONTS = Path("/usr/share/fonts/truetype/tlwg")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium fonts-thai-tlwg)"
    if not THAI_FONTS.is_dir():
        return "no Thai fonts (apt-get install fonts-thai-tlwg): Thai would show as boxes"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def need_browser() -> None:
    """Skip the calling test (or fail it under TIDTAM_REQUIRE_BROWSER=1) when no browser is usable."""
    reason = browser_missing()
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"browser tests required but cannot run: {reason}")
    pytest.skip(reason)


def artefact_dir(name: str) -> Path:
    """A fresh folder for one test's screenshots, under var/test-artefacts/."""
    path = ARTEFACTS / name
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.png"):
        old.unlink()
    return path


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Debian chromium under Playwright, shared by one test module."""
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()
