"""Find actions in a plugin's source with ``ast``: nothing is imported or executed.

Used by :meth:`PluginDiscovery.discover_actions` and ``synapse sync``. A class is an action
when it derives (by name, through classes of the plugin too) from ``BaseAction`` or one of the
category bases; a function is an action when it is decorated with ``@action``. A file that
does not parse is an error with file:line, never skipped.
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from . import types
from .errors import ConfigError
from .spec import default_action_name, first_line

_LOG = logging.getLogger("synapse_sdk.discovery")

__all__ = ["SDK_BASES", "ActionScan", "discover_actions", "iter_sources", "scan_actions"]

# Every action base class the SDK defines (matched by name, after import aliases are undone);
# tests/plugins/test_discovery.py keeps it equal to the BaseAction subclasses of synapse_sdk.
SDK_BASES = frozenset(
    {
        "BaseAction",
        "BaseAutoLabelAction",
        "BaseDeploymentAction",
        "BaseExportAction",
        "BaseInferenceAction",
        "BaseServeDeployment",
        "BaseTrainAction",
        "BaseUploadAction",
        "CategoryAction",
        "DatasetAction",
        "DefaultUploadAction",
        "ToTaskAction",
    }
)
# Bases that say a class is not an action (a class deriving only from these and from
# unknown names is not reported as undecided unless it looks like an action)
_NOT_ACTION_BASES = frozenset({"object", "ABC", "Generic", "Protocol", "BaseModel"})
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
    virtualenvs and build output are skipped. Symbolic links to directories are never followed
    (a link loop or a link to a tree outside the plugin is not the plugin's source), and a
    linked file only when it lies inside ``root``.
    """
    for path, module in _sources(str(root)):
        yield Path(path), module


def _sources(root: str) -> list[tuple[str, str]]:
    """:func:`iter_sources` with plain string paths (the scan's hot path)."""
    stack = [(root, "")]
    found: list[tuple[str, str]] = []
    exists = os.path.exists
    join = os.path.join
    inside: str | None = None  # the real root, once a linked file asks
    while stack:
        directory, package = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                linked = entry.is_symlink()
            except OSError:
                continue
            if linked:
                if name[-3:] != ".py":
                    _LOG.debug("not following the symbolic link %s", entry.path)
                    continue
                if inside is None:
                    inside = os.path.join(os.path.realpath(root), "")
                if not os.path.realpath(entry.path).startswith(inside):
                    _LOG.debug("skipping %s: it links outside the plugin", entry.path)
                    continue
            if name[-3:] == ".py":
                try:
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
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
            elif entry.is_dir():
                if name in _SKIP_DIRS or not name.isidentifier():
                    continue
                if exists(join(entry.path, "pyvenv.cfg")):
                    continue
                stack.append((entry.path, f"{package}{name}."))
    found.sort()
    return found


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

    def __init__(self, node: ast.ClassDef, module: str, file: str, aliases: dict[str, str]) -> None:
        self.name = node.name
        self.module = module
        self.file = file
        self.line = node.lineno
        # `from x import BaseTrainAction as Base`: the base is BaseTrainAction
        self.bases = bases = [aliases.get(n, n) for n in map(_base_name, node.bases)]
        self.attrs: dict[str, Any] = {}
        self.defines_work = False  # defines `execute` or `setup_steps`
        self.is_abstract = False
        if bases and ("ABC" in bases or "ABCMeta" in bases):
            self.is_abstract = True
        for keyword in node.keywords:
            if isinstance(keyword.value, ast.Name) and keyword.value.id == "ABCMeta":
                self.is_abstract = True
        body = node.body
        self.doc = _doc_line(body)
        for stmt in body:
            if isinstance(stmt, _FUNCTIONS):
                if stmt.name in _WORK_METHODS and not _offers_only(stmt):
                    self.defines_work = True
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name) and target.id in _ATTRS:
                        self.attrs[target.id] = _value(stmt.value)
            elif isinstance(stmt, ast.AnnAssign):
                target = stmt.target
                if isinstance(target, ast.Name) and target.id in _ATTRS and stmt.value is not None:
                    self.attrs[target.id] = _value(stmt.value)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
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


def _doc_line(body: list[ast.stmt]) -> str:
    """First line of the docstring of a ``body`` (cheaper than ``ast.get_docstring``)."""
    if body:
        first = body[0]
        if isinstance(first, ast.Expr):
            value = first.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return first_line(value.value)
    return ""


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


def _parse(file: str, source: bytes) -> ast.Module:
    try:
        return ast.parse(source, filename=file)
    except SyntaxError as exc:
        raise ConfigError(
            f"cannot scan for actions: syntax error: {exc.msg}",
            path=file,
            line=exc.lineno,
            column=exc.offset,
            hint="fix the syntax error; discovery reads every plugin module",
        ) from exc
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read plugin module: {exc}", path=file) from exc


_FileScan = tuple[list[_ClassInfo], list[tuple[str, dict[str, Any]]]]
# path -> (mtime_ns, size, scan): a file is parsed again only when it changes
_CACHE: dict[str, tuple[int, int, _FileScan]] = {}


def _scan_file(file: str, module: str, tree: ast.Module) -> _FileScan:
    classes: list[_ClassInfo] = []
    functions: list[tuple[str, dict[str, Any]]] = []
    aliases: dict[str, str] = {}  # local name -> imported name, for `import ... as ...`
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ClassDef):
            classes.append(_ClassInfo(node, module, file, aliases))
        elif isinstance(node, _FUNCTIONS) and node.decorator_list:
            for deco in node.decorator_list:
                found = _is_action_decorator(deco)
                if found is not False:
                    functions.append(_function_entry(node, found, module, file))
                    break
    return classes, functions


def _cached_scan(key: str, module: str) -> _FileScan:
    """The file's scan: from the cache while the file is unchanged, else parsed now."""
    try:
        cached = _CACHE.get(key)
        if cached is not None:
            st = os.stat(key)
            if cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
                return cached[2]
        st, data = _read(key)
    except OSError as exc:
        raise ConfigError(f"cannot read plugin module: {exc}", path=key) from exc
    # every module is parsed, even one that never mentions actions: a syntax error anywhere
    # is reported rather than hiding what the file would have defined
    scan = _scan_file(key, module, _parse(key, data))
    _CACHE[key] = (st.st_mtime_ns, st.st_size, scan)
    return scan


def _read(path: str) -> tuple[os.stat_result, bytes]:
    """The file's stat and bytes, from one descriptor (less than half the cost of open())."""
    fd = os.open(path, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1)
        if len(data) > st.st_size:  # it grew since fstat: read on to the end
            parts = [data]
            while parts[-1]:
                parts.append(os.read(fd, 1 << 16))
            data = b"".join(parts)
        return st, data
    finally:
        os.close(fd)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


class ActionScan(NamedTuple):
    """What :func:`scan_actions` found: the actions, and the classes it could not decide."""

    actions: dict[str, dict[str, Any]]
    # {'class', 'entrypoint', 'file', 'line', 'reason'} per class that defines an action's
    # work (execute / setup_steps / action_name) but derives from a class the scan cannot see
    undecided: list[dict[str, Any]]


def discover_actions(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Scan the plugin at ``path`` (a directory or its config.yaml) for actions.

    Returns ``{name: {'entrypoint', 'kind', 'description', 'docstring', 'input_type',
    'output_type', 'file', 'line'}}`` in file order; ``description`` is the explicit one
    (class attribute or ``@action(description=...)``), else the docstring's first line;
    ``input_type`` / ``output_type`` are DataType names (or None). Raises ConfigError with
    file:line for a file that does not parse. Per-file results are cached in this process
    until the file changes (mtime or size). Classes it cannot decide are logged as warnings
    on the ``synapse_sdk.discovery`` logger (see :func:`scan_actions`).
    """
    scan = scan_actions(path)
    for entry in scan.undecided:
        _LOG.warning(
            "%s:%s: class %s may be an action: %s",
            entry["file"],
            entry["line"],
            entry["class"],
            entry["reason"],
        )
    return scan.actions


def scan_actions(path: str | os.PathLike[str]) -> ActionScan:
    """:func:`discover_actions` plus the classes it could not decide, never dropped silently.

    A class counts as an action when its bases reach an SDK action base (by name, through
    the plugin's own classes and import aliases). A class that defines an action's work
    (``execute``, ``setup_steps`` or ``action_name``) but derives from a class that is neither
    the plugin's nor the SDK's (a shared base in another package, a dynamic base) is
    reported as undecided, with the base it could not follow.
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
    for file, module in _sources(str(root)):
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
    type_cache: dict[Any, str | None] = {}
    results: list[tuple[tuple[Any, Any], str, dict[str, Any]]] = []
    undecided: list[dict[str, Any]] = []
    for info in classes:
        if info.name not in action_like:
            reason = _undecided(info, by_name)
            if reason is not None:
                undecided.append(
                    {
                        "class": info.name,
                        "entrypoint": f"{info.module}:{info.name}",
                        "file": info.file,
                        "line": info.line,
                        "reason": reason,
                    }
                )
            continue
        if info.name in SDK_BASES:
            continue
        lineage = _lineage(info, by_name)
        if not _is_concrete(info, lineage):
            continue
        name = _const_str(info.attrs.get("action_name")) or default_action_name(info.name)
        entry: dict[str, Any] = {
            "entrypoint": f"{info.module}:{info.name}",
            "kind": "class",
            "description": _const_str(info.attrs.get("description")) or info.doc,
            "docstring": info.doc,
            "input_type": _type_name(_inherited(lineage, "input_type"), type_names, type_cache),
            "output_type": _type_name(_inherited(lineage, "output_type"), type_names, type_cache),
            "file": info.file,
            "line": info.line,
        }
        results.append(((info.file, info.line), name, entry))
    for name, entry in functions:
        results.append(((entry["file"], entry["line"]), name, dict(entry)))
    results.sort(key=lambda item: item[0])
    out: dict[str, dict[str, Any]] = {}
    for _, name, entry in results:
        out.setdefault(name, entry)
    return ActionScan(out, undecided)


def _undecided(info: _ClassInfo, by_name: dict[str, list[_ClassInfo]]) -> str | None:
    """Why a class that is not known to be an action might be one (None: it is not one)."""
    looks_like_action = info.defines_work or "action_name" in info.attrs
    if not looks_like_action or info.is_abstract:
        return None
    unseen = [
        base
        for base in info.bases
        if base not in by_name and base not in SDK_BASES and base not in _NOT_ACTION_BASES
    ]
    if not unseen:
        return None
    if any(not base for base in unseen):
        return "it derives from a base computed at run time; the scan cannot follow it"
    names = ", ".join(unseen)
    return (
        f"it defines an action's work but derives from {names}, which is neither a class of "
        f"the plugin nor an SDK action base; if it is an action, derive it from BaseAction "
        f"(or a category base) in the plugin, or name it in config.yaml"
    )


def _action_classes(classes: list[_ClassInfo]) -> set[str]:
    """Names of classes deriving (transitively, by simple name) from an SDK action base."""
    known = set(SDK_BASES)
    pending = [info for info in classes if info.bases]
    changed = True
    while changed:
        changed = False
        rest = []
        for info in pending:
            if info.name in known:
                continue
            if any(b in known for b in info.bases):
                known.add(info.name)
                changed = True
            else:
                rest.append(info)
        pending = rest
    return known


def _lineage(info: _ClassInfo, by_name: dict[str, list[_ClassInfo]]) -> list[_ClassInfo]:
    """``info`` and the plugin classes it derives from (by simple name), nearest first."""
    if not any(base in by_name for base in info.bases):
        return [info]  # the common case: bases from the SDK or other libraries only
    seen: set[int] = set()
    out: list[_ClassInfo] = []
    queue = [info]
    for current in queue:  # breadth first; the list grows while it is walked
        if id(current) in seen:
            continue
        seen.add(id(current))
        out.append(current)
        for base in current.bases:
            queue.extend(by_name.get(base, ()))
    return out


def _is_concrete(info: _ClassInfo, lineage: list[_ClassInfo]) -> bool:
    if info.is_abstract:
        return False
    if any(c.defines_work for c in lineage):
        return True
    # `execute` / `setup_steps` may come from an SDK category base; only plugin-level "Base*"
    # helpers are skipped
    return not info.name.startswith(("Base", "_"))


def _inherited(lineage: list[_ClassInfo], attr: str) -> Any:
    for current in lineage:
        if attr in current.attrs:
            return current.attrs[attr]
    return None


def _type_name(node: Any, plugin_types: dict[str, str], cache: dict[Any, str | None]) -> str | None:
    if node is None or isinstance(node, str):
        return node
    kind, cls_name = node
    if kind != "name":
        return None
    if cls_name in plugin_types:
        return plugin_types[cls_name]
    if cls_name not in cache:
        builtin = getattr(types, cls_name, None)
        if isinstance(builtin, type) and issubclass(builtin, types.DataType):
            cache[cls_name] = builtin.name
        else:
            cache[cls_name] = default_action_name(cls_name)
    return cache[cls_name]


def _function_entry(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    deco: ast.Call | bool,
    module: str,
    file: str,
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
    doc = _doc_line(node.body)
    entry = {
        "entrypoint": f"{module}:{node.name}",
        "kind": "function",
        "description": description or doc,
        "docstring": doc,
        "input_type": None,
        "output_type": None,
        "file": file,
        "line": node.lineno,
    }
    return name, entry
