"""autolog(framework): real LightGBM and XGBoost training reported as progress and metrics.

Sessions, the registry and its errors are tested without any framework in
test_autolog_sessions.py.
"""

import threading

import pytest
from pydantic import BaseModel

from synapse_sdk.plugins import (
    BaseAction,
    BaseStep,
    MemorySink,
    RunStatus,
    RuntimeContext,
    StepRegistry,
    run_action,
)
from synapse_sdk.plugins.autolog import autolog
from synapse_sdk.plugins.events import MetricsEvent, ProgressEvent
from synapse_sdk.plugins.steps import StepContext

np = pytest.importorskip("numpy")
lgb = pytest.importorskip("lightgbm")
xgb = pytest.importorskip("xgboost")


class Params(BaseModel):
    rounds: int = 4


def data():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3)
    return X, X[:, 0] * 2 + rng.rand(40) * 0.1


def progress_of(events, step="train"):
    return [(e.current, e.total) for e in events if isinstance(e, ProgressEvent) and e.step == step]


def metrics_of(events):
    return [dict(e.values) for e in events if isinstance(e, MetricsEvent)]


def is_patched(fn) -> bool:
    return hasattr(fn, "__synapse_autolog_original__")


# -- LightGBM ------------------------------------------------------------------------------------


class LightGBMTrain(BaseAction[Params]):
    action_name = "lgb_train"

    def execute(self) -> float:
        self.autolog("lightgbm", step="train")
        X, y = data()
        train = lgb.Dataset(X, y)
        booster = lgb.train(
            {"verbose": -1, "num_leaves": 4, "min_data_in_leaf": 2},
            train,
            num_boost_round=self.params.rounds,
            valid_sets=[train],
            valid_names=["valid"],
        )
        return float(booster.predict(X[:1])[0])


def test_lightgbm_rounds_become_progress_and_eval_results_metrics():
    run = run_action(LightGBMTrain, {"rounds": 4})
    assert run.ok, run.traceback
    assert progress_of(run.events) == [(1, 4), (2, 4), (3, 4), (4, 4)]
    metrics = metrics_of(run.events)
    assert [m["iteration"] for m in metrics] == [1, 2, 3, 4]
    assert set(metrics[0]) == {"valid-l2", "iteration"}
    losses = [m["valid-l2"] for m in metrics]
    assert losses == sorted(losses, reverse=True) and losses[-1] < losses[0]
    assert all(e.step == "train" for e in run.events_of(MetricsEvent))


def test_lightgbm_patches_are_undone_when_the_run_ends_even_on_failure():
    original = lgb.train

    class Fails(BaseAction[Params]):
        def execute(self) -> None:
            self.autolog("lightgbm")
            assert is_patched(lgb.train) and is_patched(lgb.sklearn.train)
            raise RuntimeError("after autolog")

    run = run_action(Fails, {})
    assert type(run.error.__cause__) is RuntimeError
    assert lgb.train is original
    assert not is_patched(lgb.engine.train) and not is_patched(lgb.sklearn.train)


def test_lightgbm_sklearn_fit_inside_a_step_drives_step_and_overall_progress():
    pytest.importorskip("sklearn")  # LightGBM's scikit-learn API needs it

    class Fit(BaseStep[float]):
        name = "train"
        progress_weight = 3

        def execute(self, ctx: StepContext) -> float:
            ctx.action.autolog("lgbm")  # an alias
            X, y = data()
            model = lgb.LGBMRegressor(n_estimators=2, num_leaves=4, min_child_samples=2, verbose=-1)
            model.fit(X, y, eval_X=(X,), eval_y=(y,))
            return float(model.predict(X[:1])[0])

    class Prepare(BaseStep[None]):
        name = "prepare"

        def execute(self, ctx: StepContext) -> None:
            return None

    class Pipeline(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry) -> None:
            registry.register(Prepare())
            registry.register(Fit())

    run = run_action(Pipeline, {})
    assert run.ok, run.traceback
    assert progress_of(run.events) == [(1, 2), (2, 2)]
    assert progress_of(run.events, step=None) == [(25.0, 100.0), (62.5, 100.0), (100.0, 100.0)]
    assert [m["iteration"] for m in metrics_of(run.events)] == [1, 2]
    assert not is_patched(lgb.sklearn.train)


def test_cancelling_during_training_stops_it_and_cancels_the_run():
    ctx = RuntimeContext()

    class Cancel(BaseAction[Params]):
        def execute(self) -> None:
            def on_progress(current: float, total: float) -> None:
                if current == 2:
                    ctx.cancel()
                ctx.set_progress(current, total, "train")

            with autolog("lightgbm", progress=on_progress, metrics=lambda values: None):
                X, y = data()
                lgb.train({"verbose": -1}, lgb.Dataset(X, y), num_boost_round=50)

    run = run_action(Cancel, {}, ctx=ctx)
    assert run.status is RunStatus.CANCELLED
    assert progress_of(run.events) == [(1, 50)]  # round 2 raised CancelledError
    assert not is_patched(lgb.train)


def test_an_explicit_callback_reports_without_patching():
    sink = MemorySink()
    session = autolog("lightgbm", RuntimeContext(sinks=[sink]), step="fit")
    session.stop()
    X, y = data()
    lgb.train({"verbose": -1}, lgb.Dataset(X, y), num_boost_round=3, callbacks=[session.callback()])
    assert progress_of(sink.events, step="fit") == [(1, 3), (2, 3), (3, 3)]


# -- XGBoost -------------------------------------------------------------------------------------


def test_xgboost_train_with_the_function_api_and_a_with_block():
    sink = MemorySink()
    ctx = RuntimeContext(sinks=[sink])
    X, y = data()
    with autolog("xgboost", ctx, step="train") as session:
        assert session.active and is_patched(xgb.train)
        dtrain = xgb.DMatrix(X, y)
        xgb.train(
            {"max_depth": 2},
            dtrain,
            num_boost_round=3,
            evals=[(dtrain, "train")],
            verbose_eval=False,
        )
    assert not session.active and not is_patched(xgb.train)
    assert not is_patched(xgb.training.train)
    assert progress_of(sink.events) == [(1, 3), (2, 3), (3, 3)]
    metrics = metrics_of(sink.events)
    assert set(metrics[0]) == {"train-rmse", "iteration"}
    assert metrics[-1]["train-rmse"] < metrics[0]["train-rmse"]


def test_xgboost_sklearn_fit_through_the_action_helper():
    pytest.importorskip("sklearn")  # XGBoost's scikit-learn API needs it

    class Fit(BaseAction[Params]):
        def execute(self) -> int:
            self.autolog("xgb")
            X, y = data()
            model = xgb.XGBRegressor(n_estimators=self.params.rounds, max_depth=2)
            model.fit(X, y, eval_set=[(X, y)], verbose=False)
            return model.get_booster().num_boosted_rounds()

    run = run_action(Fit, {"rounds": 3})
    assert run.ok, run.traceback
    assert run.result == 3
    # no step given and no step running: the run's overall progress
    assert progress_of(run.events, step=None) == [(1, 3), (2, 3), (3, 3)]
    assert [sorted(m) for m in metrics_of(run.events)] == [["iteration", "validation_0-rmse"]] * 3
    assert not is_patched(xgb.sklearn.train)


def test_early_stopping_still_ends_progress_full():
    sink = MemorySink()
    X, y = data()
    with autolog("xgboost", RuntimeContext(sinks=[sink]), step="train"):
        dtrain = xgb.DMatrix(X, y)
        xgb.train(
            {"max_depth": 2, "learning_rate": 1.0},
            dtrain,
            num_boost_round=200,
            evals=[(dtrain, "train")],
            early_stopping_rounds=1,
            verbose_eval=False,
        )
    progress = progress_of(sink.events)
    assert len(progress) < 200
    assert progress[-1] == (200, 200)


# -- sessions across threads ---------------------------------------------------------------------


def test_the_session_of_the_training_thread_receives_the_reports():
    here: list[float] = []
    there: list[float] = []
    mine = autolog("lightgbm", progress=lambda c, t: here.append(c), metrics=lambda v: None)
    ready = threading.Event()
    done = threading.Event()

    def other_thread() -> None:
        theirs = autolog("lightgbm", progress=lambda c, t: there.append(c), metrics=lambda v: None)
        ready.set()
        done.wait(5)
        theirs.stop()

    thread = threading.Thread(target=other_thread)
    thread.start()
    ready.wait(5)
    X, y = data()
    lgb.train({"verbose": -1}, lgb.Dataset(X, y), num_boost_round=2)
    done.set()
    thread.join()
    mine.stop()
    assert (here, there) == ([1, 2], [])
