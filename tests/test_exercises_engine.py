"""The engine checkers of `minicnn.exercises` (notebooks 01–03): each accepts the reference
answer and rejects plausible wrong ones with an ExerciseError that says what is wrong (never a
crash of its own), shown in a notebook as its message alone."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import exercises as ex
from minicnn import kernels
from minicnn.ops.activations import Sigmoid, stable_sigmoid
from minicnn.ops.arithmetic import unbroadcast


# ---- answers: the right one first, then wrong ones a student might write ---------------------

def _unbroadcast_leading_only(grad, shape):
    return grad.sum(axis=tuple(range(grad.ndim - len(shape)))) if grad.ndim > len(shape) else grad


def _unbroadcast_mean(grad, shape):
    return unbroadcast(grad, shape) * (np.prod(shape) / grad.size)


class _SigmoidNoChainRule(mc.Function):
    def forward(self, z):
        self.y = stable_sigmoid(z)
        return self.y

    def backward(self, g):
        return (self.y * (1 - self.y),)  # forgot to multiply by g


class _SigmoidWrongDerivative(mc.Function):
    def forward(self, z):
        self.y = stable_sigmoid(z)
        return self.y

    def backward(self, g):
        return (g * self.y,)


def _numgrad_central(f, x, eps):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def _conv_flipped(x, w, stride, padding):  # a true convolution, not PyTorch's cross-correlation
    return kernels.conv2d_forward_reference(x, w[:, :, ::-1, ::-1].copy(), stride, padding)


def _conv_ignores_stride(x, w, stride, padding):
    return kernels.conv2d_forward_reference(x, w, 1, padding)


def _backward_input_without_padding_crop(grad_y, w, x_shape, stride, padding):
    g = kernels.conv2d_backward_input_reference(grad_y, w, x_shape, stride, padding)
    return np.roll(g, padding, axis=(2, 3))


def _backward_input_flip(grad_y, w, x_shape, stride, padding):
    return kernels.conv2d_backward_input_reference(grad_y, w[:, :, ::-1, ::-1].copy(), x_shape, stride, padding)


def _backward_weight_mean(grad_y, x, w_shape, stride, padding):
    return kernels.conv2d_backward_weight_reference(grad_y, x, w_shape, stride, padding) / len(x)


def _cross_entropy_stable(logits, targets):
    z = logits - logits.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(targets)), targets].mean()


def _cross_entropy_naive(logits, targets):
    with np.errstate(all="ignore"):
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(targets)), targets]).mean()


def _cross_entropy_sum(logits, targets):
    return _cross_entropy_stable(logits, targets) * len(targets)


def _sgd_right(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + grad
    return theta - lr * velocity, velocity


def _sgd_no_momentum(theta, grad, velocity, lr, momentum):
    return theta - lr * grad, grad


def _sgd_dampened(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + (1 - momentum) * grad
    return theta - lr * velocity, velocity


class _SigmoidOfZ(mc.Function):
    def forward(self, z):
        self.z = z
        return stable_sigmoid(z)

    def backward(self, g):
        return (g * self.z * (1 - self.z),)


def _unbroadcast_no_keepdims(grad, shape):
    return np.squeeze(unbroadcast(grad, shape)) if shape else unbroadcast(grad, shape)


def _numgrad_half(f, x, eps):
    return 2 * _numgrad_central(f, x, eps)


def _numgrad_mutating(f, x, eps):
    grad = _numgrad_central(f, x.copy(), eps)
    x += 1.0
    return grad


def _conv_no_padding(x, w, stride, padding):
    return kernels.conv2d_forward_reference(x, w, stride, 0)


def _backward_input_overwrite(grad_y, w, x_shape, stride, padding):
    n_batch, channels, height, width = x_shape
    _, _, kh, kw = w.shape
    padded = np.zeros((n_batch, channels, height + 2 * padding, width + 2 * padding))
    for n, o, i, j in np.ndindex(grad_y.shape):
        padded[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw] = grad_y[n, o, i, j] * w[o]
    return padded[:, :, padding:padding + height, padding:padding + width]


def _cross_entropy_per_row(logits, targets):
    return _cross_entropy_stable(logits, targets) * np.ones(len(targets))


def _sgd_lr_in_velocity(theta, grad, velocity, lr, momentum):
    velocity = momentum * velocity + lr * grad
    return theta - velocity, velocity


# checker: (the right answer, [(a wrong answer, words its message must contain or None), …])
CHECKERS = {
    "check_unbroadcast": (unbroadcast, [(_unbroadcast_leading_only, "size-1 axes it stretched"),
                                        (_unbroadcast_mean, "averaged"), (lambda g, s: g, "unchanged"),
                                        (_unbroadcast_no_keepdims, "keepdims=True")]),
    "check_sigmoid_backward": (Sigmoid, [(_SigmoidNoChainRule, "ignores the incoming gradient g"),
                                         (_SigmoidWrongDerivative, "σ(z)(1 − σ(z))"),
                                         (_SigmoidOfZ, "You used z where σ(z) belongs")]),
    "check_numerical_gradient": (_numgrad_central, [(ex._numerical_gradient_one_sided, "one-sided"), (_numgrad_half, "2ε"),
                                                    (_numgrad_mutating, "changed its argument x")]),
    "check_conv2d_forward": (kernels.conv2d_forward_reference, [(_conv_flipped, "flipped the kernel"),
                                                                (_conv_ignores_stride, "ignored the stride"),
                                                                (_conv_no_padding, "did not pad")]),
    "check_conv2d_backward_input": (kernels.conv2d_backward_input_reference,
                                    [(_backward_input_flip, "flipped the kernel"),
                                     (_backward_input_without_padding_crop, None),
                                     (_backward_input_overwrite, "accumulate with +=")]),
    "check_conv2d_backward_weight": (kernels.conv2d_backward_weight_reference,
                                     [(_backward_weight_mean, "divided by the batch size")]),
    "check_cross_entropy": (_cross_entropy_stable, [(_cross_entropy_naive, "log-sum-exp"),
                                                    (_cross_entropy_sum, "mean"),
                                                    (_cross_entropy_per_row, "one number")]),
    "check_sgd_momentum_step": (_sgd_right, [(_sgd_no_momentum, "ignored the velocity"),
                                             (_sgd_dampened, "damped"),
                                             (_sgd_lr_in_velocity, "includes the learning rate")]),
}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_accepts_the_reference(checker, capsys):
    right, _ = CHECKERS[checker]
    verdict = getattr(ex, checker)(right, seed=0)
    assert isinstance(verdict, ex.Passed) and verdict
    out = capsys.readouterr().out
    assert out.count("✓") == 1 and out.strip() == verdict.message


@pytest.mark.parametrize("checker", sorted(CHECKERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_rejects_wrong_answers_and_says_why(checker, seed, capsys):
    _, wrong_answers = CHECKERS[checker]
    for wrong, words in wrong_answers:
        with pytest.raises(ex.ExerciseError, match=r"^✗ Exercise \d\.\d .*case \d+/\d+ \(") as info:
            getattr(ex, checker)(wrong, seed=seed)
        if words:
            assert words in str(info.value), f"{wrong.__name__}: {info.value}"
    assert capsys.readouterr().out == "", "a failing check prints nothing: the error is the verdict"


def test_outputs_are_named_not_numbered():
    with pytest.raises(ex.ExerciseError) as info:
        ex.check_sigmoid_backward(_SigmoidNoChainRule, seed=0)
    assert "∂L/∂z: values differ" in str(info.value) and "output" not in str(info.value)


def test_error_renders_as_its_message_only():
    with pytest.raises(ex.ExerciseError) as info:
        ex.check_unbroadcast(lambda g, s: g, seed=0)
    assert info.value._render_traceback_() == str(info.value).splitlines()
    assert all("Traceback" not in line and ".py" not in line for line in info.value._render_traceback_())


def test_a_crash_in_the_students_code_names_the_case_and_shows_only_their_lines():
    def crashes(grad, shape):
        return grad.sum(axis=7)

    with pytest.raises(ex.ExerciseError, match=r"case 1/6 .* raised AxisError") as info:
        ex.check_unbroadcast(crashes, seed=0)
    message = str(info.value)
    assert "return grad.sum(axis=7)" in message and "minicnn/" not in message


def test_warnings_of_the_students_function_do_not_reach_stderr(capsys):
    def noisy(grad, shape):
        np.log(-np.ones(1))  # RuntimeWarning: invalid value
        return unbroadcast(grad, shape)

    assert ex.check_unbroadcast(noisy, seed=0)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_unfinished_exercise_is_reported(checker):
    def unfinished(*args, **kwargs):
        raise NotImplementedError("Exercise")

    class Unfinished(mc.Function):
        def forward(self, z):
            return z

        def backward(self, g):
            raise NotImplementedError("Exercise")

    answer = Unfinished if checker == "check_sigmoid_backward" else unfinished
    with pytest.raises(ex.ExerciseError, match="not implemented yet"):
        getattr(ex, checker)(answer, seed=0)


def test_every_engine_checker_is_tested():
    names = {n for n in ex.__all__ if n.startswith("check_") and n != "check_exercise"}
    assert names == set(CHECKERS)


def test_fresh_cases_by_default():
    # seed=None draws new cases on every call; the reference still passes each time.
    for _ in range(2):
        assert ex.check_conv2d_forward(kernels.conv2d_forward_reference, seed=None)


def test_a_mistake_needs_one_way_to_be_recognised():
    with pytest.raises(ValueError):
        ex.Mistake("message")
