"""The kernel manager of the dashboards' Voila server (loaded by Voila, not by the package).

Voila keeps its pool of preheated kernels out of the culler, but a kernel handed from the pool to a page
is then as old as its preheating: if the culler runs before the page's websocket connects, it sees an
unconnected kernel idle for longer than the timeout and shuts it down under the visitor. Here a kernel's
idle time starts, at the earliest, when the culler first meets it outside the pool.
"""

from __future__ import annotations

from jupyter_server._tz import utcnow
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

__all__ = ["PageKernelManager"]


class PageKernelManager(AsyncMappingKernelManager):
    """:class:`AsyncMappingKernelManager` whose culler gives a kernel leaving the preheated pool the full
    ``cull_idle_timeout`` to be connected to by its page."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._met_unpooled: dict = {}

    async def cull_kernel_if_idle(self, kernel_id):
        kernel = self._kernels.get(kernel_id)
        if kernel is not None and hasattr(kernel, "last_activity"):
            met = self._met_unpooled.setdefault(kernel_id, utcnow())
            kernel.last_activity = max(kernel.last_activity, met)
        return await super().cull_kernel_if_idle(kernel_id)

    async def shutdown_kernel(self, kernel_id, now=False, restart=False):
        self._met_unpooled.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, now=now, restart=restart)
