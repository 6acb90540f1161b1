"""Telling processes apart in the tests that start servers: a child may exit, or be a zombie not yet reaped, between
listing it and asking it anything."""

import psutil


def is_kernel(process: psutil.Process) -> bool:
    """Whether ``process`` is a Jupyter kernel (ipykernel); False for one gone, a zombie, or out of reach."""
    try:
        return "ipykernel" in " ".join(process.cmdline())
    except psutil.Error:
        return False
