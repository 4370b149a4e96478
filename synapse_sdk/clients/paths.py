"""Safe stored names: relative POSIX paths that can never escape the directory they land in."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from ..plugins.errors import UnsafePathError

__all__ = ["is_sha256", "safe_join", "safe_name"]

_HEX = frozenset("0123456789abcdef")


def is_sha256(value: object) -> bool:
    """True for a lowercase 64-digit hex string (the only shape a blob name may have)."""
    return isinstance(value, str) and len(value) == 64 and _HEX.issuperset(value)


def safe_name(name: object) -> str:
    """Validate and normalize a stored name (``'a/./b.txt'`` -> ``'a/b.txt'``).

    Raises UnsafePathError for a non-string or empty name, a NUL or a backslash, an absolute
    path, a drive (``C:``) or a ``..`` part: names are relative POSIX paths below their root.
    """
    if not isinstance(name, str) or not name:
        raise UnsafePathError(repr(name), "a stored name must be a non-empty string")
    if "\x00" in name:
        raise UnsafePathError(name, "it contains a NUL character")
    if "\\" in name:
        raise UnsafePathError(name, "it contains a backslash; use '/' as the separator")
    path = PurePosixPath(name)
    if path.is_absolute():
        raise UnsafePathError(name, "it is an absolute path")
    parts = [p for p in path.parts if p != "."]
    if not parts:
        raise UnsafePathError(name, "it names no file")
    if ".." in parts:
        raise UnsafePathError(name, "it contains '..'")
    if len(parts[0]) >= 2 and parts[0][1] == ":":
        raise UnsafePathError(name, "it starts with a drive")
    return "/".join(parts)


def safe_join(root: str | os.PathLike[str], name: str) -> Path:
    """``root / name`` after checking ``name`` with :func:`safe_name` and that the resolved
    result (following any symlink already on disk) is still inside ``root``."""
    base = Path(root).resolve()
    target = base / safe_name(name)
    resolved = target.resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafePathError(name, f"it resolves to {resolved}, outside {base} (a symlink?)")
    return target
