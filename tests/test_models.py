"""The model zoo, the bundled weights, and training for real on scikit-learn's digits."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.data import load_dataset
from minicnn.train import evaluate, main, train

# Test accuracy of each bundled model as measured when the weights were trained (README table).
DOCUMENTED_ACCURACY = {"digits": 0.9755, "faces": 0.98, "shapes": 0.998}


@pytest.mark.parametrize("dataset", sorted(models.BUNDLED))
def test_bundled_model_reaches_documented_accuracy(dataset):
    model, data = models.load_pretrained(dataset)
    assert not model.training
    accuracy = evaluate(model, data.x_test, data.y_test)
    assert accuracy == pytest.approx(DOCUMENTED_ACCURACY[dataset], abs=0.01)


@pytest.mark.parametrize("arch, shape", [("lenet", (1, 16, 16)), ("lenet", (1, 25, 25)), ("vgg", (3, 32, 32)), ("resnet", (3, 20, 20))])
def test_architectures_build_and_run(arch, shape):
    model = models.build(arch, shape, 7)
    out = model(np.random.default_rng(0).normal(size=(2,) + shape))
    assert out.shape == (2, 7)


def test_resnet_gradient_check():
    nn.init.manual_seed(0)
    block = models.BasicBlock(2, 3, stride=2)
    block.train()
    x = mc.Tensor(np.random.default_rng(1).normal(size=(2, 2, 5, 5)), requires_grad=True)
    assert mc.gradcheck(lambda t: block(t), [x])


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="lenet"):
        models.build("alexnet", (1, 16, 16), 10)
    with pytest.raises(ValueError, match="digits"):
        models.load_pretrained("cifar")


def test_wrong_weights_give_the_load_state_dict_report(tmp_path):
    path = tmp_path / "wrong.npz"
    mc.save(models.build("vgg", (1, 32, 32), 4).state_dict(), path)
    with pytest.raises(nn.StateDictError, match="(?i)missing key"):
        models.load_pretrained("digits", path=str(path))


def test_lenet_trains_to_95_percent_on_digits():
    """Issue requirement: a LeNet-style net trained with minicnn on sklearn's digits reaches ≥ 95 %."""
    data = load_dataset("digits", size=16, seed=0)
    nn.init.manual_seed(0)
    model = models.build("lenet", data.input_shape, data.n_classes)
    history = train(model, data, epochs=25, lr=3e-3, batch_size=64, seed=0, progress=False)
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["test_accuracy"] >= 0.95


def test_training_is_reproducible_from_the_seed(tmp_path):
    paths = [tmp_path / "a.npz", tmp_path / "b.npz"]
    for path in paths:
        assert main(["--dataset", "digits", "--epochs", "1", "--seed", "3", "--out", str(path)]) == 0
    a, b = mc.load(paths[0]), mc.load(paths[1])
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)
