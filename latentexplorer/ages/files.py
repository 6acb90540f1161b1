"""The age model directory (``forest/``): two skops forests, their metadata and the stars they used.

Format ``latentexplorer.forest/4`` (in ``metadata.json``'s ``format``): ``age_forest.skops`` (the
:class:`~latentexplorer.ages.forest.ProbabilisticRandomForestRegressor` of log10 age), ``evolstate_forest.skops``
(the RC/RGB :class:`~latentexplorer.ages.forest.ProbabilisticRandomForestClassifier`), ``metadata.json`` (feature
names, cuts, split sizes, seed, calibration, held-out scores) and ``training_ids.txt`` /
``calibration_ids.txt`` (APOGEE_IDs, one a line). skops files are loaded trusting only the forests' own
types — never pickle. ``tree_arrays.npz`` holds the age forest's trees as plain arrays
(:func:`latentexplorer.ages.trees.forest_arrays`), read by :func:`read_tree_arrays` to predict one star
without importing scikit-learn (the star inspector); ``support.npz`` the training stars' latent means and
label ranges (:class:`~latentexplorer.ages.support.TrainingSupport`, the out-of-distribution flags).

The directory lands as one (:func:`write_forest`): ``metadata.json`` is its mark, removed before any other
file is replaced and written last, so a directory with it holds the files of one run only. Every reader
refuses a directory without it (a run of ``latentexplorer ages`` killed while its files landed) rather than
read old and new files together.

A directory of an older format is refused with one line (format 3 and before: the skops files name the forests'
classes by their module before it moved to :mod:`latentexplorer.ages.forest`); ``latentexplorer ages`` remakes it.

This module imports no scikit-learn at import time: :func:`read_forest` imports the forest classes itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_outputs
from ..io.hdf5 import format_string, parse_format
from ..io.json_product import read_json_product

__all__ = ["FOREST_VERSION", "AGE_FILE", "STATE_FILE", "METADATA_FILE", "TRAINING_IDS", "CALIBRATION_IDS",
           "TREE_ARRAYS_FILE", "SUPPORT_FILE", "FOREST_FILES", "write_forest", "read_forest", "read_forest_ids",
           "read_forest_metadata", "read_tree_arrays", "read_support"]

FOREST_VERSION = 4
AGE_FILE = "age_forest.skops"
STATE_FILE = "evolstate_forest.skops"
METADATA_FILE = "metadata.json"
TRAINING_IDS = "training_ids.txt"
CALIBRATION_IDS = "calibration_ids.txt"
TREE_ARRAYS_FILE = "tree_arrays.npz"
SUPPORT_FILE = "support.npz"
#: The files of a forest directory, its mark (the metadata, written last) first.
FOREST_FILES = (METADATA_FILE, AGE_FILE, STATE_FILE, TREE_ARRAYS_FILE, SUPPORT_FILE, TRAINING_IDS, CALIBRATION_IDS)


def write_forest(directory, regressor, classifier, metadata: dict, training_ids=(), calibration_ids=(),
                 support=None) -> Path:
    """Write the forests, ``metadata`` (stamped with the format), the star lists and the training ``support``
    (:class:`~latentexplorer.ages.support.TrainingSupport`; required) into ``directory`` (created) as one
    (:func:`~latentexplorer.io.atomic.atomic_outputs`): every file is written to a temporary beside its place,
    then the old metadata is removed, the other files land and the metadata lands last. Returns the directory."""
    from .trees import forest_arrays

    if support is None:
        raise ValueError("an age model is saved with its training support")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = (directory / name for name in FOREST_FILES)
    with atomic_outputs(*paths) as (meta_tmp, age_tmp, state_tmp, trees_tmp, support_tmp, train_tmp, calibration_tmp):
        regressor.save(age_tmp)
        classifier.save(state_tmp)
        np.savez(trees_tmp, **forest_arrays(regressor))
        np.savez(support_tmp, **support.to_arrays())
        for tmp, ids in ((train_tmp, training_ids), (calibration_tmp, calibration_ids)):
            tmp.write_text("".join(f"{star}\n" for star in ids))
        meta_tmp.write_text(json.dumps({"format": format_string("forest", FOREST_VERSION), **metadata}, indent=1))
    return directory


def _complete(directory) -> Path:
    """``directory`` as a Path, checked to be a complete forest directory (one holding its mark, the metadata)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"no age model at {directory} (run `latentexplorer ages`)")
    if not (directory / METADATA_FILE).is_file():
        raise FileNotFoundError(f"age model directory {directory} is incomplete: it lacks {METADATA_FILE} (a run of "
                                "`latentexplorer ages` stopped while writing it?); rerun `latentexplorer ages`")
    return directory


def read_forest(directory) -> tuple:
    """Read a ``forest/`` directory.

    Returns
    -------
    regressor, classifier, metadata : dict, training_ids : (n,) str, calibration_ids : (m,) str

    Raises
    ------
    FileNotFoundError
        The directory or one of its files is missing, or it is incomplete (no metadata); the message says
        which, and how to make it.
    ValueError
        Metadata that is not a latentexplorer forest's or of a newer version; a forest file that is not
        a skops forest (a pickle, garbage) or holds untrusted types.
    """
    from .forest import ProbabilisticRandomForestClassifier, ProbabilisticRandomForestRegressor

    directory = _complete(directory)
    missing = [n for n in (AGE_FILE, STATE_FILE) if not (directory / n).is_file()]
    if missing:
        raise FileNotFoundError(f"age model directory {directory} lacks {', '.join(missing)} "
                                "(run `latentexplorer ages`)")
    metadata = read_forest_metadata(directory)
    forests = []
    for name, cls in ((AGE_FILE, ProbabilisticRandomForestRegressor),
                      (STATE_FILE, ProbabilisticRandomForestClassifier)):
        try:
            forests.append(cls.load(directory / name))
        except ValueError:
            raise
        except Exception as err:  # skops raises many types for foreign files (BadZipFile, KeyError, …)
            raise ValueError(f"{directory / name} is not a skops {cls.__name__} file ({type(err).__name__}: "
                             f"{err})") from None
    return (*forests, metadata, *read_forest_ids(directory))


def read_forest_ids(directory) -> tuple[np.ndarray, np.ndarray]:
    """(training_ids, calibration_ids), each (n,) str, of a complete ``forest/`` directory (empty where not
    listed); FileNotFoundError for an incomplete one, as :func:`read_forest`."""
    directory = _complete(directory)
    return tuple(np.array((directory / n).read_text().split() if (directory / n).is_file() else [], dtype=str)
                 for n in (TRAINING_IDS, CALIBRATION_IDS))


def read_forest_metadata(directory) -> dict:
    """The ``metadata.json`` of a ``forest/`` directory (features, seed, …), without loading the forests;
    FileNotFoundError or ValueError as :func:`read_forest`, and a ValueError for a directory of an older format."""
    directory = _complete(directory)
    metadata = read_json_product(directory / METADATA_FILE, "forest", FOREST_VERSION, "rerun `latentexplorer ages`")
    version = parse_format(metadata["format"])[1]
    if version < FOREST_VERSION:
        raise ValueError(f"{directory}/ was written by an older latentexplorer (format {version}); "
                         "rerun `latentexplorer ages`")
    return metadata


def read_tree_arrays(directory):
    """The age forest of a ``forest/`` directory as :class:`~latentexplorer.ages.trees.TreeArrays` (from
    ``tree_arrays.npz``; no scikit-learn, no pickle).

    Raises
    ------
    FileNotFoundError
        The directory lacks ``tree_arrays.npz`` (written before it existed, or never), or is incomplete.
    ValueError
        The file is not a readable tree-array archive (damaged, truncated, pickled objects, missing or
        inconsistent arrays); the message names it.
    """
    from .trees import TreeArrays

    path = _complete(directory) / TREE_ARRAYS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"age model directory {directory} lacks {TREE_ARRAYS_FILE} "
                                "(rerun `latentexplorer ages`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return TreeArrays.from_arrays({key: archive[key] for key in archive.files})
    except Exception as err:  # zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, …
        raise ValueError(f"{path} is not a readable tree-array file ({type(err).__name__}: {err}); "
                         "rerun `latentexplorer ages`") from None


def read_support(directory):
    """The training support (:class:`~latentexplorer.ages.support.TrainingSupport`) of a ``forest/``
    directory; FileNotFoundError or ValueError naming the file as :func:`read_tree_arrays`."""
    from .support import TrainingSupport

    path = _complete(directory) / SUPPORT_FILE
    if not path.is_file():
        raise FileNotFoundError(f"age model directory {directory} lacks {SUPPORT_FILE} (rerun `latentexplorer ages`)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return TrainingSupport.from_arrays({key: archive[key] for key in archive.files})
    except Exception as err:
        raise ValueError(f"{path} is not a readable training-support file ({type(err).__name__}: {err}); "
                         "rerun `latentexplorer ages`") from None
