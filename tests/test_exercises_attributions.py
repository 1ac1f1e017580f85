"""The checkers of attributions.exercises (notebooks 04–08): each accepts the reference, rejects a
plausible wrong answer with an ExerciseError, and its reference agrees with the library."""

import numpy as np
import pytest

import attributions as A
import minicnn as mc
import minicnn.functional as F
from attributions import exercises as E
from minicnn import nn
from minicnn.exercises import ExerciseError, Passed


def rejects(checker, wrong, match=None):
    with pytest.raises(ExerciseError, match=match):
        checker(wrong)


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Exercise")


@pytest.mark.parametrize("checker", [
    E.check_rescale_multiplier, E.check_reveal_cancel_deltas, E.check_max_pool_contributions,
    E.check_riemann_quadrature, E.check_ig_from_gradients, E.check_gradcam_weights, E.check_gradcam_combine,
    E.check_relevance_mass,
])
def test_unimplemented_exercise_is_reported(checker):
    rejects(checker, not_implemented, match="not implemented")


# ---- 4.1, 4.2: saliency and gradient × input (fresh cases per seed) -------------------------------
def _input_grad(model, x, target):
    xt = mc.Tensor(x, requires_grad=True)
    out = model(xt)
    seed = np.zeros(out.shape)
    seed[np.arange(len(x)), np.broadcast_to(target, (len(x),))] = 1
    return mc.grad(out, xt, grad_outputs=seed)[0]


def _saliency_right(model, x, target):
    return np.abs(_input_grad(model, x, target))


def _saliency_signed(model, x, target):
    return _input_grad(model, x, target)


def _saliency_of_probability(model, x, target):
    xt = mc.Tensor(x, requires_grad=True)
    probs = F.softmax(model(xt), axis=1)
    seed = np.zeros(probs.shape)
    seed[np.arange(len(x)), np.broadcast_to(target, (len(x),))] = 1
    return np.abs(mc.grad(probs, xt, grad_outputs=seed)[0])


def _gxi_right(model, x, target):
    return x * _input_grad(model, x, target)


def _gxi_abs(model, x, target):
    return np.abs(x * _input_grad(model, x, target))


def _saliency_of_all_logits(model, x, target):
    xt = mc.Tensor(x, requires_grad=True)
    out = model(xt)
    return np.abs(mc.grad(out, xt, grad_outputs=np.ones(out.shape))[0])


# checker: (the right answer, [(a wrong answer, words its message must contain), …])
GRADIENT_CHECKERS = {
    "check_saliency": (_saliency_right, [(_saliency_signed, "absolute"),
                                         (_saliency_of_probability, "softmax probability"),
                                         (_saliency_of_all_logits, "one-hot")]),
    "check_gradient_x_input": (_gxi_right, [(_gxi_abs, "keeps its sign"), (_saliency_signed, "multiply it by the input"),
                                            (lambda m, x, t: x * _saliency_right(m, x, t), "signed gradient")]),
}


@pytest.mark.parametrize("checker", sorted(GRADIENT_CHECKERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_checkers_accept_the_right_answer_and_reject_wrong_ones(checker, seed, capsys):
    right, wrong_answers = GRADIENT_CHECKERS[checker]
    assert isinstance(getattr(E, checker)(right, seed=seed), Passed)
    assert capsys.readouterr().out.count("✓") == 1
    for wrong, words in wrong_answers:
        with pytest.raises(ExerciseError, match=r"case \d/\d \(") as info:
            getattr(E, checker)(wrong, seed=seed)
        assert words in str(info.value)


@pytest.mark.parametrize("checker", sorted(GRADIENT_CHECKERS))
def test_unfinished_gradient_exercise_is_reported(checker):
    with pytest.raises(ExerciseError, match="not implemented yet"):
        getattr(E, checker)(not_implemented, seed=0)


# ---- 5.1 -------------------------------------------------------------------------------------
def test_rescale_accepts_reference_and_reference_point_fallback(capsys):
    assert E.check_rescale_multiplier(E.reference_rescale_multiplier)

    def at_reference(g, g_prime, z, z_ref, eps=1e-7):  # the other documented fallback
        dz = z - z_ref
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(dz) > eps, (g(z) - g(z_ref)) / dz, g_prime(z_ref))

    assert E.check_rescale_multiplier(at_reference)
    assert "✓" in capsys.readouterr().out


def test_rescale_without_fallback_is_rejected():
    def no_fallback(g, g_prime, z, z_ref, eps=1e-7):
        with np.errstate(divide="ignore", invalid="ignore"):
            return (g(z) - g(z_ref)) / (z - z_ref)

    rejects(E.check_rescale_multiplier, no_fallback, match="NaN or inf")


def test_rescale_gradient_everywhere_is_rejected():
    rejects(E.check_rescale_multiplier, lambda g, g_prime, z, z_ref, eps=1e-7: g_prime(z))


def test_rescale_reference_matches_deeplift_on_one_nonlinearity():
    rng = np.random.default_rng(0)
    x, ref = rng.normal(size=(1, 6)), rng.normal(size=(1, 6))
    ref[0, :2] = x[0, :2]
    for name, fn in (("relu", F.relu), ("sigmoid", F.sigmoid), ("tanh", F.tanh)):
        g, g_prime = E.NONLINEARITIES[name]
        model = nn.Lambda(lambda t: fn(t).sum(axis=1, keepdims=True))
        m = A.deeplift(model, x, 0, baseline=ref, multiply_by_inputs=False)
        np.testing.assert_allclose(m[0], E.reference_rescale_multiplier(g, g_prime, x[0], ref[0]), rtol=1e-9)


# ---- 5.2 -------------------------------------------------------------------------------------
def test_reveal_cancel_accepts_reference():
    assert E.check_reveal_cancel_deltas(E.reference_reveal_cancel_deltas)


def test_reveal_cancel_one_order_only_is_rejected():
    def one_order(g, z_ref, dz_pos, dz_neg):  # positive part first, no averaging
        return g(z_ref + dz_pos) - g(z_ref), g(z_ref + dz_pos + dz_neg) - g(z_ref + dz_pos)

    rejects(E.check_reveal_cancel_deltas, one_order)


def test_reveal_cancel_forgotten_half_is_rejected():
    def no_half(g, z_ref, dz_pos, dz_neg):
        both = g(z_ref + dz_pos + dz_neg)
        return (g(z_ref + dz_pos) - g(z_ref)) + (both - g(z_ref + dz_neg)), \
               (g(z_ref + dz_neg) - g(z_ref)) + (both - g(z_ref + dz_pos))

    rejects(E.check_reveal_cancel_deltas, no_half, match="telescope")


def test_reveal_cancel_reference_gives_min_network_values():
    relu = E.NONLINEARITIES["relu"][0]
    dy_pos, dy_neg = E.reference_reveal_cancel_deltas(relu, np.zeros(1), np.array([3.0]), np.array([-1.0]))
    np.testing.assert_allclose([dy_pos[0], dy_neg[0]], [2.5, -0.5])  # m⁺ = 5/6, m⁻ = 1/2


# ---- 5.3 -------------------------------------------------------------------------------------
def test_max_pool_accepts_reference():
    assert E.check_max_pool_contributions(E.reference_max_pool_contributions)


def test_max_pool_all_at_argmax_of_x_is_rejected():
    def gradient_routing(x, x_ref):
        c = np.zeros_like(x)
        rows = np.arange(len(x))
        c[rows, x.argmax(1)] = x.max(1) - x_ref.max(1)
        return c

    rejects(E.check_max_pool_contributions, gradient_routing)


def test_max_pool_reference_matches_deeplift():
    rng = np.random.default_rng(1)
    x, ref = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    model = nn.Sequential(nn.MaxPool2d((1, 4)), nn.Flatten())
    c = A.deeplift(model, x.reshape(5, 1, 1, 4), 0, baseline=ref.reshape(5, 1, 1, 4))
    np.testing.assert_allclose(c.reshape(5, 4), E.reference_max_pool_contributions(x, ref), atol=1e-12)


# ---- 6.1 -------------------------------------------------------------------------------------
def test_quadrature_accepts_reference_and_matches_library():
    assert E.check_riemann_quadrature(E.reference_riemann_quadrature)
    for method in E.RIEMANN_METHODS:
        for steps in (2, 5, 17):
            for mine, theirs in zip(E.reference_riemann_quadrature(method, steps), A.quadrature(method, steps)):
                np.testing.assert_allclose(mine, theirs, rtol=1e-15)


def test_captum_trapezoid_weights_are_rejected():
    def captum_like(method, steps):
        alphas, weights = E.reference_riemann_quadrature(method, steps)
        if method == "riemann_trapezoid":
            weights = np.full(steps, 1.0 / steps)
            weights[[0, -1]] /= 2
        return alphas, weights

    rejects(E.check_riemann_quadrature, captum_like, match="sum to")


def test_left_and_right_swapped_is_rejected():
    def swapped(method, steps):
        other = {"riemann_left": "riemann_right", "riemann_right": "riemann_left"}.get(method, method)
        return E.reference_riemann_quadrature(other, steps)

    rejects(E.check_riemann_quadrature, swapped)


# ---- 6.2 -------------------------------------------------------------------------------------
def test_ig_accepts_reference():
    assert E.check_ig_from_gradients(E.reference_ig_from_gradients)


def test_ig_without_delta_x_is_rejected():
    def average_gradient(grad_fn, x, baseline, alphas, weights):
        points = baseline + alphas.reshape((-1,) + (1,) * x.ndim) * (x - baseline)
        return np.tensordot(weights, grad_fn(points), axes=1)

    rejects(E.check_ig_from_gradients, average_gradient)


def test_ig_times_x_instead_of_delta_is_rejected():
    def times_x(grad_fn, x, baseline, alphas, weights):
        points = baseline + alphas.reshape((-1,) + (1,) * x.ndim) * (x - baseline)
        return x * np.tensordot(weights, grad_fn(points), axes=1)

    rejects(E.check_ig_from_gradients, times_x)


def test_ig_loop_over_steps_is_rejected():
    def looped(grad_fn, x, baseline, alphas, weights):
        total = np.zeros_like(x, dtype=float)
        for a, w in zip(alphas, weights):
            total += w * grad_fn((baseline + a * (x - baseline))[None])[0]
        return (x - baseline) * total

    rejects(E.check_ig_from_gradients, looped, match="one call")


def test_ig_reference_matches_library_on_a_network():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    x, ref = rng.normal(size=5), rng.normal(size=5)

    def grad_fn(points):
        return A.input_gradient(model, points, 1)

    alphas, weights = A.quadrature("riemann_trapezoid", 30)
    expected = A.integrated_gradients(model, x[None], 1, baseline=ref, steps=30)[0]
    np.testing.assert_allclose(E.reference_ig_from_gradients(grad_fn, x, ref, alphas, weights), expected, rtol=1e-9)


# ---- 7.1 -------------------------------------------------------------------------------------
def test_gradcam_weights_accepts_reference_and_matches_library():
    assert E.check_gradcam_weights(E.reference_gradcam_weights)
    g = np.random.default_rng(3).normal(size=(2, 3, 4, 5))
    np.testing.assert_allclose(E.reference_gradcam_weights(g), A.gradcam.gradcam_weights(None, g))
    np.testing.assert_allclose(E.reference_gradcam_weights(E._hand_example()[1]), [[0.75, -0.5]])


def test_gradcam_weights_as_sums_are_rejected():
    rejects(E.check_gradcam_weights, lambda g: g.sum(axis=(2, 3)), match="spatial mean")


def test_gradcam_weights_over_wrong_axes_are_rejected():
    rejects(E.check_gradcam_weights, lambda g: g.mean(axis=(1, 2)))


# ---- 7.2 -------------------------------------------------------------------------------------
def test_gradcam_combine_accepts_reference_and_hand_example():
    assert E.check_gradcam_combine(E.reference_gradcam_combine)
    a, _ = E._hand_example()
    np.testing.assert_allclose(E.reference_gradcam_combine(a, np.array([[0.75, -0.5]]))[0],
                               [[11.25, 13.5], [20.25, 22.5]])


def test_gradcam_combine_without_relu_is_rejected():
    def no_relu(activations, alpha, size=None):
        maps = np.einsum("nk,nkij->nij", alpha, activations)
        return maps if size is None else A.gradcam.upsample_maps(maps, size)

    rejects(E.check_gradcam_combine, no_relu, match="ReLU")


def test_gradcam_combine_relu_after_upsampling_is_rejected():
    def relu_last(activations, alpha, size=None):
        maps = np.einsum("nk,nkij->nij", alpha, activations)
        if size is not None:
            maps = A.gradcam.upsample_maps(maps, size)
        return np.maximum(maps, 0)

    rejects(E.check_gradcam_combine, relu_last)


def test_gradcam_combine_reference_matches_library_on_the_hand_example():
    conv = nn.Conv2d(1, 2, 3)
    conv.weight.data[...] = 1.0
    conv.bias.data[...] = (-50.0, -75.0)
    linear = nn.Linear(8, 2, bias=False)
    linear.weight.data[...] = 0.0
    linear.weight.data[0] = (1, 1, 1, 1, 1, -1, -1, -1)
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), linear).double()
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    a, g = E._hand_example()
    expected = A.grad_cam(model, x, 0, layer=conv, upsample=False)
    np.testing.assert_allclose(E.reference_gradcam_combine(a, E.reference_gradcam_weights(g)), expected, rtol=1e-12)


# ---- 8.1 -------------------------------------------------------------------------------------
def test_relevance_mass_accepts_reference_and_matches_metrics():
    from attributions import metrics

    assert E.check_relevance_mass(E.reference_relevance_mass)
    rng = np.random.default_rng(4)
    maps, masks = rng.normal(size=(4, 6, 6)), rng.random((4, 6, 6)) < 0.4
    masks[:, 0, 0] = True
    np.testing.assert_allclose(E.reference_relevance_mass(maps, masks), metrics.relevance_mass_accuracy(maps, masks))


def test_relevance_mass_with_signed_values_is_rejected():
    rejects(E.check_relevance_mass, lambda a, m: (a * m).sum(axis=(1, 2)) / a.sum(axis=(1, 2)), match="a⁺")


def test_relevance_mass_with_absolute_values_is_rejected():
    rejects(E.check_relevance_mass, lambda a, m: (np.abs(a) * m).sum(axis=(1, 2)) / np.abs(a).sum(axis=(1, 2)))


# ---- every exercise: plausible wrong answers and the words of their messages ----------------------
def _rescale_zero_only(g, g_prime, z, z_ref, eps=1e-7):
    dz = z - z_ref
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(dz != 0, (g(z) - g(z_ref)) / dz, g_prime(z))


def _max_pool_assigned(x, x_ref):
    rows = np.arange(len(x))
    arg, arg_ref = x.argmax(1), x_ref.argmax(1)
    y, y_ref = x.max(1), x_ref.max(1)
    top = np.maximum(y, y_ref)
    c = np.zeros_like(x)
    c[rows, arg] = top - y_ref
    c[rows, arg_ref] = y - top
    return c


def _ig_equal_weights(grad_fn, x, baseline, alphas, weights):
    points = baseline + alphas.reshape((-1,) + (1,) * x.ndim) * (x - baseline)
    return (x - baseline) * grad_fn(points).mean(axis=0)


def _ig_path_backwards(grad_fn, x, baseline, alphas, weights):
    points = x + alphas.reshape((-1,) + (1,) * x.ndim) * (baseline - x)
    return (x - baseline) * np.tensordot(weights, grad_fn(points), axes=1)


def _gradcam_abs(activations, alpha, size=None):
    maps = np.abs(np.einsum("nk,nkij->nij", alpha, activations))
    return maps if size is None else A.gradcam.upsample_maps(maps, size)


def _gradcam_no_upsampling(activations, alpha, size=None):
    return np.maximum(np.einsum("nk,nkij->nij", alpha, activations), 0)


WRONG_ANSWERS = [
    (E.check_rescale_multiplier, lambda g, g_prime, z, z_ref, eps=1e-7: g_prime(z), "slope of the secant"),
    (E.check_rescale_multiplier, _rescale_zero_only, "rounding error"),
    (E.check_reveal_cancel_deltas, lambda g, z, p, n: E.reference_reveal_cancel_deltas(g, z, p, n)[::-1], "swapped"),
    (E.check_reveal_cancel_deltas, lambda g, z, p, n: (g(z + p) - g(z), g(z + p + n) - g(z + p)), "average"),
    (E.check_max_pool_contributions, _max_pool_assigned, "np.add.at"),
    (E.check_riemann_quadrature,
     lambda m, n: (np.arange(n) / n, E.reference_riemann_quadrature(m, n)[1]) if m == "riemann_trapezoid"
     else E.reference_riemann_quadrature(m, n), "include both ends"),
    (E.check_ig_from_gradients, _ig_equal_weights, "equal weights"),
    (E.check_ig_from_gradients, _ig_path_backwards, "path runs from x to x′"),
    (E.check_gradcam_weights, lambda g: np.maximum(g, 0).mean(axis=(2, 3)), "positive gradients"),
    (E.check_gradcam_weights, lambda g: g.mean(axis=(1, 2)), "shape (N, K)"),
    (E.check_gradcam_combine, _gradcam_abs, "takes |Σ_k α_k A^k|"),
    (E.check_gradcam_combine, _gradcam_no_upsampling, "upsample_maps"),
    (E.check_relevance_mass, lambda a, m: (np.abs(a) * m).sum(axis=(1, 2)) / np.abs(a).sum(axis=(1, 2)),
     "takes |a|"),
    (E.check_relevance_mass, lambda a, m: (np.maximum(a, 0) * m).sum(axis=(1, 2)) / a.sum(axis=(1, 2)), "both sums"),
    (E.check_relevance_mass, lambda a, m: np.maximum(a, 0)[m].sum() / np.maximum(a, 0).sum(), "one ratio per image"),
]


@pytest.mark.parametrize("checker, wrong, words", WRONG_ANSWERS,
                         ids=[f"{c.__name__}-{w}" for c, _, w in WRONG_ANSWERS])
def test_a_plausible_wrong_answer_is_named_in_words(checker, wrong, words, capsys):
    with pytest.raises(ExerciseError, match=r"^✗ Exercise \d\.\d .*: case \d+/\d+ \(") as info:
        checker(wrong)
    assert words in str(info.value), str(info.value)
    assert capsys.readouterr().out == "", "the verdict is shown once, as the error"


def test_outputs_are_named_by_what_they_are():
    with pytest.raises(ExerciseError, match="Δy⁺: values differ"):
        E.check_reveal_cancel_deltas(lambda g, z, p, n: E.reference_reveal_cancel_deltas(g, z, p, n)[::-1])


def test_the_tutorials_readme_quotes_the_checkers_real_messages():
    from pathlib import Path

    from minicnn import exercises as engine

    messages = set()
    for module in (engine, E):
        for name, value in vars(module).items():
            if name.endswith("_MISTAKES"):
                messages |= {m.message for m in value}
    messages |= {m.message for m in engine._conv_forward_mistakes() + engine._backward_weight_mistakes()}
    readme = (Path(__file__).resolve().parents[1] / "tutorials" / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "` … " in line]
    numbers = [row.split("|")[1].strip() for row in rows]
    assert numbers == sorted(numbers) and len(numbers) >= 18, "one row per exercise, in order"
    for row in rows:
        hint = row.rsplit("` … ", 1)[1].rstrip(" |").replace("\\|", "|")
        assert hint in messages, f"README quotes a message no checker gives: {hint}"
