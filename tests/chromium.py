"""Starting the system's headless Chromium through Playwright.

The one way the tests and the benchmarks start a browser: Debian's
``chromium`` binary (``$YANEX_CHROMIUM`` overrides the path), never a
browser Playwright would download, with the flags that keep it from
reaching out to the network on start.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def executable() -> str | None:
    """The Chromium binary to drive, or None when there is none."""
    return (
        os.environ.get("YANEX_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def launch(playwright: Any, binary: str) -> Any:
    """A headless browser from ``binary``, through a started Playwright."""
    return playwright.chromium.launch(executable_path=binary, args=FLAGS)
