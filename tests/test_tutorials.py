"""The tutorials: every solution notebook runs top to bottom, the student notebooks are exactly
what `python -m tutorials.make_student` generates, and a fresh student notebook stops at its
first exercise with NotImplementedError("Exercise N.M").

Notebooks are found by globbing tutorials/NN_*.ipynb, so new ones are picked up automatically.
These tests start Jupyter kernels and take minutes; run just the fast ones with
`pytest tests/test_tutorials.py -k "not execute"`.
"""

import os
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the tutorial tests need nbformat (pip install -e .[test])")
nbclient = pytest.importorskip("nbclient", reason="the tutorial tests need nbclient (pip install -e .[test])")
pytest.importorskip("ipykernel", reason="the tutorial tests need ipykernel (pip install -e .[test])")

from nbclient.exceptions import CellExecutionError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TUTORIALS = ROOT / "tutorials"
sys.path.insert(0, str(ROOT))

from tutorials import build, make_student  # noqa: E402

TIMEOUT = 300  # seconds per notebook (the cell timeout too: no single cell may take longer)
SOLUTIONS = sorted(p.name for p in TUTORIALS.glob("[0-9][0-9]_*.ipynb"))
_EXERCISE_RAISE = re.compile(r'raise NotImplementedError\("Exercise (\d+\.\d+)"\)')


def _kernel_env():
    # The kernel must import this checkout's minicnn/attributions even when not pip-installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _execute(nb):
    client = nbclient.NotebookClient(
        nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(TUTORIALS)}}
    )
    return client.execute(env=_kernel_env())


def _error_cells(nb):
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))]


# ---- fast: structure and generated files ------------------------------------------------------

def test_notebooks_were_found():
    assert SOLUTIONS, "no tutorials/NN_*.ipynb found"


def test_solution_notebooks_are_built_from_their_sources():
    stale = build.stale_notebooks()
    assert not stale, f"run `python -m tutorials.build`: out of date {[p.name for p in stale]}"


@pytest.mark.parametrize("name", SOLUTIONS)
def test_solution_notebook_has_no_outputs(name):
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{name}: commit notebooks without outputs"


@pytest.mark.parametrize("name", SOLUTIONS)
def test_student_notebook_is_up_to_date(name):
    solution = nbformat.read(TUTORIALS / name, as_version=4)
    student_path = TUTORIALS / "student" / name
    assert student_path.exists(), f"missing {student_path}; run `python -m tutorials.make_student`"
    expected = make_student.student_source(solution)
    student = nbformat.read(student_path, as_version=4)
    assert [c.source for c in student.cells] == [c.source for c in expected.cells], (
        f"student/{name} is stale; run `python -m tutorials.make_student`")
    assert [c.cell_type for c in student.cells] == [c.cell_type for c in expected.cells]


@pytest.mark.parametrize("name", SOLUTIONS)
def test_every_exercise_is_cut_out_and_checked(name):
    solution = nbformat.read(TUTORIALS / name, as_version=4)
    student = make_student.student_source(solution)
    numbers = []
    for i, cell in enumerate(student.cells):
        found = _EXERCISE_RAISE.findall(cell.source) if cell.cell_type == "code" else []
        if not found:
            continue
        numbers.extend(set(found))
        assert "### BEGIN SOLUTION" not in cell.source and "### END SOLUTION" not in cell.source
        later = [c for c in student.cells[i + 1:] if c.cell_type == "code"]
        assert later and "check" in later[0].source, (
            f"{name}: the cell after exercise {found[0]} should call its checker")
    assert numbers, f"{name}: no exercise (### BEGIN SOLUTION … ### END SOLUTION) found"
    chapter = str(int(name[:2]))
    assert all(n.split(".")[0] == chapter for n in numbers), f"{name}: exercise numbers {numbers}"
    assert len(numbers) == len(set(numbers)), f"{name}: an exercise number is used twice: {numbers}"


def test_student_transformation():
    source = "# Exercise 9.1: something\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\nf(1)"
    out = make_student.student_cell_source(source)
    assert out == '# Exercise 9.1: something\ndef f(x):\n    raise NotImplementedError("Exercise 9.1")\nf(1)'
    with pytest.raises(ValueError, match="Exercise N.M"):
        make_student.student_cell_source("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION")
    with pytest.raises(ValueError, match="without"):
        make_student.student_cell_source("# Exercise 9.2\n### BEGIN SOLUTION\nx = 1")


def test_percent_parser():
    cells = build.parse_percent('# %% [markdown]\n# # Title\n#\n# $x^2$\n\n# %% tags=["a"]\nx = 1\n\n# %%\n\n'
                                '# %% points=2\ncheck(f)')
    assert cells == [{"kind": "markdown", "source": "# Title\n\n$x^2$", "tags": []},
                     {"kind": "code", "source": "x = 1", "tags": ["a"]},
                     {"kind": "code", "source": "check(f)", "tags": [], "points": 2.0}]


# ---- nbgrader: the cell metadata of every notebook ------------------------------------------------

@pytest.mark.parametrize("name", SOLUTIONS)
def test_cells_carry_nbgrader_metadata(name):
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    grading = [c.metadata["nbgrader"] for c in nb.cells]
    assert all(m["schema_version"] == 3 and m["task"] is False and m["grade_id"] for m in grading)
    assert len({m["grade_id"] for m in grading}) == len(grading), "grade ids must be unique"
    for i, (cell, meta) in enumerate(zip(nb.cells, grading)):
        if "### BEGIN SOLUTION" in cell.source:
            number = make_student.exercise_number(cell.source)
            assert meta == {**meta, "solution": True, "grade": False, "locked": False,
                            "grade_id": f"exercise_{number.replace('.', '_')}"}
            check = next(c for c in nb.cells[i + 1:] if c.cell_type == "code")
            assert check.metadata["nbgrader"] == {**check.metadata["nbgrader"], "grade": True, "locked": True,
                                                  "solution": False, "grade_id": f"check_{number.replace('.', '_')}"}
            assert check.metadata["nbgrader"]["points"] > 0
        elif not meta["grade"]:
            assert meta["locked"] and not meta["solution"], f"{name} cell {i}: prose and demo cells are locked"


def test_metadata_rules():
    cells = build.parse_percent('# %% [markdown]\n# Intro\n# %%\n# Exercise 9.1: f\ndef f():\n    ### BEGIN SOLUTION\n'
                                '    return 1\n    ### END SOLUTION\n# %% points=3\ncheck(f)\n'
                                '### BEGIN HIDDEN TESTS\nassert f() == 1\n### END HIDDEN TESTS\n# %%\nf()')
    meta = build.nbgrader_metadata(cells)
    assert [m["grade_id"] for m in meta] == ["cell-000", "exercise_9_1", "check_9_1", "cell-003"]
    assert meta[2]["points"] == 3.0 and meta[2]["grade"] and meta[2]["locked"]
    with pytest.raises(ValueError, match="no check cell"):
        build.nbgrader_metadata(cells[:2])
    with pytest.raises(ValueError, match="HIDDEN"):
        build.nbgrader_metadata([cells[0], cells[2]])


def test_hidden_tests_are_cut_from_the_student_version():
    source = "check(f)\n### BEGIN HIDDEN TESTS\nassert f() == 1\n### END HIDDEN TESTS\nprint('done')"
    assert make_student.without_hidden_tests(source) == "check(f)\nprint('done')"
    with pytest.raises(ValueError, match="without"):
        make_student.without_hidden_tests("### BEGIN HIDDEN TESTS\nassert 1")


# ---- slow: run the notebooks ---------------------------------------------------------------------

@pytest.mark.parametrize("name", SOLUTIONS)
def test_execute_solution_notebook(name):
    nb = nbformat.read(TUTORIALS / name, as_version=4)
    _execute(nb)  # raises CellExecutionError, with the failing cell and traceback, on any error


@pytest.mark.parametrize("name", SOLUTIONS)
def test_execute_student_notebook_stops_at_first_exercise(name):
    nb = make_student.student_source(nbformat.read(TUTORIALS / name, as_version=4))
    first = next(
        ((i, m.group(1)) for i, c in enumerate(nb.cells) if c.cell_type == "code"
         for m in [_EXERCISE_RAISE.search(c.source)] if m),
        None,
    )
    assert first is not None, f"{name} has no exercise"
    index, number = first
    with pytest.raises(CellExecutionError) as info:
        _execute(nb)
    assert info.value.ename == "NotImplementedError", f"{name}: failed with {info.value.ename}: {info.value.evalue}"
    assert f"Exercise {number}" in str(info.value)
    errors = _error_cells(nb)
    assert errors and errors[0] >= index, f"{name}: failed in cell {errors[:1]}, before exercise {number} (cell {index})"
