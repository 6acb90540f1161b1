"""The age model's training support: which stars' ages are out of distribution (AGE_FLAG 64, 128)."""

import numpy as np
import pytest

from latentexplorer.ages.support import LATENT_PERCENTILE, TrainingSupport


@pytest.fixture(scope="module")
def support():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((1200, 5)) * [1.0, 0.5, 0.3, 0.05, 0.05]
    return TrainingSupport.fit(z, rng.uniform(4200, 5200, 1200), rng.uniform(-0.8, 0.4, 1200)), rng


def test_stars_drawn_like_the_training_stars_are_rarely_outside(support):
    support, rng = support
    z = rng.standard_normal((5000, 5)) * [1.0, 0.5, 0.3, 0.05, 0.05]
    # the threshold is the training stars' own 99th percentile: ~1 % of new stars beyond it
    assert np.mean(support.outside_latent(z)) < 2.5 * (100 - LATENT_PERCENTILE) / 100


def test_stars_away_from_the_training_sample_are_outside(support):
    support, _ = support
    z = np.array([[4.0, 0, 0, 0, 0], [0, 3.0, 0, 0, 0], [0, 0, 0, 1.0, 0], [0.1, 0.1, 0.0, 0.0, 0.0]])
    assert support.outside_latent(z).tolist() == [True, True, True, False]


def test_missing_latents_are_not_called_outside(support):
    support, _ = support
    z = np.array([[np.nan] * 5, [0.0] * 5])
    assert support.outside_latent(z).tolist() == [False, False]
    assert np.isnan(support.latent_distance(z)[0])


def test_teff_and_metallicity_outside_the_training_range(support):
    support, _ = support
    teff = np.array([4700.0, 3900.0, 5400.0, 4700.0, 4700.0, np.nan])
    fe_h = np.array([0.0, 0.0, 0.0, -1.5, 0.6, 0.0])
    assert support.outside_labels(teff, fe_h).tolist() == [False, True, True, True, True, False]


def test_round_trip_through_arrays(support):
    support, _ = support
    again = TrainingSupport.from_arrays(support.to_arrays())
    np.testing.assert_array_equal(again.z, support.z)
    assert (again.threshold, again.neighbours, again.teff_range, again.fe_h_range) == (
        support.threshold, support.neighbours, support.teff_range, support.fe_h_range)
    with pytest.raises(ValueError, match="lacks threshold"):
        TrainingSupport.from_arrays({k: v for k, v in support.to_arrays().items() if k != "threshold"})


def test_too_few_training_stars_is_a_clear_error():
    with pytest.raises(ValueError, match="more than 10 stars"):
        TrainingSupport.fit(np.zeros((5, 5)), np.zeros(5), np.zeros(5))
