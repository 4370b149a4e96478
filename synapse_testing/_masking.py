"""Mask volatile values (run ids, UUIDs, times, durations, paths) with stable aliases.

:class:`Masker` replaces volatile values with aliases that are stable within one snapshot:
run ids become ``<run-1>``, UUIDs ``<uuid-1>`` (the same value gets the same alias wherever
it appears, so "the id in the result is the id sent to the backend" is still checked),
timestamps ``<time>`` (by field name, or any number that is a Unix time within a day of
now: seconds, milliseconds, microseconds or nanoseconds, also inside strings),
``<datetime>`` (datetime objects, ISO 8601 strings and compact stamps such as
``20261127_214308`` near now), ``<date>`` (today's ISO date inside a string), durations
``<duration>``, and paths under the test's ``tmp_path``, the temp directory, the root dir or
the home directory ``<tmp>/...``, ``<tempdir-1>/...``, ``<rootdir>/...`` and ``~/...`` with
POSIX separators. Pydantic models and dataclasses are serialized field by field
(recursively). A plugin loaded by path shows its own module names (``plugin.train``), never
the private import name the SDK gives it, masked or not.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import os
import re
import tempfile
import time
import uuid
from collections import namedtuple
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePath
from typing import Any

from synapse_sdk.plugins.events import (
    Event,
    LogEvent,
    MetricsEvent,
    ProgressEvent,
    ResultEvent,
    RunFinished,
    RunStarted,
    StepEvent,
    WarningEvent,
)

__all__ = ["Masker", "default_roots", "public_text"]

_UUID_RE = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
# ISO 8601 date-times (``2026-11-26T23:00:00.123+00:00``, also with a space), as str() and
# isoformat() write them
_ISO_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?![\d:])"
)
# compact date-time stamps (file and directory names): 20261127_214308, 2026-11-27_21-43-08
_STAMP_RE = re.compile(
    r"(?<![\d.])(\d{4})-?(\d{2})-?(\d{2})[T _-]?(\d{2})[:.-]?(\d{2})[:.-]?(\d{2})"
    r"(?:[.,]\d{1,9})?(?![\d:])"
)
_DATE_RE = re.compile(r"(?<![\d.-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
# Unix times written as numbers inside text: 10 digits (seconds) to 19 (nanoseconds)
_EPOCH_RE = re.compile(r"(?<!\d)(?<!\d\.)1\d{9}(?:\d{3}|\d{6}|\d{9})?(?:\.\d+)?(?!\.?\d)")
# the private prefix under which the SDK imports a plugin loaded by path
# (synapse_sdk/plugins/_isolation.py: _synapse_plugin_<slug>_<10 hex digits>_g<generation>.)
_PRIVATE_RE = re.compile(r"\b_synapse_plugin_\w*?_[0-9a-f]{10}_g\d+\.")
#: how far from now a number or stamp may be and still count as "now" (a test session)
NEAR_NOW = 86_400.0
_TIME_KEYS = frozenset({"time", "timestamp", "started_at", "finished_at", "created_at"})
_DURATION_KEYS = frozenset({"duration", "elapsed", "seconds", "took"})

# typed as Any: the tuple types are built at run time from model field names
_namedtuple: Any = namedtuple
_MODEL_TUPLES: dict[tuple[str, tuple[str, ...]], type] = {}


def public_text(text: str) -> str:
    """``text`` with a path-loaded plugin's private module prefix removed
    (``_synapse_plugin_x_0123456789_g0.plugin.train.P`` -> ``plugin.train.P``)."""
    return _PRIVATE_RE.sub("", text) if "_synapse_plugin_" in text else text


def _near_now(value: float, now: float) -> bool:
    """A Unix time within NEAR_NOW of ``now``, in seconds, ms, us or ns."""
    if value < 1e9:
        return False
    for scale in (1.0, 1e3, 1e6, 1e9):
        if abs(value / scale - now) < NEAR_NOW:
            return True
    return False


def _stamp_near_now(parts: Iterable[str], now: float) -> bool:
    """Year, month, day, hour, minute, second (as text) in any time zone, within NEAR_NOW."""
    try:
        y, mo, d, h, mi, sec = (int(p) for p in parts)
        when = _dt.datetime(y, mo, d, h, mi, sec, tzinfo=_dt.timezone.utc).timestamp()
    except (ValueError, OverflowError):
        return False
    return abs(when - now) < NEAR_NOW + 14 * 3600


def _is_time_key(key: str) -> bool:
    return key in _TIME_KEYS or key.endswith(("_at", "_time", "_timestamp"))


def _is_duration_key(key: str) -> bool:
    return key in _DURATION_KEYS or key.endswith(("_duration", "_elapsed", "_seconds"))


class Masker:
    """Replaces volatile values with stable aliases; one instance per snapshot.

    ``tmp_path`` is the test's temporary directory (``<tmp>``); ``roots`` maps more directory
    prefixes to their alias (the pytest base temp, the root dir, home). ``run_ids`` are
    aliased ``<run-N>`` wherever they appear, also inside strings. ``mask=False`` keeps every
    value (the structure is still normalized).
    """

    def __init__(
        self,
        *,
        tmp_path: str | os.PathLike[str] | None = None,
        roots: Mapping[str, str] | None = None,
        run_ids: Iterable[str] = (),
        mask: bool = True,
    ) -> None:
        self.mask = mask
        self.now = time.time()
        self._aliases: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        prefixes: dict[str, str] = {}
        if tmp_path is not None:
            prefixes.update(_variants(tmp_path, "<tmp>"))
        for root, alias in (roots or {}).items():
            for key, value in _variants(root, alias).items():
                prefixes.setdefault(key, value)
        # longest prefix first: the test's tmp dir wins over the temp root that holds it
        self._prefixes = sorted(prefixes.items(), key=lambda kv: -len(kv[0]))
        self._tempdirs = [
            p
            for p in {
                tempfile.gettempdir().rstrip("/\\"),
                os.path.realpath(tempfile.gettempdir()).rstrip("/\\"),
            }
            if len(p) > 1
        ]
        self._run_ids = [r for r in dict.fromkeys(run_ids) if r]
        for run_id in self._run_ids:
            self.alias("run", run_id)

    def alias(self, kind: str, value: str) -> str:
        """The stable alias of ``value`` (``<kind-N>``, numbered by first appearance)."""
        key = (kind, value)
        found = self._aliases.get(key)
        if found is None:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            found = self._aliases[key] = f"<{kind}-{self._counts[kind]}>"
        return found

    # -- strings -----------------------------------------------------------------------------

    def text(self, value: str) -> str:
        """Mask run ids, UUIDs, times and known paths inside ``value``."""
        value = public_text(value)
        if not self.mask:
            return value
        for prefix, alias in self._prefixes:
            if prefix in value:
                value = _replace_path(value, prefix, alias)
        for tempdir in self._tempdirs:
            if tempdir in value:
                value = re.sub(
                    re.escape(tempdir) + r"[/\\]([^/\\\s'\"]+)",
                    lambda m: self.alias("tempdir", m.group(1)),
                    value,
                )
        for run_id in self._run_ids:
            if run_id in value:
                value = value.replace(run_id, self.alias("run", run_id))
        if "-" in value:
            value = _UUID_RE.sub(lambda m: self.alias("uuid", m.group(0).lower()), value)
            value = _ISO_RE.sub("<datetime>", value)
        if any(c.isdigit() for c in value):
            value = self._times_in(value)
        return value

    def _times_in(self, value: str) -> str:
        now = self.now
        value = _STAMP_RE.sub(
            lambda m: "<datetime>" if _stamp_near_now(m.groups(), now) else m.group(0), value
        )
        if "-" in value:
            value = _DATE_RE.sub(
                lambda m: (
                    "<date>" if _stamp_near_now((*m.groups(), "12", "0", "0"), now) else m.group(0)
                ),
                value,
            )
        return _EPOCH_RE.sub(
            lambda m: "<time>" if _near_now(float(m.group(0)), now) else m.group(0), value
        )

    # -- any value ---------------------------------------------------------------------------

    def value(self, value: Any, key: str | None = None) -> Any:
        """A masked, snapshot-friendly copy of ``value`` (``key`` is its field name, if any)."""
        if value is None or isinstance(value, bool):
            return value
        if self.mask and key is not None:
            if isinstance(value, (int, float, _dt.datetime, _dt.date)) and _is_time_key(key):
                return "<time>"
            if isinstance(value, (int, float, _dt.timedelta)) and _is_duration_key(key):
                return "<duration>"
            if key == "run_id" and isinstance(value, str):
                return self.alias("run", value)
        if isinstance(value, (int, float)):
            return "<time>" if self.mask and _near_now(value, self.now) else value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, enum.Enum):
            return self.value(value.value)
        if isinstance(value, uuid.UUID):
            return self.alias("uuid", str(value)) if self.mask else str(value)
        if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
            return "<datetime>" if self.mask else value.isoformat()
        if isinstance(value, _dt.timedelta):
            return "<duration>" if self.mask else value.total_seconds()
        if isinstance(value, PurePath):
            return self.text(str(value)).replace("\\", "/") if self.mask else value.as_posix()
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, Event):
            return self.event(value)
        if hasattr(type(value), "model_fields") and hasattr(value, "model_dump"):
            return self._fields(type(value).__name__, _model_items(value))
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            items = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
            return self._fields(type(value).__name__, items)
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
            return self._fields(type(value).__name__, list(zip(value._fields, value, strict=True)))
        if isinstance(value, (set, frozenset)):
            return sorted((self.value(v) for v in value), key=repr)
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, type):
            return public_text(f"{value.__module__}.{value.__qualname__}")
        return self.text(repr(value))

    def _fields(self, name: str, items: list[tuple[str, Any]]) -> Any:
        """A named tuple ``Name(field=..., ...)``: amber prints it field by field."""
        names = tuple(k for k, _ in items)
        cls: Any = _MODEL_TUPLES.get((name, names))
        if cls is None:
            cls = _namedtuple(name, names, rename=True)
            _MODEL_TUPLES[(name, names)] = cls
        return cls(*(self.value(v, k) for k, v in items))

    # -- events and runs ---------------------------------------------------------------------

    def event(self, event: Event) -> str:
        """One line per event, values masked; times, seq and run ids are left out."""
        v = self._inline
        if isinstance(event, ProgressEvent):
            where = "" if event.step is None else f" [{event.step}]"
            return f"progress{where} {v(event.current)}/{v(event.total)}"
        if isinstance(event, MetricsEvent):
            where = "" if event.step is None else f" [{event.step}]"
            values = " ".join(f"{k}={v(x, k, exact=True)}" for k, x in event.values.items())
            return f"metrics{where} {values}"
        if isinstance(event, LogEvent):
            if event.event == "message" and "message" in event.data:
                extra = f" {v(event.data['exception'])}" if "exception" in event.data else ""
                return f"log {event.level} {v(event.data['message'])}{extra}"
            data = f" {v(dict(event.data))}" if event.data else ""
            file = f" file={v(event.file)}" if event.file else ""
            return f"log {event.level} {event.event}{data}{file}"
        if isinstance(event, WarningEvent):
            return f"warning {event.code}: {self.text(event.message)}"
        if isinstance(event, StepEvent):
            parts = [f"step {event.step} {event.status}"]
            for name in ("position", "weight", "detail"):
                value = getattr(event, name)
                if value is not None:
                    parts.append(f"{name}={v(value)}")
            return " ".join(parts)
        if isinstance(event, RunStarted):
            return f"run_started {event.action}"
        if isinstance(event, RunFinished):
            error = f": {self.text(event.error)}" if event.error else ""
            return f"run_finished {event.status}{error}"
        if isinstance(event, ResultEvent):
            return "result"
        return f"{event.type} {v(event.to_dict())}"

    def _inline(self, value: Any, key: str | None = None, *, exact: bool = False) -> str:
        masked = self.value(value, key)
        if isinstance(masked, float) and masked.is_integer() and not exact:
            return str(int(masked))
        if isinstance(masked, (int, float)):
            return str(masked)
        return repr(_plain(masked))

    def run(self, run: Any, *, events: bool = True) -> dict[str, Any]:
        """A run as ``{action, status, params, result, error, events}`` (masked)."""
        error = run.error
        out: dict[str, Any] = {
            "action": run.action,
            "status": str(getattr(run.status, "value", run.status)),
            "params": self.value(run.params),
            "result": self.value(run.result),
            "error": None
            if error is None
            else {
                "type": type(error).__name__,
                "message": self.text(str(error)),
                "cause": None
                if error.__cause__ is None
                else f"{type(error.__cause__).__name__}: {self.text(str(error.__cause__))}",
            },
        }
        if events:
            out["events"] = [self.event(e) for e in run.events]
        return out


def _plain(value: Any) -> Any:
    """Named tuples from :meth:`Masker._fields` back to dicts (for one-line reprs)."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _model_items(model: Any) -> list[tuple[str, Any]]:
    fields = type(model).model_fields
    items = [(name, getattr(model, name)) for name in fields]
    extra = getattr(model, "__pydantic_extra__", None) or {}
    items.extend(sorted(extra.items()))
    return items


def _variants(path: str | os.PathLike[str], alias: str) -> dict[str, str]:
    """``path`` as written and resolved, with both separators (a path may be written either
    way on Windows)."""
    raw = os.fspath(path)
    out: dict[str, str] = {}
    for candidate in {raw, os.path.realpath(raw)}:
        candidate = candidate.rstrip("/\\")
        if len(candidate) <= 1:
            continue
        out[candidate] = alias
        out[candidate.replace("\\", "/")] = alias
    return out


def _replace_path(text: str, prefix: str, alias: str) -> str:
    """Replace ``prefix`` (a directory) by ``alias`` where it starts a path, and turn the rest
    of that path into POSIX separators."""
    pattern = re.escape(prefix) + r"((?:[/\\][^\s'\"]*)?)"

    def sub(match: re.Match[str]) -> str:
        return alias + match.group(1).replace("\\", "/")

    return re.sub(pattern + r"(?![^/\\\s'\"])", sub, text)


def default_roots(*, basetemp: Path | None, rootdir: Path | None) -> dict[str, str]:
    """The directory prefixes masked besides the test's ``tmp_path``."""
    roots: dict[str, str] = {}
    if basetemp is not None:
        roots[str(basetemp)] = "<basetemp>"
    if rootdir is not None:
        roots[str(rootdir)] = "<rootdir>"
    home = os.path.expanduser("~")
    if home not in ("~", "/"):
        roots[home] = "~"
    return roots
