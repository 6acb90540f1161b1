"""latentexplorer.powerspectrum.PowerSpectrum: the (frequency, log PSD) object and its seismology result."""

import astropy.units as u
import numpy as np
import pytest
from matplotlib.figure import Figure
from synthetic import oscillating_star

from latentexplorer import psd, seismo
from latentexplorer.powerspectrum import LOG_POWER_UNIT, PowerSpectrum

FREQ = psd.frequency_grid()


def comb_psd(numax, deltanu, height=4.0, epsilon=1.2):
    """ln(1 + excess) on the 2092 grid: a Gaussian envelope (Mosser's width) of Lorentzian radial modes
    at Δν (n + ε) — a flattened PSD with a known ν_max and Δν and a white background."""
    orders = np.arange(int(numax / deltanu) - 12, int(numax / deltanu) + 13) + epsilon
    modes = np.sum(1.0 / (1.0 + ((FREQ[:, None] - deltanu * orders[None, :]) / (0.04 * deltanu)) ** 2), axis=1)
    envelope = np.exp(-0.5 * ((FREQ - numax) / seismo.envelope_sigma(numax)) ** 2)
    return np.log1p(height * envelope * modes).astype(np.float32)


def test_repr_names_the_star_the_pixel_count_and_the_frequency_range():
    single = PowerSpectrum(FREQ, np.zeros(FREQ.size), label="KIC 123")
    assert repr(single) == "PowerSpectrum(KIC 123: 2092 pixels, 2.0–269.0 μHz)"
    assert repr(PowerSpectrum(FREQ, np.zeros((4, FREQ.size)))) == "PowerSpectrum(stack of 4: 2092 pixels, 2.0–269.0 μHz)"


def test_a_stack_indexes_like_a_sequence_of_spectra():
    values = np.arange(5 * FREQ.size, dtype=np.float32).reshape(5, FREQ.size)
    stack = PowerSpectrum(FREQ, values, label=[f"KIC {i}" for i in range(5)])
    assert len(stack) == 5
    one = stack[-1]
    assert not one.is_stack and one.label == "KIC 4"
    np.testing.assert_array_equal(np.asarray(one), values[4])
    sub = stack[1:4]
    assert len(sub) == 3 and sub.label == ("KIC 1", "KIC 2", "KIC 3")
    np.testing.assert_array_equal(np.asarray(stack[[0, 2]]), values[[0, 2]])
    np.testing.assert_array_equal(np.asarray(stack[np.array([True, False, False, False, True])]), values[[0, 4]])
    assert [s.label for s in stack] == list(stack.label)
    with pytest.raises(IndexError):
        stack[5]
    with pytest.raises(TypeError, match="log_power"):
        stack[0, 10]
    with pytest.raises(TypeError, match="stack"):
        one[0]


def test_asarray_is_log_power_so_array_code_keeps_working():
    log_power = np.random.default_rng(0).normal(size=(3, FREQ.size)).astype(np.float32)
    stack = PowerSpectrum(FREQ, log_power)
    assert np.asarray(stack) is stack.to_numpy() and np.shares_memory(np.asarray(stack), log_power)
    assert np.shares_memory(stack.log_power, log_power)
    np.testing.assert_array_equal(np.asarray(stack, dtype=np.float64), log_power.astype(np.float64))
    assert not np.shares_memory(np.asarray(stack, copy=True), log_power)
    assert np.mean(stack) == pytest.approx(float(log_power.mean()), rel=1e-6)
    residual = stack[0] - log_power[0]  # arithmetic gives plain arrays
    assert type(residual) is np.ndarray and not residual.any()
    assert stack.power.unit == u.dimensionless_unscaled
    np.testing.assert_allclose(stack.power.value, np.exp(log_power))


def test_log_power_is_a_natural_log_quantity_that_converts_to_dex_and_to_power():
    values = np.log(np.array([1.0, 2.0, 10.0], np.float32)) * np.ones((2, 1), np.float32)
    grid = FREQ[:3]
    ps = PowerSpectrum(grid, values)
    assert isinstance(ps.log_power, u.LogQuantity) and ps.log_power.unit == LOG_POWER_UNIT
    assert ps.log_power.dtype == np.float32 and np.shares_memory(ps.log_power, values)  # a view, the same numbers
    np.testing.assert_allclose(ps.log_power.physical.value, [[1.0, 2.0, 10.0]] * 2, rtol=1e-6)
    np.testing.assert_allclose(u.Dex(ps.log_power).value, np.log10([[1.0, 2.0, 10.0]] * 2), atol=1e-7)
    from_dex = PowerSpectrum(grid, u.Dex(np.log10([1.0, 2.0, 10.0])))  # another log unit: converted to ln
    np.testing.assert_allclose(np.asarray(from_dex), values[0], rtol=1e-6)
    from_power = PowerSpectrum(grid, [1.0, 2.0, 10.0] * u.dimensionless_unscaled)
    np.testing.assert_allclose(np.asarray(from_power), values[0], rtol=1e-6)


def test_frequency_is_a_microhertz_quantity_whatever_unit_it_came_in():
    ps = PowerSpectrum(FREQ, np.zeros(FREQ.size))
    assert ps.frequency.unit == u.uHz
    np.testing.assert_array_equal(ps.frequency.value, FREQ)
    from_hz = PowerSpectrum(FREQ * 1e-6 * u.Hz, np.zeros(FREQ.size))
    assert from_hz.frequency.unit == u.uHz
    np.testing.assert_allclose(from_hz.frequency.value, FREQ, rtol=1e-12)
    with pytest.raises(u.UnitConversionError):
        PowerSpectrum(FREQ * u.m, np.zeros(FREQ.size))
    with pytest.raises(ValueError, match="shape"):
        PowerSpectrum(FREQ, np.zeros(FREQ.size - 1))


def test_estimate_global_parameters_recovers_an_injected_envelope_and_comb():
    numax, deltanu = 60.0, 1.03 * float(seismo.deltanu_from_numax(60.0))
    log_psd = comb_psd(numax, deltanu)
    est = PowerSpectrum(FREQ, log_psd, label="injected").estimate_global_parameters(background=None)
    reference = seismo.estimate_global_parameters(FREQ, log_psd, background=None)
    assert est.numax.unit == est.deltanu.unit == u.uHz
    assert est.numax.value == reference.numax and est.deltanu.value == reference.deltanu
    assert est.numax.value == pytest.approx(numax, rel=0.02)
    assert est.deltanu.value == pytest.approx(deltanu, rel=0.01)
    assert est.excess_deltanu == pytest.approx(float(seismo.excess_deltanu(est.deltanu.value, est.numax.value)))
    assert repr(est).startswith("GlobalSeismicEstimate(injected: ν_max = ")


def test_a_stack_estimates_one_numax_and_deltanu_per_spectrum():
    truth = [(30.0, 3.8), (120.0, 10.6)]
    stack = PowerSpectrum(FREQ, np.stack([comb_psd(*t) for t in truth] + [np.zeros(FREQ.size, np.float32)]),
                          label=["a", "b", "noise"])
    est = stack.estimate_global_parameters(background=None)
    assert est.numax.shape == est.deltanu.shape == est.excess_deltanu.shape == (3,)
    np.testing.assert_allclose(est.numax.to_value(u.uHz)[:2], [t[0] for t in truth], rtol=0.02)
    np.testing.assert_allclose(est.deltanu.to_value(u.uHz)[:2], [t[1] for t in truth], rtol=0.01)
    assert np.isnan(est.numax[2]) and np.isnan(est.excess_deltanu[2])
    assert list(est.to_table()["label"]) == ["a", "b", "noise"]
    assert repr(est).splitlines()[0] == "GlobalSeismicEstimate(stack of 3)" and len(repr(est).splitlines()) == 5


def test_plot_draws_on_a_log_frequency_axis_with_labelled_axes():
    ax = Figure().subplots()
    stack = PowerSpectrum(FREQ, np.stack([comb_psd(60.0, 6.0), comb_psd(30.0, 3.6)]), label=["a", "b"])
    assert stack.plot(ax=ax, color="k") is ax
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Frequency [μHz]" and ax.get_ylabel() == "ln PSD (flattened)"
    assert len(ax.lines) == 2 and [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), FREQ)
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), np.asarray(stack)[1])


def test_plot_without_axes_makes_a_pyplot_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = PowerSpectrum(FREQ, np.zeros(FREQ.size)).plot()
    try:
        assert ax.figure in [plt.figure(n) for n in plt.get_fignums()] and ax.get_xscale() == "log"
    finally:
        plt.close(ax.figure)


def test_compute_power_spectrum_is_compute_psd_with_its_grid_and_label():
    t, y = oscillating_star(40.0, 4.8, seed=1)
    ps = psd.compute_power_spectrum(t, y, label="KIC 1")
    np.testing.assert_array_equal(np.asarray(ps), psd.compute_psd(t, y))
    np.testing.assert_array_equal(ps.frequency.to_value(u.uHz), FREQ)
    assert ps.label == "KIC 1" and ps.meta["flags"] == psd.PSDFlag.OK


def test_decode_returns_a_power_spectrum_stack_with_the_same_float32_values():
    from latentexplorer.ved import VariationalEncoderDecoder
    from latentexplorer.ved.network import build_network
    from latentexplorer.ved.scaling import PixelScaler

    ved = VariationalEncoderDecoder(latent_dim=3)  # built, not trained: decode needs only the network
    ved.network_ = build_network(ved.n_pixels, FREQ.size, 3, seed=0)
    ved.scaler_ = PixelScaler(np.ones(ved.n_pixels), np.full(ved.n_pixels, 0.1))
    z = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    decoded = ved.decode(z)
    assert isinstance(decoded, PowerSpectrum) and len(decoded) == 4 and decoded.log_power.shape == (4, FREQ.size)
    assert decoded.log_power.dtype == np.float32 and decoded.frequency.unit == u.uHz
    np.testing.assert_array_equal(np.asarray(decoded), ved._batched("decode", z, 512))  # the former output
    one = ved.decode(z[2])  # one latent vector → a stack of one
    assert len(one) == 1
    np.testing.assert_array_equal(np.asarray(one[0]), ved._batched("decode", z[2:3], 512)[0])
    spectra = np.ones((2, ved.n_pixels), np.float32)
    rebuilt = ved.reconstruct(spectra)
    assert isinstance(rebuilt, PowerSpectrum) and len(rebuilt) == 2
    np.testing.assert_array_equal(np.asarray(rebuilt), np.asarray(ved.decode(ved.encode(spectra)[0])))
