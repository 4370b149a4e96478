"""The digits plugin's runs kept as tests with save_as_test: the saved test passes as written,
and fails with a readable diff once the plugin's behaviour changes.

``test_saved_digits_infer.py`` beside this file is such a saved test, committed: an infer run
replayed on a fake backend seeded with the model it read.
"""

import shutil
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the digits example needs the 'examples' extra")
pytest.importorskip("syrupy", reason="snapshots need the 'testing' extra")

# imported before pytester's fixture snapshots sys.modules: modules first imported during a
# test that uses it are dropped at its teardown, and a later run would meet stale copies
import synapse_sdk.plugins.loading  # noqa: F401  (run_plugin_record loads it lazily)
from synapse_sdk.clients._reads import ReadRecorder
from synapse_sdk.plugins.runner import run_plugin_record
from synapse_testing import FakeBackend, save_as_test

DIGITS = Path(__file__).resolve().parents[1]


def copy_of_digits(where: Path) -> Path:
    """The plugin without its tests: the saved test is the only one in the copy."""
    return Path(
        shutil.copytree(DIGITS, where, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    )


def test_a_training_run_kept_as_a_test_passes_then_catches_a_changed_loss(pytester):
    plugin = copy_of_digits(pytester.path / "digits")
    backend = FakeBackend()
    run_plugin_record(plugin, "upload", {"limit": 120}, client=backend).raise_for_status()
    reads = ReadRecorder(backend)
    run = run_plugin_record(plugin, "train", {"dataset": 1, "epochs": 2}, client=reads)
    assert run.ok, run.error

    # train's result names its backend (stored_in): the replay's fake backend is another one,
    # so the replay's snapshot is kept as the baseline
    saved = save_as_test(run, plugin, reads=reads, baseline="replay")

    seed = (saved.data_dir / "backend.json").read_text()
    assert seed.count('"sha256"') >= 120  # the 120 images it read (and their index)
    pytester.runpytest_subprocess("-p", "no:cacheprovider", str(plugin / "tests")).assert_outcomes(
        passed=1
    )

    train = plugin / "plugin" / "train.py"
    train.write_text(train.read_text().replace('"loss": round(loss, 5)', '"loss": round(loss, 2)'))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-vv", str(plugin / "tests"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*-*metrics [[]train[]] epoch=1 loss=*", "*+*metrics [[]train[]] epoch=1 loss=*"]
    )


def test_an_infer_run_saved_twice_needs_overwrite(tmp_path):
    plugin = copy_of_digits(tmp_path / "digits")
    backend = FakeBackend()
    backend.add_model(
        "digits",
        content=(DIGITS / "tests" / "saved" / "test_saved_digits_infer" / "files.bin").read_bytes(),
        file_name="digits-model.npz",
    )
    reads = ReadRecorder(backend)
    run = run_plugin_record(plugin, "infer", {"samples": [0, 1]}, client=reads)
    assert run.ok, run.error
    first = save_as_test(run, plugin, reads=reads)

    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_as_test(run, plugin, reads=reads)
    again = save_as_test(run, plugin, reads=reads, overwrite=True)
    assert again.snapshot_file.read_text() == first.snapshot_file.read_text()
