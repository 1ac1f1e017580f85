"""Grading a course with the real nbgrader: the notebooks `python -m tutorials.build` writes are
nbgrader source notebooks, and `nbgrader generate_assignment` then `nbgrader autograde` score

* the solution full marks,
* the untouched student version 0,
* a submission with one plausible wrong answer the full marks less exactly that exercise's points,

with the checker's words, and no traceback into library code, in the graded check cell; a
hidden test stays out of the student version and is run at grading.

Everything lives in a temporary course directory with its own `nbgrader_config.py`, gradebook and
Jupyter config dir (the user's are never read or written). Needs the `grading` extra
(`pip install -e .[grading]`); skipped without nbgrader. Takes about a minute: a kernel runs
tutorial 01 once per submission.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nbgrader", reason="grading with nbgrader needs the grading extra (pip install -e .[grading])")
nbformat = pytest.importorskip("nbformat")

from nbgrader.api import Gradebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutorials import build  # noqa: E402

pytestmark = pytest.mark.grading

ASSIGNMENT = "01_tensors_and_autodiff"
RIGHT = "return (g * self.y * (1 - self.y),)"
WRONG = "return (self.y * (1 - self.y),)"  # Exercise 1.2 without the chain rule: forgot g
HIDDEN = "assert my_unbroadcast(np.ones((4, 3)), (1, 3)).shape == (1, 3)  # a hidden case"


def _nbgrader(course: Path, *args):
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]),
        "JUPYTER_CONFIG_DIR": str(course / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(course / ".jupyter" / "runtime"),
        "MPLBACKEND": "Agg",
    })
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _add_hidden_test(notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    check = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "check_1_1")
    check.source += f"\n### BEGIN HIDDEN TESTS\n{HIDDEN}\n### END HIDDEN TESTS"
    nbformat.write(nb, notebook)


def _submit(course: Path, student: str, notebook_text: str):
    path = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(notebook_text, encoding="utf-8")


def _graded_cell(course: Path, student: str, grade_id: str):
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course after generate_assignment and autograde of the three submissions."""
    course = tmp_path_factory.mktemp("course")
    (source,) = build.write_course(course, [ASSIGNMENT])
    _add_hidden_test(source)
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(encoding="utf-8")
    solution = source.read_text(encoding="utf-8")
    assert RIGHT in solution
    _submit(course, "solution", solution)
    _submit(course, "untouched", release)
    _submit(course, "forgot_g", solution.replace(RIGHT, WRONG))
    _nbgrader(course, "autograde", ASSIGNMENT, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(ASSIGNMENT, s).score for s in ("solution", "untouched", "forgot_g")}
        max_score = gradebook.find_assignment(ASSIGNMENT).max_score
    return course, release, scores, max_score


def test_the_course_has_its_own_config(graded):
    course, *_ = graded
    config = (course / "nbgrader_config.py").read_text()
    assert "CourseDirectory.root" in config and "gradebook.db" in config
    assert (course / "gradebook.db").exists()


def test_every_check_cell_is_worth_its_points(graded):
    *_, max_score = graded
    assert max_score == 3.0  # three exercises in tutorial 01, one point each


def test_the_solution_scores_full_marks(graded):
    _, _, scores, max_score = graded
    assert scores["solution"] == max_score


def test_the_untouched_student_version_scores_zero(graded):
    _, _, scores, _ = graded
    assert scores["untouched"] == 0.0


def test_one_wrong_answer_loses_exactly_its_exercise(graded):
    course, _, scores, max_score = graded
    assert scores["forgot_g"] == max_score - 1.0
    cell = _graded_cell(course, "forgot_g", "check_1_2")
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    shown = "\n".join(error.traceback)
    assert "ignores the incoming gradient g" in shown and "∂L/∂z" in shown
    assert "Traceback" not in shown and "exercises.py" not in shown  # the message, not a traceback
    assert not [o for o in cell.outputs if o.output_type == "stream"], "the verdict is shown once"


def test_a_passing_check_cell_shows_only_its_verdict(graded):
    course, *_ = graded
    cell = _graded_cell(course, "solution", "check_1_2")
    assert [o.output_type for o in cell.outputs] == ["stream"]
    assert cell.outputs[0].text.startswith("✓ Exercise 1.2")


def test_hidden_tests_are_cut_from_the_release_and_run_at_grading(graded):
    course, release, _, _ = graded
    assert HIDDEN not in release and "HIDDEN TESTS" not in release
    assert HIDDEN in _graded_cell(course, "untouched", "check_1_1").source


def test_course_layout_takes_every_tutorial_by_default(tmp_path):
    written = build.write_course(tmp_path)
    assert [p.parent.name for p in written] == [p.stem for p in build.source_paths()]
    assert all(json.loads(p.read_text())["cells"] for p in written)
