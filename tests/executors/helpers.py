"""Small helpers shared by the executor tests."""

from __future__ import annotations

import time
from collections.abc import Callable


def entry(name: str) -> str:
    """The entrypoint of an action of the test plugin."""
    return f"h8plugin.actions:{name}"


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
