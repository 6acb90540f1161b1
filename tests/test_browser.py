"""The dashboards in a real browser: Voila serves them, Debian's chromium (through Playwright) drives them.

Values are read back from the page's Bokeh documents (the named ColumnDataSources the widgets fill).
Screenshots go to test-artifacts/. Page load times are printed (run with -s to see them).
"""

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from demo_workspace import tiny_workspace

from latentexplorer.io.pairs import read_pair_ids
from latentexplorer.serve import DASHBOARDS, DashboardServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
LOAD_TIMEOUT_MS = 240_000
#: A source each dashboard's Bokeh document fills when its Python side has drawn.
READY_SOURCE = {"latent_explorer": "decoded_psd", "star_inspector": "inspector_reconstructed_psd",
                "jacobian_view": "jacobian", "disk_map": "age_distributions"}

FIND_SOURCE = "name => Bokeh.documents.map(d => d.get_model_by_name(name)).find(m => m)"


@dataclass
class Dashboard:
    page: object
    load_s: float
    errors: list = field(default_factory=list)

    def data(self, name: str, column: str) -> list:
        """A column of the named ColumnDataSource in the page, as a list."""
        return self.page.evaluate(f"([n, c]) => Array.from(({FIND_SOURCE})(n).data[c])", [name, column])

    def page_errors(self, base_url: str) -> list[str]:
        """Console errors of the dashboard itself: resources the page asks of other hosts (Voila's template
        asks a CDN for fonts, which fails offline) are not the dashboard's."""
        return [text for text, url in self.errors if not (text.startswith("Failed to load resource")
                                                          and not url.startswith(base_url))]


@pytest.fixture(scope="module")
def server():
    with DashboardServer(tiny_workspace(), port=0) as srv:
        srv.wait_until_ready(120)
        yield srv


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def dashboards(server, browser):
    """name → Dashboard, each page opened on first use and kept for the module."""
    opened = {}

    def open_(name):
        if name not in opened:
            page = browser.new_page(viewport={"width": 1300, "height": 1150})
            errors = []
            page.on("console", lambda m: errors.append((m.text, m.location.get("url", ""))) if m.type == "error"
                    else None)
            page.on("pageerror", lambda e: errors.append((f"page error: {e}", "")))
            start = time.perf_counter()
            page.goto(server.url(name), timeout=LOAD_TIMEOUT_MS)
            page.wait_for_function(f"() => {{ const m = window.Bokeh && ({FIND_SOURCE})('{READY_SOURCE[name]}');"
                                   " return m && Object.values(m.data).some(c => c.length > 0); }",
                                   timeout=LOAD_TIMEOUT_MS)
            page.wait_for_timeout(500)  # let the views finish their first paint
            opened[name] = Dashboard(page, time.perf_counter() - start, errors)
            print(f"{name}: page ready in {opened[name].load_s:.1f} s")
        return opened[name]

    yield open_
    for dashboard in opened.values():
        dashboard.page.close()


def drag_slider(page, index: int, dx: float) -> None:
    """Drag the handle of the ``index``-th ipywidgets slider of the page by ``dx`` pixels."""
    box = page.locator(".noUi-handle").nth(index).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + dx, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()


@pytest.mark.parametrize("name", DASHBOARDS)
def test_dashboard_serves_without_errors(name, dashboards, server):
    dashboard = dashboards(name)
    ARTIFACTS.mkdir(exist_ok=True)
    dashboard.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert dashboard.page_errors(server.base_url) == []
    html = dashboard.page.content()
    assert "lw.setup_notebook()" not in html  # no notebook source in the page
    assert server.base_url.startswith("http://127.0.0.1:")


def test_latent_slider_changes_the_plotted_psd(dashboards, server):
    dashboard = dashboards("latent_explorer")
    before = dashboard.data("decoded_psd", "log_psd")
    drag_slider(dashboard.page, 0, 120)
    dashboard.page.wait_for_function(
        f"before => {{ const d = Array.from(({FIND_SOURCE})('decoded_psd').data.log_psd);"
        " return d.some((v, i) => Math.abs(v - before[i]) > 1e-6); }", arg=before, timeout=60_000)
    after = dashboard.data("decoded_psd", "log_psd")
    assert len(after) == len(before) == 2092
    assert max(abs(a - b) for a, b in zip(after, before)) > 1e-6
    assert dashboard.page_errors(server.base_url) == []


def test_star_picker_updates_the_inspector(dashboards, server):
    dashboard = dashboards("star_inspector")
    target = read_pair_ids(tiny_workspace() / "pairs.h5")[3]
    shown = dashboard.data("inspector_selected", "x")
    box = dashboard.page.locator(".widget-text input[list]")  # the Combobox
    box.fill(target)
    box.press("Enter")
    dashboard.page.wait_for_function(
        "t => Array.from(document.querySelectorAll('.widget-html-content')).some(e => e.textContent.includes(t))",
        arg=target, timeout=60_000)
    assert dashboard.data("inspector_selected", "x") != shown
    assert len(dashboard.data("inspector_observed_psd", "log_psd")) == 2092
    assert dashboard.page_errors(server.base_url) == []


def test_disk_map_click_draws_an_orbit(dashboards, server):
    dashboard = dashboards("disk_map")
    page = dashboard.page
    drag_slider(page, 0, 600)  # σ_age/age cut to its loosest: tiny workspaces have large age errors
    page.wait_for_timeout(2000)
    where = page.evaluate("""([R, z]) => {
        const view = [...Bokeh.index.all_views()].find(v => v.model.name === 'rz_map');
        const rect = view.canvas_view.el.getBoundingClientRect();
        return {x: rect.left + view.frame.x_scale.compute(R), y: rect.top + view.frame.y_scale.compute(z)};
    }""", [8.2, 0.0])
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function(f"() => ({FIND_SOURCE})('orbit').data.x.length > 0", timeout=60_000)
    R = dashboard.data("orbit", "R")
    assert len(R) > 100 and 0 < min(R) < max(R) < 50  # kpc
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "disk_map_orbit.png"), full_page=True)
    assert dashboard.page_errors(server.base_url) == []


def test_server_refuses_a_busy_port(server):
    with pytest.raises(ValueError, match="already in use"):
        DashboardServer(tiny_workspace(), port=server.port)


def test_server_needs_a_workspace(tmp_path):
    with pytest.raises(FileNotFoundError, match="no latent.h5"):
        DashboardServer(tmp_path)


def test_disk_map_of_the_mock_shows_its_truth_view(dashboards):
    dashboard = dashboards("disk_map")
    for name in ("true_rz_map_image", "true_abundance_map_image", "residual_rz_map_image"):
        assert len(dashboard.data(name, "image")) == 1
    assert len(dashboard.data("age_distributions", "inner_true")) > 0
    assert "TRUE median age of the same stars" in dashboard.page.content()
