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
from typing import Callable

from .. import deeplift, grad_cam, gradient_x_input, guided_grad_cam, integrated_gradients, saliency
from .. import lrp, noise_tunnel  # issue 15
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

    def __call__(self, model, x, target, steps=None):
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


def names(controls=False) -> tuple:
    """The registered names in order; the controls only when asked for."""
    return tuple(name for name, m in METHODS.items() if controls or not m.control)


def get(name) -> Method:
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
register(Method("lrp_epsilon", lrp, "LRP-ε", "LRP\nε", {"rule": "epsilon", "epsilon": 1e-6}))
register(Method("lrp_epsilon_plus_flat", lrp, "LRP ε-z⁺-flat", "LRP\nε-z⁺-flat", {"composite": "epsilon_plus_flat"},
                class_discriminative=True))
register(Method("smoothgrad", partial(noise_tunnel, "saliency"), "SmoothGrad", "SmoothGrad",
                {"mode": "smoothgrad", "samples": 50, "stdev": 0.15}, sign="positive"))
register(Method("vargrad", partial(noise_tunnel, "saliency"), "VarGrad", "VarGrad",
                {"mode": "vargrad", "samples": 50, "stdev": 0.15}, sign="positive"))

register(Method("random", random_attribution, "Random (control)", "Random", control=True))
register(Method("centre_gaussian", centre_gaussian_attribution, "Centre Gaussian (control)", "Centre\nGaussian",
                control=True))
