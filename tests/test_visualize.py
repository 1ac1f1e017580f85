"""attributions.visualize on synthetic maps: the documented normalisation, a colormap centred at
zero, channel sums, overlays, and the grid's layout. No display needed (Figures, no pyplot)."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from attributions import visualize as V


def test_normalize_formula_and_clipping():
    a = np.linspace(-2.0, 4.0, 1000)
    s = np.percentile(np.abs(a), 99.5)
    expected = np.clip(a / s, -1, 1)
    np.testing.assert_allclose(V.normalize(a), expected)
    assert V.normalize(a).min() >= -1 and V.normalize(a).max() == 1.0
    # a single outlier is clipped; the rest keeps its scale (percentile over 1000 entries)
    b = np.ones(1000)
    b[0] = 1e6
    out = V.normalize(b)
    assert out[0] == 1.0 and np.allclose(out[1:], 1.0 / np.percentile(b, 99.5))
    np.testing.assert_allclose(V.normalize(a, percentile=100), a / 4.0)


def test_normalize_abs_zero_and_sparse_maps():
    a = np.array([[-3.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(V.normalize(a, 100, signed=False), np.abs(a) / 3.0)
    np.testing.assert_array_equal(V.normalize(np.zeros((4, 4))), 0.0)
    sparse = np.zeros(1000)
    sparse[3] = -5.0  # percentile is 0: falls back to max |a| instead of dividing by zero
    out = V.normalize(sparse)
    assert out[3] == -1.0 and np.count_nonzero(out) == 1


@pytest.mark.parametrize("bad", [np.array([np.nan, 1.0]), np.array([np.inf])])
def test_normalize_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="NaN or inf"):
        V.normalize(bad)


def test_normalize_rejects_bad_percentile():
    with pytest.raises(ValueError, match="percentile"):
        V.normalize(np.ones(3), percentile=0)


def test_to_2d_sums_channels():
    a = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    np.testing.assert_array_equal(V.to_2d(a), a.sum(axis=0))
    np.testing.assert_array_equal(V.to_2d(a[None]), a.sum(axis=0))
    np.testing.assert_array_equal(V.to_2d(a[0]), a[0])
    with pytest.raises(ValueError, match="expected one map"):
        V.to_2d(np.ones(5))


def test_heatmap_is_centred_at_zero_on_a_diverging_map():
    a = np.random.default_rng(0).normal(size=(3, 8, 8)) + 0.5  # skewed positive on purpose
    ax = V.heatmap(a)
    image = ax.images[-1]
    assert image.norm.vmin == -image.norm.vmax == -1.0
    assert image.get_cmap().name == V.SIGNED_CMAP
    np.testing.assert_allclose(image.get_array(), V.normalize(a.sum(axis=0)))
    # zero maps to the middle of the colormap (white for "bwr")
    assert image.norm(0.0) == pytest.approx(0.5)
    np.testing.assert_allclose(image.cmap(image.norm(0.0))[:3], (1.0, 1.0, 1.0), atol=0.01)


def test_abs_heatmap_range():
    a = np.array([[-4.0, 2.0], [1.0, 0.0]])
    ax = V.abs_heatmap(a, percentile=100)
    image = ax.images[-1]
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 1.0)
    np.testing.assert_allclose(image.get_array(), np.abs(a) / 4.0)


def test_overlay_draws_image_then_map_with_opacity():
    image = np.random.default_rng(1).random((1, 6, 6))
    a = np.zeros((1, 6, 6))
    a[0, 2, 3] = 2.0
    a[0, 4, 1] = -1.0
    fig = Figure()
    ax = V.overlay(image, a, ax=fig.add_subplot(), alpha=0.5)
    assert len(ax.images) == 2
    top = ax.images[-1]
    assert top.norm.vmin == -top.norm.vmax
    alpha = np.asarray(top.get_alpha())
    assert alpha[2, 3] == pytest.approx(0.5) and alpha[0, 0] == 0.0
    # a Grad-CAM-sized map over a bigger image is stretched over the whole image
    small = V.overlay(np.random.default_rng(2).random((3, 8, 8)), np.ones((2, 2)))
    assert small.images[-1].get_extent() == [-0.5, 7.5, 7.5, -0.5]


def test_show_image_layouts():
    assert V.show_image(np.zeros((1, 5, 5))).images[-1].get_array().shape == (5, 5)
    assert V.show_image(np.zeros((3, 5, 5))).images[-1].get_array().shape == (5, 5, 3)
    with pytest.raises(ValueError, match="image"):
        V.show_image(np.zeros((2, 2, 5, 5)))


def _maps(n):
    rng = np.random.default_rng(3)
    return {
        "saliency": np.abs(rng.normal(size=(n, 1, 8, 8))),
        "integrated_gradients": rng.normal(size=(n, 1, 8, 8)),
        "grad_cam": np.abs(rng.normal(size=(n, 8, 8))),
    }


@pytest.mark.parametrize("colorbar", [True, False])
def test_grid_has_one_panel_per_image_and_method(colorbar):
    n = 3
    images = np.random.default_rng(4).random((n, 1, 8, 8))
    maps = _maps(n)
    titled = list(maps)[1]
    fig = V.attribution_grid(images, maps, labels=[0, 1, 2], predictions=[0, 1, 1],
                             classes=["a", "b", "c"], colorbar=colorbar, titles={titled: "Integrated\nGradients"})
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n * 4 + (1 if colorbar else 0)
    panels = fig.axes[: n * 4]
    assert panels[0].get_title() == "true: a\npred: a"
    assert panels[8].get_title() == "true: c\npred: b" and panels[8].title.get_color() == "red"
    assert panels[2].get_title() == "Integrated\nGradients"  # the title given for the second method
    assert panels[1].get_title() == list(maps)[0]  # a method without a title is titled by its name
    for ax in panels:
        if ax.images and ax not in panels[::4]:
            assert ax.images[-1].norm.vmin == -ax.images[-1].norm.vmax


def test_grid_modes_and_errors():
    images = np.random.default_rng(5).random((2, 1, 8, 8))
    fig = V.attribution_grid(images, _maps(2), mode="abs", colorbar=False)
    assert all(ax.images[-1].norm.vmin == 0.0 for ax in fig.axes if ax.get_title() != "" and ax.images)
    fig = V.attribution_grid(images, _maps(2), mode="overlay", colorbar=False)
    assert len(fig.axes[1].images) == 2
    with pytest.raises(ValueError, match="expected 2 maps"):
        V.attribution_grid(images, {"saliency": np.zeros((3, 1, 8, 8))})
    with pytest.raises(ValueError, match="mode"):
        V.attribution_grid(images, _maps(2), mode="rainbow")
    with pytest.raises(TypeError, match="attributions"):
        V.attribution_grid(images, {})


def test_reachable_as_attribute_import_and_module():
    import subprocess
    import sys

    code = ("import sys, attributions as A; loaded = 'matplotlib' in sys.modules; V = A.visualize; "
            "import attributions.visualize as W; from attributions import visualize as X; "
            "assert V is W is X and hasattr(V, 'attribution_grid') and not loaded")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
