"""Pictures of attributions: signed heatmaps, absolute-value maps, overlays, and the method grid.

Conventions (the same in every function, so two pictures can be compared by eye):

* **Channels are summed for display.** An attribution shaped like the input (C, H, W) is shown
  as the (H, W) map Σ_c a_c. Summing (not averaging, not |·|) keeps the sign and keeps
  completeness: the displayed map still adds up to Σ_i a_i. A 2-D map (Grad-CAM) is shown as is.
* **Outlier-percentile normalisation.** One map a is scaled by the p-th percentile of its
  absolute values and clipped:

      â = clip(a / s, −1, 1),   s = percentile(|a|, p),   p = 99.5 by default

  so a handful of extreme pixels cannot wash out the rest (the convention of the Integrated
  Gradients and DeepLIFT code bases). If s = 0 (e.g. a map that is zero almost everywhere) the
  maximum |a| is used instead, and an all-zero map stays all zero. Each map is normalised on its
  own; the colours say where a method puts its attribution, not how large it is compared with
  another method (the table of the demo reports magnitudes).
* **Signed maps** use a diverging colormap ("bwr": blue negative, white zero, red positive) with a
  symmetric range vmin = −1, vmax = +1 on â, so white is always exactly zero.
  **Absolute-value maps** show |â| on a sequential colormap ("Reds") with range [0, 1].
* **Overlays** draw the input image in grey (or colour for 3 channels) and the normalised map on
  top, with opacity proportional to |â|, so pixels without attribution show the plain image.

Every function draws into an Axes you pass (or a new Figure) and returns it; nothing here calls
`plt.show()` or chooses a backend. A script without a display should call
`matplotlib.use("Agg")` itself (the command line does).
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colorbar import Colorbar
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .inputs import ArrayLike

__all__ = [
    "DEFAULT_PERCENTILE",
    "SIGNED_CMAP",
    "ABS_CMAP",
    "to_2d",
    "normalize",
    "show_image",
    "heatmap",
    "abs_heatmap",
    "overlay",
    "attribution_grid",
    "grid_size",
    "add_colorbar",
    "COLORBAR_LABELS",
    "COLORBAR_SHORT_LABELS",
]

DEFAULT_PERCENTILE = 99.5
SIGNED_CMAP = "bwr"
ABS_CMAP = "Reds"

def _as_array(a: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(getattr(a, "data", a))
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    return array


def to_2d(a: ArrayLike, name: str = "attribution") -> np.ndarray:
    """One map for display, float64 (H, W): (H, W) as is, (C, H, W) summed over channels,
    (1, C, H, W) (a batch of one) likewise. Σ over channels keeps the sign and the total."""
    array = _as_array(a, name)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3:
        array = array.sum(axis=0)
    if array.ndim != 2:
        raise ValueError(f"{name}: expected one map of shape (H, W) or (C, H, W), got shape {array.shape}")
    return array.astype(np.float64)


def normalize(a: ArrayLike, percentile: float = DEFAULT_PERCENTILE, signed: bool = True) -> np.ndarray:
    """â = clip(a / s, −1, 1) with s = percentile(|a|, `percentile`) over the whole map.

    signed -- True: keep the sign, values in [−1, 1]; False: return |â|, values in [0, 1].
    Works on any shape (the percentile is taken over all entries). s = 0 falls back to max |a|;
    an all-zero (or empty) map is returned as zeros. NaN or inf is an error.
    """
    array = _as_array(a, "a").astype(np.float64)
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile: expected a number in (0, 100], got {percentile!r}")
    if not np.isfinite(array).all():
        raise ValueError("a: contains NaN or inf values")
    magnitude = np.abs(array)
    if magnitude.size == 0:
        return array
    scale = np.percentile(magnitude, percentile)
    if scale <= 0:
        scale = magnitude.max()
    if scale <= 0:
        return np.zeros_like(array)
    result = np.clip(array / scale, -1.0, 1.0)
    return result if signed else np.abs(result)


def _axes(ax, figsize=(3, 3)):
    if ax is not None:
        return ax
    return Figure(figsize=figsize).add_subplot()


def _clean(ax, title):
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9)


def _image_for_display(image):
    """(H, W) grey or (H, W, 3) colour array for imshow, from (H, W), (1, H, W), (3, H, W) or (H, W, 3|4)."""
    array = _as_array(image, "image").astype(np.float64)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (3, 4):
        array = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
    elif array.ndim == 3 and array.shape[-1] == 4:
        array = array[..., :3]
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] == 3)):
        raise ValueError(f"image: expected (H, W), (1|3, H, W) or (H, W, 3), got shape {np.shape(image)}")
    lo, hi = array.min(), array.max()
    if lo < 0 or hi > 1:  # not already in [0, 1]: stretch for display
        array = (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
    return array


def show_image(image: ArrayLike, ax: Optional[Axes] = None, title: Optional[str] = None) -> Axes:
    """Draw an input image ((1|3, H, W) or (H, W)) in grey or colour, range [0, 1]; returns the Axes."""
    ax = _axes(ax)
    picture = _image_for_display(image)
    if picture.ndim == 2:
        ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    else:
        ax.imshow(picture, interpolation="nearest")
    _clean(ax, title)
    return ax


def heatmap(a: ArrayLike, ax: Optional[Axes] = None, title: Optional[str] = None,
            percentile: float = DEFAULT_PERCENTILE, cmap: str = SIGNED_CMAP) -> Axes:
    """Signed heatmap of one attribution map on a diverging colormap centred at zero.

    Shows â = normalize(to_2d(a), percentile) with Normalize(vmin=−1, vmax=1): white is 0,
    red positive, blue negative. Returns the Axes (the image is `ax.images[-1]`).
    """
    ax = _axes(ax)
    ax.imshow(normalize(to_2d(a), percentile), cmap=cmap, norm=Normalize(vmin=-1.0, vmax=1.0), interpolation="nearest")
    _clean(ax, title)
    return ax


def abs_heatmap(a: ArrayLike, ax: Optional[Axes] = None, title: Optional[str] = None,
                percentile: float = DEFAULT_PERCENTILE, cmap: str = ABS_CMAP) -> Axes:
    """Absolute-value map |â| of one attribution on a sequential colormap, range [0, 1].

    The channel sum happens first (to_2d), then the absolute value, as for the signed map.
    Returns the Axes.
    """
    ax = _axes(ax)
    ax.imshow(normalize(to_2d(a), percentile, signed=False), cmap=cmap, norm=Normalize(vmin=0.0, vmax=1.0), interpolation="nearest")
    _clean(ax, title)
    return ax


def overlay(image: ArrayLike, a: ArrayLike, ax: Optional[Axes] = None, title: Optional[str] = None,
            percentile: float = DEFAULT_PERCENTILE, signed: bool = True, alpha: float = 0.8) -> Axes:
    """The input image with the normalised attribution map on top.

    The map is â (signed, on "bwr" with vmin = −1, vmax = 1) or |â| (on "Reds", [0, 1]), drawn
    with per-pixel opacity alpha·|â|, so unattributed pixels show the plain image. A map of a
    different size than the image (e.g. Grad-CAM before upsampling) is stretched over the image.
    Returns the Axes.
    """
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    ax = show_image(image, ax=ax, title=title)
    height, width = cast(np.ndarray, ax.images[-1].get_array()).shape[:2]  # show_image has just drawn it
    values = normalize(to_2d(a), percentile, signed=signed)
    norm = Normalize(vmin=-1.0, vmax=1.0) if signed else Normalize(vmin=0.0, vmax=1.0)
    ax.imshow(
        values, cmap=SIGNED_CMAP if signed else ABS_CMAP, norm=norm, alpha=alpha * np.abs(values),
        interpolation="nearest", extent=(-0.5, width - 0.5, height - 0.5, -0.5),
    )
    return ax


_COLORBAR_STRIP = 0.75  # inches under the grid: the colour bar, its ends and a two-line label


def grid_size(n_images: int, n_methods: int, cell_size: float = 1.35, colorbar: bool = True) -> tuple[float, float]:
    """(width, height) in inches of `attribution_grid` for n_images rows and n_methods map columns
    (known before any map is computed, so a command can refuse a figure too large to draw)."""
    return cell_size * (1 + n_methods), cell_size * n_images + 0.5 + (_COLORBAR_STRIP if colorbar else 0.0)


def attribution_grid(
    images: ArrayLike, attributions: Mapping[str, ArrayLike], labels: Optional[Sequence[int] | np.ndarray] = None,
    predictions: Optional[Sequence[int] | np.ndarray] = None, classes: Optional[Sequence[str]] = None,
    percentile: float = DEFAULT_PERCENTILE, mode: str = "signed", colorbar: bool = True, cell_size: float = 1.35,
    titles: Optional[Mapping[str, str]] = None,
) -> Figure:
    """A Figure with one row per image: the input, then one map per method.

    images       -- (N, C, H, W) (or (N, H, W)) inputs
    attributions -- {method name: array (N, C, H, W) or (N, H, W)}, columns in the dict's order
    labels, predictions -- optional (N,) true and predicted class indices; the input's title reads
                    "true: … / pred: …" (in red when they differ)
    classes      -- optional class names for those indices
    mode         -- "signed" (every map on "bwr", vmin = −1, vmax = 1), "abs" (|â| on "Reds"),
                    or "overlay" (signed map over the input)
    colorbar     -- add one shared colour bar, labelled in words (`add_colorbar`; one more Axes)
    titles       -- {method name: column title}; a method without one is titled by its name
                    (the commands pass the registry's titles, `attributions.app.registry`)

    Axes: N·(1 + len(attributions)) panels (+ 1 colorbar). Returns the Figure.
    """
    images = _as_array(images, "images")
    n = len(images)
    if n == 0:
        raise ValueError("images: expected at least one image, got an empty batch")
    if not hasattr(attributions, "items") or len(attributions) == 0:
        raise TypeError("attributions: expected a non-empty dict {method name: array with one map per image}")
    if mode not in ("signed", "abs", "overlay"):
        raise ValueError(f"mode: expected one of signed, abs, overlay, got {mode!r}")
    maps = {}
    for name, value in attributions.items():
        value = _as_array(value, f"attributions[{name!r}]")
        if len(value) != n:
            raise ValueError(f"attributions[{name!r}]: expected {n} maps (one per image), got {len(value)}")
        maps[name] = value
    for arg, indices in (("labels", labels), ("predictions", predictions)):
        if indices is not None and len(indices) != n:
            raise ValueError(f"{arg}: expected {n} class indices, got {len(indices)}")
    titles = titles or {}

    def class_name(k):
        return classes[int(k)] if classes is not None else str(int(k))

    extra = _COLORBAR_STRIP if colorbar else 0.0
    fig = Figure(figsize=grid_size(n, len(maps), cell_size, colorbar))
    columns = 1 + len(maps)
    axes = fig.subplots(n, columns, squeeze=False)
    for row in range(n):
        title = None
        if labels is not None or predictions is not None:
            parts = []
            if labels is not None:
                parts.append(f"true: {class_name(labels[row])}")
            if predictions is not None:
                parts.append(f"pred: {class_name(predictions[row])}")
            title = "\n".join(parts)
        show_image(images[row], ax=axes[row, 0], title=title)
        if labels is not None and predictions is not None and int(labels[row]) != int(predictions[row]):
            axes[row, 0].title.set_color("red")
        for col, (name, value) in enumerate(maps.items(), start=1):
            ax = axes[row, col]
            if mode == "signed":
                heatmap(value[row], ax=ax, percentile=percentile)
            elif mode == "abs":
                abs_heatmap(value[row], ax=ax, percentile=percentile)
            else:
                overlay(images[row], value[row], ax=ax, percentile=percentile)
            if row == 0:
                ax.set_title(titles.get(name, name), fontsize=9)
    height = cell_size * n + 0.5 + extra  # inches
    fig.subplots_adjust(left=0.02, right=0.98, top=1 - 0.6 / height, bottom=(extra + 0.05) / height, wspace=0.08, hspace=0.45)
    if colorbar:
        # a dedicated strip under the map columns, so the panels keep their size
        few = len(attributions) < 3  # a narrow figure: the bar spans the whole row and says it shorter
        first, last = axes[-1, 0 if few else 1].get_position(), axes[-1, -1].get_position()
        cax = fig.add_axes((first.x0, 0.46 / height, last.x1 - first.x0, 0.1 / height))
        add_colorbar(fig, cax, signed=mode != "abs", label=COLORBAR_SHORT_LABELS[mode != "abs"] if few else None)
    return fig


# What the colours mean, in words (the scaling is in the module docstring, not on the picture):
# an attribution is a share of the class score, so its sign says which way a pixel pushes it.
COLORBAR_LABELS = {
    # Two lines: one line of this length is wider than a three-column grid and was cut off.
    True: "red raises the class score, blue lowers it, white: no effect\n(each map scaled to its own strongest pixels)",
    False: "darker red: a larger share of the class evidence\n(each map scaled to its own strongest pixels)",
}
COLORBAR_SHORT_LABELS = {True: "red raises the class score,\nblue lowers it", False: "darker red: more\nclass evidence"}


def add_colorbar(fig: Figure, cax: Axes, signed: bool = True, orientation: str = "horizontal",
                 label: Optional[str] = None) -> Colorbar:
    """A colour bar in `cax` for signed maps (bwr on [−1, 1]) or |·| maps (Reds on [0, 1]), its ends
    and label in plain words (label: default COLORBAR_LABELS[signed]). Returns the Colorbar."""
    from matplotlib.cm import ScalarMappable

    scale = ScalarMappable(Normalize(-1.0, 1.0), SIGNED_CMAP) if signed else ScalarMappable(Normalize(0.0, 1.0), ABS_CMAP)
    bar = fig.colorbar(scale, cax=cax, orientation=orientation)
    if signed:
        bar.set_ticks([-1.0, 0.0, 1.0], labels=["lowers", "0", "raises"])
    else:
        bar.set_ticks([0.0, 1.0], labels=["none", "most"])
    if orientation == "horizontal":  # the end words inside the bar's span, so a narrow figure keeps them
        ends = bar.ax.get_xticklabels()
        ends[0].set_horizontalalignment("left")
        ends[-1].set_horizontalalignment("right")
    bar.set_label(COLORBAR_LABELS[signed] if label is None else label, fontsize=7, labelpad=1)
    bar.ax.tick_params(labelsize=6, pad=1)
    bar.ax.set_label("<colorbar>")  # the label matplotlib gives the colour-bar Axes it makes itself
    return bar
