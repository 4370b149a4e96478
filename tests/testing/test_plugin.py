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
