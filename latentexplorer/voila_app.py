"""The dashboards' Voila server: Voila under the request policy of ``latentexplorer serve``.

Run as ``python -m latentexplorer.voila_app DIR [Voila's options]`` by :class:`latentexplorer.serve.DashboardServer`
(Voila's own ``voila`` command answers any request). The policy, checked before any of Voila's handlers:

- **Host** (DNS rebinding): a request whose ``Host`` names anything but localhost, 127.0.0.1, [::1] (any port)
  or a name of ``DashboardVoila.allowed_hosts`` is refused with HTTP 403, whatever its path.
- **Origin** (cross-site requests): a request whose ``Origin`` is not its own host (``scheme://HOST``), or that
  has no ``Origin`` but says ``Sec-Fetch-Site: cross-site``, is refused with HTTP 403.
- **Kernel caps** (renders are the only requests that start kernels): a render is refused with HTTP 503 when
  ``max_kernels`` page kernels (kernels serving a page; the preheated pool does not count) are running, and
  with HTTP 429 when ``max_kernels_per_client`` of them serve the same client address.

Each refusal answers a short page saying why and writes one line to the server's log, starting ``refused``
(e.g. ``refused render of 'star_inspector.ipynb' from 127.0.0.1: 8 kernels running, cap 8``).
"""

from __future__ import annotations

import html
import logging
from http import HTTPStatus
from dataclasses import dataclass
from urllib.parse import urlsplit

from nbclient.util import ensure_async
from tornado.httputil import split_host_and_port
from tornado.routing import AnyMatches, Router
from tornado.web import RequestHandler
from traitlets import Integer, List, Unicode
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

__all__ = ["LOOPBACK_NAMES", "DashboardVoila", "Refusal", "ServerPolicy", "host_name", "main"]

#: Host names always answered (with any port).
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: The longest header value quoted in a log line.
_QUOTED = 80
_CROSS_SITE_ADVICE = "Another site asked for this page. Open the dashboard's address directly."


def host_name(host: str) -> str:
    """The name part of a ``Host`` value, lower case, without its port: ``"[::1]:8866"`` → ``"[::1]"``."""
    return split_host_and_port(host.strip().lower())[0]


def _quoted(value: str) -> str:
    """``value`` as it may appear in a log line: quoted, escaped (no control characters) and shortened."""
    return repr(value if len(value) <= _QUOTED else value[:_QUOTED] + "…")


@dataclass(frozen=True)
class Refusal:
    """A refused request: its HTTP ``status``, the server log's ``line`` and the ``advice`` its page gives."""

    status: int
    line: str
    advice: str


@dataclass(frozen=True)
class ServerPolicy:
    """Which requests the server answers (the module's notes), and how it refuses the others."""

    allowed_hosts: frozenset[str]
    max_kernels: int
    max_kernels_per_client: int
    log: logging.Logger

    def request_refusal(self, request) -> Refusal | None:
        """The refusal of a request (a ``tornado.httputil.HTTPServerRequest``) for its Host or Origin; None if
        it may go on."""
        what = f"refused request for {_quoted(request.path)} from {request.remote_ip}"
        if host_name(request.host) not in self.allowed_hosts:
            return Refusal(403, f"{what}: Host {_quoted(request.host)} is not an allowed name "
                                f"({', '.join(sorted(self.allowed_hosts))}; more with --allow-host)",
                           "This server answers only the host names it was started for.")
        origin = request.headers.get("Origin")
        if origin is not None:
            parts = urlsplit(origin.strip().lower())
            if parts.scheme in ("http", "https") and parts.netloc == request.host.lower():
                return None
            return Refusal(403, f"{what}: cross-origin (Origin {_quoted(origin)})",
                           _CROSS_SITE_ADVICE)
        if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
            return Refusal(403, f"{what}: cross-site (Sec-Fetch-Site: cross-site)",
                           _CROSS_SITE_ADVICE)
        return None

    def render_refusal(self, kernels, client: str, page: str) -> Refusal | None:
        """The refusal of a render of ``page`` for ``client`` past a kernel cap (``kernels``: the
        :class:`~latentexplorer.voila_kernels.PageKernelManager`); None if a kernel may serve it."""
        what = f"refused render of {_quoted(page)} from {client}"
        advice = ("Close a dashboard tab you no longer use, or try again in a few minutes "
                  "(pages left idle free their kernels).")
        running = kernels.page_kernels()
        if running >= self.max_kernels:
            return Refusal(503, f"{what}: {running} kernels running, cap {self.max_kernels}",
                           f"The server is at its cap of {self.max_kernels} dashboard kernels. {advice}")
        mine = kernels.page_kernels(client)
        if mine >= self.max_kernels_per_client:
            return Refusal(429, f"{what}: {mine} kernels running for this client, cap {self.max_kernels_per_client}"
                                " per client",
                           f"Your pages hold {mine} dashboard kernels, the cap per visitor. {advice}")
        return None

    def refuse(self, handler: RequestHandler, refusal: Refusal) -> None:
        """Answer ``handler``'s request with ``refusal``'s status and page, and log its line."""
        self.log.warning(refusal.line)
        handler.set_status(refusal.status)
        handler.set_header("Content-Type", "text/html; charset=utf-8")
        handler.set_header("Cache-Control", "no-store")
        title = f"{refusal.status} {HTTPStatus(refusal.status).phrase}"
        handler.finish(f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
                       f"<h1>{html.escape(title)}</h1><p>{html.escape(refusal.advice)}</p></body></html>\n")


class RefusalHandler(RequestHandler):
    """Answers every request routed to it with its refusal (:meth:`ServerPolicy.refuse`)."""

    def initialize(self, policy: ServerPolicy, refusal: Refusal) -> None:
        self.policy, self.refusal = policy, refusal

    def prepare(self) -> None:
        self.policy.refuse(self, self.refusal)


class _PolicyRouter(Router):
    """First rule of the server: routes a request the policy refuses to :class:`RefusalHandler`, and lets any
    other go on to Voila's handlers."""

    def __init__(self, application, policy: ServerPolicy):
        self.application, self.policy = application, policy

    def find_handler(self, request, **kwargs):
        """:class:`RefusalHandler`'s delegate for a refused request; None (the next rule decides) otherwise."""
        refusal = self.policy.request_refusal(request)
        if refusal is None:
            return None
        return self.application.get_handler_delegate(request, RefusalHandler,
                                                     {"policy": self.policy, "refusal": refusal})


class _ClaimingKernels:
    """A kernel manager as one render sees it: the kernel the render starts, or takes from the preheated pool,
    is ``claim``-ed for its page (:meth:`~latentexplorer.voila_kernels.PageKernelManager.page_render`)."""

    def __init__(self, manager, claim):
        self._manager, self._claim = manager, claim

    def __getattr__(self, name):
        return getattr(self._manager, name)

    async def start_kernel(self, **kwargs) -> str:
        """The manager's ``start_kernel``, claiming the kernel; returns its id."""
        kernel_id = await ensure_async(self._manager.start_kernel(**kwargs))
        self._claim(kernel_id)
        return kernel_id

    async def get_rendered_notebook(self, *args, **kwargs):
        """The manager's ``get_rendered_notebook`` (a preheated kernel), claiming the kernel; returns its result."""
        render_task, rendered, kernel_id = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._claim(kernel_id)
        return render_task, rendered, kernel_id


class PageRenderHandler(TornadoVoilaHandler):
    """Voila's render handler under the kernel caps: a render past a cap is refused; one admitted holds a
    page kernel's place for its client until it has its kernel."""

    def initialize(self, policy: ServerPolicy, **kwargs) -> None:
        self.policy = policy
        self._claim = None
        super().initialize(**kwargs)

    @property
    def kernel_manager(self):
        """Voila's kernel manager; during an admitted render, one that claims the render's kernel."""
        manager = self.settings["kernel_manager"]
        return manager if self._claim is None else _ClaimingKernels(manager, self._claim)

    async def get(self, path=None):
        manager = self.settings["kernel_manager"]
        client = self.request.remote_ip
        refusal = self.policy.render_refusal(manager, client, path or "")
        if refusal is not None:
            return self.policy.refuse(self, refusal)
        with manager.page_render(client) as self._claim:
            await super().get(path)


class DashboardVoila(Voila):
    """Voila with :class:`ServerPolicy` in front of its handlers and :class:`PageRenderHandler` for renders."""

    allowed_hosts = List(Unicode(), help="Host names answered besides localhost, 127.0.0.1 and [::1]").tag(
        config=True)
    max_kernels = Integer(8, help="Most page kernels running at once (renders past it: HTTP 503)").tag(config=True)
    max_kernels_per_client = Integer(8, help="Most page kernels serving one client address (past it: HTTP 429)").tag(
        config=True)

    def policy(self) -> ServerPolicy:
        """This server's :class:`ServerPolicy`."""
        return ServerPolicy(frozenset({*LOOPBACK_NAMES, *map(host_name, self.allowed_hosts)}), self.max_kernels,
                            self.max_kernels_per_client, self.log)

    def init_handlers(self) -> list:
        """Voila's handlers, renders by :class:`PageRenderHandler`, behind the policy's router."""
        policy = self.policy()
        handlers = []
        for pattern, handler, *kwargs in super().init_handlers():
            if handler is TornadoVoilaHandler:
                handler, kwargs = PageRenderHandler, [{**kwargs[0], "policy": policy}]
            handlers.append((pattern, handler, *kwargs))
        return [(AnyMatches(), _PolicyRouter(self.app, policy)), *handlers]


main = DashboardVoila.launch_instance

if __name__ == "__main__":  # pragma: no cover - the server's process
    main()
