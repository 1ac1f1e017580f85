"""PyTorch's tensor conventions beside NumPy's (issue 14, point 6).

Three kinds of check, a class each:
- the PyTorch-style call gives what the NumPy-style call gives (values and gradients), and every
  new differentiable op passes `minicnn.gradcheck`;
- where torch is installed, the same values and gradients as torch itself (the gradients with
  random output weights, so the whole Jacobian is compared, not only that of `sum()`);
- a torch tensor or model passed where minicnn expects its own gets one line naming the argument
  and the `minicnn.interop` function to convert it.

Run one part with e.g. ``pytest tests/test_torch_conventions.py -k CrossEntropy``.
"""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import Function, Tensor, nn


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def leaf(rng, *shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


def value_and_grad(fn, x, weights=None):
    """(fn(x) as an array, ∂(Σ w ⊙ fn(x))/∂x) for a leaf x; random-looking weights by default."""
    x.grad = None
    out = fn(x)
    if weights is None:
        weights = np.cos(np.arange(out.data.size)).reshape(out.shape)
    (out * weights).sum().backward()
    return out.data.copy(), x.grad.copy()


def assert_same_call(fn_numpy, fn_torch_style, x):
    """The two spellings give the same values and the same gradients."""
    value_a, grad_a = value_and_grad(fn_numpy, x)
    value_b, grad_b = value_and_grad(fn_torch_style, x)
    assert value_a.shape == value_b.shape
    np.testing.assert_array_equal(value_a, value_b)
    np.testing.assert_array_equal(grad_a, grad_b)


# ----------------------------------------------------------------------------------------------
# dim= / keepdim= on the reductions and the softmax family
# ----------------------------------------------------------------------------------------------
class TestDimKeepdim:
    @pytest.mark.parametrize("reduction", ["sum", "mean"])
    @pytest.mark.parametrize("axis", [0, 1, -1, (0, 2), None])
    @pytest.mark.parametrize("keep", [False, True])
    def test_sum_mean_dim_is_axis(self, rng, reduction, axis, keep):
        x = leaf(rng, 2, 3, 4)
        assert_same_call(lambda t: getattr(t, reduction)(axis=axis, keepdims=keep),
                         lambda t: getattr(t, reduction)(dim=axis, keepdim=keep), x)
        assert_same_call(lambda t: getattr(F, reduction)(t, axis, keep),
                         lambda t: getattr(F, reduction)(t, dim=axis, keepdim=keep), x)

    @pytest.mark.parametrize("dim", [0, 1, -1])
    @pytest.mark.parametrize("keep", [False, True])
    def test_max_dim_returns_values_and_indices(self, rng, dim, keep):
        x = leaf(rng, 3, 4, 5)
        result = x.max(dim=dim, keepdim=keep)
        values, indices = result  # a pair, as torch.max(x, dim)
        assert values is result.values and indices is result.indices
        expected_indices = np.argmax(x.data, axis=dim)
        np.testing.assert_array_equal(indices, np.expand_dims(expected_indices, dim) if keep else expected_indices)
        assert indices.dtype == np.int64
        assert_same_call(lambda t: t.max(axis=dim, keepdims=keep), lambda t: t.max(dim=dim, keepdim=keep).values, x)
        # the indices pick the values: take_along_axis(x, indices) is the max
        picked = np.take_along_axis(x.data, np.expand_dims(expected_indices, dim), axis=dim)
        np.testing.assert_array_equal(picked.squeeze(dim), x.data.max(axis=dim))

    def test_max_without_dim_is_a_tensor(self, rng):
        x = leaf(rng, 3, 4)
        assert isinstance(x.max(), Tensor) and isinstance(x.max(axis=1), Tensor)

    def test_max_dim_takes_one_int(self, rng):
        with pytest.raises(TypeError, match=r"max: dim must be one int.*\(0, 1\)"):
            leaf(rng, 3, 4).max(dim=(0, 1))

    @pytest.mark.parametrize("reduction", ["sum", "mean", "max"])
    def test_both_spellings_at_once_is_an_error(self, rng, reduction):
        x = leaf(rng, 3, 4)
        with pytest.raises(TypeError, match=f"{reduction}: give axis or dim, not both"):
            getattr(x, reduction)(axis=0, dim=0)
        with pytest.raises(TypeError, match=f"{reduction}: give keepdims or keepdim, not both"):
            getattr(x, reduction)(axis=0, keepdims=True, keepdim=False)

    @pytest.mark.parametrize("name", ["softmax", "log_softmax"])
    @pytest.mark.parametrize("dim", [0, 1, -1])
    def test_softmax_methods_and_dim(self, rng, name, dim):
        x = leaf(rng, 3, 4)
        assert_same_call(lambda t: getattr(F, name)(t, axis=dim), lambda t: getattr(t, name)(dim), x)
        assert_same_call(lambda t: getattr(F, name)(t, dim), lambda t: getattr(F, name)(t, dim=dim), x)


# ----------------------------------------------------------------------------------------------
# view, permute, unsqueeze, squeeze, size()
# ----------------------------------------------------------------------------------------------
class TestShapeMethods:
    @pytest.mark.parametrize("shape", [(6, 4), (-1, 4), (2, -1, 2), (24,), (-1,), (1, 2, 3, 4)])
    def test_view_is_reshape(self, rng, shape):
        x = leaf(rng, 2, 3, 4)
        assert_same_call(lambda t: t.reshape(shape), lambda t: t.view(*shape), x)
        assert_same_call(lambda t: t.reshape(shape), lambda t: t.view(shape), x)
        assert x.view(*shape).shape == np.empty((2, 3, 4)).reshape(shape).shape

    @pytest.mark.parametrize("shape, message", [
        ((5, -1), r"view: shape \(5, -1\) is invalid for an input of shape \(2, 3, 4\) \(24 elements\)"),
        ((5, 5), r"view: shape \(5, 5\) is invalid"),
        ((-1, -1), r"view: shape \(-1, -1\) may hold one −1"),
        ((-2, 12), r"sizes ≥ 0"),
    ])
    def test_view_errors_are_one_line(self, rng, shape, message):
        with pytest.raises(ValueError, match=message) as info:
            leaf(rng, 2, 3, 4).view(*shape)
        assert "\n" not in str(info.value)

    def test_view_refuses_non_int_sizes(self, rng):
        with pytest.raises(TypeError, match="view: shape must be ints"):
            leaf(rng, 2, 3).view(2.0, 3)
        with pytest.raises(TypeError, match="view: shape must be ints"):
            leaf(rng, 2, 3).view(np.float32)

    @pytest.mark.parametrize("dims", [(0, 1, 2), (2, 0, 1), (1, 2, 0), (-1, 0, -2)])
    def test_permute_is_transpose(self, rng, dims):
        x = leaf(rng, 2, 3, 4)
        positive = tuple(d % 3 for d in dims)
        assert_same_call(lambda t: t.transpose(positive), lambda t: t.permute(*dims), x)
        assert_same_call(lambda t: F.transpose(t, positive), lambda t: F.permute(t, dims), x)
        np.testing.assert_array_equal(x.permute(dims).data, np.transpose(x.data, positive))

    @pytest.mark.parametrize("dims, error, message", [
        ((0, 1), ValueError, r"permute: dims \(0, 1\) has 2 entries for an input with 3 axes"),
        ((0, 1, 1), ValueError, r"permute: dims \(0, 1, 1\) names an axis twice"),
        ((0, 1, 3), IndexError, r"permute: dims must be an int in \[-3, 2\], got 3"),
    ])
    def test_permute_errors(self, rng, dims, error, message):
        with pytest.raises(error, match=message):
            leaf(rng, 2, 3, 4).permute(*dims)

    @pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
    def test_unsqueeze_is_expand_dims(self, rng, dim):
        x = leaf(rng, 2, 3)
        assert x.unsqueeze(dim).shape == np.expand_dims(x.data, dim).shape
        assert_same_call(lambda t: t.reshape(np.expand_dims(t.data, dim).shape), lambda t: t.unsqueeze(dim), x)
        assert_same_call(lambda t: t.unsqueeze(dim), lambda t: F.unsqueeze(t, dim), x)

    @pytest.mark.parametrize("dim", [3, -4])
    def test_unsqueeze_out_of_range(self, rng, dim):
        with pytest.raises(IndexError, match=rf"unsqueeze: dim must be an int in \[-3, 2\], got {dim}"):
            leaf(rng, 2, 3).unsqueeze(dim)

    def test_squeeze(self, rng):
        x = leaf(rng, 1, 3, 1, 2)
        assert x.squeeze().shape == (3, 2) == np.squeeze(x.data).shape
        assert x.squeeze(0).shape == (3, 1, 2)
        assert x.squeeze(-2).shape == (1, 3, 2)
        assert x.squeeze((0, 2)).shape == (3, 2)
        assert_same_call(lambda t: t.reshape(3, 2), lambda t: t.squeeze(), x)
        assert_same_call(lambda t: t.reshape(3, 1, 2), lambda t: F.squeeze(t, 0), x)

    def test_squeeze_of_a_longer_axis_changes_nothing(self, rng):
        x = leaf(rng, 1, 3, 2)
        assert x.squeeze(1).shape == (1, 3, 2)  # PyTorch: a no-op (NumPy would raise)
        assert_same_call(lambda t: t * 1.0, lambda t: t.squeeze(1), x)

    def test_squeeze_out_of_range(self, rng):
        with pytest.raises(IndexError, match=r"squeeze: dim must be an int in \[-2, 1\], got 2"):
            leaf(rng, 1, 3).squeeze(2)

    def test_size_method_and_number_of_elements(self, rng):
        x = leaf(rng, 2, 3, 4)
        assert x.size() == (2, 3, 4) and type(x.size()) is tuple
        assert [x.size(d) for d in (0, 1, 2, -1, -3)] == [2, 3, 4, 4, 2]
        assert isinstance(x.size(1), int)
        assert x.size == 24 == x.numel() == x.data.size  # NumPy's attribute still holds
        assert f"{x.size:4d}" == "  24" and x.size + 1 == 25
        with pytest.raises(IndexError, match=r"size: dim must be an int in \[-3, 2\], got 3"):
            x.size(3)

    @pytest.mark.parametrize("fn", [
        lambda t: t.view(3, -1),
        lambda t: t.permute(2, 0, 1),
        lambda t: t.unsqueeze(1),
        lambda t: t.unsqueeze(-1).squeeze(),
        lambda t: t.squeeze(1),
        lambda t: t.max(dim=1).values,
        lambda t: t.sum(dim=(0, 2), keepdim=True),
        lambda t: t.mean(dim=-1),
        lambda t: t.log_softmax(1),
    ], ids=["view", "permute", "unsqueeze", "squeeze-all", "squeeze-dim", "max-dim", "sum-dim", "mean-dim",
            "log_softmax"])
    def test_gradcheck(self, rng, fn):
        assert mc.gradcheck(fn, [leaf(rng, 2, 3, 2)])


# ----------------------------------------------------------------------------------------------
# manual_seed, Function.backward returning a bare array
# ----------------------------------------------------------------------------------------------
class TestSeedAndFunction:
    def build_and_drop(self):
        model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
        return model.state_dict(), model(np.ones((2, 4))).data

    def test_manual_seed_repeats_weights_and_dropout(self):
        mc.manual_seed(7)
        first = self.build_and_drop()
        mc.manual_seed(7)
        second = self.build_and_drop()
        mc.manual_seed(8)
        third = self.build_and_drop()
        for key in first[0]:
            np.testing.assert_array_equal(first[0][key], second[0][key])
        np.testing.assert_array_equal(first[1], second[1])
        assert not np.array_equal(first[0]["0.weight"], third[0]["0.weight"])
        assert nn.init.manual_seed is mc.manual_seed

    @pytest.mark.parametrize("seed, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)])
    def test_manual_seed_refuses(self, seed, error):
        with pytest.raises(error, match="manual_seed: seed must be a non-negative int"):
            mc.manual_seed(seed)

    def test_backward_may_return_a_bare_array(self, rng):
        class CubeBare(Function):
            def forward(self, a):
                self.save_for_backward(a)
                return a ** 3

            def backward(self, g):
                (a,) = self.saved
                return 3 * a * a * g

        class CubeTuple(CubeBare):
            def backward(self, g):
                return (super().backward(g),)

        x = leaf(rng, 3, 2)
        assert_same_call(CubeTuple.apply, CubeBare.apply, x)
        np.testing.assert_allclose(value_and_grad(CubeBare.apply, x, np.ones((3, 2)))[1], 3 * x.data ** 2)
        assert mc.gradcheck(CubeBare.apply, [x])
        # the hook point gets the same treatment: a rule may return the bare array as well
        (g,) = mc.grad(CubeTuple.apply(x).sum(), [x], rules={CubeTuple: lambda node, g: 2 * g})
        np.testing.assert_array_equal(g, np.full((3, 2), 2.0))


# ----------------------------------------------------------------------------------------------
# cross-entropy and MSE: PyTorch's arguments, against a row-by-row NumPy reference
# ----------------------------------------------------------------------------------------------
def reference_cross_entropy(logits, targets, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's documented formula, one row at a time, for class-index targets and (N, K) logits."""
    n, k = logits.shape
    weight = np.ones(k) if weight is None else np.asarray(weight, dtype=float)
    losses, total_weight = np.zeros(n), 0.0
    for row in range(n):
        if targets[row] == ignore_index:
            continue
        log_p = logits[row] - np.log(np.sum(np.exp(logits[row])))
        smoothed = np.full(k, label_smoothing / k)
        smoothed[targets[row]] += 1.0 - label_smoothing
        losses[row] = -np.sum(weight * smoothed * log_p)
        total_weight += weight[targets[row]]
    if reduction == "none":
        return losses
    return losses.sum() / total_weight if reduction == "mean" else losses.sum()


CROSS_ENTROPY_SETTINGS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"weight": [0.5, 2.0, 1.0, 3.0]},
    {"weight": [0.5, 2.0, 1.0, 3.0], "reduction": "none"},
    {"ignore_index": 2},
    {"ignore_index": 2, "weight": [0.5, 2.0, 1.0, 3.0], "reduction": "mean"},
    {"label_smoothing": 0.2},
    {"label_smoothing": 0.2, "weight": [0.5, 2.0, 1.0, 3.0], "ignore_index": 1},
    {"label_smoothing": 1.0, "reduction": "sum"},
]


class TestLosses:
    targets = np.array([0, 2, 1, 3, 2, 0])

    @pytest.mark.parametrize("settings", CROSS_ENTROPY_SETTINGS)
    def test_cross_entropy_matches_the_formula(self, rng, settings):
        logits = leaf(rng, 6, 4)
        ours = F.cross_entropy(logits, self.targets, **settings)
        np.testing.assert_allclose(ours.data, reference_cross_entropy(logits.data, self.targets, **settings), rtol=1e-12)
        module = nn.CrossEntropyLoss(**settings)
        np.testing.assert_array_equal(module(logits, self.targets).data, ours.data)
        assert mc.gradcheck(lambda z: F.cross_entropy(z, self.targets, **settings), [logits])

    def test_ignored_rows_get_no_gradient(self, rng):
        logits = leaf(rng, 6, 4)
        F.cross_entropy(logits, self.targets, ignore_index=2).backward()
        np.testing.assert_array_equal(logits.grad[self.targets == 2], 0.0)
        assert np.all(logits.grad[self.targets != 2] != 0.0)

    def test_class_probabilities(self, rng):
        logits = leaf(rng, 5, 3)
        probabilities = rng.dirichlet(np.ones(3), size=5)
        log_p = logits.data - np.log(np.exp(logits.data).sum(axis=1, keepdims=True))
        expected = -(probabilities * log_p).sum(axis=1)
        np.testing.assert_allclose(F.cross_entropy(logits, probabilities, reduction="none").data, expected, rtol=1e-12)
        np.testing.assert_allclose(F.cross_entropy(logits, probabilities).data, expected.mean(), rtol=1e-12)
        one_hot = np.eye(3)[[0, 2, 1, 1, 0]]  # probabilities that are one-hot give the index form
        np.testing.assert_allclose(F.cross_entropy(logits, one_hot, label_smoothing=0.1).data,
                                   F.cross_entropy(logits, [0, 2, 1, 1, 0], label_smoothing=0.1).data, rtol=1e-12)
        assert mc.gradcheck(lambda z: F.cross_entropy(z, probabilities, weight=[1.0, 2.0, 0.5]), [logits])

    def test_class_axis_one_of_many(self, rng):
        """(N, K, H, W) logits with (N, H, W) targets are N·H·W rows of (N·H·W, K)."""
        logits = leaf(rng, 2, 3, 2, 2)
        targets = rng.integers(0, 3, size=(2, 2, 2))
        rows = logits.data.transpose(0, 2, 3, 1).reshape(-1, 3)
        none = F.cross_entropy(logits, targets, reduction="none", weight=[1.0, 2.0, 3.0])
        assert none.shape == (2, 2, 2)
        np.testing.assert_allclose(none.data.reshape(-1), reference_cross_entropy(
            rows, targets.reshape(-1), weight=[1.0, 2.0, 3.0], reduction="none"), rtol=1e-12)
        assert mc.gradcheck(lambda z: F.cross_entropy(z, targets, label_smoothing=0.1), [logits])

    def test_one_unbatched_row(self, rng):
        logits = leaf(rng, 4)
        np.testing.assert_allclose(F.cross_entropy(logits, 2).data,
                                   F.cross_entropy(logits.reshape(1, 4), [2]).data, rtol=1e-15)
        assert F.cross_entropy(logits, 2, reduction="none").shape == ()

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_mse(self, rng, reduction):
        prediction, target = leaf(rng, 3, 4), rng.standard_normal((3, 4))
        squared = (prediction.data - target) ** 2
        expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
        np.testing.assert_allclose(F.mse_loss(prediction, target, reduction=reduction).data, expected, rtol=1e-14)
        np.testing.assert_array_equal(nn.MSELoss(reduction=reduction)(prediction, target).data, expected)
        assert mc.gradcheck(lambda p: F.mse_loss(p, target, reduction=reduction), [prediction])

    @pytest.mark.parametrize("build, error, message", [
        (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "CrossEntropyLoss: reduction must be"),
        (lambda: nn.CrossEntropyLoss(size_average=True), TypeError, "size_average and reduce are deprecated"),
        (lambda: nn.MSELoss(reduce=False), TypeError, "MSELoss: size_average and reduce are deprecated"),
        (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), ValueError, "label_smoothing must be a number in"),
        (lambda: nn.CrossEntropyLoss(ignore_index=1.0), TypeError, "ignore_index must be an int"),
        (lambda: nn.CrossEntropyLoss(weight=np.ones((2, 2))), ValueError, r"weight must be one number per class"),
    ])
    def test_settings_refused_when_built(self, build, error, message):
        with pytest.raises(error, match=message):
            build()

    @pytest.mark.parametrize("call, error, message", [
        (lambda z: F.cross_entropy(z, [0, 1, 2]), ValueError,
         r"class indices of shape \(2,\).*got targets of shape \(3,\)"),
        (lambda z: F.cross_entropy(z, [0, 3]), ValueError, r"targets must lie in \[0, 3\).*got 3"),
        (lambda z: F.cross_entropy(z, np.ones((2, 3)), ignore_index=0), ValueError, "ignore_index is not supported"),
        (lambda z: F.cross_entropy(z, np.ones((2, 3), dtype=int)), TypeError, "class probabilities and must be floats"),
        (lambda z: F.cross_entropy(z, [0, 1], weight=[1.0, 2.0]), ValueError,
         r"weight must hold one number per class, shape \(3,\)"),
        # PyTorch's third positional argument is weight; minicnn's has always been reduction
        (lambda z: F.cross_entropy(z, [0, 1], np.ones(3)), TypeError,
         r"reduction must be .* got ndarray; pass class weights as weight="),
        (lambda z: F.mse_loss(z, np.zeros((2, 3)), True), TypeError, r"mse_loss: reduction must be"),
    ])
    def test_bad_targets(self, call, error, message):
        with pytest.raises(error, match=message):
            call(Tensor(np.zeros((2, 3))))

    def test_weight_is_a_buffer(self):
        loss = nn.CrossEntropyLoss(weight=[1.0, 2.0])
        assert list(loss.state_dict()) == ["weight"]
        assert loss.to(np.float32).weight.dtype == np.float32
        assert list(nn.CrossEntropyLoss().state_dict()) == []


# ----------------------------------------------------------------------------------------------
# Against torch itself
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="torch not installed; the comparison with torch is skipped")


def against_torch(torch, ours, theirs, x):
    """Values and input gradients (with the same random output weights) of ours(Tensor) and
    theirs(torch.Tensor) on the same float64 data."""
    ours_value, ours_grad = value_and_grad(ours, Tensor(x, requires_grad=True))
    tx = torch.tensor(x, requires_grad=True)
    out = theirs(tx)
    weights = np.cos(np.arange(out.numel())).reshape(tuple(out.shape))
    (out * torch.tensor(weights)).sum().backward()
    assert ours_value.shape == tuple(out.shape)
    np.testing.assert_allclose(ours_value, out.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours_grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


class TestAgainstTorch:
    @pytest.mark.parametrize("call", [
        lambda t: t.view(6, -1), lambda t: t.view(-1), lambda t: t.view(3, 2, 4),
        lambda t: t.permute(2, 0, 1), lambda t: t.permute(-1, 1, 0),
        lambda t: t.unsqueeze(0), lambda t: t.unsqueeze(-1), lambda t: t.unsqueeze(2),
        lambda t: t.unsqueeze(1).squeeze(), lambda t: t.unsqueeze(1).squeeze(1), lambda t: t.squeeze(0),
        lambda t: t.sum(dim=1), lambda t: t.sum(dim=(0, 2), keepdim=True), lambda t: t.mean(dim=-1, keepdim=True),
        lambda t: t.max(dim=1).values, lambda t: t.max(dim=0, keepdim=True)[0], lambda t: t.max(),
        lambda t: t.softmax(1), lambda t: t.log_softmax(-1),
    ])
    def test_tensor_methods(self, rng, torch, call):
        against_torch(torch, call, call, rng.standard_normal((2, 3, 4)))

    def test_size_and_max_indices(self, rng, torch):
        x = rng.standard_normal((2, 3, 4))
        ours, theirs = Tensor(x), torch.tensor(x)
        assert ours.size() == tuple(theirs.size()) and ours.size(-2) == theirs.size(-2)
        assert ours.numel() == theirs.numel()
        for dim in (0, 1, -1):
            np.testing.assert_array_equal(ours.max(dim=dim).indices, theirs.max(dim=dim).indices.numpy())
        with pytest.raises(RuntimeError):  # torch refuses the shapes we refuse
            theirs.view(5, -1)
        assert theirs.squeeze(1).shape == ours.squeeze(1).shape

    @pytest.mark.parametrize("settings", CROSS_ENTROPY_SETTINGS)
    def test_cross_entropy_loss(self, rng, torch, settings):
        targets = np.array([0, 2, 1, 3, 2, 0])
        torch_settings = dict(settings)
        if "weight" in settings:
            torch_settings["weight"] = torch.tensor(settings["weight"], dtype=torch.float64)
        against_torch(torch, lambda z: nn.CrossEntropyLoss(**settings)(z, targets),
                      lambda z: torch.nn.CrossEntropyLoss(**torch_settings)(z, torch.tensor(targets)),
                      rng.standard_normal((6, 4)))

    @pytest.mark.parametrize("settings", [{}, {"label_smoothing": 0.3, "reduction": "none"},
                                          {"weight": [1.0, 2.0, 0.5], "reduction": "sum"}])
    def test_cross_entropy_probabilities_and_class_axis(self, rng, torch, settings):
        torch_settings = {k: (torch.tensor(v, dtype=torch.float64) if k == "weight" else v) for k, v in settings.items()}
        probabilities = rng.dirichlet(np.ones(3), size=(2, 2, 2)).transpose(0, 3, 1, 2)  # (N, K, H, W)
        indices = rng.integers(0, 3, size=(2, 2, 2))
        for targets in (probabilities, indices):
            against_torch(torch, lambda z: F.cross_entropy(z, targets, **settings),
                          lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(targets), **torch_settings),
                          rng.standard_normal((2, 3, 2, 2)))

    @pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
    def test_mse_loss(self, rng, torch, reduction):
        target = rng.standard_normal((3, 4))
        against_torch(torch, lambda p: nn.MSELoss(reduction=reduction)(p, target),
                      lambda p: torch.nn.MSELoss(reduction=reduction)(p, torch.tensor(target)),
                      rng.standard_normal((3, 4)))


# ----------------------------------------------------------------------------------------------
# A torch object passed by mistake
# ----------------------------------------------------------------------------------------------
TENSOR_MESSAGE = "expected a minicnn Tensor or NumPy array, got torch.Tensor; convert it with minicnn.interop.to_numpy"


def fake_torch_classes():
    """Stand-ins defined in a module named torch / torch.nn (what the check looks at), so the
    messages are tested without torch installed; a user's model subclasses the fake Module."""
    tensor = type("Tensor", (), {"__module__": "torch"})
    module = type("Module", (), {"__module__": "torch.nn.modules.module"})
    user_model = type("Net", (module,), {"__module__": "__main__"})
    return tensor(), user_model()


class TestTorchObjectsRefused:
    @pytest.fixture(params=["fake", "real"])
    def torch_objects(self, request):
        if request.param == "fake":
            return fake_torch_classes()
        torch = pytest.importorskip("torch", reason="torch not installed")

        class Net(torch.nn.Module):
            def forward(self, x):
                return x

        return torch.zeros(2, 3, dtype=torch.float64), Net()

    def test_tensor_and_ops(self, torch_objects):
        tensor, _ = torch_objects
        calls = {
            "Tensor: data": lambda: Tensor(tensor),
            "Relu: input 0": lambda: F.relu(tensor),
            "Add: input 1": lambda: F.add(Tensor([1.0]), tensor),
            "Mul: input 1": lambda: Tensor([1.0]) * tensor,
            "linear: x": lambda: F.linear(tensor, np.ones((2, 3))),
            "conv2d: weight": lambda: F.conv2d(np.ones((1, 1, 3, 3)), tensor),
            "cross_entropy: logits": lambda: F.cross_entropy(tensor, [0, 1]),
            "mse_loss: target": lambda: F.mse_loss(np.ones((2, 3)), tensor),
            "x": lambda: nn.Linear(3, 2)(tensor),
        }
        for name, call in calls.items():
            with pytest.raises(TypeError) as info:
                call()
            assert str(info.value).startswith(f"{name}: {TENSOR_MESSAGE}"), str(info.value)
            assert "\n" not in str(info.value)

    def test_torch_dtype(self):
        torch = pytest.importorskip("torch", reason="torch not installed")
        with pytest.raises(TypeError, match=r"^dtype: expected a NumPy dtype such as np.float32 or np.float64, got torch.float32"):
            Tensor([1.0], dtype=torch.float32)
        with pytest.raises(TypeError, match=r"^to: dtype must be np.float32 or np.float64, got torch.float32"):
            nn.Linear(2, 2).to(torch.float32)

    def test_modules(self, torch_objects):
        tensor, model = torch_objects
        with pytest.raises(TypeError, match=r"^load_state_dict: state_dict: expected a mapping .* got a torch.nn.Module "
                                            r"\(Net\); pass minicnn.interop.from_torch_state_dict"):
            nn.Linear(3, 2).load_state_dict(model)
        with pytest.raises(TypeError, match=r"^Sequential: entry '1': expected a minicnn Module, got torch.nn.Module \(Net\)"
                                            r".*from_torch_state_dict"):
            nn.Sequential(nn.ReLU(), model)
        with pytest.raises(TypeError, match=r"^Sequential.head: expected a minicnn Module, got torch.nn.Module"):
            nn.Sequential().head = model
        with pytest.raises(TypeError, match=r"^x: expected a minicnn Tensor or NumPy array, got a torch.nn.Module"):
            nn.ReLU()(model)

    def test_attribution_methods(self, torch_objects):
        import attributions as A

        tensor, model = torch_objects
        minicnn_model = nn.Sequential(nn.Flatten(), nn.Linear(3, 2))
        with pytest.raises(TypeError, match=r"^model: expected a minicnn Module, got torch.nn.Module \(Net\)"):
            A.saliency(model, np.ones((2, 3)), 0)
        with pytest.raises(TypeError, match=rf"^x: {TENSOR_MESSAGE}"):
            A.integrated_gradients(minicnn_model, tensor, 0)
        with pytest.raises(TypeError, match=r"^model: expected a minicnn Module"):
            A.grad_cam(model, np.ones((1, 1, 4, 4)), 0)

    def test_minicnn_objects_are_not_mistaken(self):
        from minicnn.validation import torch_kind

        assert torch_kind(Tensor([1.0])) is None and torch_kind(nn.ReLU()) is None
        assert torch_kind(np.ones(2)) is None and torch_kind({"torch": 1}) is None
        lookalike = type("Tensor", (), {"__module__": "torchlike"})()  # only torch and torch.*
        assert torch_kind(lookalike) is None
