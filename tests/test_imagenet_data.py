"""minicnn.data's ImageNet side: torchvision's input pipeline, the class names, the photos.

Run one part with e.g. ``pytest tests/test_imagenet_data.py -k classes``.
"""

import collections
import os
import socket
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from minicnn.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PHOTOS,
    ImageConversionWarning,
    imagenet_batch,
    imagenet_class_index,
    imagenet_classes,
    imagenet_preprocess,
    imagenet_unnormalize,
    load_dataset,
    load_photos,
    photos_batch,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = np.array(IMAGENET_MEAN)[:, None, None]
STD = np.array(IMAGENET_STD)[:, None, None]


def random_image(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def manual_crop_normalise(image, top, left, crop=224):
    """ToTensor + Normalize by hand on an image that needs no resizing."""
    cut = image[top:top + crop, left:left + crop].astype(np.float64) / 255.0
    return (cut.transpose(2, 0, 1) - MEAN) / STD


# ---- the pipeline ----------------------------------------------------------------------------
class TestPreprocess:
    def test_documented_constants(self):
        assert IMAGENET_MEAN == (0.485, 0.456, 0.406) and IMAGENET_STD == (0.229, 0.224, 0.225)

    @pytest.mark.parametrize("shape, top, left", [
        ((256, 300), 16, 38),   # (300 - 224) / 2 = 38
        ((256, 301), 16, 38),   # 38.5 rounds half to even, as torchvision's round() does
        ((256, 303), 16, 40),   # 39.5 → 40
        ((301, 256), 38, 16),   # portrait
        ((256, 256), 16, 16),
    ])
    def test_no_resize_needed_equals_a_manual_crop_and_normalise(self, shape, top, left):
        image = random_image(*shape)
        x = imagenet_preprocess(image)
        assert x.shape == (3, 224, 224) and x.dtype == np.float64 and x.flags.c_contiguous
        np.testing.assert_allclose(x, manual_crop_normalise(image, top, left), rtol=0, atol=1e-14)

    def test_resize_is_pillows_bilinear_on_the_shorter_side(self):
        image = random_image(300, 451, seed=1)
        # torchvision's Resize(256): short side 256, long side int(256 * 451 / 300) = 384.
        resized = np.asarray(Image.fromarray(image).resize((384, 256), Image.Resampling.BILINEAR))
        np.testing.assert_allclose(imagenet_preprocess(image), manual_crop_normalise(resized, 16, 80), atol=1e-14)

    def test_resize_keeps_a_constant_image_constant(self):
        x = imagenet_preprocess(np.full((513, 700, 3), 100, dtype=np.uint8))  # a 2× shrink: antialiased
        expected = (100 / 255 - MEAN) / STD
        np.testing.assert_allclose(x, np.broadcast_to(expected, x.shape), atol=1e-12)

    def test_float32_matches_torch_arithmetic_bit_for_bit(self):
        torch = pytest.importorskip("torch")
        image = random_image(256, 280, seed=2)
        crop = image[16:240, 28:252]
        expected = torch.from_numpy(crop).permute(2, 0, 1).float().div(255)
        mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
        expected = expected.sub(mean).div(std)
        x = imagenet_preprocess(image, dtype=np.float32)
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, expected.numpy())

    def test_float_image_in_unit_range(self):
        image = random_image(256, 300, seed=3)
        np.testing.assert_allclose(imagenet_preprocess(image / 255.0), imagenet_preprocess(image), atol=1e-12)
        # With a resize the float image is not rounded to 8 bits: within one grey level of the uint8 path.
        big = random_image(400, 500, seed=4)
        difference = np.abs(imagenet_preprocess(big / 255.0) - imagenet_preprocess(big))
        assert 0 < difference.max() <= 1 / 255 / min(IMAGENET_STD) + 1e-6

    def test_other_sizes(self):
        x = imagenet_preprocess(random_image(300, 400), resize=160, crop=128)
        assert x.shape == (3, 128, 128)

    def test_pil_image_equals_its_array(self):
        image = random_image(300, 320, seed=5)
        np.testing.assert_array_equal(imagenet_preprocess(Image.fromarray(image)), imagenet_preprocess(image))

    def test_integer_arrays_in_0_255(self):
        image = random_image(256, 256, seed=6)
        np.testing.assert_array_equal(imagenet_preprocess(image.astype(np.int64)), imagenet_preprocess(image))


class TestConversionNotes:
    @pytest.mark.parametrize("shape", [(256, 300), (256, 300, 1)])
    def test_greyscale_is_copied_to_rgb_with_a_note(self, shape):
        grey = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
        with pytest.warns(ImageConversionWarning, match="greyscale image 256×300 converted to RGB"):
            x = imagenet_preprocess(grey)
        rgb = np.repeat(grey.reshape(256, 300, 1), 3, axis=2)
        np.testing.assert_allclose(x, manual_crop_normalise(rgb, 16, 38), atol=1e-14)

    def test_pil_greyscale_too(self):
        with pytest.warns(ImageConversionWarning, match="greyscale"):
            imagenet_preprocess(Image.fromarray(np.zeros((256, 256), np.uint8)))

    def test_rgba_drops_alpha_with_a_note(self):
        rgba = np.concatenate([random_image(256, 300), np.zeros((256, 300, 1), np.uint8)], axis=2)
        with pytest.warns(ImageConversionWarning, match="alpha"):
            x = imagenet_preprocess(rgba)
        np.testing.assert_array_equal(x, imagenet_preprocess(rgba[:, :, :3]))

    def test_other_pil_modes_are_converted(self):
        image = Image.fromarray(random_image(256, 260)).convert("CMYK")
        with pytest.warns(ImageConversionWarning, match="mode 'CMYK' converted to RGB"):
            assert imagenet_preprocess(image).shape == (3, 224, 224)

    def test_small_image_is_enlarged_with_a_note(self):
        with pytest.warns(ImageConversionWarning, match="100×150, smaller than the 224×224 crop") as record:
            x = imagenet_preprocess(random_image(100, 150))
        assert x.shape == (3, 224, 224) and len(record) == 1
        assert "\n" not in str(record[0].message)

    def test_a_plain_rgb_image_gets_no_note(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            imagenet_preprocess(random_image(300, 300))


class TestBadImages:
    @pytest.mark.parametrize("image, error, expected", [
        (np.full((256, 256, 3), 2.0), ValueError, r"image: float pixels must lie in \[0, 1\]"),
        (np.full((256, 256, 3), np.nan), ValueError, r"\[0, 1\]"),
        (np.full((256, 256, 3), 300), ValueError, r"image: integer pixels must lie in 0..255"),
        (np.zeros((256, 256, 3), bool), TypeError, "uint8 .* got dtype bool"),
        (np.zeros((256, 256, 5), np.uint8), ValueError, r"H×W×3 .* got \(256, 256, 5\)"),
        (np.zeros((2, 256, 256, 3), np.uint8), ValueError, "H×W×3"),
        ([[0, 1], [2, 3]], TypeError, "image must be a numpy array H×W×3 or a PIL image, got list"),
    ])
    def test_one_clear_line(self, image, error, expected):
        with pytest.raises(error, match=expected) as info:
            imagenet_preprocess(image)
        assert "\n" not in str(info.value)

    def test_crop_larger_than_resize(self):
        with pytest.raises(ValueError, match=r"crop must be an int in \[1, 256\], got 300"):
            imagenet_preprocess(random_image(300, 300), crop=300)

    def test_dtype_must_be_floating(self):
        with pytest.raises(ValueError, match="dtype"):
            imagenet_preprocess(random_image(300, 300), dtype=np.int32)


class TestBatchAndUnnormalize:
    def test_batch_stacks_images_of_any_size(self):
        images = [random_image(256, 300), random_image(400, 320, seed=1)]
        x = imagenet_batch(images, dtype=np.float32)
        assert x.shape == (2, 3, 224, 224) and x.dtype == np.float32
        np.testing.assert_array_equal(x[1], imagenet_preprocess(images[1], dtype=np.float32))
        assert imagenet_batch(np.stack([random_image(256, 256)] * 3)).shape == (3, 3, 224, 224)

    @pytest.mark.parametrize("images, error", [([], ValueError), (random_image(256, 256), TypeError)])
    def test_batch_bad_input(self, images, error):
        with pytest.raises(error, match="images"):
            imagenet_batch(images)

    def test_round_trip_gives_the_crop_back(self):
        image = random_image(256, 300, seed=7)
        crop = image[16:240, 38:262] / 255.0
        np.testing.assert_allclose(imagenet_unnormalize(imagenet_preprocess(image)), crop, atol=1e-12)
        batch = imagenet_unnormalize(imagenet_batch([image, image]))
        assert batch.shape == (2, 224, 224, 3)
        np.testing.assert_allclose(batch[1], crop, atol=1e-12)

    def test_unnormalize_clips_and_keeps_float32(self):
        x = np.stack([np.full((4, 4), 10.0), np.full((4, 4), -10.0), np.zeros((4, 4))]).astype(np.float32)
        shown = imagenet_unnormalize(x)
        assert shown.dtype == np.float32 and shown.shape == (4, 4, 3)
        np.testing.assert_allclose(shown[0, 0], [1.0, 0.0, IMAGENET_MEAN[2]], rtol=1e-6)

    def test_unnormalize_needs_three_channels(self):
        with pytest.raises(ValueError, match=r"x must have shape \(3, H, W\) or \(N, 3, H, W\), got \(1, 8, 8\)"):
            imagenet_unnormalize(np.zeros((1, 8, 8)))


# ---- the class names -------------------------------------------------------------------------
class TestClassNames:
    def test_the_file_holds_torchvisions_1000_names(self):
        names = imagenet_classes()
        assert isinstance(names, tuple) and len(names) == 1000
        assert all(name and name == name.strip() for name in names)
        # torchvision's list has two names twice; the positions are what the models were trained on.
        twice = [name for name, count in collections.Counter(names).items() if count > 1]
        duplicates = {name: [i for i, m in enumerate(names) if m == name] for name in twice}
        assert duplicates == {"crane": [134, 517], "maillot": [638, 639]}
        assert len(set(names)) == 998

    @pytest.mark.parametrize("index, name", [
        (0, "tench"), (1, "goldfish"), (281, "tabby"), (285, "Egyptian cat"), (504, "coffee mug"),
        (999, "toilet tissue"), (657, "missile"), (872, "tripod"), (967, "espresso"), (968, "cup"),
    ])
    def test_spot_checks(self, index, name):
        assert imagenet_classes()[index] == name
        if name not in ("crane", "maillot"):
            assert imagenet_class_index(name) == index

    def test_file_is_package_data(self):
        tomllib = pytest.importorskip("tomllib")
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            package_data = tomllib.load(f)["tool"]["setuptools"]["package-data"]["minicnn"]
        assert "data/imagenet_classes.txt" in package_data
        assert os.path.isfile(os.path.join(ROOT, "minicnn", "data", "imagenet_classes.txt"))

    @pytest.mark.parametrize("name, suggested", [
        ("coffe mug", "'coffee mug'"), ("Tabby cat", "'tabby'"), ("golden retreiver", "'golden retriever'"),
    ])
    def test_unknown_name_suggests_the_closest(self, name, suggested):
        with pytest.raises(ValueError, match=f"name {name!r} is not an ImageNet class; closest: ") as info:
            imagenet_class_index(name)
        assert suggested in str(info.value)

    def test_ambiguous_name_lists_its_indices(self):
        with pytest.raises(ValueError, match=r"ambiguous.*\[134, 517\]"):
            imagenet_class_index("crane")

    def test_name_must_be_a_string(self):
        with pytest.raises(TypeError, match="name must be a str"):
            imagenet_class_index(281)


# ---- the photos ------------------------------------------------------------------------------
@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the photos must load without the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class TestPhotos:
    def test_every_photo_loads_offline_as_uint8(self, offline):
        names, images = load_photos()
        assert names == tuple(PHOTOS)
        for name, image in zip(names, images):
            assert image.dtype == np.uint8, name
            grey = PHOTOS[name].description.startswith("greyscale")
            assert image.shape[2:] == (() if grey else (3,)), name
            assert min(image.shape[:2]) >= 224 and image.std() > 10, name  # a real picture, not a blank

    def test_labels_are_imagenet_indices_of_what_is_pictured(self):
        labels = {name: photo.imagenet_class for name, photo in PHOTOS.items() if photo.imagenet_class}
        assert labels == {"chelsea": "tabby", "coffee": "espresso", "rocket": "missile", "camera": "tripod"}

    def test_photos_batch_without_notes(self, offline):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the grey photo is known to be grey: no note
            x, names = photos_batch(["chelsea", "camera"], dtype=np.float32)
        assert names == ("chelsea", "camera") and x.shape == (2, 3, 224, 224) and x.dtype == np.float32
        cat, cameraman = imagenet_unnormalize(x)
        np.testing.assert_allclose(cameraman[..., 0], cameraman[..., 2], atol=1e-6)  # grey copied to R, G, B
        assert np.abs(cat[..., 0] - cat[..., 2]).mean() > 0.01

    def test_load_dataset_photos(self, offline):
        data = load_dataset("photos")
        assert data.name == "photos" and len(data.x_train) == 0
        assert data.x_test.shape == (4, 3, 224, 224) and data.n_classes == 1000
        assert [data.classes[i] for i in data.y_test] == ["tabby", "espresso", "missile", "tripod"]

    @pytest.mark.parametrize("names, error", [(["chelsea", "dog"], ValueError), ([], TypeError), (3, TypeError)])
    def test_bad_names(self, names, error):
        with pytest.raises(error, match="names"):
            load_photos(names)

    def test_missing_scikit_image_says_how_to_install(self, monkeypatch):
        monkeypatch.setitem(sys.modules, "skimage", None)
        with pytest.raises(ImportError, match="pip install scikit-image"):
            load_photos(["chelsea"])
