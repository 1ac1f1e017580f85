"""The command line end to end: `main([...])` in a temporary directory, once through a real
`python -m attributions` subprocess, error exit codes and messages, explain on a PNG written here.
Kept small (n = 2 images) for a shared 2-core machine."""

import os
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

from attributions.app import cli
from attributions.app.cli import load_image, main
from attributions.app.demo import pick_images, table_label
from attributions.app.registry import names
from attributions.metrics import count_passes

METHOD_NAMES = names()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _table_rows(text):
    return [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| method")]


def test_demo_writes_figure_and_table(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--n", "2", "--out", str(out), "--ig-steps", "8"]) == 0
    printed = capsys.readouterr().out
    assert str(out / "figure1.png") in printed and str(out / "table1.md") in printed
    picture = mpimg.imread(out / "figure1.png")
    assert picture.ndim == 3 and picture.shape[0] > 100 and picture.shape[1] > 500
    table = (out / "table1.md").read_text(encoding="utf-8")
    rows = _table_rows(table)
    assert len(rows) == len(METHOD_NAMES)
    for name in METHOD_NAMES:
        assert any(row.startswith(f"| {table_label(name, 8)} |") for row in rows), name
    cells = {row.split("|")[1].strip(): [c.strip() for c in row.split("|")[2:-1]] for row in rows}
    # measured backward passes: calls per batch, rows per image
    assert cells["Saliency"][6:8] == ["1", "1"]
    assert cells["DeepLIFT-Rescale"][6:8] == ["1", "2"]
    assert cells["Integrated Gradients (8 steps)"][7] == "8"
    assert cells["Grad-CAM"][4] == "n/a"
    assert float(cells["DeepLIFT-Rescale"][4]) < 1e-8  # summation-to-delta
    assert float(cells["Integrated Gradients (8 steps)"][8]) == pytest.approx(1.0)


def test_demo_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "attributions", "demo", "--n", "2", "--out", "tmp"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    picture = mpimg.imread(tmp_path / "tmp" / "figure1.png")
    # figure size (inches) of the grid × dpi 100: the image and one column per method of 1.35",
    # 2 rows of 1.35" + 0.5" of titles + 0.75" for the colour bar and its two-line label
    assert picture.shape[:2] == (round((1.35 * 2 + 1.25) * 100), round(1.35 * (1 + len(METHOD_NAMES)) * 100))
    assert len(_table_rows((tmp_path / "tmp" / "table1.md").read_text(encoding="utf-8"))) == len(METHOD_NAMES)


def test_pick_images_is_deterministic_and_includes_a_mistake():
    labels = np.array([0, 1, 2, 0, 1, 2, 1])
    predictions = np.array([0, 2, 2, 0, 1, 2, 1])
    chosen = pick_images(labels, predictions, 4)
    assert chosen.tolist() == [0, 4, 2, 1]  # one correct per class, then the first mistake
    assert pick_images(labels, labels, 2).tolist() == [0, 1]
    assert len(pick_images(labels, predictions, 50)) == len(labels)


def test_count_passes_without_a_model_counts_backward_passes():
    import minicnn as mc

    x = mc.Tensor(np.ones((3, 2)), requires_grad=True)
    with count_passes() as count:
        (x * 2).sum().backward()
        mc.grad(x * 3, [x], grad_outputs=np.ones((3, 2)))
    assert (count.backward_calls, count.backward_rows, count.forward_rows) == (2, 1 + 3, 0)


# ---- errors: exit 2 for a wrong command line, 1 for a failure while running -------------------
@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["demo", "--dataset", "cifar"], ["invalid choice", "digits", "faces", "shapes"]),
        (["demo", "--n", "0"], ["--n", "positive integer"]),
        (["explain", "--image", "x.png", "--arch", "googlenet"], ["lenet", "vgg", "resnet", "resnet50", "alexnet"]),
        (["explain", "--image", "x.png", "--method", "lime"], ["lime", "saliency", "integrated_gradients", "grad_cam"]),
        (["frobnicate"], ["invalid choice", "demo", "explain"]),
        ([], ["required"]),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv, fragments, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


def test_missing_and_unreadable_image(tmp_path, capsys):
    assert main(["explain", "--image", str(tmp_path / "nope.png"), "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "image file not found" in err and len(err.strip().splitlines()) == 1
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not a png")
    assert main(["explain", "--image", str(junk), "--out", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "cannot read image" in err and "Traceback" not in err


def test_weights_not_matching_the_architecture_print_the_report(tmp_path, capsys):
    from minicnn.models import weights_path

    assert main(["demo", "--model", weights_path("shapes"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "does not match the lenet architecture" in err
    assert "features.0.weight" in err  # the load_state_dict report names the keys
    assert main(["demo", "--model", str(tmp_path / "missing.npz"), "--out", str(tmp_path)]) == 1
    assert "weights file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    assert main(["demo", "--model", str(bad), "--out", str(tmp_path)]) == 1
    assert "cannot read weights file" in capsys.readouterr().err


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file where a directory should be")
    assert main(["demo", "--n", "1", "--out", str(blocker / "sub")]) == 1
    err = capsys.readouterr().err
    assert "not writable" in err and len(err.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(cli.CLIError, match="image file not found"):
        main(["explain", "--debug", "--image", str(tmp_path / "nope.png")])


def test_help_exits_0(capsys):
    assert main(["demo", "--help"]) == 0
    assert "--dataset" in capsys.readouterr().out


# ---- explain --------------------------------------------------------------------------------
def test_load_image_converts_size_and_channels(tmp_path):
    gray = np.linspace(0, 1, 16 * 16).reshape(16, 16)
    path = tmp_path / "g.png"
    mpimg.imsave(path, gray, cmap="gray", vmin=0, vmax=1)  # written as 8-bit RGBA
    x = load_image(str(path), (1, 16, 16))
    assert x.shape == (1, 1, 16, 16)
    np.testing.assert_allclose(x[0, 0], gray, atol=1.5 / 255)
    rgb = load_image(str(path), (3, 8, 8))
    assert rgb.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(rgb[0, 0], rgb[0, 2])  # grey repeated into three channels
    colour = np.zeros((4, 4, 3))
    colour[..., 1] = 1.0  # pure green → luminance 0.587
    mpimg.imsave(tmp_path / "c.png", colour)
    np.testing.assert_allclose(load_image(str(tmp_path / "c.png"), (1, 4, 4)), 0.587, atol=1e-6)


def test_explain_on_a_png_written_here(tmp_path, capsys):
    from minicnn.data import load_dataset

    digit = load_dataset("digits", size=16).x_test[0, 0]
    path = tmp_path / "digit.png"
    big = np.kron(digit, np.ones((2, 2)))  # 32×32, resized back to 16×16 by the CLI
    mpimg.imsave(path, np.stack([big] * 3, axis=-1))
    out = tmp_path / "explained.png"
    code = main(["explain", "--image", str(path), "--target", "3",
                 "--method", "integrated_gradients,grad_cam", "--ig-steps", "10", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert "explained class 3" in capsys.readouterr().out
    assert mpimg.imread(out).ndim == 3
    assert main(["explain", "--image", str(path), "--target", "10", "--out", str(out)]) == 2
    assert "[0, 9]" in capsys.readouterr().err


def test_explain_small_model_target_top_and_weights_alias(tmp_path, capsys):
    from minicnn.data import load_dataset
    from minicnn.models import weights_path

    path = tmp_path / "digit.png"
    mpimg.imsave(path, np.stack([load_dataset("digits", size=16).x_test[0, 0]] * 3, axis=-1))
    out = tmp_path / "e.png"
    argv = ["explain", "--image", str(path), "--method", "saliency", "--out", str(out)]
    assert main(argv + ["--target", "top", "--weights", weights_path("digits")]) == 0
    assert "explained class" in capsys.readouterr().out and out.exists()
    assert main(argv + ["--target", "seven"]) == 2
    err = capsys.readouterr().err
    assert "--target" in err and "'seven'" in err and len(err.strip().splitlines()) == 1


def test_explain_arch_without_bundled_weights_needs_model(tmp_path, capsys):
    assert main(["explain", "--image", "x.png", "--arch", "resnet", "--out", str(tmp_path / "o.png")]) == 2
    assert "--model" in capsys.readouterr().err
