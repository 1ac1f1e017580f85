"""Write the student notebooks `tutorials/student/NN_name.ipynb`: solutions cut out.

    python -m tutorials.make_student

In a solution notebook, an exercise is a code cell whose first comment lines include
`# Exercise N.M`; the student's part lies between the lines `### BEGIN SOLUTION` and
`### END SOLUTION` (several blocks per cell are allowed). Each block, markers included, becomes

    raise NotImplementedError("Exercise N.M")

at the indentation of its `### BEGIN SOLUTION` line. A check cell's `### BEGIN HIDDEN TESTS` …
`### END HIDDEN TESTS` blocks are removed, markers included (as nbgrader does). Outputs are
cleared; everything else (the markdown, the check cells, cell ids, the nbgrader metadata) is kept,
so a student notebook differs from its solution exactly in the cut-out blocks.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import nbformat

from .build import BEGIN_HIDDEN, END_HIDDEN, TUTORIALS, dumps, exercise_number

__all__ = ["STUDENT", "student_source", "student_cell_source", "without_hidden_tests", "exercise_number",
           "make_student_all", "stale_student_notebooks", "solution_notebooks"]

STUDENT = TUTORIALS / "student"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


def solution_notebooks() -> list[Path]:
    """Every `tutorials/NN_name.ipynb`, in order."""
    return sorted(p for p in TUTORIALS.glob("*.ipynb") if _NAME.match(p.name))


def _replace_blocks(source: str, begin: str, end: str, where: str, stub=None) -> list[str]:
    """The lines of `source` with every `begin`…`end` block (marker lines included) cut out, or
    replaced by the line stub(indent) at the indentation of its `begin` line."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise ValueError(f"{where}: nested '{begin}'")
            inside = True
            if stub is not None:
                out.append(stub(line[: len(line) - len(line.lstrip())]))
        elif stripped == end:
            if not inside:
                raise ValueError(f"{where}: '{end}' without '{begin}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: '{begin}' without '{end}'")
    return out


def without_hidden_tests(source: str, where: str = "cell") -> str:
    """The source without its BEGIN/END HIDDEN TESTS blocks (markers included)."""
    if BEGIN_HIDDEN not in source and END_HIDDEN not in source:
        return source
    return "\n".join(_replace_blocks(source, BEGIN_HIDDEN, END_HIDDEN, where)).rstrip("\n")


def student_cell_source(source: str, where: str = "cell") -> str:
    """The source with every BEGIN/END SOLUTION block replaced by `raise NotImplementedError`."""
    if BEGIN not in source and END not in source:
        return source
    number = exercise_number(source)
    if number is None:
        raise ValueError(f"{where}: has '{BEGIN}' but no '# Exercise N.M' comment at the top of the cell")

    def stub(indent):
        return f'{indent}raise NotImplementedError("Exercise {number}")'

    return "\n".join(_replace_blocks(source, BEGIN, END, where, stub))


def student_source(solution_nb) -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new notebook; the argument is unchanged)."""
    nb = copy.deepcopy(solution_nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.source = without_hidden_tests(student_cell_source(cell.source, where=f"cell {i}"), where=f"cell {i}")
        cell.outputs = []
        cell.execution_count = None
    return nb


def _student_text(solution: Path) -> str:
    return dumps(student_source(nbformat.read(solution, as_version=4)))


def make_student_all() -> list[Path]:
    """Write student/NN_name.ipynb for every solution notebook; returns the paths written."""
    STUDENT.mkdir(exist_ok=True)
    written = []
    for solution in solution_notebooks():
        path = STUDENT / solution.name
        path.write_text(_student_text(solution), encoding="utf-8")
        written.append(path)
    return written


def stale_student_notebooks() -> list[Path]:
    """Student notebooks missing or different from what their solution generates."""
    return [STUDENT / s.name for s in solution_notebooks()
            if not (STUDENT / s.name).exists() or (STUDENT / s.name).read_text(encoding="utf-8") != _student_text(s)]


def main() -> int:
    for path in make_student_all():
        print(f"wrote {path.relative_to(TUTORIALS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
