"""The main job on a real CNN: the poster's Figure 1 for a photograph and an ImageNet model.

    python -m attributions explain --arch resnet50 --weights resnet50.safetensors --image cat.jpg
    python -m attributions demo --dataset photos --arch resnet18 --weights resnet18.safetensors

For one photo: torchvision's input pipeline (resize 256, centre crop 224, normalise;
`minicnn.data.imagenet_preprocess`), one forward pass for the softmax probabilities, then

* DeepLIFT-Rescale and Integrated Gradients (50 steps) for the target class (default: the top
  one), both against the reference x′ = 0, which in normalised coordinates is the mean ImageNet
  colour everywhere;
* Grad-CAM at the architecture's last convolutional stage (`GRADCAM_LAYERS`) for the target and
  for the strongest other class, so the figure shows whether the two maps point at different
  parts of the photo (class discrimination).

Everything runs in float32 with Integrated Gradients' 50 interpolated images sent through the
network `IG_BATCH_ROWS` at a time: the activations of one 224×224 row of a ResNet-50 take about
0.2 GB for the backward pass, and IG's own byte cap (`MAX_BATCH_BYTES`, 64 MB of *inputs*,
i.e. ~110 rows at 224×224) would let them grow to tens of GB.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional

import numpy as np
import numpy.typing as npt

import minicnn as mc
from minicnn import nn

from .. import deeplift, grad_cam, integrated_gradients
from ..inputs import model_dtype, prepare_input
from .errors import CLIError, UsageError
from .image_files import checked_image_size, shape_notes
from .imagenet_weights import GRADCAM_LAYERS
from .registry import IG_STEPS

__all__ = [
    "IG_BATCH_ROWS", "PhotoExplanation", "read_photo", "parse_target", "explain_photo", "top_classes", "format_probability",
    "format_top5_table", "run_photo_demo", "PhotoDemoResult", "photo_arrays",
]

IG_BATCH_ROWS = 8  # interpolated 224×224 images per forward/backward pass (memory stays ~2 GB on ResNet-50)


def read_photo(path: str, dtype: npt.DTypeLike = np.float32) -> tuple[np.ndarray, list[str]]:
    """(x of shape (1, 3, 224, 224), notes): an image file through the ImageNet pipeline.

    Any format Pillow reads (JPEG, PNG, …), within Pillow's pixel limit (checked from the header,
    `image_files.checked_image_size`). A greyscale, RGBA or palette image is converted, a photo
    smaller than 224 pixels is enlarged, a tiny or very elongated one (the centre crop keeps
    little of it) is used as it is; each such change is returned as a note (one line) for the
    command to print, instead of a warning.
    """
    from PIL import Image, UnidentifiedImageError

    from minicnn.data import ImageConversionWarning, imagenet_preprocess

    width, height = checked_image_size(path)
    try:
        with Image.open(path) as opened:
            opened.load()
            picture = opened.copy()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise CLIError(f"cannot read image {path}: {error}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ImageConversionWarning)
        try:
            x = imagenet_preprocess(picture, dtype=dtype)
        except (TypeError, ValueError) as error:
            raise CLIError(f"cannot use image {path}: {error}") from None
    notes = [str(w.message) for w in caught if issubclass(w.category, ImageConversionWarning)]
    return x[None], notes + shape_notes(width, height, (224, 224), crop=True)


def parse_target(text: Optional[str]) -> Optional[int]:
    """--target as given: None or "top" → None (the top class, known after the forward pass);
    an index 0..999 or an ImageNet class name → its index. A name that is not a class raises a
    UsageError suggesting the closest names (`minicnn.data.imagenet_class_index`)."""
    from minicnn.data import imagenet_class_index

    if text is None or text == "top":
        return None
    if text.strip().lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < 1000:
            raise UsageError(f"--target: expected top, an ImageNet class name or an index in [0, 999], got {index}")
        return index
    try:
        return imagenet_class_index(text)
    except ValueError as error:
        raise UsageError(f"--target: {str(error).replace('name ', '', 1)}") from None


def format_probability(p: float) -> str:
    """Three significant digits: 0.412, and 0.00107 (random weights give every class ≈ 1/1000)."""
    return f"{p:.3g}"


def _softmax(logits):
    z = np.exp(logits - logits.max())
    return z / z.sum()


@dataclass
class PhotoExplanation:
    """Everything Figure 1 of one photo shows (maps are float32, the photo's 224×224 grid).

    x            -- (1, 3, 224, 224) the normalised model input
    probabilities -- (1000,) softmax of the logits
    target       -- the class DeepLIFT and IG explain; `contrast` the strongest other class
    deeplift, integrated_gradients -- (3, 224, 224) contributions to the target logit
    grad_cam     -- {class: (224, 224)} for target and contrast, at `layer`
    deltas       -- {"DeepLIFT": Σ C − Δt, "Integrated Gradients": Σ IG − Δt} (completeness check)
    seconds      -- wall time per method
    logits       -- (1000,) the class scores the probabilities are the softmax of
    """

    arch: str
    x: np.ndarray
    probabilities: np.ndarray
    target: int
    contrast: int
    deeplift: np.ndarray
    integrated_gradients: np.ndarray
    grad_cam: dict
    layer: str
    ig_steps: int
    deltas: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    logits: Optional[np.ndarray] = None

    @property
    def top(self) -> int:
        """The class with the largest probability."""
        return int(np.argmax(self.probabilities))


def top_classes(probabilities: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
    """[(index, name, probability)] of the k most probable ImageNet classes, most probable first."""
    from minicnn.data import imagenet_classes

    names = imagenet_classes()
    order = np.argsort(-np.asarray(probabilities), kind="stable")[:k]
    return [(int(i), names[i], float(probabilities[i])) for i in order]


def _timed(seconds, name, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds[name] = time.perf_counter() - start
    return result


def explain_photo(model: nn.Module, x: np.ndarray, arch: str, target: Optional[int] = None, ig_steps: int = IG_STEPS,
                  ig_batch_rows: int = IG_BATCH_ROWS) -> PhotoExplanation:
    """DeepLIFT, Integrated Gradients and two Grad-CAM maps for one preprocessed photo x (1, 3, 224, 224).

    target -- a class index, or None for the top class. Grad-CAM explains the target and the
              most probable other class (with target = top: the top two classes).
    """
    layer = GRADCAM_LAYERS[arch]
    x = prepare_input(x, model)  # the model's dtype (float32 for the commands)
    seconds: dict[str, float] = {}
    with mc.no_grad():
        logits = _timed(seconds, "forward", lambda: model(x).data[0])
    probabilities = _softmax(logits.astype(np.float64))
    order = np.argsort(-probabilities, kind="stable")
    target = int(order[0]) if target is None else int(target)
    contrast = int(next(c for c in order if c != target))
    dl, dl_delta = _timed(seconds, "DeepLIFT", deeplift, model, x, target, return_delta=True)
    ig = _timed(seconds, "Integrated Gradients", integrated_gradients, model, x, target,
                steps=ig_steps, batch_size=ig_batch_rows)
    # Δt = t(x) − t(x′) is Σ C − (DeepLIFT's delta): IG's completeness gap without IG's own two
    # extra forward passes (return_delta=True would run them).
    delta_t = dl[0].sum(dtype=np.float64) - dl_delta[0]
    ig_delta = ig[0].sum(dtype=np.float64) - delta_t
    # one forward/backward pass for both classes: the photo twice, one target per row
    cams = _timed(seconds, "Grad-CAM", grad_cam, model, np.repeat(x, 2, axis=0), [target, contrast], layer=layer)
    return PhotoExplanation(
        arch=arch, x=x, probabilities=probabilities, target=target, contrast=contrast,
        deeplift=dl[0], integrated_gradients=ig[0], grad_cam={target: cams[0], contrast: cams[1]},
        layer=layer, ig_steps=ig_steps,
        deltas={"DeepLIFT": float(dl_delta[0]), "Integrated Gradients": float(ig_delta)}, seconds=seconds,
        logits=logits,
    )


def _stack(values):
    return np.stack(list(values))


def photo_arrays(explanations: Mapping[str, PhotoExplanation]) -> dict[str, np.ndarray]:
    """What `--save` writes for photos ({name: PhotoExplanation}, one row each, in order): the
    arrays of `outputs.results_arrays` (x normalised, target, logits, baseline x′ = 0, the 1000
    class names, deeplift_rescale, integrated_gradients, grad_cam for the target), and photo
    (names), contrast (the other class) and grad_cam_contrast (its Grad-CAM map)."""
    from minicnn.data import imagenet_classes

    from .outputs import results_arrays

    rows = list(explanations.values())
    stack = _stack
    maps = {"deeplift_rescale": stack(e.deeplift for e in rows),
            "integrated_gradients": stack(e.integrated_gradients for e in rows),
            "grad_cam": stack(e.grad_cam[e.target] for e in rows)}
    return results_arrays(stack(e.x[0] for e in rows), [e.target for e in rows], stack(e.logits for e in rows), maps,
                          imagenet_classes(), photo=list(explanations), contrast=[e.contrast for e in rows],
                          grad_cam_contrast=stack(e.grad_cam[e.contrast] for e in rows))


# ---- the photos demo ------------------------------------------------------------------------------
def format_top5_table(rows: Mapping[str, tuple[Optional[str], np.ndarray]], arch: str, weights: str) -> str:
    """Markdown: one row per photo, {name: (ImageNet label or None, probabilities)}."""
    lines = [f"# Top-5 ImageNet classes — {arch} (weights: {weights})", "",
             "| photo | label | 1 | 2 | 3 | 4 | 5 |", "|---|---|---|---|---|---|---|"]
    for name, (label, probabilities) in rows.items():
        cells = [f"{cls} {format_probability(p)}" for _, cls, p in top_classes(probabilities)]
        lines.append(f"| {name} | {label or '—'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclass
class PhotoDemoResult:
    figure_paths: list
    table_path: str
    table: str
    explanations: dict
    seconds: float
    arrays_path: str = ""


def run_photo_demo(model: nn.Module, arch: str, weights: str, out: str, n: Optional[int] = None,
                   ig_steps: int = IG_STEPS, dpi: int = 100, log: Callable[..., None] = print,
                   save: bool = False) -> PhotoDemoResult:
    """Figure 1 for each of the first n bundled photographs (`minicnn.data.PHOTOS`; default: all)
    into `out` as figure1_<photo>.png, and top5.md (save: also attributions.npz, `photo_arrays`);
    the directory appears only when all are done."""
    from minicnn.data import PHOTOS, photos_batch

    from .outputs import output_directory, save_arrays, save_figure, write_text
    from .plots import photo_figure

    start = time.perf_counter()
    xs, names = photos_batch(list(PHOTOS)[: (n or len(PHOTOS))], dtype=model_dtype(model))
    explanations, rows, paths = {}, {}, []
    with output_directory(out) as staging:
        for name, x in zip(names, xs):
            explanation = explain_photo(model, x[None], arch, ig_steps=ig_steps)
            explanations[name] = explanation
            rows[name] = (PHOTOS[name].imagenet_class, explanation.probabilities)
            fig = photo_figure(explanation, f"{name} (label: {PHOTOS[name].imagenet_class or 'none'})",
                               f"{arch} ({weights})")
            save_figure(fig, os.path.join(staging, f"figure1_{name}.png"), dpi)
            paths.append(os.path.join(out, f"figure1_{name}.png"))
            log(f"{name}: {', '.join(f'{c} {format_probability(p)}' for _, c, p in top_classes(explanation.probabilities, 3))} "
                f"({sum(explanation.seconds.values()):.1f} s)")
        table = format_top5_table(rows, arch, weights)
        write_text(os.path.join(staging, "top5.md"), table)
        if save:
            save_arrays(os.path.join(staging, "attributions.npz"), photo_arrays(explanations))
    return PhotoDemoResult(paths, os.path.join(out, "top5.md"), table, explanations, time.perf_counter() - start,
                           os.path.join(out, "attributions.npz") if save else "")
