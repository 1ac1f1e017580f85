"""End-to-end test of `python -m attributions compare` on a tiny sample (about a minute), and its
figure of every method's maps next to the ground-truth masks."""

import argparse

import numpy as np
import pytest

from attributions.app import compare, plots
from attributions.app.cli import main
from attributions.app.registry import METHODS
from attributions.app.statistics import mean_and_error


def test_compare_end_to_end(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "--dataset", "shapes", "--n", "4", "--sanity-n", "2", "--out", str(out), "--seed", "1",
                 "--save"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cmp"]  # the temporary directory became cmp
    for name in ("compare.md", "deletion.png", "insertion.png", "ig_convergence.png", "deeplift_vs_ig.png",
                 "randomisation.png", "maps.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    table = (out / "compare.md").read_text(encoding="utf-8")
    for method in METHODS.values():
        assert f"| {method.label} |" in table, method.label
    for column in ("deletion AUC", "deletion AUC by |a|", "insertion AUC", "pointing", "mass acc.", "rank acc.",
                   "ρ all layers random", "ρ mean over the cascade", "class discrimination", "ms / image", "forward / image"):
        assert column in table
    for section in ("## What the numbers say about the poster's claims", "## Why the numbers say this"):
        assert section in table
    _check_saved_arrays(out / "attributions.npz")


def _check_saved_arrays(path):
    """--save: the sample, its true labels as targets, and each method's maps as the API gives them."""
    import attributions as A
    import minicnn as mc
    from minicnn.models import load_pretrained

    with np.load(path, allow_pickle=False) as archive:
        saved = {name: archive[name] for name in archive.files}
    model, data = load_pretrained("shapes")
    index = saved["index"]
    assert len(index) == 4 and len(set(index.tolist())) == 4
    x = data.x_test[index].astype(np.float64)
    np.testing.assert_array_equal(saved["x"], x)
    np.testing.assert_array_equal(saved["target"], data.y_test[index])
    np.testing.assert_array_equal(saved["baseline"], np.zeros_like(x))
    with mc.no_grad():
        np.testing.assert_allclose(saved["logits"], model(x).data, rtol=1e-12)
    assert set(METHODS) <= set(saved)
    target = saved["target"]
    np.testing.assert_allclose(saved["integrated_gradients"], A.integrated_gradients(model, x, target), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(saved["deeplift_rescale"], A.deeplift(model, x, target), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(saved["saliency"], A.saliency(model, x, target), rtol=1e-10, atol=1e-14)


def test_subparser_interface():
    # the CLI calls add_arguments(subparser), check_args(args, n_test), then run(args, model, data) → int.
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    compare.add_arguments(sub.add_parser("compare"))
    args = parser.parse_args(["compare", "--n", "7", "--dataset", "digits"])
    assert (args.n, args.dataset, args.seed, args.out) == (7, "digits", 0, None)
    assert compare.check_args(args, 449) is None
    args.n = 500
    assert "449 digits test images" in compare.check_args(args, 449)


def test_bad_n_is_reported(tmp_path, capsys):
    assert main(["compare", "--n", "0", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--n" in err and len(err.strip().splitlines()) == 1


def test_mean_and_error():
    mean, se, count = mean_and_error([1.0, 3.0, np.nan])
    assert (mean, count) == (2.0, 2) and se == pytest.approx(1.0)


def test_maps_and_masks_figure(tmp_path):
    rng = np.random.default_rng(0)
    images, masks = rng.random((3, 1, 8, 8)), rng.random((3, 8, 8)) < 0.3
    maps = {"A": rng.normal(size=(3, 1, 8, 8)), "B": rng.normal(size=(3, 8, 8)), "C": rng.random((3, 8, 8))}
    fig = plots.maps_and_masks(images, maps, masks, titles={"B": "B title"})
    grid = fig.axes[:-1]  # the last Axes is the shared colorbar
    assert len(grid) == 3 * (2 + len(maps))  # one row per image: the image, the mask, one column per method
    assert [ax.get_title() for ax in grid[1:2 + len(maps)]] == ["mask", "A", "B title", "C"]
    np.testing.assert_array_equal(grid[1].images[-1].get_array() > 0, masks[0])  # the mask column shows the mask
    assert all(len(ax.collections) > 0 for ax in grid[2:2 + len(maps)])  # its outline on every map
    path = tmp_path / "maps.png"
    fig.savefig(path)
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="masks"):
        plots.maps_and_masks(images, maps, masks[:2])
