"""The CAM family on the Grad-CAM base (`gradcam.py`): each variant is only its weights.

Notation as in gradcam.py: A^k the k-th (m × n) feature map of the chosen layer, S^c the class
score (a logit), g^k_ij = ∂S^c/∂A^k_ij. Every variant computes

    L^c = ReLU(Σ_k w^c_k ⊙ A^k),   then a bilinear resize to the input (upsample=True),

with channel weights w^c_k (one number per map) or element-wise weights (an m × n array per map):

    Grad-CAM++   w_k = Σ_ij a^k_ij ReLU(g^k_ij),  a^k_ij = (g^k_ij)² / (2(g^k_ij)² + Σ_ab A^k_ab (g^k_ij)³)
    XGrad-CAM    w_k = Σ_ij (A^k_ij / Σ_ab A^k_ab) g^k_ij
    HiResCAM     w_k = g^k                         (element-wise: L = Σ_k g^k ⊙ A^k)
    LayerCAM     w_k = ReLU(g^k)                   (element-wise)
    Score-CAM    w_k = softmax_k S^c(x ⊙ H^k),  H^k = A^k upsampled, min-max scaled to [0, 1]
    Eigen-CAM    L = (A − Ā) v₁, v₁ the first right-singular vector; no class, no gradient

The gradient-based ones go through `class_activation_maps`; Score-CAM and Eigen-CAM take A from
a forward pass alone (`layer_activation`). None of them rescales L to [0, 1] (pytorch-grad-cam
does, for display): the numbers are the equations' own. As `grad_cam`: target=None explains each
row's predicted class, and Captum's `relu_attributions` is accepted for relu.
"""

from __future__ import annotations

import numpy as np

from minicnn import nn

from .captum_names import captum_names
from .gradcam import (
    ChannelWeights,
    check_flag,
    class_activation_maps,
    layer_activation,
    upsample_maps,
    upsampled_to_input,
    weighted_sum,
)
from .inputs import ArrayLike, LayerLike, TargetLike, eval_mode, explained_targets, forward_scores, prepare_input

__all__ = [
    "grad_cam_plus_plus", "xgrad_cam", "hires_cam", "layer_cam", "score_cam", "eigen_cam",
    "grad_cam_plus_plus_weights", "xgrad_cam_weights", "hires_cam_weights", "layer_cam_weights",
    "score_cam_weights", "eigen_cam_maps",
]


def _divide_or_zero(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (an all-zero gradient or map)."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape), dtype=numerator.dtype)
    return np.divide(numerator, denominator, out=out, where=denominator != 0)


# ---- channel / element-wise weights (A, G) ↦ w ---------------------------------------------------
def grad_cam_plus_plus_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ (Chattopadhyay et al., WACV 2018, eq. 19):

        a^k_ij = g² / (2g² + Σ_ab A^k_ab · g³),   w_k = Σ_ij a^k_ij · ReLU(g^k_ij),   g = ∂S^c/∂A^k_ij

    The closed form assumes the explained output is Y^c = exp(S^c) over a piecewise-linear
    (ReLU) network: then ∂²Y/∂A² = exp(S)g² and ∂³Y/∂A³ = exp(S)g³, and exp(S) cancels in a^k_ij
    (the paper's §3.3; pytorch-grad-cam issue 369: for any other output these are not its
    higher derivatives). The paper's weights are exp(S^c) times ours: a positive constant per
    image, dropped (as pytorch-grad-cam does) because exp(S^c) overflows for large logits and only
    scales the map. a^k_ij = 0 where g = 0 (pytorch-grad-cam adds ε = 1e-6 to the denominator
    instead; here the equation is exact).
    """
    g2 = gradients**2
    denominator = 2 * g2 + activations.sum(axis=(2, 3), keepdims=True) * gradients**3
    a = _divide_or_zero(g2, denominator)
    return (a * np.maximum(gradients, 0)).sum(axis=(2, 3))


def xgrad_cam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """XGrad-CAM (Fu et al., BMVC 2020, eq. 11): w_k = Σ_ij (A^k_ij / Σ_ab A^k_ab) · ∂S^c/∂A^k_ij;
    0 for a map whose sum is 0 (pytorch-grad-cam adds 1e-7 instead)."""
    totals = activations.sum(axis=(2, 3))
    return _divide_or_zero((activations * gradients).sum(axis=(2, 3)), totals)


def hires_cam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """HiResCAM (Draelos & Carin 2020): the gradient itself, element-wise, L = Σ_k g^k ⊙ A^k.
    With global average pooling and one linear layer after A, g^k_ij = w_ck/(m·n) is constant
    over (i, j), and HiResCAM equals Grad-CAM, which equals CAM (Zhou et al. 2016) Σ_k w_ck A^k
    divided by m·n."""
    return gradients


def layer_cam_weights(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """LayerCAM (Jiang et al., IEEE TIP 2021, eq. 5): element-wise ReLU(∂S^c/∂A^k_ij)."""
    return np.maximum(gradients, 0)


def _gradient_cam(model: nn.Module, x: ArrayLike, target: TargetLike, layer: LayerLike, relu: bool, upsample: bool,
                  weights: ChannelWeights) -> np.ndarray:
    return upsampled_to_input(class_activation_maps(model, x, target, layer, weights, relu), x, upsample)


# Each: (N, H, W), or the layer's (N, m, n) if not upsample; arguments as `grad_cam`.
@captum_names("relu_attributions")
def grad_cam_plus_plus(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
                       relu: bool = True, upsample: bool = True) -> np.ndarray:
    """Grad-CAM++ L = ReLU(Σ_k w_k A^k), w = `grad_cam_plus_plus_weights` (assumes Y = exp(S^c))."""
    return _gradient_cam(model, x, target, layer, relu, upsample, grad_cam_plus_plus_weights)


@captum_names("relu_attributions")
def xgrad_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
              relu: bool = True, upsample: bool = True) -> np.ndarray:
    """XGrad-CAM L = ReLU(Σ_k w_k A^k), w_k = Σ_ij (A^k_ij / Σ_ab A^k_ab) ∂S^c/∂A^k_ij."""
    return _gradient_cam(model, x, target, layer, relu, upsample, xgrad_cam_weights)


@captum_names("relu_attributions")
def hires_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
              relu: bool = True, upsample: bool = True) -> np.ndarray:
    """HiResCAM L = ReLU(Σ_k ∂S^c/∂A^k ⊙ A^k), element-wise."""
    return _gradient_cam(model, x, target, layer, relu, upsample, hires_cam_weights)


@captum_names("relu_attributions")
def layer_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
              relu: bool = True, upsample: bool = True) -> np.ndarray:
    """LayerCAM L = ReLU(Σ_k ReLU(∂S^c/∂A^k) ⊙ A^k), element-wise."""
    return _gradient_cam(model, x, target, layer, relu, upsample, layer_cam_weights)


# ---- gradient-free: Score-CAM and Eigen-CAM ------------------------------------------------------
def _batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected an int ≥ 1, got {batch_size!r}")
    return int(batch_size)


def score_cam_weights(model: nn.Module, x: np.ndarray, targets: np.ndarray, activations: np.ndarray,
                      batch_size: int = 64) -> np.ndarray:
    """Score-CAM (Wang et al., CVPR-W 2020, eqs. 4–6) channel weights, shape (N, K):

        H^k = s(Up(A^k)),  s(M) = (M − min M)/(max M − min M)  (0 for a constant map)
        w_k = softmax_k( S^c(x ⊙ H^k) )

    The paper's increase of confidence S^c(x ⊙ H^k) − S^c(x_b) differs from S^c(x ⊙ H^k) by a
    constant over k, which the softmax removes. Up is our bilinear resize with half-pixel centres
    (pytorch-grad-cam uses UpsamplingBilinear2d, align_corners=True). The N·K masked inputs go
    through the model `batch_size` at a time (channels of several images share a batch)."""
    n, k = activations.shape[:2]
    masks = upsample_maps(activations.reshape(n * k, *activations.shape[2:]), x.shape[2:]).reshape(n, k, *x.shape[2:])
    low, high = masks.min(axis=(2, 3), keepdims=True), masks.max(axis=(2, 3), keepdims=True)
    masks = _divide_or_zero(masks - low, np.broadcast_to(high - low, masks.shape))
    scores = np.empty(n * k, dtype=np.float64)
    rows = np.repeat(np.arange(n), k)  # masked input p ↔ (image p // K, channel p % K)
    for start in range(0, n * k, batch_size):
        p = np.arange(start, min(start + batch_size, n * k))
        masked = x[rows[p]] * masks[rows[p], p % k][:, None]  # the mask broadcast over colour channels
        scores[p] = forward_scores(model, masked.astype(x.dtype), targets[rows[p]])
    scores = scores.reshape(n, k)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@captum_names("relu_attributions")
def score_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None, relu: bool = True,
              upsample: bool = True, batch_size: int = 64) -> np.ndarray:
    """Score-CAM L^c = ReLU(Σ_k w_k A^k), w = `score_cam_weights` (one forward pass per masked
    input, no gradient); (N, H, W), or (N, m, n) if not upsample. Other arguments as `grad_cam`."""
    check_flag("relu", relu)
    batch_size = _batch_size(batch_size)
    x = prepare_input(x, model)
    with eval_mode(model):
        targets = explained_targets(model, x, target)
        activations = layer_activation(model, x, layer)
        weights = score_cam_weights(model, x, targets, activations, batch_size)
    maps = weighted_sum(weights.astype(activations.dtype), activations)
    return upsampled_to_input(np.maximum(maps, 0) if relu else maps, x, upsample)


def eigen_cam_maps(activations: np.ndarray) -> np.ndarray:
    """Eigen-CAM (Muhammad & Yeasin, IJCNN 2020) before the ReLU, (N, m, n): per image, the
    (m·n) × K matrix M of A (one row per position), centred per channel as pytorch-grad-cam does
    (the paper does not centre), projected on its first right-singular vector v₁: L = (M − M̄) v₁.

    A singular vector's sign is arbitrary (SVD libraries differ); it is chosen so that L
    correlates positively with the plain channel sum Σ_k A^k (so the map highlights where the
    feature maps are high)."""
    n, k, m, w = activations.shape
    matrix = activations.reshape(n, k, m * w).transpose(0, 2, 1).astype(np.float64)
    centred = matrix - matrix.mean(axis=1, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    projection = np.einsum("npk,nk->np", centred, vt[:, 0])
    total = centred.sum(axis=2)
    sign = np.where(np.einsum("np,np->n", projection, total) < 0, -1.0, 1.0)
    return (sign[:, None] * projection).reshape(n, m, w).astype(activations.dtype)


@captum_names("relu_attributions")
def eigen_cam(model: nn.Module, x: ArrayLike, target: TargetLike = None, layer: LayerLike = None,
              relu: bool = True, upsample: bool = True) -> np.ndarray:
    """Eigen-CAM L = ReLU((M − M̄) v₁) (`eigen_cam_maps`); (N, H, W), or (N, m, n) if not upsample.

    **Class-agnostic**: the map depends on A alone, so `target` is accepted (for a common
    signature) and ignored; every class gets the same map. No gradient is taken."""
    check_flag("relu", relu)
    x = prepare_input(x, model)
    with eval_mode(model):
        activations = layer_activation(model, x, layer)
    maps = eigen_cam_maps(activations)
    return upsampled_to_input(np.maximum(maps, 0) if relu else maps, x, upsample)
