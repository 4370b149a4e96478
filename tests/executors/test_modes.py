"""Choosing an executor by mode name; missing extras name the extra to install."""

from __future__ import annotations

import sys

import pytest

from synapse_sdk.plugins.executors import MODES, Executor, TaskExecutor, get_executor


def test_modes_cover_the_embedded_and_the_ray_executors():
    assert set(MODES) == {"task", "job", "serve", "ray-task", "ray-job", "ray-serve"}


def test_get_executor_builds_the_executor_of_a_mode():
    executor = get_executor("task", workers=1)
    assert isinstance(executor, TaskExecutor)
    assert isinstance(executor, Executor)
    assert executor.size == 1
    executor.close()


def test_an_unknown_mode_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown execution mode 'tsak'; known modes: local, task"):
        get_executor("tsak")


def test_a_missing_ray_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    from synapse_sdk.plugins.executors.ray import RayJobExecutor, RayTaskExecutor

    with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[ray\]'"):
        RayJobExecutor()
    with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[ray\]'"):
        RayTaskExecutor().submit("h8plugin.actions:count", {})


def test_a_missing_serve_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    from synapse_sdk.plugins.executors.serve import build_app

    with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[serve\]'"):
        build_app("h8plugin.actions:count")


def test_importing_the_executors_imports_no_optional_dependency():
    import subprocess

    code = (
        "import sys, synapse_sdk.plugins.executors as e, synapse_sdk.plugins.executors.task, "
        "synapse_sdk.plugins.executors.job, synapse_sdk.plugins.executors.ray, "
        "synapse_sdk.plugins.executors.serve; "
        "print(sorted(m for m in ('ray', 'fastapi', 'uvicorn', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
