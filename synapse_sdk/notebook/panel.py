"""``ActionPanel``: a params form, Run / Cancel buttons and a live view of the run.

The action runs in a worker thread, so the kernel keeps handling widget messages while it
runs: that is what lets the Cancel button reach the run's context (a button callback that
blocked the kernel would never see the click).

A displayed panel carries a static HTML twin of itself beside the live widget, refreshed when
a run ends (``update_display``). JupyterLab renders widgets only in a trusted notebook, so a
notebook saved after a run and opened elsewhere (a fresh clone, a colleague's machine, a
static page) shows the finished form and bars from that twin instead of the widget's
``VBox(children=...`` text; a trusted one renders the live widgets from the saved widget state.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..plugins._html import esc
from ..plugins.context import RuntimeContext
from ..plugins.run import Run
from ..plugins.runner import run_action, run_plugin_record
from ..plugins.spec import ActionSpec, as_spec
from ._widgets import COLORS, LABEL_WIDTH, close_tree
from .forms import ParamsForm, WidgetRegistry
from .views import NotebookSink, RunView, duration_text

__all__ = ["ActionPanel"]

_LOG = logging.getLogger("synapse_sdk.notebook")


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

    ``run_sync()`` runs and waits (what a notebook cell executed top to bottom wants),
    ``start()`` runs in the background (what the Run button does), ``wait()`` waits for it,
    ``cancel()`` stops it; ``last_run`` is the latest :class:`Run`, ``runs`` all of them.
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
        # the buttons start where the form's inputs do
        self.run_button = widgets.Button(
            description="Run",
            button_style="primary",
            icon="play",
            layout=widgets.Layout(margin=f"2px 2px 2px calc({LABEL_WIDTH} + 4px)"),
        )
        self.cancel_button = widgets.Button(
            description="Cancel", button_style="danger", icon="stop", disabled=True
        )
        self.keep_button = widgets.Button(
            description="Keep as test",
            icon="save",
            disabled=True,
            tooltip="write a pytest test replaying this run, with its snapshot (testing extra)",
        )
        self._reads: Any = None  # what the latest local run read from the backend
        self.view = RunView(log_lines=log_lines)
        self.status = self.view.status
        self.runs: list[Run] = []
        self.ctx: RuntimeContext | None = None
        self.sink: NotebookSink | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self._cancel_requested = False
        self._display_id = f"synapse-panel-{uuid.uuid4().hex}"
        self._displayed = False
        self._waiter_refreshes = False  # run_sync refreshes the display from its own thread
        description = self.spec.description or ""
        self.header = widgets.HTML(
            f"<b>Action</b> <code>{esc(self.spec.name)}</code>"
            + (f' <span style="color:#555">— {esc(description)}</span>' if description else "")
        )
        self.widget = widgets.VBox(
            [
                self.header,
                self.form.widget,
                widgets.HBox([self.run_button, self.cancel_button, self.keep_button, self.status]),
                self.view.widget,
            ]
        )
        self.widget.add_class("synapse-action-panel")
        self.run_button.on_click(lambda _b: self.start())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.keep_button.on_click(lambda _b: self._keep_clicked())
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
        """True while a run goes on."""
        return not self._done.is_set()

    @property
    def last_run(self) -> Run | None:
        """The latest finished :class:`Run` (None before the first one ends)."""
        return self.runs[-1] if self.runs else None

    def __getattr__(self, name: str) -> Any:
        if name == "run":  # the name of a record once, and of a method elsewhere: say which
            raise AttributeError(
                "ActionPanel has no 'run': panel.run_sync() runs and waits, panel.start() "
                "runs in the background, panel.last_run is the latest Run"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _sync_buttons(self) -> None:
        running = self.running
        self.run_button.disabled = running or not self.form.valid
        self.run_button.tooltip = (
            "" if self.form.valid else f"{len(self.form.errors)} field(s) to fix"
        )
        self.cancel_button.disabled = not running
        last = self.runs[-1] if self.runs else None
        self.keep_button.disabled = running or last is None or not last.ok
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
        client = self.client
        self._reads = None
        if self.mode == "local" and client is not None:
            # what the run reads seeds the fake backend of a test kept from it (keep_as_test)
            from ..clients._reads import ReadRecorder

            if not isinstance(client, ReadRecorder):  # a recorder given is used as it is
                client = ReadRecorder(client)
            self._reads = client
        ctx = RuntimeContext(env=env, client=client, action_name=self.spec.name)
        self.view.reset()
        sink = NotebookSink(self.view, interval=self.interval, action=self.spec.name)
        self.ctx, self.sink = ctx, sink
        self._cancel_requested = False
        self._done.clear()
        self.status.value = _status("running", "Running…")
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

            self.status.value = _status("failed", "Could not run")
            self.view.show_error(exc, traceback.format_exc())
        else:
            self.runs.append(run)
            self.view.show_run(run, cancelled_by_user=self._cancel_requested)
            self.status.value = _run_status(run)
        finally:
            self._done.set()
            self._sync_buttons()
            if not self._waiter_refreshes:
                self.refresh_display()

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

    def keep_as_test(self, **options: Any) -> Any:
        """Keep the latest run as a pytest test of the plugin (the "Keep as test" button):
        :func:`synapse_testing.save_as_test` with what the run read; ``options`` go to it
        (``name``, ``overwrite``, ``tests_dir``, ...). Needs the ``testing`` extra."""
        last = self.last_run
        if last is None:
            raise RuntimeError("no run to keep yet: run the action first")
        try:
            from synapse_testing import save_as_test
        except ImportError as exc:
            raise ImportError(
                "keeping a run as a test needs the testing kit: pip install 'synapse-sdk[testing]'"
            ) from exc
        plugin = self._plugin_ref[0] if self._plugin_ref is not None else self.spec
        return save_as_test(last, plugin, reads=self._reads, env=self.env, **options)

    def _keep_clicked(self) -> None:
        try:
            saved = self.keep_as_test()
        except Exception as exc:  # shown where the user clicked, never lost
            message = getattr(exc, "message", None) or str(exc)
            self.status.value = _status("failed", f"Not kept: {message}")
        else:
            self.status.value = _status("succeeded", f"Kept as {saved.test_file.name}")

    def cancel(self) -> None:
        """Ask the running action to stop at its next cancellation point."""
        if self.ctx is not None and self.running:
            self._cancel_requested = True
            self.ctx.cancel()
            self.status.value = _status("cancelled", "Cancelling…")

    def wait(self, timeout: float | None = None) -> Run | None:
        """Block until the current run ends; return the latest ``Run``.

        Raises TimeoutError when it is still running after ``timeout`` seconds.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"action {self.spec.name!r} still running after {timeout} s")
        thread = self._thread
        if thread is not None:
            thread.join()
        return self.last_run

    def run_sync(self, params: Any = None, timeout: float | None = None) -> Run | None:
        """Start a run and wait for it (what a notebook cell executed top to bottom wants).

        The panel's displayed output is refreshed from this thread, so a notebook executed
        from top to bottom (nbclient, papermill) saves the finished view.
        """
        self._waiter_refreshes = True
        try:
            self.start(params)
            return self.wait(timeout)
        finally:
            self._waiter_refreshes = False
            if not self.running:
                self.refresh_display()

    def close(self, timeout: float | None = 10.0) -> None:
        """Cancel a running action, wait for it, and close every widget of the panel."""
        self.cancel()
        if self.running:
            self.wait(timeout)
        self.view.close()
        close_tree(self.widget)

    # -- display -----------------------------------------------------------------------------

    def snapshot_html(self) -> str:
        """The panel as plain HTML: header, form, status, bars, metrics, logs, result."""
        return (
            '<div class="synapse-snapshot" style="font-size:13px">'
            f"<div>{self.header.value}</div>{self.form.snapshot_html()}"
            f'<div style="margin:6px 0 6px {LABEL_WIDTH}">{self.status.value}</div>'
            f"{self.view.snapshot_html()}"
            f'<div style="color:{COLORS["muted"]};font-size:11px;margin-top:4px">'
            "Saved view of the panel: run the notebook to use it.</div></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, dict):
            data = {**data, "text/plain": repr(self), "text/html": self.snapshot_html()}
        return data

    def _ipython_display_(self) -> None:
        """Display the panel under a display id, so the end of a run can refresh the output
        (its static HTML twin) in place."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)
        self._displayed = True

    def refresh_display(self) -> None:
        """Update every output where the panel is displayed (its static twin follows the
        widgets); a no-op outside IPython or before the panel is displayed."""
        if not self._displayed:
            return
        from IPython.display import update_display

        try:
            update_display(self._repr_mimebundle_(), raw=True, display_id=self._display_id)
        except Exception as exc:  # the run is recorded; a stale static twin must not hide it
            _LOG.warning("could not refresh the output of %r: %s", self, exc)

    def __repr__(self) -> str:
        last = self.last_run
        state = "running" if self.running else (last.status.value if last else "idle")
        return f"ActionPanel({self.spec.name!r}, {state})"


def _status(state: str, text: str) -> str:
    return f'<span style="color:{COLORS.get(state, COLORS["muted"])}">{esc(text)}</span>'


def _run_status(run: Run) -> str:
    """The status line after a run, in words: 'Done in 8.4 s', 'Cancelled after 1.6 s'."""
    took = duration_text(run.duration)
    words = {
        "succeeded": f"\u2714 Done in {took}",
        "failed": f"\u2716 Failed after {took}",
        "cancelled": f"Cancelled after {took}",
    }
    status = run.status.value
    return _status(status, words.get(status, f"{status} after {took}"))
