"""Results as data and readable pictures: `--save` writes an .npz whose arrays equal what the
Python API returns for the same inputs (loadable without pickle), every figure's colour bar
says in words what red and blue mean, and every command's --help shows its defaults."""

import matplotlib.image as mpimg
import numpy as np
import pytest

import attributions as A
import minicnn as mc
from attributions.app.cli import load_image, main
from attributions.visualize import COLORBAR_LABELS
from minicnn.models import load_pretrained

PLAIN_WORDS = "red raises the class score, blue lowers it"


def _load(path):
    with np.load(path, allow_pickle=False) as archive:  # a pickled array would raise here
        return {name: archive[name] for name in archive.files}


def test_explain_save_equals_the_python_api(tmp_path, capsys):
    from minicnn.data import load_dataset

    image = tmp_path / "digit.png"
    mpimg.imsave(image, np.stack([np.kron(load_dataset("digits", size=16).x_test[3, 0], np.ones((2, 2)))] * 3, axis=-1))
    out = tmp_path / "e.png"
    code = main(["explain", "--image", str(image), "--method", "saliency,integrated_gradients,grad_cam",
                 "--ig-steps", "6", "--target", "2", "--preprocess", "resize", "--out", str(out), "--save"])
    assert code == 0, capsys.readouterr().err
    assert f"wrote {tmp_path / 'e.npz'}" in capsys.readouterr().out
    saved = _load(tmp_path / "e.npz")
    model, data = load_pretrained("digits")
    x = load_image(str(image), data.input_shape)
    np.testing.assert_array_equal(saved["x"], x)
    assert saved["target"].tolist() == [2]
    with mc.no_grad():
        np.testing.assert_allclose(saved["logits"], model(x).data, rtol=1e-12)
    np.testing.assert_array_equal(saved["baseline"], np.zeros_like(x))
    assert saved["classes"].tolist() == [str(c) for c in data.classes]
    np.testing.assert_allclose(saved["saliency"], A.saliency(model, x, 2), rtol=1e-12)
    np.testing.assert_allclose(saved["integrated_gradients"], A.integrated_gradients(model, x, 2, steps=6), rtol=1e-12)
    np.testing.assert_allclose(saved["grad_cam"], A.grad_cam(model, x, 2), rtol=1e-12)
    assert set(saved) == {"x", "target", "logits", "baseline", "classes", "saliency", "integrated_gradients", "grad_cam"}


def test_demo_save_equals_the_python_api(tmp_path, capsys):
    out = tmp_path / "d"
    assert main(["demo", "--n", "2", "--ig-steps", "4", "--out", str(out), "--save"]) == 0, capsys.readouterr().err
    saved = _load(out / "attributions.npz")
    model, data = load_pretrained("digits")
    x = data.x_test[saved["index"]].astype(np.float64)
    np.testing.assert_array_equal(saved["x"], x)
    np.testing.assert_array_equal(saved["label"], data.y_test[saved["index"]])
    with mc.no_grad():
        logits = model(x).data
    np.testing.assert_allclose(saved["logits"], logits, rtol=1e-12)
    np.testing.assert_array_equal(saved["target"], logits.argmax(axis=1))  # the demo explains the predicted class
    target = saved["target"]
    np.testing.assert_allclose(saved["deeplift_rescale"], A.deeplift(model, x, target), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(saved["integrated_gradients"], A.integrated_gradients(model, x, target, steps=4),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(saved["grad_cam"], A.grad_cam(model, x, target), rtol=1e-10, atol=1e-14)


# ---- colour bars in words ------------------------------------------------------------------------
def _colorbar_labels(fig):
    return [ax.get_xlabel() or ax.get_ylabel() for ax in fig.axes if ax.get_label() == "<colorbar>"]


@pytest.mark.parametrize("n_maps", [1, 3])
def test_demo_grid_colour_bar_is_in_words(n_maps):
    """A grid of three or more map columns gets the full label; a narrower one the short one
    (the full label would be cut off), both in words."""
    from attributions import visualize

    rng = np.random.default_rng(0)
    images = rng.random((2, 1, 8, 8))
    maps = {f"m{i}": rng.normal(size=(2, 1, 8, 8)) for i in range(n_maps)}
    labels = COLORBAR_LABELS if n_maps >= 3 else visualize.COLORBAR_SHORT_LABELS
    fig = visualize.attribution_grid(images, maps)
    assert _colorbar_labels(fig) == [labels[True]] and "red raises the class score" in labels[True]
    assert PLAIN_WORDS in COLORBAR_LABELS[True].replace("\n", " ")
    fig = visualize.attribution_grid(images, maps, mode="abs")
    assert _colorbar_labels(fig) == [labels[False]]
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    assert "percentile" not in labels[False] and [t.get_text() for t in bar.get_xticklabels()] == ["none", "most"]


@pytest.mark.parametrize("n_maps", [1, 4])
def test_explain_figure_colour_bar_is_in_words(n_maps):
    from attributions.app.plots import explanation_figure, explanation_figure_size

    rng = np.random.default_rng(1)
    image = rng.random((1, 8, 8))
    fig = explanation_figure(image, {f"m{i}": rng.normal(size=(1, 1, 8, 8)) for i in range(n_maps)}, "input", "title")
    (label,) = _colorbar_labels(fig)
    assert label.startswith(PLAIN_WORDS)
    bar = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"][0]
    assert [t.get_text() for t in bar.get_xticklabels()] == ["lowers", "0", "raises"]
    assert tuple(fig.get_size_inches()) == pytest.approx(explanation_figure_size(n_maps))


# ---- --help shows the defaults ---------------------------------------------------------------------
@pytest.mark.parametrize("command, fragments", [
    ("demo", ["(default: ./attributions_demo)", "figure1.png and table1.md into the folder --out", "(default: 100)",
              "(default: digits)", "--save"]),
    ("explain", ["(default: explanation.png)", "(default: 120)", "(default: 50)", "--save"]),
    ("compare", ["Compare every attribution method", "(default: compare-<dataset>)", "(default: shapes",
                 "(default 16)", "--save"]),
])
def test_help_describes_the_command_and_its_defaults(command, fragments, capsys):
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for fragment in fragments:
        assert fragment in text, fragment
    assert "(default: None)" not in text
