"""Backend errors belong to the one PluginError hierarchy and say what was asked and how to fix."""

import pytest

from synapse_sdk.plugins.errors import (
    BackendError,
    BackendNotConfiguredError,
    IntegrityError,
    NotFoundError,
    PluginError,
    UnsafePathError,
)


def test_not_found_names_kind_and_id_and_is_a_lookup_error():
    err = NotFoundError("model", 42, backend="/tmp/x")
    assert isinstance(err, BackendError) and isinstance(err, PluginError)
    assert isinstance(err, LookupError)
    assert (err.kind, err.id, err.backend) == ("model", 42, "/tmp/x")
    assert "No model with id 42 in backend /tmp/x" in str(err)
    assert "synapse backend models" in str(err)


def test_unsafe_path_is_a_value_error_keeping_the_name():
    err = UnsafePathError("../etc/passwd", "it contains '..'")
    assert isinstance(err, ValueError)
    assert err.name == "../etc/passwd"
    assert "Unsafe name '../etc/passwd'" in str(err)


def test_integrity_error_carries_both_checksums():
    err = IntegrityError("blobs/ab/cd", expected="aa", actual="bb")
    assert (err.expected, err.actual, err.path) == ("aa", "bb", "blobs/ab/cd")
    assert "corrupt" in str(err)


def test_backend_not_configured_says_how_to_configure_one():
    err = BackendNotConfiguredError("get_dataset()", action="train")
    text = str(err)
    assert err.helper == "get_dataset()" and err.action == "train"
    assert "client=LocalBackend()" in text
    assert "SYNAPSE_HOME" in text
    assert "synapse run" in text
    with pytest.raises(PluginError):
        raise err
