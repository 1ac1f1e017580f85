# %% [markdown]
# # 06 · Integrated Gradients: averaging the gradient along a path
#
# DeepLIFT (notebook 05) replaced derivatives by finite-difference rules, op by op. **Integrated
# Gradients** (Sundararajan, Taly & Yan, ICML 2017) keeps the ordinary gradient but averages it
# along the straight path from the baseline $x'$ to the input $x$. Only forward and backward passes
# of the unmodified network are needed, and the result is the same for any two networks that
# compute the same function.
#
# In this notebook you will
#
# 1. write IG as a path integral and see why it is *complete*;
# 2. implement the Riemann and trapezoid quadrature rules (Exercise 6.1) and IG from a gradient
#    function with all path points in one batch (Exercise 6.2);
# 3. measure how the completeness error shrinks with the number of steps, rule by rule;
# 4. check the axioms — completeness, sensitivity, symmetry — and the **implementation
#    invariance** counterexample that separates IG from DeepLIFT.
#
# Notation: $x$ input, $x'$ baseline, $\Delta x = x - x'$, $F$ the target **logit**.

# %%
%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import attributions as A
import minicnn as mc
import minicnn.functional as F
from attributions import exercises
from minicnn import nn
from minicnn.models import load_pretrained

np.set_printoptions(precision=4, suppress=True)


def col(t, k):
    """Column k of a (N, features) Tensor, kept 2-D: (N, 1)."""
    return t[:, k : k + 1]

# %% [markdown]
# ## 1. The path integral
#
# Walk from the baseline to the input along $\gamma(\alpha) = x' + \alpha\,\Delta x$, $\alpha \in [0, 1]$.
# The **integrated gradient** of feature $i$ is
#
# $$\mathrm{IG}_i(x) = \Delta x_i \int_0^1 \frac{\partial F}{\partial x_i}\big(x' + \alpha\,\Delta x\big)\, d\alpha .$$
#
# By the chain rule, $\frac{d}{d\alpha} F(\gamma(\alpha)) = \sum_i \frac{\partial F}{\partial x_i}(\gamma(\alpha))\,\Delta x_i$,
# so summing over $i$ and integrating gives the fundamental theorem of calculus:
#
# $$\sum_i \mathrm{IG}_i(x) = \int_0^1 \frac{d F(\gamma(\alpha))}{d\alpha}\, d\alpha = F(x) - F(x'). \qquad\text{(completeness)}$$
#
# Gradient × input is the special case "take the gradient at the end point only"; IG averages it
# along the way, and so sees a saturated unit's earlier slope. For $f(x) = 1 - \mathrm{ReLU}(1 - x)$
# at $x = 2$: the gradient is $1$ on $[0, 1]$ and $0$ on $[1, 2]$, so
# $\mathrm{IG} = 2 \cdot \tfrac12 = 1 = f(2) - f(0)$, while gradient × input is $0$.

# %%
saturating = nn.Lambda(lambda x: 1 - F.relu(1 - x))
x_sat = np.array([[2.0]])
print("gradient × input:", A.gradient_x_input(saturating, x_sat, 0).item())
print("IG (100 steps)  :", A.integrated_gradients(saturating, x_sat, 0, steps=100, method="riemann_middle").item())

# %% [markdown]
# ## 2. Quadrature: turning the integral into a sum
#
# The integral is approximated by a quadrature rule with nodes $\alpha_k$ and weights $w_k$:
#
# $$\mathrm{IG}_i(x) \approx \Delta x_i \sum_{k} w_k\, \frac{\partial F}{\partial x_i}\big(x' + \alpha_k \Delta x\big).$$
#
# | method | $\alpha_k$ | $w_k$ |
# |---|---|---|
# | `riemann_left` | $k/n$, $k = 0 \dots n-1$ | $1/n$ |
# | `riemann_right` | $k/n$, $k = 1 \dots n$ | $1/n$ |
# | `riemann_middle` | $(k + \frac12)/n$, $k = 0 \dots n-1$ | $1/n$ |
# | `riemann_trapezoid` | $k/(n-1)$, $k = 0 \dots n-1$ | $1/(n-1)$, first and last halved |
# | `gausslegendre` | $\frac12(1 + t_k)$ | $\frac12 W_k$, $(t, W)$ = `numpy.polynomial.legendre.leggauss(n)` |
#
# Every rule's weights must **sum to 1**: then a constant gradient (a linear model) is integrated
# exactly. Captum's trapezoid rule uses $1/n$ with halved ends, whose sum is $(n-1)/n$ — its IG is
# too small by that factor.

# %%
# Exercise 6.1: the four Riemann rules
def riemann_quadrature(method, steps):
    """(alphas, weights): two float arrays of length `steps` for method in
    "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid" (steps ≥ 2 for the last)."""
    ### BEGIN SOLUTION
    n = steps
    k = np.arange(n, dtype=np.float64)
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))  # n nodes span n − 1 intervals of width 1/(n − 1)
        weights[[0, -1]] /= 2
        return k / (n - 1), weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (k + offset) / n, np.full(n, 1.0 / n)
    ### END SOLUTION


print(riemann_quadrature("riemann_trapezoid", 5))

# %%
exercises.check_riemann_quadrature(riemann_quadrature)

# %% [markdown]
# The nodes and weights of all five rules for $n = 6$ (the library's `A.quadrature`), and the
# weight sums:

# %%
fig, ax = plt.subplots(figsize=(8, 2.8))
for row, method in enumerate(("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")):
    alphas, weights = A.quadrature(method, 6)
    ax.scatter(alphas, np.full(6, row), s=2500 * weights, alpha=0.6)
    print(f"{method:18s} α = {alphas}  Σw = {weights.sum():.15f}")
ax.set_yticks(range(5), ["left", "right", "middle", "trapezoid", "Gauss–Legendre"])
ax.set(xlabel="α (marker area ∝ weight)", xlim=(-0.08, 1.08), title="quadrature nodes, n = 6")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. IG from a gradient function, all steps in one batch
#
# A loop over the $n$ steps, one forward and backward pass each, wastes most of its time in Python.
# Stack the $n$ path points into one batch of shape $(n, \dots)$ instead — the network processes a
# batch as fast as a few single images — then contract the gradients with the weights.

# %%
# Exercise 6.2: Integrated Gradients from a gradient function
def ig_from_gradients(grad_fn, x, baseline, alphas, weights):
    """IG_i = Δx_i · Σ_k w_k ∂F(x′ + α_k Δx)/∂x_i for one input x (any shape).

    grad_fn -- maps a batch of points, shape (K, *x.shape), to ∂F/∂x at each point (same shape);
               call it ONCE with all K = len(alphas) path points
    """
    ### BEGIN SOLUTION
    delta = x - baseline
    alpha_column = alphas.reshape((-1,) + (1,) * x.ndim)  # (K, 1, 1, …) broadcasts over x's axes
    points = baseline + alpha_column * delta  # (K, *x.shape)
    grads = grad_fn(points)
    return delta * np.tensordot(weights, grads, axes=1)  # Σ_k w_k grads[k]
    ### END SOLUTION


# F(x) = x₀² + 3x₁ from x′ = 0 to x = (1, 1): IG = (1, 3), summing to F(x) − F(x′) = 4
print(ig_from_gradients(lambda p: np.stack([2 * p[:, 0], np.full(len(p), 3.0)], axis=1),
                        np.array([1.0, 1.0]), np.zeros(2), *riemann_quadrature("riemann_trapezoid", 11)))

# %%
exercises.check_ig_from_gradients(ig_from_gradients)

# %% [markdown]
# Your function, fed the gradient of the digits network, gives the library's IG. The library does
# the same for a whole batch of inputs, in chunks of at most `batch_size` path points.

# %%
model, digits = load_pretrained("digits")
images, labels = digits.x_test[:4], digits.y_test[:4]
target = int(labels[0])
alphas, weights = riemann_quadrature("riemann_trapezoid", 64)

mine = ig_from_gradients(lambda p: A.input_gradient(model, p, target), images[0], np.zeros_like(images[0]), alphas, weights)
library, delta = A.integrated_gradients(model, images[:1], target, steps=64, return_delta=True)
print(f"max |mine − library| = {np.abs(mine - library[0]).max():.2e}")
print(f"completeness delta Σ IG − (F(x) − F(x′)) = {delta[0]:+.4f}")

# one batched pass against a Python loop over the steps (timings vary from machine to machine)
start = time.perf_counter()
A.integrated_gradients(model, images[:1], target, steps=64)
t_batched = time.perf_counter() - start
start = time.perf_counter()
for a, w in zip(alphas, weights):
    A.input_gradient(model, a * images[:1], target)
t_loop = time.perf_counter() - start
print(f"64 steps: batched {t_batched * 1e3:.0f} ms, one pass per step {t_loop * 1e3:.0f} ms")

# %% [markdown]
# What happens along the path? The logit $F(x' + \alpha\Delta x)$ of the digit's class, and the
# integrand $\sum_i \Delta x_i\, \partial F/\partial x_i$ whose area is $F(x) - F(x')$. For a ReLU
# network the integrand is piecewise constant: it jumps whenever a unit switches on or off.

# %%
fine = np.linspace(0, 1, 201)
path = fine[:, None, None, None] * images[0]
with mc.no_grad():
    along = model(path).data[:, target]
integrand = (A.input_gradient(model, path, target) * images[0]).reshape(len(fine), -1).sum(axis=1)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(fine, along)
axes[0].set(xlabel="α", title=f"F(α·x), logit of class {target}")
axes[1].plot(fine, integrand)
axes[1].fill_between(fine, integrand, alpha=0.3)
axes[1].set(xlabel="α", title="integrand Σᵢ Δxᵢ ∂F/∂xᵢ (area = F(x) − F(0))")
plt.tight_layout()
plt.show()
print(f"area by the trapezoid rule on 201 points: {np.sum((integrand[1:] + integrand[:-1]) / 2 * np.diff(fine)):.4f};  F(x) − F(0) = {along[-1] - along[0]:.4f}")

# %% [markdown]
# ## 4. Convergence: completeness error against the number of steps
#
# The completeness delta $\sum_i \mathrm{IG}_i - (F(x) - F(x'))$ is the quadrature error, which
# makes it a free check of whether we took enough steps. Quadrature theory predicts, for a smooth
# integrand, error $O(1/n)$ for left/right Riemann, $O(1/n^2)$ for midpoint and trapezoid, and
# faster than any power for Gauss–Legendre. A ReLU network's integrand has jumps, so every rule
# slows to roughly $O(1/n)$ there; a smooth (tanh) network shows the textbook orders.

# %%
METHODS = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")
STEPS = (4, 8, 16, 32, 64, 128)
rng = np.random.default_rng(0)
smooth = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 3)).double()
x_smooth = rng.normal(size=(8, 20))


def completeness_errors(net, x, target, baseline=None):
    """{method: mean |completeness delta| over the rows of x, for each n in STEPS}."""
    errors = {}
    for method in METHODS:
        errors[method] = [np.abs(A.integrated_gradients(net, x, target, baseline=baseline, steps=n,
                                                        method=method, return_delta=True)[1]).mean()
                          for n in STEPS]
    return errors


start = time.perf_counter()
curves = {"smooth tanh MLP (8 random inputs)": completeness_errors(smooth, x_smooth, 0),
          "digits CNN (4 test images, black baseline)": completeness_errors(model, images, labels)}
print(f"{time.perf_counter() - start:.1f} s for {2 * len(METHODS) * len(STEPS)} IG runs")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, (title, errors) in zip(axes, curves.items()):
    for method, errs in errors.items():
        ax.loglog(STEPS, np.maximum(errs, 1e-17), "o-", label=method)
    ax.set(title=title, xlabel="steps n", ylabel="mean |Σ IG − ΔF|")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The Integrated Gradients section of `docs/methods.md` says 20–300 steps usually bring the delta within 5 % of $\Delta F$;
# for our small CNN, relative to $|F(x) - F(x')|$:

# %%
with mc.no_grad():
    gap = np.abs(model(images).data[np.arange(4), labels] - model(np.zeros_like(images)).data[np.arange(4), labels])
for method in METHODS:
    rel = np.array(curves["digits CNN (4 test images, black baseline)"][method]) / gap.mean()
    print(f"{method:18s}" + "  ".join(f"n={n}: {r:6.2%}" for n, r in zip(STEPS, rel)))

# %% [markdown]
# Captum's trapezoid weights sum to $(n-1)/n$, so even for a *linear* model its attributions miss
# $1/n$ of $\Delta F$. With our weights (summing to 1) the linear model is exact for any $n$:

# %%
linear = nn.Sequential(nn.Linear(5, 2)).double()
x_lin = rng.normal(size=(1, 5))
for n in (4, 10, 50):
    a_lin, d_lin = A.integrated_gradients(linear, x_lin, 0, steps=n, return_delta=True)
    captum_like = a_lin * (n - 1) / n  # what weights 1/n with halved ends would give
    print(f"n = {n:3d}: delta ours {d_lin[0]:+.1e}   delta with Captum's weights "
          f"{A.completeness_delta(linear, captum_like, x_lin, 0)[0]:+.4f}")

# %% [markdown]
# ## 5. The axioms
#
# Sundararajan et al. ask an attribution method to satisfy:
#
# * **Completeness**: $\sum_i \mathrm{IG}_i = F(x) - F(x')$ (above).
# * **Sensitivity (a)**: if $x$ and $x'$ differ in one feature only and $F(x) \ne F(x')$, that feature
#   gets a non-zero attribution. Gradients violate it (the saturating example, section 1).
# * **Sensitivity (b)** (dummy): a feature the function does not depend on gets zero.
# * **Symmetry preservation**: if swapping $x_1$ and $x_2$ leaves $F$ unchanged, and $x_1 = x_2$,
#   $x'_1 = x'_2$, they get equal attributions.
# * **Linearity**: IG of $aF_1 + bF_2$ is $a\,\mathrm{IG}(F_1) + b\,\mathrm{IG}(F_2)$.
# * **Implementation invariance**: networks computing the same function get the same attributions.
#
# Case 2 of `docs/methods.md` (Small cases with known answers) checks three of them at once: $y = 1 - \mathrm{ReLU}(1 - x_1 - x_2)$ at
# $(1, 1)$ is saturated (gradient × input $(0, 0)$), symmetric in $x_1, x_2$, and rises by 1.
# We add a dummy third input.

# %%
sym = nn.Lambda(lambda x: 1 - F.relu(1 - col(x, 0) - col(x, 1)) + 0 * col(x, 2))
x_sym = np.array([[1.0, 1.0, 5.0]])
ig_sym, d_sym = A.integrated_gradients(sym, x_sym, 0, steps=100, method="riemann_middle", return_delta=True)
print("IG               :", ig_sym[0], " delta", d_sym[0])
print("gradient × input :", A.gradient_x_input(sym, x_sym, 0)[0])

# linearity: IG of 2·F₁ − 3·F₂ for two logits of one network
two = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).double()
combo = nn.Sequential(two, nn.Linear(2, 1, bias=False)).double()
combo[1].weight.data[...] = [[2.0, -3.0]]
x4 = rng.normal(size=(1, 4))
ig_combo = A.integrated_gradients(combo, x4, 0, steps=32)
ig_parts = 2 * A.integrated_gradients(two, x4, 0, steps=32) - 3 * A.integrated_gradients(two, x4, 1, steps=32)
print("linearity: max |IG(2F₁ − 3F₂) − (2 IG(F₁) − 3 IG(F₂))| =", np.abs(ig_combo - ig_parts).max())

# %% [markdown]
# ## 6. Implementation invariance: IG agrees, DeepLIFT does not
#
# Case 4 of `docs/methods.md` (Small cases with known answers): two networks that compute the **same function**,
#
# $$f(x) = \mathrm{ReLU}\big(\mathrm{ReLU}(x_1) - 1 - \mathrm{ReLU}(x_2)\big), \qquad
#   g(x) = \mathrm{ReLU}\big(\mathrm{ReLU}(x_1 - 1) - \mathrm{ReLU}(x_2)\big),$$
#
# explained at $x = (3, 1)$ with baseline 0. IG depends only on the gradient of the function, so it
# must agree. Along the path $(3\alpha, \alpha)$ both equal $\mathrm{ReLU}(2\alpha - 1)$, whose
# gradient is $(1, -1)$ for $\alpha > \tfrac12$ and 0 before; so
# $\mathrm{IG} = (3 \cdot \tfrac12, -1 \cdot \tfrac12) = (1.5, -0.5)$. With an even number of
# midpoint nodes exactly half lie above $\tfrac12$, so the quadrature is exact here.
# DeepLIFT's rules see the *inside* of the network: in $g$ the bias $-1$ sits inside the first
# ReLU, so the Rescale multiplier there is $\frac{\mathrm{ReLU}(2) - \mathrm{ReLU}(-1)}{3} = \tfrac23$
# instead of 1, and the credit is split differently.

# %%
f_net = nn.Lambda(lambda x: F.relu(F.relu(col(x, 0)) - 1 - F.relu(col(x, 1))))
g_net = nn.Lambda(lambda x: F.relu(F.relu(col(x, 0) - 1) - F.relu(col(x, 1))))
grid = rng.uniform(-4, 4, size=(1000, 2))
print("f and g agree on 1000 random points:", np.allclose(f_net(grid).data, g_net(grid).data))

x_ii = np.array([[3.0, 1.0]])
expected = {"f": {"IG": (1.5, -0.5), "DeepLIFT": (1.5, -0.5), "gradient × input": (3, -1)},
            "g": {"IG": (1.5, -0.5), "DeepLIFT": (2, -1), "gradient × input": (3, -1)}}
for name, net in (("f", f_net), ("g", g_net)):
    results = {"IG": A.integrated_gradients(net, x_ii, 0, steps=100, method="riemann_middle")[0],
               "DeepLIFT": A.deeplift(net, x_ii, 0)[0],
               "gradient × input": A.gradient_x_input(net, x_ii, 0)[0]}
    for method, value in results.items():
        assert np.allclose(value, expected[name][method]), (name, method, value)
    print(f"{name}: " + "   ".join(f"{m} {v}" for m, v in results.items()))

# %% [markdown]
# Both IG and DeepLIFT are complete here — each sums to $f(x) - f(0) = 1$ — so completeness alone
# does not pin the attribution down. DeepLIFT is exact with one backward pass but depends on how
# the function is written; IG is implementation invariant but needs tens of passes and a check
# that the quadrature converged.
#
# ## 7. IG on the digits
#
# Finally the maps, next to DeepLIFT-Rescale with the same black baseline. For a ReLU network the
# two often look alike (notebook 08 measures how alike).

# %%
batch, batch_labels = digits.x_test[:6], digits.y_test[:6]
ig_maps, ig_delta = A.integrated_gradients(model, batch, batch_labels, steps=64, return_delta=True)
dl_maps = A.deeplift(model, batch, batch_labels)
print("IG completeness delta per image:", ig_delta)
fig, axes = plt.subplots(3, 6, figsize=(9.6, 5))
for j in range(6):
    axes[0, j].imshow(batch[j, 0], cmap="gray")
    for i, maps in enumerate((ig_maps, dl_maps), 1):
        lim = np.abs(maps[j, 0]).max()
        axes[i, j].imshow(maps[j, 0], cmap="bwr", vmin=-lim, vmax=lim)
for i, title in enumerate(("input", "IG (64 steps)", "DeepLIFT Rescale")):
    axes[i, 0].set_ylabel(title, fontsize=8)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# * $\mathrm{IG}_i = \Delta x_i \int_0^1 \partial_i F(x' + \alpha\Delta x)\,d\alpha$: the gradient
#   averaged along the straight path, times the displacement.
# * **Completeness** follows from the fundamental theorem of calculus; the completeness delta
#   measures the quadrature error — report it and add steps until it is small.
# * Quadrature weights must sum to 1; on ReLU networks the integrand jumps and every rule converges
#   at about $1/n$, on smooth networks Gauss–Legendre wins by orders of magnitude.
# * IG satisfies sensitivity, symmetry, linearity and **implementation invariance**; DeepLIFT does
#   not satisfy the last, but costs one backward pass instead of $n$.
