"""The ResNet twins of tests/torch_zoo.py without module reuse, for Captum's `DeepLift`.

torchvision's BasicBlock/Bottleneck (and the twins) apply one `nn.ReLU` module several times per
forward pass. Captum's DeepLift keeps each nonlinearity's input and output on the module in a
forward hook, so a module that runs twice cannot be explained (Captum 0.9 raises
"... if your module is being used more than once in the network"). Here every use gets its own
module, relu1 … relu{depth} (BasicBlock: relu1 after bn1, relu2 after the residual addition).
ReLU has no parameters or buffers, so the state_dict keys stay torchvision's.

    twin = without_module_reuse(torch_zoo.TWINS["resnet18"](10).double().eval())
"""

from torch import nn

from torch_zoo import ResidualBlock

__all__ = ["SeparateReLUBlock", "without_module_reuse"]


class SeparateReLUBlock(ResidualBlock):
    """torch_zoo.ResidualBlock's computation with the ReLU modules relu1 … relu{depth}, one per use."""

    def forward(self, x):
        out = x
        for i in range(1, self.depth + 1):
            out = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(out))
            if i < self.depth:
                out = getattr(self, f"relu{i}")(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return getattr(self, f"relu{self.depth}")(out + shortcut)


def without_module_reuse(model):
    """Turn every torch_zoo.ResidualBlock of `model` into a SeparateReLUBlock, in place: the shared
    `relu` module is replaced by one fresh ReLU per use (the stem's ReLU already runs once).
    Returns the model; its parameters and state_dict keys are unchanged."""
    for block in [m for m in model.modules() if type(m) is ResidualBlock]:
        del block.relu
        for i in range(1, block.depth + 1):
            block.add_module(f"relu{i}", nn.ReLU())
        block.__class__ = SeparateReLUBlock
    return model
