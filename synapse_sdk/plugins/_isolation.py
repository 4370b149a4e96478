"""Import a plugin directory's code under a private module prefix.

Every scaffolded plugin keeps its code in a top-level package called ``plugin``; two such
plugins in one process would fight over ``sys.modules['plugin']``. A :class:`PluginNamespace`
imports the modules of one plugin directory as ``<prefix>.plugin.train`` (the prefix is unique
per directory and load generation), so plugin A's ``plugin.train`` and plugin B's are distinct
module objects, and the directory never has to be on ``sys.path``.

Inside the plugin nothing changes for the author:

* relative imports (``from .utils import x``) resolve against ``__package__``, which is the
  prefixed package;
* absolute imports of the plugin's own top-level names (``from plugin.utils import x``) go
  through a per-plugin ``__import__`` (installed in the module's ``__builtins__`` before its
  code runs) that adds the prefix. Other imports are untouched.

* ``importlib.import_module('plugin.x')`` at run time works too: ``import importlib`` in
  plugin code (through the same ``__import__``) binds a thin view of ``importlib`` whose
  ``import_module`` adds the prefix to the plugin's own names; every other attribute is the
  real module's.
"""

from __future__ import annotations

import builtins
import functools
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any

__all__ = ["PluginNamespace", "namespace_for"]

_ROOT_PREFIX = "_synapse_plugin_"
_real_import = builtins.__import__
_IDENT = re.compile(r"^[A-Za-z_]\w*$")

_NAMESPACES: dict[str, PluginNamespace] = {}  # prefix -> namespace
_BY_ROOT: dict[str, PluginNamespace] = {}  # real directory -> current namespace
_LOCK = threading.RLock()


class PluginNamespace:
    """The modules of one plugin directory, imported under ``self.prefix``."""

    def __init__(self, root: str, prefix: str) -> None:
        self.root = root
        self.prefix = prefix
        self.toplevel = frozenset(_top_level_names(root))
        self.builtins = dict(builtins.__dict__)
        self.builtins["__import__"] = self._import
        self._importlib: ModuleType | None = None
        package = ModuleType(prefix, f"Modules of the plugin at {root}")
        spec = importlib.machinery.ModuleSpec(prefix, None, is_package=True)
        spec.submodule_search_locations = [root]
        package.__spec__ = spec
        package.__path__ = [root]
        package.__package__ = prefix
        self.package = package

    def install(self) -> None:
        _install_finder()
        _NAMESPACES[self.prefix] = self
        sys.modules[self.prefix] = self.package

    def owns(self, module_name: str) -> bool:
        """True when ``module_name`` (as the plugin spells it) is the plugin's own code."""
        return module_name.partition(".")[0] in self.toplevel

    def import_module(self, name: str) -> ModuleType:
        """Import ``name`` as the plugin sees it (``'plugin.train'``).

        When the plugin's package is already imported the ordinary way (its directory is on
        ``sys.path``, as in the plugin's own tests), that copy is used, so ``synapse_run`` and
        ``from plugin.train import TrainResult`` in a test see the same classes.
        """
        if self.owns(name) and not self._imported_normally(name.partition(".")[0]):
            return importlib.import_module(f"{self.prefix}.{name}")
        return importlib.import_module(name)

    def _imported_normally(self, top: str) -> bool:
        module = sys.modules.get(top)
        if module is None:
            return False
        locations = list(getattr(module, "__path__", None) or [])
        file = getattr(module, "__file__", None)
        if file:
            locations.append(os.path.dirname(file))
        for location in locations:
            real = os.path.realpath(location)
            if real == self.root or real.startswith(self.root + os.sep):
                return True
        return False

    def real_name(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.owns(name) else name

    def public_name(self, module_name: str) -> str:
        """``'<prefix>.plugin.train' -> 'plugin.train'`` (other names unchanged)."""
        head = self.prefix + "."
        return module_name[len(head) :] if module_name.startswith(head) else module_name

    def unload(self) -> None:
        """Forget every module of this namespace (the next import reads the files again)."""
        head = self.prefix + "."
        for name in [n for n in sys.modules if n == self.prefix or n.startswith(head)]:
            del sys.modules[name]
        _NAMESPACES.pop(self.prefix, None)

    def _import(
        self,
        name: str,
        globals: dict[str, Any] | None = None,
        locals: Any = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        top = name.partition(".")[0]
        if level == 0 and top in self.toplevel:
            full = f"{self.prefix}.{name}"
            module = _real_import(full, globals, locals, fromlist, 0)
            if fromlist:
                return module
            # `import plugin.utils` binds the name `plugin`: hand back the plugin's own package
            return sys.modules[f"{self.prefix}.{top}"]
        module = _real_import(name, globals, locals, fromlist, level)
        if level == 0 and top == "importlib" and (name == "importlib" or not fromlist):
            return self.importlib_view()  # `import importlib[.x]`, `from importlib import y`
        return module

    def importlib_view(self) -> ModuleType:
        """``importlib`` as the plugin's code sees it: ``import_module`` knows the prefix."""
        view = self._importlib
        if view is None:
            view = ModuleType("importlib", importlib.__doc__)
            view.__dict__["__getattr__"] = functools.partial(getattr, importlib)  # PEP 562
            view.__dict__["import_module"] = self._import_module
            self._importlib = view
        return view

    def _import_module(self, name: str, package: str | None = None) -> ModuleType:
        try:
            if name.startswith("."):  # relative: __package__ is already the prefixed package
                return importlib.import_module(name, package)
            return self.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not exc.name.startswith(self.prefix + "."):
                raise
            public = self.public_name(exc.name)  # never show the private prefix
            raise ModuleNotFoundError(f"No module named {public!r}", name=public) from exc


def _top_level_names(root: str) -> list[str]:
    names: list[str] = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return names
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.name.endswith(".py"):
            stem = entry.name[:-3]
            if _IDENT.match(stem):
                names.append(stem)
        elif entry.is_dir() and _IDENT.match(entry.name) and _has_python(entry.path):
            names.append(entry.name)
    return names


def _has_python(path: str) -> bool:
    try:
        return any(name.endswith(".py") for name in os.listdir(path))
    except OSError:
        return False


def namespace_for(root: str | os.PathLike[str], *, fresh: bool = False) -> PluginNamespace:
    """The namespace of the plugin directory ``root``; ``fresh=True`` starts a new generation.

    A new generation drops the old modules (files are read again) and uses a new prefix, so
    objects from the previous generation stay valid but distinct.
    """
    real = os.path.realpath(os.fspath(root))
    with _LOCK:
        current = _BY_ROOT.get(real)
        if current is not None and not fresh:
            return current
        generation = 0
        if current is not None:
            current.unload()
            generation = int(current.prefix.rpartition("_g")[2]) + 1
            importlib.invalidate_caches()
        slug = re.sub(r"\W", "_", os.path.basename(real))[:32] or "plugin"
        digest = hashlib.sha1(real.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        namespace = PluginNamespace(real, f"{_ROOT_PREFIX}{slug}_{digest}_g{generation}")
        namespace.install()
        _BY_ROOT[real] = namespace
        return namespace


class _IsolatedLoader(importlib.abc.Loader):
    """Wraps a source loader: installs the plugin's ``__builtins__`` before the code runs."""

    def __init__(self, inner: Any, namespace: PluginNamespace) -> None:
        self._inner = inner
        self._namespace = namespace

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._inner.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self._namespace.builtins
        path = getattr(self._inner, "path", None)
        if isinstance(path, str) and path.endswith(".py"):
            # Compiled from source, never from __pycache__: a .pyc is validated by the
            # source's mtime in whole seconds and its size, so reloading a plugin edited within
            # the same second (`N = 1` -> `N = 2`) would otherwise run the old code.
            code = compile(self._inner.get_data(path), path, "exec", dont_inherit=True)
            exec(code, module.__dict__)
        else:
            self._inner.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_resource_reader, ...
        return getattr(self._inner, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``_synapse_plugin_*`` submodules inside their plugin directory."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(_ROOT_PREFIX):
            return None
        namespace = _NAMESPACES.get(fullname.partition(".")[0])
        if namespace is None or path is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        if spec.loader is not None and hasattr(spec.loader, "get_code"):
            spec.loader = _IsolatedLoader(spec.loader, namespace)
        return spec


_FINDER = _Finder()


def _install_finder() -> None:
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
