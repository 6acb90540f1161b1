"""Packages whose public names are imported on first use: the one ``__getattr__`` they all use."""

from __future__ import annotations

import importlib

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, names: dict[str, str]):
    """The module-level ``__getattr__`` of ``package`` for ``names`` (public name → the module below ``package``
    that defines it, e.g. ``{"Workspace": "workspace"}``): each name's module is imported when the name is first
    asked for, so importing the package costs nothing; any other name is an AttributeError."""

    def __getattr__(name):
        if name in names:
            return getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
