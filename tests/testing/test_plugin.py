"""The pytest plugin as a plugin author meets it (pytester, in process)."""

import pytest

pytestmark = pytest.mark.filterwarnings("error")

ACTIONS = """
from pydantic import BaseModel
from synapse_sdk.plugins import BaseAction, RuntimeContext, action


class TrainParams(BaseModel):
    epochs: int = 2
    dataset: int = 1


@action(params=TrainParams)
def train(params: TrainParams, ctx: RuntimeContext) -> dict:
    ds = ctx.client.get_dataset(params.dataset)
    for epoch in range(params.epochs):
        ctx.set_progress(epoch + 1, params.epochs, step="train")
        ctx.set_metrics({"loss": 1.0 / (epoch + 1)}, step="train")
    ctx.log("trained", {"dataset": ds["name"]})
    return {"epochs": params.epochs}


class Count(BaseAction[TrainParams]):
    action_name = "count"

    def execute(self) -> int:
        self.set_progress(1, 2)
        return self.params.epochs
"""


@pytest.fixture
def plugin_repo(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(my_actions=ACTIONS)
    pytester.syspathinsert()
    return pytester


def test_fixtures_work_with_zero_config_and_no_warnings(plugin_repo):
    plugin_repo.makepyfile(
        test_it="""
        from my_actions import Count, train
        from synapse_testing import assert_metrics, assert_progress_complete


        def test_function_action(synapse_backend, synapse_run):
            synapse_backend.add_dataset("digits", files={"a.txt": "x"})
            run = synapse_run(train, {"epochs": 2})
            assert run.result == {"epochs": 2}
            assert_progress_complete(run)
            assert_metrics(run, "loss", [1.0, 0.5], step="train")


        def test_class_action(synapse_run, synapse_ctx):
            run = synapse_run(Count, {"epochs": 5})
            assert run.result == 5
            assert synapse_ctx.progress() == [(1, 2)]
        """
    )
    result = plugin_repo.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "warnings summary" not in result.stdout.str()


def test_marker_and_options_are_registered_and_documented(pytester):
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(
        ["@pytest.mark.synapse(*, env=None, backend=<a fresh FakeBackend>,*"]
    )
    help_ = pytester.runpytest("--help")
    help_.stdout.fnmatch_lines(
        [
            "synapse-sdk testing kit (synapse_testing):",
            "  --synapse-lenient*",
            "  --synapse-events={failed,never}",
        ]
    )


def test_marker_env_and_seeding_function_configure_the_fixtures(plugin_repo):
    plugin_repo.makepyfile(
        test_it="""
        import pytest
        from my_actions import train


        def seed(backend):
            backend.add_dataset("digits")


        @pytest.mark.synapse(env={"TOKEN": "t"}, backend=seed)
        def test_env_and_seed(synapse_ctx, synapse_run):
            assert synapse_ctx.env == {"TOKEN": "t"}
            assert synapse_run(train, {"epochs": 1}).result == {"epochs": 1}


        @pytest.mark.synapse(backend=None)
        def test_no_backend(synapse_ctx):
            assert synapse_ctx.client is None
        """
    )
    plugin_repo.runpytest("-W", "error").assert_outcomes(passed=2)


def test_unknown_marker_option_is_a_clear_error(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.synapse(stict=False)
        def test_it(synapse_ctx):
            pass


        @pytest.mark.synapse({"A": "1"})
        def test_positional(synapse_ctx):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_it*",
            "@pytest.mark.synapse got unknown option(s) stict; options: env, backend, strict, "
            "allow_unused, allow_warnings, mask, keep_all_events",
            "*ERROR at setup of test_positional*",
            "@pytest.mark.synapse takes keyword arguments only, got ({'A': '1'},)",
        ]
    )


def test_a_failed_run_fails_the_test_with_the_action_traceback(plugin_repo):
    plugin_repo.makepyfile(
        test_it="""
        from my_actions import train


        def test_missing_dataset(synapse_backend, synapse_run):
            synapse_backend.add_dataset("digits")
            synapse_backend.add_dataset("mnist")
            synapse_run(train, {"dataset": 7})


        def test_check_false_returns_the_run(synapse_run):
            run = synapse_run(train, {"dataset": 7}, check=False)
            assert run.status.value == "failed"
        """
    )
    result = plugin_repo.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       Failed: synapse_run: action 'train' failed: NotFoundError: No dataset "
            "with id 7 in backend FakeBackend",
            "E       ",
            "E       Traceback of the action:",
            'E         File "*/my_actions.py", line 12, in train',
            "E           ds = ctx.client.get_dataset(params.dataset)",
            "E         (2 SDK frames hidden)",
            "E       synapse_sdk.plugins.errors.NotFoundError: No dataset with id 7 in backend "
            "FakeBackend",
            "E         hint: datasets in the fake backend, nearest first: 2 'mnist', 1 'digits'",
            "E       ",
            "E       (pass check=False to get the Run without failing the test)",
        ]
    )
    assert "runner.py" not in result.stdout.str()


def test_the_events_of_a_failed_test_are_in_its_report(plugin_repo):
    plugin_repo.makepyfile(
        test_it="""
        from my_actions import train
        from synapse_testing import assert_progress_complete


        def test_progress(synapse_backend, synapse_run):
            synapse_backend.add_dataset("digits")
            run = synapse_run(train, {"epochs": 2})
            assert_progress_complete(run, step="eval")
        """
    )
    result = plugin_repo.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '>       assert_progress_complete(run, step="eval")',
            "E       AssertionError: no progress was reported for step 'eval'; progress: "
            "step 'train'",
            "*- synapse events -*",
            "run * (train):",
            "    0 run_started train",
            "    1 progress [train] 1/2",
            "    2 metrics [train] loss=1.0",
            "    3 progress [train] 2/2",
            "    4 metrics [train] loss=0.5",
            "    5 log info trained {'dataset': 'digits'}",
            "    6 result",
            "    7 run_finished succeeded",
        ]
    )
    quiet = plugin_repo.runpytest("-p", "no:cacheprovider", "--synapse-events=never")
    quiet.assert_outcomes(failed=1)
    assert "synapse events" not in quiet.stdout.str()


STRICT_TESTS = """
import pytest
from my_actions import Count, train
from synapse_testing import assert_warned


def test_unread_seed(synapse_backend, synapse_run):
    synapse_backend.add_dataset("digits")
    synapse_backend.add_model("base")
    synapse_run(Count, {})


@pytest.mark.synapse(allow_unused=True)
def test_unread_seed_allowed(synapse_backend, synapse_run):
    synapse_backend.add_model("base")
    synapse_run(Count, {})


def test_unchecked_warning(synapse_run, synapse_ctx):
    synapse_ctx.warn("disk almost full", code="disk")
    synapse_run(Count, {})


def test_checked_warning(synapse_run):
    run = synapse_run(train, {"epochs": 0}, check=False)
    synapse_run.ctx.warn("late", code="late")
    assert_warned(synapse_run.ctx, "late")


@pytest.mark.synapse(strict=False)
def test_not_strict(synapse_backend, synapse_ctx, synapse_run):
    synapse_backend.add_dataset("digits")
    synapse_ctx.warn("x")
    synapse_run(Count, {})
"""


def test_strict_teardown_checks_fail_with_what_was_left(plugin_repo):
    plugin_repo.makepyfile(test_it=STRICT_TESTS)
    result = plugin_repo.runpytest("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unread_seed*",
            "synapse_backend: seeded but never read: dataset 1 'digits', model 1 'base'",
            "The action did not fetch this data: check the ids it was given, or mark the test "
            "@pytest.mark.synapse(allow_unused=True).",
            "*ERROR at teardown of test_unchecked_warning*",
            "synapse_ctx: the run emitted warnings the test did not check:",
            "  disk: disk almost full",
            "Assert them with assert_warned(run, code=...), or mark the test "
            "@pytest.mark.synapse(allow_warnings=True).",
        ]
    )
    lenient = plugin_repo.runpytest("-W", "error", "-p", "no:cacheprovider", "--synapse-lenient")
    lenient.assert_outcomes(passed=5)


def test_synapse_run_runs_an_action_of_a_plugin_directory(pytester):
    plugin = pytester.mkdir("greeter")
    (plugin / "config.yaml").write_text(
        "name: Greeter\ncode: greeter\nactions:\n  hello:\n    entrypoint: plugin.tools:greet\n"
    )
    (plugin / "plugin").mkdir()
    (plugin / "plugin" / "__init__.py").write_text("")
    (plugin / "plugin" / "tools.py").write_text(
        "from synapse_sdk.plugins import action\n\n\n"
        "@action\n"
        "def greet(params, ctx):\n"
        "    ctx.log('greeted', {'who': params['who']})\n"
        "    return 'hello ' + params['who']\n"
    )
    pytester.makepyfile(
        """
        from pathlib import Path

        import pytest
        from synapse_sdk.plugins import ActionNotFoundError
        from synapse_testing import assert_logged

        PLUGIN = Path(__file__).parent / "greeter"


        def test_by_path(synapse_run):
            run = synapse_run(PLUGIN, "hello", {"who": "ada"})
            assert run.action == "hello" and run.result == "hello ada"
            assert_logged(run, "greeted", data={"who": "ada"})


        def test_unknown_action(synapse_run):
            with pytest.raises(ActionNotFoundError):
                synapse_run(PLUGIN, "helo")
        """
    )
    pytester.runpytest("-W", "error", "-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_plugin_autoloads_from_its_entry_point_in_a_fresh_process(pytester):
    pytester.makepyfile(
        """
        from synapse_sdk.plugins import action


        @action
        def noop(params, ctx):
            ctx.set_progress(1, 1)


        def test_it(synapse_run, synapse_ctx):
            synapse_run(noop)
            assert synapse_ctx.progress() == [(1, 1)]
        """
    )
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins: *synapse-sdk-*"])
