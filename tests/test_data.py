"""Tests for minicnn.data: datasets, splitting, IDX files and batching.

Grouped by module so a student can run one part, e.g.
``pytest tests/test_data.py -k shapes``.
"""

import gzip
import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data import (
    DATASETS,
    SHAPE_CLASSES,
    DataLoader,
    Dataset,
    load_dataset,
    load_digits,
    load_faces,
    load_idx_dataset,
    load_shapes,
    make_shapes,
    read_idx,
    train_test_split,
)
from minicnn.data.digits import upsample
from minicnn.data.split import stratified_test_counts

# --------------------------------------------------------------------------- helpers


def assert_split_is_stratified(y_all, y_test, test_fraction):
    """Each class's test count is within one of its proportional share."""
    n_test = len(y_test)
    for label, count in zip(*np.unique(y_all, return_counts=True)):
        share = count * n_test / len(y_all)
        assert abs(np.sum(y_test == label) - share) < 1.0, (label, share)
    assert abs(n_test - test_fraction * len(y_all)) <= 0.5


# --------------------------------------------------------------------------- Dataset


def _tiny_dataset(**overrides):
    fields = dict(
        x_train=np.zeros((4, 1, 3, 3)),
        y_train=np.array([0, 1, 0, 1]),
        x_test=np.zeros((2, 1, 3, 3)),
        y_test=np.array([0, 1]),
        classes=["a", "b"],
        name="tiny",
    )
    fields.update(overrides)
    return Dataset(**fields)


def test_dataset_repr_reports_sizes():
    text = repr(_tiny_dataset())
    for part in ("tiny", "train=4", "test=2", "(1, 3, 3)", "classes=2", "float64", "masks=False"):
        assert part in text


def test_dataset_properties_and_frozen():
    ds = _tiny_dataset()
    assert ds.n_classes == 2 and ds.input_shape == (1, 3, 3) and not ds.has_masks
    with pytest.raises(AttributeError):
        ds.name = "other"


@pytest.mark.parametrize(
    "overrides, argument",
    [
        (dict(y_train=np.array([0, 1, 0])), "y_train"),
        (dict(x_test=np.zeros((2, 3, 3))), "x_test"),
        (dict(y_test=np.array([0, 2])), "y_test"),
        (dict(masks_train=np.zeros((4, 3, 3), bool)), "masks_train"),
        (dict(masks_train=np.zeros((4, 3, 3)), masks_test=np.zeros((2, 3, 3), bool)), "masks_train"),
    ],
)
def test_dataset_rejects_inconsistent_fields(overrides, argument):
    with pytest.raises(ValueError, match=argument):
        _tiny_dataset(**overrides)


# --------------------------------------------------------------------------- digits


def test_digits_shapes_dtype_range_and_sizes():
    ds = load_digits()
    assert ds.name == "digits" and ds.classes == [str(d) for d in range(10)]
    assert ds.x_train.shape == (1348, 1, 8, 8) and ds.x_test.shape == (449, 1, 8, 8)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert ds.masks_train is None and ds.masks_test is None
    assert_split_is_stratified(np.concatenate([ds.y_train, ds.y_test]), ds.y_test, 0.25)


@pytest.mark.parametrize("size", [16, 32])
def test_digits_upsampled_sizes(size):
    ds = load_digits(size=size, dtype=np.float32)
    assert ds.x_train.shape == (1348, 1, size, size) and ds.x_train.dtype == np.float32
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    # Same split as the 8x8 version: block averages of the upsampled images
    # match the originals exactly for pixel repetition, closely for bilinear.
    small = load_digits(dtype=np.float32).x_train
    f = size // 8

    def pooled(images):
        return images.reshape(-1, 1, 8, f, 8, f).mean(axis=(3, 5))

    nearest = load_digits(size=size, method="nearest").x_train
    np.testing.assert_allclose(pooled(nearest), small, atol=1e-6)
    assert np.corrcoef(pooled(ds.x_train).ravel(), small.ravel())[0, 1] > 0.95


def test_digits_split_depends_on_seed_only():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_upsample_nearest_repeats_pixels_and_bilinear_keeps_constants():
    x = np.random.default_rng(0).random((2, 3, 4, 4))
    np.testing.assert_array_equal(upsample(x, 8, "nearest"), x.repeat(2, axis=2).repeat(2, axis=3))
    np.testing.assert_allclose(upsample(np.full((1, 1, 4, 4), 0.3), 16), 0.3)
    # Half-pixel bilinear: a linear ramp stays a ramp away from the clamped edges.
    ramp = np.tile(np.arange(4.0), (4, 1))[None, None]
    rows = upsample(ramp, 8)[0, 0, 0]
    np.testing.assert_allclose(rows, [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        (dict(size=12), ValueError, "size"),
        (dict(size=16.0), TypeError, "size"),
        (dict(test_fraction=1.5), ValueError, "test_fraction"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(dtype=np.int32), ValueError, "dtype"),
        (dict(method="cubic"), ValueError, "method"),
    ],
)
def test_digits_bad_arguments(kwargs, error, argument):
    with pytest.raises(error, match=argument):
        load_digits(**kwargs)


# --------------------------------------------------------------------------- faces


def test_faces_shapes_labels_and_balance():
    ds = load_faces()
    assert ds.classes == ["non-face", "face"] and ds.name == "faces"
    assert ds.x_train.shape == (150, 1, 25, 25) and ds.x_test.shape == (50, 1, 25, 25)
    assert ds.x_train.dtype == np.float64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert np.bincount(ds.y_train).tolist() == [75, 75]
    assert np.bincount(ds.y_test).tolist() == [25, 25]
    assert load_faces(dtype=np.float32).x_test.dtype == np.float32


def test_faces_labels_match_upstream_order():
    from skimage.data import lfw_subset

    images = lfw_subset()
    ds = load_faces(test_fraction=0.5, seed=3)
    # Find each test image in the upstream array: faces are rows 0..99.
    flat = images.reshape(200, -1)
    for image, label in zip(ds.x_test[:10, 0], ds.y_test[:10]):
        row = np.flatnonzero(np.all(np.isclose(flat, image.ravel()), axis=1))[0]
        assert label == int(row < 100)


# --------------------------------------------------------------------------- shapes


def test_make_shapes_shapes_dtypes_and_range():
    x, y, masks = make_shapes(64, size=32, seed=1)
    assert x.shape == (64, 1, 32, 32) and x.dtype == np.float64
    assert y.shape == (64,) and y.dtype == np.int64
    assert masks.shape == (64, 32, 32) and masks.dtype == bool
    assert 0.0 <= x.min() and x.max() <= 1.0
    x32, _, _ = make_shapes(8, seed=1, dtype=np.float32)
    assert x32.dtype == np.float32


@pytest.mark.parametrize("n", [4, 10, 403])
def test_make_shapes_labels_are_balanced(n):
    _, y, _ = make_shapes(n, seed=2)
    counts = np.bincount(y, minlength=len(SHAPE_CLASSES))
    assert counts.max() - counts.min() <= 1 and counts.sum() == n


def test_masks_are_inside_the_image_and_sized_by_scale():
    _, _, masks = make_shapes(400, size=32, seed=3, scale=(8, 14))
    area = masks.sum(axis=(1, 2))
    assert area.min() > 0
    rows, cols = masks.any(axis=2), masks.any(axis=1)
    height, width = rows.sum(axis=1), cols.sum(axis=1)
    # Bounding box side s in [8, 14] covers between s - 1 and s + 1 pixel centres.
    assert height.min() >= 7 and height.max() <= 15
    assert width.min() >= 7 and width.max() <= 15


def test_masks_cover_exactly_the_painted_pixels_without_noise():
    x, y, masks = make_shapes(200, seed=4, noise=0, distractors=0, intensity=(0.6, 1.0))
    image = x[:, 0]
    assert np.all(image[~masks] == 0.0)
    for i in range(len(x)):
        values = image[i][masks[i]]
        # One flat intensity per shape, within the requested range.
        assert np.all(values == values[0]) and 0.6 <= values[0] <= 1.0


def test_mask_pixels_hold_the_shape_intensity_even_with_noise():
    x_clean, y_clean, m_clean = make_shapes(100, seed=5, noise=0, distractors=0)
    x, y, masks = make_shapes(100, seed=5)
    # Labels and masks do not depend on the background options ...
    np.testing.assert_array_equal(y, y_clean)
    np.testing.assert_array_equal(masks, m_clean)
    # ... and the shape is painted over the background, so its pixels are unchanged.
    np.testing.assert_array_equal(x[:, 0][masks], x_clean[:, 0][masks])
    assert np.any(x[:, 0][~masks] > 0)


def test_distractors_only_add_background_structure():
    x, _, masks = make_shapes(50, seed=6, noise=0, distractors=3)
    background = np.where(masks, 0.0, x[:, 0])
    assert np.all(background.max(axis=(1, 2)) > 0.1)  # every image got visible blobs
    # Blobs are centred away from the shape: the ring of pixels just outside the
    # mask is dark on average (a blob sitting on the shape would light it up).
    grown = masks.copy()
    grown[:, 1:] |= masks[:, :-1]
    grown[:, :-1] |= masks[:, 1:]
    grown[:, :, 1:] |= masks[:, :, :-1]
    grown[:, :, :-1] |= masks[:, :, 1:]
    ring = grown & ~masks
    assert x[:, 0][ring].mean() < 0.1


def test_shape_classes_have_their_geometry():
    _, y, masks = make_shapes(200, seed=7, scale=(12, 14))
    for label, mask in zip(y, masks):
        r = np.flatnonzero(mask.any(axis=1))
        c = np.flatnonzero(mask.any(axis=0))
        box = mask[r[0] : r[-1] + 1, c[0] : c[-1] + 1]
        fill = box.mean()
        name = SHAPE_CLASSES[label]
        if name == "square":
            assert fill == 1.0
        elif name == "circle":
            assert 0.65 < fill < 0.9  # pi / 4 ~ 0.785 for an ideal disc
        elif name == "triangle":
            widths = box.sum(axis=1)
            assert np.all(np.diff(widths) >= 0) and widths[0] < widths[-1]
        else:  # cross: the corners of its bounding box are empty, the centre is not
            assert not box[0, 0] and not box[-1, -1] and box[len(box) // 2, box.shape[1] // 2]
            assert fill < 0.7


def test_make_shapes_is_deterministic_by_seed():
    a = make_shapes(50, seed=11)
    b = make_shapes(50, seed=11)
    c = make_shapes(50, seed=12)
    for first, second in zip(a, b):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(a[2], c[2])
    generator_result = make_shapes(50, seed=np.random.default_rng(11))
    np.testing.assert_array_equal(generator_result[0], a[0])


def test_make_shapes_5000_images_is_fast():
    # Informational only: timing depends on the machine, so nothing is asserted.
    start = time.perf_counter()
    x, _, _ = make_shapes(5000, seed=0)
    elapsed = time.perf_counter() - start
    assert x.shape == (5000, 1, 32, 32)
    print(f"make_shapes(5000): {elapsed:.3f} s")


def test_load_shapes_dataset():
    ds = load_shapes(n_train=200, n_test=80, seed=0)
    assert ds.name == "shapes" and ds.classes == list(SHAPE_CLASSES) and ds.has_masks
    assert ds.x_train.shape == (200, 1, 32, 32) and ds.masks_test.shape == (80, 32, 32)
    assert np.bincount(ds.y_test).tolist() == [20, 20, 20, 20]
    # Train and test are different streams; the test size does not change train.
    assert not np.array_equal(ds.x_train[:80], ds.x_test)
    other = load_shapes(n_train=200, n_test=40, seed=0)
    np.testing.assert_array_equal(ds.x_train, other.x_train)
    assert not np.array_equal(ds.x_train, load_shapes(n_train=200, n_test=40, seed=1).x_train)
    small = load_shapes(n_train=8, n_test=4, size=20, scale=(6, 10), noise=0.0, dtype=np.float32)
    assert small.x_train.shape == (8, 1, 20, 20) and small.x_train.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, error, argument",
    [
        (dict(n=0), ValueError, "n"),
        (dict(n=2.5), TypeError, "n"),
        (dict(n=4, size=12), ValueError, "size"),
        (dict(n=4, scale=(2, 6)), ValueError, "scale"),
        (dict(n=4, scale=(10, 8)), ValueError, "scale"),
        (dict(n=4, intensity=(0.0, 1.0)), ValueError, "intensity"),
        (dict(n=4, intensity=(0.5, 1.5)), ValueError, "intensity"),
        (dict(n=4, noise=-0.1), ValueError, "noise"),
        (dict(n=4, noise="a"), TypeError, "noise"),
        (dict(n=4, distractors=(2, 1)), ValueError, "distractors"),
        (dict(n=4, distractors=1.5), TypeError, "distractors"),
        (dict(n=4, seed=-3), ValueError, "seed"),
        (dict(n=4, dtype=np.uint8), ValueError, "dtype"),
    ],
)
def test_make_shapes_bad_arguments(kwargs, error, argument):
    with pytest.raises(error, match=argument):
        make_shapes(**kwargs)


def test_load_shapes_bad_arguments():
    with pytest.raises(ValueError, match="n_train"):
        load_shapes(n_train=0)
    with pytest.raises(TypeError, match="colour"):
        load_shapes(n_train=4, n_test=4, colour=True)


# --------------------------------------------------------------------------- split


def test_train_test_split_is_stratified_disjoint_and_aligned():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(5), [10, 23, 7, 40, 20])
    x = np.arange(len(y)) * 10
    masks = np.arange(len(y))[:, None] * np.ones((1, 3))
    x_tr, x_te, y_tr, y_te, m_tr, m_te = train_test_split(x, y, masks, test_fraction=0.3, seed=5)
    assert len(x_te) == 30 and len(x_tr) == 70
    assert_split_is_stratified(y, y_te, 0.3)
    # Every row ends up in exactly one part, and rows stay aligned across arrays.
    np.testing.assert_array_equal(np.sort(np.concatenate([x_tr, x_te])), x)
    np.testing.assert_array_equal(y[x_tr // 10], y_tr)
    np.testing.assert_array_equal(m_te[:, 0] * 10, x_te)
    again = train_test_split(x, y, masks, test_fraction=0.3, seed=5)
    np.testing.assert_array_equal(again[1], x_te)
    assert not np.array_equal(train_test_split(x, y, test_fraction=0.3, seed=6)[1], x_te)
    plain = train_test_split(x, rng.integers(0, 3, len(y)), stratify=False)
    assert len(plain[1]) == 25


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 50), min_size=1, max_size=8),
    fraction=st.floats(0.05, 0.95),
)
def test_stratified_counts_sum_and_stay_within_one(counts, fraction):
    n_test = int(np.floor(fraction * sum(counts) + 0.5))
    per_class = stratified_test_counts(counts, n_test)
    assert per_class.sum() == n_test
    ideal = np.asarray(counts) * n_test / sum(counts)
    assert np.all(np.abs(per_class - ideal) < 1.0)


@pytest.mark.parametrize(
    "args, kwargs, error, argument",
    [
        ((np.zeros(4), [0, 1, 0, 1]), {}, TypeError, "y"),
        ((np.zeros(5), np.zeros(4, int)), {}, ValueError, "x"),
        ((np.zeros(4), np.zeros(4, int), np.zeros(3)), {}, ValueError, r"others\[0\]"),
        ((np.zeros(4), np.zeros(4, int)), dict(test_fraction=0.0), ValueError, "test_fraction"),
        ((np.zeros(2), np.zeros(2, int)), dict(test_fraction=0.1), ValueError, "test_fraction"),
        ((np.zeros(4), np.zeros(4, int)), dict(seed=1.5), TypeError, "seed"),
    ],
)
def test_train_test_split_bad_arguments(args, kwargs, error, argument):
    with pytest.raises(error, match=argument):
        train_test_split(*args, **kwargs)


# --------------------------------------------------------------------------- IDX

_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array):
    """Encode ``array`` as IDX, written independently of the reader under test."""
    header = bytes([0, 0, _TYPE_CODES[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, compress=False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("dtype", list(_TYPE_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.random((3, 4, 5)) * 100 - (0 if np.dtype(dtype).kind == "u" else 50)).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if compress else "a.idx"), array, compress)
    result = read_idx(path)
    assert result.dtype == dtype and result.dtype.isnative and result.flags.writeable
    np.testing.assert_array_equal(result, array)


def test_read_idx_detects_gzip_by_magic_and_reads_1d(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    path = write_idx(tmp_path / "labels-no-suffix", labels, compress=True)
    np.testing.assert_array_equal(read_idx(str(path)), labels)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[:6], "truncated"),
        (lambda b: b[:3], "truncated"),
        (lambda b: b + b"\x00", "trailing"),
        (lambda b: b"\x01" + b[1:], "magic"),
        (lambda b: b[:2] + b"\x07" + b[3:], "type code"),
        (lambda b: b[:3] + b"\x00" + b[4:], "dimensions"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, mutate, message):
    data = idx_bytes(np.zeros((2, 3), dtype=np.int16))
    path = tmp_path / "broken.idx"
    path.write_bytes(mutate(data))
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert "broken.idx" in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((20, 20), np.uint8)))
    path = tmp_path / "cut.idx.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.idx.gz"):
        read_idx(path)


def test_read_idx_bad_path_type():
    with pytest.raises(TypeError, match="path"):
        read_idx(42)


def _mnist_like(tmp_path, n_train=12, n_test=5, compress=True):
    rng = np.random.default_rng(0)
    files = {}
    for split, n in (("train", n_train), ("test", n_test)):
        suffix = ".gz" if compress else ""
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        labels = (np.arange(n) % 10).astype(np.uint8)
        files[f"{split}_images"] = write_idx(tmp_path / f"{split}-images{suffix}", images, compress)
        files[f"{split}_labels"] = write_idx(tmp_path / f"{split}-labels{suffix}", labels, compress)
    return files


def test_load_idx_dataset(tmp_path):
    files = _mnist_like(tmp_path)
    ds = load_idx_dataset(**files, name="mnist")
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    np.testing.assert_allclose(ds.x_test[:, 0] * 255, read_idx(files["test_images"]))
    assert ds.classes == [str(d) for d in range(10)] and ds.name == "mnist"
    assert load_idx_dataset(**files, dtype=np.float32).x_test.dtype == np.float32


def test_load_idx_dataset_checks_label_count(tmp_path):
    files = _mnist_like(tmp_path, compress=False)
    write_idx(files["test_labels"], np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="test_labels"):
        load_idx_dataset(**files)
    with pytest.raises(TypeError, match="train_images"):
        load_idx_dataset(None, files["train_labels"], files["test_images"], files["test_labels"])


# --------------------------------------------------------------------------- DataLoader


@pytest.mark.parametrize("n, batch_size", [(10, 3), (12, 4), (5, 10), (1, 1)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_loader_covers_every_index_once_per_epoch(n, batch_size, shuffle):
    x = np.arange(n)
    y = -np.arange(n)
    loader = DataLoader(x, y, batch_size=batch_size, shuffle=shuffle, seed=0)
    assert len(loader) == -(-n // batch_size)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = np.concatenate([xb for xb, _ in batches])
        np.testing.assert_array_equal(np.sort(seen), x)
        for xb, yb in batches:
            np.testing.assert_array_equal(yb, -xb)
            assert len(xb) <= batch_size


def test_loader_drop_last():
    loader = DataLoader(np.arange(10), np.arange(10), batch_size=3, drop_last=True)
    assert len(loader) == 3
    sizes = [len(xb) for xb, _ in loader]
    assert sizes == [3, 3, 3]
    assert len(DataLoader(np.arange(9), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(np.arange(2), batch_size=3, drop_last=True)) == 0


def test_loader_seeded_reproducible_and_reshuffles():
    x = np.arange(50)

    def epochs(loader, k=3):
        return [np.concatenate([b[0] for b in loader]) for _ in range(k)]

    a = epochs(DataLoader(x, batch_size=7, shuffle=True, seed=1))
    b = epochs(DataLoader(x, batch_size=7, shuffle=True, seed=1))
    c = epochs(DataLoader(x, batch_size=7, shuffle=True, seed=2))
    for first, second in zip(a, b):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(a[0], a[1])  # a new order each epoch
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(epochs(DataLoader(x, batch_size=7), 1)[0], x)


def test_loader_extra_arrays_and_single_array():
    x, y, masks = make_shapes(20, seed=0)
    for xb, yb, mb in DataLoader(x, y, masks, batch_size=6, shuffle=True, seed=0):
        assert xb.shape[1:] == (1, 32, 32) and mb.shape[1:] == (32, 32)
        assert len(xb) == len(yb) == len(mb)
    (only,) = next(iter(DataLoader(np.arange(5), batch_size=2)))
    np.testing.assert_array_equal(only, [0, 1])


@pytest.mark.parametrize(
    "args, kwargs, error, argument",
    [
        ((np.zeros(4), np.zeros(4)), dict(batch_size=0), ValueError, "batch_size"),
        ((np.zeros(4), np.zeros(4)), dict(batch_size=2.0), TypeError, "batch_size"),
        ((np.zeros(4), np.zeros(4)), dict(batch_size=True), TypeError, "batch_size"),
        ((np.zeros(4), np.zeros(5)), {}, ValueError, "length"),
        ((np.zeros(4), [0, 1, 2, 3]), {}, TypeError, r"arrays\[1\]"),
        ((), {}, ValueError, "arrays"),
        ((np.zeros(4),), dict(seed=-1), ValueError, "seed"),
        ((np.zeros(4),), dict(shuffle=1), TypeError, "shuffle"),
        ((np.zeros(4),), dict(drop_last="no"), TypeError, "drop_last"),
    ],
)
def test_loader_bad_arguments(args, kwargs, error, argument):
    with pytest.raises(error, match=argument):
        DataLoader(*args, **kwargs)


# --------------------------------------------------------------------------- load_dataset


def test_load_dataset_dispatches():
    assert set(DATASETS) == {"digits", "faces", "shapes", "photos"}
    ds = load_dataset("shapes", n_train=8, n_test=4)
    assert ds.name == "shapes" and len(ds.x_train) == 8
    assert load_dataset("digits", size=16).input_shape == (1, 16, 16)
    assert load_dataset("faces").name == "faces"
    assert load_dataset("photos", dtype=np.float32).x_test.dtype == np.float32  # more in test_imagenet_data.py


def test_load_dataset_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        load_dataset("mnist")
    for valid in ("digits", "faces", "shapes", "photos", "name"):
        assert valid in str(info.value)
    with pytest.raises(TypeError, match="name"):
        load_dataset(3)
