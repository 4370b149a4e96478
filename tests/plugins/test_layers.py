"""The run corridor's layers: each module imports only its own layer and those below, and no
import cycle exists among our modules (imports inside functions included; ``TYPE_CHECKING``
blocks excluded, they never run)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("synapse_sdk", "synapse_testing")

# Lowest first. A module belongs to the longest prefix listed; a module of our packages that
# no prefix names fails the test, so a new module has to be placed.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "records",
        (
            "synapse_sdk",  # the package's own __init__ (version only)
            "synapse_sdk.plugins.errors",
            "synapse_sdk.plugins.enums",
            "synapse_sdk.plugins.events",
            "synapse_sdk.plugins.types",
            "synapse_sdk.plugins._compat",
            "synapse_sdk.plugins.log_messages",
            "synapse_sdk.plugins.models",
            "synapse_sdk.plugins._html",
        ),
    ),
    ("backend clients", ("synapse_sdk.clients",)),
    (
        "what an action is",
        (
            "synapse_sdk.plugins.action",
            "synapse_sdk.plugins.decorators",
            "synapse_sdk.plugins.context",
            "synapse_sdk.plugins.spec",
            "synapse_sdk.plugins._plain",
            "synapse_sdk.plugins.base",
            "synapse_sdk.plugins.steps",
            "synapse_sdk.plugins.sinks",
            "synapse_sdk.plugins.autolog",
        ),
    ),
    ("running in this process", ("synapse_sdk.plugins.run",)),
    (
        "finding plugins",
        (
            "synapse_sdk.plugins._configfile",
            "synapse_sdk.plugins._configload",
            "synapse_sdk.plugins.config",
            "synapse_sdk.plugins._isolation",
            "synapse_sdk.plugins._scan",
            "synapse_sdk.plugins._entrypoint",
            "synapse_sdk.plugins.discovery",
            "synapse_sdk.plugins.loading",
            "synapse_sdk.plugins.sync",
        ),
    ),
    (
        "running elsewhere",
        ("synapse_sdk.plugins.executors", "synapse_sdk.plugins.actions"),
    ),
    ("the front door", ("synapse_sdk.plugins.runner", "synapse_sdk.plugins")),
    ("views", ("synapse_sdk.cli", "synapse_sdk.notebook", "synapse_testing")),
]


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skip.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return skip


def _imports(module: str) -> Iterator[tuple[str, int]]:
    """``(our module imported, line)`` for every import statement that runs."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                up = parts[: len(parts) - (node.level - 1)]
                base = ".".join(up + ([node.module] if node.module else []))
            # `from pkg import mod` depends on mod (the package runs first for any of its
            # modules anyway); `from pkg import name` depends on pkg
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                targets.append(sub if sub in MODULES else base)
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target, node.lineno


def _layer(module: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def test_every_module_is_placed_in_a_layer():
    assert [m for m in MODULES if _layer(m) < 0] == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_import_runs_back_up_a_layer(module):
    own = _layer(module)
    upward = [
        f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} "
        f"({LAYERS[_layer(target)][0]}, above {LAYERS[own][0]})"
        for target, line in _imports(module)
        if _layer(target) > own
    ]
    assert upward == []


def test_no_import_cycle_among_our_modules():
    graph = {m: {t for t, _ in _imports(m)} for m in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert cycles == []
