"""Read a Keras 3 native ``.keras`` file without Keras or TensorFlow: its configuration and its weights.

A ``.keras`` file is a zip archive of ``metadata.json`` (Keras version, date), ``config.json`` (the
serialised model: for a functional model the list of its layers, each with ``class_name`` and
``config``, nested functional models inline) and ``model.weights.h5``. In the HDF5 file Keras stores the
variables of each layer under a path built from the *class names* of the layers in model order, not
from the layer names (``layers/functional/layers/dense_1/vars/0`` is the kernel of the second Dense
layer of the first nested functional model, whatever it is called); recent Keras versions also stamp
each ``vars`` group with the layer's name. :func:`read_keras_file` rebuilds those paths from the
configuration exactly as Keras's loader does (``keras.src.saving.saving_lib``), reads the variables, and
checks them against the configuration: every layer's variables present, nothing left over, the stamped
names equal to the configured ones, and the kernel and bias shapes of Dense, Conv1D and Conv1DTranspose
layers equal to what their configuration and input shape imply.

Only functional models (nested or not) are understood; a Sequential model, a sharded weights file or a
bfloat16 variable is refused with a ValueError naming the file.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from ..io.paths import existing_file

__all__ = ["KerasFile", "read_keras_file"]

CONFIG_MEMBER = "config.json"
METADATA_MEMBER = "metadata.json"
WEIGHTS_MEMBER = "model.weights.h5"


@dataclass(frozen=True)
class KerasFile:
    """What a ``.keras`` file holds.

    Attributes
    ----------
    path : Path
    config : dict
        The whole of ``config.json`` (``{"class_name": "Functional", "config": {...}, ...}``).
    metadata : dict
        ``metadata.json`` of the archive (``keras_version``, ``date_saved``).
    layers : dict of str → dict
        Every layer's serialised entry (``class_name``, ``config``, ``build_config``, ``inbound_nodes``), by
        its path of layer names (``"encoder/conv1d"``), in model order; nested models appear too
        (``"encoder"``), before their layers.
    weights : dict of str → list of ndarray
        The variables of every layer that has some, by the same path, in Keras's order
        (``[kernel, bias]`` for Dense and the convolutions).
    """

    path: Path
    config: dict
    metadata: dict
    layers: dict = field(repr=False)
    weights: dict = field(repr=False)

    def layer_config(self, name: str) -> dict:
        """The ``config`` dict of layer ``name`` (a path such as ``"encoder/z_mean"``)."""
        return self.layers[name]["config"]


def _snake_case(name: str) -> str:
    """``keras.src.utils.naming.to_snake_case``: the name of a layer's group in the weights file."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _expected_shapes(entry: dict) -> list[tuple] | None:
    """Variable shapes implied by a layer's configuration and build input shape; None if unknown."""
    cls, cfg = entry.get("class_name"), entry.get("config", {})
    shape = (entry.get("build_config") or {}).get("input_shape")
    if cls not in ("Dense", "Conv1D", "Conv1DTranspose") or not shape or shape[-1] is None:
        return None
    n_in = int(shape[-1])
    if cls == "Dense":
        n_out = int(cfg["units"])
        kernel = (n_in, n_out)
    else:
        n_out = int(cfg["filters"])
        (k,) = cfg["kernel_size"]
        kernel = (int(k), n_in, n_out) if cls == "Conv1D" else (int(k), n_out, n_in)
    return [kernel, (n_out,)] if cfg.get("use_bias", True) else [kernel]


class _Reader:
    def __init__(self, path: Path, h5: h5py.File):
        self.path, self.h5 = path, h5
        self.layers: dict = {}
        self.weights: dict = {}
        self.used: set = set()

    def fail(self, what: str):
        raise ValueError(f"{self.path}: {what}")

    def model(self, entry: dict, h5_path: str, prefix: str):
        """Walk a functional model's layers (Keras's ``_save_container_state`` naming)."""
        if entry.get("class_name") != "Functional":
            self.fail(f"layer '{prefix or entry.get('config', {}).get('name')}' is a {entry.get('class_name')} "
                      "model; only functional Keras models can be read without Keras")
        used_names: dict = {}
        for layer in entry["config"].get("layers", []):
            cls = layer.get("class_name")
            name = layer.get("config", {}).get("name") or layer.get("name")
            if not isinstance(cls, str) or not isinstance(name, str):
                self.fail(f"config.json has a layer without class_name or name under '{prefix or '/'}'")
            group = _snake_case(cls)
            if group in used_names:
                used_names[group] += 1
                group = f"{group}_{used_names[group]}"
            else:
                used_names[group] = 0
            key = f"{prefix}/{name}" if prefix else name
            if key in self.layers:
                self.fail(f"two layers are named '{key}'")
            self.layers[key] = layer
            path = f"{h5_path}/layers/{group}" if h5_path else f"layers/{group}"
            if cls == "Functional":
                self.variables(f"{path}/vars", key, expect_none=True)
                self.model(layer, path, key)
            elif cls == "Sequential":
                self.fail(f"layer '{key}' is a Sequential model; only functional Keras models can be read "
                          "without Keras")
            else:
                self.variables(f"{path}/vars", key)

    def variables(self, vars_path: str, key: str, expect_none: bool = False):
        group = self.h5.get(vars_path)
        if group is None:
            # Keras writes no group for a layer it has already saved elsewhere (an Input shared with an outer
            # model); a layer whose configuration implies variables must have them
            if not expect_none and _expected_shapes(self.layers[key]):
                self.fail(f"the weights file has no group {vars_path} for layer '{key}' (not this model's weights)")
            return
        if not isinstance(group, h5py.Group):
            self.fail(f"{vars_path} in the weights file is not a group")
        self.used.add(vars_path)
        stamped = group.attrs.get("name")
        if isinstance(stamped, bytes):
            stamped = stamped.decode("utf-8", "replace")
        if stamped is not None and stamped != key.rsplit("/", 1)[-1]:
            self.fail(f"the weights at {vars_path} belong to layer '{stamped}', but the config puts layer "
                      f"'{key}' there")
        names = sorted(group.keys(), key=lambda s: int(s) if s.isdigit() else -1)
        if names != [str(i) for i in range(len(names))]:
            self.fail(f"{vars_path} holds {names}, not numbered variables 0, 1, …")
        arrays = []
        for n in names:
            ds = group[n]
            if not isinstance(ds, h5py.Dataset):
                self.fail(f"{vars_path}/{n} is not a dataset")
            if ds.attrs.get("dtype") in ("bfloat16", b"bfloat16") or ds.dtype.kind != "f":
                self.fail(f"variable {vars_path}/{n} of layer '{key}' has dtype "
                          f"{ds.attrs.get('dtype', ds.dtype)}; only float weights are supported")
            arrays.append(np.asarray(ds[()]))
        if expect_none:
            if arrays:
                self.fail(f"model '{key}' has variables of its own at {vars_path}")
            return
        expected = _expected_shapes(self.layers[key])
        if expected is not None and [a.shape for a in arrays] != expected:
            self.fail(f"layer '{key}' ({self.layers[key]['class_name']}) has variables of shapes "
                      f"{[a.shape for a in arrays]}, but its config implies {expected}")
        if arrays:
            self.weights[key] = arrays

    def leftovers(self) -> list[str]:
        """``vars`` groups holding datasets that no configured layer claimed."""
        found = []

        def visit(name, obj):
            claimed = name in self.used or name == "vars"
            if isinstance(obj, h5py.Group) and name.rsplit("/", 1)[-1] == "vars" and not claimed and any(
                    isinstance(v, h5py.Dataset) for v in obj.values()):
                found.append(name)

        self.h5.visititems(visit)
        return found


def read_keras_file(path) -> KerasFile:
    """Configuration and weights of the Keras 3 ``.keras`` file at ``path``, checked against each other.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Anything else (the message names the file): not a zip archive, a member missing, invalid JSON, a
        damaged HDF5 file, weights of another model, an unsupported model type.
    """
    path = existing_file(path, ".keras file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = set(archive.namelist())
            if WEIGHTS_MEMBER not in members and "model.weights.json" in members:
                raise ValueError(f"{path} holds sharded weights (model.weights.json); not supported")
            missing = [m for m in (CONFIG_MEMBER, METADATA_MEMBER, WEIGHTS_MEMBER) if m not in members]
            if missing:
                raise ValueError(f"{path} is not a Keras 3 .keras file: the archive lacks {', '.join(missing)}")
            texts = {m: archive.read(m) for m in (CONFIG_MEMBER, METADATA_MEMBER)}
            weights_bytes = archive.read(WEIGHTS_MEMBER)
    except zipfile.BadZipFile as err:
        raise ValueError(f"{path} is not a Keras 3 .keras file (not a valid zip archive: {err})") from None
    except (OSError, EOFError, zlib.error) as err:
        raise ValueError(f"{path} is damaged: {err}") from None
    try:
        config = json.loads(texts[CONFIG_MEMBER])
        metadata = json.loads(texts[METADATA_MEMBER])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: config.json or metadata.json is not valid JSON: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(f"{path}: config.json does not describe a Keras model")
    try:
        with h5py.File(io.BytesIO(weights_bytes), "r") as h5:
            reader = _Reader(path, h5)
            reader.variables("vars", config["config"].get("name", "model"), expect_none=True)
            reader.model(config, "", "")
            extra = reader.leftovers()
    except OSError as err:
        raise ValueError(f"{path}: model.weights.h5 is damaged or not HDF5: {err}") from None
    if extra:
        raise ValueError(f"{path}: the weights file holds variables no layer of config.json claims "
                         f"({', '.join(extra[:5])}): config and weights of different models")
    return KerasFile(path, config, metadata, reader.layers, reader.weights)
