"""The one method registry: every command (demo, explain, compare) and every figure takes its
methods, their names, labels and claimed properties from here.

    from attributions.app.registry import METHODS, register, get, Method
    get("deeplift_rescale")(model, x, target)          # runs A.deeplift(..., rule="rescale")
    register(Method("lrp_epsilon", A.lrp, "LRP-ε", "LRP\\nε", settings={"rule": "epsilon"}, ...))

A method is registered by one call; its place in METHODS is the column order of the tables and
figures. The claimed columns of Table 1 of the poster "Backpropagation-based visualization methods
for explaining CNNs" (Christian Ickler, Friedrich Schiller University Jena, AI Summer School 2023)
(reference required, class-discriminative,
operating area, sign) are the methods' design properties as usually summarised (Grad-CAM paper,
Table 1; DeepLIFT §3; IG §3); the demo measures the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Optional

import numpy as np

from minicnn import nn

from .. import deeplift, grad_cam, gradient_x_input, guided_grad_cam, integrated_gradients, saliency
from .. import lrp, noise_tunnel  # issue 15
from ..inputs import ArrayLike, TargetLike
from ..metrics import centre_gaussian_attribution, random_attribution

__all__ = ["Method", "METHODS", "IG_STEPS", "register", "get", "names"]

IG_STEPS = 50  # the poster's setting; `--ig-steps` changes it for one run


@dataclass(frozen=True)
class Method:
    """One attribution method as the commands see it.

    name           -- the command-line name (`--method deeplift_rescale`)
    function       -- the library function, called as function(model, x, target, **settings)
    label          -- the name in tables and legends ("DeepLIFT-Rescale")
    title          -- the column title of figures (may break the line)
    settings       -- fixed keyword arguments ({"rule": "rescale"})
    needs_baseline -- explains x relative to a reference x′ (Table 1: "reference required")
    needs_layer    -- works on the feature maps of a layer (the CAM family)
    takes_steps    -- accepts `steps=` (the path methods: its number is a run setting)
    class_discriminative, area, sign -- the claimed columns of Table 1
    control        -- a control "explanation" every method must beat, not a method
    in_demo        -- one of the poster's methods in `demo`'s Table 1 and Figure 1 (the methods
                      added beyond the poster are False: `explain` and `compare` still run them)
    """

    name: str
    function: Callable
    label: str
    title: str
    settings: dict = field(default_factory=dict)
    needs_baseline: bool = False
    needs_layer: bool = False
    takes_steps: bool = False
    class_discriminative: bool = False
    area: str = "input"
    sign: str = "signed"
    control: bool = False
    in_demo: bool = True

    def __call__(self, model: nn.Module, x: ArrayLike, target: TargetLike, steps: Optional[int] = None) -> np.ndarray:
        """Attributions for batch x and target(s); `steps` only for methods that take steps."""
        extra = {"steps": IG_STEPS if steps is None else steps} if self.takes_steps else {}
        return self.function(model, x, target, **self.settings, **extra)


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add `method` (at the end of the order); a name may be registered once."""
    if method.name in METHODS:
        raise ValueError(f"method: {method.name!r} is already registered")
    METHODS[method.name] = method
    return method


def names(controls: bool = False, beyond_demo: bool = False) -> tuple[str, ...]:
    """The registered names in order: the demo's methods, and the controls and the methods
    beyond the poster (in_demo=False) only when asked for."""
    return tuple(name for name, m in METHODS.items()
                 if (controls or not m.control) and (beyond_demo or m.in_demo or m.control))


def get(name: str) -> Method:
    """The method called `name`; ValueError listing the registered names otherwise."""
    if name not in METHODS:
        raise ValueError(f"method: expected one of {', '.join(names(controls=True))}, got {name!r}")
    return METHODS[name]


register(Method("saliency", saliency, "Saliency", "Saliency", sign="positive"))
register(Method("gradient_x_input", gradient_x_input, "Gradient × input", "Gradient × input"))
register(Method("deeplift_rescale", deeplift, "DeepLIFT-Rescale", "DeepLIFT\nRescale", {"rule": "rescale"},
                needs_baseline=True, class_discriminative=True))
register(Method("deeplift_reveal_cancel", deeplift, "DeepLIFT-RevealCancel", "DeepLIFT\nRevealCancel",
                {"rule": "reveal_cancel"}, needs_baseline=True, class_discriminative=True))
register(Method("integrated_gradients", integrated_gradients, "Integrated Gradients", "Integrated\nGradients",
                needs_baseline=True, takes_steps=True, class_discriminative=True))
register(Method("grad_cam", grad_cam, "Grad-CAM", "Grad-CAM", needs_layer=True, class_discriminative=True,
                area="feature maps", sign="positive"))
register(Method("guided_grad_cam", guided_grad_cam, "Guided Grad-CAM", "Guided\nGrad-CAM", needs_layer=True,
                class_discriminative=True, area="input + feature maps"))
# ---- beyond the poster: LRP and noise (issue 15) ----
# LRP-ε is gradient × input in disguise on ReLU nets (Ancona et al. 2018), so it claims what
# gradient × input claims; the composite is the recommended practice (Kohlbrenner et al. 2020,
# "Towards best practice in explaining neural network decisions with LRP"), class-discriminative
# through its ε upper layers. SmoothGrad/VarGrad wrap saliency: magnitudes, hence positive.
# Not in the demo's Table 1 (in_demo=False): the demo is the poster's seven methods.
register(Method("lrp_epsilon", lrp, "LRP-ε", "LRP\nε", {"rule": "epsilon", "epsilon": 1e-6}, in_demo=False))
register(Method("lrp_epsilon_plus_flat", lrp, "LRP ε-z⁺-flat", "LRP\nε-z⁺-flat", {"composite": "epsilon_plus_flat"},
                class_discriminative=True, in_demo=False))
register(Method("smoothgrad", partial(noise_tunnel, "saliency"), "SmoothGrad", "SmoothGrad",
                {"mode": "smoothgrad", "samples": 50, "stdev": 0.15}, sign="positive", in_demo=False))
register(Method("vargrad", partial(noise_tunnel, "saliency"), "VarGrad", "VarGrad",
                {"mode": "vargrad", "samples": 50, "stdev": 0.15}, sign="positive", in_demo=False))

register(Method("random", random_attribution, "Random (control)", "Random", control=True))
register(Method("centre_gaussian", centre_gaussian_attribution, "Centre Gaussian (control)", "Centre\nGaussian",
                control=True))


# ---- beyond the poster (issue 15): not in the demo's Table 1 (in_demo=False) ------------------------
from .. import (  # noqa: E402  (kept in this block so that other additions merge without conflicts)
    conductance, deconvolution, deeplift_shap, eigen_cam, expected_gradients, grad_cam_plus_plus, hires_cam,
    layer_cam, layer_deeplift, layer_integrated_gradients, layer_map, occlusion, score_cam, xgrad_cam,
)
from ..baselines import uniform_noise_baseline  # noqa: E402

REFERENCES = 8  # baselines of the multi-baseline methods in the commands


def references(x):
    """The baselines the commands give the multi-baseline methods: 8 seeded images of uniform noise
    over x's value range, one set shared by every row (`A.expected_gradients(..., baselines=)`)."""
    low, high = float(np.min(x)), float(np.max(x))
    return uniform_noise_baseline(np.zeros((REFERENCES,) + np.shape(x)[1:]), low, max(high, low + 1e-12), seed=0)


def _with_references(method):
    def explain(model, x, target, **settings):
        return method(model, x, target, baselines=references(x), **settings)

    explain.__name__ = method.__name__
    return explain


def _as_picture(layer_method):
    """A layer attribution at the default layer shown like Grad-CAM: channels summed, resized to x."""
    def explain(model, x, target, **settings):
        return layer_map(layer_method(model, x, target, layer=None, **settings), x)

    explain.__name__ = layer_method.__name__
    return explain


_CAM: dict[str, Any] = dict(needs_layer=True, class_discriminative=True, area="feature maps", sign="positive",
                            in_demo=False)
register(Method("grad_cam_plus_plus", grad_cam_plus_plus, "Grad-CAM++", "Grad-CAM++", **_CAM))
register(Method("xgrad_cam", xgrad_cam, "XGrad-CAM", "XGrad-CAM", **_CAM))
register(Method("hires_cam", hires_cam, "HiResCAM", "HiResCAM", **_CAM))
register(Method("layer_cam", layer_cam, "LayerCAM", "LayerCAM", **_CAM))
register(Method("score_cam", score_cam, "Score-CAM", "Score-CAM", **_CAM))
register(Method("eigen_cam", eigen_cam, "Eigen-CAM", "Eigen-CAM", **{**_CAM, "class_discriminative": False}))
register(Method("expected_gradients", _with_references(expected_gradients), "Expected Gradients",
                "Expected\nGradients", needs_baseline=True, class_discriminative=True, in_demo=False))
register(Method("deeplift_shap", _with_references(deeplift_shap), "DeepLIFT-SHAP", "DeepLIFT\nSHAP",
                needs_baseline=True, class_discriminative=True, in_demo=False))
_LAYER: dict[str, Any] = dict(needs_layer=True, needs_baseline=True, class_discriminative=True, area="feature maps",
                              in_demo=False)
register(Method("layer_integrated_gradients", _as_picture(layer_integrated_gradients), "Layer IG", "Layer\nIG",
                takes_steps=True, **_LAYER))
register(Method("layer_deeplift", _as_picture(layer_deeplift), "Layer DeepLIFT", "Layer\nDeepLIFT", **_LAYER))
register(Method("conductance", _as_picture(conductance), "Layer conductance", "Layer\nconductance",
                takes_steps=True, **_LAYER))
register(Method("occlusion", occlusion, "Occlusion", "Occlusion", needs_baseline=True, class_discriminative=True,
                in_demo=False))
register(Method("deconvolution", deconvolution, "Deconvolution", "Deconvolution", in_demo=False))
