"""Tests for attributions.gradcam: Grad-CAM (hand-computed and GAP-head cases), layer lookup,
upsampling, counterfactual maps, guided backprop by hand, Guided Grad-CAM.

Run one part with e.g. ``pytest tests/test_gradcam.py -k Layer``.
"""

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn
from attributions.gradcam import (
    find_layer,
    grad_cam,
    grad_cam_maps,
    gradcam_weights,
    guided_backprop,
    guided_grad_cam,
    layer_activation_and_gradient,
)
from attributions.gradients import input_gradient

from test_gradients import linear, relu_conv_net, smooth_conv_net


def hand_net():
    """docs/methods.md (Small cases with known answers) case 7: conv of 3×3 ones with biases (−50, −75), ReLU, flatten, linear."""
    conv = nn.Conv2d(1, 2, 3)
    conv.weight.data[...] = 1.0
    conv.bias.data[...] = [-50.0, -75.0]
    head = linear([[1, 1, 1, 1, 1, -1, -1, -1], [0, 0, 0, 1, 0, 0, 0, 2]])
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head)


HAND_X = np.arange(16.0).reshape(1, 1, 4, 4)
HAND_MAP = np.array([[11.25, 13.5], [20.25, 22.5]])


def gap_net(seed=0):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.Conv2d(4, 5, 3, rng=rng), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(5, 3, rng=rng),
    )


@pytest.fixture
def x():
    return np.random.default_rng(3).standard_normal((2, 2, 8, 8))


# ---- known answers ----------------------------------------------------------------------------
class TestKnownAnswers:
    # Case 7 is defined on the conv layer's output A (before the ReLU), so layer="0" throughout;
    # the default layer would be the ReLU's output "1".
    def test_hand_computed_weights_and_map(self):
        net = hand_net()
        activations, gradients = layer_activation_and_gradient(net, HAND_X, np.array([0]), "0")
        np.testing.assert_allclose(activations[0, :, :, :], [[[-5, 4], [31, 40]], [[-30, -21], [6, 15]]])
        np.testing.assert_allclose(gradcam_weights(activations, gradients), [[0.75, -0.5]])
        np.testing.assert_allclose(grad_cam(net, HAND_X, 0, layer="0", relu=False, upsample=False), [HAND_MAP], rtol=1e-14)
        np.testing.assert_allclose(grad_cam(net, HAND_X, 0, layer="0", upsample=False), [HAND_MAP], rtol=1e-14)
        np.testing.assert_allclose(grad_cam_maps(net, HAND_X, 0, layer="0"), [HAND_MAP], rtol=1e-14)

    def test_hand_computed_counterfactual(self):
        net = hand_net()
        np.testing.assert_allclose(grad_cam_maps(net, HAND_X, 0, layer="0", relu=False, counterfactual=True), [-HAND_MAP])
        np.testing.assert_array_equal(grad_cam_maps(net, HAND_X, 0, layer="0", counterfactual=True), np.zeros((1, 2, 2)))

    def test_hand_computed_upsampled(self):
        # bilinear, half-pixel centres, 2×2 → 4×4: rows/cols at source coordinates (−¼→0, ¼, ¾, 5/4→1)
        up = grad_cam(hand_net(), HAND_X, 0, layer="0")
        weights = np.array([[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
        np.testing.assert_allclose(up, [weights @ HAND_MAP @ weights.T], rtol=1e-14)

    def test_relu_clips_negative_regions(self):
        net = hand_net()
        x = HAND_X.copy()
        x[0, 0, 0, 0] = -200  # pulls the first window of both channels down
        signed = grad_cam_maps(net, x, 0, layer="0", relu=False)
        assert (signed < 0).any() and (signed > 0).any()
        np.testing.assert_array_equal(grad_cam_maps(net, x, 0, layer="0"), np.maximum(signed, 0))

    @pytest.mark.parametrize("target", [0, 2])
    def test_gap_head_is_cam_over_area(self, target, x):
        net = gap_net()
        features = net[:4]  # shares the modules
        with mc.no_grad():
            a = features(mc.Tensor(x)).data
        w = net[6].weight.data[target]
        cam = np.einsum("k,nkij->nij", w, a)
        m, n = a.shape[2:]
        np.testing.assert_allclose(grad_cam_maps(net, x, target, layer="3"), np.maximum(cam, 0) / (m * n), rtol=1e-12)
        np.testing.assert_allclose(grad_cam_maps(net, x, target, layer=net[3], relu=False), cam / (m * n), rtol=1e-12)


# ---- layers -----------------------------------------------------------------------------------
class TestLayer:
    def test_default_is_the_last_feature_map_before_the_classifier(self, x):
        # Sequential net: the ReLU after the last conv is the last 4-D map; the global pooling
        # that follows only resizes it for the classifier and is skipped.
        net = gap_net()
        assert find_layer(net, None, x) == ("3", net[3])
        default = grad_cam(net, x, 1)
        np.testing.assert_array_equal(default, grad_cam(net, x, 1, layer="3"))
        np.testing.assert_array_equal(default, grad_cam(net, x, 1, layer=net[3]))
        assert not np.allclose(default, grad_cam(net, x, 1, layer="0"))

    def test_default_follows_execution_order_in_a_residual_net(self):
        # ResNetSmall registers the last block's 1×1 shortcut conv after its main path: the last
        # Conv2d in registration order (the old default) is `layer2.downsample.0`. In execution
        # order the last feature map is the block's output, `layer2`, which the classifier sees.
        from minicnn.models import ResNetSmall

        net = ResNetSmall((3, 16, 16), 4).eval()
        x = np.random.default_rng(0).standard_normal((1, 3, 16, 16))
        last_registered_conv = [name for name, m in net.named_modules() if isinstance(m, nn.Conv2d)][-1]
        assert last_registered_conv == "layer2.downsample.0"
        assert find_layer(net, None, x) == ("layer2", net.layer2)

    @pytest.mark.parametrize("arch, size, expected", [
        ("resnet18", 64, "layer4"), ("resnet34", 64, "layer4"), ("resnet50", 64, "layer4"),
        ("vgg11", 64, "features"), ("vgg16", 64, "features"), ("vgg16_bn", 64, "features"),
        ("alexnet", 67, "features"), ("squeezenet1_1", 65, "features"),
        ("mobilenet_v2", 64, "features"), ("densenet121", 64, "features"),
    ])
    def test_default_on_every_zoo_architecture(self, arch, size, expected):
        # SqueezeNet's classifier holds a 1×1 conv over 13×13 class maps: inside the classifier
        # (whose own output is pooled), so not a candidate. VGG's and AlexNet's adaptive pools only
        # resize; DenseNet's final ReLU and pooling are functional ops after `features`.
        from minicnn import models

        net = models.IMAGENET[arch](num_classes=4).eval()
        x = np.random.default_rng(0).standard_normal((1, 3, size, size))
        name, module = find_layer(net, None, x)
        assert name == expected and module is dict(net.named_modules())[expected]

    def test_nested_dotted_names(self, x):
        rng = np.random.default_rng(0)
        features = nn.Sequential(nn.Conv2d(2, 3, 3, rng=rng), nn.ReLU())
        net = nn.Sequential(features, nn.Flatten(), nn.Linear(3 * 6 * 6, 2, rng=rng))
        assert find_layer(net, "0.1", x) == ("0.1", features[1])
        assert find_layer(net, None, x) == ("0", features)     # the block, not its last ReLU: the same map
        assert grad_cam(net, x, 1, layer="0.1").shape == (2, 8, 8)

    @pytest.mark.parametrize(
        "layer, problem",
        [("9", "no submodule named '9'"), ("5", "shape (2, 5)"), ("", "shape (2, 3)"),
         (nn.Conv2d(4, 5, 3), "not part of"), ("6", "shape (2, 3)")],
    )
    def test_bad_layer_lists_candidates(self, layer, problem, x):
        with pytest.raises(ValueError, match=r"^layer\b") as info:
            grad_cam(gap_net(), x, 0, layer=layer)
        assert problem in str(info.value)
        assert "'0', '1', '2', '3', '4'" in str(info.value)

    def test_no_conv_for_the_default(self):
        rng = np.random.default_rng(0)
        net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=rng))
        with pytest.raises(ValueError, match=r"^layer\b.*no 4-D feature map"):
            grad_cam(net, np.ones((1, 1, 2, 2)), 0)

    def test_layer_used_twice(self, x):
        class Twice(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(2, 2, 3, padding=1, rng=0)
                self.head = nn.Linear(2 * 8 * 8, 2, rng=1)

            def forward(self, x):
                return self.head(self.conv(self.conv(x)).flatten(1))

        with pytest.raises(ValueError, match=r"^layer\b.*runs 2 times"):
            grad_cam(Twice(), x, 0)

    def test_layer_type(self, x):
        with pytest.raises(TypeError, match=r"^layer\b"):
            grad_cam(gap_net(), x, 0, layer=3)

    @pytest.mark.parametrize("name, value", [("relu", 1), ("upsample", "no"), ("counterfactual", None)])
    def test_flag_types(self, name, value, x):
        with pytest.raises(TypeError, match=rf"^{name}\b"):
            grad_cam(gap_net(), x, 0, **{name: value})

    def test_upsample_needs_images(self):
        class Reshaping(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 2, 2, rng=0)
                self.head = nn.Linear(2 * 3 * 3, 2, rng=1)

            def forward(self, x):
                return self.head(self.conv(x.reshape(len(x), 1, 4, 4)).flatten(1))

        x = np.ones((2, 16))
        assert grad_cam(Reshaping(), x, 0, upsample=False).shape == (2, 3, 3)
        with pytest.raises(ValueError, match=r"^x\b.*upsample=False"):
            grad_cam(Reshaping(), x, 0)


# ---- upsampling and counterfactual ------------------------------------------------------------
class TestMaps:
    def test_shapes(self, x):
        net = relu_conv_net()
        assert grad_cam(net, x, 0).shape == (2, 8, 8)
        assert grad_cam(net, x, 0, upsample=False).shape == (2, 2, 2)
        assert grad_cam(net, x, 0, layer="3").shape == (2, 8, 8)
        assert grad_cam_maps(net, x, 0, layer="3").shape == (2, 4, 4)

    def test_upsampled_constant_map_stays_constant(self):
        # a GAP net whose last conv sees a constant image has a constant map
        net = gap_net()
        x = np.ones((1, 2, 8, 8))
        maps = grad_cam_maps(net, x, 0, layer="4")  # 1×1 map
        np.testing.assert_allclose(grad_cam(net, x, 0, layer="4"), np.full((1, 8, 8), maps[0, 0, 0]), rtol=1e-14)

    def test_counterfactual_is_grad_cam_of_negated_score(self, x):
        net = relu_conv_net()
        negated = nn.Sequential(net, linear(-np.eye(3)))
        for layer in ("4", "2"):
            np.testing.assert_allclose(
                grad_cam(net, x, [1, 2], layer=layer, counterfactual=True),
                grad_cam(negated, x, [1, 2], layer="0." + layer),
                rtol=1e-12, atol=1e-14,
            )
            signed = grad_cam_maps(net, x, 1, layer=layer, relu=False)
            np.testing.assert_allclose(grad_cam_maps(net, x, 1, layer=layer, relu=False, counterfactual=True), -signed)


# ---- guided backprop --------------------------------------------------------------------------
class TestGuidedBackprop:
    def test_by_hand(self):
        # z = W₁x = (3, 2, −2) at x = (1, 1); y = w₂·ReLU(z), w₂ = (2, −1, 5)
        net = nn.Sequential(linear([[1, 2], [-1, 3], [-1, -1]]), nn.ReLU(), linear([[2, -1, 5]]))
        x = np.array([[1.0, 1.0]])
        np.testing.assert_allclose(input_gradient(net, x, 0), [[3.0, 1.0]])  # W₁ᵀ(2, −1, 0)
        np.testing.assert_allclose(guided_backprop(net, x, 0), [[2.0, 4.0]])  # W₁ᵀ(2, 0, 0)

    def test_matches_numpy_on_two_hidden_layers(self):
        rng = np.random.default_rng(4)
        net = nn.Sequential(nn.Linear(6, 8, rng=rng), nn.ReLU(), nn.Linear(8, 7, rng=rng), nn.ReLU(), nn.Linear(7, 3, rng=rng))
        x = rng.standard_normal((5, 6))
        (w1, b1), (w2, b2), (w3, _) = [(net[i].weight.data, net[i].bias.data) for i in (0, 2, 4)]
        z1 = x @ w1.T + b1
        z2 = np.maximum(z1, 0) @ w2.T + b2
        g = np.tile(w3[2], (5, 1))
        g = g * (z2 > 0) * (g > 0)
        g = g @ w2
        g = g * (z1 > 0) * (g > 0)
        np.testing.assert_allclose(guided_backprop(net, x, 2), g @ w1, rtol=1e-12)
        assert not np.allclose(guided_backprop(net, x, 2), input_gradient(net, x, 2))

    def test_is_the_gradient_without_relus(self, x):
        net = smooth_conv_net()
        np.testing.assert_array_equal(guided_backprop(net, x, 1), input_gradient(net, x, 1))

    def test_guided_grad_cam_is_the_product(self, x):
        net = relu_conv_net()
        x3 = np.concatenate([x, x[:1]], axis=0)
        result = guided_grad_cam(net, x3, [0, 1, 2], layer="4")
        expected = guided_backprop(net, x3, [0, 1, 2]) * grad_cam(net, x3, [0, 1, 2], layer="4")[:, None]
        assert result.shape == x3.shape
        np.testing.assert_array_equal(result, expected)
        assert np.abs(result).max() > 0
