"""The headless Chromium `lumen-ext test` (and the browser tests) drive, and what a page does wrong.

Which browser: ``--browser PATH``, else ``LUMEN_EXT_CHROMIUM``, else a Chromium or Chrome on ``PATH``
(``chromium``, ``chromium-browser``, ``google-chrome``), else the Chromium Playwright installed itself
(``playwright install chromium``). Playwright is imported only when a browser is launched.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

__all__ = [
    "CHROMIUM_ARGS",
    "NO_BROWSER",
    "BrowserChoice",
    "PageWatch",
    "find_browser",
    "launch_chromium",
]

ENVIRONMENT_VARIABLE = "LUMEN_EXT_CHROMIUM"
ON_PATH = ("chromium", "chromium-browser", "google-chrome")
# Headless in a container or CI runner: no sandbox (it needs user namespaces), no GPU, and nothing the browser
# would fetch on its own (component updates, sync, QUIC probes), so every request seen is the dashboard's.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

NO_BROWSER = (
    "lumen-ext test: no Chromium found. It drives a headless Chromium through Playwright and looked for one in "
    "--browser PATH, then $LUMEN_EXT_CHROMIUM, then chromium, chromium-browser or google-chrome on PATH, then "
    "Playwright's own download. Install one (Debian/Ubuntu: `apt-get install chromium`; or "
    "`pip install 'lumen-ext[gate]' && playwright install chromium`), or point --browser or LUMEN_EXT_CHROMIUM "
    "at a Chromium or Chrome executable."
)

# HoloViews' linked selections (`selection_group`) draw a colour-mapped plot as several renderers on different
# data sources under one field-labelled legend item; BokehJS's LegendItem.initialize logs that as a console error
# although plot and legend render correctly (seen on the corpus penguins scatter). Nothing else is tolerated.
KNOWN_CONSOLE_NOISE = (re.compile(r"^\[bokeh [\d.]+\] Non matching data sources on legend item renderers$"),)


@dataclass(frozen=True)
class BrowserChoice:
    executable: Path | None  # None: Playwright's own Chromium
    found_by: str  # which rule picked it, for the report


def find_browser(option: str | None, environ: dict[str, str] | None = None) -> BrowserChoice | str | None:
    """The browser to drive, or a message saying why the one asked for cannot be used, or None when none was
    found anywhere."""
    environ = os.environ if environ is None else environ
    for value, how in ((option, "--browser"), (environ.get(ENVIRONMENT_VARIABLE), ENVIRONMENT_VARIABLE)):
        if value:
            path = Path(value).expanduser()
            if not (path.is_file() and os.access(path, os.X_OK)):
                return f"lumen-ext test: {how} {value} is not an executable file"
            return BrowserChoice(path, how)
    for name in ON_PATH:
        found = shutil.which(name, path=environ.get("PATH"))
        if found:
            return BrowserChoice(Path(found), f"{name} on PATH")
    if _playwright_chromium() is not None:
        return BrowserChoice(None, "Playwright's Chromium")
    return None


def _playwright_chromium() -> Path | None:
    """The Chromium `playwright install chromium` downloaded, if Playwright and that download are there."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        path = Path(playwright.chromium.executable_path)
    return path if path.is_file() else None


def launch_chromium(playwright, choice: BrowserChoice):
    """A headless Chromium of ``choice`` through an open ``sync_playwright()``."""
    executable = str(choice.executable) if choice.executable is not None else None
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


@dataclass
class PageWatch:
    """Everything a page did that a user or an offline deployment would suffer from."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    off_host_requests: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"  # the server's; a request elsewhere means the page is not self-contained

    def attach(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("request", self._on_request)

    def _on_console(self, message) -> None:
        if message.type != "error":
            return
        if any(noise.match(message.text) for noise in KNOWN_CONSOLE_NOISE):
            return
        self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_request(self, request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname != self.host:
            self.off_host_requests.append(request.url)

    def problems(self) -> dict[str, list[str]]:
        return {
            name: items
            for name, items in (
                ("console errors", self.console_errors),
                ("page errors", self.page_errors),
                ("requests off 127.0.0.1", self.off_host_requests),
            )
            if items
        }

    def clear(self) -> None:
        self.console_errors.clear()
        self.page_errors.clear()
        self.off_host_requests.clear()
