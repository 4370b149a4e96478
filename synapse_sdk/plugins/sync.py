"""Write what the code says about its actions into config.yaml, keeping the file's shape.

``synapse sync PLUGIN`` calls :func:`sync_config`: actions are found in the source with
``ast`` (nothing is imported), and their ``entrypoint``, ``description``, ``input_type`` and
``output_type`` are written into ``config.yaml`` with a round-trip YAML library (ruamel.yaml,
extra ``cli``), so comments, key order, quoting and indentation survive. ``check=True``
writes nothing and reports the drift (``synapse sync --check`` exits non-zero on drift).

A description set in code (``description = ...`` on the class, ``@action(description=...)``)
replaces config.yaml's; a docstring only fills a missing one, since config.yaml's
description is what users read and docstrings are often written for developers.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import CONFIG_FILENAME, load_config, split_entrypoint

__all__ = ["SyncChange", "SyncReport", "sync_config"]

_SYNCED_FIELDS = ("entrypoint", "description", "input_type", "output_type")


@dataclass(frozen=True)
class SyncChange:
    """One difference between config.yaml and the code: ``actions.<action>.<field>``."""

    action: str
    field: str  # one of _SYNCED_FIELDS, or "" for a whole new action
    old: Any
    new: Any

    def __str__(self) -> str:
        if not self.field:
            return f"actions.{self.action}: add (entrypoint {self.new!r})"
        return f"actions.{self.action}.{self.field}: {self.old!r} -> {self.new!r}"


@dataclass
class SyncReport:
    """What :func:`sync_config` found (and wrote, unless ``check``)."""

    path: Path
    changes: list[SyncChange] = field(default_factory=list)
    # config actions whose entrypoint the source scan did not find (left untouched)
    unmatched: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def drift(self) -> bool:
        return bool(self.changes)


def _ruamel() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError as exc:
        raise ImportError(
            "config sync needs ruamel.yaml to keep comments and formatting: "
            "pip install 'synapse-sdk[cli]'"
        ) from exc
    return YAML


def sync_config(path: str | os.PathLike[str], *, check: bool = False) -> SyncReport:
    """Sync config.yaml of the plugin at ``path`` (directory or file) with its source code.

    Returns a :class:`SyncReport`; with ``check=True`` nothing is written. Raises ConfigError
    for an invalid config.yaml or a source file that does not parse, and ImportError naming
    the ``cli`` extra when ruamel.yaml is missing.
    """
    from ._scan import discover_actions

    file = Path(path)
    if file.is_dir():
        file = file / CONFIG_FILENAME
    config = load_config(file)  # refuse to sync an invalid file: errors come with positions
    found = discover_actions(file.parent)
    report = SyncReport(path=file)

    by_entrypoint = {
        split_entrypoint(entry.entrypoint): name for name, entry in config.actions.items()
    }
    planned: dict[str, dict[str, Any]] = {}  # action -> {field: new value}
    new_actions: dict[str, dict[str, Any]] = {}
    matched: set[str] = set()
    for code_name, info in found.items():
        key = split_entrypoint(info["entrypoint"])
        name = by_entrypoint.get(key)
        if name is None and code_name in config.actions and code_name not in matched:
            name = code_name  # same name, the code moved: update the entrypoint
        if name is None:
            if code_name in config.actions or code_name in new_actions:
                continue  # the name is taken by another entrypoint: leave it to the user
            new_actions[code_name] = {
                k: info[k] for k in _SYNCED_FIELDS if info.get(k) not in (None, "")
            }  # a new entry takes the docstring as its description when nothing else is set
            report.changes.append(SyncChange(code_name, "", None, info["entrypoint"]))
            continue
        matched.add(name)
        current = config.actions[name]
        for fld in _SYNCED_FIELDS:
            new = info.get(fld)
            if new in (None, ""):
                continue  # the code says nothing: config.yaml keeps its value
            old = getattr(current, fld)
            if fld == "description" and old and new == info.get("docstring"):
                continue  # a docstring only fills an empty description, never replaces one
            if fld == "entrypoint" and split_entrypoint(old) == key:
                continue  # `a.b.C` and `a.b:C` are the same entrypoint
            if old != new:
                planned.setdefault(name, {})[fld] = new
                report.changes.append(SyncChange(name, fld, old or None, new))
    report.unmatched = [name for name in config.actions if name not in matched]
    if check or not report.changes:
        return report
    _write(file, planned, new_actions)
    report.written = True
    return report


def _write(
    file: Path, planned: dict[str, dict[str, Any]], new_actions: dict[str, dict[str, Any]]
) -> None:
    yaml_cls = _ruamel()
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.util import load_yaml_guess_indent

    text = file.read_text(encoding="utf-8")
    _, seq_indent, seq_offset = load_yaml_guess_indent(text)
    yaml = yaml_cls(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    # keep the file's own indentation (ruamel would otherwise apply its defaults everywhere)
    offset = seq_offset or 0
    yaml.indent(
        mapping=_mapping_indent(text),
        sequence=seq_indent if seq_indent else offset + 2,
        offset=offset,
    )
    data = yaml.load(text)
    actions = data.get("actions")
    if actions is None:
        actions = CommentedMap()
        data["actions"] = actions
    for name, changes in planned.items():
        for fld, value in changes.items():
            actions[name][fld] = value
    for name, values in new_actions.items():
        entry = CommentedMap()
        for fld in _SYNCED_FIELDS:
            if fld in values:
                entry[fld] = values[fld]
        actions[name] = entry
    out = io.StringIO()
    yaml.dump(data, out)
    tmp = file.with_name(file.name + ".synapse-tmp")
    tmp.write_text(out.getvalue(), encoding="utf-8")
    os.replace(tmp, file)  # atomic: a crash never leaves a half-written config.yaml


def _mapping_indent(text: str) -> int:
    """How far nested mapping keys are indented in ``text`` (2 when nothing says otherwise)."""
    previous: str | None = None
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if previous is not None:
            depth = len(raw) - len(raw.lstrip(" "))
            parent = len(previous) - len(previous.lstrip(" "))
            if depth > parent and not stripped.startswith("- "):
                return depth - parent
        head = stripped.split(" #", 1)[0].rstrip()
        previous = raw if head.endswith(":") and not head.startswith("- ") else None
    return 2
