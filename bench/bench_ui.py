"""The web page over a store of 10,000 experiments: API answers and first render.

The store comes from the same generator as the ``inspect`` section. A real
``yanex ui`` process serves it; the API is timed from this process over a
socket, and the first render in Debian's headless Chromium driven by
Playwright: from navigation to the list's first page of rows on screen.
``yanex list`` on the same store is measured beside them for reference.
"""

from __future__ import annotations

import http.client
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_inspect import generate
from common import SRC, Figure, environment, time_command, yanex_command

sys.path.insert(0, str(SRC))
# The tests' way of starting the system's headless Chromium.
sys.path.insert(0, str(SRC.parent / "tests"))

import chromium
from yanex.store import Store

COUNT = 10_000
GOAL = 1.0
REPEAT = 7


class _Server:
    """A ``yanex ui`` process over the benchmark's store."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            yanex_command("ui", "--port", "0", "--no-browser"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        found = re.search(r"http://([^:/]+):(\d+)/", line)
        if found is None:
            self.stop()
            raise RuntimeError(f"yanex ui did not start: {line!r}")
        self.host, self.port = found.group(1), int(found.group(2))
        self.url = found.group(0)

    def seconds(self, path: str) -> float:
        """Wall seconds of one GET, which must succeed."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started
        connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        return elapsed

    def median(self, path: str) -> float:
        return statistics.median(self.seconds(path) for _ in range(REPEAT))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _first_render(url: str, rows: int) -> float | None:
    """Median seconds from navigation to ``rows`` rows shown; None without a browser."""
    binary = chromium.executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if binary is None:
        return None
    samples = []
    with sync_playwright() as playwright:
        browser = chromium.launch(playwright, binary)
        for _ in range(REPEAT):
            samples.append(_one_render(browser, f"{url}#/?limit={rows}", rows))
        browser.close()
    return statistics.median(samples)


def _one_render(browser: Any, url: str, rows: int) -> float:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(f"#experiments tbody tr:nth-child({rows})", timeout=60_000)
    elapsed = time.perf_counter() - started
    context.close()
    return elapsed


def measure(top: Path) -> dict[str, float | None]:
    store = Store(top / "store")
    sweep_id = generate(store, COUNT)
    env = environment(store.root)
    server = _Server(env)
    try:
        figures: dict[str, float | None] = {
            "cold": server.seconds("/api/experiments?limit=50"),
            "page": server.median("/api/experiments?limit=50"),
            "sorted": server.median("/api/experiments?limit=50&sort=metrics.loss"),
            "searched": server.median("/api/experiments?limit=50&q=run%209"),
            "filtered": server.median("/api/experiments?limit=50&where=lr%3C0.001"),
            "compare": server.median(f"/api/compare?sweep={sweep_id}"),
            "render": _first_render(server.url, 50),
            "render_1000": _first_render(server.url, 1000),
        }
    finally:
        server.stop()
    figures["cli"] = statistics.median(
        time_command(yanex_command("list"), top, env) for _ in range(REPEAT)
    )
    return figures


def all_figures() -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="yanex-bench-ui-") as scratch:
        found = measure(Path(scratch))
    rows = [
        ("cold", "list API, first request (index built)", None),
        ("page", "list API, first page of 50", GOAL),
        ("sorted", "list API, sorted by a final metric", GOAL),
        ("searched", "list API, searched by name", GOAL),
        ("filtered", "list API, --where on a param", GOAL),
        ("compare", "compare API, a sweep of 1,000 (50 curves)", GOAL),
        ("render", "first render of the list page (50 rows)", GOAL),
        ("render_1000", "first render, 1,000 rows per page", None),
        ("cli", "yanex list on the same store (reference)", None),
    ]
    figures = []
    for key, label, goal in rows:
        value = found[key]
        if value is None:
            figures.append(Figure(label, "not measured: no chromium", "< 1 s", None))
            continue
        met = None if goal is None else value < goal
        shown_goal = f"< {goal:g} s" if goal is not None else ""
        figures.append(Figure(label, f"{value * 1000:.0f} ms", shown_goal, met))
    return figures
