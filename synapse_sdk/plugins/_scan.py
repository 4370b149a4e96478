"""Find actions in a plugin's source with ``ast``: nothing is imported or executed.

Used by :meth:`PluginDiscovery.discover_actions` and ``synapse sync``. A class is an action
when it derives (by name, through classes of the plugin too) from ``BaseAction`` or one of the
category bases; a function is an action when it is decorated with ``@action``. A file that
does not parse is an error with file:line, never skipped.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["discover_actions", "iter_sources"]

# SDK classes an action class may derive from (matched by simple name)
_SDK_BASES = frozenset(
    {
        "BaseAction",
        "BaseTrainAction",
        "BaseInferenceAction",
        "BaseExportAction",
        "BaseUploadAction",
        "DatasetAction",
    }
)
_SKIP_DIRS = frozenset(
    {
        "__pycache__",
        "tests",
        "test",
        "build",
        "dist",
        "wheels",
        "node_modules",
        "venv",
        "site-packages",
    }
)


def iter_sources(root: Path) -> Iterator[tuple[Path, str]]:
    """``(file, dotted module name)`` for each plugin source file under ``root``, sorted.

    Tests (``test_*.py``, ``*_test.py``, ``conftest.py``, ``tests/``), hidden directories,
    virtualenvs and build output are skipped.
    """
    stack = [(str(root), "")]
    found: list[tuple[str, str]] = []
    while stack:
        directory, package = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir():
                if name in _SKIP_DIRS or not name.isidentifier():
                    continue
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue
                stack.append((entry.path, f"{package}{name}."))
            elif name.endswith(".py"):
                stem = name[:-3]
                if stem == "conftest" or stem.startswith("test_") or stem.endswith("_test"):
                    continue
                if stem == "__init__":
                    module = package[:-1]
                    if not module:
                        continue  # a root __init__.py is not importable as a plugin module
                else:
                    module = package + stem
                found.append((entry.path, module))
    for path, module in sorted(found):
        yield Path(path), module


class _ClassInfo:
    __slots__ = (
        "attrs",
        "bases",
        "defines_work",
        "doc",
        "file",
        "is_abstract",
        "line",
        "module",
        "name",
    )

    def __init__(self, node: ast.ClassDef, module: str, file: Path) -> None:
        self.name = node.name
        self.module = module
        self.file = file
        self.line = node.lineno
        self.bases = [_base_name(b) for b in node.bases]
        self.doc = _doc_line(node)
        self.attrs: dict[str, Any] = {}
        self.defines_work = False  # defines `execute` or `setup_steps`
        self.is_abstract = any(b in {"ABC", "ABCMeta"} for b in self.bases) or any(
            isinstance(k.value, ast.Name) and k.value.id == "ABCMeta" for k in node.keywords
        )
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if stmt.name in _WORK_METHODS and not _offers_only(stmt):
                    self.defines_work = True
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and target.id in _ATTRS:
                        self.attrs[target.id] = _value(stmt.value)
            elif (
                isinstance(stmt, ast.AnnAssign)
                and isinstance(stmt.target, ast.Name)
                and stmt.target.id in _ATTRS
                and stmt.value is not None
            ):
                self.attrs[stmt.target.id] = _value(stmt.value)


# an action class runs one of these (a step-based action needs no `execute`)
_WORK_METHODS = frozenset({"execute", "setup_steps"})
# class attributes discovery reads; kept as plain values so per-file results can be cached
_ATTRS = frozenset({"action_name", "description", "input_type", "output_type", "name"})


def _offers_only(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@default_steps def setup_steps``: steps offered to subclasses, not run by this class."""
    return any(_base_name(d) == "default_steps" for d in node.decorator_list)


def _value(node: ast.expr) -> Any:
    """A str constant as itself, None as None, a (dotted) name as ``('name', 'Cls')``."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return node.value
    if isinstance(node, ast.Attribute):
        return ("name", node.attr)
    if isinstance(node, ast.Name):
        return ("name", node.id)
    return ("other", None)


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Subscript):  # BaseAction[Params]
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _doc_line(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """First line of the docstring (cheaper than ``ast.get_docstring``, which cleans it all)."""
    if node.body:
        first = node.body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            return _first_line(first.value.value)
    return ""


def _first_line(doc: str | None) -> str:
    lines = (doc or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def _const_str(node: Any) -> str | None:
    if isinstance(node, str):
        return node
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _is_action_decorator(node: ast.expr) -> ast.Call | bool:
    """The decorator's Call node (``@action(...)``), True for bare ``@action``, else False."""
    target = node.func if isinstance(node, ast.Call) else node
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
    if name != "action":
        return False
    return node if isinstance(node, ast.Call) else True


def _snake(name: str) -> str:
    from .spec import default_action_name

    return default_action_name(name)


def _parse(file: Path, source: bytes) -> ast.Module:
    try:
        return ast.parse(source, filename=str(file))
    except SyntaxError as exc:
        raise ConfigError(
            f"cannot scan for actions: syntax error: {exc.msg}",
            path=str(file),
            line=exc.lineno,
            column=exc.offset,
            hint="fix the syntax error; discovery reads every plugin module",
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read plugin module: {exc}", path=str(file)) from exc


_FileScan = tuple[list[_ClassInfo], list[tuple[str, dict[str, Any]]]]
# path -> (mtime_ns, size, scan): a file is parsed again only when it changes
_CACHE: dict[str, tuple[int, int, _FileScan]] = {}


def _scan_file(file: Path, module: str, tree: ast.Module) -> _FileScan:
    classes: list[_ClassInfo] = []
    functions: list[tuple[str, dict[str, Any]]] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            classes.append(_ClassInfo(node, module, file))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for deco in node.decorator_list:
                found = _is_action_decorator(deco)
                if found is not False:
                    functions.append(_function_entry(node, found, module, file))
                    break
    return classes, functions


def _cached_scan(file: Path, module: str) -> _FileScan:
    """The file's scan: from the cache while the file is unchanged, else parsed now."""
    key = str(file)
    try:
        st = os.stat(key)
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2]
        with open(key, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read plugin module: {exc}", path=key) from exc
    # every module is parsed, even one that never mentions actions: a syntax error anywhere
    # is reported rather than hiding what the file would have defined
    scan = _scan_file(file, module, _parse(file, data))
    _CACHE[key] = (st.st_mtime_ns, st.st_size, scan)
    return scan


def discover_actions(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Scan the plugin at ``path`` (a directory or its config.yaml) for actions.

    Returns ``{name: {'entrypoint', 'kind', 'description', 'docstring', 'input_type',
    'output_type', 'file', 'line'}}`` in file order; ``description`` is the explicit one
    (class attribute or ``@action(description=...)``), else the docstring's first line;
    ``input_type`` / ``output_type`` are DataType names (or None). Raises ConfigError with
    file:line for a file that does not parse. Per-file results are cached in this process
    until the file changes (mtime or size).
    """
    root = Path(path)
    if root.is_file():
        root = root.parent
    if not root.is_dir():
        raise ConfigError(
            "cannot scan for actions: no such directory",
            path=str(root),
            hint="pass the plugin directory (the one holding config.yaml and the code)",
        )
    classes: list[_ClassInfo] = []
    functions: list[tuple[str, dict[str, Any]]] = []
    for file, module in iter_sources(root):
        file_classes, file_functions = _cached_scan(file, module)
        classes.extend(file_classes)
        functions.extend(file_functions)
    type_names = {  # class name -> DataType `name` attribute, from the plugin
        info.name: info.attrs["name"] for info in classes if isinstance(info.attrs.get("name"), str)
    }
    by_name: dict[str, list[_ClassInfo]] = {}
    for info in classes:
        by_name.setdefault(info.name, []).append(info)
    action_like = _action_classes(classes)
    results: list[tuple[tuple[Any, Any], str, dict[str, Any]]] = []
    for info in classes:
        if info.name not in action_like or info.name in _SDK_BASES:
            continue
        if not _is_concrete(info, by_name):
            continue
        name = _const_str(info.attrs.get("action_name")) or _snake(info.name)
        entry: dict[str, Any] = {
            "entrypoint": f"{info.module}:{info.name}",
            "kind": "class",
            "description": _const_str(info.attrs.get("description")) or info.doc,
            "docstring": info.doc,
            "input_type": _type_name(_inherited(info, "input_type", by_name), type_names),
            "output_type": _type_name(_inherited(info, "output_type", by_name), type_names),
            "file": str(info.file),
            "line": info.line,
        }
        results.append(((str(info.file), info.line), name, entry))
    for name, entry in functions:
        results.append(((entry["file"], entry["line"]), name, dict(entry)))
    results.sort(key=lambda item: item[0])
    out: dict[str, dict[str, Any]] = {}
    for _, name, entry in results:
        out.setdefault(name, entry)
    return out


def _action_classes(classes: list[_ClassInfo]) -> set[str]:
    """Names of classes deriving (transitively, by simple name) from an SDK action base."""
    known = set(_SDK_BASES)
    changed = True
    while changed:
        changed = False
        for info in classes:
            if info.name not in known and any(b in known for b in info.bases):
                known.add(info.name)
                changed = True
    return known


def _lineage(info: _ClassInfo, by_name: dict[str, list[_ClassInfo]]) -> Iterator[_ClassInfo]:
    seen = set()
    stack = [info]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for base in current.bases:
            stack.extend(by_name.get(base, ()))


def _is_concrete(info: _ClassInfo, by_name: dict[str, list[_ClassInfo]]) -> bool:
    if info.is_abstract:
        return False
    if any(c.defines_work for c in _lineage(info, by_name)):
        return True
    # `execute` / `setup_steps` may come from an SDK category base; only plugin-level "Base*"
    # helpers are skipped
    return not info.name.startswith(("Base", "_"))


def _inherited(info: _ClassInfo, attr: str, by_name: dict[str, list[_ClassInfo]]) -> Any:
    for current in _lineage(info, by_name):
        if attr in current.attrs:
            return current.attrs[attr]
    return None


def _type_name(node: Any, plugin_types: dict[str, str]) -> str | None:
    if node is None or isinstance(node, str):
        return node
    kind, cls_name = node
    if kind != "name":
        return None
    if cls_name in plugin_types:
        return plugin_types[cls_name]
    from . import types

    builtin = getattr(types, cls_name, None)
    if isinstance(builtin, type) and issubclass(builtin, types.DataType):
        return builtin.name
    return _snake(cls_name)


def _function_entry(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    deco: ast.Call | bool,
    module: str,
    file: Path,
) -> tuple[str, dict[str, Any]]:
    name = node.name
    description = ""
    if isinstance(deco, ast.Call):
        if deco.args:
            name = _const_str(deco.args[0]) or name
        if len(deco.args) > 1:
            description = _const_str(deco.args[1]) or ""
        for kw in deco.keywords:
            if kw.arg == "name":
                name = _const_str(kw.value) or name
            elif kw.arg == "description":
                description = _const_str(kw.value) or ""
    entry = {
        "entrypoint": f"{module}:{node.name}",
        "kind": "function",
        "description": description or _doc_line(node),
        "docstring": _doc_line(node),
        "input_type": None,
        "output_type": None,
        "file": str(file),
        "line": node.lineno,
    }
    return name, entry
