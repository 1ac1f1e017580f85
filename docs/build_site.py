"""Build the API reference site: every public module of minicnn and attributions from its
docstrings and type hints, beside the README, the methods reference, the other pages of docs/
and the tutorials, all cross-linked.

    python docs/build_site.py site/          # then open site/index.html

Why pdoc (and not MkDocs with mkdocstrings): it needs no configuration file and no page list,
reads the docstrings and the type hints as they are, follows each module's `__all__`, links
`attributions.deeplift` written in backticks to its page, and renders $…$ with --math. The
site is a by-product of the code, so it cannot drift from it.

pdoc documents Python modules only, so the Markdown pages become module docstrings of a small
generated package `guide` (in a temporary folder): README.md is `guide`, docs/NAME.md is
`guide.NAME`, docs/reproductions/NAME.md is `guide.reproductions.NAME` ("-" as "_"),
tutorials/README.md is `guide.tutorials`, and each tutorial source
tutorials/src/NN_name.py (percent format) is `guide.tutorials.tutorial_NN_name`, its prose as
prose and its code cells as code blocks. Links between those files are rewritten to the pages,
and the pictures are copied next to them. docs/site_template/custom.css, pdoc's one style hook,
keeps the line breaks of function docstrings (written as plain text, one argument a line).

Any warning pdoc emits (an annotation it cannot resolve, a module it cannot import, …) is
printed and makes the build exit with status 1: CI (tests/test_docs_site.py) fails on it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import posixpath
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

__all__ = ["ROOT", "public_modules", "pages", "rewrite_links", "tutorial_markdown", "build", "main"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("minicnn", "attributions")
PICTURES = "docs"  # the folder of the site the pictures of docs/ are copied to


def public_modules() -> list[str]:
    """What to hand pdoc so that it documents every module of both packages whose dotted name has
    no part starting with "_": the packages, and each submodule pdoc would leave out by itself.
    pdoc walks a package's submodules but, where the package has an `__all__` (ours list
    functions), only those named in it; naming any other one twice is a warning."""
    names = list(PACKAGES)
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=package_name + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            parent_name, _, name = info.name.rpartition(".")
            listed = getattr(importlib.import_module(parent_name), "__all__", None)
            if listed is not None and name not in listed:
                names.append(info.name)
    return names


def pages() -> dict[str, tuple[str, str]]:
    """{repository path: (module of the guide, page path in the site)} for every Markdown page
    and tutorial source."""
    found = {"README.md": ("guide", "guide.html")}
    for md in sorted((ROOT / "docs").glob("*.md")):
        found[f"docs/{md.name}"] = (f"guide.{md.stem}", f"guide/{md.stem}.html")
    for md in sorted((ROOT / "docs" / "reproductions").glob("*.md")):  # the pages the index docs/reproductions.md lists
        module = md.stem.replace("-", "_")  # a module name; pdoc names the page after it
        found[f"docs/reproductions/{md.name}"] = (f"guide.reproductions.{module}", f"guide/reproductions/{module}.html")
    found["tutorials/README.md"] = ("guide.tutorials", "guide/tutorials.html")
    for source in sorted((ROOT / "tutorials" / "src").glob("[0-9][0-9]_*.py")):
        module = f"tutorial_{source.stem}"
        page = (f"guide.tutorials.{module}", f"guide/tutorials/{module}.html")
        found[f"tutorials/src/{source.name}"] = page
        found[f"tutorials/{source.stem}.ipynb"] = page  # links to a notebook go to its page
    return found


def rewrite_links(markdown: str, source: str, known: dict[str, tuple[str, str]]) -> str:
    """Relative Markdown links of the file `source` (a repository path) made to point at the
    pages and pictures of the site; links to the web and to anchors of the same page stay."""
    page = known[source][1]

    def target(match: re.Match) -> str:
        link, anchor = match.group(2), match.group(3) or ""
        path = posixpath.normpath(posixpath.join(posixpath.dirname(source), link))
        if path in known:
            new = posixpath.relpath(known[path][1], posixpath.dirname(page) or ".")
        elif path.startswith("docs/") and path.endswith(".png"):
            new = posixpath.relpath(f"{PICTURES}/{path[len('docs/'):]}", posixpath.dirname(page) or ".")
        else:
            return match.group(0)
        return f"{match.group(1)}({new}{anchor})"

    markdown = re.sub(r"(!?\[[^\]]*\])\((?![a-z]+:|#)([^)#\s]+)(#[^)\s]*)?\)", target, markdown)
    # GitHub's heading anchors keep a "--" where a symbol stood between two words ("gradient × input");
    # pdoc's (markdown2's) collapse it to one "-".
    return re.sub(r"(\]\([^)#\s]*#)([^)\s]+)\)", lambda m: m.group(1) + re.sub("-{2,}", "-", m.group(2)) + ")", markdown)


def tutorial_markdown(source: Path) -> str:
    """A percent-format tutorial as Markdown: `# %% [markdown]` cells as prose (the "# " taken
    off), `# %%` code cells as ```python blocks."""
    cells: list[tuple[str, list[str]]] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
    parts = []
    for kind, lines in cells:
        if kind == "markdown":
            parts.append("\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines).strip())
        elif "\n".join(lines).strip():
            parts.append("```python\n" + "\n".join(lines).strip("\n") + "\n```")
    return "\n\n".join(parts) + "\n"


def _write_guide(folder: Path, known: dict[str, tuple[str, str]]) -> Path:
    """The package `guide` in `folder`, one module per page, the Markdown as its docstring."""
    for source, (module, _) in known.items():
        if source.endswith(".ipynb"):
            continue
        path = ROOT / source
        text = tutorial_markdown(path) if source.endswith(".py") else path.read_text(encoding="utf-8")
        parts = module.split(".")
        is_package = any(other.startswith(module + ".") for other, _ in known.values())
        file = folder.joinpath(*parts, "__init__.py") if is_package else folder.joinpath(*parts[:-1], parts[-1] + ".py")
        file.parent.mkdir(parents=True, exist_ok=True)
        # __doc__ assigned, not a literal docstring: the pages hold quotes and backslashes of their own
        file.write_text(f"__doc__ = {rewrite_links(text, source, known)!r}\n", encoding="utf-8")
    return folder / "guide"


def build(output: Path) -> list[str]:
    """Write the site to `output`; returns the warnings pdoc emitted (an empty list: a clean build)."""
    import pdoc
    import pdoc.render

    known = pages()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guide = _write_guide(Path(tmp), known)
        pdoc.render.configure(docformat="markdown", math=True, search=True, show_source=True,
                              template_directory=ROOT / "docs" / "site_template")
        pdoc.pdoc(*public_modules(), guide, output_directory=output)
    (output / PICTURES).mkdir(exist_ok=True)
    for picture in (ROOT / "docs").rglob("*.png"):  # docs/reproductions/ has the reproductions' figures
        copy = output / PICTURES / picture.relative_to(ROOT / "docs")
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(picture, copy)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="the folder to write the site to (e.g. site/)")
    args = parser.parse_args(argv)
    problems = build(args.output)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    print(f"site written to {args.output}/index.html" + (f" with {len(problems)} warnings" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
