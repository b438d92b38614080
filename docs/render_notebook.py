"""Render a percent-format script (``# %%`` code cells, ``# %% [markdown]`` cells) as a
Jupyter notebook (nbformat 4, outputs empty), so that the script stays the one source.

    python docs/render_notebook.py [docs/tutorial.py [docs/tutorial.ipynb]]

The notebook is written with sorted keys and one-space indents, so that rendering the
same script twice gives the same bytes (the tests check the committed notebook is current).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
CELL = re.compile(r"^# %%(.*)$")


def cells(text: str) -> list[dict]:
    """The cells of a percent-format script: ``{"cell_type", "source"}`` each."""
    found: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        marker = CELL.match(line)
        if marker:
            kind = "markdown" if "[markdown]" in marker.group(1) else "code"
            found.append((kind, []))
        elif found:
            found[-1][1].append(line)
    out = []
    for kind, lines in found:
        if kind == "markdown":
            lines = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines:
            out.append({"cell_type": kind, "source": lines})
    return out


def notebook(text: str) -> dict:
    """The notebook (nbformat 4.5) of a percent-format script."""
    rendered = []
    for i, cell in enumerate(cells(text)):
        source = [line + "\n" for line in cell["source"][:-1]] + cell["source"][-1:]
        entry = {"cell_type": cell["cell_type"], "id": f"cell-{i}", "metadata": {},
                 "source": source}
        if cell["cell_type"] == "code":
            entry.update(execution_count=None, outputs=[])
        rendered.append(entry)
    return {"cells": rendered,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def render(script: Path, target: Path) -> str:
    """The notebook's text for ``script`` (written to ``target``)."""
    text = json.dumps(notebook(script.read_text()), indent=1, sort_keys=True,
                      ensure_ascii=False) + "\n"
    target.write_text(text)
    return text


if __name__ == "__main__":
    script = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "tutorial.py"
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else script.with_suffix(".ipynb")
    render(script, target)
    print(f"{script} -> {target}")
