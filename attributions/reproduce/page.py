"""What a reproduction returns (`Result`) and the Markdown page written from it.

Every experiment of `attributions.reproduce` returns a `Result`; `write_page` turns it into

    docs/reproductions/NAME.md     title, the paper's claim and where it comes from, the measured
                                   table, one verdict sentence, the figure, details
    docs/reproductions/NAME.png    the figure (when there is one)

and `write_index` regenerates `docs/reproductions.md`, one line per page present with its verdict.
Files are written atomically (attributions/app/outputs.py): a failed run leaves the old page.

Numbers are printed by `format_number` only, so a reader (or a test) can parse the page back and
find the values of `Result.numbers` at the printed precision.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import numpy as np

from ..app.outputs import save_figure, write_text

if TYPE_CHECKING:  # matplotlib is imported by the experiments that draw, not by `reproduce --help`
    from matplotlib.figure import Figure

__all__ = ["Result", "format_number", "markdown_table", "write_page", "write_index", "index_path",
           "read_verdict", "VERDICT_PREFIX"]

VERDICT_PREFIX = "**Verdict:** "
QUICK_NOTE = "quick run"  # in the run note of a --quick page, and then in its index line
DPI = 110


@dataclass
class Result:
    """One reproduction, measured.

    name    -- the command-line name ("ig-convergence")
    title   -- the page's heading
    claim   -- what the paper says, in a sentence or two
    source  -- where: authors, year, and the figure, table or section
    table   -- the measured rows, a list of dicts (column → value), printed with format_number
    verdict -- one sentence, computed from the numbers: do we agree with the claim, and if not why
    figure  -- a matplotlib Figure or None
    numbers -- the key measured values (name → float, int or bool) the verdict and the tests use
    details -- Markdown after the figure: the protocol as run, and what differs from the paper
    """

    name: str
    title: str
    claim: str
    source: str
    table: list
    verdict: str
    figure: Optional[Figure] = None
    numbers: dict = field(default_factory=dict)
    details: str = ""


def format_number(value: Any) -> str:
    """The one way a page prints a value: bools as yes/no, ints as they are, floats with 4
    significant digits (scientific below 1e-3 or from 1e5 on), NaN as –, strings unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not np.isfinite(value):
            return "–" if np.isnan(value) else ("∞" if value > 0 else "−∞")
        if value == 0:
            return "0"
        if abs(value) < 1e-3 or abs(value) >= 1e5:
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """A Markdown table of a list of dicts: the columns are the keys in first-seen order, every
    value printed by format_number."""
    if not rows:
        raise ValueError("rows: expected at least one row (a dict of column → value), got none")
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(text):  # a "|" inside a cell (|gradient|) would end it: Markdown escapes it as \|
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(map(cell, columns)) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(format_number(row.get(c, ""))) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _check_name(name):
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"name: expected a lowercase name like 'ig-convergence', got {name!r}")


def write_page(out_dir: str, name: str, title: str, claim: str, source: str, rows_table_md: str, verdict: str,
               figure: Optional[Figure] = None, details_md: str = "", run_note: str = "") -> str:
    """Write out_dir/NAME.md (and out_dir/NAME.png from `figure`) atomically; return the page's path.

    rows_table_md -- the measured table, already Markdown (see `markdown_table`)
    verdict       -- the one sentence on agreement; the index quotes it
    run_note      -- how this page was made (command, seed, time); "quick run" marks a --quick page
    A figure of an earlier run is removed when this run has none, so a page never shows a stale one.
    """
    _check_name(name)
    if not isinstance(verdict, str) or not verdict.strip() or "\n" in verdict.strip():
        raise ValueError(f"verdict: expected one sentence on one line, got {verdict!r}")
    page_path = os.path.join(out_dir, f"{name}.md")
    figure_path = os.path.join(out_dir, f"{name}.png")
    parts = [f"# {title}", "", f"**The claim** ({source}): {claim}", "", "## Measured", "", rows_table_md.strip(), "",
             VERDICT_PREFIX + verdict.strip(), ""]
    if figure is not None:
        save_figure(figure, figure_path, DPI)
        parts += [f"![{title}]({name}.png)", ""]
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(figure_path)
    if details_md.strip():
        parts += [details_md.strip(), ""]
    if run_note:
        parts += [f"*{run_note}*", ""]
    write_text(page_path, "\n".join(parts))
    return page_path


def read_verdict(page_text: str) -> tuple[Optional[str], Optional[str], bool]:
    """(title, verdict, quick) read back from a page's text; None where the page lacks them."""
    title = next((line[2:].strip() for line in page_text.splitlines() if line.startswith("# ")), None)
    verdict = next((line[len(VERDICT_PREFIX):].strip() for line in page_text.splitlines()
                    if line.startswith(VERDICT_PREFIX)), None)
    return title, verdict, f"*{QUICK_NOTE}" in page_text


def index_path(out_dir: str) -> str:
    """The index sits next to the pages' directory and is named after it: docs/reproductions.md."""
    return os.path.normpath(os.path.abspath(out_dir)) + ".md"


def write_index(out_dir: str, order: Sequence[str] = ()) -> str:
    """Regenerate the index (`index_path(out_dir)`) from the pages present in out_dir: one line per
    page with its verdict, the names of `order` first (the experiments' order), then the others
    alphabetically. Returns the index's path."""
    folder = os.path.basename(os.path.normpath(os.path.abspath(out_dir)))
    present = sorted(f[:-3] for f in os.listdir(out_dir) if f.endswith(".md")) if os.path.isdir(out_dir) else []
    names = [n for n in order if n in present] + [n for n in present if n not in order]
    lines = ["# Reproductions", "",
             "Each page reruns one published experiment with this library and puts our numbers beside the "
             "paper's: `python -m attributions reproduce NAME` writes `reproductions/NAME.md` (add `--quick` "
             "for a short run), `python -m attributions reproduce all` every page. This index is regenerated "
             "from the pages present.", ""]
    for name in names:
        with open(os.path.join(out_dir, f"{name}.md"), encoding="utf-8") as f:
            title, verdict, quick = read_verdict(f.read())
        mark = f" ({QUICK_NOTE})" if quick else ""
        lines.append(f"- [`{name}`]({folder}/{name}.md) — {title or name}{mark}: {verdict or 'no verdict on the page'}")
    path = index_path(out_dir)
    write_text(path, "\n".join(lines) + "\n")
    return path
