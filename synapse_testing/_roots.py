"""A plugin's tests import its code under plain ``pytest``; several plugins' tests collect
together.

A plugin directory (a ``config.yaml`` with ``actions:``) keeps its code in top-level packages
that every scaffolded plugin names alike (``plugin``) and its tests in ``tests/test_*.py``,
whose basenames repeat across plugins (``test_train.py``). Plain ``pytest`` puts only
``tests/`` on ``sys.path`` (``python -m pytest`` adds the working directory), so
``from plugin.train import TrainAction`` fails; and two plugins collected in one session fight
over ``plugin`` and over the module name ``test_train``.

So the kit imports a test module found under a plugin directory under a name of its own
(``_synapse_tests_<dir>_<hash>.tests.test_train``; pytest still rewrites its asserts), with
that plugin *active*: its directory first on ``sys.path`` and ``sys.modules`` holding its own
``plugin`` package. A test of that plugin runs with it active again; meanwhile another
plugin's modules wait aside, so each plugin's tests see their own classes.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import pytest

__all__ = ["ConftestFinder", "PluginRoot", "PluginRoots", "PluginTestModule", "roots_of"]

_ACTIONS = re.compile(r"^actions\s*:", re.MULTILINE)
_IDENT = re.compile(r"^[A-Za-z_]\w*$")
_PREFIX = "_synapse_tests_"


def _is_plugin_dir(path: str) -> bool:
    config = os.path.join(path, "config.yaml")
    try:
        with open(config, encoding="utf-8", errors="replace") as handle:
            return bool(_ACTIONS.search(handle.read(65_536)))
    except OSError:
        return False


def _top_level_names(root: str) -> frozenset[str]:
    """Module names the plugin directory provides (``plugin``, ``utils``, ...)."""
    names: set[str] = set()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return frozenset()
    for entry in entries:
        name = entry.name
        if entry.is_file() and name.endswith(".py"):
            name = name[:-3]
        elif not entry.is_dir() or name.startswith((".", "__")):
            continue
        # its tests are imported by file under names of their own: a `tests` package of the
        # repository around it (tests.actions...) is not the plugin's and stays where it is
        if _IDENT.match(name) and name not in _NOT_PLUGIN_CODE:
            names.add(name)
    return frozenset(names)


_NOT_PLUGIN_CODE = frozenset({"conftest", "tests", "test"})


def _inside(module: ModuleType, root: str) -> bool:
    places = list(getattr(module, "__path__", None) or [])
    file = getattr(module, "__file__", None)
    if file:
        places.append(os.path.dirname(file))
    for place in places:
        real = os.path.realpath(place)
        if real == root or real.startswith(root + os.sep):
            return True
    return False


class PluginRoot:
    """One plugin directory: its module names and, while another plugin is active, its
    modules set aside."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.toplevel = _top_level_names(path)
        slug = re.sub(r"\W", "_", os.path.basename(path))[:32] or "plugin"
        digest = hashlib.sha1(path.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        self.alias = f"{_PREFIX}{slug}_{digest}"
        self.parked: dict[str, ModuleType] = {}

    def __repr__(self) -> str:
        return f"PluginRoot({self.path!r})"

    def package(self) -> ModuleType:
        """The package the plugin's test modules are imported under."""
        package = sys.modules.get(self.alias)
        if package is None:
            package = ModuleType(self.alias, f"Tests of the plugin at {self.path}")
            spec = importlib.machinery.ModuleSpec(self.alias, None, is_package=True)
            spec.submodule_search_locations = [self.path]
            package.__spec__ = spec
            package.__path__ = [self.path]
            sys.modules[self.alias] = package
        return package

    def module_name(self, path: Path) -> str | None:
        """``<alias>.tests.test_train`` for ``<root>/tests/test_train.py`` (None when a part
        is not a Python name)."""
        relative = Path(os.path.realpath(path)).relative_to(self.path).with_suffix("")
        parts = list(relative.parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if not parts or not all(_IDENT.match(p) for p in parts):
            return None
        return ".".join([self.alias, *parts])


class PluginRoots:
    """The plugin directories of one pytest session and which one is active."""

    def __init__(self) -> None:
        self._dirs: dict[str, PluginRoot | None] = {}
        self.active: PluginRoot | None = None
        self._foreign: dict[str, ModuleType] = {}
        self._inserted: str | None = None

    def root_of(self, path: str | os.PathLike[str]) -> PluginRoot | None:
        """The plugin directory holding ``path`` (the nearest one), if any."""
        start = os.path.realpath(os.fspath(path))
        if not os.path.isdir(start):
            start = os.path.dirname(start)
        walked: list[str] = []
        current = start
        found: PluginRoot | None = None
        while True:
            if current in self._dirs:
                found = self._dirs[current]
                break
            walked.append(current)
            if _is_plugin_dir(current):
                found = PluginRoot(current)
                break
            parent = os.path.dirname(current)
            if parent == current:
                break
            current = parent
        for directory in walked:
            self._dirs[directory] = found
        return found

    def activate(self, root: PluginRoot, index: int = 0) -> None:
        """Make ``root``'s directory and modules the ones ``import plugin`` finds (its
        directory goes to ``sys.path[index]`` unless it is already ahead of that)."""
        if root is not self.active:
            if self.active is not None:
                self._park(self.active)
            for name in [n for n in sys.modules if n.partition(".")[0] in root.toplevel]:
                module = sys.modules[name]
                if not _inside(module, root.path):  # another plugin's (or a stranger's)
                    owner = self.root_of(getattr(module, "__file__", None) or root.path)
                    target = owner.parked if owner not in (None, root) else self._foreign
                    target[name] = sys.modules.pop(name)
            for name, module in root.parked.items():
                sys.modules.setdefault(name, module)
            root.parked.clear()
            self.active = root
        if self._inserted is not None and self._inserted != root.path:
            if self._inserted in sys.path:
                sys.path.remove(self._inserted)
            self._inserted = None
        if root.path not in sys.path[: index + 1]:
            if self._inserted == root.path and root.path in sys.path:
                sys.path.remove(root.path)
            sys.path.insert(index, root.path)
            self._inserted = root.path

    def _park(self, root: PluginRoot) -> None:
        for name in [n for n in sys.modules if n.partition(".")[0] in root.toplevel]:
            if _inside(sys.modules[name], root.path):
                root.parked[name] = sys.modules.pop(name)

    def deactivate(self) -> None:
        """Set the active plugin's modules aside and take its directory off ``sys.path``
        (between collection and the tests, and after a plugin's last test), so tests outside
        any plugin see neither."""
        if self.active is not None:
            self._park(self.active)
            self.active = None
        if self._inserted is not None and self._inserted in sys.path:
            sys.path.remove(self._inserted)
        self._inserted = None

    def close(self) -> None:
        """Take the active plugin's directory off ``sys.path`` and bring back what was set
        aside from outside any plugin (at the end of the session)."""
        for finder in [f for f in sys.meta_path if getattr(f, "roots", None) is self]:
            sys.meta_path.remove(finder)
        self.deactivate()
        for name, module in self._foreign.items():
            sys.modules.setdefault(name, module)
        self._foreign.clear()


class ConftestFinder(importlib.abc.MetaPathFinder):
    """Activates a plugin directory when pytest imports a conftest.py inside it, so the
    conftest can import the plugin's code (pytest puts the conftest's folder first on
    ``sys.path`` just before; the plugin's directory goes right after it). It finds nothing
    itself."""

    def __init__(self, roots: PluginRoots) -> None:
        self.roots = roots

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "conftest" or fullname.endswith(".conftest"):
            where = path[0] if path else (sys.path[0] if sys.path else None)
            root = self.roots.root_of(where) if where else None
            if root is not None:
                self.roots.activate(root, index=1)
        return None


_ROOTS = pytest.StashKey[PluginRoots]()


def roots_of(config: pytest.Config) -> PluginRoots:
    roots = config.stash.get(_ROOTS, None)
    if roots is None:
        roots = config.stash[_ROOTS] = PluginRoots()
    return roots


class PluginTestModule(pytest.Module):
    """A test module of a plugin directory, imported under the plugin's own test package
    with the plugin active (see the module docstring)."""

    def _getobj(self) -> ModuleType:
        roots = roots_of(self.config)
        root = roots.root_of(self.path)
        name = None if root is None else root.module_name(self.path)
        if root is None or name is None:
            return super()._getobj()
        roots.activate(root)
        root.package()
        try:
            module = importlib.import_module(name)
        except SyntaxError as exc:
            raise self.CollectError(
                pytest.ExceptionInfo.from_current().getrepr(style="short")
            ) from exc
        except ImportError as exc:
            info = pytest.ExceptionInfo.from_current()
            info.traceback = info.traceback.filter(
                lambda entry: (
                    "importlib" not in str(entry.path)
                    and not str(entry.path).startswith(os.path.dirname(__file__))
                )
            )
            shown = info.getrepr(style="short") if info.traceback else info.exconly()
            raise self.CollectError(
                f"ImportError while importing test module '{self.path}'.\n"
                f"The plugin directory {root.path} is first on sys.path while its tests are "
                "imported and run, so its own packages import by name (plugin.train).\n"
                f"Traceback:\n{shown}"
            ) from exc
        except pytest.skip.Exception as exc:
            if exc.allow_module_level:
                raise
            raise self.CollectError(
                "Using pytest.skip outside of a test will skip the entire module. If that's "
                "your intention, pass `allow_module_level=True`."
            ) from exc
        self.config.pluginmanager.consider_module(module)
        return module
