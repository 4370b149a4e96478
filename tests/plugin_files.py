"""Writing a small plugin (config.yaml plus modules of a ``plugin`` package) for a test."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_plugin(root: Path, config: str, modules: Mapping[str, str]) -> Path:
    """``root/config.yaml`` and ``root/plugin/<name>.py`` for each of ``modules``; ``root``."""
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(config)
    (root / "plugin" / "__init__.py").write_text("")
    for name, source in modules.items():
        (root / "plugin" / f"{name}.py").write_text(textwrap.dedent(source))
    return root
