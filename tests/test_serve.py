"""`latentexplorer serve`: preheated pages, kernels freed when pages go, kernel caps and refusals said on
stderr, and nothing left behind on any signal — kill -9 included."""

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
from demo_workspace import tiny_workspace
from processes import is_kernel

from latentexplorer.cli import main
from latentexplorer.serve import DASHBOARDS, DashboardServer, ServerSizing, allowed_host_names
from latentexplorer.voila_kernels import PageKernelManager

pytestmark = pytest.mark.slow


def _serve(extra_args=(), preexec_fn=None) -> subprocess.Popen:
    """`latentexplorer serve` on the tiny workspace in a child process, on a free port."""
    return subprocess.Popen([sys.executable, "-m", "latentexplorer", "serve", str(tiny_workspace()), "--port", "0",
                             "--no-browser", *extra_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, preexec_fn=preexec_fn)


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The lines ``proc`` prints (stdout and stderr), as they come (a reader thread; None at the end)."""
    lines = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue, pattern: str, timeout: float = 120.0) -> re.Match:
    """The match of ``pattern`` in the next line of ``lines`` that has one (AssertionError after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while (line := lines.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"the process ended before printing a line matching {pattern!r}")


def _answers(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def _wait_for_kernels(pid: int, n: int, timeout: float = 120.0) -> list[psutil.Process]:
    """The descendants of ``pid`` once at least ``n`` of them are kernels (ipykernel processes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        family = psutil.Process(pid).children(recursive=True)
        if sum(map(is_kernel, family)) >= n:
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


def test_workshop_pools_refill_at_once():
    """Voila hands a visitor the oldest pool entry, ready or not: a refill held back would make whoever arrives
    after the ready kernels wait out the hold as well as the kernel's start."""
    sizing = ServerSizing.for_workshop(30)
    assert sizing.fill_delay_s <= 1.0
    assert f"--VoilaKernelManager.fill_delay={sizing.fill_delay_s}" in sizing.voila_options()


def test_kernel_caps_default_to_every_dashboard_twice_per_visitor():
    assert ServerSizing().max_kernels == 2 * len(DASHBOARDS)
    assert ServerSizing.for_workshop(30).max_kernels == 30 * 2 * len(DASHBOARDS)
    options = ServerSizing(max_kernels=20).voila_options()
    assert "--DashboardVoila.max_kernels=20" in options
    assert "--DashboardVoila.max_kernels_per_client=20" in options  # per client: the server's cap unless set


def test_cap_and_host_options_are_checked(capsys):
    assert allowed_host_names(["Dashboards.Example:443", "[::1]", "10.0.0.7"]) == ("dashboards.example", "[::1]",
                                                                                  "10.0.0.7")
    for wrong in (["--allow-host", "http://dashboards.example/"], ["--allow-host", "*.example"],
                  ["--max-kernels", "0"], ["--max-kernels-per-client", "-1"]):
        assert main(["serve", str(tiny_workspace()), "--no-browser", *wrong]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_renders_arriving_together_count_against_the_caps_before_their_kernels_start():
    kernels = PageKernelManager()
    with kernels.page_render("127.0.0.1") as claim, kernels.page_render("127.0.0.1"), kernels.page_render("::1"):
        assert (kernels.page_kernels(), kernels.page_kernels("127.0.0.1"), kernels.page_kernels("::1")) == (3, 2, 1)
        claim("a-kernel-that-is-not-running")  # the place passes to the kernel, which counts while it runs
        assert kernels.page_kernels("127.0.0.1") == 1
    assert kernels.page_kernels() == 0


def test_serve_says_each_refused_request_in_one_line_on_stderr():
    proc = _serve(["--pool-size", "0"])
    try:
        lines = _lines(proc)
        port = int(_next_line(lines, r"ready in .* at http://127\.0\.0\.1:(\d+)/").group(1))
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /voila/render/star_inspector.ipynb HTTP/1.1\r\nHost: attacker.example\r\n\r\n")
            assert s.makefile("rb").readline().split()[1] == b"403"
        said = _next_line(lines, r"refused .*", timeout=10).group(0)
        assert said == ("refused request for '/voila/render/star_inspector.ipynb' from 127.0.0.1: "
                        "Host 'attacker.example' is not an allowed name (127.0.0.1, [::1], localhost; "
                        "more with --allow-host)")
    finally:
        proc.terminate()
        proc.wait(60)


def test_a_server_child_dies_with_its_parent_even_when_the_parent_runs_threads():
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys, threading, time\n"
        "from latentexplorer.processes import start_process_group\n"
        "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
        "child = start_process_group([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n")], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        parent.kill()
        parent.wait()
        psutil.wait_procs([child], timeout=5)
        assert _alive([child]) == []
    finally:
        with contextlib.suppress(psutil.Error):
            child.kill()


def test_kill_9_of_serve_stops_voila_and_every_kernel():
    proc = _serve()
    family = []
    try:
        port = int(_next_line(_lines(proc), r"ready in .* at http://127\.0\.0\.1:(\d+)/").group(1))
        family = _wait_for_kernels(proc.pid, len(DASHBOARDS))  # Voila and its kernels
        proc.kill()
        proc.wait()
        psutil.wait_procs(family, timeout=15)
        assert _alive(family) == []
        assert not _answers(port)
    finally:
        proc.kill()
        for p in family:  # what a failure left behind
            with contextlib.suppress(psutil.Error):
                p.kill()


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


def test_workshop_memory_says_what_to_expect_and_where_to_go_past_the_machine():
    from latentexplorer.serve import KERNEL_PSS_MB, VOILA_PSS_MB, workshop_memory

    sizing = ServerSizing.for_workshop(30)
    expected_mb = VOILA_PSS_MB + (sizing.pool_size + 30) * sum(KERNEL_PSS_MB.values())
    roomy = workshop_memory(30, sizing, available_bytes=2 * expected_mb * 2**20)
    assert f"≈ {expected_mb / 1024:.1f} GB" in roomy and "152 kernels" in roomy and "deploy/README.md" not in roomy
    small = workshop_memory(30, sizing, available_bytes=4 * 2**30)
    assert small.startswith(roomy.split(" of the ")[0]) and "more than this machine holds" in small
    assert 'deploy/README.md and the README section "Workshops beyond one machine"' in small
