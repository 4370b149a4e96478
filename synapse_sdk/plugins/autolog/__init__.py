"""``autolog(framework)``: turn a framework's own training callbacks into run events.

An integration patches the framework's training entry points (``lightgbm.train``,
``xgboost.train`` and the scikit-learn style ``fit`` methods that go through them) so that
every training call gets one more callback; that callback reports each boosting round as
progress (``current`` of ``total`` rounds) and the evaluation results as metrics
(``{'valid_0-l2': 0.31, 'iteration': 4}``). Patches are reference counted and undone when the
last session stops: :meth:`BaseAction.autolog` sessions stop when the run ends; a session
from :func:`autolog` given a context stops when the run on that context finishes (function
actions need nothing more), or earlier with ``session.stop()`` or at the end of a ``with``
block.

Built-in integrations (each an optional extra, never imported by the core)::

    framework   package            extra
    lightgbm    lightgbm           synapse-sdk[autolog-lightgbm]
    xgboost     xgboost(-cpu)      synapse-sdk[autolog-xgboost]

Add your own with :func:`register_integration` (a subclass of :class:`Integration`).
"""

from __future__ import annotations

from ._core import (
    AutologSession,
    Integration,
    autolog,
    get_integration,
    patch_attributes,
    register_integration,
    supported_frameworks,
    wrap_training_function,
)
from ._frameworks import LightGBMIntegration, XGBoostIntegration

__all__ = [
    "AutologSession",
    "Integration",
    "autolog",
    "get_integration",
    "patch_attributes",
    "register_integration",
    "supported_frameworks",
    "wrap_training_function",
]

register_integration(LightGBMIntegration())
register_integration(XGBoostIntegration())
