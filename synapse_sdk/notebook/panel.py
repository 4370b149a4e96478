"""``ActionPanel``: a params form, Run / Cancel buttons and a live view of the run.

The action runs in a worker thread, so the kernel keeps handling widget messages while it
runs: that is what lets the Cancel button reach the run's context (a button callback that
blocked the kernel would never see the click).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..plugins._html import esc, traceback_html
from ..plugins.context import RuntimeContext
from ..plugins.run import Run
from ..plugins.runner import run_action, run_plugin_record
from ..plugins.spec import ActionSpec, as_spec
from .forms import ParamsForm, WidgetRegistry
from .views import NotebookSink, RunView, close_tree

__all__ = ["ActionPanel"]


def _resolve(action: Any, action_name: str | None) -> tuple[ActionSpec, Mapping[str, str]]:
    """The action's spec and the env its runs start from (config.yaml's, for a plugin)."""
    if isinstance(action, (str, os.PathLike)):
        if action_name is None:
            raise TypeError(
                f"ActionPanel({action!r}) needs the action name too: "
                f"ActionPanel({str(action)!r}, 'train')"
            )
        from ..plugins.loading import resolve

        resolved = resolve(action, action_name)
        return resolved.spec, resolved.env
    if action_name is not None:
        raise TypeError("action_name is only for a plugin path or module name")
    return as_spec(action), {}


class ActionPanel:
    """Run an action from a notebook: form, Run / Cancel, live progress, metrics, logs, result.

    ``action`` is an ``@action`` function, a ``BaseAction`` subclass, an ActionSpec, or a
    plugin directory / config.yaml / module name followed by the action name. ``params`` pre-fill
    the form; ``env`` and ``client`` go to each run's :class:`RuntimeContext`. ``interval`` is
    the minimum time between two updates of a widget (0.1 s: at most 10 updates/s). ``mode``
    runs the action in-process (``'local'``) or with an executor (``'task'``, ``'job'``,
    ``'ray-task'``, ...), exactly as ``run_plugin(..., mode=...)`` does.
    """

    def __init__(
        self,
        action: Any,
        action_name: str | None = None,
        *,
        params: Any = None,
        env: Mapping[str, str] | None = None,
        client: Any = None,
        registry: WidgetRegistry | None = None,
        interval: float = 0.1,
        log_lines: int = 15,
        mode: str = "local",
    ) -> None:
        self.spec, self._config_env = _resolve(action, action_name)
        self.mode = mode
        # A panel built from a plugin path/module runs it by reference in other modes.
        self._plugin_ref = (action, action_name) if action_name is not None else None
        self.env = env
        self.client = client
        self.interval = interval
        self.form = ParamsForm(self.spec.params_model, registry=registry, values=params)
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.cancel_button = widgets.Button(
            description="Cancel", button_style="danger", icon="stop", disabled=True
        )
        self.view = RunView(log_lines=log_lines)
        self.status = self.view.status
        self.run: Run | None = None
        self.runs: list[Run] = []
        self.ctx: RuntimeContext | None = None
        self.sink: NotebookSink | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        description = self.spec.description or ""
        self.header = widgets.HTML(
            f"<b>Action</b> <code>{esc(self.spec.name)}</code>"
            + (f' <span style="color:#555">— {esc(description)}</span>' if description else "")
        )
        self.widget = widgets.VBox(
            [
                self.header,
                self.form.widget,
                widgets.HBox([self.run_button, self.cancel_button, self.status]),
                self.view.widget,
            ]
        )
        self.widget.add_class("synapse-action-panel")
        self.run_button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.form.on_change(self._sync_buttons)
        self._sync_buttons()

    @classmethod
    def from_plugin(
        cls, plugin: str | os.PathLike[str], action: str, **options: Any
    ) -> ActionPanel:
        """A panel for ``action`` of the plugin at ``plugin`` (dir, config.yaml or module)."""
        return cls(plugin, action, **options)

    # -- state -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def _sync_buttons(self) -> None:
        running = self.running
        self.run_button.disabled = running or not self.form.valid
        self.run_button.tooltip = (
            "" if self.form.valid else f"{len(self.form.errors)} field(s) to fix"
        )
        self.cancel_button.disabled = not running
        self.form.read_only = running  # the params of a run that goes on cannot change

    # -- running -----------------------------------------------------------------------------

    def start(self, params: Any = None) -> None:
        """Start a run with the form's params (or ``params``, which also fill the form)."""
        if self.running:
            raise RuntimeError(
                f"action {self.spec.name!r} is already running; cancel it or panel.wait() first"
            )
        if params is not None:
            self.form.set_value(params)
        validated = self.form.value  # raises ValidationError naming the invalid fields
        env = {**self._config_env, **(self.env or {})}
        ctx = RuntimeContext(env=env, client=self.client, action_name=self.spec.name)
        self.view.reset()
        sink = NotebookSink(self.view, interval=self.interval, action=self.spec.name)
        self.ctx, self.sink = ctx, sink
        self._done.clear()
        self.status.value = '<span style="color:#1976d2">running…</span>'
        self._sync_buttons()
        self._thread = threading.Thread(
            target=self._work,
            args=(validated, ctx, sink),
            name=f"synapse-run-{self.spec.name}",
            daemon=True,
        )
        self._thread.start()

    def _work(self, params: Any, ctx: RuntimeContext, sink: NotebookSink) -> None:
        try:
            run = self._execute(params, ctx, sink)
        except BaseException as exc:  # the runner itself failed: show it, never lose it
            import traceback

            self.status.value = '<span style="color:#c62828">error</span>'
            self.view.result.value = traceback_html(
                f"{type(exc).__name__}: {exc}", traceback.format_exc()
            )
        else:
            self.run = run
            self.runs.append(run)
            self.view.show_run(run)
            self.status.value = _status_html(run, sink)
        finally:
            self._done.set()
            self._sync_buttons()

    def _execute(self, params: Any, ctx: RuntimeContext, sink: NotebookSink) -> Run:
        # Every mode goes through the front door, as run_plugin and `synapse run --mode` do:
        # in other modes events are relayed to ctx (the widgets update live) and Cancel
        # reaches the worker.
        if self._plugin_ref is not None:
            plugin, action_name = self._plugin_ref
            return run_plugin_record(
                plugin, action_name, params, mode=self.mode, ctx=ctx, sinks=[sink]
            )
        return run_action(self.spec, params, mode=self.mode, ctx=ctx, sinks=[sink])

    def cancel(self) -> None:
        """Ask the running action to stop at its next cancellation point."""
        if self.ctx is not None and self.running:
            self.ctx.cancel()
            self.status.value = '<span style="color:#ef6c00">cancelling…</span>'

    def wait(self, timeout: float | None = None) -> Run | None:
        """Block until the current run ends; return the latest ``Run``.

        Raises TimeoutError when it is still running after ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"action {self.spec.name!r} still running after {timeout} s")
        thread = self._thread
        if thread is not None:
            thread.join()
        return self.run

    def run_sync(self, params: Any = None, timeout: float | None = None) -> Run | None:
        """Start a run and wait for it (what a notebook cell executed top to bottom wants)."""
        self.start(params)
        return self.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Cancel a running action, wait for it, and close every widget of the panel."""
        self.cancel()
        if self.running:
            self.wait(timeout)
        self.view.close()
        close_tree(self.widget)

    # -- display -----------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "running" if self.running else (self.run.status.value if self.run else "idle")
        return f"ActionPanel({self.spec.name!r}, {state})"


def _status_html(run: Run, sink: NotebookSink) -> str:
    colors = {"succeeded": "#2e7d32", "failed": "#c62828", "cancelled": "#ef6c00"}
    status = run.status.value
    return (
        f'<span style="color:{colors.get(status, "#555")}">{esc(status)}</span> '
        f'<span style="color:#777">in {run.duration:.2f} s · {sink.events:,} events shown '
        f"in {sink.flushes} updates</span>"
    )
