"""Hostile HTTP requests to the dashboards' server: each gets a definite answer (a status, or a connection
closed unanswered), no page for a foreign host or a foreign site, and no kernel it should not start; each
refusal of the server's policy (:mod:`latentexplorer.voila_app`) is exactly one line of the server's log.

One server answers every case of :data:`CASES`; it keeps no preheated kernels, so a refused render that
still started a kernel would show. The kernel caps get a server of their own in each of their tests.
Requests leave from other loopback addresses (127.0.0.2, …) to play other clients.
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass

import pytest
from demo_workspace import tiny_workspace

from latentexplorer.serve import DashboardServer, ServerSizing

pytestmark = pytest.mark.slow

RENDER = "/voila/render/star_inspector.ipynb"
TREE = "/"
#: The name the shared server is started to answer besides the loopback names (``--allow-host``).
ALLOWED = "dashboards.example"
NO_KERNEL = "/00000000-0000-0000-0000-000000000000"
WEBSOCKET = (("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
             ("Sec-WebSocket-Version", "13"))
#: Raised by http.client when the server closes the connection without an answer.
UNANSWERED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def send(port: int, path: str, headers=(), method: str = "GET", client: str = "127.0.0.1") -> int | None:
    """Send one request to 127.0.0.1:``port`` from the address ``client``; returns the response's status, or
    None if the server closed the connection without one. ``headers`` (name, value) pairs are sent as given
    (the Host too: 127.0.0.1:PORT unless among them); "{port}" in a value is the port."""
    headers = [(name, value.format(port=port)) for name, value in headers]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.insert(0, ("Host", f"127.0.0.1:{port}"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(client, 0))
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders(b"" if method == "POST" else None)
        response = connection.getresponse()
        response.read()
        return response.status
    except UNANSWERED:
        return None
    finally:
        connection.close()


def send_raw(port: int, request: bytes) -> int | None:
    """Send the bytes of one request as they are; returns the response's status, or None if there is none."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        status_line = s.makefile("rb").readline().split()
    return int(status_line[1]) if len(status_line) > 1 else None


@dataclass(frozen=True)
class Case:
    """One hostile request and the answer it must get.

    headers : (name, value) pairs ("{port}" is the server's port); raw : the request's bytes, sent as they are.
    status : the expected status (None: the connection closed unanswered).
    refusal : a part of the one line the server's policy must log ("{port}" as above); None: no such line.
    """

    path: str = TREE
    headers: tuple = ()
    method: str = "GET"
    raw: bytes | None = None
    status: int | None = 200
    refusal: str | None = None

    def send(self, port: int) -> int | None:
        """The status the server answers this case with (None: none)."""
        if self.raw is not None:
            return send_raw(port, self.raw)
        return send(port, self.path, self.headers, self.method)


def foreign_host(host: str, path: str = RENDER) -> Case:
    """A request for ``path`` naming ``host`` in its Host header: refused, 403, one line quoting the Host (its
    first 80 characters: the line shortens a longer one)."""
    return Case(path, (("Host", host),), status=403, refusal=f"Host {host[:80]!r}".rstrip("'"))


def foreign_origin(origin: str, path: str = RENDER, method: str = "GET", extra=()) -> Case:
    """A request for ``path`` from a page of ``origin``: refused, 403, one line quoting the Origin."""
    return Case(path, (("Origin", origin), *extra), method, status=403, refusal=f"cross-origin (Origin {origin!r}")


CASES = {
    # Host: only loopback names and the names the server was started for (DNS rebinding)
    "host-foreign-with-port": foreign_host("attacker.example:{port}"),
    "host-foreign-without-port": foreign_host("attacker.example"),
    "host-localhost-as-a-subdomain": foreign_host("localhost.attacker.example:{port}"),
    "host-loopback-address-inside-a-name": foreign_host("127.0.0.1.nip.io:{port}"),
    "host-other-loopback-address": foreign_host("127.0.0.2:{port}", TREE),
    "host-allowed-name-as-a-suffix": foreign_host(f"evil-{ALLOWED}", TREE),
    "host-allowed-name-as-a-prefix": foreign_host(f"{ALLOWED}.attacker.example", TREE),
    "host-foreign-on-a-static-file": foreign_host("attacker.example", "/voila/static/voila.js"),
    "host-foreign-on-an-unknown-path": foreign_host("attacker.example", "/no/such/page"),
    "host-foreign-on-the-kernel-api": foreign_host("attacker.example", "/api/kernels" + NO_KERNEL),
    "host-10-kb-long": foreign_host("a" * 10_000, TREE),
    "host-twice": Case(headers=(("Host", "localhost"), ("Host", "attacker.example")), status=400),
    "host-with-a-space": Case(headers=(("Host", "local host"),), status=400),
    "host-missing-in-http-1.1": Case(raw=b"GET / HTTP/1.1\r\n\r\n", status=400),
    "host-missing-in-http-1.0-is-a-local-client": Case(raw=b"GET / HTTP/1.0\r\n\r\n", status=200),
    "host-localhost-in-capitals": Case(headers=(("Host", "LOCALHOST:{port}"),)),
    "host-ipv6-loopback": Case(headers=(("Host", "[::1]:{port}"),)),
    "host-named-with-allow-host": Case(headers=(("Host", ALLOWED),)),
    "host-named-with-allow-host-and-a-port": Case(headers=(("Host", f"{ALLOWED}:443"),)),
    # Origin: no request from another site (renders would start kernels)
    "origin-foreign-render": foreign_origin("http://evil.com"),
    "origin-null-render": foreign_origin("null"),
    "origin-other-port": foreign_origin("http://127.0.0.1:1"),
    "origin-other-loopback-name": foreign_origin("http://localhost:{port}"),
    "origin-server-as-a-prefix": foreign_origin("http://127.0.0.1:{port}.evil.com"),
    "origin-server-as-userinfo": foreign_origin("http://127.0.0.1:{port}@evil.com"),
    "origin-other-scheme": foreign_origin("file://127.0.0.1:{port}"),
    "origin-foreign-kernel-shutdown-post": foreign_origin("http://evil.com", "/voila/api/shutdown" + NO_KERNEL, "POST"),
    "origin-foreign-kernel-websocket": foreign_origin("http://evil.com", "/api/kernels" + NO_KERNEL + "/channels",
                                                      extra=WEBSOCKET),
    "sec-fetch-site-cross-site-render": Case(RENDER, (("Sec-Fetch-Site", "cross-site"),), status=403,
                                             refusal="cross-site (Sec-Fetch-Site: cross-site)"),
    "origin-own": Case(headers=(("Origin", "http://127.0.0.1:{port}"),)),
    "sec-fetch-site-same-origin": Case(headers=(("Sec-Fetch-Site", "same-origin"),)),
    "sec-fetch-site-same-site": Case(headers=(("Sec-Fetch-Site", "same-site"),)),
    # paths: Voila's allow-list and contents root hold (answers of Voila's own, not the policy's)
    "render-traversal-is-redirected-to-files": Case("/voila/render/..%2f..%2fserve.py", status=302),
    "files-traversal-encoded": Case("/voila/files/..%2f..%2fserve.py", status=403),
    "files-traversal-plain": Case("/voila/files/../serve.py", status=403),
    "static-traversal": Case("/voila/static/..%2f..%2fapp.py", status=403),
    "contents-traversal": Case("/voila/api/contents/..%2f..", status=404),
    "render-of-no-notebook": Case("/voila/render/no_such_dashboard.ipynb", status=404),
    "render-with-a-template-path-gets-the-page": Case(RENDER + "?template=../../../etc", status=200),
    # size: tornado's 64 KB header limit
    "headers-over-64-kb": Case(headers=(("X-Filler", "a" * 100_000),), status=None),
}


@pytest.fixture(scope="module")
def server():
    """The dashboards' server, no preheated kernels, also answering :data:`ALLOWED`."""
    with DashboardServer(tiny_workspace(), port=0, sizing=ServerSizing(pool_size=0), allowed_hosts=[ALLOWED]) as srv:
        srv.wait_until_ready(120)
        yield srv


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_request_gets_a_definite_answer(name, server):
    case = CASES[name]
    server.refusals()  # the lines of earlier cases
    kernels = len(server.kernel_pids())
    assert case.send(server.port) == case.status
    lines = server.refusals()
    if case.refusal is None:
        assert lines == []
    else:
        assert len(lines) == 1 and case.refusal.format(port=server.port) in lines[0], lines
    if case.status != 200:
        assert len(server.kernel_pids()) <= kernels, "a refused request started a kernel"
    assert send(server.port, TREE) == 200  # and the server goes on answering


@pytest.fixture
def capped():
    """A server whose pages may hold 2 kernels, 1 per client address."""
    sizing = ServerSizing(pool_size=0, max_kernels=2, max_kernels_per_client=1)
    with DashboardServer(tiny_workspace(), port=0, sizing=sizing) as srv:
        srv.wait_until_ready(120)
        yield srv


def test_renders_past_the_cap_per_client_are_refused_with_429(capped):
    assert send(capped.port, RENDER) == 200
    assert send(capped.port, RENDER) == 429
    assert capped.refusals() == ["refused render of 'star_inspector.ipynb' from 127.0.0.1: 1 kernels running for "
                                 "this client, cap 1 per client"]
    assert len(capped.kernel_pids()) == 1


def test_renders_past_the_server_cap_are_refused_with_503(capped):
    assert [send(capped.port, RENDER, client=f"127.0.0.{i}") for i in (1, 2, 3)] == [200, 200, 503]
    assert capped.refusals() == ["refused render of 'star_inspector.ipynb' from 127.0.0.3: 2 kernels running, cap 2"]
    assert len(capped.kernel_pids()) == 2
