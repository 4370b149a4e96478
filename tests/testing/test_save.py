"""save_as_test: a run kept as a test passes at once and fails when the action changes."""

from pathlib import Path

import pytest

from synapse_sdk.clients import LocalBackend
from synapse_sdk.clients._reads import ReadRecorder
from synapse_sdk.plugins.runner import run_plugin_record
from synapse_testing import save_as_test
from synapse_testing._save import SavedTestExistsError, SaveTestError

pytest.importorskip("syrupy")

CONFIG = """\
name: Counter
code: counter
version: 0.1.0
category: neural_net
description: counts
actions:
  count:
    entrypoint: plugin.count:count
    description: Count the units of a dataset
"""

ACTION = """\
from pydantic import BaseModel
from synapse_sdk.plugins import RuntimeContext, action


class CountParams(BaseModel):
    dataset: int
    steps: int = 3
    offset: int = 0


@action(params=CountParams)
def count(params: CountParams, ctx: RuntimeContext) -> dict:
    units = ctx.client.list_data_units(params.dataset, offset=params.offset)
    size = sum(len(ctx.client.read_file(u["files"]["image"]["sha256"])) for u in units)
    for i in range(params.steps):
        ctx.set_progress(i + 1, params.steps, step="count")
    ctx.log("counted", {"units": len(units)})
    return {"units": len(units), "bytes": size, "first": units[0]["meta"]["label"]}
"""


def make_plugin(root: Path, action: str = ACTION) -> Path:
    (root / "plugin").mkdir(parents=True)
    (root / "config.yaml").write_text(CONFIG)
    (root / "plugin" / "__init__.py").write_text("")
    (root / "plugin" / "count.py").write_text(action)
    return root


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    backend = LocalBackend(tmp_path / "home")
    for name in ("a", "b"):  # the run's dataset is not the first: ids must be kept
        backend.create_dataset(name)
    dataset = backend.create_dataset("digits")
    units = [({"image": bytes([i]) * (10 + i)}, {"label": i}) for i in range(5)]
    backend.add_data_units(dataset["id"], units)
    return backend


def run_counter(plugin: Path, backend: LocalBackend, **params):
    reads = ReadRecorder(backend)
    run = run_plugin_record(plugin, "count", {"dataset": 3, **params}, client=reads)
    assert run.ok, run.error
    return run, reads


def test_a_saved_run_passes_right_away(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    run, reads = run_counter(plugin, backend)

    saved = save_as_test(run, plugin, reads=reads)

    assert saved.test_file == plugin / "tests" / "test_saved_counter_count.py"
    assert saved.snapshot_file.read_text().count("# name: test_saved_counter_count") == 1
    assert sorted(p.name for p in saved.data_dir.iterdir()) == ["backend.json", "files.bin"]
    assert saved.verified and not saved.outline
    assert sum(saved.sizes.values()) > 0
    source = saved.test_file.read_text()
    assert 'PARAMS = {"dataset": 3, "steps": 3, "offset": 0}' in source
    assert "assert run == synapse_snapshot" in source
    result = pytester.runpytest("-p", "no:cacheprovider", str(plugin / "tests"))
    result.assert_outcomes(passed=1)


def test_a_changed_result_fails_with_a_diff_of_the_result(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    run, reads = run_counter(plugin, backend)
    save_as_test(run, plugin, reads=reads)

    source = plugin / "plugin" / "count.py"
    source.write_text(ACTION.replace('"bytes": size', '"bytes": size + 1'))
    result = pytester.runpytest("-p", "no:cacheprovider", str(plugin / "tests"))

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*-*'bytes': 60,*", "*+*'bytes': 61,*"])


def test_a_changed_progress_timeline_fails_naming_the_events(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    run, reads = run_counter(plugin, backend)
    save_as_test(run, plugin, reads=reads)

    changed = ACTION.replace(
        "ctx.set_progress(i + 1, params.steps", "ctx.set_progress(i, params.steps"
    )
    (plugin / "plugin" / "count.py").write_text(changed)
    result = pytester.runpytest("-p", "no:cacheprovider", "-vv", str(plugin / "tests"))

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*-*'progress [[]count[]] 3/3',*", "*+*'progress [[]count[]] 0/3',*"]
    )


def test_a_long_run_is_kept_as_its_outline_and_passes(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    run, reads = run_counter(plugin, backend, steps=1000)
    assert run.omitted  # the run's record kept samples only

    saved = save_as_test(run, plugin, reads=reads)

    assert saved.outline
    snapshot = saved.snapshot_file.read_text()
    assert "'progress [count] 1/1000'," in snapshot
    assert "'progress [count] 1000/1000'," in snapshot
    assert "'progress': 1000," in snapshot
    assert "outline(run) == synapse_snapshot" in saved.test_file.read_text()
    pytester.runpytest("-p", "no:cacheprovider", str(plugin / "tests")).assert_outcomes(passed=1)

    (plugin / "plugin" / "count.py").write_text(
        ACTION.replace("range(params.steps)", "range(params.steps - 1)")
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-vv", str(plugin / "tests"))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*-*'progress': 1000,*", "*+*'progress': 999,*"])


def test_saving_twice_does_not_clobber_without_overwrite(tmp_path, backend):
    plugin = make_plugin(tmp_path / "counter")
    run, reads = run_counter(plugin, backend)
    first = save_as_test(run, plugin, reads=reads)
    before = first.snapshot_file.read_text()
    other, other_reads = run_counter(plugin, backend, steps=4)

    with pytest.raises(SavedTestExistsError) as caught:
        save_as_test(other, plugin, reads=other_reads)

    assert caught.value.paths == [first.test_file, first.snapshot_file, first.data_dir]
    assert "overwrite=True" in str(caught.value)
    assert isinstance(caught.value, FileExistsError)
    assert first.snapshot_file.read_text() == before
    second = save_as_test(other, plugin, reads=other_reads, overwrite=True)
    assert "'progress [count] 4/4'," in second.snapshot_file.read_text()
    named = save_as_test(other, plugin, reads=other_reads, name="four steps")
    assert named.test_file.name == "test_four_steps.py"


def test_seeds_are_kept_within_the_size_limit(tmp_path, backend):
    plugin = make_plugin(tmp_path / "counter")
    run, reads = run_counter(plugin, backend)

    with pytest.raises(SaveTestError) as caught:
        save_as_test(run, plugin, reads=reads, max_seed_bytes=40)

    assert caught.value.action == "count"
    assert "over the limit of 40 bytes" in str(caught.value)
    assert "max_seed_bytes" in caught.value.hint
    assert not (plugin / "tests").exists()


def test_a_listing_from_an_offset_keeps_the_units_before_it(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    run, reads = run_counter(plugin, backend, offset=3)
    assert run.result["first"] == 3

    save_as_test(run, plugin, reads=reads)

    pytester.runpytest("-p", "no:cacheprovider", str(plugin / "tests")).assert_outcomes(passed=1)


def test_a_replay_that_differs_is_refused_with_the_differences(tmp_path, backend):
    action = ACTION.replace(
        '"units": len(units),', '"units": len(units), "backend": repr(ctx.client),'
    )
    plugin = make_plugin(tmp_path / "counter", action)
    run, reads = run_counter(plugin, backend)

    with pytest.raises(SaveTestError) as caught:
        save_as_test(run, plugin, reads=reads)

    message = str(caught.value)
    assert "differs from it" in message
    assert "-    'backend': \"LocalBackend('<tempdir-1>/" in message
    assert "+    'backend': 'FakeBackend(" in message
    assert "baseline='replay'" in message
    assert not (plugin / "tests").exists()
    saved = save_as_test(run, plugin, reads=reads, baseline="replay")
    assert "'backend': 'FakeBackend(" in saved.snapshot_file.read_text()


def test_a_failed_run_is_kept_as_a_test_of_its_failure(pytester, backend):
    plugin = make_plugin(pytester.path / "counter")
    reads = ReadRecorder(backend)
    run = run_plugin_record(plugin, "count", {"dataset": 3, "offset": 9}, client=reads)
    assert not run.ok  # no unit at offset 9: IndexError

    saved = save_as_test(run, plugin, reads=reads)

    assert "check=False" in saved.test_file.read_text()
    assert "'type': 'ExecutionError'" in saved.snapshot_file.read_text()
    pytester.runpytest("-p", "no:cacheprovider", str(plugin / "tests")).assert_outcomes(passed=1)


def test_the_plugin_is_found_in_the_loading_cache(tmp_path, backend):
    plugin = make_plugin(tmp_path / "counter")
    (plugin / "config.yaml").write_text(CONFIG.replace("  count:", "  tally_once:"))
    reads = ReadRecorder(backend)
    run = run_plugin_record(plugin, "tally_once", {"dataset": 3}, client=reads)

    saved = save_as_test(run, reads=reads)

    assert saved.test_file == plugin / "tests" / "test_saved_counter_tally_once.py"


def test_an_action_name_two_loaded_plugins_have_needs_the_plugin(tmp_path, backend):
    first = make_plugin(tmp_path / "one")
    make_plugin(tmp_path / "two")
    run_counter(tmp_path / "two", backend)
    run, reads = run_counter(first, backend)
    assert run.plugin == str(first.resolve())  # a run of a plugin knows which one
    run.plugin = None  # a run that does not (made by another front end, say)

    with pytest.raises(SaveTestError) as caught:
        save_as_test(run, reads=reads)

    assert str(tmp_path / "one") in str(caught.value)
    assert str(tmp_path / "two") in str(caught.value)
    assert caught.value.hint.startswith("pass the plugin")


def test_an_action_of_no_plugin_says_what_to_pass(backend):
    from synapse_sdk.plugins import action
    from synapse_sdk.plugins.runner import run_action

    @action
    def local(params: dict, ctx) -> int:
        return 1

    run = run_action(local, {})
    with pytest.raises(SaveTestError) as caught:
        save_as_test(run, local)
    assert "cannot import it" in str(caught.value)
    assert "save_as_test(run, 'path/to/plugin')" in caught.value.hint


def test_read_recorder_keeps_reads_not_what_the_run_made(tmp_path, backend):
    reads = ReadRecorder(backend)
    dataset = reads.get_dataset(3)
    units = reads.list_data_units(3, offset=1, limit=2)
    reads.read_file(units[0]["files"]["image"]["sha256"])
    made = reads.create_dataset("new")
    reads.add_data_units(made["id"], [({"image": b"fresh"}, {})])
    reads.list_data_units(made["id"])
    model_file = tmp_path / "m.bin"
    model_file.write_bytes(b"weights")
    model = reads.create_model(model_file, name="m")
    reads.get_model(model["id"])

    got = reads.reads()

    assert got.datasets == {3: dataset}
    assert got.data_units == {3: {1: units[0], 2: units[1]}}
    assert got.files == {units[0]["files"]["image"]["sha256"]}
    assert got.models == {}
    assert got.first_created == {"dataset": made["id"], "data_unit": 6, "model": model["id"]}
    assert reads.root == backend.root  # anything else is the wrapped client's


MODULE = """\
from synapse_sdk.plugins import RuntimeContext, action


@action
def greet(params: dict, ctx: RuntimeContext) -> str:
    ctx.set_progress(1, 1)
    return "hello " + params.get("name", "world") + " from " + ctx.env.get("PLACE", "?")
"""


def test_an_action_importable_from_a_module_is_saved_with_its_env(pytester):
    from synapse_sdk.plugins.runner import run_action

    pytester.makepyfile(greetings=MODULE)
    pytester.syspathinsert()
    import greetings

    run = run_action(greetings.greet, {"name": "ada"}, env={"PLACE": "here"})
    saved = save_as_test(
        run, greetings.greet, tests_dir=pytester.path / "tests", env={"PLACE": "here"}
    )

    source = saved.test_file.read_text()
    assert "from greetings import greet" in source
    assert '@pytest.mark.synapse(env={"PLACE": "here"})' in source
    assert saved.data_dir is None  # nothing read: nothing to seed
    result = pytester.runpytest("-p", "no:cacheprovider", str(pytester.path / "tests"))
    result.assert_outcomes(passed=1)
