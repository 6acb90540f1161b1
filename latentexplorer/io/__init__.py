"""Readers and writers for survey files (allStar, apStar/aspcapStar, Kepler llc, seismic catalogs)
and the workspace's HDF5/FITS products. Every writer is atomic (see :mod:`latentexplorer.io.atomic`)."""

from .atomic import atomic_output

__all__ = ["atomic_output"]
