# %% [markdown]
# # 05 · DeepLIFT: explaining a difference from a reference
#
# Notebook 04 showed where gradients fail: a saturated unit has gradient 0 although its input
# clearly mattered, and a unit sitting exactly at its threshold gets a discontinuous gradient.
# **DeepLIFT** (Shrikumar, Greenside & Kundaje, ICML 2017) replaces the question "what happens if
# I wiggle $x$ a little?" by "how did the output get from its value at a **reference** input $x'$
# to its value at $x$?".
#
# In this notebook you will
#
# 1. meet *contributions* and *multipliers*, and see that multipliers obey a chain rule;
# 2. derive the **Linear**, **Rescale** and **RevealCancel** rules, and the **max-pool** rule;
# 3. implement the Rescale multiplier (Exercise 5.1), the RevealCancel split (Exercise 5.2) and the
#    max-pool routing (Exercise 5.3);
# 4. check *summation-to-delta* numerically, reproduce the small cases with known answers from the
#    paper, and run DeepLIFT on the bundled digits network.
#
# Notation (as in `docs/methods.md`): $x$ input, $x'$ reference, $\Delta x = x - x'$, $t$ the target
# output — always a **logit**, before any softmax.

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
# ## 1. Contributions, summation-to-delta and multipliers
#
# DeepLIFT assigns each input a **contribution** $C_{\Delta x_i \Delta t}$ to the change of the
# output, such that the contributions add up exactly — **summation-to-delta**:
#
# $$\sum_i C_{\Delta x_i \Delta t} = \Delta t = t(x) - t(x').$$
#
# The **multiplier** is a contribution per unit of input change, the finite-difference analogue
# of a partial derivative:
#
# $$m_{\Delta x_i \Delta t} = \frac{C_{\Delta x_i \Delta t}}{\Delta x_i}.$$
#
# Multipliers obey a **chain rule**. If $x$ feeds hidden units $y_j$ which feed $t$,
#
# $$m_{\Delta x_i \Delta t} = \sum_j m_{\Delta x_i \Delta y_j}\; m_{\Delta y_j \Delta t},$$
#
# exactly like the chain rule for derivatives. So DeepLIFT is **one backward pass** through the
# network in which every op passes multipliers instead of derivatives — it only needs a *rule*
# for each kind of op. Then $C = m \odot \Delta x$ at the input.
#
# First the failure that motivates all this (case 2 of `docs/methods.md` (Small cases with known answers)): $f(x) = 1 - \mathrm{ReLU}(1 - x)$
# at $x = 2$, reference $x' = 0$. The function rose from $f(0) = 0$ to $f(2) = 1$, all because of
# $x$, yet the gradient at $x = 2$ is $0$.

# %%
saturating = nn.Lambda(lambda x: 1 - F.relu(1 - x))
x_sat = np.array([[2.0]])
print("f(0) =", saturating(np.zeros((1, 1))).data.item(), "  f(2) =", saturating(x_sat).data.item())
print("gradient × input :", A.gradient_x_input(saturating, x_sat, 0).item())
print("DeepLIFT (Rescale):", A.deeplift(saturating, x_sat, 0).item())

# %% [markdown]
# ## 2. The Linear rule
#
# For a linear op $y_j = \sum_i w_{ji} x_i + b_j$ (dense, convolution, average pooling, addition,
# reshape, batch norm in eval mode, …) differences pass through exactly:
# $\Delta y_j = \sum_i w_{ji}\,\Delta x_i$ — the bias cancels. So $C_{\Delta x_i \Delta y_j} = w_{ji}\Delta x_i$
# and the multiplier is the weight, $m_{\Delta x_i \Delta y_j} = w_{ji}$: **the ordinary backward
# pass of a linear op is already the DeepLIFT rule.** For a purely linear model DeepLIFT is
# therefore gradient × $\Delta x$.

# %%
rng = np.random.default_rng(0)
linear_model = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 3)).double()
x_lin, ref_lin = rng.normal(size=(2, 6)), rng.normal(size=(2, 6))
c_lin = A.deeplift(linear_model, x_lin, 1, baseline=ref_lin)
grad_lin = A.input_gradient(linear_model, x_lin, 1)
print("DeepLIFT      :", c_lin[0])
print("gradient × Δx :", (grad_lin * (x_lin - ref_lin))[0])
print("max |difference| =", np.abs(c_lin - grad_lin * (x_lin - ref_lin)).max())

# %% [markdown]
# ## 3. The Rescale rule
#
# An element-wise nonlinearity $y = g(z)$ (ReLU, sigmoid, tanh, …) has one input per output, so
# all of $\Delta y$ must come from $\Delta z$: $C_{\Delta z \Delta y} = \Delta y$, and
#
# $$m_{\Delta z \Delta y} = \frac{\Delta y}{\Delta z} = \frac{g(z) - g(z')}{z - z'}.$$
#
# This is the **slope of the secant** from $(z', g(z'))$ to $(z, g(z))$, where the gradient is the
# slope of the tangent at $z$. One catch: when $\Delta z = 0$ the formula is $0/0$, and when
# $|\Delta z|$ is tiny (say $10^{-12}$) it is mostly rounding error. As $\Delta z \to 0$ the secant
# becomes the tangent, so below a small threshold we use the derivative instead — at the midpoint
# $(z + z')/2$ in this library (the reference $z'$ works too; both differ from the limit by
# $O(\Delta z)$, and the contribution $m\,\Delta z$ by $O(\Delta z^2)$):
#
# $$m = \begin{cases} \dfrac{g(z) - g(z')}{z - z'} & |z - z'| > \varepsilon \\[2mm] g'\!\left(\tfrac{z + z'}{2}\right) & \text{otherwise.}\end{cases}$$

# %%
# Exercise 5.1: the Rescale multiplier with the gradient fallback
def rescale_multiplier(g, g_prime, z, z_ref, eps=1e-7):
    """Rescale multiplier m = (g(z) − g(z′)) / (z − z′) where |z − z′| > eps, else g′((z + z′)/2).

    g, g_prime -- the nonlinearity and its derivative (element-wise NumPy functions)
    z, z_ref   -- arrays of the same shape: the pre-activations at x and at the reference x′
    Returns an array shaped like z, finite everywhere (no NaN, no inf).
    """
    ### BEGIN SOLUTION
    dz = z - z_ref
    big = np.abs(dz) > eps
    secant = (g(z) - g(z_ref)) / np.where(big, dz, 1.0)  # the where keeps 0/0 out of the computation
    return np.where(big, secant, g_prime((z + z_ref) / 2))
    ### END SOLUTION


relu, relu_prime = exercises.NONLINEARITIES["relu"]
print(rescale_multiplier(relu, relu_prime, np.array([3.0, -2.0, 1.0, 0.5]), np.array([-1.0, 2.0, 1.0, 0.5])))

# %%
exercises.check_rescale_multiplier(rescale_multiplier)

# %% [markdown]
# Secant against tangent for the sigmoid, reference $z' = -3$: where the sigmoid saturates
# ($z \gtrsim 4$) the gradient vanishes, but the Rescale multiplier stays large, because the
# output *did* change a lot between $z'$ and $z$.

# %%
sigmoid, sigmoid_prime = exercises.NONLINEARITIES["sigmoid"]
z = np.linspace(-8, 8, 401)
z_ref = np.full_like(z, -3.0)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(z, sigmoid(z), "k")
for z_end in (-1.0, 5.0):
    axes[0].plot([-3, z_end], [sigmoid(-3.0), sigmoid(z_end)], "o--", label=f"secant to z = {z_end:g}")
axes[0].set(title="g(z) = sigmoid(z), reference z′ = −3", xlabel="z")
axes[0].legend()
axes[1].plot(z, sigmoid_prime(z), label="gradient g′(z)")
axes[1].plot(z, rescale_multiplier(sigmoid, sigmoid_prime, z, z_ref), label="Rescale m = Δy/Δz")
axes[1].axvline(-3, color="gray", lw=0.8)
axes[1].set(title="multipliers", xlabel="z")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### The threshold case and two ReLUs
#
# Case 3 of `docs/methods.md` (Small cases with known answers): $y = \mathrm{ReLU}(x - 10)$ at $x = 10 + \epsilon$ with $x' = 0$. The gradient
# jumps from 0 to 1 at $x = 10$; gradient × input gives $10 + \epsilon$, most of which did *not*
# change the output. DeepLIFT gives exactly $\Delta y = \epsilon$.
#
# Case 5: $f = 2\,\mathrm{ReLU}(x_1) + 2\,\mathrm{ReLU}(x_2 - 1.5)$ at $(1, 2)$. By hand: $x_1$ moves
# $\mathrm{ReLU}(x_1)$ from 0 to 1 (multiplier $1$, times the weight 2 → $m = 2$, $C = 2$);
# $x_2$ moves $\mathrm{ReLU}(x_2 - 1.5)$ from $\mathrm{ReLU}(-1.5) = 0$ to $0.5$ while $\Delta x_2 = 2$
# (multiplier $0.25$, times 2 → $m = 0.5$, $C = 1$).

# %%
for eps_in in (1e-3, 1e-6):
    x_thr = np.array([[10 + eps_in]])
    threshold = nn.Lambda(lambda x: F.relu(x - 10))
    print(f"ε = {eps_in:g}: DeepLIFT {A.deeplift(threshold, x_thr, 0).item():.3g}, "
          f"gradient × input {A.gradient_x_input(threshold, x_thr, 0).item():.6g}")

two_relus = nn.Lambda(lambda x: 2 * F.relu(col(x, 0)) + 2 * F.relu(col(x, 1) - 1.5))
x_two = np.array([[1.0, 2.0]])
c_two, delta_two = A.deeplift(two_relus, x_two, 0, return_delta=True)
print("contributions", c_two[0], " multipliers", A.deeplift(two_relus, x_two, 0, multiply_by_inputs=False)[0],
      " summation-to-delta error", delta_two[0])
assert np.allclose(c_two[0], [2.0, 1.0]) and abs(delta_two[0]) < 1e-12

# %% [markdown]
# ## 4. The chain rule at work, by hand
#
# For a one-hidden-layer network $t = v^\top \mathrm{ReLU}(Wx + b)$ the chain rule reads
#
# $$m_{\Delta x_i \Delta t} = \sum_j \underbrace{w_{ji}}_{\text{Linear}}\;
#   \underbrace{\frac{\Delta h_j}{\Delta z_j}}_{\text{Rescale}}\; \underbrace{v_j}_{\text{Linear}}.$$
#
# Let us compute it with NumPy and your `rescale_multiplier`, and compare with the library, which
# does the same through the engine's graph (the rule table in `attributions/deeplift_rules/rules.py`).

# %%
mlp = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1)).double()
W, b = mlp[0].weight.data, mlp[0].bias.data
v = mlp[2].weight.data[0]
x_m, ref_m = rng.normal(size=5), rng.normal(size=5)
z_x, z_r = W @ x_m + b, W @ ref_m + b
m_hidden = rescale_multiplier(relu, relu_prime, z_x, z_r)  # m(Δz_j → Δh_j)
m_by_hand = W.T @ (m_hidden * v)  # Σ_j w_ji · m_j · v_j
m_library = A.deeplift(mlp, x_m[None], 0, baseline=ref_m[None], multiply_by_inputs=False)[0]
print("multipliers by hand :", m_by_hand)
print("multipliers, library:", m_library)
c_by_hand = m_by_hand * (x_m - ref_m)
t_x, t_r = (mlp(x_m[None]).data.item(), mlp(ref_m[None]).data.item())
print(f"Σ C = {c_by_hand.sum():.12f}   t(x) − t(x′) = {t_x - t_r:.12f}")

# %% [markdown]
# ## 5. Summation-to-delta, checked numerically
#
# Because every rule is exact — the Linear rule trivially, Rescale because $m\,\Delta z = \Delta y$
# by construction — the contributions add up to $\Delta t$ up to floating-point rounding, for any
# depth and any reference. `A.deeplift(..., return_delta=True)` returns the signed error
# $\sum_i C_i - \Delta t$ per row; `A.completeness_delta` computes it for any attribution.
# Gradient × input does *not* have this property once there are biases.

# %%
deep = nn.Sequential(
    nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 16), nn.Sigmoid(), nn.Linear(16, 3)
).double()
x_deep, ref_deep = rng.normal(size=(200, 10)), rng.normal(size=(200, 10))
for rule in ("rescale", "reveal_cancel"):
    _, err = A.deeplift(deep, x_deep, 2, baseline=ref_deep, rule=rule, return_delta=True)
    print(f"DeepLIFT {rule:13s}: max |Σ C − Δt| over 200 inputs = {np.abs(err).max():.2e}")
gxi = A.gradient_x_input(deep, x_deep, 2)
print(f"gradient × input       : max |Σ a − (t(x) − t(0))| = {np.abs(A.completeness_delta(deep, gxi, x_deep, 2)).max():.2e}")

# %% [markdown]
# ## 6. When Rescale is not enough: the min network and RevealCancel
#
# Case 1 of `docs/methods.md` (Small cases with known answers): $h = \mathrm{ReLU}(x_1 - x_2)$, $o = x_1 - h = \min(x_1, x_2)$, reference 0.
# At $x = (3, 1)$ the output is $1$. Rescale (and gradient × input, and IG) say $(0, 1)$: all of it
# comes from $x_2$, none from $x_1$. But $x_1$ is clearly involved — the positive and negative
# terms entering $h$ *cancel*, and Rescale, which only sees their sum $\Delta z = 2$, cannot tell.
#
# **RevealCancel** keeps positive and negative effects apart. Every difference is split as
# $\Delta z = \Delta z^+ + \Delta z^-$:
#
# * at the input, $\Delta x^+ = \max(\Delta x, 0)$ and $\Delta x^- = \min(\Delta x, 0)$;
# * through a linear op, $\Delta y^+ = \sum_i [w_i \Delta x_i > 0]\, w_i \Delta x_i$ and
#   $\Delta y^- = \sum_i [w_i \Delta x_i < 0]\, w_i \Delta x_i$ (the bias is left out);
# * through a nonlinearity $g$ with reference input $z'$, each part's effect is the average over
#   the two orders in which the parts could be added (a two-player Shapley value):
#
# $$\Delta y^+ = \tfrac12\big[g(z' + \Delta z^+) - g(z')\big] + \tfrac12\big[g(z' + \Delta z^- + \Delta z^+) - g(z' + \Delta z^-)\big]$$
# $$\Delta y^- = \tfrac12\big[g(z' + \Delta z^-) - g(z')\big] + \tfrac12\big[g(z' + \Delta z^+ + \Delta z^-) - g(z' + \Delta z^+)\big]$$
#
# with multipliers $m^+ = \Delta y^+/\Delta z^+$ and $m^- = \Delta y^-/\Delta z^-$. Note that
# $\Delta y^+ + \Delta y^- = g(z) - g(z')$: the halves telescope, so summation-to-delta survives.

# %%
# Exercise 5.2: RevealCancel's split of Δy into a positive and a negative part
def reveal_cancel_deltas(g, z_ref, dz_pos, dz_neg):
    """(Δy⁺, Δy⁻) for y = g(z), from the reference input z′ and the parts Δz⁺ ≥ 0, Δz⁻ ≤ 0 (arrays)."""
    ### BEGIN SOLUTION
    both = g(z_ref + dz_pos + dz_neg)
    dy_pos = 0.5 * (g(z_ref + dz_pos) - g(z_ref)) + 0.5 * (both - g(z_ref + dz_neg))
    dy_neg = 0.5 * (g(z_ref + dz_neg) - g(z_ref)) + 0.5 * (both - g(z_ref + dz_pos))
    return dy_pos, dy_neg
    ### END SOLUTION


# the hidden unit of the min network at x = (3, 1): z′ = 0, Δz⁺ = 3 (from x₁), Δz⁻ = −1 (from x₂)
print(reveal_cancel_deltas(relu, np.zeros(1), np.array([3.0]), np.array([-1.0])))

# %%
exercises.check_reveal_cancel_deltas(reveal_cancel_deltas)

# %% [markdown]
# Now finish the min network by hand at $x = (3, 1)$. The hidden unit gives
# $\Delta h^+ = 2.5$, $\Delta h^- = -0.5$, so $m^+ = 2.5/3 = 5/6$ and $m^- = -0.5/-1 = 1/2$.
# Backwards, $x_1$ fed the positive part (weight $+1$, $\Delta x_1 > 0$) and $x_2$ the negative part
# (weight $-1$, $\Delta x_2 > 0$):
#
# * $C(x_1) = \Delta x_1 \cdot \big(1 - m^+\big) = 3 \cdot (1 - 5/6) = 0.5$ (direct path minus the path through $h$),
# * $C(x_2) = \Delta x_2 \cdot \big(-(-1)\, m^-\big) = 1 \cdot 1/2 = 0.5$.
#
# Both inputs now share the credit for $\min(3, 1) = 1$. The table compares the library's two
# rules with the known answers of `docs/methods.md` (Small cases with known answers).

# %%
dy_pos, dy_neg = reveal_cancel_deltas(relu, np.zeros(1), np.array([3.0]), np.array([-1.0]))
m_pos, m_neg = dy_pos[0] / 3.0, dy_neg[0] / -1.0
print(f"by hand: C(x₁) = {3 * (1 - m_pos):.3f}, C(x₂) = {1 * m_neg:.3f}\n")

min_net = nn.Lambda(lambda x: col(x, 0) - F.relu(col(x, 0) - col(x, 1)))
known = {  # x: (Rescale, RevealCancel), docs/methods.md (Small cases with known answers) case 1
    (3.0, 1.0): ((0, 1), (0.5, 0.5)),
    (1.0, 3.0): ((1, 0), None),
    (2.0, 5.0): (None, (1, 1)),
    (4.0, 2.0): (None, (1, 1)),
    (2.0, -2.0): (None, (0, -2)),
}
print(f"{'x':>12} {'min':>5} | {'Rescale':>16} {'expected':>10} | {'RevealCancel':>16} {'expected':>10}")
for x_pair, (exp_rs, exp_rc) in known.items():
    xb = np.array([x_pair])
    rs = A.deeplift(min_net, xb, 0, rule="rescale")[0]
    rc = A.deeplift(min_net, xb, 0, rule="reveal_cancel")[0]
    for got, exp in ((rs, exp_rs), (rc, exp_rc)):
        assert exp is None or np.allclose(got, exp)
    fmt = lambda a: f"({a[0]:5.2f}, {a[1]:5.2f})"
    print(f"{str(x_pair):>12} {min(x_pair):5.1f} | {fmt(rs):>16} {str(exp_rs or '—'):>10} | {fmt(rc):>16} {str(exp_rc or '—'):>10}")

# %% [markdown]
# Backwards, each unit carries the *pair* $(m^+, m^-)$; a linear op combines them according to the
# sign of each $w_{ji}\Delta x_i$ (see `linear_rule_reveal_cancel` in `attributions/deeplift_rules/reveal_cancel.py`),
# and at the input $C = m^+ \Delta x^+ + m^- \Delta x^-$. The cost is one extra forward sweep for
# the parts. Both rules satisfy summation-to-delta (section 5 checked it on a deep network).
#
# ## 7. Max pooling
#
# Max pooling is neither linear nor element-wise. The DeepLIFT rule routes each window's
# difference to the two positions that produced the two maxima. With $y = \max_{\text{window}} x$,
# $y' = \max_{\text{window}} x'$ and $M = \max(y, y')$:
#
# $$C(\text{argmax of } x) \mathrel{+}= M - y', \qquad C(\text{argmax of } x') \mathrel{+}= y - M.$$
#
# The two pieces add to $y - y'$, so summation-to-delta stays exact, and the input whose
# maximum was the larger one gets the "blame". The multiplier is then $C/\Delta x$ per position
# (the gradient where $|\Delta x|$ is tiny). Implement the routing for windows stored as rows.

# %%
# Exercise 5.3: max-pool routing of a window's difference
def max_pool_contributions(x, x_ref):
    """Contributions (N, k) of each position of N pooling windows (rows of x and x_ref) to y − y′."""
    ### BEGIN SOLUTION
    rows = np.arange(len(x))
    arg, arg_ref = x.argmax(axis=1), x_ref.argmax(axis=1)
    y, y_ref = x[rows, arg], x_ref[rows, arg_ref]
    top = np.maximum(y, y_ref)
    c = np.zeros_like(x, dtype=np.float64)
    np.add.at(c, (rows, arg), top - y_ref)  # add.at: both pieces may land on the same position
    np.add.at(c, (rows, arg_ref), y - top)
    return c
    ### END SOLUTION


print(max_pool_contributions(np.ones((1, 4)), np.array([[1.0, 2, 3, 9]])))

# %%
exercises.check_max_pool_contributions(max_pool_contributions)

# %% [markdown]
# Case 6 of `docs/methods.md` (Small cases with known answers) through the library: an identity feeding `MaxPool` over 4 values,
# $x = (1, 1, 1, 1)$. With $x' = (1, 2, 3, 9)$ the whole drop $1 - 9 = -8$ goes to position 4;
# with $x' = (4, 8, 6, 7)$ the drop $-7$ goes to position 2. The gradient would credit position 1
# (the argmax of $x$) in both cases.

# %%
pool = nn.Sequential(nn.MaxPool2d((1, 4)), nn.Flatten())
x_pool = np.ones((1, 1, 1, 4))
for reference in ((1, 2, 3, 9), (4, 8, 6, 7)):
    ref_pool = np.array(reference, dtype=float).reshape(1, 1, 1, 4)
    c_pool, err_pool = A.deeplift(pool, x_pool, 0, baseline=ref_pool, return_delta=True)
    print(f"x′ = {reference}: DeepLIFT {c_pool.ravel()}, error {err_pool[0]:.1e}; "
          f"gradient × Δx {(A.input_gradient(pool, x_pool, 0) * (x_pool - ref_pool)).ravel() + 0.0}")

# %% [markdown]
# ## 8. DeepLIFT on the digits network
#
# The bundled model is a LeNet-style CNN (conv → ReLU → max-pool, twice, then three dense layers)
# trained on scikit-learn's handwritten digits, upscaled to 16×16. Every op in it has a rule:
# convolutions and dense layers (Linear), ReLU (Rescale / RevealCancel), max pooling (routing),
# flatten (structural). We explain the logit of the predicted class relative to a black image.

# %%
model, digits = load_pretrained("digits")
print(model)
images, labels = digits.x_test[:6], digits.y_test[:6]
with mc.no_grad():
    logits = model(images).data
predicted = logits.argmax(axis=1)
print("labels   ", labels, "\npredicted", predicted)

start = time.perf_counter()
c_rescale, err_rescale = A.deeplift(model, images, predicted, rule="rescale", return_delta=True)
t_rescale = time.perf_counter() - start
start = time.perf_counter()
c_reveal, err_reveal = A.deeplift(model, images, predicted, rule="reveal_cancel", return_delta=True)
t_reveal = time.perf_counter() - start
gxi_digits = A.gradient_x_input(model, images, predicted)
print(f"Rescale      : {t_rescale * 1e3:6.1f} ms for 6 images, max |Σ C − Δt| = {np.abs(err_rescale).max():.1e}")
print(f"RevealCancel : {t_reveal * 1e3:6.1f} ms for 6 images, max |Σ C − Δt| = {np.abs(err_reveal).max():.1e}")
print(f"gradient × input: max |Σ a − Δt| = {np.abs(A.completeness_delta(model, gxi_digits, images, predicted)).max():.2f}"
      f"  (Δt itself is about {np.abs(c_rescale.sum(axis=(1, 2, 3))).mean():.1f})")


# %%
def show_maps(rows, titles, images, cmap="bwr"):
    """One row per method: the signed map, colour scale symmetric around 0 per image."""
    fig, axes = plt.subplots(len(rows) + 1, len(images), figsize=(1.6 * len(images), 1.7 * (len(rows) + 1)))
    for j, image in enumerate(images):
        axes[0, j].imshow(image[0], cmap="gray")
        for i, maps in enumerate(rows, 1):
            a = maps[j].sum(axis=0) if maps[j].ndim == 3 else maps[j]
            lim = np.abs(a).max() or 1.0
            axes[i, j].imshow(a, cmap=cmap, vmin=-lim, vmax=lim)
    for i, title in enumerate(["input"] + titles):
        axes[i, 0].set_ylabel(title, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    plt.tight_layout()
    plt.show()


show_maps([gxi_digits, c_rescale, c_reveal], ["gradient × input", "DeepLIFT Rescale", "DeepLIFT RevealCancel"], images)

# %% [markdown]
# Red pixels pushed the logit up relative to the black reference, blue ones down. Because the
# reference is black, a black pixel has $\Delta x = 0$ and can never receive a contribution — a
# reminder that **the reference is part of the question**. With a blurred copy of the digit as
# reference, DeepLIFT explains what the *sharp strokes* add beyond a smudge of the same ink, and
# dark pixels can now matter too (`attributions.baselines` has more references).

# %%
blurred = A.blurred_baseline(images, sigma=2.0)
c_blur, err_blur = A.deeplift(model, images, predicted, baseline=blurred, return_delta=True)
print(f"blurred reference: max |Σ C − Δt| = {np.abs(err_blur).max():.1e}")
show_maps([blurred, c_rescale, c_blur], ["blurred reference", "Rescale, black x′", "Rescale, blurred x′"], images)

# %% [markdown]
# ### Which class? Contributions to two different logits
#
# DeepLIFT explains whichever logit we pick. Here the same image is explained for its own class and
# for the runner-up; summation-to-delta holds for both.

# %%
runner_up = np.argsort(logits, axis=1)[:, -2]
c_runner, err_runner = A.deeplift(model, images, runner_up, return_delta=True)
print("runner-up classes:", runner_up, " max |error| =", f"{np.abs(err_runner).max():.1e}")
show_maps([c_rescale, c_runner], ["predicted class", "runner-up class"], images)

# %% [markdown]
# ## Summary
#
# * DeepLIFT explains $t(x) - t(x')$ by **contributions** that add up to it exactly, computed with
#   **one backward pass of multipliers** (the chain rule holds for multipliers).
# * Linear ops: the ordinary backward. Element-wise nonlinearities: **Rescale**, the secant slope
#   $\Delta y/\Delta z$ with the derivative as fallback at $\Delta z \approx 0$; or **RevealCancel**,
#   which keeps positive and negative parts apart and so credits both inputs of $\min(x_1, x_2)$.
#   Max pooling: route each window's difference to the two argmax positions.
# * Unlike gradients, DeepLIFT sees through saturation and thresholds. Unlike IG (next notebook)
#   it is not *implementation invariant*: two networks computing the same function can get
#   different DeepLIFT scores — notebook 06 shows the example.
