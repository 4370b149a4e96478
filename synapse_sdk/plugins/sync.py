"""Write what the code says about its actions into config.yaml, keeping the file's shape.

``synapse sync PLUGIN`` calls :func:`sync_config`: actions are found in the source with
``ast`` (nothing is imported), and their ``entrypoint``, ``description``, ``input_type`` and
``output_type`` are written into ``config.yaml``. The file is edited in place, not re-dumped:
each change replaces the text of one value, or inserts lines after an action's last key or
after the last action, at the positions the YAML parser reports. Every other byte (comments,
key order, quoting, indentation styles, ``null`` spellings, line endings, and every key sync
does not write) stays as it was. ``check=True`` writes nothing and reports the drift
(``synapse sync --check`` exits non-zero on drift).

A description set in code (``description = ...`` on the class, ``@action(description=...)``)
replaces config.yaml's; a docstring only fills a missing one, since config.yaml's
description is what users read and docstrings are often written for developers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ._configfile import Loader
from .config import CONFIG_FILENAME, load_config, parse_config, split_entrypoint
from .errors import ConfigError

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


def sync_config(path: str | os.PathLike[str], *, check: bool = False) -> SyncReport:
    """Sync config.yaml of the plugin at ``path`` (directory or file) with its source code.

    Returns a :class:`SyncReport`; with ``check=True`` nothing is written. Raises ConfigError
    for an invalid config.yaml or a source file that does not parse.
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
    with file.open(encoding="utf-8", newline="") as fh:  # keep \r\n line endings as they are
        text = fh.read()
    new_text = _Editor(text).apply(planned, new_actions)
    _verify(new_text, file, planned, new_actions)
    tmp = file.with_name(file.name + ".synapse-tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(new_text)
    os.replace(tmp, file)  # atomic: a crash never leaves a half-written config.yaml


class _Editor:
    """Edits config.yaml's text at the spans its YAML nodes occupy; nothing else is touched."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.edits: list[tuple[int, int, int, str]] = []  # (start, end, order, replacement)
        root = yaml.compose(text, Loader=Loader)
        assert isinstance(root, yaml.MappingNode)  # load_config accepted the file
        self.root = root

    def apply(
        self, planned: dict[str, dict[str, Any]], new_actions: dict[str, dict[str, Any]]
    ) -> str:
        # load_config accepted the file: `actions`, when it is there, maps names to mappings
        actions = _value_of(self.root, "actions")
        if not isinstance(actions, yaml.MappingNode) or not actions.value:
            self._new_actions_block(actions, new_actions)
        else:
            for name, changes in planned.items():
                node = _value_of(actions, name)
                assert isinstance(node, yaml.MappingNode)
                self._update_action(node, changes)
            if new_actions:
                self._add_actions(actions, new_actions)
        out = self.text
        for start, end, _, replacement in sorted(self.edits, reverse=True):
            out = out[:start] + replacement + out[end:]
        return out

    def _edit(self, start: int, end: int, replacement: str) -> None:
        self.edits.append((start, end, len(self.edits), replacement))

    def _update_action(self, node: yaml.MappingNode, changes: dict[str, Any]) -> None:
        missing = {}
        for fld, value in changes.items():
            current = _value_of(node, fld)
            if current is None:
                missing[fld] = value
            elif _start(current) == _end(current):  # `key:` with nothing after it
                self._edit(_start(current), _end(current), " " + _scalar(value))
            else:
                style = getattr(current, "style", None)
                self._edit(_start(current), _end(current), _scalar(value, style, node.flow_style))
        if not missing:
            return
        if node.flow_style:  # `{entrypoint: a.b:C}`: the new keys go before the brace
            self._edit(
                _end(node) - 1,
                _end(node) - 1,
                "".join(", " + _flow_item(k, v) for k, v in missing.items()),
            )
            return
        indent = " " * node.value[0][0].start_mark.column
        lines = [f"{indent}{fld}: {_scalar(value)}" for fld, value in missing.items()]
        self._insert_after(_content_end(self.text, node), lines)

    def _add_actions(
        self, actions: yaml.MappingNode, new_actions: dict[str, dict[str, Any]]
    ) -> None:
        if actions.flow_style:
            entries = "".join(
                ", " + _flow_item(name, _ordered(values)) for name, values in new_actions.items()
            )
            self._edit(_end(actions) - 1, _end(actions) - 1, entries)
            return
        indent = actions.value[0][0].start_mark.column
        lines = _action_lines(new_actions, indent, self._step(actions))
        self._insert_after(_content_end(self.text, actions), lines)

    def _new_actions_block(
        self, node: yaml.Node | None, new_actions: dict[str, dict[str, Any]]
    ) -> None:
        """``actions`` missing or ``{}``: a block of the new actions below the key."""
        block = "".join(line + self.newline for line in _action_lines(new_actions, 2, 2))
        if node is None:  # no `actions:` key: at the end of the file
            end = len(self.text)
            tail = "" if not self.text or self.text.endswith("\n") else self.newline
            self._edit(end, end, tail + "actions:" + self.newline + block)
            return
        start = _start(node)
        while start > 0 and self.text[start - 1] == " ":
            start -= 1
        self._edit(start, _end(node), "")  # `actions: {}  # c` -> `actions:  # c`
        self._insert_after(_end(node), block.splitlines())

    def _insert_after(self, position: int, lines: list[str]) -> None:
        """Insert ``lines`` at the start of the line after the one ``position`` is on."""
        eol = self.text.find("\n", position)
        if eol == -1:  # the last line has no line break
            self._edit(len(self.text), len(self.text), self.newline + self.newline.join(lines))
        else:
            self._edit(eol + 1, eol + 1, "".join(line + self.newline for line in lines))

    def _step(self, actions: yaml.MappingNode) -> int:
        """How much deeper an action's keys are indented than the action (2 by default)."""
        for key, value in actions.value:
            if isinstance(value, yaml.MappingNode) and value.value and not value.flow_style:
                return value.value[0][0].start_mark.column - key.start_mark.column
        return 2


def _value_of(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _start(node: yaml.Node) -> int:
    return int(node.start_mark.index)


def _end(node: yaml.Node) -> int:
    return int(node.end_mark.index)


def _content_end(text: str, node: yaml.Node) -> int:
    """Where ``node``'s own text ends: a block collection's end mark runs on over the comments
    and blank lines after it, which belong to what follows."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _content_end(text, node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _content_end(text, node.value[-1])
    start, end = _start(node), _end(node)
    return start + len(text[start:end].rstrip())  # a block scalar keeps its trailing lines


def _scalar(value: str, style: str | None = None, flow: bool = False) -> str:
    """``value`` as a YAML scalar on one line, in the quoting ``style`` it replaces if possible."""
    if (
        style == '"'
        or any(c in value for c in "\n\r")
        or (flow and any(c in value for c in ",[]{}"))
    ):
        return json.dumps(value, ensure_ascii=False)  # JSON strings are double-quoted YAML
    dumped = yaml.safe_dump(
        value, default_style="'" if style == "'" else None, width=1 << 30, allow_unicode=True
    )
    return dumped.removesuffix("\n").removesuffix("\n...")


def _flow_item(key: str, value: str | dict[str, str]) -> str:
    if isinstance(value, dict):
        inner = ", ".join(_flow_item(k, v) for k, v in value.items())
        return f"{_scalar(key, flow=True)}: {{{inner}}}"
    return f"{_scalar(key, flow=True)}: {_scalar(value, flow=True)}"


def _ordered(values: dict[str, Any]) -> dict[str, Any]:
    return {fld: values[fld] for fld in _SYNCED_FIELDS if fld in values}


def _action_lines(actions: dict[str, dict[str, Any]], indent: int, step: int) -> list[str]:
    lines = []
    for name, values in actions.items():
        lines.append(" " * indent + _scalar(name) + ":")
        for fld, value in _ordered(values).items():
            lines.append(" " * (indent + step) + f"{fld}: {_scalar(value)}")
    return lines


def _verify(
    text: str,
    file: Path,
    planned: dict[str, dict[str, Any]],
    new_actions: dict[str, dict[str, Any]],
) -> None:
    """Refuse to write a file that does not read back as the intended config."""
    try:
        config = parse_config(text, path=str(file))
        ok = all(
            getattr(config.actions[name], fld) == value
            for name, changes in [*planned.items(), *new_actions.items()]
            for fld, value in changes.items()
        )
    except (ConfigError, KeyError) as exc:
        raise ConfigError(
            f"synapse sync could not edit {file.name} safely ({exc})",
            path=str(file),
            hint="the file was not changed; please report this with the file attached",
        ) from exc
    if not ok:
        raise ConfigError(
            f"synapse sync could not edit {file.name} safely (the result reads back differently)",
            path=str(file),
            hint="the file was not changed; please report this with the file attached",
        )
