"""``synapse run PLUGIN ACTION --help``: the action's params, one line each.

Each param is shown as it is set on the command line (``-p NAME=VALUE``; nested models as
dotted names), with its type, its default (or ``required``), its description and its bounds,
read from the params model.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any

__all__ = ["params_help"]

_BOUNDS = (
    ("gt", ">"),
    ("ge", ">="),
    ("lt", "<"),
    ("le", "<="),
    ("multiple_of", "multiple of"),
    ("min_length", "min length"),
    ("max_length", "max length"),
    ("pattern", "matches"),
)
_WIDTH = 32  # longest default shown before it is cut


def params_help(spec: Any) -> str:
    """The params of ``spec`` (an ActionSpec) as a readable block for ``--help``."""
    head = f"params of action {spec.name!r}"
    if spec.description:
        head += f": {spec.description.strip().splitlines()[0]}"
    model = spec.params_model
    if model is None:
        return f"{head}\n  (no params model: any JSON object is passed as a dict)"
    rows = list(_rows(model, ""))
    if not rows:
        return f"{head}\n  (no params)"
    header = ("-p NAME", "TYPE", "DEFAULT", "DESCRIPTION")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
    lines = [head, "  set them with -p NAME=VALUE (repeatable) or --params JSON", ""]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append(("  " + "  ".join([*cells, row[3]])).rstrip())
    return "\n".join(lines)


def _rows(model: Any, prefix: str) -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = _model_of(field.annotation)
        about = " ".join(part for part in (field.description or "", _bounds(field)) if part)
        if nested is not None:
            yield key, "object", _default(field), about
            yield from _rows(nested, key + ".")
            continue
        yield key, _type_text(field.annotation), _default(field), about


def _model_of(annotation: Any) -> Any:
    """The pydantic model ``annotation`` is (or is optionally), else None."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if _model_of(a) is not None]
        others = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(models) == 1 and len(others) == 1:
            return models[0]
    return None


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "|".join(json.dumps(a) if isinstance(a, str) else repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is typing.Annotated:
        return _type_text(args[0])
    if annotation is type(None):
        return "None"
    if origin is not None:
        inner = ", ".join(_type_text(a) for a in args)
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{inner}]" if inner else name
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    factory = field.default_factory
    if factory is not None:
        if factory in (list, dict, set, tuple):
            return json.dumps(factory() if factory is not set else [])
        return f"{getattr(factory, '__name__', 'factory')}()"
    value = field.default
    try:
        text = json.dumps(value, default=str, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def _bounds(field: Any) -> str:
    found = []
    for item in field.metadata:
        for attr, word in _BOUNDS:
            value = getattr(item, attr, None)
            if value is not None:
                found.append(f"{word} {value}")
    return f"({', '.join(found)})" if found else ""
