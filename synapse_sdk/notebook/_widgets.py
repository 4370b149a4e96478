"""What the form, the live view and the panel share: the label column, colours, closing."""

from __future__ import annotations

import ipywidgets as widgets

# Labels of form rows and progress bars use one column, so inputs and bars start at one x.
LABEL_WIDTH = "170px"
LABEL_PX = 170
BAR_WIDTH = "300px"  # tqdm.notebook's bar width

# Colours of a run's states (the status line, the static snapshot's bars).
COLORS = {
    "running": "#1976d2",
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "cancelled": "#ef6c00",
    "muted": "#777",
}
# ipywidgets bar_style -> the colour the static snapshot paints a bar with
BAR_COLORS = {
    "success": "#4caf50",
    "danger": "#f44336",
    "warning": "#ff9800",
    "info": "#00bcd4",
    "": "#2196f3",
}


def close_tree(widget: widgets.Widget) -> None:
    """Close ``widget`` and every widget inside it (their models leave the kernel)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    layout = getattr(widget, "layout", None)
    if isinstance(layout, widgets.Widget):
        layout.close()
    style = getattr(widget, "style", None)
    if isinstance(style, widgets.Widget):
        style.close()
    widget.close()
