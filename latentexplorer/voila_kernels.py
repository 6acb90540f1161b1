"""The kernel manager of the dashboards' Voila server (loaded by Voila, not by the package).

Voila keeps its pool of preheated kernels out of the culler, but a kernel handed from the pool to a page
is then as old as its preheating: if the culler runs before the page's websocket connects, it sees an
unconnected kernel idle for longer than the timeout and shuts it down under the visitor. Here a kernel's
idle time starts, at the earliest, when the culler first meets it outside the pool.

It also keeps the ledger of **page kernels** (kernels serving a page, not the preheated pool) by client
address, which the server's kernel caps read (:mod:`latentexplorer.voila_app`): a render holds a place from
the moment it is admitted until it claims the kernel it got, so renders arriving together cannot overrun a
cap.
"""

from __future__ import annotations

import contextlib
from collections import Counter

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

__all__ = ["PageKernelManager"]


class PageKernelManager(AsyncMappingKernelManager):
    """:class:`AsyncMappingKernelManager` whose culler gives a kernel leaving the preheated pool the full
    ``cull_idle_timeout`` to be connected to by its page, and which counts page kernels per client."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._met_unpooled: dict = {}
        self._page_clients: dict[str, str] = {}  # kernel id → address of the client whose page it serves
        self._admitted: Counter = Counter()  # client address → renders admitted that have not claimed a kernel

    def page_kernels(self, client: str | None = None) -> int:
        """Page kernels running, plus renders admitted that have not got theirs yet; ``client``'s only, if given."""
        owners = [c for kernel_id, c in self._page_clients.items() if kernel_id in self]
        owners += self._admitted.elements()
        return len(owners) if client is None else owners.count(client)

    @contextlib.contextmanager
    def page_render(self, client: str):
        """Hold a page kernel's place for ``client`` while a render runs; yields ``claim(kernel_id)``, which
        records the kernel the render got as ``client``'s (the place is then that kernel's)."""
        self._admitted[client] += 1
        holding = True

        def claim(kernel_id: str) -> None:
            nonlocal holding
            self._page_clients[kernel_id] = client
            if holding:
                self._admitted[client] -= 1
                holding = False

        try:
            yield claim
        finally:
            if holding:
                self._admitted[client] -= 1

    async def cull_kernel_if_idle(self, kernel_id):
        kernel = self._kernels.get(kernel_id)
        if kernel is not None and hasattr(kernel, "last_activity"):
            met = self._met_unpooled.setdefault(kernel_id, utcnow())
            kernel.last_activity = max(kernel.last_activity, met)
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        self._met_unpooled.pop(kernel_id, None)
        if not restart:
            self._page_clients.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, now=now, restart=restart)
