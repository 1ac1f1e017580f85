# %% [markdown]
# # 02 · Convolutions: loops, NumPy, Numba — and their gradients
#
# A convolutional layer slides a small bank of filters over an image. In this notebook we write
# that operation three times — as plain loops (**exercise 2.1**), as the vectorised NumPy
# reference that `minicnn` uses as its specification, and as the Numba/BLAS kernel that the
# engine actually runs — then derive and implement its two gradients (**exercises 2.2, 2.3**),
# verify them with finite differences, and measure the speed of each version.

# %%
%matplotlib inline

import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import exercises, kernels
from minicnn.data import load_digits

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. The definition
#
# Layout is NCHW as in PyTorch: an input batch $x$ of shape $(N, C, H, W)$ and weights $w$ of
# shape $(O, C, K_H, K_W)$ — $O$ filters, each looking at all $C$ input channels through a
# $K_H \times K_W$ window. With stride $s$ and zero padding $p$ ($x_{\text{pad}}$ is $x$ with $p$
# zero rows/columns added on every side), the output has shape $(N, O, O_H, O_W)$,
#
# $$
# O_H = \left\lfloor \frac{H + 2p - K_H}{s} \right\rfloor + 1, \qquad
# O_W = \left\lfloor \frac{W + 2p - K_W}{s} \right\rfloor + 1,
# $$
#
# $$
# y[n, o, i, j] \;=\; \sum_{c=0}^{C-1} \sum_{u=0}^{K_H-1} \sum_{v=0}^{K_W-1}
#     w[o, c, u, v]\; x_{\text{pad}}[n, c,\; i s + u,\; j s + v].
# $$
#
# Strictly speaking this is a *cross-correlation* (the kernel is not flipped); deep-learning
# libraries all call it convolution. The bias $b_o$ is added afterwards, outside the kernel.
#
# ### Exercise 2.1 — convolution as loops
#
# Implement `my_conv2d(x, w, stride, padding)` with `stride` and `padding` plain ints, straight
# from the formula: pad with `np.pad`, then loop over $n, o, i, j$ and take the sum over
# $c, u, v$ of the window (one `np.sum` of a product is fine). Return a float array
# $(N, O, O_H, O_W)$.

# %%
# Exercise 2.1: conv2d forward
def my_conv2d(x, w, stride=1, padding=0):
    """y[n,o,i,j] = Σ_{c,u,v} w[o,c,u,v] · x_pad[n, c, i·stride + u, j·stride + v]."""
    ### BEGIN SOLUTION
    n_batch, _, height, width = x.shape
    n_out, _, kh, kw = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh = (height + 2 * padding - kh) // stride + 1
    ow = (width + 2 * padding - kw) // stride + 1
    y = np.zeros((n_batch, n_out, oh, ow), dtype=x.dtype)
    for n in range(n_batch):
        for o in range(n_out):
            for i in range(oh):
                for j in range(ow):
                    window = x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    y[n, o, i, j] = np.sum(window * w[o])
    return y
    ### END SOLUTION


print(my_conv2d(np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 2, 2))))

# %%
exercises.check_conv2d_forward(my_conv2d)

# %% [markdown]
# ## 2. What a filter sees
#
# Hand-made filters make the formula concrete. On a digit (upsampled to 16×16), a vertical and a
# horizontal Sobel filter respond to edges of one orientation, and a 3×3 box filter blurs. A
# trained network *learns* its filters, but the first layer often ends up with similar ones.

# %%
digits = load_digits(size=16)
image = digits.x_train[:1]                                    # (1, 1, 16, 16)
sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
filters = np.stack([sobel_x, sobel_x.T, np.full((3, 3), 1 / 9)])[:, None]   # (3, 1, 3, 3)
responses = my_conv2d(image, filters, stride=1, padding=1)

fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
axes[0].imshow(image[0, 0], cmap="gray")
axes[0].set_title(f"digit {digits.y_train[0]}")
for ax, response, title in zip(axes[1:], responses[0], ["Sobel x (vertical edges)", "Sobel y (horizontal edges)", "3×3 box blur"]):
    if "Sobel" in title:   # signed responses: white = 0, red = positive, blue = negative
        limit = np.abs(response).max()
        ax.imshow(response, cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:
        ax.imshow(response, cmap="gray")
    ax.set_title(title, fontsize=9)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 3. The NumPy reference: loop over the kernel, not over the pixels
#
# Four Python loops over every output pixel are slow. The reference in
# `minicnn/kernels/reference.py` turns the loops inside out: for each kernel offset $(u, v)$ — only
# $K_H K_W$ of them — the values $x_{\text{pad}}[n, c, is+u, js+v]$ for *all* $(n, c, i, j)$ form
# a strided **view** of the padded input (no copy), and one `einsum` contracts it with
# $w[:, :, u, v]$ over $c$. (It also handles dilation, taps $d$ apart, and groups, where the
# channels split into independent groups; with the defaults, `dilation=(1, 1)` and `groups=1`,
# the group axis `g` has length 1 and it is exactly the loop above.)

# %%
print(inspect.getsource(kernels.reference.conv2d_forward))
print(inspect.getsource(kernels.reference.offset_view))

# %%
x = rng.normal(size=(2, 3, 9, 9))
w = rng.normal(size=(4, 3, 3, 3))
for stride, padding in [(1, 0), (2, 1)]:
    diff = np.abs(my_conv2d(x, w, stride, padding) - kernels.conv2d_forward_reference(x, w, stride, padding)).max()
    print(f"stride {stride}, padding {padding}: max |loops − reference| = {diff:.2e}")

# %% [markdown]
# ## 4. The fast kernel: im2col + one matrix product per image
#
# The engine's fast `conv2d_forward` (`minicnn/kernels/fast/conv.py`) copies every receptive field of an image into a column of a
# matrix ("im2col", a Numba loop):
#
# $$
# \text{cols}\bigl[(c,u,v),\,(i,j)\bigr] = x_{\text{pad}}[n, c, is+u, js+v],
# $$
#
# so that the image's convolution is **one matrix product**
# $Y_n = W_{\text{mat}} \cdot \text{cols}$ with $W_{\text{mat}} = w$ reshaped to
# $(O, C K_H K_W)$, which BLAS runs close to the machine's peak speed. The matrix holds
# $C K_H K_W$ values per output pixel, about 1 MB for a VGG layer: small enough to stay in a
# core's cache, so each Numba thread takes whole images (`prange` over the batch) and calls the
# GEMM from inside Numba. 3×3 stride-1 layers with 16 channels or more use Winograd's
# $F(2{\times}2, 3{\times}3)$ algorithm instead (`minicnn/kernels/fast/winograd.py`), which needs
# 2.25× fewer multiplications. Same signature, same result:

# %%
y_fast = kernels.conv2d_forward(x, w, (2, 2), (1, 1))
y_ref = kernels.conv2d_forward_reference(x, w, (2, 2), (1, 1))
print("shape", y_fast.shape, "  max |fast − reference| =", np.abs(y_fast - y_ref).max())

# %% [markdown]
# The whole engine runs on either twin: `kernels.use("reference")` switches every op to the
# NumPy reference (as a context manager, for one block), so you can step through a layer's
# arithmetic in a debugger. `MINICNN_KERNELS=reference` does the same for a whole process.

# %%
import minicnn.functional as F

with kernels.use("reference"):
    y_plain = F.conv2d(x, w, stride=2, padding=1).data      # runs reference.conv2d_forward
print("backend now:", kernels.active_backend(), "  max |fast − plain| =", np.abs(y_fast - y_plain).max())

# %% [markdown]
# ## 5. The gradients
#
# Let $\bar y = \partial L/\partial y$ be the gradient arriving from above. Since $y$ is *linear*
# in $x$ and in $w$, each partial derivative just reads off the coefficient in the defining sum.
#
# **With respect to the weights**: $w[o,c,u,v]$ multiplies $x_{\text{pad}}[n,c,is+u,js+v]$ in
# every output $y[n,o,i,j]$, so
#
# $$
# \frac{\partial L}{\partial w[o,c,u,v]} = \sum_{n,i,j} \bar y[n,o,i,j]\; x_{\text{pad}}[n, c, is+u, js+v] ,
# $$
#
# a correlation of the input with the output gradient.
#
# **With respect to the input**: each output pixel *scatters* its gradient back over the window it
# read, weighted by the kernel:
#
# $$
# \bar x_{\text{pad}}[n, c, is+u, js+v] \mathrel{+}= \sum_o w[o,c,u,v]\; \bar y[n,o,i,j]
# \quad\text{for all } i, j, u, v,
# $$
#
# and then the padding rows/columns are cut off ($\bar x = \bar x_{\text{pad}}[\dots, p:p+H, p:p+W]$).
# Windows overlap, so one input pixel collects contributions from several outputs — accumulate
# with `+=`. (For stride 1 this equals a "full" convolution of $\bar y$ with the *flipped* kernel,
# the classic textbook form.)
#
# ### Exercise 2.2 — gradient with respect to the input
#
# Implement `my_conv2d_backward_input(grad_y, w, x_shape, stride, padding)` with loops (ints for
# stride and padding). Rows/columns that no window reaches get gradient 0.

# %%
# Exercise 2.2: conv2d backward (input)
def my_conv2d_backward_input(grad_y, w, x_shape, stride=1, padding=0):
    """∂L/∂x for y = conv2d(x, w, stride, padding), given grad_y = ∂L/∂y."""
    ### BEGIN SOLUTION
    n_batch, channels, height, width = x_shape
    n_out, _, kh, kw = w.shape
    _, _, oh, ow = grad_y.shape
    grad_x_pad = np.zeros((n_batch, channels, height + 2 * padding, width + 2 * padding), dtype=grad_y.dtype)
    for n in range(n_batch):
        for o in range(n_out):
            for i in range(oh):
                for j in range(ow):
                    grad_x_pad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += grad_y[n, o, i, j] * w[o]
    return grad_x_pad[:, :, padding:padding + height, padding:padding + width]
    ### END SOLUTION


print(my_conv2d_backward_input(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), (1, 1, 4, 4))[0, 0])

# %%
exercises.check_conv2d_backward_input(my_conv2d_backward_input)

# %% [markdown]
# The printed example shows the overlap: with a 2×2 kernel of ones and stride 1, a corner pixel
# is read by one window, an edge pixel by two, an inner pixel by four.
#
# ### Exercise 2.3 — gradient with respect to the weights
#
# Implement `my_conv2d_backward_weight(grad_y, x, w_shape, stride, padding)`: for every kernel
# offset $(u, v)$, correlate the matching slice of $x_{\text{pad}}$ with $\bar y$. (Loops over
# $o, c, u, v$ with an `np.sum` over $n, i, j$ are fine; so is the strided-slice trick of § 3.)

# %%
# Exercise 2.3: conv2d backward (weight)
def my_conv2d_backward_weight(grad_y, x, w_shape, stride=1, padding=0):
    """∂L/∂w for y = conv2d(x, w, stride, padding), given grad_y = ∂L/∂y."""
    ### BEGIN SOLUTION
    _, _, kh, kw = w_shape
    _, _, oh, ow = grad_y.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    grad_w = np.zeros(w_shape, dtype=x.dtype)
    for u in range(kh):
        for v in range(kw):
            # x_pad[n, c, i·s + u, j·s + v] for all n, c, i, j
            patch = x_pad[:, :, u:u + stride * (oh - 1) + 1:stride, v:v + stride * (ow - 1) + 1:stride]
            grad_w[:, :, u, v] = np.einsum("noij,ncij->oc", grad_y, patch)
    return grad_w
    ### END SOLUTION


print(my_conv2d_backward_weight(np.ones((1, 1, 3, 3)), np.arange(16.0).reshape(1, 1, 4, 4), (1, 1, 2, 2))[0, 0])

# %%
exercises.check_conv2d_backward_weight(my_conv2d_backward_weight)

# %% [markdown]
# ### Checking the engine's conv against finite differences
#
# `F.conv2d` wraps these kernels in a `Function` (`minicnn/ops/conv.py`): its forward calls
# `conv2d_forward`, its backward calls the two gradient kernels (skipping the weight gradient
# when nobody needs it — attribution methods only want $\partial y/\partial x$). `mc.gradcheck`
# compares the whole Jacobian with central differences, for input, weights and bias at once:

# %%
xt = mc.Tensor(rng.normal(size=(2, 2, 5, 5)), requires_grad=True)
wt = mc.Tensor(rng.normal(size=(3, 2, 3, 3)), requires_grad=True)
bt = mc.Tensor(rng.normal(size=3), requires_grad=True)
print("F.conv2d passes gradcheck:", mc.gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [xt, wt, bt]))

# %% [markdown]
# ## 6. Speed
#
# Now the payoff. We time the three forward implementations on a LeNet-sized layer (a batch of
# 16×16 images, 6 → 16 channels, 5×5 kernels) and the fast kernels on a larger batch. The first
# call of a Numba function compiles it (or loads it from the on-disk cache), so we call once
# before timing. Timings depend on the machine and on whatever else is running; they are printed,
# not asserted.

# %%
def best_time(fn, repeat=5):
    """Best wall-clock time of `repeat` calls, in seconds (the minimum is the least noisy)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


x = rng.normal(size=(8, 6, 16, 16))
w = rng.normal(size=(16, 6, 5, 5))
kernels.conv2d_forward(x, w, 1, 2)          # warm-up: JIT compile / load the cache

timings = {
    "loops (yours)": best_time(lambda: my_conv2d(x, w, 1, 2), repeat=1),
    "NumPy reference": best_time(lambda: kernels.conv2d_forward_reference(x, w, 1, 2)),
    "Numba im2col + BLAS": best_time(lambda: kernels.conv2d_forward(x, w, 1, 2)),  # 5×5: im2col
}
for name, seconds in timings.items():
    print(f"{name:22s} {seconds * 1e3:9.2f} ms   ({timings['loops (yours)'] / seconds:7.0f}× the loops)")

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(timings), [t * 1e3 for t in timings.values()], color=["tab:red", "tab:orange", "tab:green"])
ax.set_xscale("log")
ax.set_xlabel("forward time for a batch of 8 (ms, log scale)")
ax.invert_yaxis()
plt.tight_layout()
plt.show()

# %%
x_big = rng.normal(size=(128, 6, 16, 16))
y_big = kernels.conv2d_forward(x_big, w, 1, 2)
g_big = rng.normal(size=y_big.shape)
kernels.conv2d_backward_input(g_big, w, x_big.shape, 1, 2)     # warm-up
kernels.conv2d_backward_weight(g_big, x_big, w.shape, 1, 2)
print("batch of 128:             reference      fast    ratio")
for name, ref, fast in [
    ("forward", lambda: kernels.conv2d_forward_reference(x_big, w, 1, 2), lambda: kernels.conv2d_forward(x_big, w, 1, 2)),
    ("backward (input)", lambda: kernels.conv2d_backward_input_reference(g_big, w, x_big.shape, 1, 2),
     lambda: kernels.conv2d_backward_input(g_big, w, x_big.shape, 1, 2)),
    ("backward (weight)", lambda: kernels.conv2d_backward_weight_reference(g_big, x_big, w.shape, 1, 2),
     lambda: kernels.conv2d_backward_weight(g_big, x_big, w.shape, 1, 2)),
]:
    t_ref, t_fast = best_time(ref), best_time(fast)
    print(f"  {name:18s} {t_ref * 1e3:9.2f} ms {t_fast * 1e3:8.2f} ms  {t_ref / t_fast:6.1f}×")

# %% [markdown]
# **Reading the numbers.** On an idle machine the fast kernel beats the reference by a few times
# even on this small batch. On a busy machine (a shared CI runner, or a laptop running a video
# call) you may see the opposite for small inputs: the kernel runs on several threads, and if
# one of them is descheduled the whole parallel loop waits for it, while the single-threaded
# reference does not care. Always time on the sizes you care about, take the best of several runs,
# and distrust a single measurement.
#
# The loops pay Python's interpreter cost for every output pixel; the reference pays it only
# $K_H K_W$ times and lets NumPy do the rest; the im2col kernel turns the bulk of the work into
# one dense matrix product per image. The same three-level pattern — readable spec, vectorised reference,
# fast kernel tested against the reference — is used for pooling and resizing in
# `minicnn/kernels/`.
#
# ## Summary
#
# * $y[n,o,i,j] = \sum_{c,u,v} w[o,c,u,v]\,x_{\text{pad}}[n,c,is+u,js+v]$; output size
#   $\lfloor (H + 2p - K)/s \rfloor + 1$.
# * $\partial L/\partial w$ correlates the input with $\bar y$; $\partial L/\partial x$ scatters
#   $\bar y$ back through the kernel (overlapping windows add up), then drops the padding.
# * Loop order matters more than the language: loop over the kernel, not over the pixels; better
#   still, reshape the problem into one matrix product.
#
# Next, in **03**, we stack these layers into LeNet and train it.
