"""Notebook layer: params models as ipywidgets forms and live, cancellable action runs.

Needs the ``notebook`` extra (``pip install 'synapse-sdk[notebook]'``); the core never imports
this package::

    from synapse_sdk.notebook import ActionPanel
    panel = ActionPanel(train)   # form + Run / Cancel + live progress, metrics, logs, result
    panel                        # display it; Run / Cancel, or from code:
    run = panel.run_sync()       # run and wait; panel.last_run is the latest Run
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in the core-only CI environment
    raise ImportError(
        "synapse_sdk.notebook needs ipywidgets: pip install 'synapse-sdk[notebook]'"
    ) from exc

from .forms import FieldEditor, FieldSpec, ParamsForm, WidgetRegistry, register_widget
from .panel import ActionPanel
from .views import NotebookSink, RunView, sparkline_svg

__all__ = [
    "ActionPanel",
    "FieldEditor",
    "FieldSpec",
    "NotebookSink",
    "ParamsForm",
    "RunView",
    "WidgetRegistry",
    "register_widget",
    "sparkline_svg",
]
