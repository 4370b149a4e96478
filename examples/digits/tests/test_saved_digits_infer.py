"""A run of 'infer' kept as a test by synapse_testing.save_as_test.

The action runs again with the same params on the kit's FakeBackend, seeded with
what the run read (saved/test_saved_digits_infer/),
and the run is compared with the saved one (its params, result, error and every event:
__snapshots__/test_saved_digits_infer.ambr). A change you meant? Accept it with
    pytest test_saved_digits_infer.py --snapshot-update

(Written by examples/digits/tests/test_digits_saved.py's way: upload, train, then an infer run
on a FakeBackend wrapped in a ReadRecorder, saved. The importorskip line was added by hand.)
"""

from pathlib import Path

import pytest

from synapse_testing.saved import seed_from

pytest.importorskip("sklearn", reason="the digits example needs the 'examples' extra")

HERE = Path(__file__).resolve().parent
PLUGIN = HERE.parents[0]
PARAMS = {
    "model": None,
    "batch_size": 64,
    "samples": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    "images": None,
}


@pytest.mark.synapse(backend=seed_from(HERE / "saved" / "test_saved_digits_infer"))
def test_saved_digits_infer(synapse_run, synapse_snapshot):
    run = synapse_run(PLUGIN, "infer", PARAMS)
    assert run == synapse_snapshot
