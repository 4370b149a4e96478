"""What a failing test shows of its runs: bounded, each line once, errors that point at the
fixtures, the plugin's own module names."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("error")

LONG = """
from synapse_sdk.plugins import action


@action(name="long")
def long_run(params, ctx):
    for i in range(5000):
        ctx.set_progress(i + 1, 5000, step="train")
        ctx.set_metrics({"loss": 1 / (i + 1)}, step="train")
        ctx.log("step", {"i": i})
        if i == 2500:
            ctx.warn("loss plateau", code="plateau")
    return {"n": 4999}


def test_long(synapse_run, synapse_ctx):
    run = synapse_run(long_run)
    synapse_ctx.warnings()
    assert run.result == {"n": 4998}
"""


def test_a_long_runs_failure_report_is_bounded_and_prints_each_log_line_once(pytester):
    pytester.makepyfile(test_long=LONG)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    lines = result.stdout.lines
    assert len(lines) < 120  # was 20,025 lines (5,000 captured log lines + 15,003 events)
    result.stdout.fnmatch_lines(
        [
            "*- synapse events -*",
            "run * (long): 15,004 events, 61 shown",
            "      0 run_started long",
            "      1 progress [train] 1/5000",
            "      2 metrics [train] loss=1.0",
            "      3 log info step {'i': 0}",
            "      4 progress [train] 2/5000",
            "      5 metrics [train] loss=0.5",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "     29 metrics [train] loss=0.1",
            "      … 7,474 events omitted",
            "   7504 warning plateau: loss plateau",
            "      … 7,469 events omitted",
            "  14974 log info step {'i': 4990}",
        ]
    )
    result.stdout.fnmatch_lines(["  15002 result", "  15003 run_finished succeeded"])
    # the run's log records are in the timeline, not again under "Captured log call"
    assert "Captured log call" not in result.stdout.str()


def test_other_log_records_stay_in_the_captured_log(pytester):
    pytester.makepyfile(
        """
        import logging

        from synapse_sdk.plugins import action


        @action(name="hello")
        def hello(params, ctx):
            ctx.log("greeted", {"who": "ada"})
            logging.getLogger("mylib").warning("from a library")


        def test_it(synapse_run):
            synapse_run(hello)
            assert False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- Captured log call -*",
            "WARNING  mylib:test_other_log_records_stay_in_the_captured_log.py:9 from a library",
            "*- synapse events -*",
            "run * (hello):",
            "    0 run_started hello",
            "    1 log info greeted {'who': 'ada'}",
        ]
    )
    assert result.stdout.str().count("greeted") == 1


PARAMS = """
from pydantic import BaseModel, Field
from synapse_sdk.plugins import action


class Params(BaseModel):
    dataset: int
    epochs: int = Field(3, ge=1)


@action(name="train", params=Params)
def train(params, ctx):
    return 1


def test_bad_params(synapse_run):
    synapse_run(train, {"dataset": "abc", "epochs": 0})


def test_unknown_field(synapse_run):
    synapse_run(train, {"dataset": 1, "epoch": 2})
"""


def test_params_errors_show_the_message_from_the_tests_line_only(pytester):
    pytester.makepyfile(test_params=PARAMS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "    def test_bad_params(synapse_run):",
            '>       synapse_run(train, {"dataset": "abc", "epochs": 0})',
            "E       synapse_sdk.plugins.errors.ValidationError: Invalid params for action "
            "'train':",
            "E         dataset: Input should be a valid integer, unable to parse string as an "
            "integer (got 'abc')",
            "E         epochs: Input should be greater than or equal to 1 (got 0)",
            "",
            "test_params.py:16: ValidationError",
        ]
    )
    text = result.stdout.str()
    assert "spec.py" not in text and "runner.py" not in text
    assert "direct cause" not in text and "pydantic_core" not in text


def test_a_params_error_is_still_the_sdks_error_with_its_details(pytester):
    pytester.makepyfile(
        PARAMS
        + """

def test_raises(synapse_run):
    import pytest
    from synapse_sdk.plugins import ValidationError

    with pytest.raises(ValidationError) as info:
        synapse_run(train, {"dataset": "abc"})
    assert info.value.fields == ["dataset"]
    assert type(info.value.__context__).__name__ == "ValidationError"
"""
    )
    pytester.runpytest("-p", "no:cacheprovider", "-k", "raises").assert_outcomes(passed=1)


NO_BACKEND = """
import pytest
from pydantic import BaseModel
from synapse_sdk.plugins import run_action
from synapse_sdk.plugins.actions.train import BaseTrainAction


class Params(BaseModel):
    dataset: int


class Train(BaseTrainAction[Params]):
    action_name = "train"

    def execute(self):
        self.get_dataset()
        return 1


def test_without_fixtures():
    run_action(Train, {"dataset": 1}).raise_for_status()


@pytest.mark.synapse(backend=None)
def test_marked_without_backend(synapse_run):
    synapse_run(Train, {"dataset": 1})
"""


def test_a_missing_backend_in_a_test_points_at_the_fixtures(pytester):
    pytester.makepyfile(test_backend=NO_BACKEND)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E           synapse_sdk.plugins.errors.ExecutionError: Action 'train' failed: "
            "BackendNotConfiguredError: Action 'train' calls get_dataset(), which needs a "
            "backend, but the run has no client (ctx.client is None)",
            "E             hint: in a test, run the action with the synapse_run fixture "
            "(synapse_run(action, params)): its ctx.client is the synapse_backend fake, seeded "
            "with synapse_backend.add_dataset(...) / add_model(...); or pass ctx=synapse_ctx to "
            "run_action",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E       Failed: synapse_run: action 'train' failed: BackendNotConfiguredError: "
            "Action 'train' calls get_dataset(), which needs a backend, but the run has no "
            "client (ctx.client is None)",
            "E       ",
            "E       Traceback of the action:",
            'E         File "*/test_backend.py", line 15, in execute',
            "E           self.get_dataset()",
            "E         (* SDK frames hidden)",
            "E       synapse_sdk.plugins.errors.BackendNotConfiguredError: Action 'train' calls "
            "get_dataset(), which needs a backend, but the run has no client (ctx.client is "
            "None)",
            "E         hint: this test is marked @pytest.mark.synapse(backend=None), so "
            "ctx.client is None; drop backend=None to give the action the synapse_backend fake",
        ]
    )
    errors = [line for line in result.stdout.lines if line.startswith("E")]
    assert not [line for line in errors if "LocalBackend" in line]


def test_synapse_ctx_records_every_run_of_its_test(pytester):
    pytester.makepyfile(
        """
        from synapse_sdk.plugins import action


        @action(name="fit")
        def fit(params, ctx):
            for epoch in range(params["epochs"]):
                ctx.set_metrics({"loss": 1 / (epoch + 1)}, step="train")
            return params["epochs"]


        def test_three_runs(synapse_run, synapse_ctx):
            runs = [synapse_run(fit, {"epochs": n}) for n in (1, 2, 3)]
            assert synapse_ctx.metrics("loss", step="train") == [1.0, 1.0, 0.5, 1.0, 0.5, 1 / 3]
            assert synapse_ctx.run_ids == [r.run_id for r in runs]
            assert len({r.run_id for r in runs}) == 3
            assert [len(r.events) for r in runs] == [4, 5, 6]
            assert False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    # each run once in the report, though synapse_ctx and the later contexts both hold it
    result.stdout.fnmatch_lines(
        [
            "*- synapse events -*",
            "run * (fit):",
            "    0 run_started fit",
            "    1 metrics [train] loss=1.0",
            "    2 result",
            "    3 run_finished succeeded",
            "run * (fit):",
            "    0 run_started fit",
            "*",
            "run * (fit):",
        ]
    )
    assert result.stdout.str().count("run_started fit") == 3


def test_an_unread_dataset_fails_even_when_its_files_equal_a_read_ones(pytester):
    pytester.makepyfile(
        """
        from synapse_sdk.plugins import action

        NUMS = {"a.txt": "1", "b.txt": "2"}


        @action(name="mean")
        def mean(params, ctx):
            units = ctx.client.list_data_units(params["dataset"])
            return [ctx.client.read_file(f["sha256"]) for u in units for f in u["files"].values()]


        def test_same_content(synapse_backend, synapse_run):
            synapse_backend.add_dataset("nums", files=NUMS)
            synapse_backend.add_dataset("other", files=NUMS)
            synapse_run(mean, {"dataset": 1})


        def test_read_by_content_alone(synapse_backend, synapse_run):
            seeded = synapse_backend.add_dataset("nums", files={"a.txt": "1"})
            sha = synapse_backend.list_data_units(seeded["id"])[0]["files"]["file"]["sha256"]
            synapse_backend.calls.clear()
            synapse_run(action(name="read")(lambda p, ctx: ctx.client.read_file(sha)))
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_same_content*",
            "synapse_backend: seeded but never read: dataset 2 'other'",
        ]
    )


def test_reports_show_a_path_loaded_plugins_own_module_names(pytester):
    plugin = pytester.mkdir("myplug")
    (plugin / "config.yaml").write_text(
        "name: My Plug\ncode: myplug\nactions:\n  train:\n    entrypoint: plugin.train:train\n"
    )
    (plugin / "plugin").mkdir()
    (plugin / "plugin" / "__init__.py").write_text("")
    (plugin / "plugin" / "train.py").write_text(
        "from pydantic import BaseModel\n"
        "from synapse_sdk.plugins import action\n\n\n"
        "class Params(BaseModel):\n    n: int = 1\n\n\n"
        "@action(params=Params)\n"
        "def train(params, ctx):\n"
        "    ctx.log('types', {'cls': Params})\n"
        "    raise ValueError(f'bad {Params}')\n"
    )
    pytester.makepyfile(
        """
        from pathlib import Path

        PLUGIN = Path(__file__).parent / "myplug"


        def test_it(synapse_run):
            synapse_run(PLUGIN, "train")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       Failed: synapse_run: action 'train' failed: ValueError: bad <class "
            "'plugin.train.Params'>",
            "*- synapse events -*",
            "    1 log info types {'cls': 'plugin.train.Params'}",
            "    2 run_finished failed: Action 'train' failed: ValueError: bad <class "
            "'plugin.train.Params'>",
        ]
    )
    assert "_synapse_plugin_" not in result.stdout.str()
