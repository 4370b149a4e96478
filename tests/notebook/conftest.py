"""Fixtures for the notebook layer: skip without the extra, and a recording comm."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

pytest.importorskip(
    "ipywidgets", reason="needs the notebook extra: pip install 'synapse-sdk[notebook]'"
)


class RecordingComm:
    """Stands in for a kernel comm: records every message a widget sends to the front end."""

    kernel = "fake-kernel"
    _ids = itertools.count()

    def __init__(self, log: list[tuple[str, dict[str, Any]]], **kwargs: Any) -> None:
        self.comm_id = f"comm-{next(self._ids)}"
        self.log = log
        self.data = kwargs.get("data", {})

    def send(self, data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        self.log.append((self.comm_id, data))

    def on_msg(self, callback: Any) -> None:
        pass

    def on_close(self, callback: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


class CommLog:
    """Every widget message sent while the fixture is active, by comm (widget model) id."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []

    def updates_to(self, widget: Any) -> list[dict[str, Any]]:
        """The state updates sent for ``widget`` (one per front-end message)."""
        comm_id = widget.comm.comm_id
        return [
            data["state"]
            for cid, data in self.messages
            if cid == comm_id and data.get("method") == "update"
        ]


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> CommLog:
    """Widgets built in the test talk to a recording comm (the kernel boundary)."""
    import comm

    log = CommLog()
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(log.messages, **kw))
    return log


@pytest.fixture(autouse=True)
def _close_widgets() -> Any:
    """Close the widgets a test made, so none outlive it (ipywidgets keeps every instance)."""
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    yield
    for model_id, widget in list(_instances.items()):
        if model_id not in before:
            widget.close()
