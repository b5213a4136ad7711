"""Clicking a dashboard's download buttons as a viewer does, and keeping the files that arrive.

Lumen gives a view a download button (``lumen/downloads.py``) when the view's ``download`` or the spec's
``defaults.download`` names a ``format``; the file holds the view's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Download", "click_downloads"]

DOWNLOAD_TIMEOUT = 60  # seconds for a file to arrive after its button is clicked


@dataclass(frozen=True)
class Download:
    button: int  # which of the visible download buttons, in page order
    filename: str | None  # what the server suggested (None: nothing arrived)
    path: Path | None  # where it was saved
    problem: str | None = None


def click_downloads(page, folder: Path, prefix: str) -> list[Download]:
    """Click every visible download button; each must deliver a file that is not empty. Files are saved in
    ``folder`` as ``{prefix}-{button}-{suggested name}``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    folder.mkdir(parents=True, exist_ok=True)
    buttons = page.locator(".download-button").filter(visible=True)
    found = []
    for i in range(buttons.count()):
        try:
            with page.expect_download(timeout=DOWNLOAD_TIMEOUT * 1000) as arrival:
                buttons.nth(i).click()
        except PlaywrightTimeout:
            found.append(Download(i, None, None, f"no file arrived within {DOWNLOAD_TIMEOUT}s"))
            continue
        download = arrival.value
        path = folder / f"{prefix}-{i}-{download.suggested_filename}"
        download.save_as(path)
        problem = None if path.stat().st_size else "the file is empty"
        found.append(Download(i, download.suggested_filename, path, problem))
    return found
