"""Table 1's class-discrimination claim cells and notes: generated from the measured D, so a claim
the numbers contradict is marked and explained (format_table on measured rows written here)."""

import numpy as np

from attributions.app.demo import DemoResult, format_table
from attributions.metrics import DISCRIMINATIVE


def _row(d, signed=0.0, off_reference=0.2):
    return {"completeness": None, "ms_per_image": 1.0, "backward_calls": 1, "rows_per_image": 1.0, "pearson_ig": 0.5,
            "class_discrimination": d, "signed_rho": signed, "runner_up_constant": 0, "d_off_reference": off_reference}


def _result(rows):
    evidence = {"grad_cam_by_layer": [("features.3", (4, 4), 1.1, 0, False), ("features.5", (2, 2), 1.05, 3, True)],
                "default_layer": "features", "grad_cam_old": 0.24, "grad_cam_r": -0.08, "guided_backprop": 0.13,
                "reference_share": 0.3}
    return DemoResult("digits", "bundled", 0.97, np.arange(3), np.zeros(3, int), np.zeros(3, int), np.ones(3, int),
                      {}, rows, evidence=evidence)


def _cells(table):
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| method")]
    return {row.split("|")[1].strip(): [c.strip() for c in row.split("|")[2:-1]] for row in rows}


def test_agreeing_claims_stay_plain_and_contradicted_ones_get_a_note():
    rows = {"saliency": _row(0.2), "grad_cam": _row(1.05), "integrated_gradients": _row(0.11, signed=-0.33),
            "guided_grad_cam": _row(0.47), "gradient_x_input": _row(0.7, off_reference=0.3)}
    table = format_table(_result(rows), "LeNet", 50)
    cells = _cells(table)
    assert cells["Saliency"][1] == "no" and cells["Grad-CAM"][1] == "yes"
    assert cells["Integrated Gradients (50 steps)"][1] == "yes (poster) / measured 0.11: no [1]"
    assert cells["Guided Grad-CAM"][1] == "yes (poster) / measured 0.47: no [2]"
    assert cells["Gradient × input"][1] == "no (poster) / measured 0.70: yes [3]"
    notes = table[table.index("Notes on class discrimination"):]
    assert "1. Integrated Gradients (50 steps): its map is (x − x′)" in notes and "signed ρ = -0.33" in notes
    assert "2. Guided Grad-CAM: its guided-backprop factor" in notes and "D = 0.13" in notes
    assert "3. Gradient × input: measured D = 0.70; on the pixels where x ≠ x′ alone D = 0.30" in notes
    assert "4. Grad-CAM's D by layer" in notes and "`features.5` (the default layer) 2×2: 1.05 (3 all-zero)" in notes
    assert f"D ≥ {DISCRIMINATIVE:g}" in table


def test_threshold_is_inclusive_and_nan_keeps_the_claim():
    rows = {"saliency": _row(float("nan")), "grad_cam": _row(DISCRIMINATIVE)}
    cells = _cells(format_table(_result(rows)))
    assert cells["Saliency"][1] == "no" and cells["Grad-CAM"][1] == "yes"
