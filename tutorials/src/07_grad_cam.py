# %% [markdown]
# # 07 · Grad-CAM: where in the image is the evidence for a class?
#
# DeepLIFT and Integrated Gradients give one number per **pixel**. **Grad-CAM** (Selvaraju et al.,
# ICCV 2017) works one level up: it asks which **regions** of a late convolutional layer support
# a class. Late conv layers see large parts of the image and respond to whole parts of objects,
# and because they keep a spatial layout, a weighted sum of their channels is a coarse heat map.
#
# In this notebook you will
#
# 1. look at the feature maps $A^k$ of the bundled shapes network;
# 2. compute the channel weights $\alpha_k$ (Exercise 7.1) and the map $\mathrm{ReLU}(\sum_k \alpha_k A^k)$
#    (Exercise 7.2), first by hand on the small example 7 of `docs/methods.md` (Small cases with known answers);
# 3. see that the maps are **class-discriminative** on images with two shapes, and how the layer
#    choice trades resolution for meaning;
# 4. meet the variants: Guided Grad-CAM and counterfactual Grad-CAM.

# %%
%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

import attributions as A
import minicnn as mc
import minicnn.functional as F
from attributions import exercises
from attributions.gradcam import layer_activation_and_gradient, upsample_maps
from minicnn import nn
from minicnn.data import make_shapes
from minicnn.models import load_pretrained

np.set_printoptions(precision=4, suppress=True)


def no_ticks(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])

# %% [markdown]
# ## 1. Feature maps
#
# The shapes network is a small VGG: two blocks of two 3×3 convolutions with ReLU and 2×2 max
# pooling, then two dense layers. Its input is 32×32, its last convolution (`features.7`) has 32
# channels of 16×16 (after one 2×2 pooling). Each channel $A^k$ is a detector map: it lights up where its pattern occurs.

# %%
model, shapes = load_pretrained("shapes")
print(model)
print("classes:", shapes.classes)
images, labels, masks = shapes.x_test[:8], shapes.y_test[:8], shapes.masks_test[:8]
with mc.no_grad():
    logits = model(images).data
print("labels   ", labels, "\npredicted", logits.argmax(axis=1))

# %%
activations, gradients = layer_activation_and_gradient(model, images[:1], np.array([labels[0]]), layer="features.7")
print("A:", activations.shape, "  ∂y^c/∂A:", gradients.shape)
fig, axes = plt.subplots(2, 9, figsize=(12, 3))
axes[0, 0].imshow(images[0, 0], cmap="gray")
axes[0, 0].set_title(shapes.classes[labels[0]], fontsize=8)
axes[1, 0].imshow(masks[0], cmap="gray")
axes[1, 0].set_title("mask", fontsize=8)
for k in range(16):
    ax = axes[k // 8, 1 + k % 8]
    ax.imshow(activations[0, k], cmap="viridis")
    ax.set_title(f"A^{k}", fontsize=7)
no_ticks(axes)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Channel weights and the map
#
# For the score $y^c$ of class $c$ (a logit) and the $m \times n$ maps $A^k$ of the chosen layer,
# Grad-CAM weighs each channel by its **average gradient**:
#
# $$\alpha^c_k = \frac{1}{m\,n} \sum_{i=1}^{m} \sum_{j=1}^{n} \frac{\partial y^c}{\partial A^k_{ij}},$$
#
# i.e. how much, on average, turning channel $k$ up would raise the class score. The map is the
# weighted sum of the channels, keeping only positive evidence:
#
# $$L^c = \mathrm{ReLU}\Big(\sum_k \alpha^c_k A^k\Big) \in \mathbb{R}^{m \times n},$$
#
# then bilinearly upsampled to the input size (half-pixel centres, like PyTorch's
# `interpolate(mode="bilinear", align_corners=False)`).
#
# ### Example 7 of `docs/methods.md` (Small cases with known answers), by hand
#
# Input `arange(16)` as a 4×4 image; a conv with 2 output channels, both 3×3 kernels of ones, biases
# $(-50, -75)$, no padding; then ReLU, flatten, and a linear layer whose row for class 0 is
# $(1,1,1,1,\;1,-1,-1,-1)$. The four 3×3 window sums are $45, 54, 81, 90$, so
#
# $$A^1 = \begin{pmatrix}-5 & 4\\ 31 & 40\end{pmatrix},\quad
#   A^2 = \begin{pmatrix}-30 & -21\\ 6 & 15\end{pmatrix}.$$
#
# The gradient of $y^0$ reaches $A$ through the ReLU, so it is the linear row masked by $[A > 0]$:
# $\partial y^0/\partial A^1 = \begin{pmatrix}0 & 1\\ 1 & 1\end{pmatrix}$,
# $\partial y^0/\partial A^2 = \begin{pmatrix}0 & 0\\ -1 & -1\end{pmatrix}$, hence
# $\alpha = (3/4, -2/4) = (0.75, -0.5)$ and
#
# $$0.75\,A^1 - 0.5\,A^2 = \begin{pmatrix}11.25 & 13.5\\ 20.25 & 22.5\end{pmatrix}.$$

# %%
conv = nn.Conv2d(1, 2, 3)
conv.weight.data[...] = 1.0
conv.bias.data[...] = (-50.0, -75.0)
head = nn.Linear(8, 2, bias=False)
head.weight.data[...] = 0.0
head.weight.data[0] = (1, 1, 1, 1, 1, -1, -1, -1)
tiny = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head).double()
x_tiny = np.arange(16.0).reshape(1, 1, 4, 4)

A_tiny, G_tiny = layer_activation_and_gradient(tiny, x_tiny, np.array([0]), layer=conv)
print("A =\n", A_tiny[0], "\n∂y⁰/∂A =\n", G_tiny[0])

# %%
# Exercise 7.1: Grad-CAM's channel weights
def gradcam_channel_weights(gradients):
    """α of shape (N, K) from the gradients ∂y^c/∂A of shape (N, K, m, n)."""
    ### BEGIN SOLUTION
    return gradients.mean(axis=(2, 3))  # the average over the m·n positions, not the sum
    ### END SOLUTION


print(gradcam_channel_weights(G_tiny))

# %%
exercises.check_gradcam_weights(gradcam_channel_weights)

# %%
# Exercise 7.2: the weighted combination, the ReLU, and (optionally) upsampling
def gradcam_combine(activations, alpha, size=None):
    """L = ReLU(Σ_k α_k A^k): activations (N, K, m, n) and alpha (N, K) → (N, m, n).

    If size = (H, W) is given, upsample L (after the ReLU) with `upsample_maps(L, size)`.
    """
    ### BEGIN SOLUTION
    maps = np.einsum("nk,nkij->nij", alpha, activations)  # Σ_k α_k A^k, per image
    maps = np.maximum(maps, 0.0)
    return maps if size is None else upsample_maps(maps, size)
    ### END SOLUTION


print(gradcam_combine(A_tiny, gradcam_channel_weights(G_tiny)))

# %%
exercises.check_gradcam_combine(gradcam_combine)

# %% [markdown]
# The library's `A.grad_cam` does exactly this: a forward hook keeps $A$, `minicnn.grad` gives
# $\partial y^c/\partial A$ (without touching any parameter's `.grad`), and a channel-weight
# function turns them into $\alpha$. Your two functions reproduce it on the shapes network:

# %%
A_all, G_all = layer_activation_and_gradient(model, images, labels, layer="features.7")
mine = gradcam_combine(A_all, gradcam_channel_weights(G_all), size=(32, 32))
library = A.grad_cam(model, images, labels, layer="features.7")
print("max |mine − library| =", np.abs(mine - library).max())
print("signed map of the hand example (relu=False):\n", A.grad_cam(tiny, x_tiny, 0, layer=conv, relu=False, upsample=False)[0])

# %%
fig, axes = plt.subplots(3, 8, figsize=(12, 4.6))
for j in range(8):
    axes[0, j].imshow(images[j, 0], cmap="gray")
    axes[0, j].set_title(shapes.classes[labels[j]], fontsize=8)
    axes[1, j].imshow(A.grad_cam_maps(model, images[j:j + 1], labels[j], layer="features.7")[0], cmap="jet")
    axes[2, j].imshow(images[j, 0], cmap="gray")
    axes[2, j].imshow(library[j], cmap="jet", alpha=0.5)
    axes[2, j].contour(masks[j], levels=[0.5], colors="white", linewidths=0.8)
for i, title in enumerate(("input", "L (16×16)", "upsampled + mask")):
    axes[i, 0].set_ylabel(title, fontsize=8)
no_ticks(axes)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### A special case: global average pooling (example 8)
#
# When the maps go through global average pooling and then a linear layer,
# $y^c = \sum_k w_{ck} \frac{1}{mn}\sum_{ij} A^k_{ij}$, so $\partial y^c/\partial A^k_{ij} = w_{ck}/(mn)$
# everywhere and $\alpha_k = w_{ck}/(mn)$: Grad-CAM is the original **CAM** (Zhou et al. 2016),
# $\mathrm{ReLU}(\sum_k w_{ck}A^k)$, divided by $mn$. Grad-CAM generalises CAM to any head.

# %%
rng = np.random.default_rng(0)
gap_net = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(6, 3)).double()
x_gap = rng.normal(size=(2, 1, 10, 10))
with mc.no_grad():
    feature_maps = gap_net[1](gap_net[0](mc.Tensor(x_gap))).data
w_c = gap_net[4].weight.data[2]
cam = np.maximum(np.einsum("k,nkij->nij", w_c, feature_maps), 0) / 100
gc = A.grad_cam(gap_net, x_gap, 2, layer="1", upsample=False)
print("max |Grad-CAM − ReLU(CAM)/(m·n)| =", np.abs(gc - cam).max())

# %% [markdown]
# ## 3. Class discrimination
#
# A good explanation of "square" should point at the square, not at everything salient. We
# build images with **two** shapes of different classes — pasting the shape of one generated
# image, pixels given by its mask, onto another image whose shape is elsewhere — and keep those
# whose two highest logits are exactly the two classes present. Then we ask Grad-CAM for each of
# the two classes.

# %%
x_gen, y_gen, m_gen = make_shapes(24, size=32, seed=3, scale=(8, 11))


def dilate(mask, r=2):
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, axis=-2), dx, axis=-1)
    return out


near = dilate(m_gen)
pairs = [(i, j) for i in range(24) for j in range(i + 1, 24) if y_gen[i] != y_gen[j] and not (m_gen[i] & near[j]).any()]
composites = np.stack([np.where(m_gen[j], x_gen[j], x_gen[i]) for i, j in pairs])  # (P, 1, 32, 32)
class_a = np.array([y_gen[i] for i, _ in pairs])
class_b = np.array([y_gen[j] for _, j in pairs])
with mc.no_grad():
    top2 = np.sort(np.argsort(model(composites).data, axis=1)[:, -2:], axis=1)
keep = (top2 == np.sort(np.stack([class_a, class_b], axis=1), axis=1)).all(axis=1)
composites, class_a, class_b = composites[keep], class_a[keep], class_b[keep]
mask_a = np.stack([m_gen[i] for (i, _), k in zip(pairs, keep) if k])
mask_b = np.stack([m_gen[j] for (_, j), k in zip(pairs, keep) if k])
print(f"{len(pairs)} two-shape images, {keep.sum()} with both classes as the top two logits")

cam_a = A.grad_cam(model, composites, class_a)
cam_b = A.grad_cam(model, composites, class_b)


def share(cam, own, other):
    """Map mass on the own shape / mass on both shapes."""
    o, t = (cam * own).sum(axis=(1, 2)), (cam * other).sum(axis=(1, 2))
    return o / np.maximum(o + t, 1e-12)


print(f"share of the map on the requested class's shape (0.5 = no discrimination): "
      f"{np.mean(np.r_[share(cam_a, mask_a, mask_b), share(cam_b, mask_b, mask_a)]):.2f}")

# %%
fig, axes = plt.subplots(3, 6, figsize=(10, 5.2))
for j in range(6):
    axes[0, j].imshow(composites[j, 0], cmap="gray")
    for row, (cam, cls, own) in enumerate(((cam_a, class_a, mask_a), (cam_b, class_b, mask_b)), 1):
        axes[row, j].imshow(composites[j, 0], cmap="gray")
        axes[row, j].imshow(cam[j], cmap="jet", alpha=0.5)
        axes[row, j].contour(own[j], levels=[0.5], colors="white", linewidths=0.8)
        axes[row, j].set_title(shapes.classes[cls[j]], fontsize=8)
axes[0, 0].set_ylabel("two shapes", fontsize=8)
axes[1, 0].set_ylabel("Grad-CAM, class A", fontsize=8)
axes[2, 0].set_ylabel("Grad-CAM, class B", fontsize=8)
no_ticks(axes)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Which layer?
#
# Early layers have high resolution but respond to edges, not to classes; the last conv layer is
# the usual compromise between spatial detail and semantics (the paper's choice). Here are the
# maps at the four conv layers: 32×32 before the first pooling, 16×16 after it, and at the output
# of the last *pooling* layer, `features.9`, 8×8: the last feature map that reaches the
# classifier, which is what `A.grad_cam` uses when no layer is given (for a ResNet that is the
# last block's output, `layer4`; the default follows execution order, see `docs/methods.md`).

# %%
layers = ["features.0", "features.2", "features.5", "features.7", "features.9"]
fig, axes = plt.subplots(3, len(layers) + 1, figsize=(10, 6))
for row in range(3):
    axes[row, 0].imshow(composites[row, 0], cmap="gray")
    axes[row, 0].set_title(shapes.classes[class_a[row]], fontsize=8)
    for col, layer in enumerate(layers, 1):
        small = A.grad_cam_maps(model, composites[row:row + 1], class_a[row], layer=layer)[0]
        big = A.grad_cam(model, composites[row:row + 1], class_a[row], layer=layer)[0]
        axes[row, col].imshow(big, cmap="jet")
        axes[row, col].contour(mask_a[row], levels=[0.5], colors="white", linewidths=0.8)
        axes[row, col].set_title(f"{layer} ({small.shape[0]}×{small.shape[1]})", fontsize=8)
no_ticks(axes)
plt.tight_layout()
plt.show()
for layer in layers:
    cams = A.grad_cam(model, composites, class_a, layer=layer)
    print(f"{layer}: share on the requested shape {share(cams, mask_a, mask_b).mean():.2f}")

# %% [markdown]
# ## 5. Guided Grad-CAM and counterfactual Grad-CAM
#
# Grad-CAM is coarse (16×16 here, upsampled). **Guided backpropagation** (Springenberg et al. 2015) is sharp but
# hardly class-discriminative: it is the input gradient with every ReLU's backward replaced by
# $g \mapsto g\,[z > 0]\,[g > 0]$, letting only positive signal through. **Guided Grad-CAM** multiplies
# the two, pixel by pixel: fine detail, restricted to the class's regions.
#
# **Counterfactual Grad-CAM** uses $-\partial y^c/\partial A$: it highlights regions whose removal
# would *raise* the score of $c$ — evidence against the class. On a two-shape image, the
# counterfactual map for class A should avoid shape A and point at things that look like another
# class: shape B, but also distractor blobs.

# %%
j = 0
pair = composites[j:j + 1]
gb = A.guided_backprop(model, pair, class_a[j])[0, 0]
ggc = A.guided_grad_cam(model, pair, class_a[j])[0, 0]
counter = A.grad_cam(model, pair, class_a[j], counterfactual=True)[0]
panels = [(pair[0, 0], "input", "gray"), (cam_a[j], f"Grad-CAM {shapes.classes[class_a[j]]}", "jet"),
          (gb, "guided backprop", "bwr"), (ggc, "Guided Grad-CAM", "bwr"),
          (counter, f"counterfactual {shapes.classes[class_a[j]]}", "jet")]
fig, axes = plt.subplots(1, 5, figsize=(12, 2.8))
for ax, (img, title, cmap) in zip(axes, panels):
    lim = np.abs(img).max() or 1.0
    ax.imshow(img, cmap=cmap, **({"vmin": -lim, "vmax": lim} if cmap == "bwr" else {}))
    ax.contour(mask_a[j], levels=[0.5], colors="lime", linewidths=0.8)
    ax.contour(mask_b[j], levels=[0.5], colors="magenta", linewidths=0.8)
    ax.set_title(title, fontsize=8)
no_ticks(axes)
plt.tight_layout()
plt.show()
counter_all = A.grad_cam(model, composites, class_a, counterfactual=True)
total = counter_all.sum()
print("green outline: class A's shape, magenta: shape B")
print(f"counterfactual maps for class A, over all {len(composites)} images: {(counter_all * mask_b).sum() / total:.0%} "
      f"of their mass on shape B, {(counter_all * mask_a).sum() / total:.0%} on class A's own shape; "
      f"each shape covers about {mask_a.mean():.0%} of an image")

# %% [markdown]
# Guided backprop for two *different* classes looks almost the same (Adebayo et al. 2018 showed it
# barely depends on the top layers); Grad-CAM for two classes does not. A quick measure, the
# correlation between the maps for class A and class B on the same images:

# %%
def corr(a, b):
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1) + 1e-300)


gb_a = A.guided_backprop(model, composites, class_a)
gb_b = A.guided_backprop(model, composites, class_b)
print(f"correlation of the class-A and class-B maps: guided backprop {corr(gb_a, gb_b).mean():+.2f}, "
      f"Grad-CAM {corr(cam_a, cam_b).mean():+.2f}")

# %% [markdown]
# ## Beyond the mean gradient: Grad-CAM++
#
# Grad-CAM gives every position of a map the same say in its weight. Grad-CAM++ (Chattopadhyay et
# al. 2018) weighs the positive gradients by position:
#
# $$w_k = \sum_{ij} a^k_{ij}\,\mathrm{ReLU}(g^k_{ij}),\qquad
#   a^k_{ij} = \frac{(g^k_{ij})^2}{2(g^k_{ij})^2 + \sum_{ab} A^k_{ab}\,(g^k_{ij})^3},\qquad
#   g^k_{ij} = \partial S^c/\partial A^k_{ij}$$
#
# (and $a^k_{ij} = 0$ where $g^k_{ij} = 0$). The squares and cubes are the second and third
# derivatives of $Y^c = \exp(S^c)$ through a ReLU network, divided by $\exp(S^c)$: the closed form
# holds only for that exponential output (pytorch-grad-cam issue 369). `A.grad_cam_plus_plus` uses it.

# %%
# Exercise 7.3: Grad-CAM++ channel weights
def gradcam_pp_weights(activations, gradients):
    """w of shape (N, K) from A and ∂S^c/∂A, both (N, K, m, n)."""
    ### BEGIN SOLUTION
    g2 = gradients**2
    denominator = 2 * g2 + activations.sum(axis=(2, 3), keepdims=True) * gradients**3
    a = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)  # 0 where g = 0
    return (a * np.maximum(gradients, 0)).sum(axis=(2, 3))
    ### END SOLUTION


print(gradcam_pp_weights(A_tiny, G_tiny))

# %%
exercises.check_gradcam_pp_weights(gradcam_pp_weights)

# %% [markdown]
# On the shapes model, Grad-CAM++ and Grad-CAM usually agree on *where*; Grad-CAM++ spreads the
# map over more of an object when several parts of it raise the score:

# %%
cam_pp = A.grad_cam_plus_plus(model, composites, class_a)
print(f"correlation of Grad-CAM++ and Grad-CAM maps for class A: {corr(cam_pp, cam_a).mean():+.2f}")

# %% [markdown]
# ## Summary
#
# * Grad-CAM weighs the channels of a conv layer by their **mean gradient**,
#   $\alpha^c_k = \frac{1}{mn}\sum_{ij}\partial y^c/\partial A^k_{ij}$, sums them and keeps the
#   positive part, $L^c = \mathrm{ReLU}(\sum_k \alpha^c_k A^k)$, then upsamples.
# * It is **class-discriminative** and cheap (one forward and one backward pass), but coarse, and it
#   is not complete: the map says *where*, not *how much*.
# * The layer sets the trade-off between resolution and semantics; the last conv layer is the
#   default. Guided Grad-CAM adds pixel detail; counterfactual Grad-CAM shows evidence against.
# * With a GAP head Grad-CAM is CAM up to the factor $1/(mn)$.
