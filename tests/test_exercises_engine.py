"""The engine checkers of `minicnn.exercises` (notebooks 01–04): each accepts the reference
answer and rejects plausible wrong ones with an ExerciseError (never a crash of its own)."""

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


def _numgrad_forward(f, x, eps):
    grad = np.zeros_like(x)
    base = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        grad[i] = (f(x) - base) / eps
        x[i] = old
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


CHECKERS = {
    "check_unbroadcast": (unbroadcast, [_unbroadcast_leading_only, _unbroadcast_mean, lambda g, s: g]),
    "check_sigmoid_backward": (Sigmoid, [_SigmoidNoChainRule, _SigmoidWrongDerivative]),
    "check_numerical_gradient": (_numgrad_central, [_numgrad_forward]),
    "check_conv2d_forward": (kernels.conv2d_forward_reference, [_conv_flipped, _conv_ignores_stride]),
    "check_conv2d_backward_input": (kernels.conv2d_backward_input_reference,
                                    [_backward_input_flip, _backward_input_without_padding_crop]),
    "check_conv2d_backward_weight": (kernels.conv2d_backward_weight_reference, [_backward_weight_mean]),
    "check_cross_entropy": (_cross_entropy_stable, [_cross_entropy_naive, _cross_entropy_sum]),
    "check_sgd_momentum_step": (_sgd_right, [_sgd_no_momentum, _sgd_dampened]),
}


@pytest.mark.parametrize("checker", sorted(CHECKERS))
def test_accepts_the_reference(checker, capsys):
    right, _ = CHECKERS[checker]
    assert getattr(ex, checker)(right, seed=0) is True
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("checker", sorted(CHECKERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_rejects_wrong_answers(checker, seed):
    _, wrong_answers = CHECKERS[checker]
    for wrong in wrong_answers:
        with pytest.raises(ex.ExerciseError, match="Exercise"):
            getattr(ex, checker)(wrong, seed=seed)


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
