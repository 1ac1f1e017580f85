"""Captum's keyword names (attributions/captum_names.py) and target=None, without Captum:

- every Captum spelling gives a result identical (np.array_equal) to our own spelling;
- both spellings with equal values are accepted, with different values a one-line TypeError;
- target=None equals passing each row's argmax explicitly, for every method that takes target.

The comparison with Captum itself, called with the same keywords: tests/test_captum_names_vs_captum.py.
"""

from functools import partial

import numpy as np
import pytest

import attributions as A
from attributions.captum_names import CAPTUM_NAMES, captum_names
from attributions.gradcam import class_activation_maps
from minicnn import nn


def small_cnn():
    rng = np.random.default_rng(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3, rng=rng))


MODEL = small_cnn()
X = np.random.default_rng(1).normal(size=(4, 1, 8, 8))
REF = np.random.default_rng(2).normal(size=X.shape)
T = np.array([0, 2, 1, 2])
ATTRIBUTIONS = np.random.default_rng(3).normal(size=X.shape)


def with_baselines(function):
    """Methods whose own argument is a set of references: give them two rows of REF."""
    return lambda model, x, target, **kwargs: function(model, x, target, REF[:2], **kwargs)


def at_layer(function, *extra):
    return lambda model, x, target, **kwargs: function(model, x, target, "0", *extra, **kwargs)


GRAD_CAMS = [A.grad_cam, A.grad_cam_maps, class_activation_maps, A.grad_cam_plus_plus, A.xgrad_cam, A.hires_cam,
             A.layer_cam, A.score_cam, A.eigen_cam]

# (label, f(model, x, target, **kwargs), our keywords, the same in Captum's spelling)
ALIASES = [
    ("integrated_gradients", A.integrated_gradients,
     dict(baseline=REF, steps=7, batch_size=5, return_delta=True),
     dict(baselines=REF, n_steps=7, internal_batch_size=5, return_convergence_delta=True)),
    ("deeplift", A.deeplift, dict(baseline=REF, return_delta=True), dict(baselines=REF, return_convergence_delta=True)),
    ("deeplift_multipliers", A.deeplift_multipliers, dict(baseline=REF), dict(baselines=REF)),
    ("deeplift_shap", with_baselines(A.deeplift_shap), dict(return_delta=True), dict(return_convergence_delta=True)),
    ("expected_gradients", with_baselines(A.expected_gradients), dict(samples=6, batch_size=4),
     dict(n_samples=6, internal_batch_size=4)),
    ("lrp", A.lrp, dict(return_delta=True), dict(return_convergence_delta=True)),
    ("occlusion", A.occlusion, dict(window=(1, 3, 3), stride=(1, 2, 1), baseline=0.5),
     dict(sliding_window_shapes=(1, 3, 3), strides=(1, 2, 1), baselines=0.5)),
    ("noise_tunnel", partial(A.noise_tunnel, A.saliency), dict(samples=4, mode="vargrad", batch_size=3),
     dict(nt_samples=4, nt_type="vargrad", nt_samples_batch_size=3)),
    # Captum's `baselines` for the wrapped method, one reference per row, follows the noisy copies' rows
    ("noise_tunnel of IG", partial(A.noise_tunnel, A.integrated_gradients), dict(samples=3, baseline=REF, steps=4),
     dict(nt_samples=3, baselines=REF, n_steps=4)),
    ("layer_integrated_gradients", at_layer(A.layer_integrated_gradients), dict(baseline=REF, steps=5, batch_size=4),
     dict(baselines=REF, n_steps=5, internal_batch_size=4)),
    ("conductance", at_layer(A.conductance), dict(baseline=REF, steps=5, batch_size=4),
     dict(baselines=REF, n_steps=5, internal_batch_size=4)),
    ("neuron_conductance", at_layer(A.neuron_conductance, (1, 2, 2)), dict(baseline=REF, steps=5, batch_size=4),
     dict(baselines=REF, n_steps=5, internal_batch_size=4)),
    ("layer_deeplift", at_layer(A.layer_deeplift), dict(baseline=REF), dict(baselines=REF)),
    ("completeness_delta", lambda model, x, t, **kwargs: A.completeness_delta(model, ATTRIBUTIONS, x, t, **kwargs),
     dict(baseline=REF), dict(baselines=REF)),
] + [(f.__name__, f, dict(relu=False), dict(relu_attributions=False)) for f in GRAD_CAMS]


def assert_identical(got, expected):
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for g, e in zip(got, expected):
            assert_identical(g, e)
        return
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("label, function, ours, captums", ALIASES, ids=[case[0] for case in ALIASES])
def test_captum_spelling_is_identical_to_ours(label, function, ours, captums):
    expected = function(MODEL, X, T, **ours)
    assert_identical(function(MODEL, X, T, **captums), expected)
    assert_identical(function(MODEL, X, T, **ours, **captums), expected)  # both spellings, equal values


def test_every_captum_name_is_used_and_documented():
    """Each entry of the table renames to an argument some public method has, and the methods
    reference lists it."""
    import inspect
    from pathlib import Path

    methods = [A.integrated_gradients, A.deeplift, A.deeplift_shap, A.expected_gradients, A.lrp, A.occlusion,
               A.noise_tunnel, A.layer_integrated_gradients, A.conductance, A.grad_cam]
    reference = (Path(__file__).parents[1] / "docs" / "methods.md").read_text(encoding="utf-8")
    for captum, ours in CAPTUM_NAMES.items():
        assert any(ours in inspect.signature(m).parameters for m in methods), captum
        assert f"`{captum}`" in reference, captum
        called = [case for case in ALIASES if captum in case[3]]
        assert called, f"{captum} is in no test case"


CONFLICTS = [
    (lambda: A.integrated_gradients(MODEL, X, T, steps=7, n_steps=8), "n_steps", "steps"),
    (lambda: A.integrated_gradients(MODEL, X, T, REF, baselines=REF + 1), "baselines", "baseline"),  # ours positional
    (lambda: A.deeplift(MODEL, X, T, return_delta=False, return_convergence_delta=True),
     "return_convergence_delta", "return_delta"),
    (lambda: A.grad_cam(MODEL, X, T, relu=True, relu_attributions=False), "relu_attributions", "relu"),
    (lambda: A.occlusion(MODEL, X, T, window=(1, 2, 2), sliding_window_shapes=(1, 3, 3)),
     "sliding_window_shapes", "window"),
    (lambda: A.noise_tunnel("saliency", MODEL, X, T, samples=3, nt_samples=4), "nt_samples", "samples"),
]


@pytest.mark.parametrize("call, captum, ours", CONFLICTS, ids=[c[1] for c in CONFLICTS])
def test_both_spellings_with_different_values_fail_in_one_line(call, captum, ours):
    with pytest.raises(TypeError, match=rf"^{captum}: Captum's name for {ours}, given with a different value") as error:
        call()
    assert "\n" not in str(error.value)


def test_both_spellings_of_an_equal_array_are_one_value():
    assert np.array_equal(A.integrated_gradients(MODEL, X, T, REF, baselines=REF.copy(), steps=5),
                          A.integrated_gradients(MODEL, X, T, REF, steps=5))


def test_the_decorator_refuses_names_it_cannot_rename():
    with pytest.raises(ValueError, match="names: expected Captum names"):
        captum_names("n_stpes")
    with pytest.raises(TypeError, match="has no argument steps"):
        captum_names("n_steps")(lambda model, x, target: None)


# ---- target=None: each row's predicted class ---------------------------------------------------
TAKES_TARGET = [
    A.saliency, A.gradient_x_input, A.input_gradient, partial(A.integrated_gradients, steps=5), A.deeplift,
    A.deeplift_multipliers, with_baselines(A.deeplift_shap), partial(with_baselines(A.expected_gradients), samples=4),
    A.guided_backprop, A.guided_grad_cam, A.lrp, A.deconvolution, partial(A.occlusion, window=(1, 4, 4)),
    partial(A.noise_tunnel, "saliency", samples=3), at_layer(A.layer_integrated_gradients, None, 4),
    at_layer(A.layer_deeplift), at_layer(A.conductance, None, 4), at_layer(A.neuron_conductance, 5, None, 4),
    lambda model, x, target: A.completeness_delta(model, ATTRIBUTIONS, x, target),
] + GRAD_CAMS


def name_of(function):
    return getattr(function, "__name__", None) or getattr(getattr(function, "func", None), "__name__", "method")


@pytest.mark.parametrize("function", TAKES_TARGET, ids=[name_of(f) for f in TAKES_TARGET])
def test_target_none_is_the_predicted_class(function):
    predicted = MODEL(X).data.argmax(axis=1)
    assert len(set(predicted.tolist())) > 1  # the rows do not all predict one class
    assert_identical(function(MODEL, X, None), function(MODEL, X, predicted))


def test_target_defaults_to_the_predicted_class_in_eval_mode():
    """With dropout the prediction is the eval-mode one, and the caller's train mode comes back."""
    rng = np.random.default_rng(4)
    model = nn.Sequential(nn.Linear(6, 16, rng=rng), nn.Dropout(0.5), nn.ReLU(), nn.Linear(16, 4, rng=rng))
    x = rng.normal(size=(8, 6))
    model.eval()
    predicted = model(x).data.argmax(axis=1)
    model.train()
    assert np.array_equal(A.saliency(model, x), A.saliency(model, x, predicted))
    assert model.training and model[1].training


def test_prepare_targets_without_a_model_says_what_none_needs():
    from attributions.inputs import prepare_targets

    with pytest.raises(TypeError, match="target: expected an int or one int per row here"):
        prepare_targets(None, 3)


def test_metrics_take_target_none_as_the_predicted_class_too():
    predicted = MODEL(X).data.argmax(axis=1)
    for none, explicit in [(A.metrics.deletion(MODEL, X, None, ATTRIBUTIONS, step=16),
                            A.metrics.deletion(MODEL, X, predicted, ATTRIBUTIONS, step=16)),
                           (A.metrics.max_sensitivity(MODEL, X, None, A.saliency, n_samples=2),
                            A.metrics.max_sensitivity(MODEL, X, predicted, A.saliency, n_samples=2))]:
        assert_identical(tuple(none) if isinstance(none, tuple) else none,
                         tuple(explicit) if isinstance(explicit, tuple) else explicit)


def test_a_minicnn_tensor_in_captums_spelling_is_taken_as_it_is():
    import minicnn as mc

    assert np.array_equal(A.integrated_gradients(MODEL, X, T, baselines=mc.Tensor(REF), n_steps=5),
                          A.integrated_gradients(MODEL, X, T, baseline=REF, steps=5))
