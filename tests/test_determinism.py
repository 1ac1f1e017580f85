"""Determinism: the same computation gives bit-identical results, call after call.

The kernels are written so that every output element is produced by one thread in a fixed order
(no racy accumulation), and per-image sums are added in a fixed order. With the same thread count,
a training step from the same weights must therefore reproduce its parameters exactly, not just
to rounding. (No timing here: speed is measured by benchmarks/engine.py.)

Run with ``pytest tests/test_determinism.py``.
"""

import numba
import numpy as np
import pytest

import minicnn.functional as F
import minicnn.kernels as K
from minicnn import nn, optim

DTYPES = [np.float32, np.float64]


def lenet(dtype, seed=0):
    """LeNet-5 for 1×28×28 input, as in the speed benchmark."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2, dtype=dtype, rng=seed), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, dtype=dtype, rng=seed + 1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120, dtype=dtype, rng=seed + 2), nn.ReLU(),
        nn.Linear(120, 84, dtype=dtype, rng=seed + 3), nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype, rng=seed + 4))


def train_step_from(state, dtype, x, y, steps=2):
    """Load `state` into a fresh LeNet, run `steps` SGD steps (momentum), return the state_dict."""
    model = lenet(dtype)
    model.load_state_dict(state)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: np.array(v, copy=True) for k, v in model.state_dict().items()}


def assert_bit_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert np.array_equal(a[key], b[key]), f"{key} differs between two identical runs"


@pytest.fixture
def one_thread():
    """Run the Numba kernels on one thread, so their serial twins are exercised too."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("serial", [False, True], ids=["threads", "one_thread"])
def test_lenet_train_steps_repeat_bit_for_bit(dtype, serial, request):
    if serial:
        request.getfixturevalue("one_thread")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((64, 1, 28, 28)).astype(dtype)
    y = rng.integers(0, 10, 64)
    start = {k: np.array(v, copy=True) for k, v in lenet(dtype).state_dict().items()}
    first = train_step_from(start, dtype, x, y)
    second = train_step_from(start, dtype, x, y)
    assert_bit_identical(first, second)
    # ... and the steps really changed the weights (the comparison is not vacuous).
    assert not np.array_equal(first["0.weight"], start["0.weight"])


# (x shape, w shape, stride, padding): LeNet / VGG-like layers, a strided one, a 1×1 one.
CONV_CASES = [
    ((8, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2)),
    ((8, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0)),
    ((8, 16, 16, 16), (32, 16, 3, 3), (1, 1), (1, 1)),
    ((5, 3, 17, 13), (4, 3, 3, 2), (2, 3), (1, 0)),
    ((4, 8, 7, 7), (6, 8, 1, 1), (1, 1), (0, 0)),
]


def conv_outputs(x, w, g, stride, padding):
    return (K.conv2d_forward(x, w, stride, padding),
            K.conv2d_backward_input(g, w, x.shape, stride, padding),
            K.conv2d_backward_weight(g, x, w.shape, stride, padding))


def conv_inputs(case, dtype):
    x_shape, w_shape, stride, padding = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    oh = K.output_size(x_shape[2], w_shape[2], stride[0], padding[0])
    ow = K.output_size(x_shape[3], w_shape[3], stride[1], padding[1])
    g = rng.standard_normal((x_shape[0], w_shape[0], oh, ow)).astype(dtype)
    return x, w, g, stride, padding


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"x{c[0]}_w{c[1]}_s{c[2]}_p{c[3]}")
@pytest.mark.parametrize("serial", [False, True], ids=["threads", "one_thread"])
def test_conv_kernels_bit_identical_across_calls(case, dtype, serial, request):
    if serial:
        request.getfixturevalue("one_thread")
    args = conv_inputs(case, dtype)
    first = conv_outputs(*args)
    for _ in range(3):
        for a, b in zip(first, conv_outputs(*args)):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool_kernels_bit_identical_across_calls(dtype):
    x = np.random.default_rng(5).standard_normal((8, 6, 15, 15)).astype(dtype)
    y, argmax = K.max_pool2d_forward(x, 3, 2, 1)
    grad = K.max_pool2d_backward(y, argmax, x.shape)
    avg = K.avg_pool2d_forward(x, 3, 2, 1)
    avg_grad = K.avg_pool2d_backward(avg, x.shape, 3, 2, 1)
    for _ in range(3):
        y2, argmax2 = K.max_pool2d_forward(x, 3, 2, 1)
        assert np.array_equal(y, y2) and np.array_equal(argmax, argmax2)
        assert np.array_equal(grad, K.max_pool2d_backward(y2, argmax2, x.shape))
        assert np.array_equal(avg, K.avg_pool2d_forward(x, 3, 2, 1))
        assert np.array_equal(avg_grad, K.avg_pool2d_backward(avg, x.shape, 3, 2, 1))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least 2 Numba threads")
@pytest.mark.parametrize("case", CONV_CASES[1:4], ids=lambda c: f"x{c[0]}_w{c[1]}")
def test_convolutions_do_not_depend_on_thread_count(case):
    """The conv kernels give each image to one thread, which runs the same copies and the same
    single-threaded GEMMs whichever thread it is, so results do not depend on the thread count."""
    args = conv_inputs(case, np.float64)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = conv_outputs(*args)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        multi = conv_outputs(*args)
    finally:
        numba.set_num_threads(previous)
    for a, b in zip(single, multi):
        assert np.array_equal(a, b)
