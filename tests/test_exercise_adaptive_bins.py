"""Exercise 9.1's checker (tutorial 09): it accepts PyTorch's adaptive-pooling bins, its reference
(read off the engine's adaptive_avg_pool2d) is the closed form, and each plausible mistake is
rejected with a message that names it."""

import pytest

from attributions.exercises import check_adaptive_bins, reference_adaptive_bins
from minicnn.exercises import ExerciseError


def pytorch_bins(size, bins):
    return [(i * size // bins, -(-(i + 1) * size // bins)) for i in range(bins)]


def test_reference_is_pytorchs_closed_form():
    for size in range(1, 30):
        for bins in range(1, 12):
            assert reference_adaptive_bins(size, bins).tolist() == [list(p) for p in pytorch_bins(size, bins)]


def test_right_answer_is_accepted(capsys):
    assert check_adaptive_bins(pytorch_bins)
    assert check_adaptive_bins(lambda size, bins: tuple(pytorch_bins(size, bins)), seed=3)  # any sequence of pairs
    assert "✓ Exercise 9.1" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda s, b: [(i * s // b, (i + 1) * s // b) for i in range(b)], "rounds the end *up*"),
    (lambda s, b: [(i * s // b, -(-(i + 1) * s // b) - 1) for i in range(b)], "exclusive"),
    (lambda s, b: [(-(-i * s // b), -(-(i + 1) * s // b)) for i in range(b)], "rounds the start *down*"),
    (lambda s, b: [(i * (s // b), (i + 1) * (s // b)) for i in range(b)], "spreads the remainder"),
    (lambda s, b: [(0, s)], "one (start, end) pair per bin"),
])
def test_wrong_answers_are_rejected_with_a_hint(wrong, hint):
    with pytest.raises(ExerciseError, match=hint.replace("*", r"\*").replace("(", r"\(").replace(")", r"\)")):
        check_adaptive_bins(wrong, seed=0)


def test_unimplemented_is_reported():
    def adaptive_bins(size, bins):
        raise NotImplementedError("Exercise 9.1")

    with pytest.raises(ExerciseError, match="not implemented"):
        check_adaptive_bins(adaptive_bins)
