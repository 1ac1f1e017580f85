"""Checkers for the tutorial exercises: run a student's function on fresh random cases against
the reference implementation and say clearly what went wrong.

A checker prints a verdict and returns True when every case passes; on the first failing case
it prints which case failed with the expected and the received values, then raises
`ExerciseError`, so a notebook run stops there (and CI notices a broken solution).

    from minicnn.exercises import check_exercise
    check_exercise("2.1 conv2d forward", my_conv, reference_conv, cases)

Checkers for specific exercises (engine ones here, attribution ones in `attributions.exercises`)
are thin wrappers that build the cases.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ExerciseError", "Case", "check_exercise", "run_case", "fail", "describe"]


class ExerciseError(AssertionError):
    """An exercise's answer disagrees with the reference (the message says where)."""


class Case:
    """One test case: a name, positional arguments, and optional keyword arguments."""

    def __init__(self, name, *args, **kwargs):
        self.name, self.args, self.kwargs = name, args, kwargs

    def __repr__(self):
        return f"Case({self.name!r})"


def describe(value, limit=6) -> str:
    """A short readable description of an array (shape, dtype, first values) or a number."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(describe(v, limit) for v in value) + ")"
    array = np.asarray(getattr(value, "data", value))
    if array.ndim == 0:
        return repr(array.item())
    flat = ", ".join(f"{v:.6g}" for v in array.reshape(-1)[:limit])
    more = ", …" if array.size > limit else ""
    return f"array of shape {array.shape}, {array.dtype}: [{flat}{more}]"


def _as_arrays(value):
    if isinstance(value, (tuple, list)):
        return [np.asarray(getattr(v, "data", v), dtype=float) for v in value]
    return [np.asarray(getattr(value, "data", value), dtype=float)]


def check_exercise(name, student_fn, reference_fn, cases, rtol=1e-7, atol=1e-9, quiet=False):
    """Compare student_fn(*case.args) with reference_fn(*case.args) on every case.

    Shapes must match exactly and values to rtol/atol (NumPy's allclose rule). Returns True;
    raises ExerciseError naming the failing case, with expected and received values.
    """
    for i, case in enumerate(cases, 1):
        expected = reference_fn(*case.args, **case.kwargs)
        got = run_case(name, student_fn, case)
        problem = _compare(expected, got, rtol, atol)
        if problem:
            fail(
                name,
                f"case {i}/{len(cases)} ({case.name}) {problem}\n"
                f"    expected: {describe(expected)}\n"
                f"    got:      {describe(got)}",
            )
    if not quiet:
        print(f"✓ Exercise {name}: all {len(cases)} cases agree with the reference.")
    return True


def run_case(name, student_fn, case):
    """The student's function on one case; its own error becomes an ExerciseError naming the case."""
    try:
        return student_fn(*case.args, **case.kwargs)
    except NotImplementedError:
        raise ExerciseError(f"Exercise {name}: not implemented yet (replace the `raise NotImplementedError`)") from None
    except Exception as error:  # show the student their own error, attributed to the case
        raise ExerciseError(f"Exercise {name}: case ({case.name}) raised {type(error).__name__}: {error}") from error


def fail(name, message):
    """Print the verdict (a notebook shows it even when the error is caught) and raise it."""
    text = f"✗ Exercise {name}: {message}"
    print(text)
    raise ExerciseError(text)


def _compare(expected, got, rtol, atol):
    expected_list, got_list = _as_arrays(expected), _as_arrays(got)
    if len(expected_list) != len(got_list):
        return f"returned {len(got_list)} values, expected {len(expected_list)}"
    for k, (e, g) in enumerate(zip(expected_list, got_list)):
        which = f"output {k}: " if len(expected_list) > 1 else ""
        if e.shape != g.shape:
            return f"{which}shape {g.shape}, expected {e.shape}"
        if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            bad = np.unravel_index(np.argmax(np.abs(g - e) - rtol * np.abs(e)), e.shape) if e.ndim else ()
            where = f" (first big difference at index {tuple(int(i) for i in bad)}: expected {e[bad]:.6g}, got {g[bad]:.6g})" if e.ndim else ""
            return f"{which}values differ{where}"
    return None


# ==============================================================================================
# Checkers for the engine notebooks 01–03. Each builds fresh random cases (seed=None: new ones
# every call; pass a seed to reproduce a failure) and compares the student's function with the
# engine's own implementation through `check_exercise`. Attribution checkers (notebooks 04–08:
# saliency and gradient × input, DeepLIFT, IG, Grad-CAM, the metrics) live in `attributions.exercises`.
# ==============================================================================================

__all__ += [
    "check_unbroadcast", "check_sigmoid_backward", "check_numerical_gradient",
    "check_conv2d_forward", "check_conv2d_backward_input", "check_conv2d_backward_weight",
    "check_cross_entropy", "check_sgd_momentum_step",
]


def _rng(seed):
    return np.random.default_rng(seed)


# ---- notebook 01: tensors and autodiff ------------------------------------------------------

def check_unbroadcast(student_fn, seed=None):
    """Exercise 1.1: `unbroadcast(grad, shape)` sums a broadcast gradient back down to `shape`."""
    from .ops.arithmetic import unbroadcast

    rng = _rng(seed)
    pairs = [
        ((3, 4), (3, 4)),          # nothing to do
        ((3, 4), (4,)),            # a leading axis was added
        ((3, 4), (1, 4)),          # a size-1 axis was stretched
        ((2, 3, 4), (3, 1)),       # both at once
        ((5, 2, 3), ()),           # a scalar broadcast to everything
        ((2, 1, 3), (1, 1, 3)),    # a size-1 axis that stayed size 1
    ]
    cases = [Case(f"grad {g} → shape {s}", rng.normal(size=g), s) for g, s in pairs]
    return check_exercise("1.1 unbroadcast", student_fn, unbroadcast, cases)


def check_sigmoid_backward(student_cls, seed=None):
    """Exercise 1.2: a `Function` subclass computing σ(z) whose backward gives g · σ(z)(1 − σ(z)).

    The class is used through `student_cls.apply(z)`; both its value and the gradient
    `mc.grad(y, z, grad_outputs=g)` (a random seed g, so the whole Jacobian is tested) are compared
    with the engine's `ops.Sigmoid`.
    """
    from .autograd import grad as _grad
    from .ops.activations import Sigmoid
    from .tensor import Tensor

    def run(cls):
        def value_and_gradient(z, g):
            zt = Tensor(z, requires_grad=True)
            y = cls.apply(zt)
            if not isinstance(y, Tensor):
                raise TypeError(f"{cls.__name__}.apply returned {type(y).__name__}, expected a Tensor")
            (dz,) = _grad(y, [zt], grad_outputs=g)
            return y.data, dz
        return value_and_gradient

    rng = _rng(seed)
    shapes = [(5,), (3, 4), (2, 3, 4)]
    cases = [Case(f"z of shape {s}", rng.normal(scale=3.0, size=s), rng.normal(size=s)) for s in shapes]
    cases.append(Case("large |z| (saturated)", np.array([-30.0, -5.0, 0.0, 5.0, 30.0]), rng.normal(size=5)))
    return check_exercise("1.2 sigmoid backward", run(student_cls), run(Sigmoid), cases)


def check_numerical_gradient(student_fn, seed=None):
    """Exercise 1.3: `numerical_gradient(f, x, eps)` ≈ ∇f(x) by central differences, for a scalar
    function f of an ndarray. Compared with `minicnn.gradcheck.numerical_jacobian` at the same ε,
    so a one-sided difference (error O(ε)) is caught, not only a wrong formula."""
    from .gradcheck import numerical_jacobian
    from .tensor import Tensor

    def reference(f, x, eps):
        xt = Tensor(np.array(x, dtype=np.float64))
        return numerical_jacobian(lambda t: Tensor(np.asarray(f(t.data), dtype=np.float64)), [xt], 0, eps).reshape(x.shape)

    def student(f, x, eps):
        return student_fn(f, x.copy(), eps)

    rng = _rng(seed)
    functions = [
        ("Σ x³", lambda x: float(np.sum(x**3))),
        ("Σ sin(x)·x", lambda x: float(np.sum(np.sin(x) * x))),
        ("log Σ eˣ", lambda x: float(np.log(np.sum(np.exp(x))))),
    ]
    cases = [Case(f"{label}, x of shape {s}", f, rng.normal(size=s), 1e-3)
             for (label, f), s in zip(functions, [(4,), (2, 3), (3, 2, 2)])]
    return check_exercise("1.3 numerical gradient", student, reference, cases, rtol=1e-6, atol=1e-8)


# ---- notebook 02: convolutions --------------------------------------------------------------

_CONV_CASES = [  # (N, C, H, W), (O, KH, KW), stride, padding
    ((1, 1, 5, 5), (1, 3, 3), 1, 0),
    ((2, 3, 6, 7), (4, 3, 3), 1, 1),
    ((2, 2, 7, 6), (3, 3, 2), 2, 0),
    ((1, 2, 8, 8), (2, 5, 5), 2, 2),
    ((3, 1, 4, 4), (2, 1, 1), 1, 0),
]


def _conv_case_arrays(rng):
    for x_shape, (o, kh, kw), stride, padding in _CONV_CASES:
        x = rng.normal(size=x_shape)
        w = rng.normal(size=(o, x_shape[1], kh, kw))
        yield f"x {x_shape}, w {w.shape}, stride {stride}, padding {padding}", x, w, stride, padding


def check_conv2d_forward(student_fn, seed=None):
    """Exercise 2.1: `conv2d(x, w, stride, padding)` (ints stride/padding, no bias) equals
    `minicnn.kernels.conv2d_forward_reference` (a cross-correlation, as PyTorch)."""
    from .kernels import conv2d_forward_reference

    cases = [Case(name, x, w, s, p) for name, x, w, s, p in _conv_case_arrays(_rng(seed))]
    return check_exercise("2.1 conv2d forward", student_fn, conv2d_forward_reference, cases)


def _conv_gradient_cases(seed, needs):
    """Cases (grad_y, w or x, x_shape or w_shape, stride, padding) for the two conv gradients."""
    from .kernels import conv2d_forward_reference

    rng = _rng(seed)
    cases = []
    for name, x, w, s, p in _conv_case_arrays(rng):
        grad_y = rng.normal(size=conv2d_forward_reference(x, w, s, p).shape)
        args = (grad_y, w, x.shape) if needs == "input" else (grad_y, x, w.shape)
        cases.append(Case(name, *args, s, p))
    return cases


def check_conv2d_backward_input(student_fn, seed=None):
    """Exercise 2.2: `conv2d_backward_input(grad_y, w, x_shape, stride, padding)` = ∂L/∂x."""
    from .kernels import conv2d_backward_input_reference

    cases = _conv_gradient_cases(seed, "input")
    return check_exercise("2.2 conv2d backward (input)", student_fn, conv2d_backward_input_reference, cases)


def check_conv2d_backward_weight(student_fn, seed=None):
    """Exercise 2.3: `conv2d_backward_weight(grad_y, x, w_shape, stride, padding)` = ∂L/∂w."""
    from .kernels import conv2d_backward_weight_reference

    cases = _conv_gradient_cases(seed, "weight")
    return check_exercise("2.3 conv2d backward (weight)", student_fn, conv2d_backward_weight_reference, cases)


# ---- notebook 03: training ------------------------------------------------------------------

def check_cross_entropy(student_fn, seed=None):
    """Exercise 3.1: `cross_entropy(logits, targets)` = mean over rows of −log softmax(z)[t], as a
    float, stable for huge logits (compared with `minicnn.functional.cross_entropy`)."""
    from . import functional as F

    def reference(logits, targets):
        return F.cross_entropy(logits, targets).item()

    def student(logits, targets):
        return np.asarray(student_fn(logits.copy(), targets.copy()), dtype=float)

    rng = _rng(seed)
    cases = []
    for n, k, scale in [(1, 3, 1.0), (8, 10, 1.0), (16, 5, 3.0)]:
        cases.append(Case(f"{n}×{k} logits, scale {scale}", rng.normal(scale=scale, size=(n, k)), rng.integers(0, k, n)))
    big = rng.normal(size=(4, 6)) * 1e4
    cases.append(Case("logits of size 1e4 (naive exp overflows)", big, rng.integers(0, 6, 4)))
    cases.append(Case("logits of −1e4 (naive exp underflows to 0)", big - 2e4, rng.integers(0, 6, 4)))
    return check_exercise("3.1 cross-entropy", student, reference, cases, rtol=1e-9, atol=1e-9)


def check_sgd_momentum_step(student_fn, seed=None):
    """Exercise 3.2: `sgd_momentum_step(theta, grad, velocity, lr, momentum)` returns the new
    (theta, velocity) of PyTorch's SGD with momentum, v ← μv + g, θ ← θ − ηv (v starts at 0),
    compared with `minicnn.optim.SGD` over several consecutive steps."""
    from .nn import Parameter
    from .optim import SGD

    def reference(theta, grads, lr, momentum):
        p = Parameter(theta.copy())
        opt = SGD([p], lr=lr, momentum=momentum)
        for g in grads:
            p.grad = g.copy()
            opt.step()
        return p.data.copy(), opt.state[p]["momentum_buffer"].copy()

    def student(theta, grads, lr, momentum):
        theta, velocity = theta.copy(), np.zeros_like(theta)
        for g in grads:
            theta, velocity = student_fn(theta, g.copy(), velocity, lr, momentum)
            theta, velocity = np.asarray(theta, dtype=float), np.asarray(velocity, dtype=float)
        return theta, velocity

    rng = _rng(seed)
    cases = []
    for steps, shape, lr, mu in [(1, (3,), 0.1, 0.9), (5, (2, 3), 0.05, 0.9), (4, (4,), 0.5, 0.5)]:
        grads = [rng.normal(size=shape) for _ in range(steps)]
        cases.append(Case(f"{steps} step(s), lr {lr}, momentum {mu}", rng.normal(size=shape), grads, lr, mu))
    return check_exercise("3.2 SGD with momentum", student, reference, cases)
