"""Evaluation metrics for attributions: faithfulness, localisation, randomisation, complexity,
robustness and cost, plus two control "explanations" every score must beat.

Every metric works on a batch and returns one number per image (N,); each module's docstring
states the formula and whether higher or lower is better:

    faithfulness   deletion ↓, insertion ↑ (AUC), faithfulness_correlation ↑, sensitivity_n ↑
    localisation   pointing_game ↑, relevance_mass_accuracy ↑, relevance_rank_accuracy ↑
    randomisation  model_randomisation (Spearman per layer) ↓, cross_class_correlation ↓
    discrimination class_discrimination 1 − ρ(|a_c|, |a_runner-up|) ↑ (demo and compare)
    inpainting     inpaint: deleted pixels filled from their neighbours (deletion's "inpaint" fill)
    similarity     map_similarity: Spearman of |a| or a, SSIM, HOG correlation of two maps
    complexity     sparseness (Gini; higher = more concentrated), entropy (lower = more concentrated)
    robustness     max_sensitivity ↓
    cost           measure_cost → seconds, forward and backward passes per image ↓
    correlation    pearson_rows, spearman_rows (row-wise; NaN for a constant row), and pixel_map

Attributions are shaped like x (N, C, H, W) or are (N, H, W) maps; pixel-level metrics sum over
channels first.
"""

from .complexity import entropy, sparseness
from .controls import centre_gaussian_attribution, random_attribution
from ._pixels import pixel_map
from .correlation import average_ranks, pearson_rows, spearman_rows
from .cost import Cost, PassCounter, count_passes, measure_cost
from .discrimination import DISCRIMINATIVE, class_discrimination, class_discrimination_of_maps, constant_maps, runner_up
from .faithfulness import (
    PerturbationCurve,
    curve_auc,
    curve_steps,
    deletion,
    faithfulness_correlation,
    insertion,
    random_subsets,
    sensitivity_n,
    subset_correlation,
    subset_drops,
)
from .inpainting import inpaint
from .localisation import pointing_game, relevance_mass_accuracy, relevance_rank_accuracy
from .randomisation import (
    RandomisationResult,
    RandomisedMaps,
    cross_class_correlation,
    model_randomisation,
    parameter_layers,
    randomise_layer,
    randomised_maps,
)
from .similarity import SIMILARITIES, hog_similarity, map_similarity, ssim_similarity
from .robustness import max_sensitivity

__all__ = [
    # faithfulness
    "deletion", "insertion", "PerturbationCurve", "curve_auc", "curve_steps",
    "faithfulness_correlation", "sensitivity_n", "random_subsets", "subset_drops", "subset_correlation",
    # localisation
    "pointing_game", "relevance_mass_accuracy", "relevance_rank_accuracy",
    # randomisation
    "model_randomisation", "RandomisationResult", "parameter_layers", "randomise_layer", "cross_class_correlation",
    # class discrimination (demo's Table 1 and compare)
    "class_discrimination", "class_discrimination_of_maps", "constant_maps", "runner_up", "DISCRIMINATIVE",
    # the deletion fill that hides the deleted region's outline
    "inpaint",
    "randomised_maps", "RandomisedMaps",
    # similarity of two maps (the randomisation checks' four measures)
    "map_similarity", "SIMILARITIES", "ssim_similarity", "hog_similarity",
    # complexity
    "sparseness", "entropy",
    # robustness
    "max_sensitivity",
    # cost
    "measure_cost", "Cost", "count_passes", "PassCounter",
    # correlations and pixel maps, shared with the demo and compare
    "pearson_rows", "spearman_rows", "average_ranks", "pixel_map",
    # controls
    "random_attribution", "centre_gaussian_attribution",
]
