"""Small helpers shared by the executor tests."""

from __future__ import annotations

import base64
import hashlib
import time
import zipfile
from collections.abc import Callable
from pathlib import Path


def entry(name: str) -> str:
    """The entrypoint of an action of the test plugin."""
    return f"h8plugin.actions:{name}"


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def write_wheel(directory: Path, name: str, version: str, code: str) -> None:
    """A minimal pure-Python wheel of one module ``name`` with ``code``."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": code,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    files[f"{dist}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
