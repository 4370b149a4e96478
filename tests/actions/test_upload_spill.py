"""The upload context's per-file lists: a SpillList keeps ``chunk`` entries in memory and
the rest in a scratch file, and still behaves as the list a step expects."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest

from synapse_sdk.plugins.actions.upload import (
    DefaultUploadAction,
    SpillList,
    UploadContext,
    UploadParams,
)
from synapse_sdk.plugins.actions.upload.spill import external_sorted
from synapse_sdk.plugins.steps import BaseStep, StepRegistry, StepResult


def entry(i: int) -> dict:
    return {"files": {"image": Path(f"/data/image/{i:04}.jpg")}, "meta": {"n": i, "tags": [i]}}


# -- the list --------------------------------------------------------------------------------


def test_entries_beyond_the_chunk_spill_and_come_back_equal_in_order(tmp_path):
    items = [entry(i) for i in range(50)]
    spilled = SpillList(items, chunk=4, directory=tmp_path)
    assert spilled.spilled == 48 and len(spilled) == 50  # two of the last chunk in memory
    assert spilled == items and list(spilled) == items
    assert [spilled[i] for i in range(-50, 50)] == items + items
    assert isinstance(spilled[7]["files"]["image"], Path)
    with pytest.raises(IndexError):
        spilled[50]


def test_append_after_spilling_keeps_order_and_the_newest_is_the_object_appended():
    spilled = SpillList(chunk=3)
    for i in range(10):
        spilled.append(entry(i))
    newest = entry(10)
    spilled.append(newest)
    newest["meta"]["changed"] = True  # still the same object: the change is there
    spilled.extend(entry(i) for i in range(11, 15))
    spilled += [entry(15)]
    assert spilled.spilled > 0
    assert [e["meta"]["n"] for e in spilled] == list(range(16))
    assert spilled[10]["meta"] == {"n": 10, "tags": [10], "changed": True}


def test_slices_are_plain_lists_equal_to_the_list_slices():
    items = [entry(i) for i in range(40)]
    spilled = SpillList(items, chunk=5)
    for s in [slice(3, 17), slice(-12, None), slice(None, 9), slice(30, 5, -3), slice(1, 38, 4),
              slice(38, 60), slice(20, 20)]:  # fmt: skip
        got = spilled[s]
        assert type(got) is list and got == items[s], s


def test_an_entry_changed_in_place_while_walking_is_kept():
    spilled = SpillList((entry(i) for i in range(30)), chunk=4)
    for group in spilled:
        group["meta"]["walked"] = True
    spilled[5]["meta"]["indexed"] = True
    spilled[17] = {"files": {}, "meta": {"replaced": True}}
    assert all(g["meta"].get("walked") for i, g in enumerate(spilled) if i != 17)
    assert spilled[5]["meta"]["indexed"] is True
    assert spilled[17] == {"files": {}, "meta": {"replaced": True}}


def test_every_list_operation_matches_a_list():
    rng = random.Random(13)
    model: list[dict] = []
    spilled: SpillList[dict] = SpillList(chunk=3)
    for step in range(1500):
        op = rng.random()
        if op < 0.45 or not model:
            model.append(entry(step))
            spilled.append(entry(step))
        elif op < 0.55:
            at = rng.randint(-len(model) - 2, len(model) + 2)
            model.insert(at, entry(step))
            spilled.insert(at, entry(step))
        elif op < 0.65:
            at = rng.randrange(-len(model), len(model))
            del model[at]
            del spilled[at]
        elif op < 0.72:
            at = rng.randrange(len(model))
            model[at]["meta"]["set"] = step
            spilled[at]["meta"]["set"] = step
        elif op < 0.76:
            start, stop = sorted(rng.randint(0, len(model)) for _ in range(2))
            del model[start:stop]
            del spilled[start:stop]
        elif op < 0.79:
            model.reverse()
            spilled.reverse()
        elif op < 0.81:
            model.sort(key=lambda e: e["meta"]["n"] % 7)  # many ties: stability shows
            spilled.sort(key=lambda e: e["meta"]["n"] % 7)
        elif op < 0.85:
            at = rng.randrange(-len(model), len(model))
            assert spilled.pop(at) == model.pop(at)
        else:
            probe = model[rng.randrange(len(model))]
            assert spilled.index(probe) == model.index(probe)
            assert probe in spilled and spilled.count(probe) == model.count(probe)
        assert len(spilled) == len(model)
    assert spilled == model
    assert list(reversed(spilled)) == list(reversed(model))
    assert pickle.loads(pickle.dumps(spilled)) == model
    assert spilled + [entry(-1)] == [*model, entry(-1)]  # noqa: RUF005  # + is the test
    assert [entry(-1)] + spilled == [entry(-1), *model]  # noqa: RUF005


class Tracked:
    """An entry that counts how many of its kind are alive (in memory) at once."""

    alive = 0
    most = 0

    def __init__(self, n: int) -> None:
        self.n = n
        Tracked._born()

    def __setstate__(self, state: dict) -> None:  # read back from the file
        self.__dict__.update(state)
        Tracked._born()

    def __del__(self) -> None:
        Tracked.alive -= 1

    @staticmethod
    def _born() -> None:
        Tracked.alive += 1
        Tracked.most = max(Tracked.most, Tracked.alive)


def test_at_most_three_chunks_of_entries_are_in_memory_while_filling_and_walking():
    Tracked.alive = Tracked.most = 0
    spilled: SpillList[Tracked] = SpillList(chunk=50)
    for i in range(5000):
        spilled.append(Tracked(i))
    assert Tracked.alive <= 50
    total = 0
    for item in spilled:
        total += item.n
    del item
    assert spilled[2500].n == 2500 and spilled[-1].n == 4999
    assert total == sum(range(5000))
    assert Tracked.most <= 3 * 50 + 1  # the tail, two chunks read back (+ the one in hand)
    Tracked.most = Tracked.alive
    assert sum(item.n for item in spilled.read_only()) == total
    assert Tracked.most <= 3 * 50 + 1 + 50  # and the chunk being read
    spilled.close()


def test_a_read_only_walk_sees_changes_made_before_it_and_appends_during_it():
    spilled = SpillList((entry(i) for i in range(20)), chunk=3)
    spilled[4]["meta"]["changed"] = True  # its chunk is in memory, not yet written back
    walked = []
    for group in spilled.read_only():
        walked.append(group["meta"]["n"])
        if group["meta"]["n"] == 19:
            spilled.append(entry(20))
    assert walked == list(range(21))
    assert [g["meta"].get("changed") for g in spilled.read_only()][3:6] == [None, True, None]


def test_close_drops_the_spilled_entries_and_keeps_the_ones_in_memory(tmp_path):
    spilled = SpillList((entry(i) for i in range(10)), chunk=4, directory=tmp_path)
    spilled.close()
    assert len(spilled) == 10 and spilled[9] == entry(9)
    with pytest.raises(ValueError, match="closed when the run ended"):
        spilled[0]


def test_external_sorted_is_sorted_stable_and_merges_in_passes():
    rng = random.Random(5)
    pairs = [(rng.randint(0, 40), i) for i in range(3000)]
    by_first = lambda p: p[0]  # noqa: E731
    got = list(external_sorted(pairs, key=by_first, chunk=7, fan_in=3))  # 15 runs: 2 passes
    assert got == sorted(pairs, key=by_first)
    got = list(external_sorted(pairs, key=by_first, reverse=True, chunk=7, fan_in=3))
    assert got == sorted(pairs, key=by_first, reverse=True)
    assert list(external_sorted([3, 1, 2])) == [1, 2, 3]


# -- in an upload ----------------------------------------------------------------------------


class Upload(DefaultUploadAction[UploadParams]):
    action_name = "upload"


def params(storage, collection, **more):
    return {"name": "u", "path": ".", "storage": storage["id"],
            "data_collection": collection["id"], **more}  # fmt: skip


@pytest.fixture
def small_lists(monkeypatch):
    """Per-file lists that spill beyond 2 entries, so a few files exercise the file."""
    monkeypatch.setattr(UploadContext, "list_chunk", 2)


class AddFrames(BaseStep[UploadContext]):
    """Like a third-party ExtractFramesStep: reads the organized files as a list, marks
    each one in place and appends a data unit of its own for every second one."""

    name = "add_frames"

    def __init__(self) -> None:
        self.seen: dict = {}

    def execute(self, context: UploadContext) -> StepResult:
        files = context.organized_files
        n = len(files)
        self.seen = {
            "len": n,
            "spilled": files.spilled,
            "first": files[0]["meta"]["data_unit_key"],
            "last": files[-1]["meta"]["data_unit_key"],
            "slice": [g["meta"]["data_unit_key"] for g in files[2:5]],
            "walk": [g["meta"]["data_unit_key"] for g in files],
        }
        out = context.scratch_dir()
        self.seen["scratch"] = out
        for i in range(n):
            group = files[i]
            group["meta"]["walked"] = True
            if i % 2 == 0:
                frame = out / f"frame_{i}.jpg"
                frame.write_bytes(b"frame %d" % i)
                files.append({"files": {"image": frame},
                              "meta": {"frame_of": group["meta"]["data_unit_key"]}})  # fmt: skip
        return StepResult(success=True, data={"frames": (n + 1) // 2})


def test_a_custom_step_reads_changes_and_appends_to_the_spilled_organized_files(
    synapse_run, synapse_backend, small_lists
):
    step = AddFrames()

    class Frames(DefaultUploadAction[UploadParams]):
        def setup_steps(self, registry: StepRegistry) -> None:
            super().setup_steps(registry)
            registry.insert_after("organize_files", step)

    names = [f"{i:02}" for i in range(9)]
    storage = synapse_backend.add_storage(files={f"image/{n}.jpg": n.encode() for n in names})
    collection = synapse_backend.add_data_collection(specs=["image"])
    result = synapse_run(Frames, params(storage, collection)).result

    assert step.seen["len"] == 9 and step.seen["spilled"] > 0
    assert (step.seen["first"], step.seen["last"]) == ("00", "08")
    assert step.seen["slice"] == ["02", "03", "04"] and step.seen["walk"] == names
    assert (result.data_units, result.uploaded_files, result.lost_files_count) == (14, 14, 0)
    units = synapse_backend.list_data_units(collection["id"])
    originals = [u["meta"] for u in units if "data_unit_key" in u["meta"]]
    frames = sorted(u["meta"]["frame_of"] for u in units if "frame_of" in u["meta"])
    assert [m["data_unit_key"] for m in originals] == names
    assert all(m["walked"] for m in originals)  # the in-place change reached the backend
    assert frames == ["00", "02", "04", "06", "08"]
    assert not step.seen["scratch"].exists()  # the scratch folder (and spill files) went
    assert synapse_backend.held_files == {} and synapse_backend.unused_files() == []


def test_organizing_many_files_in_spilled_lists_pairs_them_as_in_memory(
    synapse_run, synapse_backend, small_lists
):
    files = {}
    for i in range(40):
        files[f"image/{i % 3}/{i:03}.jpg"] = b"i%d" % i
        if i % 4:
            files[f"label/{i % 3}/{i:03}.json"] = f'{{"n": {i}}}'
    files["label/1/001.txt"] = "a second label of 1/001, another extension"
    storage = synapse_backend.add_storage(files=files)
    collection = synapse_backend.add_data_collection(
        specs=["image", {"name": "label", "is_required": False}]
    )
    result = synapse_run(Upload, params(storage, collection)).result
    units = synapse_backend.list_data_units(collection["id"])
    assert [u["meta"]["data_unit_key"] for u in units] == sorted(
        f"{i % 3}/{i:03}" for i in range(40)
    )
    with_label = {u["meta"]["data_unit_key"] for u in units if "label" in u["files"]}
    assert with_label == {f"{i % 3}/{i:03}" for i in range(40) if i % 4}
    assert [(f.file, f.step) for f in result.lost_files] == [("label/1/001.txt", "organize_files")]
    assert (result.data_units, result.uploaded_files) == (40, 70)


def test_lost_files_beyond_the_log_limit_are_in_the_result_not_one_warning_each(
    synapse_run, synapse_backend, monkeypatch
):
    monkeypatch.setattr(UploadContext, "lost_log_limit", 3)
    files = {"image/ok.jpg": b"ok", **{f"image/bad{i}.txt": b"x" for i in range(6)}}
    storage = synapse_backend.add_storage(files=files)
    collection = synapse_backend.add_data_collection(
        specs=[{"name": "image", "extensions": [".jpg"]}]
    )
    run = synapse_run(Upload, params(storage, collection))
    assert run.result.lost_files_count == 6 and len(run.result.lost_files) == 6
    names = [getattr(e, "event", None) for e in run.events]
    assert names.count("upload_file_lost") == 3
    (more,) = [e for e in run.events if getattr(e, "event", None) == "upload_files_lost_more"]
    assert more.level == "warning" and more.data["after"] == 3
