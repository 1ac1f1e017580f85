"""The `sanity-checks` and `roar` reproductions (attributions/reproduce/), their similarity measures
and the dask path: each experiment's --quick run end to end, and what its numbers must satisfy."""

import math

import numpy as np
import pytest
from test_reproduce import page_table, printed_equals  # reading a page back (tests/test_reproduce.py)

import minicnn as mc
from attributions import reproduce
from attributions.metrics import SIMILARITIES, map_similarity, parameter_layers, randomised_maps
from attributions.metrics._pixels import pixel_ranks
from attributions.reproduce import roar, sanity_checks
from minicnn.models import build


def assert_page_prints(path, result, column_keys):
    """Every row's cells `column_keys` (column → key pattern with {dataset}, {method}) are
    Result.numbers[key] as printed."""
    rows = page_table(path)
    assert len(rows) == len(result.table)
    for printed in rows:
        dataset = printed["dataset"]
        method = next(name for name, label in METHODS_OF[result.name].items() if label == printed["method"])
        for column, pattern in column_keys.items():
            value = result.numbers[pattern.format(dataset=dataset, method=method)]
            assert printed_equals(printed[column], value), (column, printed[column], value)


METHODS_OF = {"sanity-checks": sanity_checks.METHODS, "roar": roar.METHODS}


# ---- the similarity measures ------------------------------------------------------------------

def smooth_maps(n=3, size=16, seed=0):
    rng = np.random.default_rng(seed)
    grid = np.arange(size)
    centres = rng.uniform(4, size - 4, (n, 2))
    return np.stack([np.exp(-((grid[:, None] - cy) ** 2 + (grid[None, :] - cx) ** 2) / 8.0) * (1 + 0.1 * rng.random((size, size)))
                     for cy, cx in centres])


def test_identical_maps_score_one_on_every_measure():
    a = smooth_maps()
    for measure in SIMILARITIES:
        np.testing.assert_allclose(map_similarity(a, a, measure), 1.0, atol=1e-12, err_msg=measure)


def test_a_sign_flip_changes_only_the_signed_correlation():
    a = smooth_maps()
    np.testing.assert_allclose(map_similarity(a, -a, "spearman"), -1.0, atol=1e-12)
    for measure in ("spearman_abs", "ssim", "hog"):  # these compare magnitudes, scaled to [0, 1]
        np.testing.assert_allclose(map_similarity(a, -3 * a, measure), 1.0, atol=1e-12, err_msg=measure)


def test_an_all_zero_map_has_no_similarity():
    a = smooth_maps()
    b = a.copy()
    b[1] = 0
    for measure in SIMILARITIES:
        s = map_similarity(a, b, measure)
        assert np.isnan(s[1]) and np.isfinite(s[[0, 2]]).all(), measure


def test_shuffled_pixels_are_far_less_similar_than_the_map():
    a = smooth_maps(n=8, size=32)
    b = sanity_checks.shuffled(a, seed=1)
    assert np.allclose(np.sort(a.reshape(8, -1)), np.sort(b.reshape(8, -1)))  # the same values
    for measure in SIMILARITIES:
        assert map_similarity(a, b, measure).mean() < 0.5, measure
    assert abs(map_similarity(a, b, "spearman").mean()) < 3 / math.sqrt(32 * 32)


def test_similarity_rejects_maps_of_different_shapes():
    with pytest.raises(ValueError, match="b: expected maps of the same shape"):
        map_similarity(np.ones((2, 16, 16)), np.ones((2, 16, 17)))
    with pytest.raises(ValueError, match="measure: expected one of"):
        map_similarity(np.ones((2, 16, 16)), np.ones((2, 16, 16)), "pearson")


# ---- cascading and independent randomisation ------------------------------------------------

def parameter_fingerprint(model, x, target):
    """An 'explanation' that records each parameter layer's weights: pixel k = Σ of layer k's params."""
    sums = [sum(float(p.data.sum()) for p in m.parameters(recurse=False)) for _, m in parameter_layers(model)]
    out = np.zeros((len(x), 16, 16))
    out[:, 0, : len(sums)] = sums
    return out


def test_cascading_randomises_layers_one_to_k_and_independent_only_layer_k():
    mc.nn.init.manual_seed(0)
    model = build("lenet", (1, 16, 16), 10)
    x = np.random.default_rng(0).random((2, 1, 16, 16))
    k = len(parameter_layers(model))
    cascade = randomised_maps(model, x, 0, parameter_fingerprint, seed=3)
    single = randomised_maps(model, x, 0, parameter_fingerprint, seed=3, cascading=False)
    trained = cascade.original[0, 0, :k]
    for step in range(k + 1):
        changed_cascade = np.flatnonzero(cascade.maps[step][0, 0, :k] != trained)
        changed_single = np.flatnonzero(single.maps[step][0, 0, :k] != trained)
        assert changed_cascade.tolist() == list(range(step))
        assert changed_single.tolist() == ([step - 1] if step else [])
        if step:  # the same new values for layer k in both orders
            assert single.maps[step][0, 0, step - 1] == cascade.maps[step][0, 0, step - 1]
    assert parameter_fingerprint(model, x, 0)[0, 0, :k].tolist() == trained.tolist()  # model untouched


# ---- sanity-checks --quick --------------------------------------------------------------------

@pytest.fixture(scope="module")
def sanity_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "reproductions"
    return out, reproduce.run("sanity-checks", quick=True, out_dir=str(out))


@pytest.fixture(scope="module")
def sanity(sanity_page):
    return sanity_page[1]


def test_sanity_checks_quick_unchanged_model_reproduces_every_map(sanity):
    for name in sanity_checks.QUICK_METHODS:
        for measure in SIMILARITIES:
            assert sanity.numbers[f"digits.{name}.{measure}.unchanged"] == pytest.approx(1.0, abs=1e-9), (name, measure)


def test_sanity_checks_quick_top_layer_alone_equals_first_cascading_step(sanity):
    for name in sanity_checks.QUICK_METHODS:
        key = f"digits.{name}.spearman_abs"
        assert sanity.numbers[f"{key}.top_layer_only"] == sanity.numbers[f"{key}.top_layer"]


def test_sanity_checks_quick_gradient_decorrelates_below_the_random_map_bound(sanity):
    key = "digits.gradient.spearman_abs"
    bound = sanity.numbers[f"{key}.bound"]
    assert bound == pytest.approx((1 + sanity.numbers[f"{key}.shuffled"]) / 2)
    assert sanity.numbers[f"{key}.all_layers"] < bound
    assert sanity.numbers[f"{key}.changed_all_layers"] > 0.5


def test_sanity_checks_quick_random_label_model_is_at_chance_on_test(sanity):
    accuracy = sanity.numbers["digits.random_labels.test_accuracy"]
    error = math.sqrt(0.1 * 0.9 / 449)  # 10 classes, 449 test digits
    assert abs(accuracy - 0.1) < 4 * error
    assert sanity.numbers["digits.trained.test_accuracy"] > 0.9


def test_sanity_checks_quick_page_states_the_result_numbers(sanity_page):
    out, result = sanity_page
    assert (out / "sanity-checks.png").exists()
    assert_page_prints(out / "sanity-checks.md", result, {
        "ρ |a| all layers": "{dataset}.{method}.spearman_abs.all_layers",
        "SSIM all": "{dataset}.{method}.ssim.all_layers",
        "ρ |a| random labels": "{dataset}.{method}.spearman_abs.random_labels",
        "share changed, all layers": "{dataset}.{method}.spearman_abs.changed_all_layers"})


# ---- roar --quick -----------------------------------------------------------------------------

def test_remove_pixels_replaces_exactly_the_top_fraction_by_the_fill():
    rng = np.random.default_rng(0)
    x = rng.random((3, 2, 8, 8))
    ranks = pixel_ranks(rng.random((3, 8, 8)))
    out = roar.remove_pixels(x, ranks, 0.3, fill=[-1.0, -2.0])
    removed = (out != x).all(axis=1)  # a pixel goes in every channel at once
    assert ((out != x).any(axis=1) == removed).all()
    assert (removed.reshape(3, -1).sum(axis=1) == math.ceil(0.3 * 64)).all()
    assert (removed.reshape(3, -1) == (ranks < math.ceil(0.3 * 64))).all()
    assert (out[:, 0][removed] == -1).all() and (out[:, 1][removed] == -2).all()


@pytest.fixture(scope="module")
def roar_page(tmp_path_factory):
    out = tmp_path_factory.mktemp("pages") / "reproductions"
    return out, reproduce.run("roar", quick=True, out_dir=str(out), scheduler="serial")


@pytest.fixture(scope="module")
def roar_serial(roar_page):
    return roar_page[1]


def test_roar_quick_no_removal_retrains_the_baseline_exactly(roar_serial):
    n = roar_serial.numbers
    assert n["digits.clean"] == n["digits.baseline"]
    assert n["digits.baseline"] > 0.85  # 8 epochs of the digits LeNet recipe


def test_roar_quick_removing_more_pixels_at_random_costs_accuracy(roar_serial):
    n = roar_serial.numbers
    assert n["digits.random.0.9"] < n["digits.random.0.1"]


def test_roar_quick_page_states_the_result_numbers(roar_page):
    out, result = roar_page
    assert_page_prints(out / "roar.md", result, {
        "0%": "{dataset}.clean", "50%": "{dataset}.{method}.0.5", "90%": "{dataset}.{method}.0.9",
        "mean − random": "{dataset}.{method}.mean_minus_random",
        "better than random": "{dataset}.{method}.better_than_random"})


def test_roar_dask_local_cluster_gives_the_serial_numbers(roar_serial):
    pytest.importorskip("distributed", reason="the dask path needs dask.distributed (the distributed extra)")
    on_cluster = roar.run(quick=True, scheduler="local")
    assert on_cluster.numbers == roar_serial.numbers


def test_roar_rejects_a_bad_scheduler():
    with pytest.raises(ValueError, match="scheduler: expected 'serial', 'local' or an address"):
        roar.run(quick=True, scheduler="nowhere")
    with pytest.raises(ValueError, match="datasets: expected a comma-separated subset of digits"):
        roar.run(quick=True, datasets="mnist")
