# %% [markdown]
# # 09 · Explaining an ImageNet CNN
#
# Notebooks 04–08 explained small networks trained here on digits, faces and shapes. Figure 1 of
# the poster "Backpropagation-based visualization methods for explaining CNNs" (Christian Ickler,
# Friedrich Schiller University Jena, AI Summer School 2023) shows the same methods on
# **state-of-the-art ImageNet CNNs and photographs**. `minicnn.models` builds those networks with
# torchvision's module names (`resnet18`, `resnet50`, `vgg16`, `densenet121`, …), so torchvision's
# pretrained weights load unchanged — but no weights ship with this project and nothing is
# downloaded: they are your own file.
#
# In this notebook you will
#
# 1. follow torchvision's input pipeline step by step on a bundled photograph;
# 2. write the bin edges of **adaptive average pooling**, the layer that lets an ImageNet CNN take
#    any input size (Exercise 9.1);
# 3. draw the poster's Figure 1 — DeepLIFT, Integrated Gradients and Grad-CAM for the top two
#    classes — on the bundled photos, with seeded random weights unless you give a weights file;
# 4. see why DeepLIFT on a ResNet needs rules keyed by the **graph's op nodes** rather than by
#    modules, and check summation-to-delta on ResNet-18 to machine precision.

# %%
%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from PIL import Image

import attributions as A
import minicnn as mc
import minicnn.functional as F
from attributions import exercises
from attributions.app.imagenet_weights import GRADCAM_LAYERS, load_imagenet_model
from attributions.app.photos import explain_photo, format_probability, top_classes
from attributions.app.plots import photo_figure
from minicnn import nn
from minicnn.autograd import topological_order
from minicnn.data import (IMAGENET_MEAN, IMAGENET_STD, PHOTOS, imagenet_preprocess, imagenet_unnormalize,
                          load_photos, photos_batch)
from minicnn.models import resnet18
from minicnn.ops.activations import Relu

np.set_printoptions(precision=4, suppress=True)


def no_ticks(axes):
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])

# %% [markdown]
# ## 1. The input pipeline
#
# torchvision evaluates its ImageNet weights on `Resize(256) → CenterCrop(224) → ToTensor() →
# Normalize(mean, std)`. A model trained on that input only means something on that input, so we
# reproduce it exactly (`minicnn.data.imagenet_preprocess` does; here it is step by step):
#
# 1. **resize** so the *shorter* side is 256 pixels (bilinear, antialiased: Pillow's filter);
# 2. cut the central **224 × 224** square;
# 3. scale to **[0, 1]** and move the channels first: (3, 224, 224);
# 4. **normalise** each channel, $x_c \leftarrow (x_c - \mu_c)/\sigma_c$ with the ImageNet
#    training set's $\mu = (0.485, 0.456, 0.406)$ and $\sigma = (0.229, 0.224, 0.225)$.
#
# For display we undo step 4 (`imagenet_unnormalize`).

# %%
_, (cat,) = load_photos(["chelsea"])
print("as shipped:", cat.shape, cat.dtype)

height, width = cat.shape[:2]
scale = 256 / min(height, width)
resized = np.asarray(Image.fromarray(cat).resize((int(width * scale), int(height * scale)), Image.Resampling.BILINEAR))
top, left = round((resized.shape[0] - 224) / 2), round((resized.shape[1] - 224) / 2)
cropped = resized[top:top + 224, left:left + 224]
scaled = cropped.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
normalised = (scaled - np.array(IMAGENET_MEAN, np.float32)[:, None, None]) / np.array(IMAGENET_STD, np.float32)[:, None, None]
print("resized:", resized.shape, " cropped:", cropped.shape, " model input:", normalised.shape, normalised.dtype)
print("per-channel mean of the input:", normalised.mean(axis=(1, 2)), " (0 = the ImageNet average colour)")

library = imagenet_preprocess(cat, dtype=np.float32)
print("max |by hand − imagenet_preprocess| =", np.abs(normalised - library).max())

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
axes[0].imshow(cat)
axes[0].set_title(f"as shipped {cat.shape[0]}×{cat.shape[1]}", fontsize=9)
axes[1].imshow(resized)
axes[1].set_title(f"shorter side 256: {resized.shape[0]}×{resized.shape[1]}", fontsize=9)
axes[2].imshow(normalised[0], cmap="gray")
axes[2].set_title("normalised, red channel\n(mean 0, std ≈ 1)", fontsize=9)
axes[3].imshow(imagenet_unnormalize(normalised))
axes[3].set_title("224×224 crop, unnormalised", fontsize=9)
no_ticks(axes)
plt.tight_layout()
plt.show()

# %% [markdown]
# Both attribution baselines of this notebook are $x' = 0$ **in normalised coordinates**: the
# ImageNet average colour everywhere (a grey-brown), not black. DeepLIFT and IG explain how the
# photo differs from that flat image.
#
# ## 2. Adaptive average pooling
#
# After its last convolution a ResNet has 512 (ResNet-50: 2048) maps of 7 × 7 on a 224 × 224 input,
# and `AdaptiveAvgPool2d(1)` averages each to one number for the linear classifier; VGG and AlexNet
# pool to 7 × 7 and 6 × 6. *Adaptive* pooling fixes the **output** size and chooses the windows
# from the input size, so the same network takes 64 × 64 or 300 × 400 inputs (we use that in §4).
#
# PyTorch's windows along an axis of `size` inputs and `bins` outputs: bin $i$ averages the inputs
#
# $$\Big\lfloor \frac{i \cdot \text{size}}{\text{bins}} \Big\rfloor \;\le\; r \;<\; \Big\lceil \frac{(i+1)\cdot \text{size}}{\text{bins}} \Big\rceil .$$
#
# The start rounds down and the end rounds up, so every input lands in a bin, and when `bins` does
# not divide `size` neighbouring bins **overlap** (AlexNet's 13 → 6). The averaging is linear,
# so DeepLIFT's rule for it is the gradient itself (`docs/methods.md`).

# %%
# Exercise 9.1: adaptive average pooling bin edges
def adaptive_bins(size, bins):
    """[(start, end)] for each of the `bins` outputs over `size` inputs; end is exclusive."""
    ### BEGIN SOLUTION
    return [(i * size // bins, -(-(i + 1) * size // bins)) for i in range(bins)]  # -(-a // b) = ⌈a / b⌉
    ### END SOLUTION


print(adaptive_bins(13, 6))

# %%
exercises.check_adaptive_bins(adaptive_bins)

# %% [markdown]
# With the bins, adaptive pooling is a few lines of NumPy; it agrees with the engine's
# `F.adaptive_avg_pool2d` (a Numba kernel):

# %%
rng = np.random.default_rng(9)
maps = rng.normal(size=(2, 3, 13, 10))
by_hand = np.array([[[[maps[n, c, r0:r1, c0:c1].mean() for c0, c1 in adaptive_bins(10, 4)]
                      for r0, r1 in adaptive_bins(13, 6)] for c in range(3)] for n in range(2)])
print("output", by_hand.shape, " max |by hand − engine| =", np.abs(by_hand - F.adaptive_avg_pool2d(maps, (6, 4)).data).max())

# %% [markdown]
# ## 3. Figure 1 on the bundled photographs
#
# `minicnn.data.PHOTOS` are real photographs shipped inside scikit-image (Chelsea the cat, a cup of
# coffee, a rocket, …). Figure 1 for each: the photo; DeepLIFT (Rescale) and Integrated Gradients
# for the top class (top row); Grad-CAM at the last convolutional stage for the **top two** classes
# (bottom row, so one can see whether the maps tell the classes apart); the top-5 softmax
# probabilities. `python -m attributions explain --arch resnet18 --weights W --image photo.jpg`
# draws the same figure for your own photo.
#
# Set `WEIGHTS` to a weights file for real explanations. To get one: on a machine with internet,
# `torch.save(torchvision.models.resnet18(weights="IMAGENET1K_V1").state_dict(), "resnet18.pth")`,
# then `python -m minicnn.convert resnet18.pth resnet18.safetensors --arch resnet18`.

# %%
WEIGHTS = None  # or "resnet18.safetensors" (a .npz, .safetensors or .pth file of torchvision's resnet18)
ARCH = "resnet18"
IG_STEPS = 8  # the poster uses 50; 8 keeps this notebook quick (the completeness gap below shows the cost)

if WEIGHTS is None:
    mc.manual_seed(0)  # seeded random weights: reproducible, but they have learned nothing
    model = resnet18(num_classes=1000).to(np.float32).eval()
else:
    model = load_imagenet_model(ARCH, WEIGHTS)  # float32, eval mode
print(f"{ARCH}: {sum(p.data.size for p in model.parameters()):,} parameters ({'random' if WEIGHTS is None else WEIGHTS}); "
      f"Grad-CAM layer {GRADCAM_LAYERS[ARCH]!r}")

# %%
names = ["chelsea", "coffee"]  # add "rocket", "astronaut", … (minicnn.data.PHOTOS): each takes a few seconds
x_photos, _ = photos_batch(names, dtype=np.float32)
explanations = {}
for name, x in zip(names, x_photos):
    start = time.perf_counter()
    explanations[name] = e = explain_photo(model, x[None], ARCH, ig_steps=IG_STEPS)
    print(f"{name:8s} label {PHOTOS[name].imagenet_class!r:11s} top-3:",
          ", ".join(f"{c} {format_probability(p)}" for _, c, p in top_classes(e.probabilities, 3)),
          f"| Σ − Δt: DeepLIFT {e.deltas['DeepLIFT']:.1e}, IG {e.deltas['Integrated Gradients']:.1e}",
          f"| {time.perf_counter() - start:.1f} s")

# %%
for name, e in explanations.items():
    display(photo_figure(e, f"{name} (label: {PHOTOS[name].imagenet_class})",
                         f"{ARCH} ({'seeded random weights' if WEIGHTS is None else WEIGHTS})"))

# %% [markdown]
# **With random weights the maps are not explanations of anything.** The network has learned no
# features, so every class gets p ≈ 1/1000, the "top" class is arbitrary, and no class has
# evidence in the photo to point at. What the maps do show is how *untrained* filters respond to
# the image: DeepLIFT and IG follow edges and texture (random convolutions are still edge
# detectors — the point of Adebayo et al.'s sanity checks, 2018), and the two Grad-CAM maps look
# alike and blanket the image, since the two classes' weights are equally meaningless. With real
# weights (set `WEIGHTS`; not run here, since no weights ship with the project) one expects
# Grad-CAM's top-1 map on Chelsea on the cat's face, the runner-up class (another cat breed) on a
# different part, and DeepLIFT and IG on the contours of the eyes, nose and whiskers.
#
# ## 4. DeepLIFT on a ResNet, where module hooks fail
#
# torchvision's `BasicBlock` creates **one** `nn.ReLU` module and calls it twice:
#
# ```python
# out = self.relu(self.bn1(self.conv1(x)))
# out = self.bn2(self.conv2(out))
# return self.relu(out + identity)        # the same module again
# ```
#
# Captum's `DeepLift` is built on module hooks: a forward hook stores *the* input and output of
# each `nn.ReLU` on the module object, and a backward hook replaces the gradient by
# $\Delta y / \Delta z$ computed from them. A module called twice has two inputs and two outputs
# per forward pass, but one place to keep them — Captum detects this and stops with a
# `RuntimeError` ("ensure that module is being used only once"), so it cannot explain
# torchvision's ResNets without rewriting them. minicnn's `BasicBlock` reuses its ReLU the same way
# (the state dicts match either way).
#
# minicnn's DeepLIFT does not look at modules at all: it overrides the backward rule of each **op
# node** that the forward pass records in the graph. Every call of the ReLU module makes its own
# `Relu` node, holding its own input and output (for both rows of the doubled batch $[x; x']$), so
# the rule applies to each use separately:

# %%
relu_modules = [name for name, m in model.named_modules() if isinstance(m, nn.ReLU)]
small = np.asarray(x_photos[:1, :, :64, :64])
out = model(mc.Tensor(small, requires_grad=True))
relu_nodes = [t for t in topological_order([out]) if isinstance(t.creator, Relu)]
print(f"nn.ReLU modules in {ARCH}: {len(relu_modules)}; Relu op nodes in one forward pass: {len(relu_nodes)}")
print("first modules:", relu_modules[:4])

# %% [markdown]
# The same failure, live, on a two-layer torch block that reuses its ReLU like `BasicBlock`
# (skipped if torch and captum are not installed; they are only the `torch` extra):

# %%
try:
    import torch
    from captum.attr import DeepLift
except ImportError:
    print("torch/captum not installed: skipping the Captum comparison (pip install 'minicnn[torch]')")
else:
    class ReusedReluBlock(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = torch.nn.Conv2d(3, 3, 3, padding=1), torch.nn.Conv2d(3, 3, 3, padding=1)
            self.relu = torch.nn.ReLU()
            self.fc = torch.nn.Linear(3 * 8 * 8, 4)

        def forward(self, x):
            out = self.relu(self.conv1(x))
            return self.fc(self.relu(self.conv2(out) + x).flatten(1))  # self.relu, second call

    torch.manual_seed(0)
    block = ReusedReluBlock().double().eval()
    try:
        DeepLift(block).attribute(torch.randn(1, 3, 8, 8, dtype=torch.double), target=0)
        print("Captum's DeepLift ran (this Captum version handles reused modules)")
    except RuntimeError as error:
        print("Captum DeepLift:", type(error).__name__, "—", str(error)[:150], "…")

# %% [markdown]
# **Summation-to-delta on ResNet-18.** DeepLIFT's contributions add up to the change of the target
# logit, $\sum_i C_i = t(x) - t(x')$, exactly — the Rescale rule telescopes through every layer,
# residual additions included. In float64 the gap is rounding error. A 64 × 64 input keeps the cell
# quick (adaptive pooling takes the 2 × 2 maps of `layer4`); the 224 × 224 float32 runs of §3
# printed their gaps too — DeepLIFT's at float32 rounding, IG's at the size of its quadrature
# error with 8 steps, which shrinks as steps are added (notebook 06).

# %%
mc.manual_seed(0)
model64 = resnet18(num_classes=1000).eval() if WEIGHTS is None else load_imagenet_model(ARCH, WEIGHTS, dtype=np.float64)
x64, _ = photos_batch(["chelsea", "coffee"], resize=64, crop=64)  # float64
with mc.no_grad():
    logits = model64(x64).data
targets = logits.argmax(axis=1)
start = time.perf_counter()
contributions, gap = A.deeplift(model64, x64, targets, return_delta=True)
with mc.no_grad():
    delta_t = logits[[0, 1], targets] - model64(np.zeros_like(x64)).data[[0, 1], targets]
print(f"DeepLIFT on {len(x64)} photos at 64×64, float64, {time.perf_counter() - start:.1f} s")
for k in range(2):
    print(f"  Σ C = {contributions[k].sum():+.12f}   t(x) − t(x′) = {delta_t[k]:+.12f}   gap {gap[k]:+.1e}")

# %% [markdown]
# ## Summary
#
# * The input pipeline is part of the model: resize 256, crop 224, normalise with ImageNet's mean
#   and std; the baseline $x' = 0$ is then the average colour.
# * Adaptive average pooling picks windows $[\lfloor i n/b \rfloor, \lceil (i+1) n/b \rceil)$, so an
#   ImageNet CNN takes any input size.
# * Figure 1 — DeepLIFT, IG, Grad-CAM for the top two classes — is one command for your own photo:
#
#       python -m attributions explain --arch resnet50 --weights resnet50.safetensors --image photo.jpg
#       python -m attributions demo --dataset photos --arch resnet18 --weights resnet18.safetensors
#
#   (Grad-CAM at `layer4` for ResNets, at `features` for VGG, AlexNet, SqueezeNet, MobileNetV2 and
#   DenseNet.) Random weights give maps of edges, not of objects: always check what a map looks
#   like for an untrained network before reading meaning into it.
# * Rules keyed by op nodes handle what module hooks cannot: a module used twice, as in every
#   torchvision ResNet; summation-to-delta holds there to rounding error.
