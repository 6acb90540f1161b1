"""The shipped reference encoder-decoder and the demo built on it: a survey whose every star is new to the
encoder, most of whose spectra are synthesised in memory for encoding."""

import json

import numpy as np
import pytest

from latentexplorer.demo import DEMO_SIZES, build_demo_workspace
from latentexplorer.io.apogee_spectra import read_spectra_ids
from latentexplorer.io.latent import read_latent
from latentexplorer.mock import simulate_survey
from latentexplorer.steps.reference_model import REFERENCE_SURVEY
from latentexplorer.ved.reference import MODEL_FILES, REFERENCE_FILE, reference_metadata, reference_model_dir
from latentexplorer.steps import encode_mock_survey, encode_spectra_file
from latentexplorer.workspace import Workspace

pytestmark = pytest.mark.slow


def test_the_reference_model_ships_small_with_its_provenance():
    directory = reference_model_dir()
    size = sum((directory / name).stat().st_size for name in (*MODEL_FILES, REFERENCE_FILE))
    assert size < 5e6
    meta = reference_metadata()
    assert meta["n_pairs"] >= 10_000  # as in the paper
    assert meta["survey"]["seed"] == REFERENCE_SURVEY.seed
    assert meta["regenerate"] == "make reference-model"
    assert len(meta["history"]["val_loss"]) == len(meta["history"]["loss"]) >= 2
    record = json.loads((directory / "metadata.json").read_text())
    assert record["training"]["fingerprint"] == meta["pairs_fingerprint"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference-demo") / "workspace"
    build_demo_workspace(root, size="tiny", seed=5, progress=False)
    return Workspace(root)


def test_the_demo_encodes_with_the_reference_model_and_every_star_is_new_to_it(demo):
    for name in MODEL_FILES:
        assert (demo.paths.model / name).read_bytes() == (reference_model_dir() / name).read_bytes()
    assert DEMO_SIZES["tiny"] and REFERENCE_SURVEY.seed != 5
    assert not np.isin(demo.latent.apogee_id, demo.training_record.train_ids).any()
    assert demo.held_out_pair_rows().size == len(demo.pairs)  # every pair is new to the encoder
    assert json.loads((demo.paths.root / "demo.json").read_text())["model"] == "reference"
    assert "new to the encoder" in json.loads((demo.paths.forest / "metadata.json").read_text())["holdout"]


def test_in_memory_encoding_gives_the_latents_of_the_written_spectra(demo, tmp_path):
    """The demo writes the spectra of some stars and encodes all of them in memory: the same latents."""
    survey = simulate_survey(200, 60, seed=8)
    rows = np.zeros(200, bool)
    rows[::3] = True
    survey.write(tmp_path, spectra_format="normalized", progress=False, light_curves=0, spectra_rows=rows)
    spectra = tmp_path / "survey" / "spectra.h5"
    np.testing.assert_array_equal(read_spectra_ids(spectra), np.asarray(survey.truth["APOGEE_ID"])[rows])
    encode_spectra_file(demo.paths.model, spectra, tmp_path / "from_disk.h5", progress=False)
    encode_mock_survey(demo.paths.model, survey, tmp_path / "in_memory.h5", chunk_size=128, progress=False)
    disk, memory = read_latent(tmp_path / "from_disk.h5"), read_latent(tmp_path / "in_memory.h5")
    np.testing.assert_array_equal(memory.apogee_id, np.asarray(survey.truth["APOGEE_ID"]))
    np.testing.assert_array_equal(memory.z_mean[rows], disk.z_mean)
    np.testing.assert_array_equal(memory.z_std[rows], disk.z_std)
