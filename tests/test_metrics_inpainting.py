"""Harmonic inpainting (the deletion fill) against a dense linear solve written here, and deletion
with baseline="inpaint" against the curve computed by hand from it."""

import numpy as np
import pytest

from attributions import metrics as M
from attributions.metrics._pixels import pixel_ranks
from attributions.metrics.inpainting import EPSILON
from minicnn import nn


def dense_inpaint(x, removed):
    """The docstring's equations, one image and channel at a time, solved by numpy.linalg.solve."""
    out = x.copy()
    h, w = removed.shape[1:]
    for i in range(len(x)):
        points = np.argwhere(removed[i])
        index = {tuple(p): j for j, p in enumerate(points)}
        for c in range(x.shape[1]):
            kept = ~removed[i]
            m = x[i, c][kept].mean() if kept.any() else x[i, c].mean()
            system, rhs = np.zeros((len(points), len(points))), np.full(len(points), EPSILON * m)
            for j, (r, q) in enumerate(points):
                system[j, j] = EPSILON
                for rr, qq in ((r - 1, q), (r + 1, q), (r, q - 1), (r, q + 1)):
                    if 0 <= rr < h and 0 <= qq < w:
                        system[j, j] += 1
                        if removed[i, rr, qq]:
                            system[j, index[rr, qq]] -= 1
                        else:
                            rhs[j] += x[i, c, rr, qq]
            if len(points):
                out[i, c][removed[i]] = np.linalg.solve(system, rhs)
    return out


def test_inpaint_solves_the_harmonic_equations():
    rng = np.random.default_rng(0)
    x = rng.random((4, 2, 9, 7))
    removed = rng.random((4, 9, 7)) < 0.6
    removed[2] = True   # nothing kept: the mean of the image
    removed[3] = False  # nothing removed: unchanged
    filled = M.inpaint(x, removed)
    np.testing.assert_allclose(filled, dense_inpaint(x, removed), atol=1e-6)
    keep = ~np.broadcast_to(removed[:, None], x.shape)
    np.testing.assert_array_equal(filled[keep], x[keep])
    np.testing.assert_allclose(filled[2], np.broadcast_to(x[2].mean(axis=(1, 2), keepdims=True), x[2].shape))


def test_a_hole_in_a_linear_ramp_is_filled_exactly():
    # a linear function is harmonic: the hole gets the ramp back (away from the Neumann borders)
    ramp = np.broadcast_to(np.arange(12.0), (12, 12)).copy()[None, None]
    removed = np.zeros((1, 12, 12), dtype=bool)
    removed[0, 3:9, 4:8] = True
    np.testing.assert_allclose(M.inpaint(ramp, removed), ramp, atol=1e-5)


def test_inpaint_checks_the_mask_shape():
    with pytest.raises(ValueError, match="removed"):
        M.inpaint(np.zeros((2, 1, 4, 4)), np.zeros((2, 4, 5), dtype=bool))


def test_deletion_by_inpainting_matches_the_curve_by_hand():
    nn.init.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3)).eval()
    rng = np.random.default_rng(1)
    x, a = rng.random((2, 1, 4, 4)), rng.random((2, 4, 4))
    curve = M.deletion(model, x, [0, 2], a, step=4, baseline="inpaint")
    order = np.argsort(-a.reshape(2, -1), axis=1)
    for i, target in enumerate((0, 2)):
        for t, k in enumerate((0, 4, 8, 12, 16)):
            removed = np.zeros(16, dtype=bool)
            removed[order[i, :k]] = True
            image = dense_inpaint(x[i:i + 1], removed.reshape(1, 4, 4))
            logits = model(image).data[0]
            p = np.exp(logits - logits.max())
            assert curve.scores[i, t] == pytest.approx(p[target] / p.sum(), abs=1e-6)
    with pytest.raises(ValueError, match="baseline"):
        M.deletion(model, x, 0, a, baseline="blur")



def test_systems_that_converge_early_stop_moving():
    # a deletion curve's steps are filled in one batch; some are solved long before the others and
    # must stop moving, not iterate on underflowing numbers into 0/0 (found on this shapes image)
    from minicnn.data import load_dataset

    data = load_dataset("shapes")
    index = np.sort(np.random.default_rng(0).choice(len(data.x_test), size=100, replace=False))[31]
    x = data.x_test[index:index + 1].astype(np.float64)
    ranks = pixel_ranks(M.pixel_map(M.random_attribution(None, x)), 0)
    removed = np.stack([(ranks[0] < k).reshape(32, 32) for k in range(64, 1024, 64)])
    filled = M.inpaint(np.repeat(x, len(removed), axis=0), removed)
    assert np.isfinite(filled).all()
    np.testing.assert_allclose(filled[:3], dense_inpaint(np.repeat(x, 3, axis=0), removed[:3]), atol=1e-5)
