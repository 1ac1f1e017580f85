"""DeepLIFT (Shrikumar, Greenside & Kundaje, ICML 2017) as a small package: the rule table and
the pass that uses it. The equations, edge cases and small known answers: docs/methods.md, DeepLIFT.

Why `deeplift_rules` and not `deeplift`: the public function is `attributions.deeplift`
(`A.deeplift(model, x, target)`, used by the README, the notebooks and the tests). A package of
the same name would make `attributions.deeplift` mean a module or a function depending on what
was imported first, and `import attributions.deeplift as m` would hand back the function. With
this name, `import attributions.deeplift_rules` is always this package and
`from attributions import deeplift` is always the function.

    contributions.py  deeplift(), deeplift_multipliers(): one backward pass carrying multipliers
    rules.py          the rule table {Function type: rule}, read like a derivative table
    rescale.py        the Rescale rule m = Δy/Δz at element-wise nonlinearities
    reveal_cancel.py  the RevealCancel rules and the forward sweep of positive and negative parts
    max_pool.py       the exact max-pool rule
    linear.py         the linear ops: when they are linear in x, and their sign-split maps
    nonlinearities.py (g, g′) of every element-wise nonlinearity with a rule
    stacked.py        the stacked batch [x; x′]: halves, stacking, the guarded ratio
    errors.py         DeepLiftError, and the message for an op without a rule
"""

from .contributions import RULES, deeplift, deeplift_multipliers
from .errors import DeepLiftError
from .reveal_cancel import reveal_cancel_deltas

__all__ = ["deeplift", "deeplift_multipliers", "DeepLiftError", "reveal_cancel_deltas", "RULES"]
