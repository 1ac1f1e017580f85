"""The ImageNet path of the command line end to end: `explain --arch resnet18 --weights W --image
PHOTO` and `demo --dataset photos`, on seeded random weights (no real weights exist here), the
Figure-1 builder's layout, and every bad input's one-line error, exit code and clean directory.

resnet18 in float32 at 224×224 with 2 IG steps: a few seconds per photo on 2 cores.
"""

import os
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

import minicnn as mc
from attributions.app import photos
from attributions.app.cli import CLIError, UsageError, main
from attributions.app.imagenet_weights import GRADCAM_LAYERS, load_imagenet_model
from attributions.app.outputs import output_directory
from attributions.app.photos import explain_photo, format_probability, parse_target, read_photo
from attributions.app.plots import photo_figure
from minicnn.data import imagenet_class_index, imagenet_classes
from minicnn.models import IMAGENET, resnet18

IG = ["--ig-steps", "2"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Seeded random resnet18 weights (.npz) and two photos: chelsea as JPEG, a small grey PNG."""
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("inputs")
    mc.manual_seed(0)
    state = resnet18(num_classes=1000).state_dict()
    mc.save(state, folder / "resnet18.npz")
    Image.fromarray(data.chelsea()).save(folder / "chelsea.jpg")
    Image.fromarray(data.camera()[::4, ::4]).save(folder / "grey_small.png")  # 128×128, mode L
    return {"weights": str(folder / "resnet18.npz"), "state": state, "cat": str(folder / "chelsea.jpg"),
            "grey": str(folder / "grey_small.png"), "folder": folder}


@pytest.fixture(scope="module")
def explanation(files):
    model = load_imagenet_model("resnet18", files["weights"])
    x, notes = read_photo(files["cat"])
    assert notes == []  # a colour photo larger than 224: the plain pipeline
    return explain_photo(model, x, "resnet18", ig_steps=2)


def _leftovers(folder):
    return [name for name in os.listdir(folder) if name.startswith(".tmp-")]


def _one_line(err):
    lines = err.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


# ---- the main job --------------------------------------------------------------------------------
def test_explain_writes_figure_1(files, tmp_path, capsys):
    out = tmp_path / "figure.png"
    code = main(["explain", "--arch", "resnet18", "--weights", files["weights"], "--image", files["cat"],
                 "--out", str(out), "--dpi", "40", "--save", *IG])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""  # no notes for a colour photo
    picture = mpimg.imread(out)
    assert picture.shape[:2] == (round(7.0 * 40), round(9.6 * 40))  # figsize 9.6" × 7" at --dpi
    assert "top-5:" in captured.out and "explained class" in captured.out and f"wrote {out}" in captured.out
    assert _leftovers(tmp_path) == []
    # --save: the arrays of the figure, equal to explain_photo's on the same photo (float32 throughout)
    with np.load(tmp_path / "figure.npz", allow_pickle=False) as archive:
        saved = {name: archive[name] for name in archive.files}
    model = load_imagenet_model("resnet18", files["weights"])
    x, _ = read_photo(files["cat"])
    e = explain_photo(model, x, "resnet18", ig_steps=2)
    np.testing.assert_array_equal(saved["x"], x)
    assert saved["target"].tolist() == [e.target] and saved["contrast"].tolist() == [e.contrast]
    assert saved["photo"].tolist() == ["chelsea.jpg"] and len(saved["classes"]) == 1000
    np.testing.assert_allclose(saved["logits"][0], e.logits, rtol=1e-6)
    np.testing.assert_allclose(saved["deeplift_rescale"][0], e.deeplift, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(saved["integrated_gradients"][0], e.integrated_gradients, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(saved["grad_cam"][0], e.grad_cam[e.target], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(saved["grad_cam_contrast"][0], e.grad_cam[e.contrast], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(saved["baseline"], np.zeros_like(x))


def test_figure_1_layout_titles_and_classes(explanation):
    e = explanation
    names = imagenet_classes()
    assert e.target == e.top and e.contrast != e.target
    assert e.contrast == int(np.argsort(-e.probabilities)[1])  # target = top: Grad-CAM of the top two
    assert e.deeplift.shape == e.integrated_gradients.shape == (3, 224, 224)
    assert e.deeplift.dtype == np.float32 and e.x.dtype == np.float32
    assert abs(e.deltas["DeepLIFT"]) < 1e-4  # summation-to-delta holds on the real graph
    assert set(e.grad_cam) == {e.target, e.contrast}
    assert not np.allclose(e.grad_cam[e.target], e.grad_cam[e.contrast])

    fig = photo_figure(e, "chelsea", "resnet18 (random)")
    axes = fig.axes[:6]
    bars = [ax.get_ylabel() for ax in fig.axes[6:]]  # colour bars in words: the signed row, then Grad-CAM's
    assert bars == ["red raises the class score, blue lowers it", "darker red: more evidence for the class"]
    titles = [ax.get_title() for ax in axes]
    p_target = format_probability(e.probabilities[e.target])
    for title, method in zip(titles[1:3], ("DeepLIFT", "Integrated Gradients (2 steps)")):
        assert method in title and names[e.target] in title and p_target in title
    cams = titles[4:6]
    assert all("Grad-CAM (layer4)" in t for t in cams)
    assert names[e.target] in cams[0] and names[e.contrast] in cams[1]
    assert format_probability(e.probabilities[e.contrast]) in cams[1]
    assert titles[3] == "top-5 classes"
    bars = {tick.get_position()[1]: tick.get_text() for tick in axes[3].get_yticklabels()}
    assert bars[max(bars)] == f"{names[e.top]} ({e.top})"  # the top bar is the top class


def test_target_by_name_pth_weights_and_a_small_grey_photo(files, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pth = tmp_path / "resnet18.pth"
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in files["state"].items()}, pth)
    out = tmp_path / "grey.png"
    code = main(["explain", "--arch", "resnet18", "--weights", str(pth), "--image", files["grey"],
                 "--target", "tabby", "--out", str(out), "--dpi", "30", *IG])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    notes = captured.err.strip().splitlines()
    assert len(notes) == 2 and all(line.startswith("note: ") for line in notes)
    assert "greyscale" in notes[0] and "smaller than the 224×224 crop" in notes[1]
    assert "explained class 281 (tabby)" in captured.out
    assert out.exists()


def test_pth_weights_load_like_the_npz(files, tmp_path):
    torch = pytest.importorskip("torch")
    pth = tmp_path / "w.pth"
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in files["state"].items()}, pth)
    from_pth, from_npz = load_imagenet_model("resnet18", str(pth)), load_imagenet_model("resnet18", files["weights"])
    for (name, a), (_, b) in zip(from_pth.state_dict().items(), from_npz.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == (np.float32 if a.dtype.kind == "f" else np.int64)


def test_demo_on_the_bundled_photos(files, tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--dataset", "photos", "--arch", "resnet18", "--weights", files["weights"],
                 "--n", "2", "--out", str(out), "--dpi", "30", *IG])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(os.listdir(out)) == ["figure1_astronaut.png", "figure1_chelsea.png", "top5.md"]
    table = (out / "top5.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| photo")]
    assert [row.split("|")[1].strip() for row in rows] == ["astronaut", "chelsea"]
    assert "| chelsea | tabby |" in table and len(rows[0].split("|")) == 9  # photo, label, 5 classes
    assert "| chelsea | tabby |" in captured.out
    assert _leftovers(tmp_path) == []


def test_a_failed_demo_leaves_no_directory(files, explanation, tmp_path, monkeypatch, capsys):
    calls = []

    def second_photo_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("out of memory on the second photo")
        return explanation

    monkeypatch.setattr(photos, "explain_photo", second_photo_fails)
    out = tmp_path / "demo"
    assert main(["demo", "--dataset", "photos", "--weights", files["weights"], "--n", "2", "--out", str(out),
                 "--dpi", "30", *IG]) == 1
    assert "MemoryError" in capsys.readouterr().err
    assert not out.exists() and _leftovers(tmp_path) == []


# ---- bad input: one line, the right exit code, nothing written -----------------------------------
def _pickled_npz(folder):
    path = folder / "pickled.npz"
    np.savez(path, **{"conv1.weight": np.array([object()], dtype=object)})
    return str(path)


def _resnet50_mismatch(files):
    return ["--arch", "resnet50", "--weights", files["weights"]]


BAD = {
    "no weights": (lambda f, d: ["--arch", "resnet50"], 2,
                   ["resnet50 needs ImageNet weights", "none are bundled or downloaded", "torchvision", "timm",
                    "torch.save(model.state_dict()",
                    "python -m minicnn.convert resnet50.pth resnet50.safetensors --arch resnet50"]),
    "weights of another architecture": (lambda f, d: _resnet50_mismatch(f), 1,
                                        ["does not fit --arch resnet50", "missing keys (first: 'layer1.0.conv3.weight')",
                                         "shape mismatches (first: 'layer1.0.conv1.weight'"]),
    "pickled npz": (lambda f, d: ["--arch", "resnet18", "--weights", _pickled_npz(d)], 1,
                    ["pickled object array", "never unpickles"]),
    "unknown weights format": (lambda f, d: ["--arch", "resnet18", "--weights", str(d / "w.h5")], 2,
                               ["--weights", ".npz, .safetensors, .pth, .pt", ".h5"]),
    "weights file missing": (lambda f, d: ["--arch", "resnet18", "--weights", str(d / "nope.npz")], 1,
                             ["weights file not found"]),
    "unknown class name": (lambda f, d: ["--arch", "resnet18", "--weights", f["weights"], "--target", "tabby cat"], 2,
                           ["--target", "'tabby cat' is not an ImageNet class", "closest:", "'tabby'", "'tiger cat'"]),
    "class index out of range": (lambda f, d: ["--arch", "resnet18", "--weights", f["weights"], "--target", "1000"], 2,
                                 ["[0, 999]", "1000"]),
    "small dataset with an ImageNet arch": (lambda f, d: ["--arch", "resnet18", "--dataset", "digits"], 2,
                                            ["--dataset digits", "leave --dataset out"]),
    "method choice": (lambda f, d: ["--arch", "resnet18", "--method", "saliency"], 2, ["--method", "always shows"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_explain_input(case, files, tmp_path, capsys):
    extra, code, fragments = BAD[case]
    out = tmp_path / "sub" / "fig.png"
    argv = ["explain", "--image", files["cat"], "--out", str(out), *IG, *extra(files, tmp_path)]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert _one_line(err), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (tmp_path / "sub").exists()


def test_unreadable_photo_and_output_format(files, tmp_path, capsys):
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    base = ["explain", "--arch", "resnet18", "--weights", files["weights"]]
    assert main(base + ["--image", str(junk), "--out", str(tmp_path / "f.png")]) == 1
    err = capsys.readouterr().err
    assert _one_line(err) and "cannot read image" in err
    assert main(base + ["--image", files["cat"], "--out", str(tmp_path / "f.xyz")]) == 2
    err = capsys.readouterr().err
    assert _one_line(err) and "--out" in err and ".png" in err and ".xyz" in err
    assert sorted(os.listdir(tmp_path)) == ["junk.jpg"]


def test_pth_without_torch_says_install_or_convert(files, tmp_path, monkeypatch, capsys):
    pth = tmp_path / "resnet18.pth"
    pth.write_bytes(b"a checkpoint")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    out = tmp_path / "f.png"
    assert main(["explain", "--arch", "resnet18", "--weights", str(pth), "--image", files["cat"], "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert _one_line(err)
    assert "needs torch" in err and "pip install 'minicnn[torch]'" in err
    assert f"python -m minicnn.convert {pth} resnet18.safetensors --arch resnet18" in err
    assert not out.exists()


def test_debug_shows_the_full_key_lists(files, tmp_path, capsys):
    with pytest.raises(CLIError, match="does not fit --arch resnet50"):
        main(["explain", "--debug", "--image", files["cat"], "--out", str(tmp_path / "f.png"), *_resnet50_mismatch(files)])
    err = capsys.readouterr().err
    assert "missing keys (" in err and "unexpected keys (" in err and "'layer4.2.conv3.weight'" in err


@pytest.mark.parametrize("argv, code, fragments", [
    (["--dataset", "photos"], 2, ["resnet18 needs ImageNet weights", "--arch resnet18"]),
    (["--dataset", "photos", "--arch", "lenet", "--weights", "w.npz"], 2, ["needs an ImageNet architecture", "resnet50"]),
    (["--dataset", "digits", "--arch", "resnet18"], 2, ["an ImageNet architecture", "--dataset photos"]),
])
def test_bad_demo_input(argv, code, fragments, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", *argv, "--out", str(out)]) == code
    err = capsys.readouterr().err
    assert _one_line(err), err
    for fragment in fragments:
        assert fragment in err
    assert not out.exists()


# ---- the pieces ----------------------------------------------------------------------------------
def test_parse_target():
    assert parse_target(None) is None and parse_target("top") is None
    assert parse_target("tabby") == 281 == imagenet_class_index("tabby")
    assert parse_target("281") == 281
    with pytest.raises(UsageError, match="closest: 'tabby'"):
        parse_target("Tabby")
    with pytest.raises(UsageError, match="ambiguous"):
        parse_target("crane")
    with pytest.raises(UsageError, match=r"\[0, 999\]"):
        parse_target("-1")


def test_read_photo_notes(files, tmp_path):
    from PIL import Image

    x, notes = read_photo(files["grey"])
    assert x.shape == (1, 3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, 0] * 0.229 + 0.485, x[0, 2] * 0.225 + 0.406, atol=1e-6)  # grey in R = in B
    assert len(notes) == 2 and "greyscale" in notes[0] and "enlarged" in notes[1]
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (300, 260), (10, 200, 30, 128)).save(rgba)
    assert ["alpha" in note for note in read_photo(str(rgba))[1]] == [True]


def test_gradcam_layer_for_every_imagenet_architecture():
    assert set(GRADCAM_LAYERS) == set(IMAGENET)
    assert {GRADCAM_LAYERS[a] for a in IMAGENET if a.startswith("resnet")} == {"layer4"}
    assert {GRADCAM_LAYERS[a] for a in IMAGENET if not a.startswith("resnet")} == {"features"}
    assert "layer4" in dict(resnet18().named_modules())


def test_output_directory_is_atomic_and_keeps_existing_files(tmp_path):
    fresh = tmp_path / "fresh"
    with output_directory(str(fresh)) as staging:
        (open(os.path.join(staging, "a.txt"), "w")).close()
        assert not fresh.exists()  # nothing visible until the block succeeds
    assert sorted(os.listdir(fresh)) == ["a.txt"]
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("the user's file")
    with output_directory(str(kept)) as staging:
        (open(os.path.join(staging, "b.txt"), "w")).close()
    assert sorted(os.listdir(kept)) == ["b.txt", "mine.txt"]
    with pytest.raises(RuntimeError):
        with output_directory(str(tmp_path / "failed")):
            raise RuntimeError("boom")
    assert sorted(os.listdir(tmp_path)) == ["fresh", "kept"]
