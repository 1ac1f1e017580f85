"""The fast conv kernels on one or two large images, the case issue 12 is about.

An image whose convolution is large (at least threads.PARALLEL_MACS multiply-adds) is cut into
a fixed number of work items — bands of output rows or blocks of channels for im2col
(fast/conv.py), bands of tile rows or blocks of channels for Winograd (fast/winograd.py) — so a
batch of one keeps both cores busy. The cut depends only on the layer's shape, every item writes
its own part of the result or its own partial sum (added in a fixed order), so these kernels
promise results that are bit-identical

* from call to call,
* whatever the number of Numba threads (1 or 2 here),
* for an image alone and for the same image inside a batch.

The grouped/depthwise kernels (fast/grouped_conv.py: one thread per plane or weight, each
summed in a fixed order) promise the same. Every kernel agrees with the reference to rounding.
"""

from math import ceil

import numba
import numpy as np
import pytest

import minicnn.kernels as K
from minicnn.kernels import reference as R
from minicnn.kernels.fast import conv as conv_module
from minicnn.kernels.fast import threads, winograd

# id: (input (C, H, W), weight (O, C/groups, KH, KW), stride, padding, groups)
SHAPES = {
    "stem7x7s2": ((3, 64, 64), (64, 3, 7, 7), 2, 3, 1),
    "3x3s1-winograd-bands": ((64, 56, 56), (64, 64, 3, 3), 1, 1, 1),
    "3x3s1-winograd-channels": ((96, 14, 14), (96, 96, 3, 3), 1, 1, 1),
    "3x3s1-im2col-small-plane": ((192, 7, 7), (192, 192, 3, 3), 1, 1, 1),
    "3x3s1-im2col-14x14-big-filters": ((128, 14, 14), (128, 128, 3, 3), 1, 1, 1),
    "3x3s1-im2col-many-filters": ((256, 14, 14), (256, 256, 3, 3), 1, 1, 1),  # O ≥ OH·OW, yet bands
    "3x3s2": ((128, 28, 28), (128, 128, 3, 3), 2, 1, 1),
    "1x1s1": ((64, 28, 28), (256, 64, 1, 1), 1, 0, 1),       # ∂L/∂x cut in pixel bands, ∂L/∂w in rows o
    "1x1s1-channels": ((512, 14, 14), (128, 512, 1, 1), 1, 0, 1),  # both cut along the channels c
    "1x1s2-channels": ((256, 28, 28), (512, 256, 1, 1), 2, 0, 1),
    "depthwise3x3s2": ((96, 56, 56), (96, 1, 3, 3), 2, 1, 96),
}
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-5}

two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 Numba threads")


def data(shape_id, batch, dtype, seed=0):
    (c, h, w), w_shape, s, p, groups = SHAPES[shape_id]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, c, h, w)).astype(dtype)
    weight = rng.standard_normal(w_shape).astype(dtype)
    oh, ow = K.output_size(h, w_shape[2], s, p), K.output_size(w, w_shape[3], s, p)
    g = rng.standard_normal((batch, w_shape[0], oh, ow)).astype(dtype)
    return x, weight, g, (s, s), (p, p), groups


def fast_all(x, w, g, s, p, groups):
    return (K.conv2d_forward(x, w, s, p, groups=groups),
            K.conv2d_backward_input(g, w, x.shape, s, p, groups=groups),
            K.conv2d_backward_weight(g, x, w.shape, s, p, groups=groups))


def reference_all(x, w, g, s, p, groups):
    return (R.conv2d_forward(x, w, s, p, groups=groups),
            R.conv2d_backward_input(g, w, x.shape, s, p, groups=groups),
            R.conv2d_backward_weight(g, x, w.shape, s, p, groups=groups))


@pytest.fixture
def restore_threads():
    saved = numba.get_num_threads()
    yield
    numba.set_num_threads(saved)


def test_these_shapes_are_cut_inside_the_image():
    # Otherwise the tests below would not exercise the within-image split.
    for shape_id, ((c, h, w), (o, _, kh, kw), s, p, groups) in SHAPES.items():
        if groups > 1:
            continue
        oh, ow = K.output_size(h, kh, s, p), K.output_size(w, kw, s, p)
        assert threads.parts_per_image(o * c * kh * kw * oh * ow) > 1, shape_id
        if winograd.applies((o, c, kh, kw), (s, s), (p, p), (oh, ow)):
            th, tw = (oh + 1) // 2, (ow + 1) // 2
            band_rows, block = winograd._split(th, tw, c, o, o * c * 9 * oh * ow)
            assert band_rows < th or block < o, shape_id
        else:
            rows, o_block = conv_module._forward_split(o, c * kh * kw, oh, ow, kh * kw)
            assert rows < oh or o_block < o, shape_id
            assert conv_module._channel_block(c, o * c * kh * kw * oh * ow) < c or c == 1


def test_the_kernel_each_shape_is_meant_to_exercise():
    def applies(shape_id):
        (c, h, w), w_shape, s, p, _ = SHAPES[shape_id]
        out = (K.output_size(h, w_shape[2], s, p), K.output_size(w, w_shape[3], s, p))
        return winograd.applies(w_shape, (s, s), (p, p), out)

    assert applies("3x3s1-winograd-bands") and applies("3x3s1-winograd-channels")
    # Big filter banks on 14×14 and 7×7 planes go to im2col (winograd.MIN_TILES).
    assert not applies("3x3s1-im2col-14x14-big-filters") and not applies("3x3s1-im2col-small-plane")
    assert not applies("3x3s1-im2col-many-filters")
    # The 1×1 backward products cut the longer side of their result into parts.
    parts = threads.PARTS_PER_IMAGE
    assert conv_module._pointwise_split(64, 28 * 28, 10**9) == (64, ceil(784 / parts))     # ∂L/∂x
    assert conv_module._pointwise_split(256, 64, 10**9) == (256 // parts, 64)              # ∂L/∂w
    assert conv_module._pointwise_split(512, 14 * 14, 10**9) == (512 // parts, 196)
    assert conv_module._pointwise_split(128, 512, 10**9) == (128, 512 // parts)
    # The im2col forward: 3×3 layers in bands of rows unless a band is thinner than
    # _MIN_BLOCK_PIXELS; 1×1 layers in blocks of output channels when O ≥ OH·OW.
    def split(shape_id):
        (c, h, w), (o, _, kh, kw), s, p, _ = SHAPES[shape_id]
        oh, ow = K.output_size(h, kh, s, p), K.output_size(w, kw, s, p)
        return conv_module._forward_split(o, c * kh * kw, oh, ow, kh * kw), o, oh
    (rows, o_block), o, oh = split("3x3s1-im2col-14x14-big-filters")     # 128 ≥ 14·14 is false
    assert (rows, o_block) == (ceil(oh / parts), o)
    (rows, o_block), o, oh = split("3x3s1-im2col-small-plane")           # bands of 2 × 7 pixels
    assert (rows, o_block) == (oh, ceil(o / parts))
    (rows, o_block), o, oh = split("3x3s1-im2col-many-filters")          # 256 ≥ 196, bands of 56 pixels
    assert (rows, o_block) == (ceil(oh / parts), o)
    (rows, o_block), o, oh = split("1x1s2-channels")
    assert (rows, o_block) == (oh, ceil(o / parts))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape_id", list(SHAPES))
def test_batch_of_one_matches_reference_and_repeats(shape_id, dtype):
    x, w, g, s, p, groups = data(shape_id, 1, dtype)
    first = fast_all(x, w, g, s, p, groups)
    for ours, ref in zip(first, reference_all(x, w, g, s, p, groups)):
        assert ours.dtype == dtype and ours.shape == ref.shape
        scale = np.abs(ref).max()
        assert np.abs(ours - ref).max() <= TOLERANCE[dtype] * scale
    for a, b in zip(first, fast_all(x, w, g, s, p, groups)):
        assert np.array_equal(a, b)


@two_threads
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("shape_id", list(SHAPES))
def test_same_bits_on_one_and_two_threads(restore_threads, shape_id, dtype, batch):
    x, w, g, s, p, groups = data(shape_id, batch, dtype, seed=1)
    numba.set_num_threads(1)
    one = fast_all(x, w, g, s, p, groups)
    numba.set_num_threads(2)
    two = fast_all(x, w, g, s, p, groups)
    for a, b in zip(one, two):
        assert np.array_equal(a, b)
    if batch == 2:
        # The first image alone gives the same forward and ∂L/∂x bits as inside the batch.
        alone = fast_all(x[:1], w, g[:1], s, p, groups)
        assert np.array_equal(alone[0], two[0][:1])
        assert np.array_equal(alone[1], two[1][:1])
