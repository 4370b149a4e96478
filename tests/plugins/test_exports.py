"""The public doors of the package: sorted __all__, pinned."""

import importlib

import pytest

import synapse_sdk.plugins


def test_plugins_all_is_sorted_and_pinned():
    assert synapse_sdk.plugins.__all__ == sorted(synapse_sdk.plugins.__all__)
    assert set(synapse_sdk.plugins.__all__) >= {
        "ActionSpec",
        "BaseAction",
        "NoResult",
        "Run",
        "RunStatus",
        "RuntimeContext",
        "action",
        "run_action",
        "run_plugin",
    }


@pytest.mark.parametrize("name", synapse_sdk.plugins.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(synapse_sdk.plugins, name) is not None


@pytest.mark.parametrize(
    "module",
    [
        "synapse_sdk.plugins.enums",
        "synapse_sdk.plugins.types",
        "synapse_sdk.plugins.errors",
        "synapse_sdk.plugins.events",
    ],
)
def test_submodule_all_is_sorted_and_resolves(module):
    mod = importlib.import_module(module)
    assert mod.__all__ == sorted(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="NoSuchThing"):
        synapse_sdk.plugins.NoSuchThing  # noqa: B018
