"""Checkers for the tutorial exercises: run a student's function on fresh random cases against
the reference implementation and say, in words, what went wrong.

A checker prints "✓ Exercise N.M: …" and returns a truthy `Passed` (which a notebook does not
display, so a check cell shows only the ✓ line). On the first failing case it raises
`ExerciseError`, whose message names the case ("case 2/5 (…)"), the output by what it is
(`∂L/∂z`, not "output 1"), and — when the answer matches a known `Mistake` — what is wrong. In
IPython the error shows only that message (its `_render_traceback_` hides the traceback into this
module), yet it still is an error: a notebook run stops there, and nbgrader scores the check
cell 0.

    from minicnn.exercises import check_exercise, Mistake
    check_exercise("2.1 conv2d forward", my_conv, reference_conv, cases,
                   mistakes=[Mistake("you flipped the kernel: …", flipped_conv)])

Checkers for specific exercises (engine ones here, attribution ones in `attributions.exercises`)
are thin wrappers that build the cases and list the mistakes.
"""

from __future__ import annotations

import os
import traceback
import warnings

from typing import Any, Callable, Iterable, NoReturn, Optional, Sequence, Union

import numpy as np

__all__ = ["ExerciseError", "Passed", "Case", "Mistake", "check_exercise", "run_case", "fail", "describe",
           "numbered"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(os.path.join(_ROOT, package) + os.sep for package in ("minicnn", "attributions"))


class ExerciseError(AssertionError):
    """An exercise's answer disagrees with the reference (the message says where and, if it can, why).

    IPython calls `_render_traceback_` instead of printing a traceback, so the student sees the
    message alone, in their own cell."""

    def _render_traceback_(self):
        return str(self).splitlines()


class Passed:
    """The verdict of a check that passed: truthy, and displayed as nothing in a notebook (the ✓
    line has been printed), so a check cell leaves no `True` behind (nbgrader would try to read
    such an output as a partial score)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __bool__(self):
        return True

    def __repr__(self):
        return f"Passed({self.message!r})"

    def _ipython_display_(self):
        pass


class Case:
    """One test case: a name, positional arguments, and optional keyword arguments.

    `label` is "case i/n (name)" once `numbered` (or `check_exercise`) has numbered the list."""

    def __init__(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs
        self.number: Optional[int] = None
        self.total: Optional[int] = None

    @property
    def label(self) -> str:
        if self.number is None:
            return f"case ({self.name})"
        return f"case {self.number}/{self.total} ({self.name})"

    def with_args(self, *args: Any, **kwargs: Any) -> Case:
        """The same case (name and number) with other arguments, e.g. a wrapped function."""
        case = Case(self.name, *args, **kwargs)
        case.number, case.total = self.number, self.total
        return case

    def __repr__(self):
        return f"Case({self.name!r})"


def numbered(cases: Iterable[Case]) -> list[Case]:
    """Number the cases 1…n in place (so every message says "case i/n"); returns the list."""
    cases = list(cases)
    for i, case in enumerate(cases, 1):
        case.number, case.total = i, len(cases)
    return cases


class Mistake:
    """A common wrong answer and what to tell a student who makes it.

    Either `answer`, a function with the reference's signature computing the wrong answer (the
    student's output matching it, to the check's tolerance, identifies the mistake), or `test`, a
    predicate `test(got, expected, case)` for mistakes recognised by a property (a NaN, a negative
    value). Only consulted for a case whose output disagrees with the reference."""

    def __init__(self, message: str, answer: Optional[Callable[..., Any]] = None,
                 test: Optional[Callable[[Any, Any, Case], Any]] = None) -> None:
        if (answer is None) == (test is None):
            raise ValueError("a Mistake needs exactly one of answer= or test=")
        self.message, self.answer, self.test = message, answer, test

    def matches(self, got: Any, expected: Any, case: Case, rtol: float, atol: float) -> bool:
        """Whether the student's output `got` on `case` is this mistake (never raises: an answer of
        an unexpected kind simply is not this mistake)."""
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                if self.test is not None:
                    return bool(self.test(got, expected, case))
                assert self.answer is not None  # __init__ requires answer= when there is no test=
                wrong = self.answer(*case.args, **case.kwargs)
                return _compare(wrong, got, rtol, atol, names=None) is None
        except Exception:
            return False


def describe(value: Any, limit: int = 6) -> str:
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


def check_exercise(name: str, student_fn: Callable[..., Any], reference_fn: Callable[..., Any], cases: Iterable[Case],
                   rtol: float = 1e-7, atol: float = 1e-9, quiet: bool = False,
                   outputs: Union[str, Sequence[str], None] = None, mistakes: Sequence[Mistake] = ()) -> Passed:
    """Compare student_fn(*case.args) with reference_fn(*case.args) on every case.

    Shapes must match exactly and values to rtol/atol (NumPy's allclose rule). `outputs` names
    the returned values (("σ(z)", "∂L/∂z") for a pair; "∂L/∂x" for one array); `mistakes` lists
    the known wrong answers (`Mistake`) whose message is added when a case fails. Returns a
    truthy `Passed`; raises ExerciseError naming the failing case, with expected and received values.
    """
    cases = numbered(cases)
    names = (outputs,) if isinstance(outputs, str) else outputs
    for case in cases:
        expected = reference_fn(*case.args, **case.kwargs)
        got = run_case(name, student_fn, case)
        problem = _compare(expected, got, rtol, atol, names)
        if problem:
            hint = next((m.message for m in mistakes if m.matches(got, expected, case, rtol, atol)), None)
            fail(name, f"{case.label}: {problem}\n"
                       f"    expected: {describe(expected)}\n"
                       f"    got:      {describe(got)}" + (f"\n{hint}" if hint else ""))
    message = f"✓ Exercise {name}: all {len(cases)} cases agree with the reference."
    if not quiet:
        print(message)
    return Passed(message)


def run_case(name: str, student_fn: Callable[..., Any], case: Case) -> Any:
    """The student's function on one case; its own error becomes an ExerciseError naming the case
    and showing only the student's lines of the traceback.

    Warnings it emits while being checked are not shown: the verdict is about values, and nbgrader
    scores any output on stderr as a failure (the exercise cell above already showed them)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return student_fn(*case.args, **case.kwargs)
    except ExerciseError:
        raise
    except NotImplementedError:
        raise ExerciseError(f"✗ Exercise {name}: not implemented yet (replace the `raise NotImplementedError`)") from None
    except Exception as error:  # show the student their own error, attributed to the case
        raise ExerciseError(f"✗ Exercise {name}: {case.label} raised {type(error).__name__}: {error}"
                            + _student_frames(error)) from error


def _student_frames(error):
    """The traceback lines of `error` that lie outside minicnn/ and attributions/ (the student's code)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not os.path.abspath(f.filename).startswith(_LIBRARY_DIRS)]
    if not frames:
        return ""
    lines = [f"    line {f.lineno}, in {f.name}: {f.line}" if f.line else f"    line {f.lineno}, in {f.name}"
             for f in frames[-3:]]
    return "\n  where (your code):\n" + "\n".join(lines)


def fail(name: str, message: str) -> NoReturn:
    """Raise the verdict "✗ Exercise {name}: {message}" as an ExerciseError (shown once, as the error)."""
    raise ExerciseError(f"✗ Exercise {name}: {message}")


def _compare(expected, got, rtol, atol, names=None):
    expected_list, got_list = _as_arrays(expected), _as_arrays(got)
    if len(expected_list) != len(got_list):
        what = f" ({', '.join(names)})" if names and len(names) == len(expected_list) else ""
        return f"returned {len(got_list)} value(s), expected {len(expected_list)}{what}"
    for k, (e, g) in enumerate(zip(expected_list, got_list)):
        if names and len(names) == len(expected_list):
            which = f"{names[k]}: "
        else:
            which = f"output {k + 1} of {len(expected_list)}: " if len(expected_list) > 1 else ""
        if e.shape != g.shape:
            return f"{which}shape {g.shape}, expected {e.shape}"
        if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
            if not e.ndim:
                return f"{which}value {g.item():.6g}, expected {e.item():.6g}"
            with np.errstate(invalid="ignore"):
                excess = np.abs(g - e) - rtol * np.abs(e)
            bad = np.unravel_index(np.argmax(np.where(np.isnan(excess), np.inf, excess)), e.shape)
            return (f"{which}values differ (first big difference at index {tuple(int(i) for i in bad)}: "
                    f"expected {e[bad]:.6g}, got {g[bad]:.6g})")
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

def _unbroadcast_leading_only(grad, shape):
    extra = grad.ndim - len(shape)
    return grad.sum(axis=tuple(range(extra))) if extra > 0 else grad


def _unbroadcast_without_keepdims(grad, shape):
    from .ops.arithmetic import unbroadcast

    kept = unbroadcast(grad, shape)
    return kept.reshape(tuple(n for n in kept.shape if n != 1)) if kept.ndim else kept


def _unbroadcast_mean(grad, shape):
    from .ops.arithmetic import unbroadcast

    return unbroadcast(grad, shape) * (np.prod(shape, dtype=float) / grad.size)


_UNBROADCAST_MISTAKES = [
    Mistake("You summed the axes that broadcasting added in front, but not the size-1 axes it stretched: "
            "sum those too (with keepdims=True).", _unbroadcast_leading_only),
    Mistake("The numbers are right but the shape is not: keep each stretched size-1 axis (sum with "
            "keepdims=True), so the result has exactly `shape`.", _unbroadcast_without_keepdims),
    Mistake("You averaged over the broadcast axes. Broadcasting copies a value, so its gradient is the "
            "*sum* of the copies' gradients.", _unbroadcast_mean),
    Mistake("You returned grad unchanged: sum it down to `shape`.", lambda grad, shape: grad),
]


def check_unbroadcast(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
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
    return check_exercise("1.1 unbroadcast", student_fn, unbroadcast, cases, outputs="∂L/∂a",
                          mistakes=_UNBROADCAST_MISTAKES)


def _sigmoid_of(case):
    from .ops.activations import stable_sigmoid

    return stable_sigmoid(case.args[0])


def _gradient_is(formula):
    """A Mistake test: the student's ∂L/∂z equals formula(σ(z), z, g) for the case's z and seed g."""
    def test(got, expected, case):
        z, g = case.args
        dz = np.asarray(got[1], dtype=float)
        return dz.shape == z.shape and np.allclose(dz, formula(_sigmoid_of(case), z, g), rtol=1e-7, atol=1e-9)
    return test


_SIGMOID_MISTAKES = [
    Mistake("∂L/∂z ignores the incoming gradient g: backward must return g · σ(z)(1 − σ(z)) — the chain "
            "rule multiplies the local derivative by the gradient from above.",
            test=_gradient_is(lambda y, z, g: y * (1 - y))),
    Mistake("∂L/∂z is g · σ(z); the derivative of σ is σ(z)(1 − σ(z)).", test=_gradient_is(lambda y, z, g: g * y)),
    Mistake("You used z where σ(z) belongs: ∂y/∂z = y(1 − y) with y = σ(z) (kept in forward as self.y).",
            test=_gradient_is(lambda y, z, g: g * z * (1 - z))),
]


def check_sigmoid_backward(student_cls: type, seed: Optional[int] = None) -> Passed:
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
    return check_exercise("1.2 sigmoid backward", run(student_cls), run(Sigmoid), cases,
                          outputs=("σ(z)", "∂L/∂z"), mistakes=_SIGMOID_MISTAKES)


def _numerical_gradient_one_sided(f, x, eps):
    grad, base = np.zeros_like(x), f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f(x) - base) / eps
        x[i] = old
    return grad


def _numerical_gradient_not_restored(f, x, eps):
    x, grad = x.copy(), np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        plus = f(x)
        x[i] -= 2 * eps
        grad[i] = (plus - f(x)) / (2 * eps)
    return grad


_NUMERICAL_GRADIENT_MISTAKES = [
    Mistake("A one-sided difference (f(x + ε) − f(x))/ε has an error of order ε; use the central "
            "difference (f(x + ε) − f(x − ε))/(2ε), whose error is of order ε².", _numerical_gradient_one_sided),
    Mistake("Twice the gradient: the central difference divides by 2ε, the distance between x − ε and x + ε.",
            test=lambda got, expected, case: np.allclose(got, 2 * expected, rtol=1e-5, atol=1e-6)),
    Mistake("x[i] is not put back after probing it, so every later entry is differentiated at a shifted "
            "point: restore the original value before moving to the next entry.", _numerical_gradient_not_restored),
]


def check_numerical_gradient(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
    """Exercise 1.3: `numerical_gradient(f, x, eps)` ≈ ∇f(x) by central differences, for a scalar
    function f of an ndarray. Compared with `minicnn.gradcheck.numerical_jacobian` at the same ε,
    so a one-sided difference (error O(ε)) is caught, not only a wrong formula; x must come back
    unchanged."""
    from .gradcheck import numerical_jacobian
    from .tensor import Tensor

    name = "1.3 numerical gradient"

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
    for case in numbered(cases):
        f, x, eps = case.args
        mine = x.copy()
        run_case(name, student_fn, case.with_args(f, mine, eps))
        if not np.array_equal(mine, x):
            fail(name, f"{case.label}: your function changed its argument x. Put each x[i] back after probing "
                       "it (or work on a copy): the caller still needs x.")
    return check_exercise(name, student, reference, cases, rtol=1e-6, atol=1e-8, outputs="∇f(x)",
                          mistakes=_NUMERICAL_GRADIENT_MISTAKES)


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


def _flipped(w):
    return w[:, :, ::-1, ::-1].copy()


def _conv_windows_at_unit_stride(x, w, stride, padding):
    from .kernels import conv2d_forward_reference

    full = conv2d_forward_reference(x, w, 1, padding)
    strided = conv2d_forward_reference(x, w, stride, padding)
    return full[:, :, :strided.shape[2], :strided.shape[3]]


def _conv_forward_mistakes():
    from .kernels import conv2d_forward_reference as conv

    return [
        Mistake("You flipped the kernel (a textbook convolution). Deep-learning conv2d is a cross-correlation: "
                "w[o, c, u, v] meets x_pad[n, c, i·s + u, j·s + v], no flip.",
                lambda x, w, s, p: conv(x, _flipped(w), s, p)),
        Mistake("You ignored the stride: the output is ⌊(H + 2p − K_H)/s⌋ + 1 tall (and as wide), and window "
                "(i, j) starts at (i·s, j·s).", lambda x, w, s, p: conv(x, w, 1, p)),
        Mistake("The output has the right shape, but window (i, j) starts at (i, j): it starts at (i·s, j·s).",
                _conv_windows_at_unit_stride),
        Mistake("You did not pad: add p zero rows and columns on every side first (np.pad).",
                lambda x, w, s, p: conv(x, w, s, 0)),
    ]


def check_conv2d_forward(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
    """Exercise 2.1: `conv2d(x, w, stride, padding)` (ints stride/padding, no bias) equals
    `minicnn.kernels.conv2d_forward_reference` (a cross-correlation, as PyTorch)."""
    from .kernels import conv2d_forward_reference

    cases = [Case(name, x, w, s, p) for name, x, w, s, p in _conv_case_arrays(_rng(seed))]
    return check_exercise("2.1 conv2d forward", student_fn, conv2d_forward_reference, cases, outputs="y",
                          mistakes=_conv_forward_mistakes())


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


def _scatter_input_gradient(grad_y, w, x_shape, stride, padding, accumulate=True, crop="centre"):
    """∂L/∂x by the scatter loop of the tutorial, with the switches a student can get wrong."""
    n_batch, channels, height, width = x_shape
    _, _, kh, kw = w.shape
    padded = np.zeros((n_batch, channels, height + 2 * padding, width + 2 * padding))
    for n, o, i, j in np.ndindex(grad_y.shape):
        window = (n, slice(None), slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw))
        if accumulate:
            padded[window] += grad_y[n, o, i, j] * w[o]
        else:
            padded[window] = grad_y[n, o, i, j] * w[o]
    if crop == "none":
        return padded
    start = padding if crop == "centre" else 0
    return padded[:, :, start:start + height, start:start + width]


_BACKWARD_INPUT_MISTAKES = [
    Mistake("Overlapping windows overwrite each other: accumulate with += (an input pixel collects the "
            "gradient of every window that read it).",
            lambda gy, w, shape, s, p: _scatter_input_gradient(gy, w, shape, s, p, accumulate=False)),
    Mistake("You returned the gradient of the padded input: cut the p padding rows and columns off each "
            "side, x̄ = x̄_pad[…, p:p+H, p:p+W].",
            lambda gy, w, shape, s, p: _scatter_input_gradient(gy, w, shape, s, p, crop="none")),
    Mistake("You cut the wrong rows and columns: the padding sits on both sides, so keep "
            "x̄_pad[…, p:p+H, p:p+W], not [:H, :W].",
            lambda gy, w, shape, s, p: _scatter_input_gradient(gy, w, shape, s, p, crop="start")),
    Mistake("You flipped the kernel: in the scatter form each output spreads grad_y · w[o] over its window "
            "unflipped (the flip belongs only to the 'full convolution' form).",
            lambda gy, w, shape, s, p: _scatter_input_gradient(gy, _flipped(w), shape, s, p)),
]


def check_conv2d_backward_input(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
    """Exercise 2.2: `conv2d_backward_input(grad_y, w, x_shape, stride, padding)` = ∂L/∂x."""
    from .kernels import conv2d_backward_input_reference

    cases = _conv_gradient_cases(seed, "input")
    return check_exercise("2.2 conv2d backward (input)", student_fn, conv2d_backward_input_reference, cases,
                          outputs="∂L/∂x", mistakes=_BACKWARD_INPUT_MISTAKES)


def _backward_weight_mistakes():
    from .kernels import conv2d_backward_weight_reference as grad_w

    return [
        Mistake("You divided by the batch size: ∂L/∂w sums over n, i and j (any 1/N is already in grad_y).",
                lambda gy, x, shape, s, p: grad_w(gy, x, shape, s, p) / len(x)),
        Mistake("Your kernel gradient is flipped: offset (u, v) pairs with x_pad[n, c, i·s + u, j·s + v].",
                lambda gy, x, shape, s, p: _flipped(grad_w(gy, x, shape, s, p))),
    ]


def check_conv2d_backward_weight(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
    """Exercise 2.3: `conv2d_backward_weight(grad_y, x, w_shape, stride, padding)` = ∂L/∂w."""
    from .kernels import conv2d_backward_weight_reference

    cases = _conv_gradient_cases(seed, "weight")
    return check_exercise("2.3 conv2d backward (weight)", student_fn, conv2d_backward_weight_reference, cases,
                          outputs="∂L/∂w", mistakes=_backward_weight_mistakes())


# ---- notebook 03: training ------------------------------------------------------------------

def _log_sum_exp_without_max(logits, targets):
    z = logits - logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - logits[np.arange(len(targets)), targets]))


_CROSS_ENTROPY_MISTAKES = [
    Mistake("Your loss is inf or NaN for large logits: e^z overflows (e^10000 = inf) or underflows to 0 "
            "(log 0 = −inf). Subtract each row's own maximum first (the log-sum-exp trick).",
            test=lambda got, expected, case: not np.all(np.isfinite(got))),
    Mistake("Return one number, the mean over the rows, not one loss per row.",
            test=lambda got, expected, case: np.shape(got) == (len(case.args[1]),)),
    Mistake("You summed over the rows; the loss is the *mean* over the batch (divide by N).",
            test=lambda got, expected, case: np.allclose(got, expected * len(case.args[1]), rtol=1e-9)),
    Mistake("After subtracting the row maximum m, add it back: log Σ_j e^{z_j} = m + log Σ_j e^{z_j − m}.",
            _log_sum_exp_without_max),
]


def check_cross_entropy(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
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
    return check_exercise("3.1 cross-entropy", student, reference, cases, rtol=1e-9, atol=1e-9, outputs="L",
                          mistakes=_CROSS_ENTROPY_MISTAKES)


def _steps_of(step_fn):
    """(theta, grads, lr, momentum) → the final (θ, v) after one `step_fn` call per gradient, v₀ = 0."""
    def run(theta, grads, lr, momentum):
        theta, velocity = theta.copy(), np.zeros_like(theta)
        for g in grads:
            theta, velocity = step_fn(theta, g.copy(), velocity, lr, momentum)
            theta, velocity = np.asarray(theta, dtype=float), np.asarray(velocity, dtype=float)
        return theta, velocity
    return run


def _sgd_lr_in_velocity(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + lr * grad
    return theta - velocity, velocity


def _sgd_old_velocity(theta, grad, velocity, lr, momentum):
    return theta - lr * velocity, momentum * velocity + grad


_SGD_MOMENTUM_MISTAKES = [
    Mistake("You ignored the velocity (plain SGD): first v ← μ v + g, then θ ← θ − η v.",
            _steps_of(lambda theta, grad, velocity, lr, momentum: (theta - lr * grad, grad))),
    Mistake("You damped the gradient, v ← μ v + (1 − μ) g; PyTorch's SGD (dampening 0) uses v ← μ v + g.",
            _steps_of(lambda theta, grad, velocity, lr, momentum: (
                theta - lr * (momentum * velocity + (1 - momentum) * grad), momentum * velocity + (1 - momentum) * grad))),
    Mistake("Your velocity includes the learning rate (v ← μ v + η g, θ ← θ − v): the same θ while η is "
            "constant, but PyTorch keeps v ← μ v + g and takes θ ← θ − η v, which stays right when η changes.",
            _steps_of(_sgd_lr_in_velocity)),
    Mistake("You moved θ with the old velocity: update v ← μ v + g first, then θ ← θ − η v with the new v.",
            _steps_of(_sgd_old_velocity)),
]


def check_sgd_momentum_step(student_fn: Callable[..., Any], seed: Optional[int] = None) -> Passed:
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

    rng = _rng(seed)
    cases = []
    for steps, shape, lr, mu in [(1, (3,), 0.1, 0.9), (5, (2, 3), 0.05, 0.9), (4, (4,), 0.5, 0.5)]:
        grads = [rng.normal(size=shape) for _ in range(steps)]
        cases.append(Case(f"{steps} step(s), lr {lr}, momentum {mu}", rng.normal(size=shape), grads, lr, mu))
    return check_exercise("3.2 SGD with momentum", _steps_of(student_fn), reference, cases,
                          outputs=("θ", "v"), mistakes=_SGD_MOMENTUM_MISTAKES)
