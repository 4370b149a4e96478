"""The environment of worker processes: never the caller's whole ``os.environ``.

A worker gets only what Python needs to start and find files and locales (:data:`KEEP`), the
``PYTHONPATH`` that makes the SDK importable as it is in the caller, and what the caller passes
(the plugin's ``env`` from config.yaml plus the ``env=`` of the run). Tokens, cloud credentials
and the like in the caller's environment never leak into a plugin.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

__all__ = ["KEEP", "worker_env"]

#: Variables copied from the caller's environment when set (``LC_*`` too).
KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "SYSTEMROOT",
    "SYSTEMDRIVE",
    "COMSPEC",
    "PATHEXT",
    "WINDIR",
)


def caller_pythonpath() -> str:
    """The caller's ``sys.path`` as a PYTHONPATH, so workers import what the caller imports."""
    return os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))


def worker_env(
    extra: Mapping[str, str] | None = None, *, pythonpath: bool = True
) -> dict[str, str]:
    """The environment for a worker process: :data:`KEEP`, ``LC_*``, PYTHONPATH and ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in KEEP or k.startswith("LC_")}
    if pythonpath:
        env["PYTHONPATH"] = caller_pythonpath()
    env["PYTHONUNBUFFERED"] = "1"  # job logs must show prints as they happen
    if extra:
        env.update({str(k): str(v) for k, v in extra.items()})
    return env
