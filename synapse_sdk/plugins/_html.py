"""Small HTML renderers for notebooks: ``Run._repr_html_`` and the notebook layer's views.

Plain strings only: this module is part of the core and imports no optional dependency.
Every value that reaches the page goes through :func:`esc`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .run import Run

__all__ = ["esc", "run_html", "traceback_html", "value_html"]

_STATUS_COLORS = {"succeeded": "#2e7d32", "failed": "#c62828", "cancelled": "#ef6c00"}
_MAX_ROWS = 50
_MAX_TEXT = 2000

_TABLE = "border-collapse:collapse;font-size:12px;margin:2px 0"
_CELL = "border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top"


def esc(value: Any) -> str:
    """HTML-escape ``str(value)``, cut to a readable length."""
    text = str(value)
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + f"… ({len(text) - _MAX_TEXT} more characters)"
    return html.escape(text)


def _plain(value: Any) -> Any:
    """A pydantic model as a dict (duck-typed: the core never imports pydantic here)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return dump()
        except Exception:  # a model that cannot dump is still shown by repr
            return value
    return value


def _rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows[:_MAX_ROWS]:
        for key in row:
            if str(key) not in columns:
                columns.append(str(key))
    head = "".join(f'<th style="{_CELL}">{esc(c)}</th>' for c in columns)
    body = []
    for row in rows[:_MAX_ROWS]:
        plain = {str(k): v for k, v in row.items()}
        cells = "".join(f'<td style="{_CELL}">{_cell(plain.get(c, ""))}</td>' for c in columns)
        body.append(f"<tr>{cells}</tr>")
    more = _more(len(rows))
    return f'<table style="{_TABLE}"><tr>{head}</tr>{"".join(body)}</table>{more}'


def _more(n: int) -> str:
    return f"<div><i>… {n - _MAX_ROWS} more rows</i></div>" if n > _MAX_ROWS else ""


def _cell(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, Mapping) and value and len(value) <= 8:
        return value_html(value)
    return esc(value)


def value_html(value: Any) -> str:
    """Render a result or params value: a model or mapping as a key/value table, a list of
    records as a table with one column per key, anything else as preformatted text."""
    value = _plain(value)
    if isinstance(value, Mapping):
        if not value:
            return "<i>(empty)</i>"
        items = list(value.items())
        rows = "".join(
            f'<tr><th style="{_CELL}">{esc(k)}</th><td style="{_CELL}">{_cell(v)}</td></tr>'
            for k, v in items[:_MAX_ROWS]
        )
        return f'<table style="{_TABLE}">{rows}</table>{_more(len(items))}'
    if isinstance(value, (list, tuple)) and value:
        records = [_plain(v) for v in value]
        if all(isinstance(r, Mapping) for r in records):
            return _rows_table(records)
    if value is None:
        return "<i>None</i>"
    return f'<pre style="margin:0">{esc(value)}</pre>'


def traceback_html(summary: str, traceback: str | None) -> str:
    """An error line with its traceback folded in a ``<details>`` element."""
    line = f'<b style="color:#c62828">{esc(summary)}</b>'
    if not traceback:
        return f"<div>{line}</div>"
    return (
        f"<details><summary>{line}</summary>"
        f'<pre style="font-size:11px;white-space:pre-wrap">{esc(traceback)}</pre></details>'
    )


def run_html(run: Run) -> str:
    """The notebook summary of a ``Run``: status, ids, timing, params, result or error."""
    status = run.status.value
    color = _STATUS_COLORS.get(status, "#555")
    counts: dict[str, int] = {}
    for event in run.events:
        counts[event.type] = counts.get(event.type, 0) + 1
    events = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "none"
    parts = [
        '<div class="synapse-run" style="font-family:sans-serif;font-size:13px">',
        f"<b>Run</b> <code>{esc(run.action)}</code> "
        f'<span style="color:#fff;background:{color};padding:1px 6px;border-radius:3px">'
        f"{esc(status)}</span> in {run.duration:.3f} s "
        f'<span style="color:#777">(run_id {esc(run.run_id)}; events: {esc(events)})</span>',
        f"<div><b>params</b>{value_html(run.params)}</div>",
    ]
    if run.error is not None:
        parts.append(traceback_html(f"{type(run.error).__name__}: {run.error}", run.traceback))
    else:
        parts.append(f"<div><b>result</b>{value_html(run.result)}</div>")
    parts.append("</div>")
    return "".join(parts)
