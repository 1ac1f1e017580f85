"""`python -m attributions reproduce`: the page framework, and each experiment end to end in --quick.

Each experiment runs once (module fixture) into a temporary directory; the tests then check the
claim's property with values recomputed here independently of the experiment's code, and that the
numbers the page prints are the ones in Result.numbers (the page is parsed back)."""

import math
import os
import re

import numpy as np
import pytest

import attributions as A
import minicnn as mc
from attributions import reproduce
from attributions.app.cli import main
from attributions.app.errors import UsageError
from attributions.reproduce import ancona_identities, deeplift_digits, ig_convergence, input_invariance
from attributions.reproduce.page import Result, format_number, markdown_table, read_verdict, write_index, write_page
from attributions.reproduce.samples import bundled_model, correct_test_images


# ---- reading a page back ------------------------------------------------------------------------
def parse_cell(text):
    """A cell as format_number printed it: yes/no → bool, – → NaN, ∞ → inf, numbers → float, else str."""
    text = text.strip()
    if text in ("yes", "no"):
        return text == "yes"
    if text == "–":
        return math.nan
    if text in ("∞", "−∞"):
        return math.inf if text == "∞" else -math.inf
    try:
        return float(text)
    except ValueError:
        return text


def page_table(path):
    """The rows (dicts) of the table under '## Measured' in a page."""
    lines = open(path, encoding="utf-8").read().split("## Measured", 1)[1].strip().splitlines()
    table = [line for line in lines if line.startswith("|")]

    def cells(line):  # split at the pipes that are not escaped (\| inside a cell)
        return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])]

    header = cells(table[0])
    return [dict(zip(header, map(parse_cell, cells(row)))) for row in table[2:]]


def printed_equals(cell, value):
    """The printed cell is `value` at the page's precision (4 significant digits)."""
    if isinstance(value, (bool, np.bool_)):
        return cell is bool(value)
    if isinstance(value, float) and math.isnan(value):
        return isinstance(cell, float) and math.isnan(cell)
    return isinstance(cell, float) and cell == pytest.approx(value, rel=1e-3, abs=1e-300)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproductions") / "reproductions"
    results = {name: reproduce.run(name, quick=True, out_dir=str(out)) for name in reproduce.EXPERIMENTS}
    return out, results


# ---- the framework ------------------------------------------------------------------------------
def test_format_number_and_table():
    assert [format_number(v) for v in (True, 3, 0.0, 0.123456, 2.5e-7, 123456.0, math.nan)] == \
        ["yes", "3", "0", "0.1235", "2.500e-07", "1.235e+05", "–"]
    assert markdown_table([{"a": 1, "b": 0.5}, {"a": 2, "c": False}]).splitlines() == \
        ["| a | b | c |", "|---|---|---|", "| 1 | 0.5 |  |", "| 2 |  | no |"]
    with pytest.raises(ValueError, match="rows"):
        markdown_table([])


def test_write_page_and_index(tmp_path):
    from matplotlib.figure import Figure

    out = tmp_path / "pages"
    figure = Figure()
    figure.subplots().plot([0, 1])
    write_page(str(out), "b-exp", "B", "claim b", "Someone 2020, Fig. 1", "| x |\n|---|\n| 1 |", "Agrees: b.",
               figure=figure, run_note="quick run: test")
    write_page(str(out), "a-exp", "A", "claim a", "Other 2019", "| x |\n|---|\n| 2 |", "Disagrees: a.")
    assert (out / "b-exp.png").exists() and not (out / "a-exp.png").exists()
    assert read_verdict((out / "b-exp.md").read_text(encoding="utf-8")) == ("B", "Agrees: b.", True)
    index = write_index(str(out), order=["b-exp"])
    assert index == str(tmp_path / "pages.md")
    lines = [line for line in open(index, encoding="utf-8").read().splitlines() if line.startswith("- ")]
    assert lines == ["- [`b-exp`](pages/b-exp.md) — B (quick run): Agrees: b.",
                     "- [`a-exp`](pages/a-exp.md) — A: Disagrees: a."]
    # a rerun without a figure removes the old one, so the page never shows a stale picture
    write_page(str(out), "b-exp", "B", "c", "s", "| x |\n|---|\n| 1 |", "Agrees: b.")
    assert not (out / "b-exp.png").exists()
    with pytest.raises(ValueError, match="verdict"):
        write_page(str(out), "c-exp", "C", "c", "s", "t", "two\nlines")


def test_unknown_experiment_and_option():
    with pytest.raises(UsageError, match="ig-convergence"):
        reproduce.run("no-such-experiment")
    with pytest.raises(UsageError, match="--mnist: not an option of ig-convergence; it applies to deeplift-digits"):
        reproduce.run("ig-convergence", quick=True, mnist="somewhere")


def test_cli_errors(tmp_path, capsys):
    assert main(["reproduce", "nonsense", "--out", str(tmp_path)]) == 2
    assert "deeplift-digits, input-invariance, ig-convergence, ancona-identities" in capsys.readouterr().err
    assert main(["reproduce", "all", "--mnist", str(tmp_path)]) == 2
    assert main(["reproduce", "deeplift-digits", "--quick", "--model", "w.npz", "--out", str(tmp_path)]) == 2
    assert "--model" in capsys.readouterr().err
    assert main(["reproduce", "deeplift-digits", "--quick", "--mnist", str(tmp_path / "none"), "--out", str(tmp_path)]) == 1
    assert "expected a directory holding the four MNIST IDX files" in capsys.readouterr().err


def test_every_page_prints_its_numbers_and_is_indexed(quick_runs):
    out, results = quick_runs
    index = open(str(out) + ".md", encoding="utf-8").read()
    for name, result in results.items():
        assert isinstance(result, Result) and result.name == name and result.numbers
        page = (out / f"{name}.md").read_text(encoding="utf-8")
        assert f"(reproductions/{name}.md)" in index and result.verdict in index
        assert read_verdict(page) == (result.title, result.verdict, True)
        assert (out / f"{name}.png").exists() == (result.figure is not None)
        rows = page_table(out / f"{name}.md")
        assert len(rows) == len(result.table)
        for printed, row in zip(rows, result.table):
            for column, value in row.items():
                if isinstance(value, (bool, float, int, np.floating, np.bool_)):
                    exact = bool(value) if isinstance(value, (bool, np.bool_)) else float(value)
                    assert printed_equals(printed[column], exact), \
                        (name, column, printed[column], value)


# ---- ig-convergence -------------------------------------------------------------------------------
def test_steps_needed_is_the_first_step_count_that_stays_within():
    errors = np.array([[0.5, 0.04, 0.06, 0.01, 0.02],   # dips in at 4, out at 8, in from 16 on
                       [0.5, 0.3, 0.2, 0.1, 0.06],      # never within
                       [0.01, 0.01, 0.01, 0.01, 0.01]])
    needed = ig_convergence.steps_needed(errors, (2, 4, 8, 16, 32))
    assert needed[0] == 16 and math.isnan(needed[1]) and needed[2] == 2


def test_ig_convergence_shares_recomputed_with_completeness_delta(quick_runs):
    _, results = quick_runs
    numbers = results["ig-convergence"].numbers
    model, data = bundled_model("digits")
    x, y, _ = correct_test_images(model, data, ig_convergence.QUICK_IMAGES, seed=0)
    with mc.no_grad():
        rows = np.arange(len(x))
        gap = model(x).data[rows, y] - model(np.zeros_like(x)).data[rows, y]
    for rule in ("riemann_right", "gausslegendre"):
        ig = A.integrated_gradients(model, x, y, steps=300, method=rule)
        error = np.abs(A.completeness_delta(model, ig, x, y)) / np.abs(gap)
        assert numbers[f"digits_{rule}_share_within_at_300"] == pytest.approx(np.mean(error <= 0.05))
    # at its own median step count, Gauss–Legendre is within 5 % for at least half of the images
    steps = int(numbers["digits_gausslegendre_median_steps"])
    ig = A.integrated_gradients(model, x, y, steps=steps, method="gausslegendre")
    assert np.mean(np.abs(A.completeness_delta(model, ig, x, y)) / np.abs(gap) <= 0.05) >= 0.5


# ---- input-invariance -----------------------------------------------------------------------------
def test_input_invariance_claim(quick_runs):
    _, results = quick_runs
    result = results["input-invariance"]
    for row in result.table:
        if row["paper: invariant"]:
            assert row["relative max |a₂ − a|"] <= input_invariance.EXACT, row
        else:
            assert row["relative max |a₂ − a|"] > input_invariance.DIFFERENT, row
    assert result.verdict.startswith("Agrees")


def test_shifted_network_computes_the_same_function_and_gradient():
    model, data = bundled_model("digits")
    x, y, _ = correct_test_images(model, data, 2, seed=1)
    network, padding = input_invariance.padding_in_input(model)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    shift = input_invariance.SHIFT
    shifted = input_invariance.shifted_network(network, shift)
    with mc.no_grad():
        np.testing.assert_allclose(shifted(padded + shift).data, model(x).data, rtol=0, atol=1e-12)
    gradient = A.input_gradient(network, padded, y)
    assert np.array_equal(A.input_gradient(shifted, padded + shift, y), gradient)
    # gradient × input moves by exactly shift · gradient: the shift is not absorbed
    moved = A.gradient_x_input(shifted, padded + shift, y) - A.gradient_x_input(network, padded, y)
    np.testing.assert_allclose(moved, shift * gradient, rtol=0, atol=1e-12 * np.abs(gradient).max())
    assert model.features[0].padding == padding  # the bundled model itself is untouched


# ---- ancona-identities ----------------------------------------------------------------------------
def test_ancona_identities_on_another_bundled_net(quick_runs):
    _, results = quick_runs
    numbers = results["ancona-identities"].numbers
    assert numbers["digits: LRP-ε=0 vs gradient × input"] <= ancona_identities.MACHINE_PRECISION
    assert numbers["digits: DeepLIFT-Rescale vs gradient × input, biases 0"] <= ancona_identities.MACHINE_PRECISION
    assert numbers["digits: DeepLIFT-Rescale vs gradient × input, with biases"] > ancona_identities.DIFFERENT
    # the quick run covers digits; the faces LeNet obeys the same identities, checked here directly
    model, data = bundled_model("faces")
    x, y, _ = correct_test_images(model, data, 2, seed=0)
    bare = ancona_identities.without_biases(model)
    assert any(np.abs(p.data).max() > 0 for n, p in model.named_parameters() if n.endswith("bias"))
    np.testing.assert_allclose(A.lrp(model, x, y, epsilon=0.0), A.gradient_x_input(model, x, y),
                               rtol=0, atol=1e-12 * np.abs(A.gradient_x_input(model, x, y)).max())
    reference = A.gradient_x_input(bare, x, y)
    np.testing.assert_allclose(A.deeplift(bare, x, y), reference, rtol=0, atol=1e-12 * np.abs(reference).max())


# ---- deeplift-digits ------------------------------------------------------------------------------
def test_erase_top_takes_the_largest_positive_differences_within_the_budget():
    x = np.arange(1, 11, dtype=np.float64).reshape(1, 1, 2, 5)
    difference = np.array([5.0, -1, 3, 0, 9, 2, -4, 1, 0.5, 7]).reshape(1, 1, 2, 5)
    erased = deeplift_digits.erase_top(x, difference, fraction=0.3)  # budget 3: 9, 7, 5
    assert np.flatnonzero(erased.ravel() == 0).tolist() == [0, 4, 9]
    erased = deeplift_digits.erase_top(x, -np.abs(difference), fraction=0.5)  # nothing positive: nothing erased
    assert np.array_equal(erased, x)


def test_log_odds_increase_is_the_change_of_log_softmax_ratio():
    model, data = bundled_model("digits")
    x = data.x_test[data.y_test == 8][:3]
    erased = x * (np.arange(x[0].size).reshape(x.shape[1:]) % 3 > 0)
    with mc.no_grad():
        def log_odds(images):
            z = model(images).data
            log_p = z - np.log(np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)) - z.max(1, keepdims=True)
            return log_p[:, 3] - log_p[:, 8]
        expected = log_odds(erased) - log_odds(x)
    np.testing.assert_allclose(deeplift_digits.log_odds_increase(model, x, erased, 8, 3), expected, atol=1e-10)


def test_deeplift_digits_verdict_follows_the_numbers(quick_runs):
    _, results = quick_runs
    result = results["deeplift-digits"]
    wins = result.numbers["pairs where RevealCancel is best"]
    assert result.verdict.startswith("Agrees") == (wins == len(deeplift_digits.PAIRS))
    for original, target in deeplift_digits.PAIRS:
        means = {name: result.numbers[f"{original}→{target} {name}"] for name in deeplift_digits.METHODS}
        assert all(np.isfinite(list(means.values())))
        # erasing pixels that favour the original class raises the target's log-odds for DeepLIFT
        assert means["DeepLIFT-RevealCancel"] > 0 and means["DeepLIFT-Rescale"] > 0


def _write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def test_deeplift_digits_on_idx_files_trains_a_lenet(tmp_path):
    from minicnn.data import load_digits
    from minicnn.data.digits import upsample

    digits = load_digits(size=8)
    for split, images, labels, n in (("train", digits.x_train, digits.y_train, 300),
                                     ("t10k", digits.x_test, digits.y_test, 120)):
        pictures = np.round(upsample(images[:n], 28)[:, 0] * 255).clip(0, 255)
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte", pictures)
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte", labels[:n])
    out = tmp_path / "pages"
    assert main(["reproduce", "deeplift-digits", "--quick", "--mnist", str(tmp_path), "--out", str(out)]) == 0
    page = (out / "deeplift-digits.md").read_text(encoding="utf-8")
    assert "a LeNet on MNIST" in page and "trained here: 1 epoch(s)" in page and "of the 784 pixels (157)" in page
    assert len(page_table(out / "deeplift-digits.md")) == len(deeplift_digits.PAIRS) + 1
    # weights for another input shape are refused with the file named
    assert main(["reproduce", "deeplift-digits", "--quick", "--mnist", str(tmp_path), "--out", str(out),
                 "--model", str(os.path.join(os.path.dirname(mc.__file__), "weights", "digits_lenet.npz"))]) == 1
