"""The built-in autolog integrations: LightGBM and XGBoost (imported only when used)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._core import AutologSession, Integration, patch_attributes, wrap_training_function


def _chain(undos: Iterable[Callable[[], None]]) -> Callable[[], None]:
    undos = list(undos)

    def undo() -> None:
        for fn in reversed(undos):
            fn()

    return undo


def _patch_training(
    current: Callable[[], AutologSession | None],
    make_callback: Callable[[AutologSession, int | None], Any],
    package: str,
    defining: str,
) -> Callable[[], None]:
    """Wrap ``train`` and ``cv`` of a boosting library wherever they are bound.

    Both libraries define them in ``<package>.<defining>`` and re-export them from the package;
    the scikit-learn wrappers (``<package>.sklearn``) call their own binding of ``train``.
    """
    top = importlib.import_module(package)
    home = importlib.import_module(f"{package}.{defining}")
    sklearn_api = importlib.import_module(f"{package}.sklearn")
    undos = []
    for fn_name, modules in (("train", (top, home, sklearn_api)), ("cv", (top, home))):
        original = getattr(home, fn_name)
        wrapper = wrap_training_function(
            original, current, make_callback, rounds_arg="num_boost_round"
        )
        undos.append(patch_attributes([(m, fn_name) for m in modules], original, wrapper))
    return _chain(undos)


def _number(value: Any) -> float | None:
    if isinstance(value, (tuple, list)):  # cross-validation: (mean, std)
        value = value[0] if value else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class LightGBMIntegration(Integration):
    """LightGBM: ``lightgbm.train`` / ``lightgbm.cv`` and ``LGBMModel.fit`` (which calls
    ``train``). Metrics are named ``<dataset>-<metric>`` (``valid_0-l2``)."""

    name = "lightgbm"
    module = "lightgbm"
    extra = "autolog-lightgbm"
    aliases = ("lgb", "lgbm")

    def patch(self, current: Callable[[], AutologSession | None]) -> Callable[[], None]:
        return _patch_training(current, self.callback, "lightgbm", "engine")

    def callback(self, session: AutologSession, total: int | None = None) -> Any:
        return _LightGBMCallback(session)


class _LightGBMCallback:
    """A LightGBM after-iteration callback (``callback(env)``)."""

    # before early_stopping (order 30), so the round that stops training is reported too
    order = 5
    before_iteration = False

    def __init__(self, session: AutologSession) -> None:
        self.session = session

    def __call__(self, env: Any) -> None:
        values: dict[str, float] = {}
        for item in env.evaluation_result_list or ():
            number = _number(item[2])
            if number is not None:
                values[f"{item[0]}-{item[1]}"] = number
        self.session.report(env.end_iteration - env.begin_iteration, values)


class XGBoostIntegration(Integration):
    """XGBoost: ``xgboost.train`` / ``xgboost.cv`` and the scikit-learn ``fit`` methods
    (which call ``train``). Metrics are named ``<dataset>-<metric>`` (``validation_0-rmse``).
    Install the CPU-only build with the ``autolog-xgboost`` extra (``xgboost-cpu``)."""

    name = "xgboost"
    module = "xgboost"
    extra = "autolog-xgboost"
    aliases = ("xgb",)

    def patch(self, current: Callable[[], AutologSession | None]) -> Callable[[], None]:
        return _patch_training(current, self.callback, "xgboost", "training")

    def callback(self, session: AutologSession, total: int | None = None) -> Any:
        base = importlib.import_module("xgboost.callback").TrainingCallback
        cls = _XGB_CALLBACK.get(base)
        if cls is None:
            cls = _XGB_CALLBACK[base] = type("SynapseAutologCallback", (base,), _xgb_methods())
        return cls(session, total)


_XGB_CALLBACK: dict[Any, type] = {}


def _xgb_methods() -> dict[str, Any]:
    # A TrainingCallback subclass is built on first use, so xgboost is imported only then.
    def __init__(self: Any, session: AutologSession, total: int | None) -> None:
        self.session = session
        self.total = total

    def after_iteration(self: Any, model: Any, epoch: int, evals_log: Mapping[str, Any]) -> bool:
        values: dict[str, float] = {}
        for data, metrics in evals_log.items():
            for metric, history in metrics.items():
                number = _number(history[-1]) if history else None
                if number is not None:
                    values[f"{data}-{metric}"] = number
        self.session.report(self.total, values)
        return False  # never asks xgboost to stop; cancellation raises instead

    return {"__init__": __init__, "after_iteration": after_iteration}
