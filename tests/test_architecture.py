"""The living map of agentnb's layers: imports point down, never up, and never in a loop.

The test reads every module under `agentnb/` with `ast` and builds the import graph, function-level
and `TYPE_CHECKING` imports included (a lazy import that points up is still a loop for a reader).
When a new package lands, give it a place in `LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agentnb"

# Lowest first. A module may import from its own layer or any layer below it. Packages within
# one layer must still not form a cycle.
LAYERS: list[set[str]] = [
    {"errors", "_json", "_sync", "_version", "secrets", "semconv"},
    {"config"},
    {"models", "tools", "events", "display", "runs"},
    {"guards", "layers", "telemetry"},
    {"memory"},
    {"agents"},
    {"workflows", "evals", "mcp"},
    {"meta"},
    {"notebook", "server", "cli"},
    {"__init__", "__main__"},
]


def layer_of(top: str) -> int:
    for index, members in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(
        f"agentnb.{top} has no place in LAYERS: add it to tests/test_architecture.py "
        "(and to docs/ARCHITECTURE.md)"
    )


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, modules: set[str], source: str | None = None) -> set[str]:
    """Every agentnb module `path` (or `source` read as that file) imports, resolved to the
    longest known module name."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
            else:
                origin = node.module or ""
            # `from agentnb import events` imports the module agentnb.events, not the root.
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target.startswith("agentnb") and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    graph: dict[str, set[str]] = {}
    for path in paths:
        graph[module_name(path)] = imported_modules(path, modules)
    return graph


def top_package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        here = layer_of(top_package(module))
        for target in sorted(targets):
            if target == "agentnb":
                problems.append(
                    f"{module} imports the package root agentnb, which re-exports everything: "
                    "import the defining module"
                )
                continue
            there = layer_of(top_package(target))
            if there > here:
                problems.append(
                    f"{module} (layer {here}) imports {target} (layer {there}): "
                    "move the shared piece down or invert the dependency"
                )
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph folded to `agentnb.<package>` nodes (a loop between packages counts too)."""
    folded: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = top_package(module)
        folded.setdefault(source, set()).update(
            top_package(t) for t in targets if t != "agentnb" and top_package(t) != source
        )
    return folded


def test_every_package_has_a_layer() -> None:
    for module in import_graph():
        layer_of(top_package(module))


def test_no_import_points_up() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph(import_graph())) == []


def test_only_the_front_ends_import_ipython() -> None:
    """Below `notebook/` (and the server and CLI) nothing needs IPython or ipywidgets."""
    front_ends = {"notebook", "server", "cli"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if top_package(module_name(path)) in front_ends:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [
                f"{module_name(path)}: {n}"
                for n in names
                if n.split(".")[0] in ("IPython", "ipywidgets", "ipykernel")
            ]
    assert found == []


@pytest.mark.parametrize(
    ("source", "line", "expected"),
    [
        ("config/__init__.py", "from agentnb.agents import Agent", "imports agentnb.agents"),
        ("display/__init__.py", "from agentnb import notebook", "imports agentnb.notebook"),
        ("runs/result.py", "from agentnb import Agent", "imports the package root"),
        ("telemetry/__init__.py", "import agentnb.meta.analysis", "imports agentnb.meta.analysis"),
    ],
)
def test_the_map_catches_an_upward_import(source: str, line: str, expected: str) -> None:
    """A deliberate upward import, even one inside a function, is reported."""
    graph = import_graph()
    path = PACKAGE / source
    assert upward_imports(graph) == []
    late = f"{path.read_text()}\n\ndef _late() -> None:\n    {line}\n"
    graph[module_name(path)] = imported_modules(path, set(graph), late)
    assert any(expected in problem for problem in upward_imports(graph))


def test_the_map_catches_a_cycle() -> None:
    graph = {
        "agentnb.a.x": {"agentnb.a.y"},
        "agentnb.a.y": {"agentnb.a.z"},
        "agentnb.a.z": {"agentnb.a.x"},
    }
    assert cycles(graph) == [["agentnb.a.x", "agentnb.a.y", "agentnb.a.z"]]
