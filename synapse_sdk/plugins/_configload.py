"""config.yaml as validated plain data: the fast check decides, the models explain.

:func:`load_config_data` is what loading a plugin to run it calls. It joins the two halves of
the config: :mod:`~synapse_sdk.plugins._configfile` (reading, YAML, the pydantic-free check)
below, and :mod:`~synapse_sdk.plugins.config` (the pydantic models, imported only when the
check steps aside) above. Keeping the join here is what lets ``_configfile`` never import
``config``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._configfile import check, load_yaml_mapping, read_config_text

__all__ = ["load_config_data", "validated_data"]


def load_config_data(file: Path) -> dict[str, Any]:
    """The validated config.yaml at ``file`` as plain data (``PluginConfig(...).model_dump()``).

    The fast check decides the common case without importing pydantic; otherwise the pydantic
    models validate the file and raise ConfigError with file:line:column.
    """
    text = read_config_text(file)
    return validated_data(load_yaml_mapping(text, path=str(file)), text=text, path=str(file))


def validated_data(data: dict[str, Any], *, text: str, path: str) -> dict[str, Any]:
    """``data`` (parsed from ``text``, read at ``path``) validated, as ``model_dump()`` gives it."""
    checked = check(data)
    if checked is not None:
        return checked
    from .config import validate_config

    return validate_config(data, text, path).model_dump()
