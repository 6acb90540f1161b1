"""The saved encoder-decoder's network as NumPy layers: read from its ``.keras`` file, evaluated forward and,
for the Jacobian, backward — no TensorFlow, no Keras.

:func:`read_network` turns the configuration and weights of a ``.keras`` file (read by
:mod:`latentexplorer.ved.keras_file`) into three lists of layers — the encoder's trunk, its ``z_mean`` and
``z_log_var`` heads, the decoder — each evaluated with matrix products:

* Conv1D: the padded input viewed as windows (``sliding_window_view``, one every ``stride`` pixels)
  times the (kernel × channels, filters) weight matrix;
* Conv1DTranspose (and the adjoint of a Conv1D, which is one): each output phase r = j mod s only meets
  the kernel taps ≡ r (mod s), so windows of the input times a (taps per phase × channels,
  phases × filters) matrix give all phases at once, with no zero-stuffing; where a layer has a single
  output channel, the products of every tap are overlap-added instead (see :class:`_Transposed`);
* MaxPooling1D, Cropping1D, Reshape, Flatten, Dense: as they read.

Padding is TensorFlow's "SAME" rule, as Keras 3 applies it: a strided Conv1D over ``n`` pixels gives
``ceil(n / s)`` outputs and pads ``max((out − 1) s + k − n, 0)`` pixels, the smaller half on the left
(7514 → 3757 pads 3 + 3; 3757 → 1879 pads 3 + 4); a "same" Conv1DTranspose from ``n`` to ``n s`` pixels is
the adjoint of that convolution from ``n s`` pixels, so it drops the first ``⌊((n − 1) s + k − n s) / 2⌋``
pixels of the full overlap-add (15 for k = 32, s = 2, and for s = 1).

Precision: the convolutions run in float32, as in Keras; the Dense layers' forward passes in float64 (the
60,096-term sums of the encoder's hidden layer in particular), as
:class:`~latentexplorer.ved.VariationalEncoderDecoder` does, so a spectrum's latent does not depend on the
batch it is encoded in.

:func:`backward` is reverse-mode differentiation written out: cotangents with extra leading axes (the
Jacobian sends all ``latent_dim`` means back together, as one (spectra, latent_dim, …) float32 array) go
back through the tanh derivative, the max-pool routing (each pooled gradient to the first maximum of its
pool, as TensorFlow does), the ReLU masks and the convolutions' adjoints, at the state :func:`forward`
cached.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["UnsupportedModelError", "Network", "read_network", "forward", "backward", "work_bytes"]


class UnsupportedModelError(ValueError):
    """The saved network has a layer or a layer option the NumPy layers do not implement."""


# --- layers ---------------------------------------------------------------------------------------------
# Each layer maps a (batch, length, channels) or (batch, features) array; ``backward`` maps cotangents
# with extra leading axes (batch, latent_dim, …) through the layer's adjoint at the cached forward state.

def _option(cfg: dict, key: str, allowed, name: str):
    value = cfg.get(key)
    if value not in allowed:
        raise UnsupportedModelError(f"layer '{name}': {key}={value!r} is not supported (only {allowed})")
    return value


def _activation(cfg: dict, name: str) -> str:
    return _option(cfg, "activation", ("linear", "relu", "tanh"), name)


def _apply(y: np.ndarray, activation: str) -> np.ndarray:
    if activation == "relu":
        np.maximum(y, 0, out=y)
    elif activation == "tanh":
        np.tanh(y, out=y)
    return y


def _derivative(y: np.ndarray, activation: str):
    """d activation / d input at output ``y`` (None for the identity)."""
    if activation == "relu":
        return (y > 0).astype(y.dtype)
    if activation == "tanh":
        return 1 - y * y
    return None


def _same_padding(n_in: int, n_out: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding of a convolution from ``n_in`` to ``n_out`` pixels: (left, right)."""
    total = max((n_out - 1) * stride + kernel - n_in, 0)
    return total // 2, total - total // 2


class _Layer:
    name: str
    in_shape: tuple  # per sample
    out_shape: tuple
    caches = False  # whether forward appends a state (possibly None) to its cache for backward

    def forward(self, x, cache: list | None):
        raise NotImplementedError

    def backward(self, g, state):
        raise UnsupportedModelError(f"layer '{self.name}' cannot be differentiated by the engine")

    def work_size(self) -> int:
        """Elements per sample of the largest array the forward pass makes."""
        return int(np.prod(self.out_shape))


class _Reshape(_Layer):
    def __init__(self, name, in_shape, out_shape):
        if out_shape.count(-1) == 1:  # Keras's "infer this dimension"
            known = -int(np.prod(out_shape))
            out_shape = tuple(int(np.prod(in_shape)) // known if d == -1 else d for d in out_shape)
        if np.prod(in_shape) != np.prod(out_shape):
            raise ValueError(f"layer '{name}': cannot reshape {in_shape} to {out_shape}")
        self.name, self.in_shape, self.out_shape = name, tuple(in_shape), tuple(out_shape)

    def forward(self, x, cache):
        return x.reshape(x.shape[:1] + self.out_shape)

    def backward(self, g, state):
        return g.reshape(g.shape[:-len(self.out_shape)] + self.in_shape)


class _Cropping1D(_Layer):
    def __init__(self, name, cfg, in_shape):
        self.name, self.in_shape = name, tuple(in_shape)
        self.left, self.right = (int(c) for c in cfg["cropping"])
        self.out_shape = (in_shape[0] - self.left - self.right, in_shape[1])

    def forward(self, x, cache):
        return x[:, self.left:self.in_shape[0] - self.right]


class _Dense(_Layer):
    """Dense layer, computed in float64 (as VariationalEncoderDecoder's encoder head)."""

    caches = True

    def __init__(self, name, cfg, in_shape, weights):
        if len(in_shape) != 1:
            raise UnsupportedModelError(f"layer '{name}': Dense on a {len(in_shape) + 1}-d input")
        self.name, self.in_shape = name, tuple(in_shape)
        self.activation = _activation(cfg, name)
        self.kernel = np.asarray(weights[0], np.float64)
        self.bias = np.asarray(weights[1], np.float64) if len(weights) > 1 else 0.0
        self.out_shape = (self.kernel.shape[1],)
        self.kernel_t = np.ascontiguousarray(self.kernel.T, dtype=np.float32)  # for the adjoint

    def forward(self, x, cache):
        y = _apply(np.asarray(x, np.float64) @ self.kernel + self.bias, self.activation)
        if cache is not None:
            cache.append(_derivative(y, self.activation))
        return y

    def backward(self, g, state):
        """In float32, as the convolutions' adjoints: these are sums of a few terms (the layer's outputs)."""
        if state is not None:
            g = g * state[:, None]
        return g.astype(np.float32, copy=False) @ self.kernel_t


class _Transposed:
    """y[j] = Σ_{i, t : i s + t = j + crop} kernel[t] · x[i] for j < n_out: a transposed convolution (the adjoint
    of a strided convolution), on (…, n_in, c) arrays with any leading axes, in one of two ways:

    * "windows": output pixel j = s u + r (phase r) only meets the Q = ⌈k / s⌉ taps t = s q + r, on inputs
      u − q; so the input padded by Q − 1 zeros and viewed as length-Q windows, times a (Q c, s f) matrix
      holding all phases, gives the output with no zero-stuffing and no accumulation;
    * "taps": all taps of every input pixel, (k f, n_in) channels-first, then each tap's row added at its
      offset (overlap-add along contiguous rows).

    The cheaper one (fewer elements made) is used: windows for the decoder's 16-channel stride-2 layers and
    the encoder's second layer's adjoint, taps where there is one output channel (the decoder's last layer,
    the adjoint of the encoder's first layer).
    """

    def __init__(self, kernel, stride: int, crop: int, n_in: int, n_out: int):
        k, f, c = kernel.shape  # (taps, output channels, input channels), the Conv1DTranspose layout
        s = int(stride)
        q = -(-k // s)
        self.f, self.c, self.s, self.q, self.k, self.crop, self.n_in, self.n_out = f, c, s, q, k, crop, n_in, n_out
        self.u0, self.u1 = crop // s, -(-(crop + n_out) // s)  # the window rows that reach the output
        windows, taps = (self.u1 - self.u0) * q * c, n_in * k * f
        self.mode = "windows" if windows <= taps else "taps"
        if self.mode == "windows":
            padded = np.zeros((q * s, f, c), kernel.dtype)
            padded[:k] = kernel
            # w[(m, channel), (phase r, filter)] = kernel[s (Q − 1 − m) + r]
            w = padded.reshape(q, s, f, c)[::-1].transpose(0, 3, 1, 2)
            self.w = np.ascontiguousarray(w.reshape(q * c, s * f))
        else:
            self.w = np.ascontiguousarray(kernel.reshape(k * f, c))  # rows (tap, filter)
            self.full = max((n_in - 1) * s + k, crop + n_out)
        self.work = max(windows, taps) + (self.u1 - self.u0) * s * f

    def __call__(self, x, mask=None):
        """Transposed convolution of ``x`` (…, n_in, c), or of ``x * mask`` (``mask`` broadcast to it)."""
        lead = x.shape[:-2]
        if self.mode == "windows":
            q1 = self.q - 1
            xp = np.empty(lead + (self.n_in + 2 * q1, self.c), x.dtype)
            xp[..., :q1, :] = 0
            xp[..., self.n_in + q1:, :] = 0
            if mask is None:
                xp[..., q1:q1 + self.n_in, :] = x
            else:
                np.multiply(x, mask, out=xp[..., q1:q1 + self.n_in, :])
            win = sliding_window_view(xp, self.q, axis=-2)[..., self.u0:self.u1, :, :]  # (…, u, c, Q)
            y = win.swapaxes(-1, -2).reshape(lead + (self.u1 - self.u0, self.q * self.c)) @ self.w
            y = y.reshape(lead + ((self.u1 - self.u0) * self.s, self.f))
            start = self.crop - self.u0 * self.s
            return y[..., start:start + self.n_out, :]
        if mask is not None:
            x = x * mask
        taps = self.w @ x.swapaxes(-1, -2)  # (…, k f, n_in)
        buf = np.zeros(lead + (self.f, self.full), taps.dtype)
        span = self.s * (self.n_in - 1) + 1
        for t in range(self.k):
            buf[..., t:t + span:self.s] += taps[..., t * self.f:(t + 1) * self.f, :]
        return buf[..., self.crop:self.crop + self.n_out].swapaxes(-1, -2)


class _Conv1D(_Layer):
    caches = True

    def __init__(self, name, cfg, in_shape, weights, dtype):
        _option(cfg, "data_format", ("channels_last",), name)
        padding = _option(cfg, "padding", ("same", "valid"), name)
        if tuple(cfg.get("dilation_rate", (1,))) != (1,) or cfg.get("groups", 1) != 1:
            raise UnsupportedModelError(f"layer '{name}': dilated or grouped convolutions are not supported")
        self.name, self.in_shape, self.activation = name, tuple(in_shape), _activation(cfg, name)
        kernel = np.asarray(weights[0], dtype)
        k, c, f = kernel.shape
        (s,) = cfg["strides"]
        n = in_shape[0]
        out = math.ceil(n / s) if padding == "same" else (n - k) // s + 1
        self.pad = _same_padding(n, out, k, s) if padding == "same" else (0, 0)
        self.k, self.c, self.f, self.s, self.n_out = k, c, f, int(s), out
        self.out_shape = (out, f)
        self.w = np.ascontiguousarray(kernel.reshape(k * c, f))  # rows (tap, channel)
        self.bias = np.asarray(weights[1], dtype) if len(weights) > 1 else np.zeros(f, dtype)
        # the adjoint: a transposed convolution with the same kernel, (k, c, f) read as (taps, out, in)
        self.adjoint = _Transposed(kernel, s, self.pad[0], out, n)

    def work_size(self):
        return max(self.n_out * (self.k * self.c + self.f), self.adjoint.work)

    def forward(self, x, cache):
        xp = np.pad(x.astype(self.w.dtype, copy=False), ((0, 0), self.pad, (0, 0)))
        windows = sliding_window_view(xp, self.k, axis=1)[:, ::self.s][:, :self.n_out]  # (b, out, c, k)
        y = windows.swapaxes(-1, -2).reshape(len(x), self.n_out, self.k * self.c) @ self.w
        y += self.bias
        y = _apply(y, self.activation)
        if cache is not None:
            cache.append(_derivative(y, self.activation))
        return y

    def backward(self, g, state):
        return self.adjoint(g, None if state is None else state[:, None])


class _Conv1DTranspose(_Layer):
    def __init__(self, name, cfg, in_shape, weights, dtype):
        _option(cfg, "data_format", ("channels_last",), name)
        padding = _option(cfg, "padding", ("same", "valid"), name)
        if cfg.get("output_padding") is not None or tuple(cfg.get("dilation_rate", (1,))) != (1,):
            raise UnsupportedModelError(f"layer '{name}': output_padding or dilation is not supported")
        self.name, self.in_shape, self.activation = name, tuple(in_shape), _activation(cfg, name)
        kernel = np.asarray(weights[0], dtype)  # (k, filters, channels)
        k, f, _ = kernel.shape
        (s,) = cfg["strides"]
        n = in_shape[0]
        out = n * s if padding == "same" else (n - 1) * s + k
        # "same": the adjoint of the "same" convolution from `out` pixels to `n`, so crop its left padding
        crop = _same_padding(out, n, k, s)[0] if padding == "same" else 0
        self.out_shape = (out, f)
        self.transposed = _Transposed(kernel, s, crop, n, out)
        self.bias = np.asarray(weights[1], dtype) if len(weights) > 1 else np.zeros(f, dtype)

    def work_size(self):
        return self.transposed.work

    def forward(self, x, cache):
        y = self.transposed(x.astype(self.bias.dtype, copy=False))
        y = y + self.bias
        return _apply(y, self.activation)


class _MaxPooling1D(_Layer):
    caches = True

    def __init__(self, name, cfg, in_shape):
        _option(cfg, "data_format", ("channels_last",), name)
        _option(cfg, "padding", ("valid",), name)
        (p,) = cfg["pool_size"]
        strides = cfg.get("strides") or [p]
        if tuple(strides) != (p,):
            raise UnsupportedModelError(f"layer '{name}': pooling with strides {strides} ≠ pool size {p}")
        self.name, self.in_shape, self.p = name, tuple(in_shape), int(p)
        self.out_shape = (in_shape[0] // p, in_shape[1])

    def forward(self, x, cache):
        n_out, c = self.out_shape
        pools = x[:, :n_out * self.p].reshape(len(x), n_out, self.p, c)
        if self.p == 2:  # the common case, without argmax
            first, second = pools[:, :, 0], pools[:, :, 1]
            y = np.maximum(first, second)
            if cache is not None:  # where each pool's gradient goes: its first maximum, as argmax
                wins = first >= second
                cache.append(np.stack([wins, ~wins], axis=2))
            return y
        if cache is not None:
            cache.append(np.arange(self.p)[:, None] == pools.argmax(axis=2)[:, :, None, :])
        return pools.max(axis=2)

    def backward(self, g, state):
        lead, (n_out, c) = g.shape[:-2], self.out_shape
        dx = np.empty(lead + self.in_shape, g.dtype)
        routed = dx[..., :n_out * self.p, :]
        routed.shape = lead + (n_out, self.p, c)  # a view (raises rather than copy)
        np.multiply(g[..., None, :], state[:, None], out=routed)
        dx[..., n_out * self.p:, :] = 0
        return dx



# --- reading the network -----------------------------------------------------------------------------------
def _history_name(arg) -> str:
    try:
        return arg["config"]["keras_history"][0]
    except (TypeError, KeyError, IndexError):
        raise UnsupportedModelError(f"unexpected layer input {arg!r} in the model config") from None


def _chain(model_file, sub: str, until: str) -> list[str]:
    """Names of the layers of sub-model ``sub`` from its input to ``until``, each fed by the previous."""
    names, name = [], until
    while True:
        entry = model_file.layers[f"{sub}/{name}"]
        if entry["class_name"] == "InputLayer":
            return names[::-1]
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1 or len(nodes[0].get("args", [])) != 1:
            raise UnsupportedModelError(f"layer '{sub}/{name}' does not have exactly one input: not a chain")
        names.append(name)
        name = _history_name(nodes[0]["args"][0])


def _output_names(model_file, sub: str) -> list[str]:
    outputs = model_file.layer_config(sub).get("output_layers", [])
    if outputs and isinstance(outputs[0], str):
        outputs = [outputs]
    return [o[0] for o in outputs]


def _build(model_file, sub: str, names: list[str], in_shape: tuple, dtype) -> list[_Layer]:
    layers, shape = [], tuple(in_shape)
    for name in names:
        entry = model_file.layers[f"{sub}/{name}"]
        cls, cfg, key = entry["class_name"], entry["config"], f"{sub}/{name}"
        weights = model_file.weights.get(key, [])
        if cls in ("Dense", "Conv1D", "Conv1DTranspose"):
            if not weights:
                raise ValueError(f"layer '{key}' has no weights in the file")
            kernel_in = weights[0].shape[{"Dense": 0, "Conv1D": 1, "Conv1DTranspose": 2}[cls]]
            if weights[0].ndim != (2 if cls == "Dense" else 3) or kernel_in != shape[-1]:
                raise ValueError(f"layer '{key}' has a kernel of shape {weights[0].shape} for inputs of shape {shape}")
        if cls == "Reshape":
            layer = _Reshape(key, shape, tuple(int(d) for d in cfg["target_shape"]))
        elif cls == "Flatten":
            _option(cfg, "data_format", ("channels_last", None), key)
            layer = _Reshape(key, shape, (int(np.prod(shape)),))
        elif cls == "Dense":
            layer = _Dense(key, cfg, shape, weights)
        elif cls == "Conv1D":
            layer = _Conv1D(key, cfg, shape, weights, dtype)
        elif cls == "Conv1DTranspose":
            layer = _Conv1DTranspose(key, cfg, shape, weights, dtype)
        elif cls == "MaxPooling1D":
            layer = _MaxPooling1D(key, cfg, shape)
        elif cls == "Cropping1D":
            layer = _Cropping1D(key, cfg, shape)
        else:
            raise UnsupportedModelError(f"layer '{key}' is a {cls}, which the inference engine does not implement")
        layers.append(layer)
        shape = layer.out_shape
    return layers


def _input_shape(model_file, sub: str) -> tuple:
    name = model_file.layer_config(sub).get("input_layers", [None])
    name = name[0] if isinstance(name[0], str) else name[0][0]
    batch_shape = model_file.layer_config(f"{sub}/{name}").get("batch_shape")
    if not batch_shape or any(d is None for d in batch_shape[1:]):
        raise UnsupportedModelError(f"sub-model '{sub}' has no fixed input shape")
    return tuple(int(d) for d in batch_shape[1:])


class Network(NamedTuple):
    """The layers of a saved encoder-decoder, each mapping (batch, …) arrays."""

    encoder: list  #: the encoder's trunk: (b, n_pixels) spectra → (b, hidden) features
    heads: list  #: the Dense layers z_mean and z_log_var: (b, hidden) → (b, latent_dim) each
    decoder: list  #: (b, latent_dim) → (b, k, 1) natural-log PSDs


def read_network(model_file) -> Network:
    """The :class:`Network` of a read ``.keras`` file (:func:`latentexplorer.ved.keras_file.read_keras_file`).

    Raises
    ------
    UnsupportedModelError
        A layer, layer option, dtype policy or topology the NumPy layers do not implement.
    ValueError, KeyError, TypeError, IndexError
        Not the network of :mod:`latentexplorer.ved.network` (missing sub-models, weights or layers).
    """
    for sub in ("encoder", "decoder"):
        if model_file.layers.get(sub, {}).get("class_name") != "Functional":
            raise ValueError(f"no functional sub-model '{sub}'")
        for name, entry in model_file.layers.items():
            if name.startswith(sub + "/"):
                dtype = entry["config"].get("dtype")
                policy = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
                if policy not in (None, "float32"):
                    raise UnsupportedModelError(f"layer '{name}' computes in {policy}, not float32")
    outputs = _output_names(model_file, "encoder")
    if len(outputs) != 2:
        raise UnsupportedModelError(f"the encoder has {len(outputs)} outputs, not [z_mean, z_log_var]")
    trunks = [_chain(model_file, "encoder", o) for o in outputs]
    if trunks[0][:-1] != trunks[1][:-1]:
        raise UnsupportedModelError("z_mean and z_log_var do not branch from the same layer")
    f32 = np.float32
    encoder = _build(model_file, "encoder", trunks[0][:-1], _input_shape(model_file, "encoder"), f32)
    heads = [_build(model_file, "encoder", [o], encoder[-1].out_shape, f32)[0] for o in outputs]
    if not all(isinstance(h, _Dense) for h in heads):
        raise UnsupportedModelError("the encoder's outputs are not Dense layers")
    (out,) = _output_names(model_file, "decoder")
    decoder = _build(model_file, "decoder", _chain(model_file, "decoder", out), _input_shape(model_file, "decoder"),
                     f32)
    return Network(encoder, heads, decoder)


# --- evaluation ------------------------------------------------------------------------------------------
def forward(layers: list, x: np.ndarray, cache: list | None = None) -> np.ndarray:
    """``x`` through ``layers`` in order; with a ``cache`` list, each layer's state for :func:`backward`
    appended to it."""
    for layer in layers:
        x = layer.forward(x, cache)
    return x


def backward(layers: list, g: np.ndarray, cache: list) -> np.ndarray:
    """Cotangents ``g`` (…, *output shape) of ``layers``' output back to their input, at the state that
    :func:`forward` left in ``cache``: (…, *input shape)."""
    states = iter(cache[::-1])
    for layer in layers[::-1]:
        g = layer.backward(g, next(states) if layer.caches else None)
    return g


def work_bytes(layers: list, per: int = 4) -> int:
    """Bytes per sample of the largest array a forward pass through ``layers`` makes (``per`` bytes an element)."""
    return max(layer.work_size() for layer in layers) * per
