"""The two kernel backends on whole models, and the switch between them.

`minicnn.kernels.use("fast" | "reference")` runs the whole engine on the Numba kernels or on their
NumPy twins. Whole models must give the same logits, input gradient and every parameter gradient
on both (float64, to ~1e-12 relative: the two differ only in the order of their sums), and so must
DeepLIFT and Integrated Gradients. The switch itself: its default, the context manager restoring
the previous backend (also when the block raises), errors naming the choices, the
MINICNN_KERNELS environment variable, and a reference-only process never importing the fast
backend (checked in fresh subprocesses, since this one has imported it already).

Run one part with e.g. ``pytest tests/test_backends.py -k switch``.
"""

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import attributions as A
import minicnn as mc
from minicnn import kernels, models, nn

REPO = Path(__file__).resolve().parents[1]
RTOL = 1e-12


def rel_err(a, b):
    """max|a − b| / max|b| (scale-aware), after checking shape and dtype."""
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    return float(np.abs(a - b).max(initial=0.0)) / max(float(np.abs(b).max(initial=0.0)), np.finfo(np.float64).tiny)


def assert_backends_agree(results, rtol=RTOL):
    """`results` maps backend → {name: array}; every array must agree between the backends."""
    fast, reference = results["fast"], results["reference"]
    assert fast.keys() == reference.keys()
    bad = {k: rel_err(fast[k], reference[k]) for k in fast if rel_err(fast[k], reference[k]) > rtol}
    assert not bad, f"fast and reference backends differ (relative error > {rtol}): {bad}"


def on_both_backends(run):
    """{backend: run()} with the engine switched to each backend in turn."""
    results = {}
    for backend in kernels.BACKENDS:
        with kernels.use(backend):
            results[backend] = run()
    return results


def forward_backward(model, x, seed=0):
    """Logits, ∂/∂x and every parameter's gradient of a random weighting of the logits."""
    def run():
        model.zero_grad()
        xt = mc.Tensor(x, requires_grad=True)
        out = model(xt)
        out.backward(np.random.default_rng(seed).standard_normal(out.shape))
        grads = {f"grad of {name}": p.grad.copy() for name, p in model.named_parameters()}
        assert all(g is not None for g in grads.values())
        return {"logits": out.data.copy(), "input grad": xt.grad.copy(), **grads}

    return run


def randomise_batchnorm(model, rng):
    """Non-trivial running statistics and affine parameters for eval-mode BatchNorm."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean[...] = rng.normal(size=m.running_mean.shape) * 0.1
            m.running_var[...] = rng.uniform(0.5, 2.0, size=m.running_var.shape)
            m.weight.data[...] = rng.uniform(0.5, 1.5, size=m.weight.shape)
            m.bias.data[...] = rng.normal(size=m.bias.shape) * 0.1


@pytest.fixture(scope="module")
def digits():
    """The bundled digits LeNet (eval mode) and a batch of its test images."""
    model, data = models.load_pretrained("digits")
    return model, data.x_test[:16], data.y_test[:16]


# ----------------------------------------------------------------------------------------------
# Whole models on both backends
# ----------------------------------------------------------------------------------------------

def test_bundled_lenet(digits):
    model, x, _ = digits
    assert model.training is False
    assert_backends_agree(on_both_backends(forward_backward(model, x)))


def small_model(name):
    mc.manual_seed(0)
    return {"vgg_small": lambda: models.VGGSmall((3, 32, 32), 10),
            "resnet_small": lambda: models.ResNetSmall((3, 32, 32), 10)}[name]()


@pytest.mark.parametrize("name", ["vgg_small", "resnet_small"])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_small_models(name, mode):
    """Train mode: BatchNorm normalises with batch statistics (and backpropagates through them)."""
    model = small_model(name)
    randomise_batchnorm(model, np.random.default_rng(1))
    model.train(mode == "train")
    x = np.random.default_rng(2).standard_normal((4, 3, 32, 32))
    assert_backends_agree(on_both_backends(forward_backward(model, x)))


@pytest.mark.parametrize("name, side", [("mobilenet_v2", 64), ("squeezenet1_1", 65)])
def test_zoo_models(name, side):
    """MobileNetV2: depthwise convs (stride 1 and 2), ReLU6, residuals. SqueezeNet at 65×65: every
    ceil_mode max pool keeps a partial window, cat joins the expand branches. Eval mode (dropout off,
    BatchNorm on random running statistics)."""
    mc.manual_seed(0)
    model = models.IMAGENET[name](num_classes=10)
    randomise_batchnorm(model, np.random.default_rng(1))
    model.eval()
    x = np.random.default_rng(2).standard_normal((2, 3, side, side))
    assert_backends_agree(on_both_backends(forward_backward(model, x)))


def test_attributions_agree(digits):
    """DeepLIFT (both rules) and Integrated Gradients on the bundled digits model."""
    model, x, y = digits
    x, y = x[:4], y[:4]
    baseline = np.random.default_rng(0).uniform(0, 1, x.shape)

    def run():
        return {f"deeplift {rule}": A.deeplift(model, x, y, baseline, rule=rule) for rule in ("rescale", "reveal_cancel")} | {
            "integrated gradients": A.integrated_gradients(model, x, y, baseline, steps=16)}

    results = on_both_backends(run)
    assert all(np.abs(v).max() > 0 for v in results["fast"].values())
    assert_backends_agree(results, rtol=1e-10)


# ----------------------------------------------------------------------------------------------
# The switch
# ----------------------------------------------------------------------------------------------

def run_python(code, drop=(), **env):
    """Run `code` in a fresh interpreter at the repository root, with MINICNN_KERNELS and the
    variables named in `drop` removed from the environment, then `env` set."""
    removed = {kernels.ENVIRONMENT_VARIABLE, *drop}
    environment = {k: v for k, v in os.environ.items() if k not in removed}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def restore_backend():
    """Put back whatever backend was active before the test."""
    previous = kernels.active_backend()
    yield previous
    kernels.use(previous)


def test_switch_default_is_fast():
    result = run_python("import minicnn; print(minicnn.kernels.active_backend())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["fast"]


def test_switch_use_sets_and_reports(restore_backend):
    kernels.use("reference")
    assert kernels.active_backend() == "reference"
    kernels.use("fast")
    assert kernels.active_backend() == "fast"
    assert repr(kernels.use("reference")) == "use('reference')"


def test_switch_context_manager_nests_and_restores(restore_backend):
    with kernels.use("fast"):
        with kernels.use("reference") as switch:
            assert kernels.active_backend() == "reference" and switch.backend == "reference"
            with kernels.use("fast"):
                assert kernels.active_backend() == "fast"
            assert kernels.active_backend() == "reference"
        assert kernels.active_backend() == "fast"
    assert kernels.active_backend() == restore_backend


@pytest.mark.parametrize("start", kernels.BACKENDS)
def test_switch_context_manager_restores_after_an_exception(restore_backend, start):
    kernels.use(start)
    other = next(b for b in kernels.BACKENDS if b != start)
    with pytest.raises(ZeroDivisionError):
        with kernels.use(other):
            assert kernels.active_backend() == other
            1 / 0
    assert kernels.active_backend() == start


def test_switch_kernels_follow_the_active_backend(restore_backend, monkeypatch):
    """A kernel call goes to the backend active at call time: spy on the reference module."""
    calls = []
    original = kernels.reference.conv2d_forward
    monkeypatch.setattr(kernels.reference, "conv2d_forward", lambda *a, **k: calls.append(1) or original(*a, **k))
    x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    with kernels.use("fast"):
        kernels.conv2d_forward(x, w, (1, 1), (0, 0))
    assert calls == []
    with kernels.use("reference"):
        np.testing.assert_array_equal(kernels.conv2d_forward(x, w, (1, 1), (0, 0)), np.full((1, 1, 2, 2), 4.0))
    assert calls == [1]


@pytest.mark.parametrize("bad", ["bogus", "Fast", "", None])
def test_switch_unknown_backend(restore_backend, bad):
    before = kernels.active_backend()
    with pytest.raises(ValueError, match=r"^backend must be one of 'fast', 'reference', got " + re.escape(repr(bad)) + "$"):
        kernels.use(bad)
    assert kernels.active_backend() == before


def test_switch_environment_variable_selects_reference():
    result = run_python("import minicnn; print(minicnn.kernels.active_backend())", MINICNN_KERNELS="reference")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["reference"]


def test_switch_bad_environment_variable_fails_clearly():
    result = run_python("import minicnn", MINICNN_KERNELS="numba")
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == "ValueError: MINICNN_KERNELS must be one of 'fast', 'reference', got 'numba'", result.stderr


def test_reference_backend_never_imports_the_fast_one():
    """With MINICNN_KERNELS=reference, a full forward + backward of the bundled LeNet (conv, ReLU,
    max pool, linear, cross-entropy) runs without importing minicnn.kernels.fast or Numba, and gives
    a finite non-zero gradient."""
    code = "\n".join([
        "import sys, numpy as np, minicnn as mc, minicnn.functional as F",
        "from minicnn import models",
        "model, data = models.load_pretrained('digits')",
        "x = mc.Tensor(data.x_test[:8], requires_grad=True)",
        "F.cross_entropy(model(x), data.y_test[:8]).backward()",
        "assert np.isfinite(x.grad).all() and np.abs(x.grad).max() > 0",
        "assert all(p.grad is not None for p in model.parameters())",
        "print(mc.kernels.active_backend(), 'minicnn.kernels.fast' in sys.modules, 'numba' in sys.modules)",
    ])
    result = run_python(code, MINICNN_KERNELS="reference")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["reference", "False", "False"]


# ----------------------------------------------------------------------------------------------
# The threading layer (minicnn/kernels/fast/numba_setup.py)
# ----------------------------------------------------------------------------------------------

LAYER_OF_A_CONV = "\n".join([
    "import numba, numpy as np, minicnn.kernels.fast as F",
    "x = np.ones((1, 64, 56, 56)); w = np.ones((64, 64, 3, 3))",   # big enough to run in parallel
    "F.conv2d_forward(x, w, (1, 1), (1, 1))",
    "print(numba.threading_layer())",
])
BLOCK_TBB = "import sys; sys.modules['numba.np.ufunc.tbbpool'] = None\n"  # as if TBB failed to load


LAYER_VARIABLES = ("NUMBA_THREADING_LAYER", "NUMBA_THREADING_LAYER_PRIORITY")


def layer_chosen(code, **env):
    """The threading layer a fresh interpreter runs `code` on, without the user's layer settings
    unless `env` gives them."""
    result = run_python(code, drop=LAYER_VARIABLES, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-1]


def _tbb_installed():
    try:
        importlib.metadata.distribution("tbb")
    except importlib.metadata.PackageNotFoundError:
        return False
    return sys.platform.startswith("linux")


def test_threading_layer_is_tbb_where_the_tbb_package_is_installed():
    """With the tbb wheel installed (a dependency on x86-64 Linux) its library loads, also in a
    virtual environment whose interpreter would not find <prefix>/lib on its own."""
    assert layer_chosen(LAYER_OF_A_CONV) == ("tbb" if _tbb_installed() else "workqueue")


def test_threading_layer_falls_back_to_workqueue_not_openmp():
    """Numba's own priority is TBB, OpenMP, workqueue; OpenMP's threads busy-wait beside PyTorch's."""
    assert layer_chosen(BLOCK_TBB + LAYER_OF_A_CONV) == "workqueue"


@pytest.mark.parametrize("variable, value", [("NUMBA_THREADING_LAYER", "workqueue"),
                                             ("NUMBA_THREADING_LAYER_PRIORITY", "workqueue tbb omp")])
def test_threading_layer_the_users_choice_wins(variable, value):
    assert layer_chosen(LAYER_OF_A_CONV, **{variable: value}) == "workqueue"
