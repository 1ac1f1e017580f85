# %% [markdown]
# # 03 · Training a CNN on handwritten digits
#
# Time to put the pieces together: a dataset, a network built from layers, a loss, the backward
# pass and an optimiser. We train a LeNet on scikit-learn's digits (bundled, no download) and
# look at the result with a loss curve, accuracies and a confusion matrix. Along the way you
# implement the two numerical hearts of training yourself: a **numerically stable cross-entropy**
# (**exercise 3.1**) and the **SGD-with-momentum update** (**exercise 3.2**).

# %%
%matplotlib inline

import time

import matplotlib.pyplot as plt
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import exercises, nn, optim
from minicnn.data import DataLoader, load_digits
from minicnn.models import LeNet
from minicnn.train import evaluate, predict

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. The data
#
# 1797 greyscale digits of 8×8 pixels, upsampled to 16×16 so that LeNet's two pooling stages
# have room, pixel values scaled to $[0, 1]$, split 75 % / 25 % into train and test with every
# class keeping its share. We train in float32: it halves the memory traffic and is plenty
# precise for training (gradient *checks* are where float64 matters).

# %%
data = load_digits(size=16, dtype=np.float32)
print(data)
print("train:", data.x_train.shape, " test:", data.x_test.shape, " classes:", data.classes)

fig, axes = plt.subplots(2, 10, figsize=(10, 2.3))
for digit in range(10):
    for row in range(2):
        ax = axes[row, digit]
        ax.imshow(data.x_train[data.y_train == digit][row, 0], cmap="gray_r")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, digit].set_title(str(digit))
plt.show()

# %% [markdown]
# ## 2. The model
#
# LeNet-5 (LeCun et al., 1998) with ReLUs and max-pooling:
# conv 6@5×5 (pad 2) → ReLU → pool 2 → conv 16@5×5 → ReLU → pool 2 → 120 → 84 → 10.
# On 16×16 inputs the feature maps are 6×16×16 → 6×8×8 → 16×4×4 → 16×2×2 = 64 features.
# The output is 10 **logits** $z$, one unnormalised score per class.

# %%
nn.init.manual_seed(0)                  # reproducible initialisation
model = LeNet(input_shape=(1, 16, 16), num_classes=10).to(np.float32)
print(model)
for name, p in model.named_parameters():
    print(f"  {name:24s} {str(p.shape):16s} {p.size:6d}")
print("parameters:", sum(p.size for p in model.parameters()))

# %% [markdown]
# ## 3. The loss: cross-entropy, computed stably
#
# Softmax turns logits into probabilities, $p_k = e^{z_k} / \sum_j e^{z_j}$, and the
# cross-entropy of a batch with true classes $t_n$ is the mean negative log-probability of the
# right class:
#
# $$
# \mathcal L = -\frac1N \sum_{n} \log p_{n, t_n}
#            = \frac1N \sum_n \Bigl( \log \sum_j e^{z_{nj}} \;-\; z_{n t_n} \Bigr).
# $$
#
# Computed literally, $e^{z}$ overflows to `inf` for $z \gtrsim 710$ (float64) and underflows to
# 0 for $z \lesssim -745$, giving `nan` or $\log 0 = -\infty$. The **log-sum-exp trick** subtracts
# the row maximum $m_n = \max_j z_{nj}$ first, which changes nothing mathematically,
#
# $$
# \log \sum_j e^{z_{nj}} = m_n + \log \sum_j e^{z_{nj} - m_n},
# $$
#
# but now every exponent is $\le 0$ and the largest term is exactly $e^0 = 1$, so the sum lies in
# $[1, K]$: no overflow, and the log never sees 0.
#
# ### Exercise 3.1 — stable cross-entropy
#
# Implement `my_cross_entropy(logits, targets)` in NumPy: `logits` of shape $(N, K)$, `targets`
# $N$ integer classes; return the mean loss as a float. It must stay exact for logits of
# $\pm 10^4$.

# %%
# Exercise 3.1: cross-entropy
def my_cross_entropy(logits, targets):
    """Mean over rows of −log softmax(logits)[target], via the log-sum-exp trick."""
    ### BEGIN SOLUTION
    m = logits.max(axis=1, keepdims=True)
    log_sum_exp = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    picked = logits[np.arange(len(targets)), targets]
    return float(np.mean(log_sum_exp - picked))
    ### END SOLUTION


print(my_cross_entropy(np.array([[1000.0, 0.0, -1000.0]]), np.array([1])))   # exactly 1000

# %%
exercises.check_cross_entropy(my_cross_entropy)

# %% [markdown]
# The engine's `F.cross_entropy` fuses the same computation with its gradient
# $\partial \mathcal L / \partial z_{nk} = (p_{nk} - [k = t_n]) / N$ — "predicted minus true", the
# reason softmax and cross-entropy are always paired. An untrained network is roughly uniform
# over the 10 classes, so its loss should be close to $\log 10 \approx 2.303$:

# %%
logits = model(data.x_train[:256])
targets = data.y_train[:256]
print(f"F.cross_entropy  = {F.cross_entropy(logits, targets).item():.5f}")
print(f"my_cross_entropy = {my_cross_entropy(logits.data.astype(np.float64), targets):.5f}")
print(f"log(10)          = {np.log(10):.5f}")

# %% [markdown]
# ## 4. Optimisers: SGD with momentum, and Adam
#
# Plain gradient descent $\theta \leftarrow \theta - \eta\, g$ zig-zags across narrow valleys.
# **Momentum** keeps a running velocity so that consistent gradient directions build up and
# oscillating ones cancel. In PyTorch's convention (which `minicnn.optim.SGD` follows), with
# velocity $v$ starting at 0:
#
# $$
# v \leftarrow \mu\, v + g, \qquad \theta \leftarrow \theta - \eta\, v .
# $$
#
# ### Exercise 3.2 — one SGD-with-momentum step
#
# Implement `sgd_momentum_step(theta, grad, velocity, lr, momentum)` returning the new
# `(theta, velocity)` (new arrays; do not rely on in-place updates).

# %%
# Exercise 3.2: SGD with momentum
def sgd_momentum_step(theta, grad, velocity, lr, momentum):
    """One step of SGD with momentum: v ← μ v + g, θ ← θ − η v. Returns (θ, v)."""
    ### BEGIN SOLUTION
    velocity = momentum * velocity + grad
    theta = theta - lr * velocity
    return theta, velocity
    ### END SOLUTION


print(sgd_momentum_step(np.array([1.0, 1.0]), np.array([0.5, -0.5]), np.zeros(2), lr=0.1, momentum=0.9))

# %%
exercises.check_sgd_momentum_step(sgd_momentum_step)

# %% [markdown]
# On an ill-conditioned quadratic bowl $f(\theta) = \tfrac12(\theta_1^2 + 25\,\theta_2^2)$ the
# difference is easy to see: with the same learning rate, plain gradient descent bounces between
# the steep walls and crawls along the flat direction; momentum reaches the bottom far sooner.

# %%
curvature = np.array([1.0, 25.0])
paths = {}
for label, mu in [("plain gradient descent (μ = 0)", 0.0), ("momentum μ = 0.6", 0.6)]:
    theta, velocity = np.array([-9.0, 1.5]), np.zeros(2)
    path = [theta]
    for _ in range(40):
        theta, velocity = sgd_momentum_step(theta, curvature * theta, velocity, lr=0.05, momentum=mu)
        path.append(theta)
    paths[label] = np.array(path)

t1, t2 = np.meshgrid(np.linspace(-10, 2, 200), np.linspace(-2.2, 2.2, 200))
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.contour(t1, t2, 0.5 * (t1**2 + 25 * t2**2), levels=15, colors="0.8", linewidths=0.7)
for label, path in paths.items():
    ax.plot(path[:, 0], path[:, 1], "o-", ms=3, label=f"{label}: f = {0.5 * np.sum(curvature * path[-1] ** 2):.1e} after 40 steps")
ax.plot(0, 0, "k*", ms=10)
ax.set_xlabel("θ₁")
ax.set_ylabel("θ₂")
ax.legend(fontsize=8, loc="lower right")
plt.show()

# %% [markdown]
# **Adam** (Kingma & Ba, 2015) goes further and gives every parameter its own step size: it keeps
# running means of $g$ and $g^2$ and steps by $\eta\,\hat m / (\sqrt{\hat v} + \epsilon)$
# (hats: bias-corrected for the zero start). It is forgiving about the learning rate, which is why
# we use it below. Its code is in `minicnn/optim.py`, a dozen lines next to the equations.
#
# ## 5. The training loop, written out
#
# One **epoch** is one pass over the shuffled training set in mini-batches of 64. For each batch:
#
# 1. **forward**: logits $z = f_\theta(x)$, loss $\mathcal L(z, t)$ — this builds the graph;
# 2. **zero the gradients** (they accumulate, notebook 01);
# 3. **backward**: `loss.backward()` fills `p.grad` for every parameter;
# 4. **step**: the optimiser updates every parameter from its gradient.
#
# After each epoch we measure accuracy on the held-out test set in eval mode, without building a
# graph (`mc.no_grad()` inside `predict`). Fifteen epochs take well under a minute.

# %%
EPOCHS = 15
optimizer = optim.Adam(model.parameters(), lr=3e-3)
loader = DataLoader(data.x_train, data.y_train, batch_size=64, shuffle=True, seed=0)

history = {"batch_loss": [], "epoch_loss": [], "train_acc": [], "test_acc": []}
start = time.perf_counter()
for epoch in range(1, EPOCHS + 1):
    model.train()
    correct, total_loss = 0, 0.0
    for xb, yb in loader:
        logits = model(xb)                      # 1. forward
        loss = F.cross_entropy(logits, yb)
        optimizer.zero_grad()                   # 2. forget last batch's gradients
        loss.backward()                         # 3. backward
        optimizer.step()                        # 4. update
        history["batch_loss"].append(loss.item())
        total_loss += loss.item() * len(yb)
        correct += int((logits.data.argmax(axis=1) == yb).sum())
    history["epoch_loss"].append(total_loss / len(data.y_train))
    history["train_acc"].append(correct / len(data.y_train))
    history["test_acc"].append(evaluate(model, data.x_test, data.y_test))
    print(f"epoch {epoch:2d}: mean loss {history['epoch_loss'][-1]:.4f}, train acc {history['train_acc'][-1]:.3f}, "
          f"test acc {history['test_acc'][-1]:.3f}  ({time.perf_counter() - start:5.1f} s)")
model.eval()
print(f"final test accuracy: {history['test_acc'][-1]:.1%}")

# %% [markdown]
# (Training accuracy is counted *during* the epoch, while the weights still change, so early on
# it lags behind the test accuracy measured at the end of the epoch.)

# %%
batches_per_epoch = len(history["batch_loss"]) // EPOCHS
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.5))
ax1.plot(history["batch_loss"], lw=0.8, alpha=0.5, label="batch")
smooth = np.convolve(history["batch_loss"], np.ones(batches_per_epoch) / batches_per_epoch, mode="valid")
ax1.plot(np.arange(len(smooth)) + batches_per_epoch - 1, smooth, lw=2, label="running mean over one epoch")
ax1.set_yscale("log")
ax1.set_xlabel("step (mini-batch)")
ax1.set_ylabel("cross-entropy")
ax1.set_title("Training loss")
ax1.legend()
epochs = np.arange(1, EPOCHS + 1)
ax2.plot(epochs, history["train_acc"], "o-", label="train (during the epoch)")
ax2.plot(epochs, history["test_acc"], "s-", label="test (end of the epoch)")
ax2.set_xlabel("epoch")
ax2.set_ylabel("accuracy")
ax2.set_ylim(0, 1.01)
ax2.set_title("Accuracy")
ax2.legend(loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Where does it go wrong? The confusion matrix
#
# Entry $(i, j)$ counts test images of true class $i$ predicted as class $j$; a perfect
# classifier is diagonal. Plain NumPy: `np.add.at` adds 1 at every (true, predicted) pair, even
# when a pair occurs several times (plain fancy-index assignment would count it once).

# %%
predicted = predict(model, data.x_test).argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (data.y_test, predicted), 1)
accuracy = np.trace(confusion) / confusion.sum()
print(f"accuracy from the confusion matrix: {accuracy:.1%}  ({confusion.sum() - np.trace(confusion)} mistakes)")
print("per-class recall:", np.round(np.diag(confusion) / confusion.sum(axis=1), 3))

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=8,
                    color="white" if confusion[i, j] > confusion.max() / 2 else "black")
ax.set_xticks(range(10))
ax.set_yticks(range(10))
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title("Confusion matrix (test set)")
plt.show()

# %% [markdown]
# And the mistakes themselves — often digits a human would hesitate over too:

# %%
wrong = np.flatnonzero(predicted != data.y_test)[:8]
if len(wrong):
    fig, axes = plt.subplots(1, len(wrong), figsize=(1.4 * len(wrong), 1.9), squeeze=False)
    for ax, i in zip(axes[0], wrong):
        ax.imshow(data.x_test[i, 0], cmap="gray_r")
        ax.set_title(f"true {data.y_test[i]}\npred {predicted[i]}", fontsize=9)
        ax.axis("off")
    plt.show()
else:
    print("no mistakes on the test set")

# %% [markdown]
# ## Summary
#
# * A training step is forward → zero grads → backward → optimiser step.
# * Cross-entropy needs log-sum-exp to be safe for large logits; its gradient is
#   softmax minus one-hot.
# * Momentum accumulates a velocity $v \leftarrow \mu v + g$; Adam adapts a step size per
#   parameter.
# * Accuracy is one number; the confusion matrix shows *which* classes get confused.
#
# The repository ships a LeNet trained like this for 40 epochs
# (`minicnn.models.load_pretrained("digits")`); notebook **04** asks *why* it predicts what it
# predicts, starting with the simplest answer — the gradient.
