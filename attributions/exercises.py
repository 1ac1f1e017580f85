"""Checkers for the attribution tutorials' exercises (notebooks 04–09).

Each `check_*` function runs the student's function on a fixed set of cases (small known answers
from docs/methods.md, Small cases with known answers, first, then random ones) against a reference implementation written here in
plain NumPy, using `minicnn.exercises.check_exercise`. It prints a verdict and returns a truthy
`Passed`, or raises `ExerciseError` naming the failing case, the expected and the received values,
and, when the answer is a known `Mistake`, what is wrong in words (a NaN at Δz = 0, weights that do
not sum to 1, |a| where a⁺ belongs…).

    from attributions.exercises import check_rescale_multiplier
    check_rescale_multiplier(rescale_multiplier)

The references are deliberately the textbook formulas; tests/test_exercises_attributions.py checks
that they agree with the library's implementations (deeplift_rules/, integrated_gradients.py,
gradcam.py) and that each checker rejects a plausible wrong answer.
"""

from __future__ import annotations

import numpy as np

from typing import Callable, Optional, Sequence

from minicnn.exercises import Case, Mistake, Passed, check_exercise, fail, numbered, run_case

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
    # notebook 09: explaining an ImageNet CNN
    "reference_adaptive_bins", "check_adaptive_bins",
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


def _seeded_gradient(model, x, target, of="logit"):
    """∂/∂x of each row's target logit, its softmax probability (of="probability"), or of the
    sum of all logits (of="sum"): the gradients a student may compute by mistake."""
    import minicnn as mc
    import minicnn.functional as F

    model.eval()
    xt = mc.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    out = model(xt)
    if of == "probability":
        out = F.softmax(out, axis=1)
    seed = np.ones(out.shape)
    if of != "sum":
        seed = np.zeros(out.shape)
        seed[np.arange(len(x)), np.broadcast_to(np.asarray(target), (len(x),))] = 1.0
    return mc.grad(out, [xt], grad_outputs=seed)[0]


_LOGIT_NOT_PROBABILITY = ("You differentiated the softmax probability; differentiate the logit t (the model's output "
                          "before the softmax), whose gradient does not vanish when the model is confident.")
_ONE_HOT_SEED = ("You seeded the backward with ones, which gives the gradient of the sum of all logits: seed a "
                 "one-hot matrix, 1 at each row's target.")

_SALIENCY_MISTAKES = [
    Mistake("Saliency is the *absolute* gradient |∂t/∂x|: take np.abs of it.", input_gradient),
    Mistake(_LOGIT_NOT_PROBABILITY, lambda m, x, t: np.abs(_seeded_gradient(m, x, t, of="probability"))),
    Mistake(_ONE_HOT_SEED, lambda m, x, t: np.abs(_seeded_gradient(m, x, t, of="sum"))),
]

_GRADIENT_X_INPUT_MISTAKES = [
    Mistake("Gradient × input keeps its sign (red pushes the score up, blue down): do not take the absolute value.",
            lambda m, x, t: np.abs(x * input_gradient(m, x, t))),
    Mistake("You returned the gradient alone: multiply it by the input x.", input_gradient),
    Mistake("You multiplied x by |∂t/∂x| (the saliency): use the signed gradient.",
            lambda m, x, t: x * np.abs(input_gradient(m, x, t))),
    Mistake(_LOGIT_NOT_PROBABILITY, lambda m, x, t: x * _seeded_gradient(m, x, t, of="probability")),
    Mistake(_ONE_HOT_SEED, lambda m, x, t: x * _seeded_gradient(m, x, t, of="sum")),
]


def check_saliency(student_fn: Callable[..., np.ndarray], seed: Optional[int] = None) -> Passed:
    """Exercise 4.1: `saliency(model, x, target)` = |∂t/∂x| for the target logit t of each row."""
    def reference(model, x, target):
        return np.abs(input_gradient(model, x, target))

    return check_exercise("4.1 saliency", student_fn, reference, _gradient_cases(seed), outputs="|∂t/∂x|",
                          mistakes=_SALIENCY_MISTAKES)


def check_gradient_x_input(student_fn: Callable[..., np.ndarray], seed: Optional[int] = None) -> Passed:
    """Exercise 4.2: `gradient_x_input(model, x, target)` = x ⊙ ∂t/∂x."""
    def reference(model, x, target):
        return np.asarray(x) * input_gradient(model, x, target)

    return check_exercise("4.2 gradient × input", student_fn, reference, _gradient_cases(seed), outputs="x ⊙ ∂t/∂x",
                          mistakes=_GRADIENT_X_INPUT_MISTAKES)


# =============================================================================================
# Notebook 05 — DeepLIFT
# =============================================================================================

# ---- 5.1 the Rescale multiplier --------------------------------------------------------------
def reference_rescale_multiplier(g: Callable[[np.ndarray], np.ndarray], g_prime: Callable[[np.ndarray], np.ndarray],
                                 z: np.ndarray, z_ref: np.ndarray, eps: float = 1e-7) -> np.ndarray:
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


def _rescale_fallback_only_at_zero(g, g_prime, z, z_ref, eps=1e-7):
    dz = z - z_ref
    nonzero = dz != 0
    return np.where(nonzero, (g(z) - g(z_ref)) / np.where(nonzero, dz, 1.0), g_prime(z))


_RESCALE_MISTAKES = [
    Mistake("NaN or inf: where |Δz| ≤ eps, Δy/Δz is 0/0 (or rounding noise) — use the derivative g′ there "
            "(at the midpoint or at the reference).", test=lambda got, expected, case: not np.all(np.isfinite(got))),
    Mistake("You returned g′(z), the slope of the tangent; the Rescale multiplier is the slope of the secant, "
            "Δy/Δz = (g(z) − g(z′))/(z − z′).", lambda g, g_prime, z, z_ref, eps=1e-7: g_prime(z)),
    Mistake("Where |Δz| is tiny (1e-12), Δy/Δz is mostly rounding error: use the derivative wherever "
            "|Δz| ≤ eps, not only where Δz = 0.", _rescale_fallback_only_at_zero),
    Mistake("Your secant has the wrong sign: take both differences in the same order, (g(z) − g(z′))/(z − z′).",
            lambda g, g_prime, z, z_ref, eps=1e-7: -reference_rescale_multiplier(g, g_prime, z, z_ref, eps)),
]


def check_rescale_multiplier(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 5.1: `student_fn(g, g_prime, z, z_ref, eps=1e-7)` → multipliers shaped like z.

    The derivative may be taken at the midpoint or at the reference where |Δz| ≤ eps: the two
    differ by O(eps), far inside the tolerance."""
    return check_exercise("5.1 Rescale multiplier", student_fn, reference_rescale_multiplier, _rescale_cases(),
                          rtol=1e-6, atol=1e-8, outputs="m", mistakes=_RESCALE_MISTAKES)


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


def _does_not_telescope(got, expected, case):
    g, z_ref, dz_pos, dz_neg = case.args
    total = np.asarray(got[0], dtype=float) + np.asarray(got[1], dtype=float)
    return not np.allclose(total, g(z_ref + dz_pos + dz_neg) - g(z_ref), rtol=1e-9, atol=1e-12)


def _proportional_split(g, z_ref, dz_pos, dz_neg):
    dy = g(z_ref + dz_pos + dz_neg) - g(z_ref)
    size = dz_pos - dz_neg
    share = np.divide(dz_pos, size, out=np.zeros_like(size), where=size > 0)
    return dy * share, dy * (1 - share)


_REVEAL_CANCEL_MISTAKES = [
    Mistake("You added Δz⁺ first and Δz⁻ second only: each part's effect is the *average* over the two orders "
            "(½ added first + ½ added second).",
            lambda g, z, p, n: (g(z + p) - g(z), g(z + p + n) - g(z + p))),
    Mistake("You added Δz⁻ first and Δz⁺ second only: each part's effect is the *average* over the two orders "
            "(½ added first + ½ added second).",
            lambda g, z, p, n: (g(z + p + n) - g(z + n), g(z + n) - g(z))),
    Mistake("Your pair is swapped: return (Δy⁺, Δy⁻), the positive part first.",
            lambda g, z, p, n: reference_reveal_cancel_deltas(g, z, p, n)[::-1]),
    Mistake("You split Δy in proportion to Δz⁺ and Δz⁻; RevealCancel measures what each part does through g, "
            "averaged over the two orders in which they can be added.", _proportional_split),
    Mistake("Δy⁺ + Δy⁻ ≠ g(z′ + Δz⁺ + Δz⁻) − g(z′). Each part should be the average of its effect added first "
            "and added second, so the two halves telescope.", test=_does_not_telescope),
]


def check_reveal_cancel_deltas(student_fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Passed:
    """Exercise 5.2: `student_fn(g, z_ref, dz_pos, dz_neg)` → (Δy⁺, Δy⁻)."""
    return check_exercise("5.2 RevealCancel Δy⁺, Δy⁻", student_fn, reference_reveal_cancel_deltas,
                          _reveal_cancel_cases(), rtol=1e-9, atol=1e-12, outputs=("Δy⁺", "Δy⁻"),
                          mistakes=_REVEAL_CANCEL_MISTAKES)


# ---- 5.3 max-pool routing --------------------------------------------------------------------
def reference_max_pool_contributions(x: np.ndarray, x_ref: np.ndarray) -> np.ndarray:
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


def _max_pool_routing(x, x_ref, to_x, to_ref, accumulate=True):
    rows = np.arange(len(x))
    arg, arg_ref = x.argmax(axis=1), x_ref.argmax(axis=1)
    y, y_ref = x[rows, arg], x_ref[rows, arg_ref]
    top = np.maximum(y, y_ref)
    c = np.zeros_like(x, dtype=np.float64)
    pieces = {"M − y′": top - y_ref, "y − M": y - top, "y − y′": y - y_ref, "0": 0.0}
    if accumulate:
        np.add.at(c, (rows, arg), pieces[to_x])
        np.add.at(c, (rows, arg_ref), pieces[to_ref])
    else:
        c[rows, arg] = pieces[to_x]
        c[rows, arg_ref] = pieces[to_ref]
    return c


_MAX_POOL_MISTAKES = [
    Mistake("You routed all of y − y′ to the argmax of x (the gradient's rule). DeepLIFT splits it: the argmax "
            "of x gets M − y′ and the argmax of x′ gets y − M, with M = max(y, y′).",
            lambda x, r: _max_pool_routing(x, r, "y − y′", "0")),
    Mistake("When x and x′ peak at the same position both pieces land there: add them (np.add.at or +=); "
            "the second assignment overwrote the first.",
            lambda x, r: _max_pool_routing(x, r, "M − y′", "y − M", accumulate=False)),
    Mistake("The two pieces are swapped: the argmax of x gets M − y′, the argmax of x′ gets y − M.",
            lambda x, r: _max_pool_routing(x, r, "y − M", "M − y′")),
]


def check_max_pool_contributions(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 5.3: `student_fn(x, x_ref)` for windows as rows (N, k) → contributions (N, k)."""
    return check_exercise("5.3 max-pool routing", student_fn, reference_max_pool_contributions, _max_pool_cases(),
                          rtol=1e-9, atol=1e-12, outputs="C", mistakes=_MAX_POOL_MISTAKES)


# =============================================================================================
# Notebook 06 — Integrated Gradients
# =============================================================================================

# ---- 6.1 Riemann and trapezoid quadrature ----------------------------------------------------
RIEMANN_METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def reference_riemann_quadrature(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes α_k and weights w_k for ∫₀¹ φ ≈ Σ_k w_k φ(α_k): the library's `quadrature`."""
    return quadrature(method, steps)


def _weights_do_not_sum_to_one(got, expected, case):
    weights = np.asarray(got[1], dtype=float)
    return weights.shape == (case.args[1],) and not np.isclose(weights.sum(), 1.0, rtol=1e-12)


def _quadrature_as(other_method):
    """The nodes and weights of another rule, for the methods `other_method` maps."""
    def answer(method, steps):
        return reference_riemann_quadrature(other_method.get(method, method), steps)
    return answer


def _trapezoid_nodes_over_n(method, steps):
    alphas, weights = reference_riemann_quadrature(method, steps)
    return (np.arange(steps) / steps, weights) if method == "riemann_trapezoid" else (alphas, weights)


_QUADRATURE_MISTAKES = [
    Mistake("The weights do not sum to 1, so even a constant gradient is integrated wrongly. (For the "
            "trapezoid rule on n nodes the spacing is 1/(n−1), not 1/n — the mistake Captum makes.)",
            test=_weights_do_not_sum_to_one),
    Mistake("riemann_left and riemann_right are swapped: left takes α_k = k/n for k = 0…n−1 (the left end of "
            "each interval), right k = 1…n.",
            _quadrature_as({"riemann_left": "riemann_right", "riemann_right": "riemann_left"})),
    Mistake("The trapezoid rule's n nodes include both ends of [0, 1]: α_k = k/(n−1), k = 0…n−1.",
            _trapezoid_nodes_over_n),
    Mistake("riemann_middle takes the midpoint of each interval, α_k = (k + ½)/n, not its left end.",
            _quadrature_as({"riemann_middle": "riemann_left"})),
]


def check_riemann_quadrature(student_fn: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Passed:
    """Exercise 6.1: `student_fn(method, steps)` → (alphas, weights) for the four Riemann rules."""
    cases = [Case(f"{method}, {steps} steps", method, steps)
             for method in RIEMANN_METHODS for steps in (2, 3, 10, 50)]
    return check_exercise("6.1 Riemann / trapezoid quadrature", student_fn, reference_riemann_quadrature, cases,
                          rtol=1e-12, atol=1e-14, outputs=("α (alphas)", "w (weights)"), mistakes=_QUADRATURE_MISTAKES)


# ---- 6.2 IG from a gradient function ---------------------------------------------------------
def reference_ig_from_gradients(grad_fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, baseline: np.ndarray,
                                alphas: np.ndarray, weights: np.ndarray) -> np.ndarray:
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
        # a rule that is not symmetric under α → 1 − α, so a path run backwards shows
        Case("F = Σ sin x_i + x₀x₁, nonzero baseline, left Riemann 10 steps",
             _sine_grad, rng.normal(size=4), rng.normal(size=4), *reference_riemann_quadrature("riemann_left", 10)),
    ]


def _path_gradient_average(grad_fn, x, baseline, alphas, weights):
    """Σ_k w_k ∂F/∂x(x′ + α_k Δx), without the factor Δx."""
    return reference_ig_from_gradients(grad_fn, x, baseline, alphas, weights) / np.where(x == baseline, 1.0, x - baseline)


_IG_MISTAKES = [
    Mistake("You returned the average gradient along the path: IG multiplies it by Δx = x − x′.",
            _path_gradient_average),
    Mistake("You multiplied by x; IG multiplies by Δx = x − x′ (the two agree only for a zero baseline).",
            lambda grad_fn, x, baseline, alphas, weights: x * _path_gradient_average(grad_fn, x, baseline, alphas, weights)),
    Mistake("Your path runs from x to x′: the points are x′ + α_k (x − x′), starting at the baseline (with a "
            "rule symmetric in α the two agree, with riemann_left they do not).",
            lambda grad_fn, x, baseline, alphas, weights: reference_ig_from_gradients(
                grad_fn, x, baseline, 1.0 - np.asarray(alphas), weights)),
    Mistake("You averaged the gradients with equal weights: use the rule's weights, Σ_k w_k ∂F/∂x(x′ + α_k Δx) "
            "(the trapezoid rule halves its two end points).",
            lambda grad_fn, x, baseline, alphas, weights: reference_ig_from_gradients(
                grad_fn, x, baseline, alphas, np.full(len(alphas), 1.0 / len(alphas)))),
]


def check_ig_from_gradients(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 6.2: `student_fn(grad_fn, x, baseline, alphas, weights)` → IG shaped like x, calling
    grad_fn once with all K interpolated points stacked along a new first axis."""
    name = "6.2 IG from a gradient function"
    cases = numbered(_ig_cases())
    for case in cases:
        counting = _Counting(case.args[0])
        run_case(name, student_fn, case.with_args(counting, *case.args[1:]))
        x, alphas = case.args[1], case.args[3]
        expected_shape = (len(alphas),) + np.shape(x)
        if counting.calls != [expected_shape]:
            fail(name, f"{case.label}: grad_fn was called with shapes {counting.calls}; expected one call "
                  f"with all {len(alphas)} path points stacked, shape {expected_shape} (batch the steps: no loop).")
    return check_exercise(name, student_fn, reference_ig_from_gradients, cases, rtol=1e-9, atol=1e-12,
                          outputs="IG", mistakes=_IG_MISTAKES)


# =============================================================================================
# Notebook 07 — Grad-CAM
# =============================================================================================

# ---- 7.1 channel weights ---------------------------------------------------------------------
def reference_gradcam_weights(gradients: np.ndarray) -> np.ndarray:
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


_SPATIAL_AXES = ("Average over the two spatial axes (2, 3) of the (N, K, m, n) gradients, leaving one α per "
                 "image and channel: shape (N, K).")
_GRADCAM_WEIGHT_MISTAKES = [
    Mistake("These are spatial sums; α_k is the spatial mean — divide by the number of positions m·n.",
            lambda g: g.sum(axis=(2, 3))),
    Mistake(_SPATIAL_AXES, test=lambda got, expected, case: np.shape(got) != np.shape(expected)),
    Mistake(_SPATIAL_AXES, lambda g: g.mean(axis=(1, 2))),
    Mistake("You kept only the positive gradients (as Grad-CAM++ does); Grad-CAM's α_k is the plain spatial "
            "mean of ∂y^c/∂A^k, signs included.", lambda g: np.maximum(g, 0).mean(axis=(2, 3))),
    Mistake("You took the spatial maximum; α_k is the spatial *mean* (global average pooling of the gradients).",
            lambda g: g.max(axis=(2, 3))),
]


def check_gradcam_weights(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 7.1: `student_fn(gradients)` with gradients (N, K, m, n) → α of shape (N, K)."""
    return check_exercise("7.1 Grad-CAM channel weights", student_fn, reference_gradcam_weights,
                          _gradcam_weight_cases(), rtol=1e-9, atol=1e-12, outputs="α", mistakes=_GRADCAM_WEIGHT_MISTAKES)


# ---- 7.2 weighted combination + ReLU (+ upsampling) -----------------------------------------
def reference_gradcam_combine(activations: np.ndarray, alpha: np.ndarray,
                              size: Optional[Sequence[int]] = None) -> np.ndarray:
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


def _gradcam_combination(activations, alpha, size=None, clip=_relu, clip_after_upsampling=False):
    from .gradcam import upsample_maps

    maps = np.einsum("nk,nkij->nij", np.asarray(alpha, dtype=np.float64), np.asarray(activations, dtype=np.float64))
    if not clip_after_upsampling:
        maps = clip(maps)
    if size is not None:
        maps = upsample_maps(maps, size)
    return clip(maps) if clip_after_upsampling else maps


_GRADCAM_COMBINE_MISTAKES = [
    Mistake("Your map has negative values: Grad-CAM keeps only the evidence *for* the class — apply ReLU to "
            "Σ_k α_k A^k.", test=lambda got, expected, case: np.size(got) and np.min(got) < 0),
    Mistake("Your map takes |Σ_k α_k A^k|; Grad-CAM keeps only the positive part (ReLU): negative evidence is "
            "set to 0, not turned into positive evidence.",
            lambda a, alpha, size=None: _gradcam_combination(a, alpha, size, clip=np.abs)),
    Mistake("You applied the ReLU after upsampling; Grad-CAM applies it to the m×n map, then upsamples "
            "(interpolating a clipped map differs near its zero crossings).",
            lambda a, alpha, size=None: _gradcam_combination(a, alpha, size, clip_after_upsampling=True)),
    Mistake("`size` was given: upsample the map (after the ReLU) with upsample_maps(L, size).",
            lambda a, alpha, size=None: _gradcam_combination(a, alpha)),
]


def check_gradcam_combine(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 7.2: `student_fn(activations, alpha, size=None)` → ReLU(Σ_k α_k A^k), upsampled to `size`."""
    return check_exercise("7.2 Grad-CAM combination", student_fn, reference_gradcam_combine, _gradcam_combine_cases(),
                          rtol=1e-9, atol=1e-12, outputs="L", mistakes=_GRADCAM_COMBINE_MISTAKES)


# =============================================================================================
# Notebook 08 — Comparing the methods
# =============================================================================================

# ---- 8.1 relevance mass accuracy -------------------------------------------------------------
def reference_relevance_mass(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
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


def _mass_ratio(inside, total):
    """R = Σ_{i∈M} inside(a)_i / Σ_i total(a)_i per image, for the variants a student may write."""
    def answer(maps, masks):
        return (inside(maps) * masks).sum(axis=(1, 2)) / total(maps, masks).sum(axis=(1, 2))
    return answer


_RELEVANCE_MASS_MISTAKES = [
    Mistake("Negative relevance must not count: use a⁺ = max(a, 0) in both sums.",
            _mass_ratio(lambda a: a, lambda a, m: a)),
    Mistake("Your map takes |a|; relevance mass keeps only the positive part a⁺ = max(a, 0): negative relevance "
            "is evidence against the class, not mass on the shape.",
            _mass_ratio(np.abs, lambda a, m: np.abs(a))),
    Mistake("Use a⁺ in both sums: the denominator Σ_i a⁺_i is the total positive relevance.",
            _mass_ratio(_relu, lambda a, m: a)),
    Mistake("Your scores are all 1: the denominator sums a⁺ over the *whole* image, not only over the mask.",
            _mass_ratio(_relu, lambda a, m: _relu(a) * m)),
    Mistake("Compute one ratio per image (sum over axes 1 and 2 only), not one for the whole batch.",
            lambda maps, masks: (_relu(maps) * masks).sum() / _relu(maps).sum()),
]


def check_relevance_mass(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 8.1: `student_fn(maps, masks)` with maps (N, H, W), masks (N, H, W) → (N,)."""
    name = "8.1 relevance mass accuracy"
    cases = _relevance_mass_cases()
    return check_exercise(name, student_fn, reference_relevance_mass, cases, rtol=1e-9, atol=1e-12,
                          outputs="R_mass", mistakes=_RELEVANCE_MASS_MISTAKES)


# =============================================================================================
# Notebook 09 — Explaining an ImageNet CNN
# =============================================================================================

# ---- 9.1 adaptive average pooling: the bin edges ----------------------------------------------
def reference_adaptive_bins(size: int, bins: int) -> np.ndarray:
    """[(start, end)] of each of `bins` output cells over an axis of `size` inputs, read off the
    engine's `minicnn.functional.adaptive_avg_pool2d` (not re-derived here): PyTorch's
    start = ⌊i·size/bins⌋, end = ⌈(i+1)·size/bins⌉ (exclusive). Returned as an int array (bins, 2)."""
    import minicnn.functional as F

    # channel c is one-hot at row c, so output cell i of channel c is > 0 iff row c is in bin i
    one_hot = np.eye(size, dtype=np.float64).reshape(1, size, size, 1)
    pooled = F.adaptive_avg_pool2d(one_hot, (bins, 1)).data[0, :, :, 0]  # (size rows, bins)
    edges = []
    for i in range(bins):
        rows = np.flatnonzero(pooled[:, i] > 0)
        edges.append((int(rows[0]), int(rows[-1]) + 1))
    return np.array(edges, dtype=np.int64)


def _adaptive_bins_cases(seed):
    rng = np.random.default_rng(seed)
    cases = [
        Case("size 7 → 7 bins (as many bins as rows: one row each)", 7, 7),
        Case("size 13 → 6 bins (AlexNet's 13×13 → 6×6: bins overlap)", 13, 6),
        Case("size 10 → 3 bins", 10, 3),
        Case("size 5 → 1 bin (global average pooling)", 5, 1),
        Case("size 3 → 5 bins (more bins than inputs: rows are shared)", 3, 5),
    ]
    for _ in range(4):
        bins = int(rng.integers(1, 12))
        size = int(rng.integers(1, 40))
        cases.append(Case(f"random: size {size} → {bins} bins", size, bins))
    return cases


def _edges(student_fn):
    def as_array(size, bins):
        got = np.asarray(student_fn(size, bins))
        return got.reshape(-1, 2) if got.size and got.size % 2 == 0 else got

    return as_array


def check_adaptive_bins(student_fn: Callable[[int, int], Sequence[tuple[int, int]]], seed: Optional[int] = None) -> Passed:
    """Exercise 9.1: `student_fn(size, bins)` → [(start, end)] per bin, end exclusive (fresh
    random cases on every call; pass a seed to reproduce one)."""
    name = "9.1 adaptive average pooling bins"
    cases = _adaptive_bins_cases(seed)
    for case in cases:
        size, bins = case.args
        got = np.asarray(run_case(name, student_fn, case))
        expected = reference_adaptive_bins(size, bins)
        if got.shape != expected.shape:
            fail(name, f"case ({case.name}) returned shape {got.shape}: expected one (start, end) pair per bin, "
                  f"i.e. {bins} pairs")
        starts = np.arange(bins) * size // bins
        floor_ends = (np.arange(bins) + 1) * size // bins
        if np.array_equal(got, expected):
            continue
        width = size // bins
        if size % bins and width and np.array_equal(got, np.stack([np.arange(bins), np.arange(1, bins + 1)], 1) * width):
            fail(name, f"case ({case.name}): bin i is not the window [i·(size // bins), (i+1)·(size // bins)); it "
                  "starts at ⌊i·size/bins⌋ and ends at ⌈(i+1)·size/bins⌉, which spreads the remainder over the "
                  "bins and covers every row.")
        if np.array_equal(got[:, 1], floor_ends) and not np.array_equal(floor_ends, expected[:, 1]):
            fail(name, f"case ({case.name}): the ends are ⌊(i+1)·size/bins⌋; PyTorch rounds the end *up*, "
                  "⌈(i+1)·size/bins⌉, so every input row lands in a bin (and bins may overlap).")
        if np.array_equal(got[:, 1], expected[:, 1] - 1):
            fail(name, f"case ({case.name}): the ends are one too small; the end is exclusive, like a Python slice "
                  "x[start:end].")
        if np.array_equal(got[:, 0], starts + 1) or np.array_equal(got[:, 0], -(-np.arange(bins) * size // bins)):
            if not np.array_equal(got[:, 0], expected[:, 0]):
                fail(name, f"case ({case.name}): the starts are rounded up; PyTorch rounds the start *down*, "
                      "⌊i·size/bins⌋.")
    return check_exercise(name, _edges(student_fn), reference_adaptive_bins, cases, rtol=0, atol=0)


# =============================================================================================
# Notebook 10 — LRP and its relatives (issue 15)
# =============================================================================================
__all__ += ["reference_lrp_epsilon", "check_lrp_epsilon", "reference_lrp_zplus", "check_lrp_zplus"]


# ---- 10.1 the ε rule of a dense layer ----------------------------------------------------------
def reference_lrp_epsilon(a: np.ndarray, weight: np.ndarray, bias: np.ndarray, relevance: np.ndarray,
                          eps: float) -> np.ndarray:
    """R_j = a_j Σ_k w_kj R_k / (z_k + ε·sign(z_k)),  z = a Wᵀ + b,  sign(0) = +1, 0/0 := 0.
    a (N, in), weight (out, in) as PyTorch, bias (out,), relevance (N, out) → (N, in)."""
    a, w, b, r = (np.asarray(v, dtype=np.float64) for v in (a, weight, bias, relevance))
    z = a @ w.T + b
    denominator = z + eps * np.where(z >= 0, 1.0, -1.0)
    s = np.divide(r, denominator, out=np.zeros_like(r), where=denominator != 0)
    return a * (s @ w)


def _dense_layer_cases(seed, nonnegative=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(4, 5))
    if nonnegative:
        a = np.maximum(a, 0)  # after a ReLU
    w, b = rng.normal(size=(3, 5)), rng.normal(size=3) * 0.5
    r = rng.normal(size=(4, 3))
    a_zero = np.array([[1.0, 2.0]])
    w_zero = np.array([[1.0, -0.5], [2.0, 1.0]])   # z_0 = 1·1 + 2·(−0.5) = 0 exactly
    return a, w, b, r, a_zero, w_zero


def _epsilon_cases():
    a, w, b, r, a_zero, w_zero = _dense_layer_cases(101)
    z = a @ w.T + b
    return [
        Case("one output, z = −2, ε = 0.5: the denominator is z − ε = −2.5",
             np.array([[1.0, 1.0]]), np.array([[1.0, -3.0]]), np.zeros(1), np.array([[-2.0]]), 0.5),
        Case("z_0 = 0 exactly, ε = 0.1: sign(0) = +1, so the denominator is +ε",
             a_zero, w_zero, np.zeros(2), np.array([[1.0, 3.0]]), 0.1),
        Case("z_0 = 0 exactly, ε = 0 (LRP-0): 0/0 is taken as 0", a_zero, w_zero, np.zeros(2), np.array([[0.0, 3.0]]), 0.0),
        Case("random layer with bias, ε = 0.3 (mixed signs of z)", a, w, b, r, 0.3),
        Case("random layer, ε = 0, R = z (relevance is conserved up to the bias)", a, w, b, z, 0.0),
    ]


def check_lrp_epsilon(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 10.1: `student_fn(a, weight, bias, relevance, eps)` → the ε rule's input relevance."""
    name = "10.1 LRP-ε of a dense layer"
    cases = _epsilon_cases()
    got = np.asarray(run_case(name, student_fn, cases[0]), dtype=float)
    if np.allclose(got, [[1.0 * -2 / -1.5, -3.0 * -2 / -1.5]]):
        fail(name, "for z = −2 you divided by z + ε = −1.5: the stabiliser must push the denominator away "
                   "from 0 on its own side, z + ε·sign(z) = −2.5.")
    return check_exercise(name, student_fn, reference_lrp_epsilon, cases, rtol=1e-10, atol=1e-12)


# ---- 10.2 the z⁺ rule ------------------------------------------------------------------------
def reference_lrp_zplus(a: np.ndarray, weight: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    """R_j = Σ_k a_j w⁺_kj R_k / Σ_j a_j w⁺_kj  for a ≥ 0 (after a ReLU), bias ignored, 0/0 := 0."""
    a, w, r = (np.asarray(v, dtype=np.float64) for v in (a, weight, relevance))
    w_pos = np.maximum(w, 0)
    z = a @ w_pos.T
    s = np.divide(r, z, out=np.zeros_like(r), where=z != 0)
    return a * (s @ w_pos)


def _zplus_cases():
    a, w, _, r, _, _ = _dense_layer_cases(102, nonnegative=True)
    return [
        Case("two inputs, w = (2, −1): only the positive weight takes relevance",
             np.array([[1.0, 1.0]]), np.array([[2.0, -1.0]]), np.array([[3.0]])),
        Case("an output without positive contributions gets no denominator: 0/0 is 0",
             np.array([[1.0, 2.0]]), np.array([[-1.0, -2.0], [1.0, 1.0]]), np.array([[5.0, 3.0]])),
        Case("random layer after a ReLU (a ≥ 0)", a, w, r),
    ]


def check_lrp_zplus(student_fn: Callable[..., np.ndarray]) -> Passed:
    """Exercise 10.2: `student_fn(a, weight, relevance)` → the z⁺ rule's input relevance."""
    name = "10.2 LRP-z⁺ of a dense layer"
    cases = _zplus_cases()
    got = np.asarray(run_case(name, student_fn, cases[0]), dtype=float)
    if np.allclose(got, [[6.0, -3.0]]):
        fail(name, "the negative weight received relevance: z⁺ uses only w⁺ = max(w, 0), in the numerator "
                   "and in the denominator Σ_j a_j w⁺_jk.")
    return check_exercise(name, student_fn, reference_lrp_zplus, cases, rtol=1e-10, atol=1e-12)


# ---- 7.3 Grad-CAM++ channel weights (issue 15; appended) --------------------------------------
def reference_gradcam_pp_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
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


def check_gradcam_pp_weights(student_fn: Callable[..., np.ndarray]) -> Passed:
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
