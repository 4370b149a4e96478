"""Turn runs, events and results into stable snapshot data (no syrupy needed here).

The values are masked by :class:`~synapse_testing._masking.Masker`; a snapshot shows a run's
warnings, so taking one counts them as checked for the strict teardown check.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from ._checked import mark_checked
from ._masking import Masker, default_roots
from ._views import EventViews

__all__ = ["Masker", "default_roots", "diff_summary", "snapshot_data"]


def snapshot_data(data: Any, masker: Masker) -> Any:
    """What a snapshot stores for ``data``: a Run (or anything with ``run_id``, ``status`` and
    ``events``) becomes the run record, a RecordingContext or EventLog its event lines;
    anything else is masked field by field."""
    if _is_run(data):
        masker.alias("run", data.run_id)
        mark_checked(data.events)
        return masker.run(data)
    if isinstance(data, EventViews):
        for run_id in data.run_ids:
            masker.alias("run", run_id)
        mark_checked(data.events)
        return [masker.event(e) for e in data.events]
    return masker.value(data)


def _is_run(data: Any) -> bool:
    return all(hasattr(data, name) for name in ("run_id", "status", "events", "action", "result"))


# -- what changed, in a few lines ------------------------------------------------------------

_KEY_RE = re.compile(r"""^  (?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\w+))(?::|=)""")
# a run's parts, most telling first (amber stores them alphabetically: events before result)
_RUN_ORDER = ("status", "error", "result", "params", "action", "events")
_MAX_PARTS = 3
_MAX_WIDTH = 100


def _parts(text: str) -> dict[str, list[str]]:
    """Amber text split into its top-level entries (``'result': ...`` with the lines under
    it), keyed by name (``[N]`` for a list's items; ``""`` for the enclosing lines)."""
    parts: dict[str, list[str]] = {"": []}
    current = parts[""]
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if indent == 2:
            match = _KEY_RE.match(line)
            name = next((g for g in match.groups() if g is not None), "") if match else ""
            current = parts.setdefault(name or f"[{len(parts) - 1}]", [])
        elif indent < 2:
            current = parts[""]
        current.append(line.strip())
    return parts


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def diff_summary(old: str, new: str, note: str = "") -> list[str]:
    """A few lines naming each changed part of a snapshot with its first change, most
    telling parts of a run first; [] if nothing differs. ``note`` ends the first line::

        The snapshot differs in result and events (note):
          result: - 'bytes': 60,
                  + 'bytes': 61,
          events: - 'progress [train] 1/3',
                  + 'progress [train] 1/4',  (+4 more changed lines)
    """
    before, after = _parts(old), _parts(new)
    names = list(dict.fromkeys([*before, *after]))
    if set(_RUN_ORDER) <= set(names):
        names.sort(key=lambda n: _RUN_ORDER.index(n) if n in _RUN_ORDER else len(_RUN_ORDER))
    changed: list[tuple[str, list[str]]] = []
    for name in names:
        a, b = before.get(name, []), after.get(name, [])
        if a == b:
            continue
        lines = [
            line
            for line in difflib.unified_diff(a, b, n=0, lineterm="")
            if line[:1] in "-+" and not line.startswith(("---", "+++"))
        ]
        changed.append((name or "value", lines or ["-(order changed)"]))
    if not changed:
        return []
    shown = changed[:_MAX_PARTS]
    out = [f"The snapshot differs in {_names([n for n, _ in changed])}{note}:"]
    for name, lines in shown:
        first = [x for x in (next((x for x in lines if x[0] == s), None) for s in "-+") if x]
        rest = len(lines) - len(first)
        more = f"  (+{rest} more changed line{'s' if rest > 1 else ''})" if rest > 0 else ""
        for index, line in enumerate(first):
            label = f"  {name}: " if index == 0 else " " * (len(name) + 4)
            tail = more if index == len(first) - 1 else ""
            out.append(_clip(f"{label}{line[0]} {line[1:]}", _MAX_WIDTH - len(tail)) + tail)
    if len(changed) > len(shown):
        out.append(f"  … and {len(changed) - len(shown)} more changed parts")
    return out
