# %% [markdown]
# # 10 · LRP and its relatives: relevance, rules and noise
#
# Gradients say how the target logit $t$ would *change*; **layer-wise relevance propagation**
# (LRP; Bach et al., PLoS ONE 2015) says how $t$ is *made up*. It starts with all of $t$ at the
# output, $R^{(L)} = t$, and hands it back layer by layer: each unit $k$ gives its relevance $R_k$
# to the inputs $j$ in proportion to their contributions $z_{jk} = a_j w_{jk}$ to $z_k = \sum_j z_{jk} + b_k$.
# Where nothing is lost on the way, relevance is **conserved**: $\sum_j R_j = \sum_k R_k = t$.
#
# In this notebook you will
#
# 1. write the ε rule of a dense layer (Exercise 10.1) and plug it into the engine's backward pass
#    as a rule, exactly as DeepLIFT's rules are plugged in;
# 2. see **Ancona's identity**: with ε = 0 on a ReLU network LRP *is* gradient × input;
# 3. write the z⁺ rule (Exercise 10.2) and meet γ, αβ and the input rules;
# 4. compare **composites** (a rule per kind of layer) on the bundled shapes VGG;
# 5. smooth any method with noise: SmoothGrad and VarGrad.

# %%
%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import attributions as A
import minicnn as mc
from attributions import exercises
from minicnn import nn, ops
from minicnn.models import load_pretrained

np.set_printoptions(precision=4, suppress=True)


def no_ticks(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])

# %% [markdown]
# ## 1. The ε rule
#
# For a dense layer $z_k = \sum_j a_j w_{jk} + b_k$ the **ε rule** (LRP-ε) is
#
# $$R_j = \sum_k \frac{a_j w_{jk}}{z_k + \varepsilon\,\mathrm{sign}(z_k)}\, R_k .$$
#
# The stabiliser $\varepsilon\,\mathrm{sign}(z_k)$ moves each denominator *away* from zero on its
# own side (with $\mathrm{sign}(0) = +1$, the convention of zennit and Captum), so small $z_k$ do
# not blow relevance up; it also absorbs a little relevance, as does the bias. With ε = 0
# (LRP-0) we take 0/0 as 0. In PyTorch's layout the weight is $W$ of shape (out, in), $w_{jk} = W_{kj}$:
# compute $s_k = R_k / (z_k + \varepsilon\,\mathrm{sign}\,z_k)$, then $c = s W$, then $R = a \odot c$.

# %%
# Exercise 10.1: the ε rule of a dense layer
def lrp_epsilon(a, weight, bias, relevance, eps):
    """R_j = a_j Σ_k W_kj R_k / (z_k + ε·sign z_k) with z = a Wᵀ + b; a (N, in), relevance (N, out)."""
    ### BEGIN SOLUTION
    z = a @ weight.T + bias
    denominator = z + eps * np.where(z >= 0, 1.0, -1.0)
    s = np.divide(relevance, denominator, out=np.zeros_like(relevance, dtype=float), where=denominator != 0)
    return a * (s @ weight)
    ### END SOLUTION


print(lrp_epsilon(np.array([[1.0, 1.0]]), np.array([[1.0, -3.0]]), np.zeros(1), np.array([[-2.0]]), 0.5))

# %%
exercises.check_lrp_epsilon(lrp_epsilon)

# %% [markdown]
# ### The rule as a backward rule
#
# LRP is one backward pass in which each op's derivative is replaced by a rule — the same hook
# DeepLIFT uses, `minicnn.grad(outputs, inputs, grad_outputs, rules={FunctionType: rule})`. What
# flows backwards is relevance: the seed is $t$ at the target logit; a ReLU passes relevance on
# unchanged (it is not a layer of LRP); a dense layer applies your rule. A rule gets the node,
# which knows its inputs (`node.inputs`: activations, weight, bias) and its output.

# %%
def my_dense_rule(node, relevance):
    a, weight = node.inputs[0].data, node.inputs[1].data
    bias = node.inputs[2].data if len(node.inputs) > 2 else np.zeros(weight.shape[0])
    return lrp_epsilon(a, weight, bias, relevance, eps=0.01), None, None


def relu_passes(node, relevance):
    return (relevance,)


mlp = nn.Sequential(nn.Linear(6, 10, rng=np.random.default_rng(0)), nn.ReLU(),
                    nn.Linear(10, 4, rng=np.random.default_rng(1))).double()
x_mlp = np.random.default_rng(2).normal(size=(3, 6))
inp = mc.Tensor(x_mlp, requires_grad=True)
out = mlp(inp)
seed = np.zeros(out.shape)
seed[np.arange(3), 1] = out.data[:, 1]                      # R = t at the target logit
(mine,) = mc.grad(out, [inp], grad_outputs=seed, rules={ops.Linear: my_dense_rule, ops.Relu: relu_passes})
library = A.lrp(mlp, x_mlp, 1, rule="epsilon", epsilon=0.01)
print("my rule table vs A.lrp: max |difference| =", np.abs(mine - library).max())
print("Σ R_j per row:", mine.sum(axis=1), "\nt per row:    ", out.data[:, 1])

# %% [markdown]
# ## 2. Ancona's identity: LRP-0 is gradient × input
#
# Ancona et al. (ICLR 2018) showed that on a ReLU network LRP-0 equals gradient × input. The
# reason is one line: if $R_k = z_k\, \partial t/\partial z_k$, then
# $R_j = \sum_k a_j w_{jk}\, \partial t / \partial z_k = a_j\, \partial t/\partial a_j$, and a ReLU keeps the
# form because $a = z$ where it is active and $a = 0$ where it is not. Check it on the shapes network
# (ReLU, max-pooling, biases):

# %%
model, shapes = load_pretrained("shapes")
images, labels = shapes.x_test[:6], shapes.y_test[:6]
lrp0 = A.lrp(model, images, labels, rule="epsilon", epsilon=0.0)
gxi = A.gradient_x_input(model, images, labels)
print("max |LRP-0 − gradient × input| =", np.abs(lrp0 - gxi).max(), " (largest value", np.abs(gxi).max(), ")")

# %% [markdown]
# So LRP-0 inherits gradient × input's noise. The other rules are what make LRP different.
#
# ## 3. Rules that favour positive evidence
#
# After a ReLU all $a_j \ge 0$. The **z⁺ rule** (Montavon et al. 2017) only lets positive
# contributions take relevance:
#
# $$R_j = \sum_k \frac{a_j w_{jk}^+}{\sum_{j'} a_{j'} w_{j'k}^+}\, R_k, \qquad w^+ = \max(w, 0),$$
#
# bias ignored, and an output with no positive contribution passes nothing (0/0 = 0).

# %%
# Exercise 10.2: the z⁺ rule of a dense layer (inputs a ≥ 0)
def lrp_zplus(a, weight, relevance):
    """R_j = Σ_k a_j W⁺_kj R_k / Σ_j a_j W⁺_kj; a (N, in) ≥ 0, weight (out, in), relevance (N, out)."""
    ### BEGIN SOLUTION
    w_pos = np.maximum(weight, 0)
    z = a @ w_pos.T
    s = np.divide(relevance, z, out=np.zeros_like(relevance, dtype=float), where=z != 0)
    return a * (s @ w_pos)
    ### END SOLUTION


print(lrp_zplus(np.array([[1.0, 1.0]]), np.array([[2.0, -1.0]]), np.array([[3.0]])))

# %%
exercises.check_lrp_zplus(lrp_zplus)

# %% [markdown]
# The family (Montavon et al. 2019, "Layer-wise relevance propagation: an overview"):
#
# | rule | share of $R_k$ given to $j$ | where |
# |---|---|---|
# | ε | $a_j w_{jk} / (z_k + \varepsilon\,\mathrm{sign}\,z_k)$ | dense layers near the output |
# | γ | $a_j (w_{jk} + \gamma w_{jk}^+) / \sum_{j'} a_{j'}(w_{j'k} + \gamma w^+_{j'k})$ | lower convolutions |
# | αβ | $\alpha\,(a_j w_{jk})^+/\sum(\cdot)^+ - \beta\,(a_j w_{jk})^-/\sum(\cdot)^-$, $\alpha - \beta = 1$ | convolutions |
# | z⁺ | αβ with α = 1, β = 0, no bias | convolutions |
# | $z^{\mathcal B}$ | $(a_j w_{jk} - l_j w^+_{jk} - h_j w^-_{jk}) / \sum_{j'}(\cdot)$ | the pixel layer, $l \le a \le h$ |
# | flat | $1 / \#\{j' \text{ in the receptive field}\}$ | the pixel layer |
#
# γ → ∞ turns the γ rule into z⁺. A batch norm after a convolution is first folded into it
# (a *canonizer*), because sign-based rules see $(\mathrm{scale}\cdot W)^+$, not $\mathrm{scale}\cdot W^+$.

# %%
rules = {"LRP-0": dict(epsilon=0.0), "ε = 0.1": dict(epsilon=0.1), "γ = 0.25": dict(rule="gamma"),
         "α2β1": dict(rule="alpha_beta", alpha=2.0, beta=1.0), "z⁺": dict(rule="zplus")}
for name, kwargs in rules.items():
    _, delta = A.lrp(model, images, labels, return_delta=True, **kwargs)
    logits = model(images).data[np.arange(6), labels]
    print(f"{name:9s} Σ R − t relative to t: {np.round(delta / logits, 3)}")

# %% [markdown]
# ## 4. Composites on a VGG
#
# In practice one uses a **composite**: a rule per kind of layer (zennit's names). Here the first
# layer sees pixels in [0, 1], so $z^{\mathcal B}$ gets `low=0, high=1`.
#
# | composite | first layer | other convolutions | dense |
# |---|---|---|---|
# | `epsilon_plus_flat` | flat | z⁺ (α1β0) | ε |
# | `epsilon_gamma_box` | $z^{\mathcal B}$ | γ | ε |
# | `epsilon_alpha2_beta1` | — | α2β1 | ε |

# %%
start = time.perf_counter()
maps = {
    "gradient × input": gxi,
    "LRP-ε (0.1)": A.lrp(model, images, labels, epsilon=0.1),
    "ε-z⁺-flat": A.lrp(model, images, labels, composite="epsilon_plus_flat"),
    "ε-γ-box": A.lrp(model, images, labels, composite="epsilon_gamma_box", low=0.0, high=1.0),
    "ε-α2β1": A.lrp(model, images, labels, composite="epsilon_alpha2_beta1"),
}
print(f"{len(maps) - 1} LRP variants on {len(images)} images: {time.perf_counter() - start:.2f} s")
fig, axes = plt.subplots(4, len(maps) + 1, figsize=(2 * (len(maps) + 1), 8))
for row in range(4):
    axes[row, 0].imshow(images[row, 0], cmap="gray")
    axes[row, 0].set_title(shapes.classes[labels[row]] if row == 0 else "")
    for col, (name, m) in enumerate(maps.items(), 1):
        r = m[row, 0]
        bound = np.abs(r).max() + 1e-12
        axes[row, col].imshow(r, cmap="bwr", vmin=-bound, vmax=bound)
        if row == 0:
            axes[row, col].set_title(name, fontsize=9)
no_ticks(axes)
plt.tight_layout()
plt.show()

# %% [markdown]
# Gradient × input (= LRP-0) is speckled with both signs; the composites give mostly positive
# relevance on the object's edges, with the flat first layer spreading it smoothly over each receptive field.
#
# ## 5. SmoothGrad and VarGrad
#
# A different relative of the gradient: average it over noisy copies of the input,
# $x + \sigma\xi_s$, $\xi_s \sim \mathcal N(0, I)$, with σ a fraction of the input's range
# (Smilkov et al. 2017). **SmoothGrad** is the mean of the maps, **VarGrad** (Adebayo et al.
# 2018) their variance. `A.noise_tunnel` wraps any method (a registered name or a function);
# the 50 noisy copies of each image go through the network as one batch.

# %%
start = time.perf_counter()
smooth = A.noise_tunnel("saliency", model, images[:4], labels[:4], samples=50, stdev=0.15, mode="smoothgrad")
var = A.noise_tunnel("saliency", model, images[:4], labels[:4], samples=50, stdev=0.15, mode="vargrad")
smooth_lrp = A.noise_tunnel(A.lrp, model, images[:4], labels[:4], samples=50, composite="epsilon_plus_flat")
print(f"3 × 50 noisy samples of 4 images: {time.perf_counter() - start:.2f} s")
plain = A.saliency(model, images[:4], labels[:4])
columns = {"saliency": plain, "SmoothGrad": smooth, "VarGrad": var, "SmoothGrad of ε-z⁺-flat": smooth_lrp}
fig, axes = plt.subplots(4, len(columns), figsize=(2.2 * len(columns), 8))
for row in range(4):
    for col, (name, m) in enumerate(columns.items()):
        axes[row, col].imshow(m[row, 0], cmap="bwr" if m.min() < 0 else "viridis",
                              **({"vmin": -np.abs(m[row]).max(), "vmax": np.abs(m[row]).max()} if m.min() < 0 else {}))
        if row == 0:
            axes[row, col].set_title(name, fontsize=9)
no_ticks(axes)
plt.tight_layout()
plt.show()
print("stdev = 0 gives the method back:",
      np.abs(A.noise_tunnel("saliency", model, images[:2], labels[:2], samples=3, stdev=0.0) - plain[:2]).max())

# %% [markdown]
# ## Summary
#
# * LRP redistributes the logit backwards with a rule per layer; relevance is conserved up to what
#   biases and ε absorb (`return_delta=True` reports it).
# * The rules are backward rules in the engine's hook — ε, γ, αβ, z⁺ differ only in how a layer
#   shares its relevance.
# * LRP-0 on ReLU networks is gradient × input (Ancona et al. 2018); composites are what make LRP
#   readable. SmoothGrad and VarGrad smooth any method by averaging over noise.
#
# References: Bach et al., PLoS ONE 2015; Montavon et al., "Layer-wise relevance propagation: an
# overview", 2019; Ancona et al., ICLR 2018; Smilkov et al., 2017; Adebayo et al., 2018.
