"""Class discrimination D = 1 − ρ_s(|a_c|, |a_c′|) (the one statistic of demo and compare): the
runner-up class, known values, and scipy's Spearman as the reference."""

import numpy as np
import pytest

import attributions as A
from attributions import metrics as M
from minicnn import nn


def small_net():
    nn.init.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 5)).eval()


def test_runner_up_is_the_best_other_class():
    model = small_net()
    x = np.random.default_rng(0).random((6, 1, 8, 8))
    logits = model(x).data
    targets = np.array([0, 1, 2, 3, 4, 0])
    expected = [int(np.argmax(np.where(np.arange(5) == t, -np.inf, row))) for t, row in zip(targets, logits)]
    assert M.runner_up(model, x, targets).tolist() == expected


def test_known_values():
    a = np.random.default_rng(1).normal(size=(3, 1, 5, 5))
    np.testing.assert_allclose(M.class_discrimination_of_maps(a, a), 0.0, atol=1e-12)
    np.testing.assert_allclose(M.class_discrimination_of_maps(a, -3 * a), 0.0, atol=1e-12)  # a sign flip: same pixels
    constant = np.zeros((3, 5, 5))
    assert np.isnan(M.class_discrimination_of_maps(a, constant)).all()
    assert M.constant_maps(constant).all() and not M.constant_maps(a).any()


def test_matches_scipy_spearman_of_magnitudes():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 2, 6, 6)), rng.normal(size=(4, 6, 6))
    expected = [1 - stats.spearmanr(np.abs(a[i].sum(axis=0)).ravel(), np.abs(b[i]).ravel())[0] for i in range(4)]
    np.testing.assert_allclose(M.class_discrimination_of_maps(a, b), expected, atol=1e-12)


def test_a_class_blind_method_scores_zero_and_gradients_do_not():
    model = small_net()
    x = np.random.default_rng(3).random((4, 1, 8, 8))
    np.testing.assert_allclose(M.class_discrimination(model, x, 0, M.centre_gaussian_attribution), 0.0, atol=1e-12)
    other = M.runner_up(model, x, 0)
    expected = M.class_discrimination_of_maps(A.saliency(model, x, 0), A.saliency(model, x, other))
    np.testing.assert_allclose(M.class_discrimination(model, x, 0, A.saliency), expected)
    assert (expected > 0).all()
    with pytest.raises(ValueError, match="other_target"):
        M.class_discrimination(model, x, 1, A.saliency, other_target=1)
