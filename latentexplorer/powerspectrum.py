"""`PowerSpectrum`: a flattened log power spectrum (or a stack of them) with its frequency grid.

An object in the style of ``lightkurve.periodogram.Periodogram``: it carries its own frequencies (an
astropy Quantity in μHz), prints itself, plots itself and measures its own ν_max and Δν, so a spectrum
travels as one thing instead of a ``(freq, log_psd)`` pair::

    >>> from latentexplorer.psd import compute_power_spectrum          # doctest: +SKIP
    >>> ps = compute_power_spectrum(time_days, flux_ppm, label="KIC 123")   # doctest: +SKIP
    >>> ps                                                             # doctest: +SKIP
    PowerSpectrum(KIC 123: 2092 pixels, 2.0–269.0 μHz)
    >>> ps.plot()                                                      # doctest: +SKIP
    >>> print(ps.estimate_global_parameters())                         # doctest: +SKIP
    GlobalSeismicEstimate(KIC 123: ν_max = 40.22 μHz, Δν = 4.799 μHz, excess Δν = 1.053)

:meth:`latentexplorer.ved.VariationalEncoderDecoder.decode` returns a stack ``(n, k)``; ``stack[i]`` is
one star's spectrum and ``stack[rows]`` a smaller stack.

:attr:`PowerSpectrum.log_power` carries its unit: an astropy ``LogQuantity`` in :data:`LOG_POWER_UNIT`, the
natural log of the (dimensionless) flattened PSD, so ``ps.log_power.physical`` is the flattened PSD and
``u.Dex(ps.log_power)`` its log10. The values are the natural logs the network is trained on (float32, no
copy); a ``u.dex`` quantity would hold log10 values, i.e. change every stored number.

Array interoperability: ``np.asarray(ps)`` is :attr:`PowerSpectrum.log_power`'s bare float32 array (no copy), so NumPy
functions, matplotlib and code written for the bare arrays keep working; arithmetic and ufuncs
(``decoded - observed``, ``np.exp(ps)``) act on ``log_power`` and return plain arrays, not
PowerSpectrum objects (a difference of log PSDs is not a PSD). ``ps += x`` changes ``log_power`` in place.
The hot paths keep the array functions: :func:`latentexplorer.psd.compute_psd` and
:func:`latentexplorer.seismo.estimate_global_parameters`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence

import astropy.units as u
import numpy as np
from astropy.units.function.units import RegularFunctionUnit
from numpy.lib.mixins import NDArrayOperatorsMixin

from .seismo import GlobalSeismicEstimate
from .seismo import estimate_global_parameters as _estimate_arrays

__all__ = ["PowerSpectrum", "NATURAL_LOG", "LOG_POWER_UNIT"]

#: The natural-log function unit, ``ln``: 1 ln = log10(e) dex (astropy's own kind of function unit, as dB
#: and mag are), so a natural log converts to dex and back to a physical value as astropy's logs do.
NATURAL_LOG = RegularFunctionUnit(["ln"], u.dex / np.log(10.0), doc="natural logarithm: log10(e) dex")
#: The unit of :attr:`PowerSpectrum.log_power`: the natural log of a dimensionless (flattened) PSD.
LOG_POWER_UNIT = u.LogUnit(u.dimensionless_unscaled, function_unit=NATURAL_LOG)

#: Axis labels of :meth:`PowerSpectrum.plot`.
FREQUENCY_LABEL = "Frequency [μHz]"
LOG_POWER_LABEL = "ln PSD (flattened)"


class PowerSpectrum(NDArrayOperatorsMixin):
    """Natural-log flattened power spectrum of one star, or a stack of them on one frequency grid.

    Parameters
    ----------
    frequency : (k,) array in μHz, or an astropy Quantity with frequency units (converted to μHz)
        Increasing frequency grid, e.g. :func:`latentexplorer.psd.frequency_grid`.
    log_power : (k,) or (n, k) array of natural logs, or a Quantity (a ``LogQuantity`` such as ``u.Dex``, or a
        dimensionless power), converted to :data:`LOG_POWER_UNIT`
        Natural log of the background-flattened PSD (≈ 0 where there is only noise); one star, or a stack
        of ``n``. Stored as float32 (no copy if it already is: the object shares its memory).
    label : str, or a sequence of ``n`` str for a stack, optional
        A name for display, plots and results (e.g. ``"KIC 8006161"``). A single str labels a whole stack
        (and every spectrum taken from it); a sequence labels each row.
    meta : mapping, optional
        Free-form metadata (e.g. ``{"flags": PSDFlag}`` from :func:`latentexplorer.psd.compute_power_spectrum`);
        spectra taken from a stack get a shallow copy.

    Attributes
    ----------
    frequency : astropy Quantity, (k,) μHz, float64, read-only
    log_power : astropy LogQuantity, (k,) or (n, k) float32 in :data:`LOG_POWER_UNIT`
    label : str, tuple of str (a stack with one label per row) or None
    meta : dict
    """

    def __init__(self, frequency, log_power, *, label=None, meta: Mapping | None = None):
        freq = u.Quantity(frequency, u.uHz, dtype=np.float64, copy=False)
        if freq.ndim != 1 or freq.size < 2:
            raise ValueError(f"frequency must be a 1-D grid of at least 2 values, got shape {freq.shape}")
        freq = freq.view()
        freq.flags.writeable = False  # a view: the grid it came from is left as it was
        if isinstance(log_power, u.Quantity):
            log_power = u.LogQuantity(log_power, LOG_POWER_UNIT, copy=False).value
        log_power = np.asarray(log_power, dtype=np.float32)
        if log_power.ndim not in (1, 2) or log_power.shape[-1] != freq.size:
            raise ValueError(f"log_power must have shape ({freq.size},) or (n, {freq.size}) to match the "
                             f"frequency grid, got {log_power.shape}")
        if label is not None and not isinstance(label, str):
            if log_power.ndim != 2:
                raise ValueError("a single power spectrum takes one str label")
            label = tuple(str(item) for item in label)
            if len(label) != log_power.shape[0]:
                raise ValueError(f"{len(label)} labels for a stack of {log_power.shape[0]} spectra")
        self._frequency, self._log_power = freq, log_power
        self.label = label
        self.meta = dict(meta) if meta is not None else {}

    # --- data ------------------------------------------------------------------------------------
    @property
    def frequency(self) -> u.Quantity:
        """The frequency grid, (k,) astropy Quantity in μHz (read-only)."""
        return self._frequency

    @property
    def log_power(self) -> u.LogQuantity:
        """Natural-log flattened PSD, (k,) or (n, k) float32, in :data:`LOG_POWER_UNIT` (a view, no copy;
        ``.value`` or ``np.asarray(ps)`` is the bare array)."""
        return u.LogQuantity(self._log_power, LOG_POWER_UNIT, copy=False)

    @property
    def power(self) -> u.Quantity:
        """The flattened PSD itself (signal-to-noise), a dimensionless Quantity: ``exp(log_power)``."""
        return u.Quantity(np.exp(self._log_power), u.dimensionless_unscaled, copy=False)

    @property
    def is_stack(self) -> bool:
        """True for a stack (n, k) of spectra, False for one star's (k,)."""
        return self._log_power.ndim == 2

    @property
    def shape(self) -> tuple:
        """Shape of :attr:`log_power`: (k,) or (n, k)."""
        return self._log_power.shape

    @property
    def ndim(self) -> int:
        """1 for one spectrum, 2 for a stack."""
        return self._log_power.ndim

    def to_numpy(self) -> np.ndarray:
        """:attr:`log_power`'s bare array (no copy), as pandas/xarray's ``to_numpy`` (matplotlib unpacks through it)."""
        return self._log_power

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """:attr:`log_power`'s bare array for ``np.asarray(ps)``, with NumPy's ``dtype``/``copy`` semantics."""
        if copy is None:
            return self._log_power if dtype is None else self._log_power.astype(dtype, copy=False)
        return np.array(self._log_power, dtype=dtype, copy=copy)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """Ufuncs and operators act on :attr:`log_power` and return plain arrays (in place with ``out=``)."""
        inputs = tuple(x._log_power if isinstance(x, PowerSpectrum) else x for x in inputs)
        out = kwargs.get("out")
        if out:
            kwargs["out"] = tuple(x._log_power if isinstance(x, PowerSpectrum) else x for x in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out:  # ps += 1 must leave ps a PowerSpectrum
            return out[0] if len(out) == 1 else out
        return result

    # --- a stack as a sequence of spectra -----------------------------------------------------------
    def _require_stack(self, what: str):
        if not self.is_stack:
            raise TypeError(f"{what} needs a stack of power spectra; this is one star's "
                            f"({self._log_power.size} pixels: index them through .log_power)")

    def __len__(self) -> int:
        """Number of spectra in a stack (TypeError for a single spectrum)."""
        self._require_stack("len()")
        return self._log_power.shape[0]

    def __getitem__(self, key) -> "PowerSpectrum":
        """``stack[i]`` → that star's PowerSpectrum; ``stack[slice]``, ``stack[int array]``, ``stack[bool mask]``
        → a smaller stack. Pixels are indexed through :attr:`log_power`, not here."""
        self._require_stack("indexing")
        n = self._log_power.shape[0]
        if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, (bool, np.bool_)):
            i = int(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} out of range for a stack of {n} power spectra")
            rows = i % n
        elif isinstance(key, slice):
            rows = np.arange(n)[key]
        elif isinstance(key, (tuple, str, bytes)) or key is None or key is Ellipsis:
            raise TypeError(f"a stack of power spectra is indexed by star (int, slice, int array or bool mask), "
                            f"not {key!r}; index pixels through .log_power")
        else:
            index = np.asarray(key)
            if index.dtype == bool:
                if index.shape != (n,):
                    raise IndexError(f"boolean mask of shape {index.shape} for a stack of {n} power spectra")
                rows = np.flatnonzero(index)
            elif index.ndim == 1 and (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
                rows = index.astype(np.intp)
                if rows.size and not (-n <= rows.min() and rows.max() < n):
                    raise IndexError(f"indices out of range for a stack of {n} power spectra")
                rows = rows % n
            else:
                raise TypeError(f"cannot index a stack of power spectra with {key!r}")
        label = self.label
        if isinstance(label, tuple):
            label = label[rows] if np.ndim(rows) == 0 else tuple(label[r] for r in rows)
        return type(self)(self._frequency, self._log_power[rows], label=label, meta=self.meta)

    def __iter__(self) -> Iterator["PowerSpectrum"]:
        """The spectra of a stack, one PowerSpectrum each."""
        self._require_stack("iteration")
        return (self[i] for i in range(len(self)))

    # --- display --------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        f = self._frequency.to_value(u.uHz)
        grid = f"{f.size} pixels, {f[0]:.1f}–{f[-1]:.1f} μHz"
        if not self.is_stack:
            return f"PowerSpectrum({self.label}: {grid})" if self.label else f"PowerSpectrum({grid})"
        n = self._log_power.shape[0]
        if isinstance(self.label, tuple):
            shown = ", ".join(self.label[:3]) + (", …" if n > 3 else "")
            return f"PowerSpectrum(stack of {n} [{shown}]: {grid})"
        if self.label:
            return f"PowerSpectrum({self.label}: stack of {n}, {grid})"
        return f"PowerSpectrum(stack of {n}: {grid})"

    def plot(self, ax=None, **kwargs):
        """Draw ln PSD against frequency (μHz) on a logarithmic frequency axis.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; a new Figure is made with ``matplotlib.pyplot`` only if none is given.
        **kwargs
            Passed to ``Axes.plot`` for every line (``color``, ``lw``, ``alpha``, ``label``, …). Without
            ``label``, lines take :attr:`label` (per row for a stack labelled row by row; a single
            label names only the first line of a stack) and a legend is drawn if any is set.

        Returns
        -------
        matplotlib Axes
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        freq = self._frequency.to_value(u.uHz)
        rows = np.atleast_2d(self._log_power)
        if "label" in kwargs:
            labels = [kwargs.pop("label")] + ["_nolegend_"] * (rows.shape[0] - 1)
        elif isinstance(self.label, tuple):
            labels = list(self.label)
        else:
            labels = [self.label] + ["_nolegend_"] * (rows.shape[0] - 1)
        if "lw" not in kwargs and "linewidth" not in kwargs:
            kwargs["lw"] = 0.8
        for row, label in zip(rows, labels):
            ax.plot(freq, row, label=label, **kwargs)
        ax.set_xscale("log")
        ax.set_xlabel(FREQUENCY_LABEL)
        ax.set_ylabel(LOG_POWER_LABEL)
        if any(label is not None and not str(label).startswith("_") for label in labels):
            ax.legend()
        return ax

    # --- seismology -------------------------------------------------------------------------------------
    def estimate_global_parameters(self, background: str | None = "granulation") -> GlobalSeismicEstimate:
        """ν_max and Δν of the spectrum (or of every spectrum of a stack).

        Runs :func:`latentexplorer.seismo.estimate_global_parameters` (see there for the method and
        ``background``) on each spectrum.

        Returns
        -------
        :class:`latentexplorer.seismo.GlobalSeismicEstimate`
            ``numax`` and ``deltanu`` as astropy Quantities in μHz — scalars for one spectrum, (n,) for a
            stack, NaN where no envelope (or no comb of modes) was found — ``excess_deltanu`` (paper Eq. 7,
            dimensionless float or (n,) array) and this spectrum's ``label``.
        """
        freq = self._frequency.to_value(u.uHz)
        found = [_estimate_arrays(freq, row, background=background) for row in np.atleast_2d(self._log_power)]
        numax = np.array([f.numax for f in found], dtype=float)
        deltanu = np.array([f.deltanu for f in found], dtype=float)
        if not self.is_stack:
            numax, deltanu = numax[0], deltanu[0]
        return GlobalSeismicEstimate.from_values(numax, deltanu, label=self.label)

    # --- construction ----------------------------------------------------------------------------------
    @classmethod
    def stack(cls, spectra: Sequence["PowerSpectrum"], *, label=None) -> "PowerSpectrum":
        """Stack single spectra on one frequency grid into an (n, k) PowerSpectrum.

        ``label`` defaults to the spectra's own labels (row by row; None if none has one).
        """
        spectra = list(spectra)
        if not spectra or any(not isinstance(s, PowerSpectrum) or s.is_stack for s in spectra):
            raise ValueError("stack() takes a non-empty sequence of single PowerSpectrum objects")
        freq = spectra[0].frequency
        if any(s.frequency.shape != freq.shape or not np.array_equal(s.frequency, freq) for s in spectra[1:]):
            raise ValueError("cannot stack power spectra on different frequency grids")
        if label is None and any(s.label is not None for s in spectra):
            label = [s.label or "" for s in spectra]
        return cls(freq, np.stack([s._log_power for s in spectra]), label=label)
