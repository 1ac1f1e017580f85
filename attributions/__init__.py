"""attributions: DeepLIFT, Integrated Gradients and Grad-CAM built on minicnn's backward pass,
after the poster "Backpropagation-based visualization methods for explaining CNNs" (Christian
Ickler, Friedrich Schiller University Jena, AI Summer School 2023).

    import attributions as A
    A.saliency(model, x, target)
    A.gradient_x_input(model, x, target)
    A.integrated_gradients(model, x, target, baseline=None, steps=50, method="riemann_trapezoid")
    A.deeplift(model, x, target, baseline=None, rule="rescale" | "reveal_cancel")
    A.grad_cam(model, x, target, layer=None)          # (N, H, W)
    A.guided_grad_cam(model, x, target, layer=None)
    A.completeness_delta(model, attributions, x, target, baseline=None)
    A.lrp(model, x, target, rule="epsilon" | "gamma" | "alpha_beta" | "zplus", composite=None)
    A.noise_tunnel(method, model, x, target, samples=50, stdev=0.15, mode="smoothgrad")

Every method runs the model in eval mode (restoring the caller's mode), leaves the parameters'
`.grad` untouched, and returns ndarrays shaped like x (Grad-CAM: (N, H, W)).

Layout: the methods (gradients.py, integrated_gradients.py, deeplift_rules/, gradcam.py,
baselines.py, completeness.py, inputs.py), metrics/, visualize.py (pictures of maps),
app/ (the command line, demo, compare and the method registry they share), reproduce/ (published
experiments rerun: `python -m attributions reproduce NAME`), exercises.py.
`A.visualize` is imported on first use, so `import attributions` does not load matplotlib.
"""

import importlib

from . import metrics
from .baselines import blurred_baseline, mean_baseline, uniform_noise_baseline, zero_baseline
from .completeness import completeness_delta
from .deeplift_rules import DeepLiftError, deeplift, deeplift_multipliers
from .gradcam import find_layer, grad_cam, grad_cam_maps, guided_backprop, guided_grad_cam
from .gradients import gradient_x_input, input_gradient, saliency
from .integrated_gradients import integrated_gradients, quadrature

# ---- beyond the poster: LRP and noise (issue 15) ----
from .lrp_rules import LrpError, lrp
from .noise_tunnel import noise_tunnel
# beyond the poster (issue 15): the CAM family, several baselines, layers, occlusion, deconvolution
from .cam_variants import eigen_cam, grad_cam_plus_plus, hires_cam, layer_cam, score_cam, xgrad_cam
from .deconvolution import deconvolution
from .deeplift_shap import deeplift_shap
from .expected_gradients import expected_gradients
from .layer_attribution import conductance, layer_deeplift, layer_integrated_gradients, layer_map, neuron_conductance
from .occlusion import occlusion

__all__ = [
    "saliency", "gradient_x_input", "input_gradient",
    "integrated_gradients", "quadrature",
    "deeplift", "deeplift_multipliers", "DeepLiftError",
    "grad_cam", "grad_cam_maps", "guided_backprop", "guided_grad_cam", "find_layer",
    "completeness_delta",
    "zero_baseline", "blurred_baseline", "uniform_noise_baseline", "mean_baseline",
    "metrics", "visualize",
    # beyond the poster (issue 15)
    "grad_cam_plus_plus", "xgrad_cam", "hires_cam", "layer_cam", "score_cam", "eigen_cam",
    "expected_gradients", "deeplift_shap",
    "layer_integrated_gradients", "layer_deeplift", "conductance", "neuron_conductance", "layer_map",
    "occlusion", "deconvolution",
]
__all__ += ["lrp", "LrpError", "noise_tunnel"]  # issue 15


def __getattr__(name):
    # PEP 562: `A.visualize` works after a plain `import attributions`, loading matplotlib only then.
    if name == "visualize":
        return importlib.import_module(".visualize", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
