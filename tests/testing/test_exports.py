"""The public surface of synapse_testing is pinned, and importing the plugin stays cheap."""

import importlib.util
import json
import subprocess
import sys

import pytest

import synapse_testing

HAS_SYRUPY = importlib.util.find_spec("syrupy") is not None

EXPECTED = [
    "ANY",
    "ActionRunner",
    "AnyStep",
    "BackendCall",
    "EventLog",
    "EventViews",
    "FakeBackend",
    "Masker",
    "RecordingContext",
    "SynapseSnapshotExtension",
    "assert_logged",
    "assert_metrics",
    "assert_model_uploaded",
    "assert_progress_complete",
    "assert_warned",
    "save_as_test",
    "snapshot_data",
]


def test_all_is_sorted_and_pinned():
    assert synapse_testing.__all__ == sorted(synapse_testing.__all__)
    assert synapse_testing.__all__ == EXPECTED


def test_every_exported_name_resolves():
    for name in synapse_testing.__all__:
        if name == "SynapseSnapshotExtension" and not HAS_SYRUPY:
            with pytest.raises(ImportError, match=r"pip install 'synapse-sdk\[testing\]'"):
                getattr(synapse_testing, name)
            continue
        assert getattr(synapse_testing, name) is not None, name
    assert set(EXPECTED) <= set(dir(synapse_testing))


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match=r"^module 'synapse_testing' has no attribute 'Nope'$"):
        synapse_testing.Nope  # noqa: B018  (the attribute access is the test)


PROBE = """
import sys, json
import synapse_testing.plugin
print(json.dumps(sorted(m for m in ("syrupy", "pydantic", "synapse_sdk") if m in sys.modules)))
"""


def test_importing_the_plugin_loads_neither_syrupy_nor_pydantic():
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", PROBE], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout) == []
    assert proc.stderr == ""
