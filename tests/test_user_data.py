"""Your own data and models in every command: train --data, explain --data / --model, compare
--data / --model, the digits pipeline in explain, and the out-of-distribution warning.

One small image folder (two digit classes, 16×16, with masks) is written and trained on once per
module (LeNet, a few epochs); compare runs on 2 images."""

import os

import matplotlib.image as mpimg
import numpy as np
import pytest

from attributions.app.cli import main
from attributions.app.ood import training_statistics, unfamiliar
from minicnn.data import load_dataset
from minicnn.models import load_pretrained, weights_path
from minicnn.train import main as train_main

@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """DIR/zero/*.png and DIR/one/*.png: scikit-learn digits 0 and 1 as 16×16 PNGs, each with a
    mask of its strokes (DIR/<class>/<name>.mask.png), and LeNet weights trained on the folder."""
    root = tmp_path_factory.mktemp("user") / "my_digits"
    digits = load_dataset("digits", size=16)
    x, y = np.concatenate([digits.x_train, digits.x_test])[:, 0], np.concatenate([digits.y_train, digits.y_test])
    for name, label in (("zero", 0), ("one", 1)):
        os.makedirs(root / name)
        for k, image in enumerate(x[y == label][:30]):
            mpimg.imsave(root / name / f"{k:03d}.png", image, cmap="gray", vmin=0, vmax=1)
            mpimg.imsave(root / name / f"{k:03d}.mask.png", (image > 0.5).astype(float), cmap="gray", vmin=0, vmax=1)
    weights = root.parent / "mine.npz"
    assert train_main(["--data", str(root), "--epochs", "8", "--lr", "0.003", "--out", str(weights)]) == 0
    return root, weights


def _one_line_error(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- train → explain → compare on a folder ---------------------------------------------------------
def test_train_writes_weights_that_explain_uses_with_folder_class_names(folder, tmp_path, capsys):
    root, weights = folder
    image = sorted((root / "zero").glob("0*[0-9].png"))[0]
    out = tmp_path / "e.png"
    argv = ["explain", "--data", str(root), "--model", str(weights), "--arch", "lenet", "--image", str(image),
            "--method", "saliency,grad_cam", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "top classes: zero" in printed and "one" in printed
    assert f"LeNet ({weights})" in printed and out.is_file()
    assert main(argv[:-2] + ["--target", "0", "--out", str(out)]) == 0
    assert "explained class 0 (one)" in capsys.readouterr().out  # classes sorted: one 0, zero 1


def test_train_on_a_folder_learns_it(folder, capsys):
    from attributions.app import user_data
    from attributions.app.cli import build_parser
    from minicnn.train import evaluate

    root, weights = folder
    args = build_parser().parse_args(["compare", "--data", str(root), "--model", str(weights)])
    model, data, label = user_data.load_user_model(args, default_dataset="shapes")
    assert data.classes == ["one", "zero"] and label == str(weights)
    assert evaluate(model, data.x_test, data.y_test) >= 0.9  # 15 held-out images: chance is 0.5


def test_compare_on_a_folder_with_masks_and_on_a_user_model(folder, tmp_path, capsys):
    root, weights = folder
    out = tmp_path / "cmp"
    argv = ["compare", "--data", str(root), "--model", str(weights), "--arch", "lenet", "--n", "2",
            "--sanity-n", "2", "--subsets", "2", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    report = (out / "compare.md").read_text(encoding="utf-8")
    assert f"Your model ({weights})" in report and "`my_digits`" in report
    assert "pointing" in report and "Localisation chance level" in report  # the .mask.png files were used


def test_compare_without_masks_skips_localisation_with_a_note(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--dataset", "digits", "--model", weights_path("digits"), "--arch", "lenet", "--n", "2",
            "--sanity-n", "2", "--subsets", "2", "--out", str(out)]
    assert main(argv) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "no ground-truth masks" in notes[0] and "skipped" in notes[0]
    report = (out / "compare.md").read_text(encoding="utf-8")
    assert "| pointing" not in report and "Localisation metrics (pointing, mass and rank accuracy) skipped" in report


def test_the_localisation_note_names_the_mask_convention_for_a_folder(folder):
    import argparse

    from attributions.app.user_data import localisation_note
    from minicnn.data import load_image_folder

    root, _ = folder
    with_masks = load_image_folder(root)
    assert localisation_note(argparse.Namespace(data=str(root)), with_masks) is None
    bare = load_dataset("digits", size=16)  # any Dataset without masks, as a folder without .mask.png files gives
    note = localisation_note(argparse.Namespace(data="DIR"), bare)
    assert note.startswith("--data DIR has no masks (DIR/<class>/<name>.mask.png)") and "skipped" in note
    assert "\n" not in note


def test_weights_of_another_architecture_are_one_line_naming_keys(folder, tmp_path, capsys):
    root, weights = folder
    argv = ["compare", "--dataset", "digits", "--model", weights_path("shapes"), "--arch", "lenet",
            "--out", str(tmp_path / "c")]
    assert main(argv) == 1
    line = _one_line_error(capsys)
    assert "does not match the lenet architecture" in line and "features.0.weight" in line
    argv = ["compare", "--data", str(root), "--model", str(weights), "--arch", "vgg", "--out", str(tmp_path / "c")]
    assert main(argv) == 1
    line = _one_line_error(capsys)
    assert "vgg" in line and "missing key" in line and "unexpected key" in line


@pytest.mark.parametrize("argv, fragment", [
    (["explain", "--image", "x.png", "--data", "DIR"], "pass --model"),
    (["compare", "--data", "DIR", "--model", "w.npz", "--dataset", "digits"], "not both"),
    (["explain", "--image", "x.png", "--size", "8"], "only with --data"),
    (["explain", "--image", "x.png", "--arch", "resnet18", "--data", "DIR"], "not used with --arch resnet18"),
])
def test_option_mistakes_exit_2(argv, fragment, tmp_path, capsys):
    (tmp_path / "w.npz").write_bytes(b"")
    assert main([a.replace("w.npz", str(tmp_path / "w.npz")) for a in argv]) == 2
    assert fragment in _one_line_error(capsys)


def test_folder_problems_exit_1_naming_the_folder(tmp_path, capsys):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.png").write_bytes(b"")
    for command in (["compare", "--n", "1"], ["explain", "--image", "x.png"]):
        argv = command + ["--data", str(tmp_path / "flat"), "--model", weights_path("digits")]
        assert main(argv) == 1
        assert "no class folders" in _one_line_error(capsys)
    assert train_main(["--data", str(tmp_path / "flat"), "--epochs", "1"]) == 1
    assert "no class folders" in _one_line_error(capsys)


# ---- explain on a drawn digit ---------------------------------------------------------------------
def _drawn_digit(path, index=13):
    """A real digits sample drawn large in dark ink on white paper, off-centre."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    ink = np.kron(bunch.images[index] / 16.0, np.ones((6, 6)))
    paper = np.ones((90, 80))
    paper[20:68, 5:53] = 1.0 - ink
    mpimg.imsave(path, paper, cmap="gray", vmin=0, vmax=1)
    return int(bunch.target[index])


def test_explain_reads_a_drawn_digit_as_the_dataset_does(tmp_path, capsys):
    image = tmp_path / "drawn.png"
    label = _drawn_digit(image)
    argv = ["explain", "--image", str(image), "--method", "saliency", "--out", str(tmp_path / "e.png")]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "light background inverted" in captured.err and "warning" not in captured.err
    top = captured.out.split("top classes: ")[1].split(",")[0].split()[0]
    assert top == str(label)
    assert main(argv + ["--preprocess", "resize"]) == 0  # the plain resize: dark ink on white
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert any("mean pixel value" in w and "outside the training images' range" in w for w in warnings), warnings


def test_explain_help_documents_the_digit_pipeline(capsys):
    assert main(["explain", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in ("light background inverted", "cropped to the ink", "8×8", "--data DIR", "--preprocess"):
        assert fragment in text, fragment


# ---- the out-of-distribution warning ---------------------------------------------------------------
def test_unfamiliar_inputs_are_flagged_and_test_images_are_not():
    import minicnn as mc

    model, data = load_pretrained("digits")
    statistics = training_statistics(model, data)

    def warnings(x):
        with mc.no_grad():
            logits = model(x).data[0]
        p = np.exp(logits - logits.max())
        return unfamiliar(statistics, x, p / p.sum())

    flagged = [i for i in range(0, len(data.x_test), 8) if warnings(data.x_test[i:i + 1])]
    assert len(flagged) <= 1, flagged  # held-out digits: at most a rare low-confidence one
    inverted = warnings(1.0 - data.x_test[:1])
    assert any("mean pixel value" in w and "outside the training images' range" in w for w in inverted), inverted
    noise = warnings(np.random.default_rng(0).uniform(size=(1, 1, 16, 16)))
    assert any("mean pixel value" in w for w in noise), noise
    # the ranges hold the training images' values, the inverted digit is far outside them
    low, high = statistics.ranges["mean pixel value"]
    means = data.x_train.reshape(len(data.x_train), -1).mean(axis=1)
    assert low < np.quantile(means, 0.01) < np.quantile(means, 0.99) < high < 1.0 - data.x_test[0].mean()
    # the confidence floor: the 0.5 % quantile of the test images' max softmax, by its definition
    import minicnn.functional as F
    from minicnn.train import predict

    confidence = F.softmax(predict(model, data.x_test), axis=1).data.max(axis=1)
    assert (confidence < statistics.confidence_floor).sum() == int(np.ceil(0.005 * (len(confidence) - 1)))


def test_the_confidence_rule_on_hand_made_statistics():
    from attributions.app.ood import TrainingStatistics

    ranges = {"mean pixel value": (0.0, 1.0), "pixel standard deviation": (0.0, 1.0)}
    statistics = TrainingStatistics(ranges, 0.9, (1, 1))
    x = np.full((1, 1, 4, 4), 0.5)
    assert unfamiliar(statistics, x, np.array([0.95, 0.05])) == []
    (warning,) = unfamiliar(statistics, x, np.array([0.5, 0.3, 0.2]))
    assert "max softmax 0.50" in warning and "(0.90)" in warning
