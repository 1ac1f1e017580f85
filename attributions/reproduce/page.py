"""One experiment's result and its page (placeholder for the framework on branch reproduce-a)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from ..app.outputs import save_figure, write_text

__all__ = ["Result", "write_page", "write_index"]


@dataclass
class Result:
    name: str
    title: str
    claim: str
    source: str
    table: list
    verdict: str
    figure: object = None
    numbers: dict = field(default_factory=dict)


def _markdown_table(rows):
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_page(result, out_dir):
    parts = [f"# {result.title}", "", f"**Claim** ({result.source}): {result.claim}", "",
             f"**Verdict**: {result.verdict}", ""]
    if result.figure is not None:
        save_figure(result.figure, os.path.join(out_dir, f"{result.name}.png"), 100)
        parts += [f"![{result.name}]({result.name}.png)", ""]
    if result.table:
        parts += [_markdown_table(result.table), ""]
    parts += ["```json", json.dumps(result.numbers, indent=1, sort_keys=True), "```", ""]
    path = os.path.join(out_dir, f"{result.name}.md")
    write_text(path, "\n".join(parts))
    return path


def write_index(out_dir):
    pages = sorted(p for p in os.listdir(out_dir) if p.endswith(".md") and p != "index.md")
    write_text(os.path.join(out_dir, "index.md"), "# Reproductions\n\n" + "\n".join(f"- [{p[:-3]}]({p})" for p in pages) + "\n")
