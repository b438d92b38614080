"""The package's import graph: no module reaches back into one that imports it.

The graph is read from the source with :mod:`ast`, so it holds every import of a
``jaxsnn_music`` module anywhere in a file (also inside functions, where heavy
modules are imported late). A package is its ``__init__``: the package importing
its own modules (the re-export pattern) is an edge like any other, and it only
closes a cycle when a module below imports the package back.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import jaxsnn_music

PACKAGE = "jaxsnn_music"
ROOT = Path(jaxsnn_music.__file__).parent

KNOWN_CYCLES: list[set[str]] = []
"""Groups of modules known to import each other; any other cycle fails the test. Remove a
group once its cycle is gone."""


def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its ``__init__``)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _known(name: str, known: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is a module of the package (None: not ours)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that the module `name` (its file at `path`) imports."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [_known(alias.name, known) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import name`: the module pkg.name when there is one, else pkg itself.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known
                       else _known(base, known) for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t is not None and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def entangled(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of two or more modules that all reach each other (strongly connected)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            connect(v)
    return groups


def cycles(graph: dict[str, set[str]], groups: list[set[str]] | None = None) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) through each of `groups` (default: every entangled group):
    the shortest way from the group's first module back to it."""
    found = []
    for group in entangled(graph) if groups is None else groups:
        start = min(group)
        paths = {start: [start]}
        frontier = [start]
        cycle = None
        while frontier and cycle is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v] & group):
                    if w == start:
                        cycle = paths[v] + [start]
                        break
                    if w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
                if cycle:
                    break
            frontier = nxt
        found.append(cycle)
    return sorted(found)


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "jaxsnn_music.cli.options" in graph["jaxsnn_music.cli.memorize"]  # from x.y import name
    assert "jaxsnn_music.resumable" in graph["jaxsnn_music.cli.memorize"]  # inside the function
    assert "jaxsnn_music.checkpoint" in graph["jaxsnn_music.resumable"]  # from pkg import module
    assert "jaxsnn_music.cli.corpus" in graph["jaxsnn_music.cli"]  # a package's own module


def test_cycles_are_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"f"}, "f": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert cycles({"p": {"p.x"}, "p.x": set()}) == []  # a package importing its own module


def test_no_import_cycles():
    graph = import_graph()
    new = [group for group in entangled(graph) if group not in KNOWN_CYCLES]
    found = cycles(graph, new)
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_cli_commands_import_only_the_shared_helpers():
    """A command module imports the library and jaxsnn_music.cli.options, never another command."""
    graph = import_graph()
    cli = {name for name in graph if name.startswith("jaxsnn_music.cli.")}
    assert "jaxsnn_music.cli.options" in cli
    for name in cli - {"jaxsnn_music.cli.__main__"}:
        allowed = set() if name == "jaxsnn_music.cli.options" else {"jaxsnn_music.cli.options"}
        reached = {m for m in graph[name] if m == "jaxsnn_music.cli" or m.startswith("jaxsnn_music.cli.")}
        assert reached <= allowed, f"{name} imports {sorted(reached - allowed)}"
    in_cli = [g for g in entangled(graph) if any(m.split(".")[:2] == [PACKAGE, "cli"] for m in g)]
    assert not in_cli, cycles(graph, in_cli)


def test_the_command_line_starts_without_jax():
    """``jaxsnn-music --help`` stays fast: JAX, orbax and the network load inside the commands."""
    heavy = ("jax", "orbax", "optax", "jaxsnn_music.network", "jaxsnn_music.recall")
    code = (f"import sys; from jaxsnn_music.cli import main; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
