"""Our metrics against Quantus (Hedström et al., JMLR 2023) on the same model, images and maps.

Quantus takes a torch model and precomputed attributions. Here the model is the PyTorch twin
(tests/torch_zoo.py) of a bundled net with its weights copied: the digits LeNet (1×16×16) and
the shapes VGG (1×32×32, with ground-truth masks). Both sides get the same float64 images and
the same attribution arrays. Where Quantus explains on its own (max-sensitivity,
randomisation), its `explain_func` copies the torch model's weights into a minicnn net and
runs our method, so the maps are ours on both sides. Quantus runs with normalise=False and
abs=False unless stated, so that the definitions coincide. Its random draws (subsets, noise)
are replaced by ours. Where the definitions coincide, the per-image scores agree to 1e-6.
Where they differ, the test states how, and asserts the relation that follows:

- deletion and insertion ↔ PixelFlipping with features_in_step = our step. Its curve is our
  s_1 … s_T: it has no point s_0 for the unperturbed image. Its AUC is the trapezoid rule with
  unit spacing over those T points. When the step divides P,
      ours · T = AUC_Quantus + ½ (s_0 + s_1).
  PixelFlipping flips single values, one channel of a pixel at a time; these nets have one
  input channel. RegionPerturbation with patch_size=1 ranks a pixel with all its channels by their summed
  relevance, as we do. Its curve is the drop s_0 − s_t.
- faithfulness correlation: the same, given the same subsets.
- pointing game: Quantus counts a hit when any of several tied maxima lies in M. We break the
  tie at random. So ours ≤ Quantus, with equality when the maximum is unique.
- relevance mass accuracy: Quantus sums the signed a; we sum a⁺ (Arras et al.). So
  ours(a) = Quantus(a⁺), and ours(a) = Quantus(a) for a ≥ 0.
- relevance rank accuracy: the same when no tie straddles the K-th place.
- sparseness: Quantus adds ε = 1e-7 to every |a_i| first. Σ_k (2k − n − 1) = 0, so the
  numerator is unchanged: G_Quantus = G · Σv / (Σv + n ε). With Quantus's default
  normalise=True, v is first divided by the largest |a_i| of the whole batch.
- complexity: Quantus computes −Σ p log(p + 1e-12), which is within n·1e-12 of our entropy.
- max-sensitivity: the same, given the same perturbations (np.random.uniform replayed).
- model-parameter randomisation: Quantus re-initialises each layer with torch's
  `reset_parameters` after `torch.manual_seed(seed + 1)`. We use minicnn's with a NumPy
  generator, the same distribution but other draws. The test loads Quantus's draws into our
  cascade (`randomise_layer` replaced); then the layer order and every ρ agree. (Quantus ranks
  |a| channel by channel, where we rank |Σ_c a|. With one input channel they are the same.)

NumPy 2.4 removed `np.trapz`, which Quantus 0.6's `calculate_auc` still calls. The AUC test
puts back the alias `np.trapz = np.trapezoid`, the same function that NumPy 2.0 renamed.
Skipped when torch or quantus is missing (install the 'torch' extra).
"""

import numpy as np
import pytest

REASON = "torch and quantus are optional (the 'torch' extra): Quantus cross-checks skipped"
torch = pytest.importorskip("torch", reason=REASON)
quantus = pytest.importorskip("quantus", reason=REASON)

import attributions as A  # noqa: E402
from attributions import metrics as M  # noqa: E402
from attributions.metrics import randomisation  # noqa: E402
from minicnn import models  # noqa: E402
from minicnn.interop import from_torch_state_dict, to_torch_state_dict  # noqa: E402
from quantus.helpers.model.pytorch_model import PyTorchModel  # noqa: E402
from torch_zoo import LeNetTwin, VGGSmallTwin  # noqa: E402

TOLERANCE = 1e-6
N_IMAGES = 4


def assert_agree(ours, theirs, tolerance=TOLERANCE):
    """Per image, |ours − theirs| ≤ tolerance · (1 + |theirs|); NaN only where the other is NaN."""
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64),
                               rtol=tolerance, atol=tolerance)


@pytest.fixture(scope="module", autouse=True)
def float64_torch():
    """Quantus feeds the model `torch.Tensor(x)`, which has torch's default dtype: float64 here,
    like the twins. One thread: these nets are tiny, threads only add overhead."""
    previous, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(previous)
    torch.set_num_threads(threads)


def minicnn_explainer(method, build):
    """Quantus's explain_func(model, inputs, targets): our `method` on a minicnn net `build()`
    holding the torch model's current weights (a randomised layer included)."""
    def explain(model, inputs, targets, **kwargs):
        net = build()
        net.load_state_dict(from_torch_state_dict(model.state_dict()))
        return method(net.eval(), np.asarray(inputs, dtype=np.float64), np.asarray(targets))
    return explain


def replay(monkeypatch, name, draws, check=None):
    """Replace np.random.<name> by a function returning `draws` one after the other (after
    `check(*args, **kwargs)` of each call). Returns a callable asserting that all were used."""
    remaining = iter(draws)

    def draw(*args, **kwargs):
        if check is not None:
            check(*args, **kwargs)
        return next(remaining)

    monkeypatch.setattr(np.random, name, draw)

    def all_used():
        assert next(remaining, None) is None, f"Quantus drew fewer np.random.{name} values than replayed"
    return all_used


class Net:
    """A minicnn net, its PyTorch twin with the same weights, a few images, the predicted classes."""

    def __init__(self, model, twin, x, build, masks=None):
        self.model, self.twin, self.x, self.build, self.masks = model, twin, x, build, masks
        self.y = model(x).data.argmax(axis=1)
        self.n_pixels = x.shape[2] * x.shape[3]


def bundled(dataset, twin_class):
    """The bundled net trained on `dataset`, its twin, the first test images (and their masks)."""
    model, data = models.load_pretrained(dataset)
    twin = twin_class(data.input_shape, data.n_classes).double().eval()
    twin.load_state_dict(to_torch_state_dict(model.state_dict()))  # strict
    x = data.x_test[:N_IMAGES].astype(np.float64)
    masks = data.masks_test[:N_IMAGES] if data.has_masks else None
    return Net(model, twin, x, lambda: type(model)(data.input_shape, data.n_classes), masks)


NETS = {"digits": LeNetTwin, "shapes": VGGSmallTwin}


@pytest.fixture(scope="module", params=list(NETS))
def net(request):
    """The bundled digits LeNet (1×16×16) and shapes VGG (1×32×32, with masks)."""
    return bundled(request.param, NETS[request.param])


@pytest.fixture(scope="module")
def shapes():
    """The shapes VGG alone, for the localisation metrics (they need masks)."""
    return bundled("shapes", VGGSmallTwin)


@pytest.fixture(scope="module")
def colour_net():
    """A LeNet on 3×16×16 noise images, PyTorch's seeded initialisation with the weights doubled
    (so that the probabilities move): pixels with three channels each."""
    torch.manual_seed(0)
    twin = LeNetTwin((3, 16, 16), 10).double().eval()
    with torch.no_grad():
        for p in twin.parameters():
            p.mul_(2.0)
    build = lambda: models.LeNet((3, 16, 16), 10)  # noqa: E731
    model = build()
    model.load_state_dict(from_torch_state_dict(twin.state_dict()))
    return Net(model.eval(), twin, np.random.default_rng(0).random((3, 3, 16, 16)), build)


def distinct(maps):
    """True when no two pixels of any image share a relevance value: orderings are unambiguous."""
    flat = np.asarray(maps).reshape(len(maps), -1)
    return all(len(np.unique(row)) == row.size for row in flat)


def signed_gradient(model, x, target):
    """The raw input gradient ∂f_c/∂x: signed, and without the exact zeros of gradient × input."""
    return A.saliency(model, x, target, abs=False)


def test_twins_give_our_logits(net, colour_net):
    """The precondition of every comparison below: both sides score the same model."""
    for case in (net, colour_net):
        with torch.no_grad():
            logits = case.twin(torch.from_numpy(case.x)).numpy()
        np.testing.assert_allclose(case.model(case.x).data, logits, rtol=1e-10, atol=1e-10)


# ---- faithfulness -----------------------------------------------------------------------------------
class TestDeletionInsertion:
    def test_deletion_is_pixel_flipping(self, net, monkeypatch):
        """Quantus's curve is our s_1 … s_T; its AUC (unit spacing, no s_0) is T·ours − ½(s_0 + s_1)."""
        a = signed_gradient(net.model, net.x, net.y)
        assert distinct(a)  # else the two sides may break ties differently
        step = net.n_pixels // 16
        ours = M.deletion(net.model, net.x, net.y, a, step=step, baseline=0.0)
        flipping = dict(features_in_step=step, perturb_baseline=0.0, abs=False, normalise=False, disable_warnings=True)
        curve = quantus.PixelFlipping(**flipping)(net.twin, net.x, net.y, a, channel_first=True, softmax=True)
        assert_agree(ours.scores[:, 1:], curve)
        monkeypatch.setattr(np, "trapz", np.trapezoid, raising=False)  # see the module docstring
        auc = quantus.PixelFlipping(return_auc_per_sample=True, **flipping)(net.twin, net.x, net.y, a,
                                                                           channel_first=True, softmax=True)
        t = len(ours.fractions) - 1
        assert_agree(ours.auc * t, np.asarray(auc) + 0.5 * (ours.scores[:, 0] + ours.scores[:, 1]))

    def test_insertion_is_pixel_flipping_of_the_blurred_image(self, net):
        """Insertion = flipping the pixels of blur(x) to those of x, most relevant first."""
        a = signed_gradient(net.model, net.x, net.y)
        step = net.n_pixels // 16
        ours = M.insertion(net.model, net.x, net.y, a, step=step, blur_sigma=3.0)
        canvas = A.blurred_baseline(net.x, 3.0)
        original = net.x.reshape(len(net.x), -1)

        def put_back(arr, indices, **kwargs):  # Quantus's perturb_func: copy x's values in at indices
            rows = np.arange(len(arr))[:, None]
            arr = arr.copy()
            arr[rows, indices] = original[rows, indices]
            return arr

        metric = quantus.PixelFlipping(features_in_step=step, perturb_func=put_back, abs=False, normalise=False,
                                       disable_warnings=True)
        curve = metric(net.twin, canvas, net.y, a, channel_first=True, softmax=True)
        assert_agree(ours.scores[:, 1:], curve)

    def test_deletion_is_region_perturbation_of_single_pixels(self, colour_net):
        """A pixel is deleted with all its channels and ranked by their summed relevance, on both
        sides; RegionPerturbation's curve is the drop s_0 − s_t."""
        net = colour_net
        a = signed_gradient(net.model, net.x, net.y)
        assert distinct(a.sum(axis=1))
        ours = M.deletion(net.model, net.x, net.y, a, step=1, baseline=0.0)
        metric = quantus.RegionPerturbation(patch_size=1, regions_evaluation=net.n_pixels, order="morf",
                                            perturb_baseline=0.0, abs=False, normalise=False, disable_warnings=True)
        drops = metric(net.twin, net.x, net.y, a, channel_first=True, softmax=True)
        assert_agree(ours.scores[:, :1] - ours.scores[:, 1:], drops)


class TestFaithfulnessCorrelation:
    # One shapes image is classified with p ≈ 1 − 8e-11 and every subset takes it to ~1e-26: the
    # drops are constant, so r is NaN on both sides (scipy warns about it).
    @pytest.mark.filterwarnings("ignore:An input array is constant")
    @pytest.mark.parametrize("output", ["logit", "probability"])
    def test_same_subsets_same_correlation(self, net, monkeypatch, output):
        """Quantus draws each subset with np.random.choice (run by run, image by image); it gets ours."""
        a = signed_gradient(net.model, net.x, net.y)
        size, runs = net.n_pixels // 10, 12
        ours = M.faithfulness_correlation(net.model, net.x, net.y, a, subset_size=size, n_subsets=runs,
                                          baseline=0.0, output=output, seed=3)
        subsets = M.random_subsets(len(net.x), net.x.shape[2:], size, runs, seed=3)
        draws = [np.flatnonzero(subsets[i, j]) for j in range(runs) for i in range(len(net.x))]

        def same_draw(n_features, subset_size, replace):
            assert (n_features, subset_size, replace) == (net.n_pixels, size, False)

        all_used = replay(monkeypatch, "choice", draws, same_draw)
        metric = quantus.FaithfulnessCorrelation(nr_runs=runs, subset_size=size, perturb_baseline=0.0, abs=False,
                                                 normalise=False, return_aggregate=False, disable_warnings=True)
        theirs = metric(net.twin, net.x, net.y, a, channel_first=True, softmax=output == "probability")
        all_used()
        assert_agree(ours, theirs)


# ---- localisation -----------------------------------------------------------------------------------
class TestLocalisation:
    def maps(self, shapes):
        """Maps (N, H, W) of the shapes net: signed (gradient), non-negative (|gradient|), Grad-CAM,
        and |gradient| clipped at its 95th percentile, so that the top 5 % of pixels tie (a
        saturated display; the tie cases of the relations)."""
        net = shapes
        absolute = A.saliency(net.model, net.x, net.y)[:, 0]
        return {"signed": signed_gradient(net.model, net.x, net.y)[:, 0], "absolute": absolute,
                "grad_cam": A.grad_cam(net.model, net.x, net.y),
                "clipped": np.minimum(absolute, np.percentile(absolute, 95, axis=(1, 2), keepdims=True))}

    def run(self, shapes, metric, a):
        """A Quantus localisation metric on maps (N, H, W) and the masks; it needs no model."""
        return metric(None, shapes.x, shapes.y, a[:, None], shapes.masks[:, None], channel_first=True)

    def test_pointing_game(self, shapes):
        """Equal where the maximum is unique. With ties Quantus counts a hit when any maximum lies
        in M, we when our (seeded) pick does: ours ≤ Quantus."""
        metric = quantus.PointingGame(abs=False, normalise=False, disable_warnings=True)
        for name, a in self.maps(shapes).items():
            ours = M.pointing_game(a, shapes.masks)
            theirs = np.asarray(self.run(shapes, metric, a), dtype=np.float64)
            flat = a.reshape(len(a), -1)
            maxima = flat == flat.max(axis=1, keepdims=True)
            unique = maxima.sum(axis=1) == 1
            assert unique.all() == (name != "clipped"), name  # both cases are exercised
            assert_agree(ours[unique], theirs[unique])
            assert (ours <= theirs).all(), name
            np.testing.assert_array_equal(theirs, (maxima & shapes.masks.reshape(len(a), -1)).any(axis=1))

    def test_relevance_mass_accuracy(self, shapes):
        """Quantus sums the signed map: ours(a) = Quantus(a⁺), and ours(a) = Quantus(a) for a ≥ 0."""
        metric = quantus.RelevanceMassAccuracy(abs=False, normalise=False, disable_warnings=True)
        for name, a in self.maps(shapes).items():
            ours = M.relevance_mass_accuracy(a, shapes.masks)
            assert_agree(ours, self.run(shapes, metric, np.maximum(a, 0)))
            if (a >= 0).all():
                assert_agree(ours, self.run(shapes, metric, a))
        assert (self.maps(shapes)["signed"] < 0).any()  # the a⁺ case is really exercised

    def test_relevance_rank_accuracy(self, shapes):
        """Equal when the K-th and (K+1)-th most relevant pixels differ (no tie across the cut)."""
        metric = quantus.RelevanceRankAccuracy(abs=False, normalise=False, disable_warnings=True)
        for name, a in self.maps(shapes).items():
            k = shapes.masks.reshape(len(a), -1).sum(axis=1)
            ordered = -np.sort(-a.reshape(len(a), -1), axis=1)
            clean_cut = ordered[np.arange(len(a)), k - 1] != ordered[np.arange(len(a)), k]
            ours = M.relevance_rank_accuracy(a, shapes.masks)
            theirs = np.asarray(self.run(shapes, metric, a))
            assert clean_cut.any(), name
            assert_agree(ours[clean_cut], theirs[clean_cut])


# ---- complexity -------------------------------------------------------------------------------------
class TestComplexity:
    def test_sparseness(self, net):
        """Quantus's Gini index of |a| + 1e-7: G_Quantus = G · Σv / (Σv + n·1e-7)."""
        a = A.gradient_x_input(net.model, net.x, net.y)
        theirs = quantus.Sparseness(abs=True, normalise=False, disable_warnings=True)(
            None, net.x, net.y, a.copy(), channel_first=True)
        v = np.abs(a).reshape(len(a), -1)
        n = v.shape[1]
        assert_agree(M.sparseness(a) * v.sum(axis=1) / (v.sum(axis=1) + n * 1e-7), theirs, tolerance=1e-10)
        # Quantus's default normalise=True first divides the whole batch by its largest |a_i| (one
        # number for the batch, not one per image). G is scale-free, the added ε is not:
        scaled = v.sum(axis=1) / v.max()
        default = quantus.Sparseness(disable_warnings=True)(None, net.x, net.y, a.copy(), channel_first=True)
        assert_agree(M.sparseness(a) * scaled / (scaled + n * 1e-7), default, tolerance=1e-10)

    def test_complexity_is_entropy(self, net):
        """Quantus's Complexity of |a| is −Σ p log(p + 1e-12), within n·1e-12 of our entropy."""
        a = A.gradient_x_input(net.model, net.x, net.y)
        theirs = quantus.Complexity(abs=True, normalise=False, disable_warnings=True)(
            None, net.x, net.y, a.copy(), channel_first=True)
        assert_agree(M.entropy(a), theirs)


# ---- robustness -------------------------------------------------------------------------------------
class TestMaxSensitivity:
    def test_same_noise_same_sensitivity(self, net, monkeypatch):
        """Quantus draws the noise of sample j with np.random.uniform(−r, r, (N, F)); it gets ours."""
        radius, samples = 0.02, 4
        ours = M.max_sensitivity(net.model, net.x, net.y, signed_gradient, radius=radius, n_samples=samples, seed=5)
        noise = np.random.default_rng(5).uniform(-radius, radius, size=(samples,) + net.x.shape)

        def same_range(low, high, size):
            assert (low, high, tuple(size)) == (-radius, radius, (len(net.x), net.x[0].size))

        all_used = replay(monkeypatch, "uniform", [d.reshape(len(net.x), -1) for d in noise], same_range)
        metric = quantus.MaxSensitivity(nr_samples=samples, lower_bound=radius, abs=False, normalise=False,
                                        disable_warnings=True)
        theirs = metric(net.twin, net.x, net.y, signed_gradient(net.model, net.x, net.y), channel_first=True,
                        explain_func=minicnn_explainer(signed_gradient, net.build))
        all_used()
        assert_agree(ours, theirs)


# ---- randomisation ----------------------------------------------------------------------------------
class TestModelParameterRandomisation:
    def test_cascade_with_quantus_draws(self, net, monkeypatch):
        """Quantus's re-initialised weights (torch seed, layer by layer from the top) replace our
        draws; then the layer order and the Spearman ρ of |a| per layer agree."""
        wrapped = PyTorchModel(net.twin, channel_first=True, softmax=False)
        drawn = [(name, {k: v.detach().numpy().copy() for k, v in dict(model.named_modules())[name].state_dict().items()})
                 for name, model in wrapped.get_random_layer_generator(order="top_down", seed=42)]
        replayed = iter(drawn)

        def quantus_draws(module, rng):
            module.load_state_dict(next(replayed)[1])  # strict: the same kind of layer, in the same order

        monkeypatch.setattr(randomisation, "randomise_layer", quantus_draws)
        ours = M.model_randomisation(net.model, net.x, net.y, signed_gradient, absolute=True)
        assert ours.layers == ["none"] + [name for name, _ in drawn]

        metric = quantus.MPRT(layer_order="top_down", seed=42, abs=True, normalise=False, disable_warnings=True)
        theirs = metric(net.twin, net.x, net.y, signed_gradient(net.model, net.x, net.y), channel_first=True,
                        explain_func=minicnn_explainer(signed_gradient, net.build))
        assert list(theirs) == ["original"] + [name for name, _ in drawn]
        assert_agree(ours.spearman, np.array(list(theirs.values())))
