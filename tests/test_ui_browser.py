"""The web page in a real headless Chromium, driven by Playwright.

The browser is the system's ``chromium`` (Debian's package; CI installs
it), never one downloaded by Playwright. Without it, or without the
``playwright`` package, these tests are skipped on a developer's machine
and fail where ``YANEX_REQUIRE_BROWSER=1`` is set, as in CI.

Screenshots go to ``$YANEX_SCREENSHOT_DIR`` when set, else to a pytest
temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import chromium
from ui_support import (
    HOSTILE_NAME,
    HOSTILE_SAY,
    HOSTILE_TAG,
    Server,
    Stock,
    end_waiting,
    finish_running,
    queue_waiting,
    start_running,
    stock_store,
)

REQUIRED = os.environ.get("YANEX_REQUIRE_BROWSER") == "1"
#: The first two series colours of the page's palette, as RGB.
FIRST_COLOUR = (47, 95, 208)
SECOND_COLOUR = (208, 97, 47)

COUNT_COLOUR = """([canvas, rgb]) => {
  const data = canvas.getContext("2d").getImageData(
    0, 0, canvas.width, canvas.height).data;
  let found = 0;
  for (let i = 0; i < data.length; i += 4) {
    const near = Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1])
      + Math.abs(data[i + 2] - rgb[2]);
    if (data[i + 3] > 200 && near < 60) found += 1;
  }
  return found;
}"""


def unavailable(why: str) -> None:
    if REQUIRED:
        pytest.fail(f"{why}, and YANEX_REQUIRE_BROWSER=1 requires the browser tests")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    binary = chromium.executable()
    if binary is None:
        unavailable("no chromium on this machine (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = chromium.launch(playwright, binary)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Stock:
    return stock_store(tmp_path_factory.mktemp("ui-browser"))


@pytest.fixture(scope="module")
def server(stock: Stock) -> Iterator[Server]:
    running = Server(stock.project, "--no-browser")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("YANEX_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh page; any script error or console error fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: (
            problems.append(message.text) if message.type == "error" else None
        ),
    )
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert problems == []


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions (imported once the browser is known)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def visit(page: Any, server: Server, route: str = "#/") -> None:
    page.goto(server.url + route)


def rows(page: Any) -> list[str]:
    page.wait_for_selector("#experiments")
    ids: list[str] = page.eval_on_selector_all(
        "#experiments tbody tr", "rows => rows.map(row => row.dataset.id)"
    )
    return ids


def wait_rows(page: Any, count: int) -> list[str]:
    expect(page.locator("#experiments tbody tr")).to_have_count(count)
    return rows(page)


def coloured_pixels(page: Any, canvas: Any, rgb: tuple[int, int, int]) -> int:
    found: int = page.evaluate(COUNT_COLOUR, [canvas, list(rgb)])
    return found


def test_list_shows_every_experiment_with_its_status(
    page: Any, server: Server, stock: Stock, screenshots: Path
) -> None:
    visit(page, server)

    shown = wait_rows(page, len(stock.ids))

    assert sorted(shown) == sorted(stock.ids.values())
    broken = page.locator(f'tr[data-id="{stock.ids["broken"]}"] .badge')
    assert broken.inner_text() == "failed"
    assert "status-failed" in (broken.get_attribute("class") or "")
    assert page.locator("#count").inner_text() == f"1–{len(shown)} of {len(shown)}"
    page.screenshot(path=str(screenshots / "list.png"), full_page=True)


def test_list_filters_by_status(page: Any, server: Server, stock: Stock) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))

    page.select_option("#filters select[name=status]", "failed")
    page.click("#filters button[type=submit]")

    assert wait_rows(page, 1) == [stock.ids["broken"]]
    assert "status=failed" in page.url


def test_list_filters_by_where_expression(
    page: Any, server: Server, stock: Stock
) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))

    page.fill("#filters input[name=where]", "lr>0.05; acc>1.5")
    page.press("#filters input[name=where]", "Enter")

    assert wait_rows(page, 1) == [stock.ids["sweep1"]]


def test_list_sorts_by_a_metric_column(page: Any, server: Server, stock: Stock) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))

    page.click('th[data-sort="metrics.acc"]')
    page.wait_for_selector('th.sorted[data-sort="metrics.acc"]')
    page.click('th[data-sort="metrics.acc"]')
    page.wait_for_selector('th.sorted.desc[data-sort="metrics.acc"]')

    assert rows(page)[0] == stock.ids["sweep1"]


def test_list_pages_through_the_experiments(
    page: Any, server: Server, stock: Stock
) -> None:
    visit(page, server, "#/?limit=3")
    first = wait_rows(page, 3)

    page.click("text=Next ›")
    expect(page.locator("#count")).to_have_text(f"4–6 of {len(stock.ids)}")

    assert set(rows(page)).isdisjoint(first)


def test_experiment_page_draws_a_chart_per_metric(
    page: Any, server: Server, stock: Stock, screenshots: Path
) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))

    page.click(f'tr[data-id="{stock.ids["sweep1"]}"] td.mono a')
    page.wait_for_selector('#charts .chart[data-metric="loss"] canvas')

    titles = page.locator("#charts .chart-title").all_inner_texts()
    assert titles == ["acc", "loss"]
    canvas = page.locator('#charts .chart[data-metric="acc"] canvas').element_handle()
    assert coloured_pixels(page, canvas, FIRST_COLOUR) > 50
    assert page.locator("#params").inner_text() == "lr\t0.3"
    expect(page.locator("#output")).to_contain_text("trained with lr 0.3")
    assert page.locator("#title").inner_text() == "sweep lr=0.3 completed"
    page.screenshot(path=str(screenshots / "experiment.png"), full_page=True)


def test_experiment_page_shows_the_patch_as_a_diff(
    page: Any, server: Server, stock: Stock, screenshots: Path
) -> None:
    visit(page, server, f"#/experiment/{stock.ids['dirty']}")

    added = page.locator("#patch .add", has_text="an uncommitted change")

    assert added.inner_text().strip() == "+# an uncommitted change"
    assert page.locator("#git").inner_text().count("train.py") >= 1
    page.locator("#git").screenshot(path=str(screenshots / "patch.png"))


def test_experiment_page_shows_images_and_previews_text(
    page: Any, server: Server, stock: Stock, screenshots: Path
) -> None:
    visit(page, server, f"#/experiment/{stock.ids['files']}")

    image = page.locator('.artifact[data-name="plot.png"] img')
    expect(image).to_have_js_property("naturalWidth", 24)
    notes = page.locator('.artifact[data-name="notes.txt"] pre')

    expect(notes).to_have_text("first line\nsecond <b>line</b>\n")
    assert page.locator("#artifacts b").count() == 0
    download = page.locator('.artifact[data-name="weights.bin"] a')
    assert download.get_attribute("download") == "weights.bin"
    page.locator("#artifacts").screenshot(path=str(screenshots / "artifacts.png"))


def test_compare_overlays_chosen_experiments(
    page: Any, server: Server, stock: Stock, screenshots: Path
) -> None:
    first, second = stock.sweep_ids()
    visit(page, server)
    wait_rows(page, len(stock.ids))

    for experiment_id in (first, second):
        page.check(f'tr[data-id="{experiment_id}"] input[type=checkbox]')
    page.click("#compare-chosen")
    page.wait_for_selector('#charts .chart[data-metric="loss"] canvas')

    assert f"ids={first}%2C{second}" in page.url or f"ids={first},{second}" in page.url
    assert page.locator("#comparison thead th").all_inner_texts() == [
        "id",
        "name",
        "status",
        "lr",
        "acc",
        "loss",
    ]
    assert page.locator("#comparison tbody tr").count() == 2
    legend = page.locator('#charts .chart[data-metric="acc"] .u-legend .u-series')
    assert legend.count() == 3
    canvas = page.locator('#charts .chart[data-metric="acc"] canvas').element_handle()
    assert coloured_pixels(page, canvas, FIRST_COLOUR) > 50
    assert coloured_pixels(page, canvas, SECOND_COLOUR) > 50
    page.screenshot(path=str(screenshots / "compare.png"), full_page=True)


def test_compare_selection_lives_in_the_url(
    page: Any, server: Server, stock: Stock
) -> None:
    first, second = stock.sweep_ids()

    visit(page, server, f"#/compare?ids={first},{second}")
    page.wait_for_selector("#comparison tbody tr")

    shown = page.eval_on_selector_all(
        "#comparison tbody tr", "rows => rows.map(row => row.dataset.id)"
    )
    assert shown == [first, second]


def test_compare_a_sweep_from_the_list(page: Any, server: Server, stock: Stock) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))

    page.click(f'tr[data-id="{stock.ids["sweep0"]}"] a[title="compare this sweep"]')
    page.wait_for_selector("#comparison tbody tr")

    shown = page.eval_on_selector_all(
        "#comparison tbody tr", "rows => rows.map(row => row.dataset.id)"
    )
    assert shown == stock.sweep_ids()


def test_running_experiment_output_updates_live(
    page: Any, server: Server, stock: Stock, tmp_path: Path, screenshots: Path
) -> None:
    gate = tmp_path / "gate"
    experiment_id = start_running(stock, gate, name="live")
    try:
        visit(page, server, f"#/experiment/{experiment_id}")
        expect(page.locator("#output")).to_contain_text("waiting for the gate")
        assert page.locator("#title .badge").inner_text() == "running"
        assert page.locator("#output-note").inner_text() == "live"
        page.screenshot(path=str(screenshots / "running.png"), full_page=True)
    finally:
        finish_running(experiment_id, gate)

    expect(page.locator("#output")).to_contain_text("through the gate")
    expect(page.locator("#title .badge")).to_have_text("completed")


def test_list_refreshes_while_something_runs(
    page: Any, server: Server, stock: Stock, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    experiment_id = start_running(stock, gate, name="watched")
    badge = f'tr[data-id="{experiment_id}"] .badge'
    try:
        visit(page, server)
        page.wait_for_selector("#live")
        assert page.locator(badge).inner_text() == "running"
    finally:
        finish_running(experiment_id, gate)

    expect(page.locator(badge)).to_have_text("completed")
    expect(page.locator("#live")).to_have_count(0)


def test_list_refreshes_while_something_waits_in_a_queue(
    page: Any, server: Server, stock: Stock
) -> None:
    experiment_id = queue_waiting(stock)
    try:
        visit(page, server)
        expect(page.locator("#live")).to_contain_text("1 queued")
    finally:
        end_waiting(stock, experiment_id)

    expect(page.locator("#live")).to_have_count(0)


def test_hostile_text_is_shown_never_run(
    page: Any, server: Server, stock: Stock
) -> None:
    visit(page, server)
    wait_rows(page, len(stock.ids))
    row = page.locator(f'tr[data-id="{stock.ids["hostile"]}"]')

    assert row.locator("td.name").inner_text() == HOSTILE_NAME
    assert row.locator(".tag").inner_text() == HOSTILE_TAG

    visit(page, server, f"#/experiment/{stock.ids['hostile']}")
    expect(page.locator("#output")).to_contain_text("with lr")
    assert page.locator("#title").inner_text() == f"{HOSTILE_NAME} completed"
    assert HOSTILE_SAY in page.locator("#output").inner_text()
    assert page.locator("#view b, #view script, #view img").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_name_and_tags_can_be_edited_on_the_page(
    page: Any, server: Server, stock: Stock
) -> None:
    experiment_id = stock.ids["editable"]
    visit(page, server, f"#/experiment/{experiment_id}")
    page.wait_for_selector("#edit")

    page.fill("#edit input[name=name]", "named in the page")
    page.fill("#edit input[name=tags]", "picked, kept")
    page.click("#edit button[type=submit]")
    expect(page.locator("#edit-message")).to_have_text("saved")

    assert page.locator("#title").inner_text() == "named in the page completed"
    metadata = stock.project.metadata(stock.project.store / experiment_id)
    assert metadata["name"] == "named in the page"
    assert metadata["tags"] == ["picked", "kept"]
