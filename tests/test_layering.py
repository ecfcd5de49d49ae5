"""The layers hold: an AST walk over serptrack/ checks who may import whom.

- the store depends on models and plain data only: never on campaign-file parsing,
  providers, parsers or the HTTP and HTML stacks;
- the lead core is pure: no SQL, no database, no I/O stack;
- library modules never import click (only the CLI does);
- no import cycle at module level, except inside the two registries (providers/, parsers/).

Imports under ``if TYPE_CHECKING:`` are annotations only and never count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "serptrack"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(nodes: list[ast.stmt], *, top_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _type_checking(node):
            yield from _walk(node.orelse, top_only=top_only)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    inner = child.body if isinstance(child, ast.ExceptHandler) else [child]
                    yield from _walk(inner, top_only=top_only)
        elif not top_only and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            yield from _walk(node.body, top_only=top_only)
        elif not top_only:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _walk([child], top_only=top_only)


def imports(name: str, *, top_only: bool) -> set[str]:
    """The modules ``name`` imports: serptrack modules by full name, others by top package."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    package = name if is_package(name) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _walk(tree.body, top_only=top_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        submodules = {f"{base}.{a.name}" for a in node.names} & MODULES.keys()
        found |= submodules
        if len(submodules) < len(node.names):  # names from the module itself, not submodules
            found.add(base)
    return {_known(module) for module in found}


def _known(module: str) -> str:
    if module.startswith("serptrack"):
        while module not in MODULES and "." in module:
            module = module.rpartition(".")[0]
        return module
    return module.split(".")[0]


def reachable(start: str) -> set[str]:
    """Every module ``start`` depends on, directly or not (lazy imports included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        for module in imports(current, top_only=False) if current in MODULES else ():
            if module not in seen:
                seen.add(module)
                todo.append(module)
    return seen


STORE = [name for name in MODULES if name.startswith("serptrack.store")]
STORE_MUST_NOT_REACH = {
    "serptrack.campaign",
    "serptrack.providers",
    "serptrack.parsers",
    "serptrack.fetch",
    "serptrack.tracker",
    "serptrack.report",
    "serptrack.cli",
    "httpx",
    "bs4",
    "lxml",
    "plotly",
    "jinja2",
    "click",
    "pydantic",
}


@pytest.mark.parametrize("name", STORE)
def test_the_store_never_depends_on_parsing_providers_or_parsers(name: str) -> None:
    reached = reachable(name)
    banned = {m for m in reached if m.split(".")[0] != "serptrack" and m in STORE_MUST_NOT_REACH}
    banned |= {
        m for m in reached if any(m == b or m.startswith(b + ".") for b in STORE_MUST_NOT_REACH)
    }
    assert banned == set()


def test_the_lead_core_is_pure() -> None:
    reached = reachable("serptrack.lead")
    stdlib = {"__future__", "datetime", "collections", "dataclasses", "typing", "enum", "re"}
    assert reached <= stdlib | {"serptrack.vocabulary"}


@pytest.mark.parametrize("name", sorted(set(MODULES) - {"serptrack.cli"}))
def test_library_modules_never_import_click(name: str) -> None:
    assert "click" not in imports(name, top_only=False)


def test_no_import_cycles_outside_the_registries() -> None:
    graph = {name: imports(name, top_only=True) & MODULES.keys() for name in MODULES}
    cycles = [c for c in _cycles(graph) if not _inside_a_registry(c)]
    assert cycles == []


def _inside_a_registry(cycle: set[str]) -> bool:
    return any(
        all(m == registry or m.startswith(registry + ".") for m in cycle)
        for registry in ("serptrack.providers", "serptrack.parsers")
    )


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_what_it_should() -> None:
    # guards the test itself: a broken walk would pass every check above
    assert "serptrack.store.stances" in imports("serptrack.store.reads", top_only=True)
    assert "sqlalchemy" in reachable("serptrack.store.reads")
    assert "serptrack.parsers" in reachable("serptrack.tracker")
    assert "click" in imports("serptrack.cli", top_only=True)
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
