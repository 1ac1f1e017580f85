"""Tests for attributions.metrics: each metric on tiny hand-computed cases, the controls at
chance level, and the argument checks.

Run one part with e.g. ``pytest tests/test_metrics.py -k Localisation``.
"""

import math

import numpy as np
import pytest

import attributions as A
from attributions import metrics as M
from attributions.metrics import average_ranks, spearman_rows
from attributions.metrics._pixels import pixel_ranks
from minicnn import nn
from minicnn.data import make_shapes


def linear_image_model(weights, bias=(0.0, 0.0)):
    """Flatten → Linear(P, 2) with class-0 weights `weights` (the image's pixels) and zero class 1."""
    weights = np.asarray(weights, dtype=np.float64).ravel()
    layer = nn.Linear(len(weights), 2)
    layer.weight.data[...] = np.stack([weights, np.zeros_like(weights)])
    layer.bias.data[...] = bias
    return nn.Sequential(nn.Flatten(), layer).eval()


def sigmoid(s):
    return 1.0 / (1.0 + math.exp(-s))


def small_conv_net(seed=0):
    nn.init.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 4 * 4, 8), nn.ReLU(),
        nn.Linear(8, 3),
    ).eval()


# ---- faithfulness -----------------------------------------------------------------------------------
class TestDeletionInsertion:
    def test_linear_model_by_hand(self):
        # t = 4·x₀ + 3·x₁ + 2·x₂ + 1·x₃ against a constant-0 class: p = σ(t). x = 1, attribution
        # 4 3 2 1 deletes pixels 0, 1, 2, 3 in that order: t = 10, 6, 3, 1, 0.
        model = linear_image_model([4, 3, 2, 1])
        x = np.ones((1, 1, 2, 2))
        a = np.array([[[[4.0, 3.0], [2.0, 1.0]]]])
        curve = M.deletion(model, x, 0, a, step=1, baseline=0.0)
        expected = [sigmoid(s) for s in (10, 6, 3, 1, 0)]
        np.testing.assert_allclose(curve.fractions, [0, 0.25, 0.5, 0.75, 1.0])
        np.testing.assert_allclose(curve.scores[0], expected, rtol=1e-12)
        auc = sum(0.5 * (expected[i] + expected[i + 1]) * 0.25 for i in range(4))
        np.testing.assert_allclose(curve.auc, [auc], rtol=1e-12)

    def test_order_matters_and_batches_agree(self):
        model = linear_image_model([4, 3, 2, 1])
        x = np.ones((2, 1, 2, 2))
        good = np.array([[4.0, 3.0], [2.0, 1.0]])[None, None].repeat(2, 0)
        bad = -good
        best = M.deletion(model, x, 0, good, step=1)
        worst = M.deletion(model, x, 0, bad, step=1)
        assert (best.auc < worst.auc).all()
        # a batch size of 1 row at a time gives the same numbers as one big batch
        np.testing.assert_allclose(M.deletion(model, x, 0, good, step=1, batch_size=1).scores, best.scores)

    def test_insertion_on_a_constant_image_is_flat(self):
        # blur(constant) = constant, so every point of the insertion curve is p(x).
        model = linear_image_model(np.arange(16.0))
        x = np.full((1, 1, 4, 4), 0.1)
        curve = M.insertion(model, x, 0, np.random.default_rng(0).random((1, 4, 4)), fraction=0.25)
        np.testing.assert_allclose(curve.scores, sigmoid(0.1 * np.arange(16.0).sum()), rtol=1e-10)
        np.testing.assert_allclose(curve.auc, sigmoid(0.1 * 120), rtol=1e-10)

    def test_curve_steps(self):
        np.testing.assert_array_equal(M.curve_steps(10, step=3), [0, 3, 6, 9, 10])
        np.testing.assert_array_equal(M.curve_steps(10, fraction=0.5), [0, 5, 10])
        np.testing.assert_array_equal(M.curve_steps(20), np.arange(21))  # default 5 %


class TestCorrelations:
    def setup_method(self):
        rng = np.random.default_rng(1)
        self.w = rng.normal(size=(4, 4))
        self.model = linear_image_model(self.w)
        self.x = rng.random((3, 1, 4, 4))

    def test_exact_attribution_correlates_perfectly(self):
        # For a linear logit, the drop when S is zeroed is Σ_{i∈S} w_i x_i = Σ_S (gradient × input).
        a = self.x * self.w
        np.testing.assert_allclose(M.faithfulness_correlation(self.model, self.x, 0, a, subset_size=4), 1.0)
        np.testing.assert_allclose(M.sensitivity_n(self.model, self.x, 0, a, n=3), 1.0)
        np.testing.assert_allclose(M.faithfulness_correlation(self.model, self.x, 0, -a, subset_size=0.5), -1.0)

    def test_shared_drops_match(self):
        a = self.x * self.w
        subsets = M.random_subsets(3, (4, 4), 5, 10, seed=3)
        assert subsets.shape == (3, 10, 4, 4) and (subsets.sum(axis=(2, 3)) == 5).all()
        drops = M.subset_drops(self.model, self.x, 0, subsets)
        np.testing.assert_allclose(drops, np.einsum("nmhw,nhw->nm", subsets, a[:, 0]), atol=1e-12)

    def test_constant_attribution_sum_is_nan(self):
        subsets = np.ones((1, 4, 4, 4), dtype=bool)
        assert np.isnan(M.subset_correlation(np.ones((1, 4, 4)), subsets, np.arange(4.0)[None])).all()

    def test_constant_row_is_nan_although_its_rounded_mean_leaves_residues(self):
        # Output drops of a saturated probability: every subset takes p = 0.99999999992 to ~1e-26.
        drops = np.full((1, 12), 0.9999999999155531)
        assert drops.mean() != drops[0, 0]  # so drops − mean is noise of 2e-16, not 0
        assert np.isnan(M.pearson_rows(np.arange(12.0)[None], drops)).all()
        # a small spread that is far above rounding is kept
        np.testing.assert_allclose(M.pearson_rows(np.arange(12.0)[None], drops + 1e-9 * np.arange(12.0)), 1.0)


# ---- localisation -----------------------------------------------------------------------------------
class TestLocalisation:
    def test_perfect_attribution_scores_one(self):
        masks = np.zeros((2, 5, 5), dtype=bool)
        masks[0, 1:3, 1:4] = True
        masks[1, 4, 0] = True
        a = masks.astype(float)[:, None]  # (N, 1, H, W), shaped like x
        np.testing.assert_array_equal(M.relevance_mass_accuracy(a, masks), [1.0, 1.0])
        np.testing.assert_array_equal(M.relevance_rank_accuracy(a, masks), [1.0, 1.0])
        np.testing.assert_array_equal(M.pointing_game(a, masks), [1.0, 1.0])

    def test_by_hand(self):
        mask = np.array([[[True, True, False], [False, False, False]]])
        a = np.array([[[3.0, -1.0, 2.0], [1.0, 0.0, -5.0]]])
        # positive mass: inside 3 of 3 + 2 + 1 = 6; top-2 pixels are 3 (in) and 2 (out)
        np.testing.assert_allclose(M.relevance_mass_accuracy(a, mask), [0.5])
        np.testing.assert_allclose(M.relevance_rank_accuracy(a, mask), [0.5])
        np.testing.assert_array_equal(M.pointing_game(a, mask), [1.0])
        np.testing.assert_array_equal(M.pointing_game(-a, mask), [0.0])  # the top pixel is −(−5)
        assert np.isnan(M.relevance_mass_accuracy(-np.abs(a), mask)).all()  # no positive relevance

    def test_channels_are_summed(self):
        mask = np.array([[[True, False]]])
        a = np.array([[[[1.0, 0.0]], [[-2.0, 1.0]]]])  # channel sum: [-1, 1]
        np.testing.assert_array_equal(M.relevance_mass_accuracy(a, mask), [0.0])

    def test_controls_score_near_chance(self):
        x, _, masks = make_shapes(200, seed=5)
        share = masks.reshape(len(masks), -1).mean(axis=1)
        chance, spread = share.mean(), share.std() / np.sqrt(len(share))
        random_map = M.random_attribution(None, x)
        # Random U(0, 1): E[mass] and E[rank] are the mask's share of the image.
        for score in (M.relevance_mass_accuracy(random_map, masks), M.relevance_rank_accuracy(random_map, masks)):
            assert abs(score.mean() - chance) < 0.02
        hits = M.pointing_game(random_map, masks)
        assert abs(hits.mean() - chance) < 4 * np.sqrt(chance * (1 - chance) / len(hits))
        # The centre Gaussian knows nothing about where the shape is: far from the perfect 1,
        # within a few times chance (shapes are placed anywhere, so the centre is a weak prior).
        gauss = M.centre_gaussian_attribution(None, x)
        for score in (M.relevance_mass_accuracy(gauss, masks), M.relevance_rank_accuracy(gauss, masks),
                      M.pointing_game(gauss, masks)):
            assert score.mean() < 3 * chance + 10 * spread


# ---- complexity --------------------------------------------------------------------------------------
class TestComplexity:
    def test_sparseness(self):
        n = 64
        one_hot = np.zeros((1, n))
        one_hot[0, 7] = -3.0
        np.testing.assert_allclose(M.sparseness(np.full((2, 1, 8, 8), 0.3)), [0.0, 0.0], atol=1e-12)
        np.testing.assert_allclose(M.sparseness(one_hot), [(n - 1) / n])
        assert M.sparseness(one_hot)[0] > 0.98
        # by hand: |a| sorted 0, 1, 3 → Σ(2k − n − 1) v_k / (n Σv) = (0·(−2) + 1·0 + 3·2) / (3·4) = 0.5
        np.testing.assert_allclose(M.sparseness(np.array([[3.0, -1.0, 0.0]])), [0.5])

    def test_entropy(self):
        np.testing.assert_allclose(M.entropy(np.full((1, 1, 4, 5), -2.0)), [np.log(20)])
        np.testing.assert_allclose(M.entropy(np.eye(4)[:1]), [0.0], atol=1e-15)
        np.testing.assert_allclose(M.entropy(np.array([[1.0, 1.0, 2.0]])), [-(2 * 0.25 * np.log(0.25) + 0.5 * np.log(0.5))])

    def test_zero_map_is_nan(self):
        assert np.isnan(M.sparseness(np.zeros((1, 4)))).all() and np.isnan(M.entropy(np.zeros((1, 4)))).all()


# ---- randomisation ------------------------------------------------------------------------------------
class TestRandomisation:
    def setup_method(self):
        self.model = small_conv_net()
        self.x = np.random.default_rng(0).random((3, 1, 8, 8))

    def test_layers_from_the_top(self):
        assert [name for name, _ in M.parameter_layers(self.model)] == ["6", "4", "0"]

    def test_unchanged_model_gives_one_and_caller_model_is_untouched(self):
        before = {k: v.copy() for k, v in self.model.state_dict().items()}
        result = M.model_randomisation(self.model, self.x, 1, A.saliency, layers=0)
        assert result.layers == ["none"]
        np.testing.assert_allclose(result.spearman, np.ones((1, 3)))
        full = M.model_randomisation(self.model, self.x, 1, A.gradient_x_input, layers=None, seed=1)
        assert full.layers == ["none", "6", "4", "0"] and full.spearman.shape == (4, 3)
        assert np.nanmax(np.abs(full.spearman[-1])) < 0.99  # the map changed once all weights are new
        for k, v in self.model.state_dict().items():
            np.testing.assert_array_equal(v, before[k])

    def test_model_independent_control_keeps_correlation_one(self):
        result = M.model_randomisation(self.model, self.x, 0, M.centre_gaussian_attribution)
        np.testing.assert_allclose(result.spearman, 1.0)

    def test_spearman_matches_scipy(self):
        stats = pytest.importorskip("scipy.stats")
        v = np.random.default_rng(2).integers(0, 4, size=(3, 12)).astype(float)  # many ties
        w = np.random.default_rng(3).random((3, 12))
        for row in range(3):
            np.testing.assert_allclose(average_ranks(v)[row], stats.rankdata(v[row]))
            np.testing.assert_allclose(spearman_rows(v, w)[row], stats.spearmanr(v[row], w[row])[0])

    def test_cross_class(self):
        rho = M.cross_class_correlation(self.model, self.x, 0, 2, M.centre_gaussian_attribution)
        np.testing.assert_allclose(rho, 1.0)
        with pytest.raises(ValueError, match="other_target"):
            M.cross_class_correlation(self.model, self.x, 0, 0, A.saliency)


# ---- robustness and cost ----------------------------------------------------------------------------------
class TestRobustnessAndCost:
    def test_max_sensitivity(self):
        model = linear_image_model(np.arange(16.0) + 1)
        x = np.random.default_rng(0).random((2, 1, 4, 4))
        # the gradient of a linear model does not depend on x: sensitivity 0
        np.testing.assert_allclose(M.max_sensitivity(model, x, 0, A.saliency), 0.0, atol=1e-12)
        # gradient × input changes by w·δ: relative change ≤ r·‖w‖ / ‖w·x‖
        s = M.max_sensitivity(model, x, 0, A.gradient_x_input, radius=0.01, n_samples=4)
        w = np.arange(16.0) + 1
        bound = 0.01 * np.linalg.norm(w) / np.linalg.norm(x.reshape(2, -1) * w, axis=1)
        assert (s > 0).all() and (s <= bound + 1e-12).all()
        assert (M.max_sensitivity(model, x, 0, M.random_attribution) > 0.3).all()

    def test_pass_counts(self):
        model = small_conv_net()
        x = np.random.default_rng(0).random((4, 1, 8, 8))
        _, cost = M.measure_cost(model, x, 0, A.saliency)
        assert cost.backward_per_image == 1.0
        assert cost.forward_per_image == 1.0  # targets are checked against these logits: no extra pass
        _, cost = M.measure_cost(model, x, 0, lambda m, x, t: A.integrated_gradients(m, x, t, steps=5))
        assert cost.backward_per_image == 5.0
        _, cost = M.measure_cost(model, x, 0, A.deeplift)
        assert cost.backward_per_image == cost.forward_per_image == 2.0  # one pass over the stacked [x; x′]
        with M.count_passes(model) as counter:
            pass
        assert counter.forward_rows == counter.backward_rows == 0


# ---- bad input ----------------------------------------------------------------------------------------
class TestBadInput:
    def setup_method(self):
        self.model = linear_image_model(np.ones(16))
        self.x = np.ones((2, 1, 4, 4))
        self.a = np.ones((2, 1, 4, 4))

    def test_mask_shape(self):
        with pytest.raises(ValueError, match="masks"):
            M.relevance_mass_accuracy(self.a, np.ones((2, 4, 5), dtype=bool))
        with pytest.raises(ValueError, match="masks"):
            M.pointing_game(self.a, np.zeros((2, 4, 4), dtype=bool))  # empty masks

    def test_attribution_shape(self):
        with pytest.raises(ValueError, match="attributions"):
            M.deletion(self.model, self.x, 0, np.ones((2, 4, 5)))

    def test_steps_and_fractions(self):
        for kwargs, name in (({"step": 0}, "step"), ({"step": 17}, "step"), ({"fraction": 0.0}, "fraction"),
                             ({"fraction": 1.5}, "fraction"), ({"step": 2, "fraction": 0.5}, "step, fraction")):
            with pytest.raises(ValueError, match=name):
                M.deletion(self.model, self.x, 0, self.a, **kwargs)
        with pytest.raises(ValueError, match="subset_size"):
            M.faithfulness_correlation(self.model, self.x, 0, self.a, subset_size=1.5)
        with pytest.raises(ValueError, match="n_subsets"):
            M.faithfulness_correlation(self.model, self.x, 0, self.a, n_subsets=1)
        with pytest.raises(ValueError, match="n must be"):
            M.sensitivity_n(self.model, self.x, 0, self.a, n=0)
        with pytest.raises(ValueError, match="blur_sigma"):
            M.insertion(self.model, self.x, 0, self.a, blur_sigma=0)
        with pytest.raises(ValueError, match="radius"):
            M.max_sensitivity(self.model, self.x, 0, A.saliency, radius=-1)
        with pytest.raises(ValueError, match="layers"):
            M.model_randomisation(self.model, self.x, 0, A.saliency, layers=5)

    def test_empty_batch(self):
        empty = np.zeros((0, 1, 4, 4))
        with pytest.raises(ValueError, match="attributions"):
            M.sparseness(empty)
        with pytest.raises(ValueError, match="attributions"):
            M.entropy(empty)
        with pytest.raises(ValueError, match="attributions"):
            M.relevance_rank_accuracy(np.zeros((0, 4, 4)), np.zeros((0, 4, 4), dtype=bool))
        with pytest.raises(ValueError, match="x"):
            M.deletion(self.model, empty, 0, empty)
        with pytest.raises(ValueError, match="x"):
            M.max_sensitivity(self.model, empty, 0, A.saliency)


def test_tie_breaking_is_seeded_not_raster():
    ranks = pixel_ranks(np.zeros((1, 8, 8)), seed=0)
    assert sorted(ranks[0]) == list(range(64))
    assert not np.array_equal(ranks[0], np.arange(64))  # not the raster order
    np.testing.assert_array_equal(ranks, pixel_ranks(np.zeros((1, 8, 8)), seed=0))
