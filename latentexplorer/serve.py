"""Serve the Voila dashboards of ``latentexplorer/dashboards/`` for one workspace, on 127.0.0.1 only.

Voila runs as a child process with ``$LATENTEXPLORER_WORKSPACE`` pointing at the workspace. It binds to
localhost, strips the notebooks' source from the pages, shows no tracebacks to the browser and (Voila's
default) refuses execute requests from the page: a visitor can move widgets, not run code. It runs under
the request policy of :mod:`latentexplorer.voila_app`: loopback host names only (and those of
``allowed_hosts``), no cross-site requests, and at most :attr:`ServerSizing.max_kernels` page kernels
(:attr:`ServerSizing.max_kernels_per_client` per client address); each refusal is one line of the server's
log, which :func:`serve` repeats on stderr.

Pages open fast and kernels do not pile up (:class:`ServerSizing`):

- **Preheated kernels** (Voila's ``preheat_kernel``): for every dashboard a pool of kernels has already
  executed the notebook, so a visitor gets a drawn page at once; the pool refills behind them.
- **Culling**: a kernel whose page is gone (no connection) and idle is shut down after ``cull_idle_s``
  (counted, for a kernel from the pool, from when it left the pool: :mod:`latentexplorer.voila_kernels`).
- **Closing a page frees its kernel**: the page's ``beforeunload`` beacon asks Voila to shut its kernel
  down. That POST carries no ``_xsrf`` cookie on ``/voila/render/`` pages, so the XSRF check is switched
  off: standalone Voila's only POST handlers act on a kernel whose random id the caller must know.

:class:`DashboardServer` stops Voila and every kernel when it is stopped, when it is garbage-collected
with the interpreter, and (Linux) when its own process dies (``PR_SET_PDEATHSIG``); :func:`serve` also
stops on SIGTERM, SIGINT and SIGHUP and when its parent process goes away. A Voila left without its
:class:`DashboardServer` (kill -9) shuts its kernels down and exits; kernels left without their Voila exit
(:mod:`latentexplorer.processes`).

>>> with DashboardServer("workspace/", port=0) as server:      # doctest: +SKIP
...     print(server.wait_until_ready())                       # http://127.0.0.1:PORT/
...     print(server.url("latent_explorer"))
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from .processes import Stopped, start_process_group, stop_on_signals, stop_process_group
from .widgets.display import WORKSPACE_ENV
from .workspace import WorkspacePaths

log = logging.getLogger(__name__)

__all__ = ["DASHBOARDS", "DASHBOARD_DIR", "HOST", "ServerSizing", "DashboardServer", "allowed_host_names", "serve",
           "workshop_memory"]

HOST = "127.0.0.1"
#: The dashboards, in the order they are listed.
DASHBOARDS = ("latent_explorer", "star_inspector", "jacobian_view", "disk_map")
#: Where the dashboard notebooks live (package data: ``latentexplorer/dashboards/``).
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"
#: Memory (PSS, MB) of one page kernel per dashboard and of Voila, for the memory ``serve --workshop`` expects:
#: measured with 40 page kernels at once on the default demo (200,000 stars) by ``python -m
#: benchmarks.bench_dashboards WORKSPACE --memory`` (2026-12-06, 2-core 24 GB x86-64 Linux, Debian chromium).
KERNEL_PSS_MB = {"latent_explorer": 129, "star_inspector": 144, "jacobian_view": 119, "disk_map": 111}
VOILA_PSS_MB = 214
#: Where to go when a workshop outgrows one machine.
BEYOND_ONE_MACHINE = 'deploy/README.md and the README section "Workshops beyond one machine"'
#: Page kernels one visitor may hold: every dashboard open, each once more while a reloaded page's old kernel
#: is being freed. The kernel caps are this many per visitor.
KERNELS_PER_VISITOR = 2 * len(DASHBOARDS)
#: A name ``allowed_hosts`` takes: a DNS name, an IPv4 address or a bracketed IPv6 address, with an optional port.
HOST_NAME = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?)(:\d{1,5})?", re.IGNORECASE)
#: A line the server's request policy logs for a refused request (:mod:`latentexplorer.voila_app`), from "refused" on.
REFUSED = re.compile(r"\brefused (?:request for|render of) .*")


@dataclass(frozen=True)
class ServerSizing:
    """How many kernels the server keeps ready and how soon it frees idle ones.

    pool_size : preheated kernels per dashboard (0: none, every page starts its own kernel).
    cull_idle_s : an unconnected kernel idle this long (seconds) is shut down.
    cull_interval_s : how often (seconds) the culler looks.
    fill_delay_s : seconds after a pooled kernel is handed out before its replacement starts. Keep it short:
        Voila hands the next visitor the oldest pool entry, ready or not, so a visitor arriving after the ready
        kernels are taken waits out this delay and the kernel's start (a minute's delay made the arrivals load
        test's p95 page-ready 16–48 s).
    max_kernels : most page kernels (kernels serving a page; the pool does not count) running at once; a
        render past it is refused (HTTP 503). Default :data:`KERNELS_PER_VISITOR` (one visitor).
    max_kernels_per_client : most page kernels serving one client address (past it: HTTP 429); None: the
        same as ``max_kernels`` — every visitor of a server on 127.0.0.1 arrives from a loopback address (a
        browser on the machine, an SSH tunnel, a proxy), so a lower cap here is for a server reached otherwise.
    """

    pool_size: int = 1
    cull_idle_s: int = 120
    cull_interval_s: int = 30
    fill_delay_s: float = 1.0
    max_kernels: int = KERNELS_PER_VISITOR
    max_kernels_per_client: int | None = None

    @classmethod
    def for_workshop(cls, visitors: int) -> ServerSizing:
        """Sizing for ``visitors`` people at once, each with every dashboard open: a pool per dashboard of a
        quarter of them (at least 2), refilled as soon as a kernel leaves it; idle pages freed after 10 minutes;
        page kernels capped at :data:`KERNELS_PER_VISITOR` per visitor."""
        if visitors < 1:
            raise ValueError(f"a workshop needs at least 1 visitor, got {visitors}")
        return cls(pool_size=max(2, math.ceil(visitors / 4)), cull_idle_s=600, cull_interval_s=60,
                   max_kernels=visitors * KERNELS_PER_VISITOR)

    def kernels(self, visitors: int = 0) -> int:
        """Kernels alive with ``visitors`` people each holding all four dashboards: the pools plus theirs."""
        return len(DASHBOARDS) * (self.pool_size + visitors)

    def voila_options(self) -> list[str]:
        """The Voila command-line options of this sizing."""
        per_client = self.max_kernels if self.max_kernels_per_client is None else self.max_kernels_per_client
        options = ["--VoilaConfiguration.multi_kernel_manager_class=latentexplorer.voila_kernels.PageKernelManager",
                   f"--DashboardVoila.max_kernels={int(self.max_kernels)}",
                   f"--DashboardVoila.max_kernels_per_client={int(per_client)}",
                   f"--MappingKernelManager.cull_idle_timeout={int(self.cull_idle_s)}",
                   f"--MappingKernelManager.cull_interval={int(self.cull_interval_s)}",
                   "--MappingKernelManager.cull_connected=False"]
        if self.pool_size > 0:
            options += ["--preheat_kernel=True", f"--pool_size={int(self.pool_size)}",
                        f"--VoilaKernelManager.fill_delay={float(self.fill_delay_s)}"]
        return options


def workshop_memory(visitors: int, sizing: ServerSizing, available_bytes: int | None = None) -> str:
    """What ``serve --workshop VISITORS`` says about memory: every visitor on all four dashboards plus the
    preheated pools (:data:`KERNEL_PSS_MB` each) and Voila (:data:`VOILA_PSS_MB`), against ``available_bytes``
    (default: this machine's available memory, ``psutil.virtual_memory().available``); past it, where to go
    (:data:`BEYOND_ONE_MACHINE`)."""
    import psutil

    available = psutil.virtual_memory().available if available_bytes is None else int(available_bytes)
    per_visitor = sum(KERNEL_PSS_MB.values())
    expected = VOILA_PSS_MB + (sizing.pool_size + visitors) * per_visitor
    line = (f"workshop of {visitors}: {sizing.pool_size} preheated kernel(s) per dashboard; with everyone on all "
            f"four dashboards, {sizing.kernels(visitors)} kernels and Voila ≈ {expected / 1024:.1f} GB "
            f"({per_visitor} MB per person, as measured on the 200,000-star demo: {', '.join(f'{n} {mb}' for n, mb in KERNEL_PSS_MB.items())} MB; "
            f"Voila {VOILA_PSS_MB} MB) of the {available / 2**30:.1f} GB available here; pages beyond "
            f"{sizing.max_kernels} kernels are refused")
    if expected * 2**20 <= available:
        return line
    fits = max(0, int((available / 2**20 - VOILA_PSS_MB) // per_visitor) - sizing.pool_size)
    return (f"{line}\nthat is more than this machine holds (about {fits} people fit here): serve the rest from "
            f"JupyterHub, see {BEYOND_ONE_MACHINE}")


def allowed_host_names(names) -> tuple[str, ...]:
    """The host names of ``names`` (as given to ``--allow-host``), lower case and without a port.

    Raises
    ------
    ValueError
        For one that is not a host name (a URL, a pattern, an empty name).
    """
    from tornado.httputil import split_host_and_port

    wrong = [name for name in names if not HOST_NAME.fullmatch(name)]
    if wrong:
        raise ValueError(f"--allow-host takes a host name such as dashboards.example.org, not {wrong[0]!r}")
    return tuple(split_host_and_port(name.lower())[0] for name in names)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 is taken."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


class DashboardServer:
    """A Voila process serving the dashboards for ``workspace`` at http://127.0.0.1:``port``/.

    Parameters
    ----------
    workspace : str or Path
        Workspace directory (must hold ``latent.h5``; dashboards say what else is missing).
    port : int
        TCP port; 0 picks a free one.
    dashboard_dir : Path, optional
        Directory of the dashboard notebooks; default :data:`DASHBOARD_DIR`.
    sizing : ServerSizing, optional
        Preheated pool, culling and kernel caps; default ``ServerSizing()`` (one ready kernel per dashboard).
    allowed_hosts : sequence of str, optional
        Host names answered besides localhost, 127.0.0.1 and [::1] (e.g. a proxy's name for this server).

    Raises
    ------
    FileNotFoundError
        If the workspace, its latent.h5 or the dashboard notebooks are missing.
    ValueError
        If the port is not in 0–65535 or already in use.
    """

    def __init__(self, workspace, port: int = 8866, dashboard_dir=None, sizing: ServerSizing | None = None,
                 allowed_hosts=()):
        self.workspace = WorkspacePaths(Path(workspace).expanduser().resolve())
        self.dashboard_dir = Path(dashboard_dir or DASHBOARD_DIR)
        self.sizing = sizing or ServerSizing()
        self.allowed_hosts = allowed_host_names(allowed_hosts)
        if not self.workspace.root.is_dir():
            raise FileNotFoundError(f"workspace {self.workspace.root} does not exist")
        if not self.workspace.latent.exists():
            raise FileNotFoundError(f"{self.workspace.root} has no latent.h5: build it first "
                                    "(`latentexplorer demo --build-only` or the pipeline's steps)")
        missing = [n for n in DASHBOARDS if not (self.dashboard_dir / f"{n}.ipynb").is_file()]
        if missing:
            raise FileNotFoundError(f"dashboard notebooks {missing} not found in {self.dashboard_dir}")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be in 0–65535, got {port}")
        if port and port_in_use(int(port)):
            raise ValueError(f"port {port} on {HOST} is already in use; choose another with --port")
        self.port = int(port) or free_port()
        self.process: subprocess.Popen | None = None
        self._log = None
        self._log_read = 0  # how far refusals() has read the log

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def url(self, dashboard: str) -> str:
        """URL of one dashboard (a name of :data:`DASHBOARDS`)."""
        if dashboard not in DASHBOARDS:
            raise ValueError(f"unknown dashboard {dashboard!r}; choose from {', '.join(DASHBOARDS)}")
        return f"{self.base_url}voila/render/{dashboard}.ipynb"

    def start(self) -> DashboardServer:
        """Start Voila (returns at once; see :meth:`wait_until_ready`)."""
        if self.process is not None:
            raise ValueError("this server is already started")
        from .widgets.star_view import prepare_columns

        log.info("column stores ready: %s", ", ".join(prepare_columns(self.workspace.root)))  # before any kernel
        env = dict(os.environ, **{WORKSPACE_ENV: str(self.workspace.root)})
        command = [sys.executable, "-m", "latentexplorer.voila_app", str(self.dashboard_dir), "--no-browser",
                   f"--port={self.port}", f"--Voila.ip={HOST}", "--strip_sources=True", "--show_tracebacks=False",
                   "--Voila.tornado_settings", "disable_check_xsrf=True",
                   # a visitor's ?template= or ?theme= picks no file (a path there was a server error)
                   "--VoilaConfiguration.allow_template_override=NO", "--VoilaConfiguration.allow_theme_override=NO",
                   *(f"--DashboardVoila.allowed_hosts={name}" for name in self.allowed_hosts),
                   *self.sizing.voila_options()]
        self._log = tempfile.TemporaryFile(prefix="latentexplorer-voila-")
        self.process = start_process_group(command, env=env, cwd=self.dashboard_dir, stdout=self._log,
                                           stderr=subprocess.STDOUT)
        log.info("voila started (pid %d) on %s for %s", self.process.pid, self.base_url, self.workspace.root)
        return self

    def output(self) -> str:
        """What Voila has printed so far (its log)."""
        return self._log_bytes(0).decode(errors="replace")

    def refusals(self) -> list[str]:
        """The lines Voila has logged for refused requests (:mod:`latentexplorer.voila_app`) since the last call,
        each from its word "refused" on."""
        text = self._log_bytes(self._log_read)
        complete = text[: text.rfind(b"\n") + 1]
        self._log_read += len(complete)
        return [match.group(0) for match in map(REFUSED.search, complete.decode(errors="replace").splitlines())
                if match]

    def _log_bytes(self, start: int) -> bytes:
        """Voila's log from byte ``start`` on (read without moving the file offset Voila writes at)."""
        if self._log is None:
            return b""
        chunks = []
        while chunk := os.pread(self._log.fileno(), 1 << 20, start):
            chunks.append(chunk)
            start += len(chunk)
        return b"".join(chunks)

    def kernel_pids(self) -> list[int]:
        """Process ids of the kernels Voila runs now (its child processes)."""
        import psutil

        if self.process is None or self.process.poll() is not None:
            return []
        try:
            return [p.pid for p in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_until_ready(self, timeout: float = 60.0) -> str:
        """Block until Voila answers HTTP on its port; returns :attr:`base_url`.

        Raises
        ------
        RuntimeError
            If Voila exits first (its log is in the message) or does not answer within ``timeout`` seconds.
        """
        if self.process is None:
            self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"voila exited with code {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base_url, timeout=2) as response:
                    if response.status == 200:
                        return self.base_url
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(f"voila did not answer on {self.base_url} within {timeout:.0f} s:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop Voila and every kernel (:func:`latentexplorer.processes.stop_process_group`: SIGTERM, then
        SIGKILL after ``timeout`` s, to Voila's process group and to kernels it started)."""
        if self.process is not None:
            stop_process_group(self.process, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(workspace, port: int = 8866, open_browser: bool = True, ready_timeout: float = 120.0,
          sizing: ServerSizing | None = None, allowed_hosts=()) -> int:
    """Serve the dashboards for ``workspace`` until stopped; returns 0 when stopped, else Voila's exit status.

    Prints the URLs once Voila answers and, with ``open_browser``, opens the first dashboard; then repeats
    on stderr each line Voila logs for a refused request. SIGTERM, SIGINT (Ctrl-C), SIGHUP and the death of
    the parent process stop Voila and every kernel.
    """
    server = DashboardServer(workspace, port, sizing=sizing, allowed_hosts=allowed_hosts)
    try:
        # Voila starts before the handlers: a signal during the start kills this process, and Voila with it.
        with server, stop_on_signals(watch_parent=True):
            start = time.perf_counter()
            server.wait_until_ready(ready_timeout)
            print(f"dashboards for {server.workspace.root} ready in {time.perf_counter() - start:.1f} s at "
                  f"{server.base_url} ({server.sizing.pool_size} preheated kernel(s) per dashboard; Ctrl-C to stop)",
                  flush=True)
            for name in DASHBOARDS:
                print(f"  {name:<16} {server.url(name)}", flush=True)
            if open_browser:
                webbrowser.open(server.url(DASHBOARDS[0]))
            while (status := server.process.poll()) is None:
                for line in server.refusals():
                    print(line, file=sys.stderr, flush=True)
                time.sleep(0.5)
            return status
    except Stopped as reason:
        print(f"stopping the dashboards ({reason})", flush=True)
        return 0
