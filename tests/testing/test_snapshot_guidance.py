"""synapse_snapshot failures say how to fix them and what changed; values that change every
run are masked by type and pattern, not only by key."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from synapse_testing import Masker

pytest.importorskip("syrupy")

ACTION = """
from pydantic import BaseModel
from synapse_sdk.plugins import action

TOTAL = 3


class Result(BaseModel):
    mean: float
    epochs: int


@action(name="train", result=Result)
def train(params, ctx):
    for epoch in range(3):
        ctx.set_progress(epoch + 1, TOTAL, step="train")
        ctx.set_metrics({"loss": 1 / (epoch + 1)}, step="train")
    return Result(mean=3.5, epochs=3)
"""

TEST = """
from my_train import train


def test_train(synapse_run, synapse_snapshot):
    assert synapse_run(train) == synapse_snapshot
"""


@pytest.fixture
def repo(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(my_train=ACTION, test_train=TEST)
    pytester.syspathinsert()
    return pytester


def test_a_missing_snapshot_says_how_to_create_it(repo):
    result = repo.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       *assert [[]+ received[]] == [[]- snapshot[]]",  # any prefix
            "E         Snapshot 'test_train' does not exist!",
            "E         Run `pytest --snapshot-update` to write it to "
            "__snapshots__/test_train.ambr, then review and commit that file.",
        ]
    )


def test_a_changed_result_shows_at_default_verbosity_before_the_events(repo):
    repo.runpytest("-p", "no:cacheprovider", "--snapshot-update").assert_outcomes(passed=1)
    module = repo.path / "my_train.py"
    module.write_text(
        module.read_text()
        .replace("TOTAL = 3", "TOTAL = 4")
        .replace("    epochs: int\n", "    epochs: int\n    samples: int = 6\n")
    )
    result = repo.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       *assert [[]+ received[]] == [[]- snapshot[]]",  # any prefix
            "E         The snapshot differs in result and events (if the change is right, "
            "`pytest --snapshot-update` writes it to __snapshots__/test_train.ambr):",
            "E           result: + samples=6,",
            "E           events: - 'progress [train] 1/3',",
            "E                   + 'progress [train] 1/4',  (+4 more changed lines)",
            "E         ",
            "E           dict({",
        ]
    )
    # with -vv the whole diff follows
    verbose = repo.runpytest("-p", "no:cacheprovider", "-vv")
    verbose.stdout.fnmatch_lines(
        ["E         -     'progress [train] 3/3',", "E         +     samples=6,"]
    )
    updated = repo.runpytest("-p", "no:cacheprovider", "--snapshot-update")
    updated.stdout.fnmatch_lines(["*1 snapshot updated*"])


def test_volatile_values_are_masked_by_type_and_pattern_and_stay_stable(pytester):
    pytester.makepyfile(
        """
        import datetime
        import time


        def test_volatile(synapse_snapshot):
            now = datetime.datetime.now()
            assert {
                "when": time.time(),
                "millis": int(time.time() * 1000),
                "nanos": time.time_ns(),
                "out_dir": now.strftime("export_%Y%m%d_%H%M%S"),
                "log": f"saved {int(time.time())}.csv on {datetime.date.today()}",
                "fixed": 1_700_000_000.0,
                "count": 42,
                "version": "2026-01-02",
            } == synapse_snapshot
        """
    )
    first = pytester.runpytest("-p", "no:cacheprovider", "--snapshot-update")
    first.assert_outcomes(passed=1)
    ambr = (
        pytester.path
        / "__snapshots__"
        / ("test_volatile_values_are_masked_by_type_and_pattern_and_stay_stable.ambr")
    )
    assert ambr.read_text() == (
        "# serializer version: 1\n"
        "# name: test_volatile\n"
        "  dict({\n"
        "    'count': 42,\n"
        "    'fixed': 1700000000.0,\n"
        "    'log': 'saved <time>.csv on <date>',\n"
        "    'millis': '<time>',\n"
        "    'nanos': '<time>',\n"
        "    'out_dir': 'export_<datetime>',\n"
        "    'version': '2026-01-02',\n"
        "    'when': '<time>',\n"
        "  })\n"
        "# ---\n"
    )
    time.sleep(1.1)  # every clock value differs on the second run
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_numbers_and_stamps_far_from_now_are_kept():
    masker = Masker()
    now = time.time()
    assert masker.value(now - 3 * 86_400) == now - 3 * 86_400
    assert masker.value(now) == "<time>" and masker.value(int(now * 1e6)) == "<time>"
    assert masker.value("2020-05-17_10-00-00 v1700000000") == "2020-05-17_10-00-00 v1700000000"
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    assert masker.value(f"run {stamp}") == "run <datetime>"
    assert Masker(mask=False).value(now) == now


def test_a_path_loaded_plugins_private_prefix_never_reaches_a_snapshot(tmp_path):
    from synapse_sdk.plugins._isolation import namespace_for

    prefix = namespace_for(tmp_path).prefix
    masker = Masker(mask=False)
    assert masker.value(f"<class '{prefix}.plugin.train.Params'>") == (
        "<class 'plugin.train.Params'>"
    )
    params = type("Params", (), {"__module__": f"{prefix}.plugin.train"})
    assert masker.value(params) == "plugin.train.Params"
