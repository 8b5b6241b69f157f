"""The console in a real browser: Debian's chromium driven by Playwright (pointed at the
installed browser; nothing is downloaded), against one local platform for the package.

Screenshots go to the test run's temporary directory (`screenshots/` under pytest's
basetemp); set MODELPORT_CONSOLE_SCREENSHOTS to copy them somewhere else as well.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelport.local.gateway.console import DEFAULT_DIST
from tests import platform_fixtures as shared

platform, admin, unique, key_for = shared.platform, shared.admin, shared.unique, shared.key_for

CHROMIUM = os.environ.get("MODELPORT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="package")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (make test does)")
    if not (DEFAULT_DIST / "index.html").is_file():
        pytest.fail("console/dist is missing: `make console` builds it (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # a fresh profile for the run: nothing carried over from another browser session
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=ARGS, viewport={"width": 1280, "height": 900},
        )  # fmt: skip
        context.set_default_timeout(15_000)
        yield context
        context.close()


class Shots:
    """Full-page screenshots, named by page, kept in the run's temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.extra = Path(os.environ["MODELPORT_CONSOLE_SCREENSHOTS"]) if os.environ.get("MODELPORT_CONSOLE_SCREENSHOTS") else None
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> Path:
        path = self.root / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.extra is not None:
            self.extra.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.extra / path.name)
        return path


@pytest.fixture(scope="package")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Shots:
    return Shots(tmp_path_factory.mktemp("screenshots"))


class Tab:
    """One browser tab (its own sessionStorage) that records page errors and CSP reports."""

    def __init__(self, context: Any, base: str) -> None:
        self.page = context.new_page()
        self.base = base
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    def open(self, fragment: str = "") -> Any:
        self.page.goto(f"{self.base}/console/{fragment}")
        return self.page

    def sign_in(self, token: str) -> Any:
        """Sign in from the keyboard: focus the field, type the key, press Enter."""
        page = self.open()
        page.get_by_label("API key").fill(token)
        page.get_by_label("API key").press("Enter")
        page.get_by_role("button", name="Sign out").wait_for()
        return page

    def close(self) -> None:
        self.page.close()
        assert self.problems == [], self.problems


@pytest.fixture
def tab(browser_context: Any, platform: Any) -> Iterator[Any]:
    """`tab()` opens a new tab on the platform's console; each is checked for page errors."""
    opened: list[Tab] = []

    def make() -> Tab:
        opened.append(Tab(browser_context, platform.api_url))
        return opened[-1]

    yield make
    for t in opened:
        t.close()
