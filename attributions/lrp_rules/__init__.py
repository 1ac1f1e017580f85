"""Layer-wise relevance propagation (LRP) as backward rules of the engine.

Why `lrp_rules` and not `lrp`: the public function is `attributions.lrp` (`A.lrp(model, x,
target)`); a package of the same name would make `attributions.lrp` a module or a function
depending on import order (the same reason as `deeplift_rules`).

    relevance.py   lrp(): seed R = t at the target logit, one backward pass with the rule table
    rules.py       the layer rules: ε, γ, αβ, z⁺ and the input rules zbox, flat, w²
    composites.py  the named composites (zennit's): one rule per kind of layer
    table.py       the rule table {Function type: rule}: ReLU passes, max-pool routes, pooling ε…
    layers.py      a Linear/Conv2d node as (x, W, b, z, apply, transpose)
    canonizer.py   folding an eval-mode BatchNorm into the layer before it
"""

from .composites import COMPOSITES
from .relevance import INPUT_RULES, RULES, lrp
from .table import LrpError

__all__ = ["lrp", "LrpError", "RULES", "INPUT_RULES", "COMPOSITES"]
