"""Without ipywidgets, importing the notebook layer names the extra to install."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_missing_ipywidgets_raises_import_error_naming_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m.startswith("synapse_sdk.notebook")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[notebook\]'") as info:
        importlib.import_module("synapse_sdk.notebook")
    assert isinstance(info.value.__cause__, ImportError)


def test_the_core_does_not_import_the_notebook_layer():
    code = (
        "import sys, synapse_sdk.plugins as p; "
        "from synapse_sdk.plugins import run_action; "
        "bad = [m for m in sys.modules if m.startswith(('ipywidgets', 'synapse_sdk.notebook'))]; "
        "assert not bad, bad"
    )
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)
