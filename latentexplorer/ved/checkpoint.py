"""The encoder-decoder's training checkpoint (``MODEL/checkpoint/checkpoint.h5``): everything a resumed
run needs. Format ``latentexplorer.checkpoint/1``: attribute ``record`` (JSON: state, configuration and
data fingerprint), one group per list of arrays (``weights``, ``best_weights``, ``optimizer``; datasets
``0000``, ``0001``, …) and the dataset ``sampler_state``."""

from __future__ import annotations

import json

import numpy as np

from ..io.hdf5 import hdf5_product_writer, open_hdf5_product

__all__ = ["CHECKPOINT_VERSION", "write_checkpoint", "read_checkpoint"]

CHECKPOINT_VERSION = 1


def write_checkpoint(path, record: dict, arrays: dict[str, list], sampler_state) -> None:
    """Write a checkpoint atomically: ``record`` (JSON-able), ``arrays`` (group name → list of arrays)
    and the sampler's state array."""
    with hdf5_product_writer(path, "checkpoint", CHECKPOINT_VERSION, in_memory=True) as f:
        f.attrs["record"] = json.dumps(record)
        for name, values in arrays.items():
            group = f.create_group(name)
            for i, a in enumerate(values):
                group.create_dataset(f"{i:04d}", data=np.asarray(a))
        f.create_dataset("sampler_state", data=np.asarray(sampler_state))


def read_checkpoint(path, groups) -> tuple[dict, dict[str, list], np.ndarray]:
    """(record, group name → list of arrays for each of ``groups``, sampler state) of a checkpoint."""
    with open_hdf5_product(path, "checkpoint", CHECKPOINT_VERSION, "train", (*groups, "sampler_state")) as f:
        record = json.loads(f.attrs["record"])
        arrays = {name: [f[name][k][()] for k in sorted(f[name])] for name in groups}
        return record, arrays, f["sampler_state"][()]
