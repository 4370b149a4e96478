"""Property-based tests of the digits plugin: any params its models accept run to the end or
fail with a typed error, and any params they reject are rejected naming the field."""

from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the digits example needs the 'examples' extra")
pytest.importorskip("hypothesis", reason="property-based tests need the 'strategies' extra")

from hypothesis import given, settings
from hypothesis import strategies as st

from synapse_sdk.plugins import ValidationError
from synapse_sdk.plugins.discovery import PluginDiscovery
from synapse_sdk.plugins.runner import run_plugin_record
from synapse_testing.strategies import (
    assert_runs_for_any_params,
    invalid_params,
)

DIGITS = Path(__file__).resolve().parents[1]


def params_model(action: str):
    return PluginDiscovery.from_path(DIGITS).get_action_spec(action).params_model


def test_train_finishes_for_any_valid_hyperparameters():
    # the bundled digits (no dataset id, no checkpoint), one or two epochs: every run trains
    assert_runs_for_any_params(
        DIGITS, "train", dataset=None, checkpoint=None, epochs=st.integers(1, 2), max_examples=8
    )


def test_train_with_any_dataset_or_checkpoint_id_fails_typed():
    # ids the empty backend does not hold end in NotFoundError, never in a bare KeyError
    assert_runs_for_any_params(DIGITS, "train", epochs=1, max_examples=10)


def test_upload_imports_any_valid_slice():
    assert_runs_for_any_params(DIGITS, "upload", limit=st.integers(1, 60), max_examples=10)


@pytest.mark.parametrize("action", ["train", "upload", "infer"])
def test_invalid_params_are_rejected_before_the_run_naming_the_field(action):
    @settings(max_examples=25, database=None, deadline=None)
    @given(invalid_params(params_model(action)))
    def check(bad):
        with pytest.raises(ValidationError) as caught:
            run_plugin_record(str(DIGITS), action, bad.params)
        assert bad.named_by(caught.value), (bad, caught.value.fields)

    check()
