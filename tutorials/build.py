"""Build the solution notebooks `tutorials/NN_name.ipynb` from their percent-format sources.

    python -m tutorials.build            # write every notebook (and the student versions)
    python -m tutorials.build --check    # exit 1 if a committed notebook is out of date

A source `tutorials/src/NN_name.py` is a plain Python file split into cells by marker lines, the
"percent" format that jupytext and VS Code also read:

    # %% [markdown]
    # # A title
    # Prose with $\\LaTeX$; each line starts with "# " (a bare "#" is an empty line).

    # %%
    x = 1 + 1          # a code cell

Lines before the first marker must be blank. A code marker may carry tags, `# %% tags=["x"]`.
The notebooks are written without outputs and with stable cell ids (`cell-000`, …), so the same
source always gives byte-identical files and diffs of the .py twins tell the whole story.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

__all__ = ["TUTORIALS", "SRC", "parse_percent", "notebook_from_source", "build", "build_all", "source_paths"]

TUTORIALS = Path(__file__).resolve().parent
SRC = TUTORIALS / "src"

_MARKER = re.compile(r"^# %%(?P<rest>.*)$")
_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.py$")


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
            tag_match = re.search(r"tags=(\[.*\])", rest)
            if tag_match:
                tags = json.loads(tag_match.group(1))
            current = {"kind": kind, "lines": [], "tags": tags, "line": number}
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
        result.append({"kind": cell["kind"], "source": "\n".join(lines), "tags": cell["tags"]})
    return result


def notebook_from_source(text: str, name: str = "<source>") -> nbformat.NotebookNode:
    """An nbformat v4 notebook (no outputs, stable ids) from percent-format text."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(parse_percent(text, name)):
        make = nbformat.v4.new_markdown_cell if cell["kind"] == "markdown" else nbformat.v4.new_code_cell
        new = make(cell["source"], id=f"cell-{i:03d}")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorials.build", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date notebooks")
    parser.add_argument("--no-student", action="store_true", help="do not regenerate student/ too")
    args = parser.parse_args(argv)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
