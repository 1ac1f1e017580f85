"""Checkers for the attribution tutorials' exercises (notebooks 04–08).

Each `check_*` function runs the student's function on a fixed set of cases (small known answers
from docs/methods.md, Small cases with known answers, first, then random ones) against a reference implementation written here in
plain NumPy, using `minicnn.exercises.check_exercise`. It prints a verdict and returns True, or
raises `ExerciseError` naming the failing case, the expected and the received values, plus a hint
when the mistake is a common one (a NaN at Δz = 0, weights that do not sum to 1, a missing ReLU…).

    from attributions.exercises import check_rescale_multiplier
    check_rescale_multiplier(rescale_multiplier)

The references are deliberately the textbook formulas; tests/test_exercises_attributions.py checks
that they agree with the library's implementations (deeplift_rules/, integrated_gradients.py,
gradcam.py) and that each checker rejects a plausible wrong answer.
"""

from __future__ import annotations

import numpy as np

from minicnn.exercises import Case, check_exercise, fail, run_case

from minicnn import nn

from .deeplift_rules import reveal_cancel_deltas
from .gradients import input_gradient
from .integrated_gradients import quadrature

__all__ = [
    # notebook 04: gradients and their limits
    "check_saliency", "check_gradient_x_input",
    # notebook 05: DeepLIFT
    "reference_rescale_multiplier", "check_rescale_multiplier",
    "reference_reveal_cancel_deltas", "check_reveal_cancel_deltas",
    "reference_max_pool_contributions", "check_max_pool_contributions",
    # notebook 06: Integrated Gradients
    "reference_riemann_quadrature", "check_riemann_quadrature",
    "reference_ig_from_gradients", "check_ig_from_gradients",
    # notebook 07: Grad-CAM
    "reference_gradcam_weights", "check_gradcam_weights",
    "reference_gradcam_combine", "check_gradcam_combine",
    # notebook 08: comparing the methods
    "reference_relevance_mass", "check_relevance_mass",
]


def _relu(z):
    return np.maximum(z, 0.0)


def _relu_prime(z):
    return (z > 0).astype(np.float64)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1+e^{-z}), without overflow


def _sigmoid_prime(z):
    s = _sigmoid(z)
    return s * (1.0 - s)


def _tanh_prime(z):
    return 1.0 - np.tanh(z) ** 2


NONLINEARITIES = {
    "relu": (_relu, _relu_prime),
    "sigmoid": (_sigmoid, _sigmoid_prime),
    "tanh": (np.tanh, _tanh_prime),
}


# =============================================================================================
# Notebook 04 — gradients and their limits
# =============================================================================================
# Fresh random cases on every call (seed=None); pass a seed to reproduce a failure. The reference
# is the gradient of the target logit, ∂t_n/∂x_n (`attributions.input_gradient`).

def _small_models_and_inputs(rng):
    init_rng = np.random.default_rng(rng.integers(2**32))
    cnn = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, rng=init_rng), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 5, rng=init_rng),
    ).double()
    mlp = nn.Sequential(nn.Linear(6, 8, rng=init_rng), nn.Tanh(), nn.Linear(8, 3, rng=init_rng)).double()
    yield "small CNN, one target for the batch", cnn, rng.normal(size=(3, 1, 8, 8)), int(rng.integers(0, 5))
    yield "small CNN, one target per row", cnn, rng.normal(size=(4, 1, 8, 8)), rng.integers(0, 5, 4)
    yield "MLP", mlp, rng.normal(size=(5, 6)), rng.integers(0, 3, 5)


def _gradient_cases(seed):
    return [Case(name, m, x, t) for name, m, x, t in _small_models_and_inputs(np.random.default_rng(seed))]


def check_saliency(student_fn, seed=None):
    """Exercise 4.1: `saliency(model, x, target)` = |∂t/∂x| for the target logit t of each row."""
    def reference(model, x, target):
        return np.abs(input_gradient(model, x, target))

    return check_exercise("4.1 saliency", student_fn, reference, _gradient_cases(seed))


def check_gradient_x_input(student_fn, seed=None):
    """Exercise 4.2: `gradient_x_input(model, x, target)` = x ⊙ ∂t/∂x."""
    def reference(model, x, target):
        return np.asarray(x) * input_gradient(model, x, target)

    return check_exercise("4.2 gradient × input", student_fn, reference, _gradient_cases(seed))


# =============================================================================================
# Notebook 05 — DeepLIFT
# =============================================================================================

# ---- 5.1 the Rescale multiplier --------------------------------------------------------------
def reference_rescale_multiplier(g, g_prime, z, z_ref, eps=1e-7):
    """Rescale rule for y = g(z):  m = Δy/Δz = (g(z) − g(z′))/(z − z′) where |Δz| > eps,
    else the derivative g′ at the midpoint (z + z′)/2 (finite, and the limit of Δy/Δz)."""
    z, z_ref = np.asarray(z, dtype=np.float64), np.asarray(z_ref, dtype=np.float64)
    dz = z - z_ref
    big = np.abs(dz) > eps
    ratio = (g(z) - g(z_ref)) / np.where(big, dz, 1.0)
    return np.where(big, ratio, g_prime((z + z_ref) / 2))


def _rescale_cases():
    rng = np.random.default_rng(51)
    cases = []
    # the threshold case of docs/methods.md (Small cases with known answers, case 3): y = ReLU(z) with z′ = 0, z = ε
    relu, relu_prime = NONLINEARITIES["relu"]
    cases.append(Case("ReLU just above its threshold: z′ = 0, z = ε (DeepLIFT gives m = 1, the gradient too)",
                      relu, relu_prime, np.array([1e-3, 1e-6]), np.array([0.0, 0.0])))
    cases.append(Case("ReLU crossing zero: z = (3, −2, 1), z′ = (−1, 2, 1)",
                      relu, relu_prime, np.array([3.0, -2.0, 1.0]), np.array([-1.0, 2.0, 1.0])))
    for name, (g, g_prime) in NONLINEARITIES.items():
        z_ref = rng.normal(size=(4, 5))
        z = z_ref + rng.normal(size=(4, 5))
        z[0] = z_ref[0]  # Δz = 0 exactly: 0/0 without the fallback
        z[1, :2] = z_ref[1, :2] + 1e-12  # tiny Δz: the ratio is all rounding error
        # keep the exactly-equal entries away from ReLU's kink, where g′ is a convention
        z[0] = z_ref[0] = np.where(np.abs(z_ref[0]) < 0.1, 0.5, z_ref[0])
        cases.append(Case(f"{name}, random z and z′ with some Δz = 0 and |Δz| = 1e-12", g, g_prime, z, z_ref))
    return cases


def check_rescale_multiplier(student_fn):
    """Exercise 5.1: `student_fn(g, g_prime, z, z_ref, eps=1e-7)` → multipliers shaped like z."""
    name = "5.1 Rescale multiplier"
    cases = _rescale_cases()
    for case in cases:
        got = run_case(name, student_fn, case)
        if not np.all(np.isfinite(np.asarray(got, dtype=float))):
            fail(name, f"case ({case.name}) returned NaN or inf: where |Δz| ≤ eps, Δy/Δz is 0/0 (or "
                  "rounding noise) — use the derivative g′ there (at the midpoint or at the reference).")
    return check_exercise(name, student_fn, reference_rescale_multiplier, cases, rtol=1e-6, atol=1e-8)


# ---- 5.2 RevealCancel: Δy⁺ and Δy⁻ ------------------------------------------------------------
# The reference is the library's own function (attributions/deeplift_rules/reveal_cancel.py).
reference_reveal_cancel_deltas = reveal_cancel_deltas


def _reveal_cancel_cases():
    rng = np.random.default_rng(52)
    relu = NONLINEARITIES["relu"][0]
    cases = [
        # the min network at (3, 1): h = ReLU(x₁ − x₂), z′ = 0, Δz⁺ = 3, Δz⁻ = −1 → (1.5, −0.5)
        Case("min network at x = (3, 1): ReLU with z′ = 0, Δz⁺ = 3, Δz⁻ = −1",
             relu, np.array([0.0]), np.array([3.0]), np.array([-1.0])),
        Case("min network at x = (2, 5): Δz⁺ = 2, Δz⁻ = −5", relu, np.array([0.0]), np.array([2.0]), np.array([-5.0])),
    ]
    for name, (g, _) in NONLINEARITIES.items():
        shape = (3, 6)
        z_ref = rng.normal(size=shape)
        dz_pos = np.abs(rng.normal(size=shape)) * (rng.random(shape) > 0.2)
        dz_neg = -np.abs(rng.normal(size=shape)) * (rng.random(shape) > 0.2)
        cases.append(Case(f"{name}, random z′, Δz⁺ ≥ 0, Δz⁻ ≤ 0 (some zero)", g, z_ref, dz_pos, dz_neg))
    return cases


def check_reveal_cancel_deltas(student_fn):
    """Exercise 5.2: `student_fn(g, z_ref, dz_pos, dz_neg)` → (Δy⁺, Δy⁻)."""
    name = "5.2 RevealCancel Δy⁺, Δy⁻"
    cases = _reveal_cancel_cases()
    for case in cases:
        got = run_case(name, student_fn, case)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(name, "return a pair (dy_pos, dy_neg)")
        g, z_ref, dz_pos, dz_neg = case.args
        total = np.asarray(got[0], dtype=float) + np.asarray(got[1], dtype=float)
        if not np.allclose(total, g(z_ref + dz_pos + dz_neg) - g(z_ref), rtol=1e-9, atol=1e-12):
            fail(name, f"case ({case.name}): Δy⁺ + Δy⁻ ≠ g(z′ + Δz⁺ + Δz⁻) − g(z′). Each part should be "
                  "the average of its effect added first and added second, so the two halves telescope.")
    return check_exercise(name, student_fn, reference_reveal_cancel_deltas, cases, rtol=1e-9, atol=1e-12)


# ---- 5.3 max-pool routing --------------------------------------------------------------------
def reference_max_pool_contributions(x, x_ref):
    """Contributions of each position of each pooling window (rows of x, x_ref: (N, k)) to Δy.

    y = max(x), y′ = max(x′), M = max(y, y′): the argmax of x receives M − y′ and the argmax of x′
    receives y − M (both when they coincide). The row sums are y − y′ exactly."""
    x, x_ref = np.asarray(x, dtype=np.float64), np.asarray(x_ref, dtype=np.float64)
    rows = np.arange(len(x))
    arg, arg_ref = x.argmax(axis=1), x_ref.argmax(axis=1)
    y, y_ref = x[rows, arg], x_ref[rows, arg_ref]
    top = np.maximum(y, y_ref)
    c = np.zeros_like(x)
    np.add.at(c, (rows, arg), top - y_ref)
    np.add.at(c, (rows, arg_ref), y - top)
    return c


def _max_pool_cases():
    rng = np.random.default_rng(53)
    x_rand = rng.normal(size=(6, 4))
    ref_rand = rng.normal(size=(6, 4))
    ref_rand[0] = x_rand[0] - 1.0  # same argmax in both
    return [
        Case("docs/methods.md (Small cases with known answers) case 6: x = ones, x′ = (1, 2, 3, 9)", np.ones((1, 4)), np.array([[1.0, 2, 3, 9]])),
        Case("docs/methods.md (Small cases with known answers) case 6: x = ones, x′ = (4, 8, 6, 7)", np.ones((1, 4)), np.array([[4.0, 8, 6, 7]])),
        Case("x = (5, 0, 0, 1), x′ = (0, 0, 2, 0): y > y′", np.array([[5.0, 0, 0, 1]]), np.array([[0.0, 0, 2, 0]])),
        Case("six random windows of 4", x_rand, ref_rand),
    ]


def check_max_pool_contributions(student_fn):
    """Exercise 5.3: `student_fn(x, x_ref)` for windows as rows (N, k) → contributions (N, k)."""
    return check_exercise("5.3 max-pool routing", student_fn, reference_max_pool_contributions, _max_pool_cases(),
                          rtol=1e-9, atol=1e-12)


# =============================================================================================
# Notebook 06 — Integrated Gradients
# =============================================================================================

# ---- 6.1 Riemann and trapezoid quadrature ----------------------------------------------------
RIEMANN_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def reference_riemann_quadrature(method, steps):
    """Nodes α_k and weights w_k for ∫₀¹ φ ≈ Σ_k w_k φ(α_k): the library's `quadrature`."""
    return quadrature(method, steps)


def check_riemann_quadrature(student_fn):
    """Exercise 6.1: `student_fn(method, steps)` → (alphas, weights) for the four Riemann rules."""
    name = "6.1 Riemann / trapezoid quadrature"
    cases = [Case(f"{method}, {steps} steps", method, steps)
             for method in RIEMANN_METHODS for steps in (2, 3, 10, 50)]
    for case in cases:
        got = run_case(name, student_fn, case)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(name, "return a pair (alphas, weights)")
        weights = np.asarray(got[1], dtype=float)
        if weights.shape == (case.args[1],) and not np.isclose(weights.sum(), 1.0, rtol=1e-12):
            fail(name, f"case ({case.name}): the weights sum to {weights.sum():.6g}, not 1, so even a constant "
                  "gradient would be integrated wrongly. (For the trapezoid rule on n nodes the spacing is "
                  "1/(n−1), not 1/n — the mistake Captum makes.)")
    return check_exercise(name, student_fn, reference_riemann_quadrature, cases, rtol=1e-12, atol=1e-14)


# ---- 6.2 IG from a gradient function ---------------------------------------------------------
def reference_ig_from_gradients(grad_fn, x, baseline, alphas, weights):
    """IG_i = Δx_i · Σ_k w_k ∂F(x′ + α_k Δx)/∂x_i for one input x (any shape).

    grad_fn maps a batch of K points, shape (K, *x.shape), to their gradients (same shape);
    all the path points go through it in one call."""
    x, baseline = np.asarray(x, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    alphas, weights = np.asarray(alphas, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    delta = x - baseline
    expand = (slice(None),) + (None,) * x.ndim
    points = baseline[None] + alphas[expand] * delta[None]
    grads = np.asarray(grad_fn(points), dtype=np.float64)
    return delta * np.tensordot(weights, grads, axes=1)


class _Counting:
    """A gradient function that remembers how it was called."""

    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, points):
        points = np.asarray(points)
        self.calls.append(points.shape)
        return self.fn(points)


def _quadratic_grad(matrix, vector):
    # F(x) = ½ xᵀAx + bᵀx (A symmetric) on flattened x: ∇F = Ax + b
    def grad(points):
        flat = points.reshape(len(points), -1)
        return (flat @ matrix + vector).reshape(points.shape)

    return grad


def _relu_net_grad(w1, w2):
    # F(x) = w2 · ReLU(W1 x): ∇F = W1ᵀ (w2 ⊙ [W1 x > 0])
    def grad(points):
        hidden = points @ w1.T
        return (w2 * (hidden > 0)) @ w1

    return grad


def _sine_grad(points):
    # F(x) = Σ sin(x_i) + x₀ x₁  →  ∇F = cos(x) + (x₁, x₀, 0, …)
    g = np.cos(points)
    g[:, 0] += points[:, 1]
    g[:, 1] += points[:, 0]
    return g


def _ig_cases():
    rng = np.random.default_rng(62)
    a = rng.normal(size=(12, 12))
    a = (a + a.T) / 2
    w1, w2 = rng.normal(size=(8, 5)), rng.normal(size=8)
    trapezoid = reference_riemann_quadrature("riemann_trapezoid", 20)
    middle = reference_riemann_quadrature("riemann_middle", 7)
    return [
        Case("F = Σ sin x_i + x₀x₁, x′ = 0, trapezoid 20 steps", _sine_grad, rng.normal(size=4), np.zeros(4), *trapezoid),
        Case("F = Σ sin x_i + x₀x₁, nonzero baseline, midpoint 7 steps",
             _sine_grad, rng.normal(size=4), rng.normal(size=4), *middle),
        Case("F = ReLU network, nonzero baseline, trapezoid 20 steps",
             _relu_net_grad(w1, w2), rng.normal(size=5), rng.normal(size=5), *trapezoid),
        Case("F quadratic on a 3×4 'image', x′ = 0.5, midpoint 7 steps",
             _quadratic_grad(a, rng.normal(size=12)), rng.random((3, 4)), np.full((3, 4), 0.5), *middle),
    ]


def check_ig_from_gradients(student_fn):
    """Exercise 6.2: `student_fn(grad_fn, x, baseline, alphas, weights)` → IG shaped like x, calling
    grad_fn once with all K interpolated points stacked along a new first axis."""
    name = "6.2 IG from a gradient function"
    cases = _ig_cases()
    for case in cases:
        counting = _Counting(case.args[0])
        run_case(name, student_fn, Case(case.name, counting, *case.args[1:]))
        x, alphas = case.args[1], case.args[3]
        expected_shape = (len(alphas),) + np.shape(x)
        if counting.calls != [expected_shape]:
            fail(name, f"case ({case.name}): grad_fn was called with shapes {counting.calls}; expected one call "
                  f"with all {len(alphas)} path points stacked, shape {expected_shape} (batch the steps: no loop).")
    return check_exercise(name, student_fn, reference_ig_from_gradients, cases, rtol=1e-9, atol=1e-12)


# =============================================================================================
# Notebook 07 — Grad-CAM
# =============================================================================================

# ---- 7.1 channel weights ---------------------------------------------------------------------
def reference_gradcam_weights(gradients):
    """α_k = (1/(m·n)) Σ_ij ∂y^c/∂A^k_ij: the spatial *mean* of the gradients, (N, K, m, n) → (N, K)."""
    return np.asarray(gradients, dtype=np.float64).mean(axis=(2, 3))


def _hand_example():
    """docs/methods.md (Small cases with known answers) case 7: A (1, 2, 2, 2) and ∂y⁰/∂A, from input arange(16), two 3×3 kernels of ones,
    biases (−50, −75), ReLU, and a linear row (1,1,1,1, 1,−1,−1,−1)."""
    image = np.arange(16, dtype=np.float64).reshape(4, 4)
    window_sums = np.array([[image[i:i + 3, j:j + 3].sum() for j in range(2)] for i in range(2)])
    activations = np.stack([window_sums - 50, window_sums - 75])[None]  # (1, 2, 2, 2)
    row = np.array([1, 1, 1, 1, 1, -1, -1, -1], dtype=np.float64).reshape(1, 2, 2, 2)
    gradients = row * (activations > 0)  # through the ReLU
    return activations, gradients


def _gradcam_weight_cases():
    rng = np.random.default_rng(71)
    _, hand_gradients = _hand_example()
    return [
        Case("docs/methods.md (Small cases with known answers) case 7 (α = (0.75, −0.5))", hand_gradients),
        Case("random gradients, N = 2, K = 3, 4×5 maps", rng.normal(size=(2, 3, 4, 5))),
        Case("random gradients, N = 1, K = 8, 7×7 maps", rng.normal(size=(1, 8, 7, 7))),
    ]


def check_gradcam_weights(student_fn):
    """Exercise 7.1: `student_fn(gradients)` with gradients (N, K, m, n) → α of shape (N, K)."""
    name = "7.1 Grad-CAM channel weights"
    cases = _gradcam_weight_cases()
    for case in cases:
        got = np.asarray(run_case(name, student_fn, case), dtype=float)
        g = case.args[0]
        expected = reference_gradcam_weights(g)
        if got.shape == expected.shape and np.allclose(got, expected * g.shape[2] * g.shape[3], rtol=1e-9) \
                and not np.allclose(got, expected, rtol=1e-9):
            fail(name, f"case ({case.name}): these are spatial sums; α_k is the spatial mean — divide by m·n "
                  f"= {g.shape[2] * g.shape[3]}.")
    return check_exercise(name, student_fn, reference_gradcam_weights, cases, rtol=1e-9, atol=1e-12)


# ---- 7.2 weighted combination + ReLU (+ upsampling) -----------------------------------------
def reference_gradcam_combine(activations, alpha, size=None):
    """L = ReLU(Σ_k α_k A^k): (N, K, m, n) and (N, K) → (N, m, n); then, if `size` = (H, W) is given,
    bilinear upsampling with half-pixel centres (`attributions.gradcam.upsample_maps`), after the ReLU."""
    from .gradcam import upsample_maps

    maps = np.einsum("nk,nkij->nij", np.asarray(alpha, dtype=np.float64), np.asarray(activations, dtype=np.float64))
    maps = np.maximum(maps, 0.0)
    return maps if size is None else upsample_maps(maps, size)


def _gradcam_combine_cases():
    rng = np.random.default_rng(72)
    hand_activations, _ = _hand_example()
    return [
        Case("docs/methods.md (Small cases with known answers) case 7: α = (0.75, −0.5)", hand_activations, np.array([[0.75, -0.5]])),
        Case("the same with the opposite weights (all negative: ReLU gives 0)", hand_activations,
             np.array([[-0.75, 0.5]])),
        Case("random maps and weights (mixed signs), N = 2, K = 4, 5×5", rng.normal(size=(2, 4, 5, 5)),
             rng.normal(size=(2, 4))),
        Case("random, upsampled 4×4 → 16×16", rng.normal(size=(1, 3, 4, 4)), rng.normal(size=(1, 3)), (16, 16)),
    ]


def check_gradcam_combine(student_fn):
    """Exercise 7.2: `student_fn(activations, alpha, size=None)` → ReLU(Σ_k α_k A^k), upsampled to `size`."""
    name = "7.2 Grad-CAM combination"
    cases = _gradcam_combine_cases()
    for case in cases:
        got = np.asarray(run_case(name, student_fn, case), dtype=float)
        if got.size and got.min() < 0:
            fail(name, f"case ({case.name}) has negative values: Grad-CAM keeps only the evidence *for* the "
                  "class — apply ReLU to Σ_k α_k A^k.")
    return check_exercise(name, student_fn, reference_gradcam_combine, cases, rtol=1e-9, atol=1e-12)


# =============================================================================================
# Notebook 08 — Comparing the methods
# =============================================================================================

# ---- 8.1 relevance mass accuracy -------------------------------------------------------------
def reference_relevance_mass(maps, masks):
    """R_mass = Σ_{i∈M} a⁺_i / Σ_i a⁺_i per image (a⁺ = max(a, 0)): maps (N, H, W), masks bool
    (N, H, W) → (N,). (Arras et al. 2022; `attributions.metrics.relevance_mass_accuracy`.)"""
    positive = np.maximum(np.asarray(maps, dtype=np.float64), 0.0)
    inside = (positive * np.asarray(masks, dtype=bool)).sum(axis=(1, 2))
    return inside / positive.sum(axis=(1, 2))


def _relevance_mass_cases():
    rng = np.random.default_rng(81)
    one = np.zeros((1, 4, 4))
    one[0, 1, 1], one[0, 3, 3], one[0, 0, 0] = 3.0, 1.0, -5.0  # 3 inside, 1 outside, −5 ignored
    square = np.zeros((1, 4, 4), dtype=bool)
    square[0, :2, :2] = True
    masks = rng.random((3, 8, 8)) < 0.3
    masks[:, 0, 0] = True
    return [
        Case("4×4 map with 3 inside, 1 outside and a negative pixel (R = 0.75)", one, square),
        Case("random signed maps and masks, 3 images 8×8", rng.normal(size=(3, 8, 8)), masks),
        Case("non-negative maps (Grad-CAM-like)", np.abs(rng.normal(size=(3, 8, 8))), masks),
    ]


def check_relevance_mass(student_fn):
    """Exercise 8.1: `student_fn(maps, masks)` with maps (N, H, W), masks (N, H, W) → (N,)."""
    name = "8.1 relevance mass accuracy"
    cases = _relevance_mass_cases()
    got = np.asarray(run_case(name, student_fn, cases[0]), dtype=float)
    if got.shape == (1,) and np.isclose(got[0], 2.0):  # (3 − 5) / (3 + 1 − 5): negatives not dropped
        fail(name, "negative relevance must not count: use a⁺ = max(a, 0) in both sums.")
    return check_exercise(name, student_fn, reference_relevance_mass, cases, rtol=1e-9, atol=1e-12)


# ---- 7.3 Grad-CAM++ channel weights (issue 15; appended) --------------------------------------
def reference_gradcam_pp_weights(activations, gradients):
    """Grad-CAM++ (Chattopadhyay et al. 2018, eq. 19), (N, K, m, n) twice → (N, K):
    a_ij = g²/(2g² + Σ_ab A_ab g³) (0 where g = 0), w_k = Σ_ij a_ij ReLU(g_ij)."""
    a, g = np.asarray(activations, dtype=np.float64), np.asarray(gradients, dtype=np.float64)
    denominator = 2 * g**2 + a.sum(axis=(2, 3), keepdims=True) * g**3
    safe = np.where(denominator == 0, 1.0, denominator)
    alpha = np.where(g == 0, 0.0, g**2 / safe)
    return (alpha * np.maximum(g, 0)).sum(axis=(2, 3))


def _gradcam_pp_cases():
    rng = np.random.default_rng(73)
    hand_activations, hand_gradients = _hand_example()
    relu_like = np.maximum(rng.normal(size=(2, 3, 4, 5)), 0)
    return [
        Case("docs/methods.md case 7 (w = (1/24, 0))", hand_activations, hand_gradients),
        Case("non-negative maps, random gradients, N = 2, K = 3, 4×5", relu_like, rng.normal(size=(2, 3, 4, 5))),
        Case("some gradients exactly 0", relu_like, np.where(rng.random((2, 3, 4, 5)) < 0.4, 0.0,
                                                             rng.normal(size=(2, 3, 4, 5)))),
    ]


def check_gradcam_pp_weights(student_fn):
    """Exercise 7.3: `student_fn(activations, gradients)`, both (N, K, m, n) → w of shape (N, K)."""
    name = "7.3 Grad-CAM++ channel weights"
    cases = _gradcam_pp_cases()
    got = np.asarray(run_case(name, student_fn, cases[0]), dtype=float)
    if got.shape == (1, 2) and np.allclose(got, [[3 / 72, -2 / 32]]):
        fail(name, "the weights sum a_ij · ReLU(g_ij): negative gradients must not count.")
    if got.shape == (1, 2) and not np.isfinite(got).all():
        fail(name, "a_ij is 0/0 where g = 0: set it to 0 there (the position adds nothing).")
    return check_exercise(name, student_fn, reference_gradcam_pp_weights, cases, rtol=1e-9, atol=1e-12)


__all__ += ["reference_gradcam_pp_weights", "check_gradcam_pp_weights"]
