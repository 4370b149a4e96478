"""synapse_snapshot: stable across runs and machines, and a real change fails."""

import datetime as dt
import uuid
from pathlib import Path, PureWindowsPath

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import RuntimeContext, action, run_action
from synapse_testing import Masker, RecordingContext, snapshot_data

pytest.importorskip("syrupy")

ACTIONS = """
import datetime
import tempfile
import uuid
from pathlib import Path

from pydantic import BaseModel
from synapse_sdk.plugins import RuntimeContext, action

LOSSES = [0.5, 0.25]


class Out(BaseModel):
    path: Path
    token: uuid.UUID
    same_token: str
    at: datetime.datetime
    duration: float
    scratch: str


@action(result=Out)
def export(params: dict, ctx: RuntimeContext) -> Out:
    token = uuid.uuid4()
    for i, loss in enumerate(LOSSES):
        ctx.set_progress(i + 1, len(LOSSES), step="export")
        ctx.set_metrics({"loss": loss}, step="export")
    out = Path(params["dir"]) / "out.csv"
    out.write_text("a,b")
    ctx.log("written", {"path": str(out), "run": ctx.run_id})
    return Out(
        path=out,
        token=token,
        same_token=str(token),
        at=datetime.datetime.now(),
        duration=0.123,
        scratch=tempfile.mkdtemp() + "/x.bin",
    )
"""

TEST = """
from my_export import export


def test_export(synapse_run, synapse_snapshot, tmp_path):
    run = synapse_run(export, {"dir": str(tmp_path)})
    assert run == synapse_snapshot
"""

EXPECTED = """\
# serializer version: 1
# name: test_export
  dict({
    'action': 'export',
    'error': None,
    'events': list([
      'run_started export',
      'progress [export] 1/2',
      'metrics [export] loss=0.5',
      'progress [export] 2/2',
      'metrics [export] loss=0.25',
      "log info written {'path': '<tmp>/out.csv', 'run': '<run-1>'}",
      'result',
      'run_finished succeeded',
    ]),
    'params': dict({
      'dir': '<tmp>',
    }),
    'result': Out(
      at='<datetime>',
      duration='<duration>',
      path='<tmp>/out.csv',
      same_token='<uuid-1>',
      scratch='<tempdir-1>/x.bin',
      token='<uuid-1>',
    ),
    'status': 'succeeded',
  })
# ---
"""


@pytest.fixture
def export_repo(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(my_export=ACTIONS)
    pytester.makepyfile(test_export=TEST)
    pytester.syspathinsert()
    return pytester


def test_snapshot_is_masked_stable_and_catches_a_real_change(export_repo):
    first = export_repo.runpytest("-W", "error", "-p", "no:cacheprovider", "--snapshot-update")
    first.assert_outcomes(passed=1)
    first.stdout.fnmatch_lines(["*1 snapshot generated*"])
    ambr = export_repo.path / "__snapshots__" / "test_export.ambr"
    assert ambr.read_text() == EXPECTED

    # new run id, uuid, tmp dir and time: the same snapshot, byte for byte
    again = export_repo.runpytest("-W", "error", "-p", "no:cacheprovider")
    again.assert_outcomes(passed=1)
    again.stdout.fnmatch_lines(["*1 snapshot passed*"])
    assert ambr.read_text() == EXPECTED

    # a real change in a metric fails, and the diff shows it
    module = export_repo.path / "my_export.py"
    module.write_text(module.read_text().replace("[0.5, 0.25]", "[0.5, 0.3]"))
    changed = export_repo.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(
        [
            "E       *assert [[]+ received[]] == [[]- snapshot[]]",  # any prefix
            "E         The snapshot differs in events (if the change is right, "
            "`pytest --snapshot-update` writes it to __snapshots__/test_export.ambr):",
            "E           events: - 'metrics [export] loss=0.25',",
            "E                   + 'metrics [export] loss=0.3',",
            "E         ",
        ]
    )


def test_mask_false_keeps_raw_values(pytester):
    pytester.makepyfile(
        """
        import pytest


        @pytest.mark.synapse(mask=False)
        def test_raw(synapse_snapshot):
            assert {"run_id": "abc", "took": 1.5} == synapse_snapshot
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--snapshot-update").assert_outcomes(passed=1)
    text = (pytester.path / "__snapshots__" / "test_mask_false_keeps_raw_values.ambr").read_text()
    assert "'run_id': 'abc'," in text and "'took': 1.5," in text


# -- the masker on its own -------------------------------------------------------------------


class Inner(BaseModel):
    id: uuid.UUID
    created_at: dt.datetime


class Outer(BaseModel):
    inner: Inner
    items: list[Inner]
    owner: str


def test_the_same_value_gets_the_same_alias_everywhere():
    a, b = uuid.uuid4(), uuid.uuid4()
    now = dt.datetime.now()
    data = Outer(
        inner=Inner(id=a, created_at=now),
        items=[Inner(id=b, created_at=now), Inner(id=a, created_at=now)],
        owner=f"owned by {b}",
    )
    masked = Masker().value(data)
    assert masked.inner.id == "<uuid-1>" and masked.inner.created_at == "<time>"
    assert [i.id for i in masked.items] == ["<uuid-2>", "<uuid-1>"]
    assert masked.owner == "owned by <uuid-2>"
    assert type(masked).__name__ == "Outer" and masked._fields == ("inner", "items", "owner")


def test_paths_become_posix_aliases_on_every_os(tmp_path):
    masker = Masker(tmp_path=tmp_path, roots={"C:\\Users\\me": "~"})
    assert masker.value(tmp_path / "a" / "b.txt") == "<tmp>/a/b.txt"
    assert masker.value(f"see {tmp_path}/x.log now") == "see <tmp>/x.log now"
    assert masker.value(PureWindowsPath("C:\\Users\\me\\data\\f.csv")) == "~/data/f.csv"
    assert not masker.value(str(tmp_path) + "-other").startswith("<tmp>")  # not a path prefix


def test_run_records_are_masked_and_events_are_one_line_each():
    @action(name="hello")
    def hello(params: dict, ctx: RuntimeContext) -> dict:
        ctx.set_progress(1, 1)
        return {"run_id": ctx.run_id, "started_at": 1.0, "elapsed": 2.0, "n": 3}

    run = run_action(hello, {}, ctx=RecordingContext())
    data = snapshot_data(run, Masker())
    assert data == {
        "action": "hello",
        "status": "succeeded",
        "params": {},
        "result": {"run_id": "<run-1>", "started_at": "<time>", "elapsed": "<duration>", "n": 3},
        "error": None,
        "events": ["run_started hello", "progress 1/1", "result", "run_finished succeeded"],
    }


def test_a_failed_run_keeps_the_error_and_its_cause():
    @action(name="boom")
    def boom(params: dict, ctx: RuntimeContext) -> None:
        raise KeyError("dataset")

    run = run_action(boom, {}, ctx=RecordingContext())
    data = snapshot_data(run, Masker())
    assert data["status"] == "failed"
    assert data["error"] == {
        "type": "ExecutionError",
        "message": "Action 'boom' failed: KeyError: 'dataset'",
        "cause": "KeyError: 'dataset'",
    }
    assert data["events"][-1] == "run_finished failed: Action 'boom' failed: KeyError: 'dataset'"


def test_unmasked_values_stay_as_they_are():
    masker = Masker(mask=False)
    assert masker.value({"created_at": 5.0, "p": Path("/a/b")}) == {"created_at": 5.0, "p": "/a/b"}


def test_backend_calls_snapshot_as_named_records():
    from synapse_testing import BackendCall

    masked = Masker().value([BackendCall("get_dataset", {"dataset_id": 1})])
    assert [type(m).__name__ for m in masked] == ["BackendCall"]
    assert masked[0].method == "get_dataset" and masked[0].args == {"dataset_id": 1}


def test_date_times_inside_strings_are_masked():
    masker = Masker()
    now = dt.datetime.now(dt.timezone.utc)
    assert masker.value(f"saved at {now.isoformat()} ok") == "saved at <datetime> ok"
    assert masker.value(f"saved at {dt.datetime.now()}") == "saved at <datetime>"
    assert masker.value({"created_at": "2026-01-02T03:04:05Z"}) == {"created_at": "<datetime>"}
    assert masker.value("version 2026-01-02") == "version 2026-01-02"  # a date alone is kept


def test_a_recording_context_snapshots_as_its_event_lines():
    ctx = RecordingContext()
    ctx.set_progress(1, 2)
    ctx.warn("careful", code="c")
    assert snapshot_data(ctx, Masker()) == ["progress 1/2", "warning c: careful"]
