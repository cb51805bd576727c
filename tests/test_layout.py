"""The layer's imports point one way: down its wings, with no circle, counting every import wherever it
stands (inside a function, under ``TYPE_CHECKING``): a circle held open by a late import is still one
a reader must untangle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parent.parent / "layers" / "alibaba_cloud"
PACKAGE = "alibaba_cloud"
# Each wing may import the wings below it (a lower rank) and, within itself, its own modules.
RANKS = {
    "handler": 8,
    "triggers": 7,
    "runner": 6,
    "paths": 5,
    "delivery": 4,
    "actions": 4,
    "runs": 4,
    "events": 3,
    "rpc": 2,
    "aws": 2,
    "http": 1,
    "observe": 1,
    "config": 0,
    "errors": 0,
    "": 0,  # the package itself: its version
}
TRIGGER_SHARED = {f"{PACKAGE}.triggers.common", f"{PACKAGE}.triggers.replay"}


def modules() -> dict[str, Path]:
    found = {}
    for path in (LAYER / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(LAYER).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The layer's modules that ``name`` imports, by every import statement in it."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            start = ".".join([*base, node.module] if node.module else base)
            candidates = [start, *(f"{start}.{alias.name}" for alias in node.names)]
        else:
            continue
        targets.update(c for c in candidates if c in known and c != name)
    return targets


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(edges.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def wing(name: str) -> str:
    return name.split(".")[1] if "." in name else ""


def test_the_layer_imports_run_in_no_circle():
    assert circles(graph()) == []


def test_every_import_points_down_the_wings():
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if wing(source) != wing(target) and RANKS[wing(target)] >= RANKS[wing(source)]
    )
    assert upward == []


def test_trigger_adapters_share_only_common_ground():
    siblings = sorted(
        f"{source} -> {target}"
        for source, targets in graph().items()
        for target in targets
        if wing(source) == wing(target) == "triggers"
        and target not in TRIGGER_SHARED
        and source != f"{PACKAGE}.triggers"
    )
    assert siblings == []


def test_every_wing_is_ranked():
    assert {wing(name) for name in modules()} <= set(RANKS)


@pytest.mark.parametrize(
    "edges, expected",
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
    ],
)
def test_the_circle_finder_finds_circles(edges, expected):
    assert circles(edges) == expected


def test_an_import_inside_a_function_counts(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from .other import thing\n")
    assert imports(f"{PACKAGE}.late", module, {f"{PACKAGE}.other"}) == {f"{PACKAGE}.other"}
