# %% [markdown]
# # 04 · Gradients as explanations — and their limits
#
# A trained network says "this is a 3". *Why?* The simplest answer uses the tool we already
# have: the gradient of the class score with respect to the input pixels tells us which pixels
# would change the score most if we nudged them. In this notebook you compute two gradient-based
# attribution maps yourself — **saliency** (**exercise 4.1**) and **gradient × input**
# (**exercise 4.2**) — on the bundled digits LeNet, and then meet two tiny functions on which
# gradients give misleading answers. Those failures are exactly what DeepLIFT (05) and
# Integrated Gradients (06) were designed to fix.
#
# Notation (as in `docs/methods.md`): $x$ the input, $t$ the **target logit** (the score of the
# class we explain, *before* softmax), $x'$ a reference input ("baseline"), $\Delta x = x - x'$.

# %%
%matplotlib inline

import matplotlib.pyplot as plt
import numpy as np

import attributions as A
import minicnn as mc
import minicnn.functional as F
from attributions import exercises
from minicnn import nn
from minicnn.models import load_pretrained
from minicnn.train import evaluate, predict

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The model to explain
#
# `load_pretrained("digits")` returns the bundled LeNet (trained as in notebook 03, for 40
# epochs) in eval mode, in float64, together with the dataset it was trained on.

# %%
model, data = load_pretrained("digits")
print(f"test accuracy: {evaluate(model, data.x_test, data.y_test):.1%}")
examples = np.array([np.flatnonzero(data.y_test == digit)[0] for digit in range(0, 10, 2)])
x = data.x_test[examples]                       # five test digits: 0, 2, 4, 6, 8
predicted = predict(model, x).argmax(axis=1)
print("true:", data.y_test[examples], " predicted:", predicted)

# %% [markdown]
# ## 2. Saliency: how sensitive is the score to each pixel?
#
# Simonyan, Vedaldi & Zisserman (2014) rank pixels by the magnitude of the gradient of the class
# score,
#
# $$
# M_i(x) = \left| \frac{\partial t}{\partial x_i}(x) \right| .
# $$
#
# It is the first-order answer to "which pixels, changed a little, would change the score most?":
# $t(x + \delta) \approx t(x) + \nabla t(x)^\top \delta$.
#
# We differentiate the **logit**, not the softmax probability: a confident prediction has
# $p_t \approx 1$, where the softmax is flat and its gradient vanishes for *every* pixel.
#
# To get $\partial t_n / \partial x_n$ for a whole batch in *one* backward pass, seed the backward
# with a one-hot matrix $s$ ($s_{n,k} = [k = t_n]$): the backward pass computes
# $\sum_n s_n^\top \partial z_n/\partial x$, and since row $n$ of the output depends only on row $n$
# of the input, row $n$ of the result is exactly $\partial z_{n,t_n}/\partial x_n$.
#
# ### Exercise 4.1 — saliency with `mc.grad`
#
# Implement `my_saliency(model, x, target)`: `x` a batch (ndarray), `target` an int or one int per
# row. Wrap `x` in a `mc.Tensor(..., requires_grad=True)`, run the model, build the one-hot seed,
# call `mc.grad(outputs, [inputs], grad_outputs=seed)`, return the absolute value. Run the model in
# eval mode (`model.eval()`; our models here have no dropout or batch-norm, but it is a good habit).

# %%
# Exercise 4.1: saliency
def my_saliency(model, x, target):
    """|∂t_n/∂x_n| for each row n, where t_n = model(x)[n, target_n]."""
    ### BEGIN SOLUTION
    model.eval()
    xt = mc.Tensor(x, requires_grad=True)
    logits = model(xt)
    targets = np.broadcast_to(np.asarray(target), (len(x),))
    seed = np.zeros(logits.shape)
    seed[np.arange(len(x)), targets] = 1.0
    (gradient,) = mc.grad(logits, [xt], grad_outputs=seed)
    return np.abs(gradient)
    ### END SOLUTION


print(my_saliency(model, x[:1], int(predicted[0])).shape)

# %%
exercises.check_saliency(my_saliency)

# %% [markdown]
# The `attributions` package has the same method; both agree to rounding:

# %%
sal = my_saliency(model, x, predicted)
print("max |mine − A.saliency| =", np.abs(sal - A.saliency(model, x, predicted)).max())

# %% [markdown]
# ## 3. Gradient × input
#
# Saliency says how *sensitive* the score is to a pixel, not how much the pixel *contributed*: a
# black pixel ($x_i = 0$) can have a large gradient without adding anything. Multiplying by the
# input gives the first-order Taylor term of $t$ around $0$,
#
# $$
# a_i = x_i \,\frac{\partial t}{\partial x_i}(x),
# $$
#
# which is signed (red: pushes the score up, blue: pushes it down). For a linear model
# $t = w^\top x + b$ it is exactly each input's share $w_i x_i$ of $t(x) - t(0)$.
#
# ### Exercise 4.2 — gradient × input
#
# Implement `my_gradient_x_input(model, x, target)`. You may reuse your saliency code — but note
# that you need the *signed* gradient here.

# %%
# Exercise 4.2: gradient × input
def my_gradient_x_input(model, x, target):
    """x_i · ∂t/∂x_i for each row, where t = model(x)[n, target_n]."""
    ### BEGIN SOLUTION
    model.eval()
    xt = mc.Tensor(x, requires_grad=True)
    logits = model(xt)
    targets = np.broadcast_to(np.asarray(target), (len(x),))
    seed = np.zeros(logits.shape)
    seed[np.arange(len(x)), targets] = 1.0
    (gradient,) = mc.grad(logits, [xt], grad_outputs=seed)
    return x * gradient
    ### END SOLUTION


print(my_gradient_x_input(model, x[:1], int(predicted[0])).sum())

# %%
exercises.check_gradient_x_input(my_gradient_x_input)

# %%
gxi = my_gradient_x_input(model, x, predicted)
print("max |mine − A.gradient_x_input| =", np.abs(gxi - A.gradient_x_input(model, x, predicted)).max())

fig, axes = plt.subplots(3, len(x), figsize=(2.1 * len(x), 6.3))
for k in range(len(x)):
    axes[0, k].imshow(x[k, 0], cmap="gray_r")
    axes[0, k].set_title(f"input, predicted {predicted[k]}", fontsize=9)
    axes[1, k].imshow(sal[k, 0], cmap="viridis")
    axes[1, k].set_title("saliency |∂t/∂x|", fontsize=9)
    limit = np.abs(gxi[k, 0]).max()
    axes[2, k].imshow(gxi[k, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[2, k].set_title("gradient × input", fontsize=9)
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Saliency lights up around the strokes — including background pixels where *adding* ink would
# change the score — while gradient × input is confined to the ink itself (it is zero wherever
# $x_i = 0$).
#
# **Do the attributions add up?** A natural wish ("completeness") is that the attributions sum to
# the change of the score between the reference and the input, $\sum_i a_i = t(x) - t(x')$, here
# with the black image $x' = 0$. For gradient × input that is guaranteed only for a *linear* $t$.
# Our network is piecewise linear, and between $0$ and $x$ many ReLUs switch on or off, so the
# sums come close but do not match — and nothing bounds the gap (section 4 makes it 100 %):

# %%
logits_x = predict(model, x)[np.arange(len(x)), predicted]
logits_0 = predict(model, np.zeros_like(x))[np.arange(len(x)), predicted]
for k in range(len(x)):
    print(f"digit {data.y_test[examples[k]]}:  Σ gradient×input = {gxi[k].sum():8.3f}   "
          f"t(x) − t(0) = {logits_x[k] - logits_0[k]:8.3f}")

# %% [markdown]
# ## 4. Limit 1 — saturation: the gradient can be zero where the input mattered
#
# Take the one-unit network from DeepLIFT's paper (Shrikumar et al. 2017, Fig. 1):
#
# $$
# f(x) = 1 - \mathrm{ReLU}(1 - x) = \min(x, 1).
# $$
#
# Going from the reference $x' = 0$ to $x = 2$, the output rises from $f(0) = 0$ to $f(2) = 1$:
# the input is clearly responsible for the whole change. But for $x > 1$ the ReLU is off, $f$ is
# flat, and
#
# $$
# f'(2) = 0 \quad\Longrightarrow\quad \text{saliency} = 0, \qquad \text{gradient} \times \text{input} = 2 \cdot 0 = 0 .
# $$
#
# The gradient only sees the *local* slope; the function saturated on the way.

# %%
def saturating(x):
    return 1 - F.relu(1 - x)


xs = mc.Tensor(np.linspace(-1, 3, 401), requires_grad=True)
ys = saturating(xs)
(dys,) = mc.grad(ys, [xs], grad_outputs=np.ones(ys.shape))

x2 = mc.Tensor(2.0, requires_grad=True)
(g2,) = mc.grad(saturating(x2), [x2])
print(f"f(2) − f(0) = {saturating(mc.Tensor(2.0)).item() - saturating(mc.Tensor(0.0)).item():.1f}, "
      f"but f'(2) = {g2:.1f}, so gradient × input = {2 * g2:.1f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
axes[0].plot(xs.data, ys.data, lw=2)
axes[0].annotate("", xy=(2, 1), xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="tab:red"))
axes[0].plot([0, 2], [0, 1], "o", color="tab:red")
axes[0].set_title("f(x) = 1 − ReLU(1 − x):  f(2) − f(0) = 1")
axes[1].plot(xs.data, dys, lw=2, color="tab:orange")
axes[1].plot([2], [0], "o", color="tab:red")
axes[1].set_title("f′(x): zero at x = 2")
for ax in axes:
    ax.set_xlabel("x")
    ax.axvline(1, color="0.7", ls=":")
plt.tight_layout()
plt.show()

# %% [markdown]
# With two inputs the failure is the same: $y = 1 - \mathrm{ReLU}(1 - x_1 - x_2)$ at $(1, 1)$
# outputs $1$ (it was $0$ at the reference $(0, 0)$), yet gradient × input gives $(0, 0)$ — the
# whole change is attributed to nobody. By symmetry the fair answer is $(0.5, 0.5)$.
# Integrated Gradients and DeepLIFT (next notebooks) both give exactly that. We build the
# function as a little `nn.Sequential` so the `attributions` methods can run on it:

# %%
two_inputs = nn.Sequential(nn.Linear(2, 1), nn.ReLU(), nn.Linear(1, 1))
with mc.no_grad():
    two_inputs[0].weight.data[...] = -1.0     # 1 − x₁ − x₂
    two_inputs[0].bias.data[...] = 1.0
    two_inputs[2].weight.data[...] = -1.0     # 1 − ReLU(·)
    two_inputs[2].bias.data[...] = 1.0

point = np.array([[1.0, 1.0]])
print("y(1, 1) =", two_inputs(point).data.item(), "   y(0, 0) =", two_inputs(np.zeros((1, 2))).data.item())
for name, method in [
    ("saliency", A.saliency),
    ("gradient × input", A.gradient_x_input),
    ("integrated gradients", lambda m, v, t: A.integrated_gradients(m, v, t, steps=64)),
    ("DeepLIFT (rescale)", A.deeplift),
]:
    a = method(two_inputs, point, 0)
    print(f"  {name:22s} {a[0]}   sum = {a.sum():.3f}")

# %% [markdown]
# ## 5. Limit 2 — thresholds: the gradient can jump
#
# The second example from the DeepLIFT paper: $y = \mathrm{ReLU}(x - 10)$, reference $x' = 0$.
#
# $$
# \frac{\partial y}{\partial x} = \begin{cases} 0 & x < 10 \\ 1 & x > 10 \end{cases}
# \qquad\Longrightarrow\qquad
# x \,\frac{\partial y}{\partial x} = \begin{cases} 0 & x < 10 \\ x & x > 10 . \end{cases}
# $$
#
# Just above the threshold, at $x = 10 + \varepsilon$, the output has barely moved
# ($y = \varepsilon$), but gradient × input jumps to $\approx 10$: an arbitrarily small change of
# the input changes the attribution by 10, and the attribution is 10 / ε times larger than the
# change it is supposed to explain. A method that compares with the reference instead assigns
# $y(x) - y(x') = \varepsilon$, continuously (DeepLIFT: multiplier $\Delta y/\Delta x$).

# %%
threshold = np.linspace(8, 12, 801)
xt = mc.Tensor(threshold, requires_grad=True)
yt = F.relu(xt - 10)
(dy,) = mc.grad(yt, [xt], grad_outputs=np.ones(yt.shape))

fig, ax = plt.subplots(figsize=(6.5, 3.5))
ax.plot(threshold, yt.data, lw=2, label="y(x) − y(0)   (the change to explain)")
ax.plot(threshold, threshold * dy, lw=2, ls="--", label="gradient × input")
ax.set_xlabel("x")
ax.set_title("y = ReLU(x − 10): gradient × input jumps from 0 to 10")
ax.legend()
plt.show()

for value in [9.999, 10.001]:
    v = mc.Tensor(value, requires_grad=True)
    (g,) = mc.grad(F.relu(v - 10), [v])
    print(f"x = {value}:  y(x) − y(0) = {max(value - 10, 0):.3f},  gradient × input = {value * g:.3f}")

# %% [markdown]
# ## 6. What the next notebooks do about it
#
# Both failures come from using the gradient at **one point**. Two ways out compare the input
# with a reference $x'$ instead:
#
# * **Integrated Gradients** (06) averages the gradient along the straight path from $x'$ to $x$,
#   $\mathrm{IG}_i = \Delta x_i \int_0^1 \partial_i f\bigl(x' + \alpha\,\Delta x\bigr)\,d\alpha$.
#   On the saturating unit the path passes through the sloped part ($0 < x < 1$), so the integral
#   is $2 \cdot \tfrac12 = 1$ — and the attributions add up to $f(x) - f(x')$ (*completeness*).
# * **DeepLIFT** (05) replaces each nonlinearity's derivative by a finite-difference slope
#   $\Delta y / \Delta z$ between input and reference (here $(1 - 0)/(2 - 0) = \tfrac12$), in a
#   single backward pass, with the same summation-to-delta property.
#
# A ten-line Riemann sum with `mc.grad` already reproduces IG's answer on the saturating unit:

# %%
alphas = (np.arange(50) + 0.5) / 50                   # midpoints of 50 equal steps
path = mc.Tensor(0.0 + alphas * (2.0 - 0.0), requires_grad=True)
values = saturating(path)
(path_gradients,) = mc.grad(values, [path], grad_outputs=np.ones(values.shape))
ig = (2.0 - 0.0) * path_gradients.mean()
print(f"IG for f at x = 2 (reference 0): {ig:.4f}   vs gradient × input: {2 * g2:.1f}   vs f(2) − f(0) = 1")

# %% [markdown]
# ## Summary
#
# * Saliency $|\partial t/\partial x|$ and gradient × input $x \odot \partial t/\partial x$ cost one
#   backward pass; batch them with a one-hot seed through `mc.grad`.
# * Explain a **logit**, not a probability (softmax saturates).
# * Gradients are *local*: they vanish where a unit saturates (attribution 0 for an input that
#   mattered) and jump at thresholds (attribution discontinuous in the input); gradient × input
#   does not add up to the change of the output.
# * Reference-based methods — DeepLIFT and Integrated Gradients — fix both; on to **05**.
