"""attributions: DeepLIFT, Integrated Gradients and Grad-CAM built on minicnn's backward pass.

    import attributions as A
    A.deeplift(model, x, target, baseline=None, rule="rescale")
"""

from .deeplift import DeepLiftError, deeplift, deeplift_multipliers

__all__ = ["deeplift", "deeplift_multipliers", "DeepLiftError"]
