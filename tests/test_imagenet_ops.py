"""The ops the ImageNet zoo added: grouped, depthwise and dilated convolution, Hardtanh/ReLU6,
adaptive average pooling to any size, ceil_mode max pooling and cat.

Each is held to four independent things:

- float64 gradient checks (`mc.gradcheck`: the whole Jacobian against central differences), on
  both kernel backends;
- PyTorch: forward and every gradient (input, weight, bias) to 1e-12 in float64 and 1e-5 in
  float32, on both backends;
- the fast kernels against their NumPy reference twins on the zoo's own layer shapes, and the
  same call twice giving bit-identical results;
- DeepLIFT through all of them: summation-to-delta, gradient × Δx where the net is linear,
  closed forms computed by hand, and Captum's `DeepLift`.

Argument errors are checked last: one line, naming the op and the argument.

Run one part with e.g. ``pytest tests/test_imagenet_ops.py -k Torch``.
"""

import numpy as np
import pytest

import attributions as A
from attributions.deeplift_rules import RULES
import minicnn as mc
import minicnn.functional as F
import minicnn.kernels as K
from minicnn import Tensor, nn
from minicnn.kernels import reference as R
from minicnn.kernels.windows import output_hw, pair

TORCH_REASON = "torch not installed: PyTorch cross-checks skipped"
BACKENDS = ("fast", "reference")
DTYPES = {np.float64: 1e-12, np.float32: 1e-5}   # dtype → relative tolerance against PyTorch


def rel_err(ours, theirs):
    """max|ours − theirs| / max|theirs| (scale-aware: entries zero by cancellation do not blow up),
    after checking shape and dtype."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    scale = max(float(np.abs(theirs).max(initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.abs(ours.astype(np.float64) - theirs).max(initial=0.0)) / scale


def assert_close(ours, theirs, rel=1e-12, what="result"):
    err = rel_err(ours, theirs)
    assert err <= rel, f"{what}: relative error {err:.3e} > {rel:.0e}"


def leaf(array, dtype=np.float64):
    return Tensor(np.asarray(array, dtype=dtype), requires_grad=True)


def check_gradients(fn, *inputs):
    assert mc.gradcheck(fn, list(inputs)) is True


def away_from(kinks, shape, seed, low, high, margin=0.05):
    """Uniform values in [low, high] at least `margin` from every kink (gradcheck's ε never
    straddles a kink of Hardtanh or ReLU6)."""
    values = np.random.default_rng(seed).uniform(low, high, shape)
    for kink in kinks:
        near = np.abs(values - kink) < margin
        values[near] = kink + np.where(values[near] >= kink, margin, -margin) * 2
    return leaf(values)


def distinct(shape, seed):
    """Pairwise ≥ 0.1 apart: max pooling has no ties within gradcheck's ε."""
    size = int(np.prod(shape))
    return leaf(np.random.default_rng(seed).permutation(size).reshape(shape) * 0.1 - size * 0.05)


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test on each kernel backend."""
    with K.use(request.param):
        yield request.param


# ----------------------------------------------------------------------------------------------
# The cases
# ----------------------------------------------------------------------------------------------

# name → (x shape, weight shape, stride, padding, dilation, groups)
CONV_CASES = {
    "groups2": ((2, 4, 5, 6), (6, 2, 3, 3), 1, 1, 1, 2),
    "groups3": ((1, 6, 5, 5), (3, 2, 2, 3), 1, 0, 1, 3),
    "depthwise-x2": ((2, 3, 6, 5), (6, 1, 3, 3), 1, 1, 1, 3),      # groups = C, O = 2C
    "depthwise-stride2": ((1, 4, 7, 8), (4, 1, 3, 3), 2, 1, 1, 4),
    "dilation2": ((1, 2, 7, 7), (3, 2, 3, 3), 1, 0, 2, 1),
    "dilation2x3": ((1, 2, 7, 9), (2, 2, 3, 3), 1, (1, 2), (2, 3), 1),
    "all-together": ((2, 4, 9, 8), (6, 2, 3, 2), (2, 1), (2, 1), (2, 3), 2),
}

# name → (x shape, output size, whether the bins divide the input)
ADAPTIVE_CASES = {
    "5x7-to-3x2": ((2, 2, 5, 7), (3, 2)),         # overlapping bins on both axes
    "13x13-to-6x6": ((1, 2, 13, 13), (6, 6)),     # AlexNet's head
    "2x2-to-7x7": ((1, 2, 2, 2), (7, 7)),         # more bins than pixels: each pixel in several bins
    "6x4-to-3x2": ((1, 3, 6, 4), (3, 2)),         # bins that divide: plain 2×2 average pooling
    "None-keeps-axis": ((1, 2, 5, 4), (2, None)),
}

# name → (x shape, kernel, stride, padding, ceil_mode output (OH, OW), floor-mode output)
CEIL_CASES = {
    "extra-window": ((1, 2, 8, 8), 3, 2, 0, (4, 4), (3, 3)),
    "extra-window-padded": ((1, 2, 10, 7), 3, 2, 1, (6, 4), (5, 4)),
    # ⌈(5 + 2 − 2)/2⌉ + 1 = 4 windows, but the 4th would start in the right padding: dropped.
    "last-window-dropped": ((1, 2, 5, 5), 2, 2, 1, (3, 3), (3, 3)),
    "rectangular": ((2, 1, 10, 6), (3, 2), (2, 3), (1, 0), (6, 2), (5, 2)),   # rows: extra; columns: dropped
    "squeezenet-65": ((1, 1, 65, 65), 3, 2, 0, (32, 32), (32, 32)),
    "squeezenet-32": ((1, 1, 32, 32), 3, 2, 0, (16, 16), (15, 15)),
    # The window is larger than the padded input: floor mode has no window (refused), ceil mode
    # keeps one clipped window, as PyTorch does.
    "kernel-larger-than-input": ((1, 2, 2, 2), 3, 2, 0, (1, 1), None),
    "kernel-larger-padded": ((1, 1, 1, 3), 3, 2, 1, (1, 2), (1, 2)),
}


def conv_inputs(case, dtype=np.float64, seed=0, table=None):
    """x, weight, bias and the settings of a case of `table` (CONV_CASES by default)."""
    x_shape, w_shape, stride, padding, dilation, groups = (table or CONV_CASES)[case]
    rng = np.random.default_rng(seed)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in (x_shape, w_shape, w_shape[:1]))
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


# ----------------------------------------------------------------------------------------------
# Gradient checks (float64, whole Jacobian against central differences)
# ----------------------------------------------------------------------------------------------

class TestGradcheck:
    @pytest.mark.parametrize("case", CONV_CASES)
    def test_conv2d(self, backend, case):
        x, w, b, settings = conv_inputs(case)
        check_gradients(lambda x, w, b: F.conv2d(x, w, b, **settings), leaf(x), leaf(w), leaf(b))

    def test_conv2d_layer(self, backend):
        layer = nn.Conv2d(4, 6, 3, stride=2, padding=(2, 1), dilation=(2, 1), groups=2, rng=0)
        x = leaf(np.random.default_rng(1).standard_normal((1, 4, 7, 6)))
        check_gradients(lambda x, w, b: F.conv2d(x, w, b, layer.stride, layer.padding, layer.dilation, layer.groups),
                        x, layer.weight, layer.bias)
        np.testing.assert_array_equal(layer(x).data, F.conv2d(x, layer.weight, layer.bias, 2, (2, 1), (2, 1), 2).data)

    @pytest.mark.parametrize("fn, kinks, span", [
        (F.relu6, (0.0, 6.0), (-2.0, 8.0)),
        (lambda t: F.hardtanh(t), (-1.0, 1.0), (-2.0, 2.0)),
        (lambda t: F.hardtanh(t, -0.5, 2.5), (-0.5, 2.5), (-1.5, 3.5)),
        (nn.ReLU6(), (0.0, 6.0), (-2.0, 8.0)),
        (nn.Hardtanh(0.25, 0.75), (0.25, 0.75), (0.0, 1.0)),
    ], ids=["relu6", "hardtanh", "hardtanh-bounds", "ReLU6-layer", "Hardtanh-layer"])
    def test_clamp(self, fn, kinks, span):
        x = away_from(kinks, (3, 40), 0, *span)
        assert (x.data < kinks[0]).any() and (x.data > kinks[1]).any()   # all three pieces sampled
        check_gradients(fn, x)

    @pytest.mark.parametrize("case", ADAPTIVE_CASES)
    def test_adaptive_avg_pool2d(self, case):
        shape, size = ADAPTIVE_CASES[case]
        check_gradients(lambda t: F.adaptive_avg_pool2d(t, size), leaf(np.random.default_rng(0).standard_normal(shape)))

    @pytest.mark.parametrize("case", CEIL_CASES)
    def test_max_pool2d_ceil_mode(self, backend, case):
        shape, kernel, stride, padding, ceil_hw, floor_hw = CEIL_CASES[case]
        x = distinct(shape, 0)
        assert F.max_pool2d(x, kernel, stride, padding, ceil_mode=True).shape[2:] == ceil_hw
        if floor_hw is None:
            with pytest.raises(ValueError, match="larger than the padded input"):
                F.max_pool2d(x, kernel, stride, padding)
        else:
            assert F.max_pool2d(x, kernel, stride, padding).shape[2:] == floor_hw
        if x.size <= 200:  # the 65×65 and 32×32 planes: shapes only (the Jacobians are large)
            check_gradients(lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode=True), x)

    @pytest.mark.parametrize("cat", [mc.cat, F.cat], ids=["mc.cat", "F.cat"])
    def test_cat_three_tensors(self, cat):
        rng = np.random.default_rng(0)
        parts = [leaf(rng.standard_normal((2, c, 3, 2))) for c in (1, 3, 2)]
        weights = Tensor(rng.standard_normal((2, 6, 3, 2)))   # every output element seen apart
        check_gradients(lambda a, b, c: cat([a, b, c], 1) * weights, *parts)
        np.testing.assert_array_equal(cat(parts, 1).data, np.concatenate([p.data for p in parts], axis=1))

    def test_identity(self):
        x = leaf(np.random.default_rng(0).standard_normal((2, 3)))
        layer = nn.Identity(54, unused="ignored")
        assert layer(x) is x
        check_gradients(lambda t: layer(t) * t, x)


# ----------------------------------------------------------------------------------------------
# Agreement with PyTorch: forward and every gradient
# ----------------------------------------------------------------------------------------------

def against_torch(ours_fn, torch_fn, arrays, rel, seed=1):
    """Run `ours_fn` on engine leaves and `torch_fn` on torch leaves of the same arrays, seed both
    backward passes with the same random upstream gradient, and compare output and every input's
    gradient (dtype included)."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    ours = [leaf(a, a.dtype) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, y_t = ours_fn(*ours), torch_fn(*theirs)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)
    y.backward(g)
    y_t.backward(torch.tensor(g))
    assert y.dtype == arrays[0].dtype
    assert_close(y.data, y_t.detach().numpy(), rel, "forward")
    for i, (a, t) in enumerate(zip(ours, theirs)):
        assert a.grad.dtype == a.dtype, f"gradient of input {i} is {a.grad.dtype}"
        assert_close(a.grad, t.grad.numpy(), rel, f"gradient of input {i}")


@pytest.fixture(params=list(DTYPES), ids=lambda d: d.__name__)
def dtype(request):
    return request.param


class TestTorch:
    @pytest.mark.parametrize("case", CONV_CASES)
    @pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
    def test_conv2d(self, backend, dtype, case, bias):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        x, w, b, s = conv_inputs(case, dtype)
        arrays = (x, w, b) if bias else (x, w)
        against_torch(lambda *t: F.conv2d(*t, **s), lambda *t: torch.nn.functional.conv2d(*t, **s),
                      arrays, DTYPES[dtype])

    @pytest.mark.parametrize("case", ADAPTIVE_CASES)
    def test_adaptive_avg_pool2d(self, backend, dtype, case):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        shape, size = ADAPTIVE_CASES[case]
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        against_torch(lambda t: F.adaptive_avg_pool2d(t, size),
                      lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size), [x], DTYPES[dtype])

    @pytest.mark.parametrize("case", CEIL_CASES)
    @pytest.mark.parametrize("values", ["normal", "ties"])
    def test_max_pool2d_ceil_mode(self, backend, dtype, case, values):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        shape, kernel, stride, padding, _, _ = CEIL_CASES[case]
        rng = np.random.default_rng(0)
        # "ties": few distinct values, so windows (the partial ones too) hold equal maxima and
        # the gradient must go to the same one PyTorch picks.
        x = (rng.standard_normal(shape) if values == "normal" else rng.integers(0, 3, shape)).astype(dtype)
        against_torch(lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode=True),
                      lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding, ceil_mode=True),
                      [x], DTYPES[dtype])

    @pytest.mark.parametrize("name, bounds", [("relu6", ()), ("hardtanh", ()), ("hardtanh", (-2.0, 0.5))],
                             ids=["relu6", "hardtanh", "hardtanh-bounds"])
    def test_clamp(self, dtype, name, bounds):
        """Values on both kinks exactly, where PyTorch's derivative is 0, and on every piece."""
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        ours, theirs = (lambda t: getattr(F, name)(t, *bounds)), (lambda t: getattr(torch.nn.functional, name)(t, *bounds))
        low, high = bounds or {"relu6": (0.0, 6.0), "hardtanh": (-1.0, 1.0)}[name]
        x = np.concatenate([np.random.default_rng(0).uniform(low - 3, high + 3, 50), (low, high) * 3])
        assert (x == low).sum() == 3 and (x == high).sum() == 3
        against_torch(ours, theirs, [x.astype(dtype)], 0.0)   # exact: clamps and 0/1 derivatives

    def test_cat(self, dtype):
        torch = pytest.importorskip("torch", reason=TORCH_REASON)
        rng = np.random.default_rng(0)
        parts = [rng.standard_normal((2, c, 3, 4)).astype(dtype) for c in (2, 1, 3)]
        against_torch(lambda *t: mc.cat(list(t), 1), lambda *t: torch.cat(list(t), 1), parts, 0.0)

    def test_layers(self, backend):
        """nn.Conv2d / ReLU6 / Hardtanh / MaxPool2d(ceil_mode) / AdaptiveAvgPool2d / Identity against
        torch.nn's, weights copied by state_dict."""
        torch = pytest.importorskip("torch", reason=TORCH_REASON)

        def net(lib):
            return lib.Sequential(
                lib.Conv2d(4, 8, 3, padding=1, groups=2), lib.ReLU6(), lib.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=8),
                lib.Hardtanh(-0.5, 0.5), lib.MaxPool2d(3, 2, padding=1, ceil_mode=True), lib.Identity(),
                lib.Conv2d(8, 6, 2, dilation=(1, 2)), lib.AdaptiveAvgPool2d((3, 2)), lib.Flatten(), lib.Linear(36, 5))

        torch.manual_seed(0)
        theirs = net(torch.nn).double()
        ours = net(nn)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        x = np.random.default_rng(0).standard_normal((2, 4, 15, 13)) * 4
        xt, xm = torch.tensor(x, requires_grad=True), leaf(x)
        theirs(xt)[:, 1].sum().backward()
        ours(xm)[:, 1].sum().backward()
        assert_close(xm.grad, xt.grad.numpy())
        for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert p.grad is not None, name
            assert_close(p.grad, pt.grad.numpy())


# ----------------------------------------------------------------------------------------------
# Fast kernels against their reference twins on the zoo's layer shapes
# ----------------------------------------------------------------------------------------------

# name → (x shape, weight shape, stride, padding, dilation, groups)
ZOO_CONVS = {
    "mobilenet-dw-112-s1": ((1, 32, 112, 112), (32, 1, 3, 3), 1, 1, 1, 32),
    "mobilenet-dw-112-s2": ((1, 32, 112, 112), (32, 1, 3, 3), 2, 1, 1, 32),
    "mobilenet-dw-14-576-s1": ((1, 576, 14, 14), (576, 1, 3, 3), 1, 1, 1, 576),
    "mobilenet-dw-14-576-s2": ((1, 576, 14, 14), (576, 1, 3, 3), 2, 1, 1, 576),
    "resnet-stem-7x7-s2": ((1, 3, 224, 224), (64, 3, 7, 7), 2, 3, 1, 1),
    "1x1-s1": ((2, 32, 28, 28), (64, 32, 1, 1), 1, 0, 1, 1),
    "1x1-s2": ((2, 64, 28, 28), (128, 64, 1, 1), 2, 0, 1, 1),
    "grouped-4": ((2, 32, 14, 14), (64, 8, 3, 3), 1, 1, 1, 4),
    "grouped-4-s2-dilated": ((2, 32, 15, 14), (32, 8, 3, 3), 2, 2, 2, 4),
    "dilated-3x3": ((2, 16, 20, 20), (24, 16, 3, 3), 1, 2, 2, 1),
    "dilated-3x3-(2,3)-s2": ((2, 16, 21, 20), (24, 16, 3, 3), 2, (2, 3), (2, 3), 1),
    "dilated-2x2-winograd": ((2, 16, 12, 12), (16, 16, 2, 2), 1, 1, 2, 1),   # dilated kernel is 3×3
}


@pytest.fixture(scope="module")
def fast_kernels():
    """The fast backend's module (its Numba kernels), called directly."""
    import minicnn.kernels.fast as fast

    return fast


@pytest.mark.parametrize("case", ZOO_CONVS)
def test_fast_conv_matches_reference_on_zoo_shapes(fast_kernels, case):
    x, w, b, settings = conv_inputs(case, table=ZOO_CONVS)
    stride, padding, dilation = (pair(settings[k]) for k in ("stride", "padding", "dilation"))
    groups, x_shape, w_shape = settings["groups"], x.shape, w.shape
    if "winograd" in case:   # the zero-dilated 3×3 kernel takes the Winograd path
        from minicnn.kernels.fast import winograd

        assert winograd.applies(fast_kernels.conv._dilated(w, dilation).shape, stride, padding)
    g = np.random.default_rng(1).standard_normal(
        (x_shape[0], w_shape[0]) + output_hw(*x_shape[2:], w_shape[2:], stride, padding, dilation))
    calls = {
        "forward": lambda m: m.conv2d_forward(x, w, stride, padding, b, dilation, groups),
        "∂x": lambda m: m.conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups),
        "∂w": lambda m: m.conv2d_backward_weight(g, x, w_shape, stride, padding, dilation, groups),
    }
    for name, call in calls.items():
        fast = call(fast_kernels)
        assert_close(fast, call(R), what=name)
        assert np.array_equal(call(fast_kernels), fast), f"{name}: a repeated call is not bit-identical"


@pytest.mark.parametrize("case", ["extra-window-padded", "last-window-dropped", "rectangular", "squeezenet-32"])
def test_fast_ceil_mode_max_pool_matches_reference(fast_kernels, case):
    shape, kernel, stride, padding, _, _ = CEIL_CASES[case]
    x = np.random.default_rng(0).integers(0, 4, (2, 8) + shape[2:]).astype(np.float64)   # ties too
    args = (pair(kernel), pair(stride), pair(padding), True)
    (y, argmax), (y_ref, argmax_ref) = fast_kernels.max_pool2d_forward(x, *args), R.max_pool2d_forward(x, *args)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    g = np.random.default_rng(1).standard_normal(y.shape)
    np.testing.assert_array_equal(fast_kernels.max_pool2d_backward(g, argmax, x.shape), R.max_pool2d_backward(g, argmax, x.shape))


# ----------------------------------------------------------------------------------------------
# Argument errors: one line, naming the op and the argument
# ----------------------------------------------------------------------------------------------

def zeros(*shape):
    return Tensor(np.zeros(shape))


ERRORS = {
    "groups-not-dividing-input": (lambda: F.conv2d(zeros(1, 6, 8, 8), zeros(4, 3, 3, 3), groups=4),
                                  r"^conv2d: groups=4 must divide the input channels \(6\)"),
    "groups-not-dividing-output": (lambda: F.conv2d(zeros(1, 6, 8, 8), zeros(4, 2, 3, 3), groups=3),
                                   r"^conv2d: groups=3 must divide .* the output channels \(4\)"),
    "groups-zero": (lambda: F.conv2d(zeros(1, 6, 8, 8), zeros(6, 6, 3, 3), groups=0), r"^conv2d: groups must be a positive int"),
    "weight-channels-vs-groups": (lambda: F.conv2d(zeros(1, 6, 8, 8), zeros(4, 2, 3, 3), groups=2),
                                  r"^conv2d: weight of shape \(4, 2, 3, 3\) with groups=2 expects an input with 4 channels"),
    "dilation-0": (lambda: F.conv2d(zeros(1, 6, 8, 8), zeros(6, 2, 3, 3), groups=3, dilation=0), r"^conv2d: dilation must be"),
    "dilation-pair-0": (lambda: F.conv2d(zeros(1, 2, 8, 8), zeros(2, 2, 3, 3), dilation=(1, 0)), r"^conv2d: dilation must be"),
    "dilated-kernel-too-large": (lambda: F.conv2d(zeros(1, 2, 8, 8), zeros(2, 2, 3, 3), dilation=4),
                                 r"^conv2d: kernel \(3, 3\) with dilation \(4, 4\) is larger than the padded input"),
    "hardtanh-min-equals-max": (lambda: F.hardtanh(zeros(3), 1.0, 1.0), r"^hardtanh: min_val must be less than max_val"),
    "hardtanh-min-above-max": (lambda: F.hardtanh(zeros(3), 2.0, 1.0), r"^hardtanh: min_val must be less than max_val, got 2.0 and 1.0"),
    "adaptive-size-0": (lambda: F.adaptive_avg_pool2d(zeros(1, 1, 4, 4), 0), r"^adaptive_avg_pool2d: output_size"),
    "adaptive-size-(3,0)": (lambda: F.adaptive_avg_pool2d(zeros(1, 1, 4, 4), (3, 0)), r"^adaptive_avg_pool2d: output_size"),
    # ceil mode keeps a clipped window larger than the input, but not an empty output (PyTorch:
    # "Output size is too small").
    "ceil-pool-empty-output": (lambda: F.max_pool2d(zeros(1, 1, 2, 2), 4, 2, ceil_mode=True),
                               r"^max_pool2d: the output would be empty: .* give \(0, 0\)"),
    "ceil-pool-empty-output-padded": (lambda: F.max_pool2d(zeros(1, 1, 1, 5), (4, 2), 1, (1, 0), ceil_mode=True),
                                      r"^max_pool2d: the output would be empty: .* give \(0, 4\)"),
    "Conv2d-groups": (lambda: nn.Conv2d(6, 4, 3, groups=4), r"^Conv2d: groups=4 must divide in_channels=6"),
    "Conv2d-dilation-0": (lambda: nn.Conv2d(6, 6, 3, dilation=0), r"^Conv2d: dilation must be"),
    "Conv2d-input-channels": (lambda: nn.Conv2d(6, 4, 3, groups=2)(zeros(1, 4, 8, 8)), r"^Conv2d\(6, 4, .*groups=2\): expected input of shape \(N, 6, H, W\)"),
    "Hardtanh-min-above-max": (lambda: nn.Hardtanh(1.0, 0.0), r"^Hardtanh: min_val must be less than max_val"),
    "AdaptiveAvgPool2d-size-0": (lambda: nn.AdaptiveAvgPool2d(0), r"^AdaptiveAvgPool2d: output_size"),
    "MaxPool2d-ceil-empty-output": (lambda: nn.MaxPool2d(4, 2, ceil_mode=True)(zeros(1, 1, 2, 2)),
                                    r"^MaxPool2d\(.*ceil_mode=True\): max_pool2d: the output would be empty"),
    "cat-mismatch": (lambda: mc.cat([zeros(1, 2, 3, 3), zeros(1, 2, 4, 3)], 1), r"^concatenate: shapes .* cannot be joined along axis 1"),
}


@pytest.mark.parametrize("case", ERRORS)
def test_argument_error(case):
    call, pattern = ERRORS[case]
    with pytest.raises(ValueError, match=pattern) as info:
        call()
    assert "\n" not in str(info.value)


def test_torch_rejects_the_conv_arguments_we_reject():
    """The convolution errors above are errors in PyTorch too, not engine-only restrictions.
    (Not so the pooling ones: PyTorch returns an empty tensor for adaptive output size 0, and with
    ceil_mode it pools a 2×2 input with a 3×3 kernel into one partial window; the engine refuses both.)"""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    tF = torch.nn.functional
    for call in (lambda: tF.conv2d(torch.zeros(1, 6, 8, 8), torch.zeros(4, 3, 3, 3), groups=4),
                 lambda: tF.conv2d(torch.zeros(1, 6, 8, 8), torch.zeros(4, 2, 3, 3), groups=2),
                 lambda: tF.conv2d(torch.zeros(1, 6, 8, 8), torch.zeros(6, 2, 3, 3), groups=3, dilation=0),
                 lambda: tF.conv2d(torch.zeros(1, 2, 8, 8), torch.zeros(2, 2, 3, 3), dilation=4)):
        with pytest.raises(RuntimeError):
            call()


# ----------------------------------------------------------------------------------------------
# DeepLIFT through the new ops
# ----------------------------------------------------------------------------------------------

class ZooOpsNet(nn.Module):
    """Every new op in one graph: grouped conv → ReLU6, dilated conv → Hardtanh and a depthwise
    conv (O = 2C) side by side, cat, ceil_mode max pool (an extra window), a grouped + dilated +
    strided + padded conv, adaptive average pooling to non-dividing bins, linear head."""

    def __init__(self, scale=3.0):
        super().__init__()
        self.scale = scale
        self.grouped = nn.Conv2d(4, 6, 3, padding=1, groups=2, rng=1)
        self.dilated = nn.Conv2d(4, 6, 3, padding=2, dilation=2, rng=2)
        self.depthwise = nn.Conv2d(4, 8, 3, padding=1, groups=4, rng=3)
        self.relu6, self.hardtanh = nn.ReLU6(), nn.Hardtanh(-0.5, 0.7)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)                                 # 10 → 5 (floor: 4)
        self.mixed = nn.Conv2d(20, 10, 3, stride=2, padding=2, dilation=(2, 1), groups=10, rng=4)
        self.adapt = nn.AdaptiveAvgPool2d((3, 2))                                      # 3×4 → 3×2
        self.fc = nn.Linear(60, 5, rng=5)

    def forward(self, x):
        a = self.relu6(self.scale * self.grouped(x) + 2.0)
        b = self.hardtanh(self.dilated(x))
        h = self.pool(mc.cat([a, b, self.depthwise(x)], 1))
        return self.fc(F.flatten(self.adapt(self.mixed(h)), 1))


def deeplift_inputs(baseline_kind, shape=(3, 4, 10, 10), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 3
    return x, (np.zeros_like(x) if baseline_kind == "zero" else rng.normal(size=shape))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_deeplift_summation_to_delta(backend, rule, baseline_kind):
    model = ZooOpsNet()
    x, baseline = deeplift_inputs(baseline_kind)
    with mc.no_grad():   # every piece of ReLU6 and Hardtanh is used, and the extra pool window exists
        a = model.scale * model.grouped(Tensor(x)).data + 2.0
        b = model.dilated(Tensor(x)).data
        assert (a < 0).any() and (a > 6).any() and (b < -0.5).any() and (b > 0.7).any()
        assert model.pool(Tensor(np.zeros((1, 20, 10, 10)))).shape[2:] == (5, 5)
        logits = model(Tensor(x)).data - model(Tensor(baseline)).data
    targets = np.array([0, 3, 4])
    c, delta = A.deeplift(model, x, targets, baseline, rule=rule, return_delta=True)
    delta_t = logits[np.arange(3), targets]
    np.testing.assert_allclose(c.reshape(3, -1).sum(axis=1), delta_t, rtol=1e-10, atol=0)
    assert np.all(np.abs(delta) <= 1e-10 * np.abs(delta_t))


def input_gradient(model, x, targets):
    xt = leaf(x)
    model(xt)[np.arange(len(x)), targets].sum().backward()
    return xt.grad


class LinearZooNet(nn.Module):
    """The new linear ops only (grouped, depthwise, dilated convs, cat, adaptive pooling), and
    optionally ReLU6 / Hardtanh where every value stays on their linear piece."""

    def __init__(self, with_clamps):
        super().__init__()
        self.with_clamps = with_clamps
        self.grouped = nn.Conv2d(4, 6, 3, padding=1, groups=2, rng=1)
        self.depthwise = nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=4, rng=2)
        self.dilated = nn.Conv2d(6, 8, 3, padding=(2, 3), dilation=(2, 3), groups=2, rng=3)
        self.adapt = nn.AdaptiveAvgPool2d((3, 2))
        self.fc = nn.Linear(16 * 6, 4, rng=4)

    def forward(self, x):
        h = 0.05 * self.grouped(x)
        if self.with_clamps:
            h = F.relu6(h + 3.0)
        h = self.dilated(h)
        if self.with_clamps:
            h = F.hardtanh(h, -20.0, 20.0)
        h = mc.cat([self.adapt(h), self.adapt(self.depthwise(x))], 1)
        return self.fc(F.flatten(h, 1))

    def clamp_inputs(self, x):
        """The pre-activations of the two clamps, to check they stay strictly inside."""
        h = 0.05 * self.grouped(Tensor(x)).data + 3.0
        return h, self.dilated(Tensor(np.clip(h, 0, 6))).data


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_deeplift_is_gradient_times_delta_on_a_linear_net(backend, rule, baseline_kind):
    """Without nonlinearities both rules reduce to the chain rule: C = ∂t/∂x ⊙ Δx exactly, for every
    input (not only in sum), so contributions moved between inputs would show."""
    model = LinearZooNet(with_clamps=False)
    x, baseline = deeplift_inputs(baseline_kind, (2, 4, 9, 9))
    targets = np.array([1, 3])
    c = A.deeplift(model, x, targets, baseline, rule=rule)
    assert_close(c, input_gradient(model, x, targets) * (x - baseline))


@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_deeplift_rescale_on_the_linear_piece_of_relu6_and_hardtanh(backend, baseline_kind):
    """ReLU6 and Hardtanh with every pre-activation of x and x′ strictly inside (low, high): the
    net is affine on the segment from x′ to x, so Rescale's Δy/Δz is 1 and C = ∂t/∂x ⊙ Δx."""
    model = LinearZooNet(with_clamps=True)
    x, baseline = deeplift_inputs(baseline_kind, (2, 4, 9, 9))
    for point in (x, baseline):
        relu6_in, hardtanh_in = model.clamp_inputs(point)
        assert 0.5 < relu6_in.min() and relu6_in.max() < 5.5
        assert -19 < hardtanh_in.min() and hardtanh_in.max() < 19
    targets = np.array([0, 2])
    c = A.deeplift(model, x, targets, baseline, rule="rescale")
    assert_close(c, input_gradient(model, x, targets) * (x - baseline))


def one_layer_net(activation):
    """t = v · g(grouped conv(x)): one nonlinearity, whose DeepLIFT multipliers can be written out.
    The conv's weights are scaled so its outputs reach both kinks of g."""
    model = nn.Sequential(nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=(1, 2), groups=2, rng=7),
                          activation, nn.Flatten(), nn.Linear(6 * 4 * 5, 3, rng=8))
    model[0].weight.data *= 2 * activation.max_val
    return model


def by_hand_parts(model, x, baseline):
    """(conv settings, w, v, z, z′) of `one_layer_net`, from the reference kernels."""
    conv, g_layer, fc = model[0], model[1], model[3]
    settings = (conv.stride, conv.padding, conv.dilation, conv.groups)
    w, b = conv.weight.data, conv.bias.data.reshape(1, -1, 1, 1)
    z = R.conv2d_forward(x, w, settings[0], settings[1], None, *settings[2:]) + b
    z_ref = R.conv2d_forward(baseline, w, settings[0], settings[1], None, *settings[2:]) + b
    g = lambda t: np.clip(t, g_layer.min_val, g_layer.max_val)   # noqa: E731
    return settings, w, fc.weight.data, z, z_ref, g


@pytest.mark.parametrize("activation", [nn.ReLU6(), nn.Hardtanh(-0.3, 0.4)], ids=["ReLU6", "Hardtanh"])
def test_deeplift_rescale_by_hand(backend, activation):
    """Rescale: m_z = v · (g(z) − g(z′)) / (z − z′), C = convᵀ(m_z) ⊙ Δx (all three pieces used)."""
    model = one_layer_net(activation)
    x, baseline = deeplift_inputs("random", (2, 4, 8, 11), seed=3)
    settings, w, v, z, z_ref, g = by_hand_parts(model, x, baseline)
    assert (z < activation.min_val).any() and (z > activation.max_val).any()
    target = 1
    m_z = v[target].reshape(1, *z.shape[1:]) * (g(z) - g(z_ref)) / (z - z_ref)
    expected = R.conv2d_backward_input(m_z, w, x.shape, *settings) * (x - baseline)
    assert_close(A.deeplift(model, x, target, baseline, rule="rescale"), expected)


@pytest.mark.parametrize("activation", [nn.ReLU6(), nn.Hardtanh(-0.3, 0.4)], ids=["ReLU6", "Hardtanh"])
def test_deeplift_reveal_cancel_by_hand(backend, activation):
    """RevealCancel (Shrikumar et al. 2017, §3.5): Δz± = Σ_i (w_i Δx_i)± through the grouped conv,
    Δy⁺ = ½[g(z′+Δz⁺) − g(z′)] + ½[g(z′+Δz⁻+Δz⁺) − g(z′+Δz⁻)] (Δy⁻ likewise), and input i takes
    the multipliers of the part each of its terms w_i Δx_i joined:
    C_i = Σ_k v_k Δx_i (w⁺_ki m⁺_k + w⁻_ki m⁻_k) for Δx_i > 0 (w⁻ with m⁺ and w⁺ with m⁻ for Δx_i < 0)."""
    model = one_layer_net(activation)
    x, baseline = deeplift_inputs("random", (2, 4, 8, 11), seed=4)
    settings, w, v, z, z_ref, g = by_hand_parts(model, x, baseline)
    dx = x - baseline
    w_pos, w_neg = np.maximum(w, 0), np.minimum(w, 0)

    def conv(a, weight):
        return R.conv2d_forward(a, weight, settings[0], settings[1], None, *settings[2:])

    def conv_t(m, weight):
        return R.conv2d_backward_input(m, weight, x.shape, *settings)

    dx_pos, dx_neg = np.maximum(dx, 0), np.minimum(dx, 0)
    dz_pos = conv(dx_pos, w_pos) + conv(dx_neg, w_neg)
    dz_neg = conv(dx_pos, w_neg) + conv(dx_neg, w_pos)
    np.testing.assert_allclose(dz_pos + dz_neg, z - z_ref, atol=1e-12)
    dy_pos = 0.5 * (g(z_ref + dz_pos) - g(z_ref)) + 0.5 * (g(z_ref + dz_neg + dz_pos) - g(z_ref + dz_neg))
    dy_neg = 0.5 * (g(z_ref + dz_neg) - g(z_ref)) + 0.5 * (g(z_ref + dz_pos + dz_neg) - g(z_ref + dz_pos))
    target = 2
    v_t = v[target].reshape(1, *z.shape[1:])
    m_pos, m_neg = v_t * dy_pos / dz_pos, v_t * dy_neg / dz_neg
    when_positive = conv_t(m_pos, w_pos) + conv_t(m_neg, w_neg)
    when_negative = conv_t(m_pos, w_neg) + conv_t(m_neg, w_pos)
    expected = np.where(dx > 0, when_positive, when_negative) * dx
    got, delta = A.deeplift(model, x, target, baseline, rule="reveal_cancel", return_delta=True)
    assert_close(got, expected)
    assert np.all(np.abs(delta) < 1e-12)


# ---- against Captum ---------------------------------------------------------------------------

def captum_pair(lib, activation):
    """Grouped conv → act → depthwise conv (O = 2C, strided) → act → grouped dilated conv → act →
    adaptive avg pool (non-dividing) → linear; no max pooling (Captum's max-pool rule differs,
    see tests/test_deeplift_captum.py)."""
    act = {"relu": lambda: lib.ReLU(), "relu6": lambda: lib.ReLU6(), "hardtanh": lambda: lib.Hardtanh(-0.4, 0.6)}[activation]
    return lib.Sequential(
        lib.Conv2d(4, 6, 3, padding=1, groups=2), act(),
        lib.Conv2d(6, 12, 3, stride=2, padding=1, groups=6), act(),
        lib.Conv2d(12, 8, 3, padding=2, dilation=2, groups=4), act(),
        lib.AdaptiveAvgPool2d((3, 2)), lib.Flatten(), lib.Linear(8 * 6, 5))


@pytest.mark.parametrize("activation", ["relu", "relu6", "hardtanh"])
@pytest.mark.parametrize("baseline_kind", ["zero", "random"])
def test_deeplift_rescale_matches_captum(backend, monkeypatch, activation, baseline_kind):
    """Captum 0.9's DeepLift has no ReLU6 or Hardtanh in its SUPPORTED_NON_LINEAR table (its
    lookup is by exact module type), so for those two we register them with Captum's own
    `nonlinear` rule — its generic Rescale rule Δy/Δx, the one it uses for ReLU, Sigmoid and Tanh.
    The "relu" case runs unmodified Captum on the same grouped/depthwise/dilated net."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    deep_lift = pytest.importorskip("captum.attr._core.deep_lift", reason="captum not installed: Captum cross-checks skipped")
    for module in (torch.nn.ReLU6, torch.nn.Hardtanh):
        monkeypatch.setitem(deep_lift.SUPPORTED_NON_LINEAR, module, deep_lift.nonlinear)
    torch.manual_seed(0)
    theirs = captum_pair(torch.nn, activation).double().eval()
    ours = captum_pair(nn, activation)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, baseline = deeplift_inputs(baseline_kind, (4, 4, 11, 9), seed=5)
    x *= 2   # reach the upper kink of every activation
    target = np.array([0, 1, 2, 4])
    expected = deep_lift.DeepLift(theirs).attribute(
        torch.from_numpy(x), baselines=torch.from_numpy(baseline), target=torch.from_numpy(target)).detach().numpy()
    got = A.deeplift(ours, x, target, baseline, rule="rescale")
    assert_close(got, expected, 1e-10)
