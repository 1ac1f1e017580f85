"""The ImageNet architectures of minicnn.models against torchvision.

torchvision itself cannot be imported next to this torch, so the reference is twofold:
torchvision's published parameter counts and a sample of its state_dict keys (checked on
minicnn's models and on the PyTorch twins of tests/torch_zoo.py), and then those twins, which
must agree with minicnn's models key for key and, in float64 eval mode with the same random
weights and BatchNorm statistics, in logits, input gradient and every parameter gradient.
The cross-checks with the twins are skipped when torch is not installed.
"""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import models

# torchvision's parameter counts with 1000 classes (its model documentation / weights metadata).
PUBLISHED_PARAMETERS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "vgg11": 132_863_336, "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
    "alexnet": 61_100_840, "squeezenet1_1": 1_235_496, "mobilenet_v2": 3_504_872, "densenet121": 7_978_856,
}

# A sample of the keys (and shapes) in torchvision's state_dicts: the places where a naming
# slip is likely (shortcuts, nested Sequentials, flat indices after BatchNorms, named blocks).
TORCHVISION_KEYS = {
    "resnet18": {"layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer4.1.bn2.running_var": (512,),
                 "fc.weight": (1000, 512)},
    "resnet34": {"layer3.5.conv2.weight": (256, 256, 3, 3), "layer4.0.downsample.1.weight": (512,),
                 "fc.weight": (1000, 512)},
    "resnet50": {"layer1.0.conv3.weight": (256, 64, 1, 1), "layer1.0.downsample.0.weight": (256, 64, 1, 1),
                 "layer4.2.bn3.running_mean": (2048,), "fc.weight": (1000, 2048)},
    "vgg11": {"features.18.weight": (512, 512, 3, 3), "classifier.0.weight": (4096, 25088),
              "classifier.6.weight": (1000, 4096)},
    "vgg16": {"features.28.weight": (512, 512, 3, 3), "classifier.3.weight": (4096, 4096), "classifier.6.bias": (1000,)},
    "vgg16_bn": {"features.1.running_mean": (64,), "features.40.weight": (512, 512, 3, 3), "features.41.weight": (512,),
                 "classifier.6.weight": (1000, 4096)},
    "alexnet": {"features.0.weight": (64, 3, 11, 11), "features.10.weight": (256, 256, 3, 3),
                "classifier.1.weight": (4096, 9216), "classifier.6.weight": (1000, 4096)},
    "squeezenet1_1": {"features.3.squeeze.weight": (16, 64, 1, 1), "features.12.expand3x3.weight": (256, 64, 3, 3),
                      "classifier.1.weight": (1000, 512, 1, 1)},
    "mobilenet_v2": {"features.0.0.weight": (32, 3, 3, 3), "features.1.conv.0.0.weight": (32, 1, 3, 3),
                     "features.1.conv.1.weight": (16, 32, 1, 1), "features.2.conv.1.0.weight": (96, 1, 3, 3),
                     "features.17.conv.2.weight": (320, 960, 1, 1), "features.18.1.running_var": (1280,),
                     "classifier.1.weight": (1000, 1280)},
    "densenet121": {"features.denseblock1.denselayer1.norm1.weight": (64,),
                    "features.denseblock4.denselayer16.conv2.weight": (32, 128, 3, 3),
                    "features.transition3.conv.weight": (512, 1024, 1, 1), "features.norm5.running_var": (1024,),
                    "classifier.weight": (1000, 1024)},
}

ARCHITECTURES = sorted(PUBLISHED_PARAMETERS)

# Forward/backward cross-checks: (architecture, input side, batch). 224×224 where the issue asks
# for it; the rest at small inputs that still exercise every layer (VGG: 2×2 features → the
# adaptive pool's 7×7 bins; AlexNet 127: 3×3 → 6×6; SqueezeNet 65: every ceil_mode pool keeps
# a partial window; these nets are slow in a NumPy engine on two cores).
GRADIENT_CASES = [
    ("resnet18", 224, 1), ("mobilenet_v2", 224, 1), ("densenet121", 224, 1),
    ("resnet34", 64, 2), ("resnet50", 64, 2), ("vgg11", 64, 2), ("vgg16", 64, 1), ("vgg16_bn", 64, 2),
    ("alexnet", 127, 2), ("squeezenet1_1", 65, 2), ("densenet121", 64, 2),
]


@pytest.fixture(scope="module")
def zoo():
    """tests/torch_zoo.py (the PyTorch twins), or a skip when torch is absent."""
    pytest.importorskip("torch", reason="torch not installed; cross-checks with the PyTorch twins skipped")
    import torch_zoo

    return torch_zoo


def shapes(state):
    return [(k, tuple(np.shape(v))) for k, v in state.items()]


def test_every_architecture_is_registered():
    assert sorted(models.IMAGENET) == ARCHITECTURES
    assert all(name in models.__all__ for name in models.IMAGENET)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_parameter_count_and_keys_are_torchvisions(name):
    model = models.IMAGENET[name]()
    assert sum(p.data.size for p in model.parameters()) == PUBLISHED_PARAMETERS[name]
    state = model.state_dict()
    assert {k: state[k].shape for k in TORCHVISION_KEYS[name] if k in state} == TORCHVISION_KEYS[name]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_state_dict_is_the_torch_twins(zoo, name):
    """1000 classes: the twin is torchvision's architecture (published count, sample keys), and
    minicnn's state_dict has its keys, in its order, with its shapes; its weights load strictly."""
    twin = zoo.TWINS[name](1000)
    theirs = zoo.numpy_state_dict(twin)
    assert sum(p.numel() for p in twin.parameters()) == PUBLISHED_PARAMETERS[name]
    assert {k: theirs[k].shape for k in TORCHVISION_KEYS[name] if k in theirs} == TORCHVISION_KEYS[name]
    model = models.IMAGENET[name]()
    assert shapes(model.state_dict()) == shapes(theirs)
    model.load_state_dict(theirs)  # strict
    ours = model.state_dict()
    for key in ("fc.weight", "classifier.6.weight", "classifier.1.weight", "classifier.weight"):
        if key in theirs:
            np.testing.assert_array_equal(ours[key], theirs[key])


def assert_close(ours, theirs, what):
    theirs = np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9 * np.abs(theirs).max(), err_msg=what)


@pytest.mark.parametrize("name, size, batch", GRADIENT_CASES, ids=[f"{n}-{s}px" for n, s, _ in GRADIENT_CASES])
def test_logits_and_gradients_match_torch(zoo, name, size, batch):
    """float64, eval mode, the twin's seeded weights and random BatchNorm statistics: logits,
    ∂L/∂x and ∂L/∂θ for every parameter θ, with L = Σ w·logits for a random w."""
    import torch

    twin = zoo.seeded_twin(name, num_classes=10)
    model = models.IMAGENET[name](num_classes=10)
    model.load_state_dict(zoo.numpy_state_dict(twin))
    model.eval()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, 3, size, size))
    w = rng.normal(size=(batch, 10))

    tx = torch.tensor(x, requires_grad=True)
    t_logits = twin(tx)
    (t_logits * torch.tensor(w)).sum().backward()

    mx = mc.Tensor(x, requires_grad=True)
    logits = model(mx)
    logits.backward(w)

    assert_close(logits.data, t_logits.detach().numpy(), "logits")
    assert_close(mx.grad, tx.grad.numpy(), "input gradient")
    theirs = dict(twin.named_parameters())
    ours = dict(model.named_parameters())
    assert list(ours) == list(theirs)
    for key, p in ours.items():
        assert_close(p.grad, theirs[key].grad.numpy(), f"gradient of {key}")


def test_resnet_small_matches_its_torch_twin(zoo):
    """ResNetSmall is built from ResNet's BasicBlock: its keys are unchanged, and in train mode
    (batch statistics) it computes what the same net in PyTorch computes."""
    import torch

    torch.manual_seed(0)
    twin = zoo.randomize_batchnorm(zoo.ResNetSmallTwin(num_classes=5, width=4).double(), torch.Generator().manual_seed(1))
    model = models.ResNetSmall((3, 12, 12), num_classes=5, width=4)
    assert shapes(model.state_dict()) == shapes(zoo.numpy_state_dict(twin))
    model.load_state_dict(zoo.numpy_state_dict(twin))
    x = np.random.default_rng(2).normal(size=(3, 3, 12, 12))
    tx = torch.tensor(x, requires_grad=True)
    twin(tx).square().sum().backward()
    mx = mc.Tensor(x, requires_grad=True)
    out = model(mx)
    F.sum(out * out).backward()
    assert_close(mx.grad, tx.grad.numpy(), "input gradient")
    for (key, p), t_p in zip(model.named_parameters(), twin.parameters()):
        assert_close(p.grad, t_p.grad.numpy(), f"gradient of {key}")
    # train mode updated the running statistics in both
    assert_close(model.state_dict()["layer2.bn1.running_var"], twin.state_dict()["layer2.bn1.running_var"].numpy(), "running_var")
