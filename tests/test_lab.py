"""`latentexplorer lab`: its errors and notebook copy (fast), then the real thing: JupyterLab runs the workshop
notebook 03 in Debian's chromium (Playwright), a latent slider redraws the decoded PSD, SIGTERM stops it all.

The command runs as it would for a user (a child process: it copies the notebooks, then starts JupyterLab
in its own process group), on the tiny test workspace and a temporary notebook folder. Jupyter's user
folders (config, settings, workspaces, runtime, data) are temporary too, so nothing outside the repository
and the tiny workspace matters; the config sets the login token and exposes the app as ``window.jupyterapp``
so the page can be told to run all cells. Values are read back from the page's Bokeh documents.
"""

import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from demo_workspace import tiny_workspace
from processes import is_kernel
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, FIND_SOURCE, drag_slider

from latentexplorer.cli import main
from latentexplorer.commands.lab import copy_notebooks
from latentexplorer.processes import start_process_group, stop_process_group

NOTEBOOK = "03_exploring_the_latent_space.ipynb"
TOKEN = "latentexplorer-test-token"
TIMEOUT_MS = 120_000
#: A notebook of "the user" already in the notebook folder: the command must leave it as it is.
USER_NOTEBOOK = "01_light_curve_to_psd.ipynb"
USER_EDIT = {"cells": [], "metadata": {"edited": "by the user"}, "nbformat": 4, "nbformat_minor": 5}
#: The name the command is told to answer besides the loopback ones (``--allow-host``).
ALLOWED = "lab.example"


@dataclass
class Lab:
    process: object
    base_url: str
    notebook_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def api(self, path: str, method: str = "GET", body: dict | None = None):
        request = urllib.request.Request(f"{self.base_url}api/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """`latentexplorer lab TINY_WORKSPACE` on a free port, stopped (with its kernels) at the end."""
    root = tmp_path_factory.mktemp("lab")
    notebook_dir = root / "notebooks"
    notebook_dir.mkdir()
    (notebook_dir / USER_NOTEBOOK).write_text(json.dumps(USER_EDIT))
    config = {"IdentityProvider": {"token": TOKEN}, "ServerApp": {"allow_root": True},
              "LabApp": {"expose_app_in_browser": True, "news_url": None,
                         "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate"}}
    (root / "config").mkdir()
    for name in ("jupyter_server_config.json", "jupyter_lab_config.json"):
        (root / "config" / name).write_text(json.dumps(config))
    notification = root / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))  # offline: no toasts
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_DATA_DIR=str(root / "data"),
               JUPYTER_RUNTIME_DIR=str(root / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(root / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(root / "workspaces"), IPYTHONDIR=str(root / "ipython"))
    env.pop("LATENTEXPLORER_WORKSPACE", None)  # the command must set it
    port = _free_port()
    log = root / "lab.log"
    with log.open("wb") as out:
        process = start_process_group([sys.executable, "-m", "latentexplorer", "lab", tiny_workspace(),
                                       "--port", str(port), "--no-browser", "--notebook-dir", notebook_dir,
                                       "--allow-host", ALLOWED],
                                      env=env, stdout=out, stderr=out)
    server = Lab(process, f"http://127.0.0.1:{port}/", notebook_dir, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"latentexplorer lab exited with {process.returncode}:\n{server.output()[-3000:]}")
            try:
                server.api("status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 120 s:\n{server.output()[-3000:]}")
                time.sleep(0.3)
        yield server
    finally:
        stop_process_group(process, timeout=30)  # a no-op once the last test has stopped it


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_lab_says_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["lab"]) == 2
    assert "demo workspace" in capsys.readouterr().err
    assert main(["lab", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["lab", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a latentexplorer workspace" in err and err.count("\n") == 1


def test_copy_notebooks_keeps_the_users(tmp_path):
    (tmp_path / USER_NOTEBOOK).write_text("mine")
    copied, kept = copy_notebooks(tmp_path)
    assert kept == [USER_NOTEBOOK] and len(copied) == 4 and NOTEBOOK in copied
    assert (tmp_path / USER_NOTEBOOK).read_text() == "mine"
    assert copy_notebooks(tmp_path) == ([], sorted([USER_NOTEBOOK, *copied]))


@pytest.mark.slow
def test_notebooks_are_copied_without_overwriting_the_users(lab):
    names = sorted(p.name for p in lab.notebook_dir.glob("*.ipynb"))
    assert names == sorted(p.name for p in (Path(__file__).resolve().parent.parent / "latentexplorer" / "notebooks")
                           .glob("*.ipynb"))
    assert json.loads((lab.notebook_dir / USER_NOTEBOOK).read_text()) == USER_EDIT
    assert "4 copied, 1 of yours kept" in lab.output()


def _open_notebook(chromium, url: str):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append((f"page error: {e}", "")))
    page.goto(url, timeout=TIMEOUT_MS)
    return page, errors


#: The notebook panel in JupyterLab's main area once it is open with a connected, idle kernel.
NOTEBOOK_READY = f"""() => {{
    const app = window.jupyterapp, panel = app && app.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
                   && panel.sessionContext.session.kernel;
    return !!(kernel && panel.context.path.endsWith('{NOTEBOOK}') && kernel.connectionStatus === 'connected'
              && kernel.status === 'idle');
}}"""
#: All code cells executed (each has an execution count) and the kernel idle again.
ALL_CELLS_RUN = """() => {
    const panel = window.jupyterapp.shell.currentWidget, kernel = panel.sessionContext.session.kernel;
    const code = panel.content.widgets.filter(c => c.model.type === 'code');
    return kernel.status === 'idle' && code.every(c => c.model.executionCount !== null);
}"""
CELL_ERRORS = """() => window.jupyterapp.shell.currentWidget.content.widgets
    .filter(c => c.model.type === 'code')
    .flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => `${o.ename}: ${o.evalue}`))"""


def _settled(page, expression: str, timeout: float = 30.0):
    """The value of ``expression`` in the page once it has stayed the same for a second."""
    value, deadline = page.evaluate(expression), time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        value, previous = page.evaluate(expression), value
        if value == previous:
            break
    return value


@pytest.mark.browser
@pytest.mark.slow
def test_latent_explorer_runs_and_redraws_in_jupyterlab(lab, browser):
    start = time.perf_counter()
    page, errors = _open_notebook(browser, f"{lab.base_url}lab/tree/{NOTEBOOK}?token={TOKEN}")
    try:
        page.wait_for_function(NOTEBOOK_READY, timeout=TIMEOUT_MS)
        opened = time.perf_counter() - start
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        page.wait_for_function(f"() => {{ const m = window.Bokeh && ({FIND_SOURCE})('decoded_psd');"
                               " return !!m && Object.values(m.data).some(c => c.length > 0); }",
                               timeout=TIMEOUT_MS)
        page.wait_for_function(ALL_CELLS_RUN, timeout=TIMEOUT_MS)
        drawn = time.perf_counter() - start
        assert page.evaluate(CELL_ERRORS) == []
        page.wait_for_timeout(500)  # let the views finish their first paint
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_latent_explorer.png"))

        data = f"() => Array.from(({FIND_SOURCE})('decoded_psd').data.log_psd)"
        before = _settled(page, data)  # the last cell moved the sliders from Python: let the page catch up
        handle = page.locator(".jp-OutputArea .noUi-handle").first
        handle.scroll_into_view_if_needed(timeout=TIMEOUT_MS)
        readout = handle.locator("xpath=ancestor::div[contains(@class, 'widget-slider')][1]").locator(".widget-readout")
        shown = readout.inner_text()
        index = page.evaluate("h => [...document.querySelectorAll('.noUi-handle')].indexOf(h)", handle.element_handle())
        drag_slider(page, index, 120)
        page.wait_for_function(
            f"before => {{ const d = Array.from(({FIND_SOURCE})('decoded_psd').data.log_psd);"
            " return d.some((v, i) => Math.abs(v - before[i]) > 1e-6); }", arg=before, timeout=TIMEOUT_MS)
        after = page.evaluate(data)
        print(f"JupyterLab: notebook open with an idle kernel in {opened:.1f} s, all cells run and drawn in "
              f"{drawn:.1f} s, slider redraw in {time.perf_counter() - start - drawn:.1f} s")
        assert readout.inner_text() != shown  # the slider moved
        assert len(after) == len(before) > 0
        assert max(abs(a - b) for a, b in zip(after, before)) > 1e-6
        page.screenshot(path=str(ARTIFACTS / "jupyterlab_latent_explorer_moved.png"))
        own = [text for text, url in errors if not (text.startswith("Failed to load resource")
                                                    and not url.startswith(lab.base_url))]
        print(f"console errors: {len(own)} (+ {len(errors) - len(own)} for resources of other hosts)")
        assert own == []
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.parametrize("host, status", [("attacker.example", 403), (f"{ALLOWED}:8888", 200), ("localhost", 200)])
def test_jupyterlab_answers_loopback_names_and_allow_host_only(lab, host, status):
    request = urllib.request.Request(f"{lab.base_url}api/status", headers={"Host": host,
                                                                           "Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == status
    except urllib.error.HTTPError as err:
        assert err.code == status


@pytest.mark.slow
def test_sigterm_stops_jupyterlab_and_its_kernels(lab):
    """Runs last: SIGTERM to the command stops JupyterLab and every kernel (those of the page, and one more)."""
    lab.api("kernels", "POST", {"name": "python3"})
    deadline = time.monotonic() + 60
    while not (family := psutil.Process(lab.process.pid).children(recursive=True)) or \
            not any(map(is_kernel, family)):
        assert time.monotonic() < deadline, "no kernel process appeared"
        time.sleep(0.2)
    lab.process.send_signal(signal.SIGTERM)
    assert lab.process.wait(60) == 128 + signal.SIGTERM
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == [], f"left running: {[' '.join(p.cmdline()) for p in alive]}"
    assert "JupyterLab stopped" in lab.output()
