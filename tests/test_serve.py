"""`latentexplorer serve`: preheated pages, kernels freed when pages go, and nothing left behind on any signal."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from demo_workspace import tiny_workspace

from latentexplorer.cli import main
from latentexplorer.serve import DASHBOARDS, DashboardServer, ServerSizing

pytestmark = pytest.mark.slow


def _serve(extra_args=(), preexec_fn=None) -> subprocess.Popen:
    """`latentexplorer serve` on the tiny workspace in a child process, on a free port."""
    return subprocess.Popen([sys.executable, "-m", "latentexplorer", "serve", str(tiny_workspace()), "--port", "0",
                             "--no-browser", *extra_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=preexec_fn)


def _wait_for_kernels(pid: int, n: int, timeout: float = 120.0) -> list[psutil.Process]:
    """The descendants of ``pid`` once at least ``n`` of them are kernels (ipykernel processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        family = psutil.Process(pid).children(recursive=True)
        if sum("ipykernel" in " ".join(p.cmdline()) for p in family if p.is_running()) >= n:
            return family
        time.sleep(0.5)
    raise AssertionError(f"fewer than {n} kernels under pid {pid} after {timeout:.0f} s")


def _alive(processes) -> list[int]:
    """Pids of ``processes`` still running (zombies count as gone)."""
    alive = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_workshop_sizing_pools_a_quarter_of_the_visitors(capsys):
    sizing = ServerSizing.for_workshop(30)
    assert sizing.pool_size == 8 and sizing.kernels(30) == 4 * (8 + 30)
    assert "--preheat_kernel=True" in sizing.voila_options() and "--pool_size=8" in sizing.voila_options()
    with pytest.raises(ValueError, match="at least 1 visitor"):
        ServerSizing.for_workshop(0)
    assert main(["serve", str(tiny_workspace()), "--workshop", "0"]) == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_stops_voila_and_every_kernel(sig):
    # a script's background job ignores SIGINT: serve must still act on it
    ignore_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sig == signal.SIGINT else None
    proc = _serve(preexec_fn=ignore_sigint)
    try:
        family = _wait_for_kernels(proc.pid, len(DASHBOARDS))
        proc.send_signal(sig)
        assert proc.wait(60) == 0
        psutil.wait_procs(family, timeout=20)
        assert _alive(family) == []
        assert "stopping the dashboards" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_stops_when_its_parent_dies():
    launcher = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-m', 'latentexplorer', 'serve', {str(tiny_workspace())!r}, "
        "'--port', '0', '--no-browser'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    serve_pid = int(launcher.stdout.readline())
    try:
        family = [psutil.Process(serve_pid), *_wait_for_kernels(serve_pid, len(DASHBOARDS))]
        launcher.kill()  # the parent goes away without a word
        launcher.wait()
        psutil.wait_procs(family, timeout=60)
        assert _alive(family) == []
    finally:
        for p in psutil.Process(os.getpid()).children(recursive=True):
            if p.pid == serve_pid or p.pid == launcher.pid:
                p.kill()


@pytest.mark.browser
def test_closing_or_reloading_pages_frees_their_kernels():
    from test_browser import CHROMIUM, CHROMIUM_ARGS, FIND_SOURCE, READY_SOURCE

    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    sizing = ServerSizing(pool_size=1, cull_idle_s=15, cull_interval_s=2)
    with DashboardServer(tiny_workspace(), port=0, sizing=sizing) as server, sync_playwright() as p:
        server.wait_until_ready(120)
        pool = len(DASHBOARDS) * sizing.pool_size
        _wait_for_kernels(server.process.pid, pool)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        def wait_drawn(page, name):
            page.wait_for_function(f"() => {{ const m = window.Bokeh && ({FIND_SOURCE})('{READY_SOURCE[name]}');"
                                   " return m && Object.values(m.data).some(c => c.length > 0); }", timeout=120_000)

        pages = []
        for name in DASHBOARDS:
            page = browser.new_page()
            page.goto(server.url(name), timeout=120_000)
            wait_drawn(page, name)
            page.reload(timeout=120_000)  # the first kernel's page is gone: its kernel must go too
            wait_drawn(page, name)
            pages.append(page)
        assert len(server.kernel_pids()) > pool  # the visitors' kernels
        for page in pages:
            page.goto("about:blank")  # leaving the page sends Voila the shutdown beacon
            page.close()
        browser.close()
        deadline = time.monotonic() + 60
        while len(server.kernel_pids()) > pool and time.monotonic() < deadline:
            time.sleep(1)
        assert len(server.kernel_pids()) == pool
