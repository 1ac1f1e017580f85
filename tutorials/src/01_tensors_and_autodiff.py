# %% [markdown]
# # 01 · Tensors and reverse-mode automatic differentiation
#
# Every method in this course — training a network, saliency maps, Integrated Gradients,
# DeepLIFT, Grad-CAM — is built on one operation: **the backward pass**, which computes the
# gradient of one number (a loss, a class score) with respect to many inputs at the cost of
# about one extra forward pass. In this notebook we open up `minicnn`'s engine and do that
# computation by hand, then let the engine do it, and check that both agree.
#
# You will:
#
# 1. build a computation graph from `Tensor` operations and look inside it;
# 2. apply the chain rule by hand on a small expression and compare with `.backward()`;
# 3. see why the nodes are visited in *reverse topological order* and why gradients *add up*;
# 4. write the backward of an op yourself (**exercises 1.1, 1.2**);
# 5. check gradients numerically with finite differences (**exercise 1.3**) and `mc.gradcheck`.

# %%
%matplotlib inline

import inspect

import matplotlib.pyplot as plt
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import exercises
from minicnn.autograd import topological_order

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Tensors and the graph they build
#
# A `mc.Tensor` wraps a NumPy array (`.data`). When it is created with `requires_grad=True`,
# every operation on it records a **node**: the `Function` that produced the result, with links
# to its inputs. The result remembers its node in `.creator`. Leaves (tensors we created
# ourselves) have `creator = None`.

# %%
a = mc.Tensor(2.0, requires_grad=True)
b = mc.Tensor(-3.0, requires_grad=True)

u = a * b          # a Mul node
v = u + a          # an Add node
L = F.tanh(v)      # a Tanh node

for name, t in [("a", a), ("b", b), ("u", u), ("v", v), ("L", L)]:
    print(f"{name} = {t.data!s:>8}   creator: {t.creator}")
print("inputs of L's node:", L.creator.inputs)

# %% [markdown]
# ## 2. The chain rule by hand
#
# Our expression is $L = \tanh(v)$ with $v = u + a$ and $u = a\,b$. Reverse mode starts at the
# output with $\bar L = \partial L / \partial L = 1$ and walks **backwards**, turning the
# gradient of each node's output ("adjoint", written $\bar{\,\cdot\,}$) into gradients of its
# inputs:
#
# $$
# \bar v = \bar L\,\bigl(1 - \tanh^2 v\bigr), \qquad
# \bar u = \bar v \cdot 1, \qquad
# \bar a \mathrel{+}= \bar v \cdot 1, \qquad
# \bar a \mathrel{+}= \bar u\, b, \qquad
# \bar b = \bar u\, a .
# $$
#
# Note that $a$ is used twice (in $u$ and in $v$), so it receives **two** contributions that are
# *summed*: this is the multivariable chain rule
# $\dfrac{\partial L}{\partial a} = \sum_{\text{uses } y \text{ of } a} \dfrac{\partial L}{\partial y}\dfrac{\partial y}{\partial a}$.

# %%
a_, b_ = 2.0, -3.0
u_ = a_ * b_
v_ = u_ + a_

L_bar = 1.0
v_bar = L_bar * (1 - np.tanh(v_) ** 2)
u_bar = v_bar * 1.0
a_bar = v_bar * 1.0          # from v = u + a
a_bar += u_bar * b_          # from u = a · b
b_bar = u_bar * a_

L.backward()
print(f"by hand : dL/da = {a_bar:.10f}, dL/db = {b_bar:.10f}")
print(f"engine  : dL/da = {a.grad:.10f}, dL/db = {b.grad:.10f}")
assert np.isclose(a.grad, a_bar) and np.isclose(b.grad, b_bar)

# %% [markdown]
# Each `Function` in `minicnn/ops/` holds exactly these local rules, next to its forward
# formula. Here is the multiplication node: its backward receives $\bar y$ (`g`) and returns one
# gradient per input, $\bar a = \bar y\, b$ and $\bar b = \bar y\, a$.

# %%
print(inspect.getsource(mc.ops.Mul))

# %% [markdown]
# ## 3. Topological order
#
# A node may only pass gradients to its inputs once it has received the gradients from **all**
# its uses. Visiting the nodes in *reverse topological order* (every tensor after all the tensors
# computed from it) guarantees that. `minicnn.autograd.topological_order` computes the order
# with an explicit stack (no recursion, so a graph thousands of nodes deep is fine); the backward
# pass simply walks that list from the end.

# %%
names = {id(a): "a", id(b): "b", id(u): "u", id(v): "v", id(L): "L"}
order = topological_order([L])
print("forward  order:", [names[id(t)] for t in order])
print("backward order:", [names[id(t)] for t in reversed(order)])

# %% [markdown]
# ## 4. Gradients accumulate
#
# `.backward()` *adds* into `.grad`; it never overwrites. That is what lets a parameter used in
# several places collect all its contributions — and it is why a training loop must call
# `zero_grad()` before every backward pass. Calling `backward` twice on the same graph doubles
# the gradients:

# %%
x = mc.Tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()          # dy/dx = 2x
y.backward()
print("after one backward :", x.grad)
y.backward()
print("after two backwards:", x.grad, "(accumulated)")
x.zero_grad()
print("after zero_grad    :", x.grad)

# %% [markdown]
# `mc.grad(outputs, inputs)` is the functional form (like `torch.autograd.grad`): it *returns*
# the gradients and leaves every `.grad` alone. Attribution methods use it, since explaining a
# prediction must not disturb the model's parameter gradients.

# %%
y = (x * x).sum()
(dx,) = mc.grad(y, [x])
print("mc.grad:", dx, "  x.grad untouched:", x.grad)

# %% [markdown]
# ## 5. Broadcasting and `unbroadcast`
#
# Binary ops broadcast like NumPy: in `z = x + bias` with `x` of shape (4, 3) and `bias` of shape
# (3,), the bias is implicitly **copied** along a new leading axis. A copy is an op too: its
# backward *sums* the gradients of all the copies. So if $\bar z$ has shape (4, 3), then
#
# $$\bar{\text{bias}}_j = \sum_i \bar z_{ij}.$$
#
# In general, broadcasting an array of shape `shape` to `grad.shape` (i) adds leading axes and
# (ii) stretches axes of size 1. The adjoint, `unbroadcast(grad, shape)`, sums over the added
# leading axes, and over the stretched axes *keeping* them (size 1). Every binary op in
# `minicnn/ops/arithmetic.py` uses this one helper.
#
# ### Exercise 1.1 — `unbroadcast`
#
# Implement `my_unbroadcast(grad, shape)`: return `grad` summed down to `shape`. Examples:
# `(3, 4) → (4,)` sums axis 0; `(3, 4) → (1, 4)` sums axis 0 with `keepdims=True`;
# `(2, 3, 4) → (3, 1)` does both; `(5, 2, 3) → ()` sums everything.

# %%
# Exercise 1.1: unbroadcast
def my_unbroadcast(grad, shape):
    """Sum `grad` (an ndarray) down to `shape`, the adjoint of np.broadcast_to(·, grad.shape)."""
    ### BEGIN SOLUTION
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))           # axes that broadcasting added in front
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad
    ### END SOLUTION


print(my_unbroadcast(np.ones((2, 3, 4)), (3, 1)))

# %%
exercises.check_unbroadcast(my_unbroadcast)

# %% [markdown]
# The engine agrees: the gradient of a broadcast bias is the column sum.

# %%
xs = mc.Tensor(np.arange(12.0).reshape(4, 3))
bias = mc.Tensor(np.zeros(3), requires_grad=True)
(xs + bias).sum().backward()
print("bias.grad =", bias.grad, "   (each column of ones summed over 4 rows)")

# %% [markdown]
# ## 6. Writing an op: forward and backward side by side
#
# To add an op to the engine, subclass `mc.Function` and write two methods on **raw ndarrays**:
#
# * `forward(self, z)` computes $y = g(z)$ and keeps whatever the derivative needs;
# * `backward(self, g)` receives $\bar y$ and returns a tuple with one gradient per input — the
#   vector–Jacobian product. For an element-wise $y = g(z)$ the Jacobian is diagonal, so
#   $\bar z = \bar y \odot g'(z)$.
#
# The sigmoid $\sigma(z) = 1/(1+e^{-z})$ has the famous derivative
# $\sigma'(z) = \sigma(z)\bigl(1-\sigma(z)\bigr) = y(1-y)$, so the backward can reuse the saved output.
#
# ### Exercise 1.2 — sigmoid backward
#
# Complete `MySigmoid.backward`. The forward (written stably with
# `minicnn.ops.activations.stable_sigmoid`, so that $e^{-z}$ never overflows) is given.

# %%
# Exercise 1.2: sigmoid backward
from minicnn.ops.activations import stable_sigmoid


class MySigmoid(mc.Function):
    """y = σ(z);  ∂y/∂z = y (1 − y)."""

    def forward(self, z):
        self.y = stable_sigmoid(z)
        return self.y

    def backward(self, g):
        ### BEGIN SOLUTION
        return (g * self.y * (1 - self.y),)
        ### END SOLUTION


z = mc.Tensor([-2.0, 0.0, 2.0], requires_grad=True)
MySigmoid.apply(z).sum().backward()
print("dσ/dz at -2, 0, 2:", z.grad)

# %%
exercises.check_sigmoid_backward(MySigmoid)

# %% [markdown]
# ## 7. Checking gradients numerically
#
# How do we know a backward is right? Compare it with **finite differences**. For a scalar
# function $f$ and a unit vector $e_j$,
#
# $$
# \frac{\partial f}{\partial x_j} \approx \frac{f(x + \varepsilon e_j) - f(x - \varepsilon e_j)}{2\varepsilon},
# $$
#
# the *central* difference. Taylor expansion shows its error is $O(\varepsilon^2)$, while the
# one-sided $\bigl(f(x+\varepsilon e_j) - f(x)\bigr)/\varepsilon$ has error $O(\varepsilon)$.
# Too small an $\varepsilon$ is bad too: $f$ is computed with rounding error $\approx 10^{-16}|f|$,
# which the division by $\varepsilon$ amplifies.
#
# ### Exercise 1.3 — numerical gradient
#
# Implement `numerical_gradient(f, x, eps)` with central differences: `f` takes an ndarray and
# returns a float; return an array shaped like `x`. Perturb one element at a time (and restore it).

# %%
# Exercise 1.3: numerical gradient
def numerical_gradient(f, x, eps=1e-6):
    """Central-difference estimate of ∇f(x) for a scalar function f of an ndarray x."""
    ### BEGIN SOLUTION
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        f_plus = f(x)
        x[index] = original - eps
        f_minus = f(x)
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


print(numerical_gradient(lambda x: float(np.sum(x**2)), np.array([1.0, -2.0, 3.0])))

# %%
exercises.check_numerical_gradient(numerical_gradient)

# %% [markdown]
# Let us see the two error terms. For $f(x) = \sin x$ at $x=1$, the exact derivative is $\cos 1$.
# The one-sided error falls like $\varepsilon$, the central one like $\varepsilon^2$, until rounding
# error ($\propto 1/\varepsilon$) takes over. The best $\varepsilon$ for central differences in
# float64 is around $10^{-5}$–$10^{-6}$ — which is why `mc.gradcheck` uses `eps=1e-6` and insists
# on float64.

# %%
eps_values = np.logspace(-13, -1, 49)
exact = np.cos(1.0)
central = [abs(numerical_gradient(lambda x: float(np.sin(x).sum()), np.array([1.0]), e)[0] - exact) for e in eps_values]
forward = [abs((np.sin(1.0 + e) - np.sin(1.0)) / e - exact) for e in eps_values]

fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(eps_values, forward, "o-", ms=3, label="one-sided  (f(x+ε) − f(x)) / ε")
ax.loglog(eps_values, central, "s-", ms=3, label="central  (f(x+ε) − f(x−ε)) / 2ε")
ax.set_xlabel("ε")
ax.set_ylabel("|error| of d sin(x)/dx at x = 1")
ax.set_title("Truncation error vs rounding error")
ax.legend()
plt.show()

# %% [markdown]
# `mc.gradcheck(fn, inputs)` does this for every element of every input and compares with the
# **whole Jacobian** from the backward pass (one backward per output element), element by element
# with `|numeric − analytic| ≤ atol + rtol·|numeric|`. It returns `True` or raises
# `mc.GradcheckError` naming the input, the element and both values. Our sigmoid passes:

# %%
rng = np.random.default_rng(0)
z = mc.Tensor(rng.normal(size=(3, 4)), requires_grad=True)
print("MySigmoid passes gradcheck:", mc.gradcheck(lambda t: MySigmoid.apply(t), [z]))

# %% [markdown]
# …and a deliberately broken op fails loudly:

# %%
class BrokenSigmoid(MySigmoid):
    def backward(self, g):
        return (g * self.y,)            # forgot the (1 − y)


try:
    mc.gradcheck(lambda t: BrokenSigmoid.apply(t), [z])
except mc.GradcheckError as error:
    print("GradcheckError:", error)

# %% [markdown]
# ## Summary
#
# * Every op records a node; the nodes form a DAG from the inputs to the output.
# * Reverse mode visits the nodes in reverse topological order; each node maps the gradient of
#   its output to gradients of its inputs (a vector–Jacobian product).
# * A tensor used several times *sums* the gradients of its uses; so does a broadcast input
#   (`unbroadcast`), and so does `.grad` across backward calls (hence `zero_grad`).
# * Central differences check any backward; `mc.gradcheck` does it for the whole Jacobian.
#
# Next, in **02**, the op that makes a network convolutional: `conv2d`, its two gradients, and
# how to make it fast.
