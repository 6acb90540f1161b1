"""Serve the Voila dashboards of ``latentexplorer/dashboards/`` for one workspace, on 127.0.0.1 only.

Voila runs as a child process with ``$LATENTEXPLORER_WORKSPACE`` pointing at the workspace. It binds to
localhost, strips the notebooks' source from the pages, shows no tracebacks to the browser and (Voila's
default) refuses execute requests from the page: a visitor can move widgets, not run code.

>>> with DashboardServer("workspace/", port=0) as server:      # doctest: +SKIP
...     print(server.wait_until_ready())                       # http://127.0.0.1:PORT/
...     print(server.url("latent_explorer"))
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

from .widgets.display import WORKSPACE_ENV
from .workspace import WorkspacePaths

log = logging.getLogger(__name__)

__all__ = ["DASHBOARDS", "DASHBOARD_DIR", "HOST", "DashboardServer", "serve"]

HOST = "127.0.0.1"
#: The dashboards, in the order they are listed.
DASHBOARDS = ("latent_explorer", "star_inspector", "jacobian_view", "disk_map")
#: Where the dashboard notebooks live (package data: ``latentexplorer/dashboards/``).
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
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

    Raises
    ------
    FileNotFoundError
        If the workspace, its latent.h5 or the dashboard notebooks are missing.
    ValueError
        If the port is not in 0–65535 or already in use.
    """

    def __init__(self, workspace, port: int = 8866, dashboard_dir=None):
        self.workspace = WorkspacePaths(Path(workspace).expanduser().resolve())
        self.dashboard_dir = Path(dashboard_dir or DASHBOARD_DIR)
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
        if port and _port_in_use(int(port)):
            raise ValueError(f"port {port} on {HOST} is already in use; choose another with --port")
        self.port = int(port) or _free_port()
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def url(self, dashboard: str) -> str:
        """URL of one dashboard (a name of :data:`DASHBOARDS`)."""
        if dashboard not in DASHBOARDS:
            raise ValueError(f"unknown dashboard {dashboard!r}; choose from {', '.join(DASHBOARDS)}")
        return f"{self.base_url}voila/render/{dashboard}.ipynb"

    def start(self) -> "DashboardServer":
        """Start Voila (returns at once; see :meth:`wait_until_ready`)."""
        if self.process is not None:
            raise ValueError("this server is already started")
        env = dict(os.environ, **{WORKSPACE_ENV: str(self.workspace.root)})
        command = [sys.executable, "-m", "voila", str(self.dashboard_dir), "--no-browser", f"--port={self.port}",
                   f"--Voila.ip={HOST}", "--strip_sources=True", "--show_tracebacks=False"]
        self._log = tempfile.TemporaryFile(prefix="latentexplorer-voila-")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=self.dashboard_dir)
        log.info("voila started (pid %d) on %s for %s", self.process.pid, self.base_url, self.workspace.root)
        return self

    def output(self) -> str:
        """What Voila has printed so far (its log)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

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

    def stop(self) -> None:
        """Stop Voila (terminate, then kill after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "DashboardServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(workspace, port: int = 8866, open_browser: bool = True, ready_timeout: float = 60.0) -> int:
    """Serve the dashboards for ``workspace`` until interrupted (Ctrl-C); returns Voila's exit status (0 on Ctrl-C).

    Prints the URLs once Voila answers and, with ``open_browser``, opens the first dashboard.
    """
    server = DashboardServer(workspace, port)
    with server:
        start = time.perf_counter()
        server.wait_until_ready(ready_timeout)
        print(f"dashboards for {server.workspace.root} ready in {time.perf_counter() - start:.1f} s at "
              f"{server.base_url} (Ctrl-C to stop)")
        for name in DASHBOARDS:
            print(f"  {name:<16} {server.url(name)}")
        if open_browser:
            webbrowser.open(server.url(DASHBOARDS[0]))
        try:
            return server.process.wait()
        except KeyboardInterrupt:
            print("stopping the dashboards")
            return 0
