"""Build the solution notebooks `tutorials/NN_name.ipynb` from their percent-format sources.

    python -m tutorials.build            # write every notebook (and the student versions)
    python -m tutorials.build --check    # exit 1 if a committed notebook is out of date
    python -m tutorials.build --course DIR [NN …]   # also lay out an nbgrader course in DIR

A source `tutorials/src/NN_name.py` is a plain Python file split into cells by marker lines, the
"percent" format that jupytext and VS Code also read:

    # %% [markdown]
    # # A title
    # Prose with $\\LaTeX$; each line starts with "# " (a bare "#" is an empty line).

    # %%
    x = 1 + 1          # a code cell

Lines before the first marker must be blank. A code marker may carry tags, `# %% tags=["x"]`,
and a check cell its points, `# %% points=2` (1 by default).
The notebooks are written without outputs and with stable cell ids (`cell-000`, …), so the same
source always gives byte-identical files and diffs of the .py twins tell the whole story.

Every cell carries the metadata nbgrader 0.9 expects (`nbgrader_metadata`), so a solution
notebook is an nbgrader source notebook as it is: an exercise cell (one with `### BEGIN SOLUTION`)
is a solution cell `exercise_N_M`; the code cell after it, which calls the checker, is an
autograded test cell `check_N_M`, locked and worth its points (it may hold `### BEGIN HIDDEN TESTS`
… `### END HIDDEN TESTS`, which students never see); every other cell, prose or code, is locked.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

__all__ = ["TUTORIALS", "SRC", "parse_percent", "notebook_from_source", "build", "build_all", "source_paths",
           "exercise_number", "nbgrader_metadata", "write_course", "BEGIN_SOLUTION", "BEGIN_HIDDEN", "END_HIDDEN"]

TUTORIALS = Path(__file__).resolve().parent
SRC = TUTORIALS / "src"

_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.py$")
_EXERCISE = re.compile(r"^#\s*Exercise\s+(\d+\.\d+)\b")
BEGIN_SOLUTION = "### BEGIN SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NBGRADER_SCHEMA = 3  # the cell-metadata schema of nbgrader 0.9


def source_paths() -> list[Path]:
    """Every `src/NN_name.py`, in order."""
    return sorted(p for p in SRC.glob("*.py") if _NAME.match(p.name))


def _markdown_line(line: str, where: str) -> str:
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    if line.strip() == "":
        return ""
    raise ValueError(f"{where}: a markdown line must start with '# ', got {line!r}")


def _strip_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def parse_percent(text: str, name: str = "<source>") -> list[dict]:
    """Split percent-format text into [{"kind": "code"|"markdown", "source": str, "tags": [...]}]."""
    cells, current = [], None
    for number, line in enumerate(text.splitlines(), 1):
        match = _MARKER.match(line)
        if match:
            rest = match.group("rest").strip()
            kind = "markdown" if rest.startswith("[markdown]") else "code"
            tags = []
            tag_match = re.search(r"tags=(\[.*?\])", rest)
            if tag_match:
                tags = json.loads(tag_match.group(1))
            points_match = re.search(r"points=(\d+(?:\.\d+)?)", rest)
            current = {"kind": kind, "lines": [], "tags": tags, "line": number,
                       "points": float(points_match.group(1)) if points_match else None}
            cells.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"{name}:{number}: text before the first '# %%' marker: {line!r}")
        else:
            current["lines"].append(line)
    result = []
    for cell in cells:
        lines = cell["lines"]
        if cell["kind"] == "markdown":
            lines = [_markdown_line(l, f"{name}:{cell['line']}") for l in lines]
        lines = _strip_blank_edges(lines)
        if not lines:
            continue  # an empty cell is just a separator
        parsed = {"kind": cell["kind"], "source": "\n".join(lines), "tags": cell["tags"]}
        if cell["points"] is not None:
            parsed["points"] = cell["points"]
        result.append(parsed)
    return result


def exercise_number(source: str) -> str | None:
    """'N.M' from a `# Exercise N.M` line among the cell's leading comment lines, else None."""
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            return None
        match = _EXERCISE.match(stripped)
        if match:
            return match.group(1)
    return None


def _nbgrader(grade_id, solution=False, grade=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": NBGRADER_SCHEMA,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def nbgrader_metadata(cells: list[dict], name: str = "<source>") -> list[dict]:
    """The `nbgrader` cell metadata for parsed cells (`parse_percent`), one dict per cell.

    An exercise cell is a solution cell; the next code cell must call a checker and becomes a
    locked test cell worth its points; all other cells are locked (nbgrader restores them before
    grading, so a later cell cannot be broken by an edit)."""
    metadata, pending, seen = [], None, set()
    for i, cell in enumerate(cells):
        source, code = cell["source"], cell["kind"] == "code"
        if BEGIN_HIDDEN in source and not (code and pending):
            raise ValueError(f"{name}: cell {i} has '{BEGIN_HIDDEN}' but is not the check cell after an exercise")
        if code and BEGIN_SOLUTION in source:
            if pending:
                raise ValueError(f"{name}: exercise {pending} is followed by another exercise, not by its check")
            number = exercise_number(source)
            if number is None or number in seen:
                raise ValueError(f"{name}: cell {i} has '{BEGIN_SOLUTION}' but no (new) '# Exercise N.M' comment")
            seen.add(number)
            pending = number
            metadata.append(_nbgrader(f"exercise_{number.replace('.', '_')}", solution=True))
        elif code and pending:
            if "check" not in source:
                raise ValueError(f"{name}: the cell after exercise {pending} should call its checker")
            metadata.append(_nbgrader(f"check_{pending.replace('.', '_')}", grade=True,
                                      points=cell.get("points") or 1.0))
            pending = None
        else:
            if cell.get("points") is not None:
                raise ValueError(f"{name}: cell {i} has points= but is not a check cell")
            metadata.append(_nbgrader(f"cell-{i:03d}"))
    if pending:
        raise ValueError(f"{name}: exercise {pending} has no check cell after it")
    return metadata


def notebook_from_source(text: str, name: str = "<source>") -> nbformat.NotebookNode:
    """An nbformat v4 notebook (no outputs, stable ids) from percent-format text."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    cells = parse_percent(text, name)
    for i, (cell, grading) in enumerate(zip(cells, nbgrader_metadata(cells, name))):
        make = nbformat.v4.new_markdown_cell if cell["kind"] == "markdown" else nbformat.v4.new_code_cell
        new = make(cell["source"], id=f"cell-{i:03d}")
        new.metadata["nbgrader"] = grading
        if cell["tags"]:
            new.metadata["tags"] = cell["tags"]
        nb.cells.append(new)
    nbformat.validate(nb)
    return nb


def notebook_path(source: Path) -> Path:
    return TUTORIALS / (source.stem + ".ipynb")


def build(source: Path) -> nbformat.NotebookNode:
    """The notebook for one source file."""
    source = Path(source)
    return notebook_from_source(source.read_text(encoding="utf-8"), source.name)


def dumps(nb) -> str:
    return nbformat.writes(nb) + "\n"


def build_all(write: bool = True) -> dict:
    """{notebook path: notebook} for every source; writes them when `write` (the default)."""
    built = {}
    for source in source_paths():
        nb = build(source)
        path = notebook_path(source)
        built[path] = nb
        if write:
            path.write_text(dumps(nb), encoding="utf-8")
    return built


def stale_notebooks() -> list[Path]:
    """Solution notebooks whose file differs from what their source builds to."""
    return [p for p, nb in build_all(write=False).items()
            if not p.exists() or p.read_text(encoding="utf-8") != dumps(nb)]


_COURSE_CONFIG = """\
# nbgrader configuration of a course on the minicnn tutorials (written by `python -m tutorials.build --course`).
# Everything lives beside this file: source/, release/, submitted/, autograded/, feedback/, gradebook.db.
import os

c = get_config()  # noqa: F821 (nbgrader provides it)
here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db")
c.ExecutePreprocessor.timeout = 300  # seconds per cell; every tutorial runs in about two minutes
"""


def write_course(directory, stems=None) -> list[Path]:
    """An nbgrader course in `directory`: `nbgrader_config.py` and `source/NN_name/NN_name.ipynb`
    (one assignment per tutorial; `stems` picks some, by name or by number "NN"). Returns the
    notebooks written. An existing config is kept, so an instructor's settings survive."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "nbgrader_config.py"
    if not config.exists():
        config.write_text(_COURSE_CONFIG, encoding="utf-8")
    sources = source_paths()
    if stems:
        wanted = set(stems)
        sources = [p for p in sources if p.stem in wanted or p.stem[:2] in wanted]
        missing = wanted - {p.stem for p in sources} - {p.stem[:2] for p in sources}
        if missing:
            raise ValueError(f"no tutorial {sorted(missing)}; there are {[p.stem for p in source_paths()]}")
    written = []
    for source in sources:
        path = directory / "source" / source.stem / (source.stem + ".ipynb")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps(build(source)), encoding="utf-8")
        written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorials.build", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    parser.add_argument("--no-student", action="store_true", help="do not regenerate student/ too")
    parser.add_argument("--course", metavar="DIR", help="also write an nbgrader course (config and source/) in DIR")
    parser.add_argument("tutorials", nargs="*", metavar="NN", help="with --course: only these tutorials (default all)")
    args = parser.parse_args(argv)
    if args.tutorials and not args.course:
        parser.error("naming tutorials needs --course")
    if args.check:
        from .make_student import stale_student_notebooks

        stale = stale_notebooks() + stale_student_notebooks()
        for path in stale:
            print(f"out of date: {path.relative_to(TUTORIALS.parent)}")
        return 1 if stale else 0
    for path in build_all():
        print(f"wrote {path.relative_to(TUTORIALS.parent)}")
    if not args.no_student:
        from .make_student import make_student_all

        for path in make_student_all():
            print(f"wrote {path.relative_to(TUTORIALS.parent)}")
    if args.course:
        for path in write_course(args.course, args.tutorials):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
