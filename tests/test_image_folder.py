"""minicnn.data.image_folder, image_file and resize: torchvision's ImageFolder rules on folders
written here, the one image-to-input rule, and the resize matrices against independent sums."""

import os

import matplotlib.image as mpimg
import numpy as np
import pytest

import minicnn.functional as F
from minicnn.data import ImageFolder, ImageFolderError, find_classes, load_image_folder, read_image, resize, to_input
from minicnn.data.image_file import ImageFileError
from minicnn.data.resize import area_matrix, interpolation_matrix


def _write(path, picture):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mpimg.imsave(path, picture, cmap="gray", vmin=0, vmax=1) if picture.ndim == 2 else mpimg.imsave(path, picture)


def _folder(root, per_class=4, size=(12, 10), seed=0):
    """root/<class>/<i>.png for classes "b_dark", "a_bright" (class a: bright images)."""
    rng = np.random.default_rng(seed)
    for name, level in (("b_dark", 0.2), ("a_bright", 0.8)):
        for i in range(per_class):
            _write(str(root / name / f"{i}.png"), np.clip(level + 0.1 * rng.normal(size=size), 0, 1))
    return root


# ---- the index: torchvision's rules ---------------------------------------------------------------
def test_classes_samples_and_extensions_follow_torchvision(tmp_path):
    grey = np.linspace(0, 1, 16).reshape(4, 4)
    for relative in ("zebra/2.png", "zebra/10.PNG", "zebra/sub/1.jpg", "ant/x.bmp", "ant/y.tiff", "ant/z.webp",
                     "ant/w.ppm", "ant/v.pgm", "ant/u.jpeg", "ant/t.tif"):
        path = tmp_path / relative
        os.makedirs(path.parent, exist_ok=True)
        from PIL import Image

        mode = "RGB" if relative.endswith((".ppm", ".jpg", ".jpeg", ".webp")) else "L"
        Image.fromarray(np.rint(grey * 255).astype(np.uint8)).convert(mode).save(path)
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    (tmp_path / "ant" / "x.mask.png").write_bytes((tmp_path / "ant" / "x.bmp").read_bytes())  # a mask, not a sample
    (tmp_path / "readme.md").write_text("a file at the top level is not a class")
    folder = ImageFolder(tmp_path)
    assert folder.classes == ["ant", "zebra"] and folder.class_to_idx == {"ant": 0, "zebra": 1}
    expected = [("ant", n) for n in ("t.tif", "u.jpeg", "v.pgm", "w.ppm", "x.bmp", "y.tiff", "z.webp")]
    expected += [("zebra", "10.PNG"), ("zebra", "2.png"), (os.path.join("zebra", "sub"), "1.jpg")]
    assert folder.samples == [(os.path.join(str(tmp_path), d, n), 0 if d == "ant" else 1) for d, n in expected]
    assert folder.targets == [0] * 7 + [1] * 3 and len(folder) == 10
    picture, target = folder[4]
    np.testing.assert_allclose(picture, np.rint(grey * 255) / 255)
    assert target == 0


def test_folder_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(ImageFolderError, match="not found"):
        find_classes(tmp_path / "missing")
    (tmp_path / "loose.png").write_bytes(b"")
    with pytest.raises(ImageFolderError, match="no class folders"):
        ImageFolder(tmp_path)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("no image here")
    with pytest.raises(ImageFolderError, match=r"class folder .*cat holds no image.*\.png"):
        ImageFolder(tmp_path)
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png at all")
    _write(str(tmp_path / "cat" / "ok.png"), np.zeros((4, 4)))
    with pytest.raises(ImageFolderError, match=r"cannot read image .*broken\.png"):
        load_image_folder(tmp_path)


# ---- the dataset ----------------------------------------------------------------------------------
def test_load_image_folder_converts_like_explain_and_splits_by_class(tmp_path):
    from attributions.app.cli import load_image

    root = _folder(tmp_path / "mine", per_class=6)
    data = load_image_folder(root)
    # imsave writes RGBA, but every image is grey: one channel, the first image's 12×10 size
    assert data.input_shape == (1, 12, 10) and data.name == "mine" and data.classes == ["a_bright", "b_dark"]
    assert (len(data.x_train), len(data.x_test)) == (9, 3) and data.masks_train is None
    assert sorted(np.bincount(data.y_test).tolist()) == [1, 2]  # stratified: 1.5 test images per class, rounded
    every = np.concatenate([data.x_train, data.x_test])
    labels = np.concatenate([data.y_train, data.y_test])
    folder = ImageFolder(root)
    for path, target in folder.samples:  # each image is in the dataset once, converted as explain does
        x = load_image(path, (1, 12, 10))[0]
        hits = [i for i in range(len(every)) if np.array_equal(every[i], x)]
        assert len(hits) == 1 and labels[hits[0]] == target
    # bright class 0, dark class 1: the labels follow the folder names
    assert every[labels == 0].mean() > 0.6 > 0.4 > every[labels == 1].mean()
    again = load_image_folder(root)
    np.testing.assert_array_equal(again.x_test, data.x_test)  # the same seed, the same held-out images
    small = load_image_folder(root, size=8, channels=3)
    assert small.input_shape == (3, 8, 8)


def test_colour_images_give_three_channels_and_masks_follow_their_images(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("p", "q"):
        for i in range(3):
            picture = np.zeros((8, 8, 3))
            top, left = rng.integers(0, 5, size=2)
            picture[top:top + 3, left:left + 3, 0] = 1.0  # a red square ...
            _write(str(tmp_path / name / f"{i}.png"), picture)
            _write(str(tmp_path / name / f"{i}.mask.png"), picture[..., 0])  # ... and its mask
    data = load_image_folder(tmp_path, test_fraction=0.5)
    assert data.input_shape == (3, 8, 8) and data.has_masks
    images, masks = np.concatenate([data.x_train, data.x_test]), np.concatenate([data.masks_train, data.masks_test])
    for x, mask in zip(images, masks):
        np.testing.assert_array_equal(mask, x[0] > 0.5)  # the split kept each mask with its image
        assert np.all(x[1] < 0.01)  # no green
    os.remove(tmp_path / "q" / "2.mask.png")
    with pytest.raises(ImageFolderError, match=r"5 of 6 images have a mask.*2\.mask\.png"):
        load_image_folder(tmp_path)


def test_a_folder_needs_two_images(tmp_path):
    _write(str(tmp_path / "only" / "one.png"), np.zeros((4, 4)))
    with pytest.raises(ImageFolderError, match="at least 2"):
        load_image_folder(tmp_path)


# ---- image file → input ---------------------------------------------------------------------------
def test_read_image_scales_16_bit_and_rejects_missing_files(tmp_path):
    from PIL import Image

    values = np.array([[0, 65535], [32768, 1000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.tif")
    np.testing.assert_allclose(read_image(tmp_path / "deep.tif"), values / 65535.0)
    with pytest.raises(ImageFileError, match="not found"):
        read_image(tmp_path / "nope.png")


def test_to_input_luminance_and_repeat():
    colour = np.zeros((3, 5, 3))
    colour[..., 0], colour[..., 2] = 1.0, 0.5
    np.testing.assert_allclose(to_input(colour, (1, 3, 5)), 0.299 + 0.5 * 0.114)
    grey = np.random.default_rng(0).uniform(size=(3, 5))
    three = to_input(grey, (3, 3, 5))
    np.testing.assert_allclose(three, np.stack([grey] * 3))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        to_input(grey, (2, 3, 5))


# ---- resize matrices ------------------------------------------------------------------------------
@pytest.mark.parametrize("size_in, size_out", [((7, 11), (16, 5)), ((32, 32), (16, 16)), ((5, 9), (5, 9))])
def test_bilinear_resize_is_the_engine_interpolate(size_in, size_out):
    x = np.random.default_rng(2).normal(size=(2, 3) + size_in)
    np.testing.assert_allclose(resize(x, size_out), F.interpolate(x, size_out).data, atol=1e-12)


def test_area_matrix_block_means_and_padding_windows():
    x = np.random.default_rng(3).uniform(size=(12, 8))
    reduced = resize(x, (3, 2), "area")
    np.testing.assert_allclose(reduced, x.reshape(3, 4, 2, 4).mean(axis=(1, 3)))  # whole blocks: plain means
    matrix = interpolation_matrix(7, 3, "area")  # footprints of 7/3 pixels: rows still sum to 1
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    # pixel i has value i: output 0 = (0·1 + 1·1 + 2·⅓) / (7/3), output 1 = (2·⅔ + 3 + 4·⅔) / (7/3), ...
    np.testing.assert_allclose(matrix @ np.arange(7.0), [5 / 7, 3, 37 / 7])
    # A window of 8 pixels centred on a 4-pixel axis: the source sits in the middle, zeros around it
    padded = area_matrix(4, 8, start=-2.0, span=8.0) @ np.ones(4)
    np.testing.assert_allclose(padded, [0, 0, 1, 1, 1, 1, 0, 0])
    half = area_matrix(3, 2, start=-0.5, span=4.0) @ np.ones(3)  # footprints [-0.5, 1.5), [1.5, 3.5)
    np.testing.assert_allclose(half, [0.75, 0.75])
