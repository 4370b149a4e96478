"""pytest plugin entry point (``pytest11``) of synapse_testing.

Registers the ``synapse`` marker, the ``--synapse-*`` options and the fixtures
``synapse_ctx``, ``synapse_backend``, ``synapse_run`` and ``synapse_snapshot``. Importing
this module imports only pytest; the kit itself (and syrupy) loads when a fixture is used.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from syrupy.assertion import SnapshotAssertion

    from ._backend import FakeBackend
    from ._context import RecordingContext
    from ._runner import ActionRunner
    from ._snapshot import Masker

__all__ = [
    "pytest_addoption",
    "pytest_collect_directory",
    "pytest_collection_finish",
    "pytest_configure",
    "pytest_load_initial_conftests",
    "pytest_pycollect_makemodule",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
    "pytest_unconfigure",
    "synapse_backend",
    "synapse_ctx",
    "synapse_run",
    "synapse_snapshot",
]

_MARKER = (
    "synapse(*, env=None, backend=<a fresh FakeBackend>, strict=True, allow_unused=False, "
    "allow_warnings=False, mask=True, keep_all_events=False): options of the synapse_* "
    "fixtures for one test. env: the RuntimeContext env; backend: a FakeBackend to use, a "
    "function seeding the fresh one, or "
    "None for no ctx.client; strict=False turns off the teardown checks; allow_unused: seeded "
    "datasets/models may stay unread; allow_warnings: warning events need not be checked; "
    "mask=False keeps volatile values in synapse_snapshot; keep_all_events: synapse_ctx records "
    "every event (by default a long run's progress is thinned to 10,000 samples per step)."
)

_DEFAULT_BACKEND: Any = object()


def _marker_signature(
    *,
    env: Mapping[str, str] | None = None,
    backend: Any = _DEFAULT_BACKEND,
    strict: bool = True,
    allow_unused: bool = False,
    allow_warnings: bool = False,
    mask: bool = True,
    keep_all_events: bool = False,
) -> None:
    """The accepted keywords of ``@pytest.mark.synapse`` (bound to catch typos)."""


_SIGNATURE = inspect.signature(_marker_signature)
_DEFAULTS = {name: param.default for name, param in _SIGNATURE.parameters.items()}


class _State:
    """Per-test options and what the fixtures created (read at teardown and for reports)."""

    __slots__ = (
        "allow_unused",
        "allow_warnings",
        "backend",
        "contexts",
        "env",
        "keep_all_events",
        "mask",
        "runner",
        "strict",
    )

    def __init__(self, options: Mapping[str, Any], lenient: bool) -> None:
        self.env: Mapping[str, str] | None = options["env"]
        self.backend: Any = options["backend"]
        self.strict: bool = bool(options["strict"]) and not lenient
        self.allow_unused: bool = bool(options["allow_unused"])
        self.allow_warnings: bool = bool(options["allow_warnings"])
        self.mask: bool = bool(options["mask"])
        self.keep_all_events: bool = bool(options["keep_all_events"])
        self.contexts: list[RecordingContext] = []
        self.runner: ActionRunner | None = None

    def all_contexts(self) -> list[RecordingContext]:
        found = list(self.contexts)
        if self.runner is not None:
            found += [c for c in self.runner.contexts if c not in found]
        return found


_STATE = pytest.StashKey[_State]()
# set when the test itself failed: the teardown checks then stay quiet (one failure is enough)
_CALL_FAILED = pytest.StashKey[bool]()


# -- hooks -----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("synapse", "synapse-sdk testing kit (synapse_testing)")
    group.addoption(
        "--synapse-lenient",
        action="store_true",
        default=False,
        help="turn off the strict teardown checks of the synapse_* fixtures (unread seeded "
        "data, unchecked warning events) for every test",
    )
    group.addoption(
        "--synapse-events",
        choices=("failed", "never"),
        default="failed",
        help="when to add the recorded event timeline of a test's runs to its report "
        "(default: failed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    if call.excinfo is not None and call.when == "call":
        from ._report import retarget_backend_hints

        retarget_backend_hints(call.excinfo.value)  # before the report renders the error
    outcome: Any = yield  # pluggy's Result; typed loosely to work across pluggy versions
    report = outcome.get_result()
    if report.failed and report.when == "call":
        item.stash[_CALL_FAILED] = True
    if report.failed and report.when != "setup":
        state = item.stash.get(_STATE, None)
        if state is not None and item.config.getoption("synapse_events") == "failed":
            from ._report import drop_shown_log_lines, events_report

            text, shown = events_report(state.all_contexts())
            if text:
                drop_shown_log_lines(item.config, report.sections, report.when, shown)
                report.sections.append(("synapse events", text))


# -- plugin directories: their tests import their code, several collect together -----------


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    """A test file under a plugin directory (config.yaml with ``actions:``) is imported under
    that plugin's own test package, with the plugin's directory and modules active."""
    if module_path.name == "__init__.py":
        return None
    from ._roots import PluginTestModule, roots_of

    root = roots_of(parent.config).root_of(module_path)
    if root is None or root.module_name(module_path) is None:
        return None
    return PluginTestModule.from_parent(parent, path=module_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Iterator[None]:
    """From here on, a conftest.py inside a plugin directory imports with that plugin
    active (the conftests named on the command line load right after this)."""
    import sys

    from ._roots import ConftestFinder, roots_of

    sys.meta_path.insert(0, ConftestFinder(roots_of(early_config)))
    yield


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path: Path, parent: pytest.Collector) -> None:
    """Entering a plugin directory makes it active, so its conftest.py imports its code."""
    from ._roots import roots_of

    roots = roots_of(parent.config)
    root = roots.root_of(path)
    if root is not None:
        roots.activate(root)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    from ._roots import roots_of

    roots = roots_of(item.config)
    root = roots.root_of(item.path)
    if root is not None:
        roots.activate(root)
    yield
    if roots.active is not None and (
        nextitem is None or roots.root_of(nextitem.path) is not roots.active
    ):
        roots.deactivate()


def pytest_collection_finish(session: pytest.Session) -> None:
    from ._roots import _ROOTS

    roots = session.config.stash.get(_ROOTS, None)
    if roots is not None:
        roots.deactivate()


def pytest_unconfigure(config: pytest.Config) -> None:
    from ._roots import _ROOTS

    roots = config.stash.get(_ROOTS, None)
    if roots is not None:
        roots.close()


# -- fixtures --------------------------------------------------------------------------------


def _state(request: pytest.FixtureRequest) -> _State:
    node = request.node
    state = node.stash.get(_STATE, None)
    if state is None:
        markers = list(node.iter_markers("synapse"))
        if not markers:
            state = _State(_DEFAULTS, bool(request.config.getoption("synapse_lenient")))
            node.stash[_STATE] = state
            return state
        merged: dict[str, Any] = {}
        for marker in reversed(markers):  # the closest marker wins
            if marker.args:
                pytest.fail(
                    f"@pytest.mark.synapse takes keyword arguments only, got {marker.args!r}",
                    pytrace=False,
                )
            try:
                _SIGNATURE.bind(**marker.kwargs)
            except TypeError:
                known = ", ".join(_SIGNATURE.parameters)
                bad = ", ".join(sorted(set(marker.kwargs) - set(_SIGNATURE.parameters)))
                pytest.fail(
                    f"@pytest.mark.synapse got unknown option(s) {bad}; options: {known}",
                    pytrace=False,
                )
            merged.update(marker.kwargs)
        options = {
            name: merged.get(name, param.default) for name, param in _SIGNATURE.parameters.items()
        }
        state = _State(options, bool(request.config.getoption("synapse_lenient")))
        node.stash[_STATE] = state
    return state


def _quiet(request: pytest.FixtureRequest) -> bool:
    return request.node.stash.get(_CALL_FAILED, False)


@pytest.fixture
def synapse_backend(request: pytest.FixtureRequest) -> Iterator[FakeBackend]:
    """An in-memory FakeBackend (the ``ctx.client`` of ``synapse_ctx`` / ``synapse_run``).

    Seed it with ``add_dataset(files={...})`` / ``add_model(...)``. Strict: at teardown,
    seeded datasets and models that no call read fail the test (``allow_unused=True`` or
    ``strict=False`` in ``@pytest.mark.synapse`` to opt out).
    """
    from ._backend import FakeBackend

    state = _state(request)
    option = state.backend
    if isinstance(option, FakeBackend):
        backend = option
    else:
        backend = FakeBackend()
        if callable(option) and option is not _DEFAULT_BACKEND:
            option(backend)
    yield backend
    if _quiet(request):
        return
    if state.strict and not state.allow_unused and (backend.calls or state.all_contexts()):
        unused = backend.unused_seeds()
        if unused:
            pytest.fail(
                f"synapse_backend: seeded but never read: {', '.join(unused)}\n"
                "The action did not fetch this data: check the ids it was given, or mark the "
                "test @pytest.mark.synapse(allow_unused=True).",
                pytrace=False,
            )


@pytest.fixture
def synapse_ctx(
    request: pytest.FixtureRequest, synapse_backend: FakeBackend
) -> Iterator[RecordingContext]:
    """A RecordingContext (a real RuntimeContext keeping ``.events``) with the marker's env
    and ``synapse_backend`` as ``client``.

    It records every run of the test: the first ``synapse_run`` runs in it, each later one in
    a fresh context of its own (own run id and cancellation, ``synapse_run.contexts``) whose
    events it records too, so ``synapse_ctx.metrics('loss')`` spans all runs;
    ``synapse_ctx.run_ids`` lists them and each ``Run``'s ``.events`` holds its own.

    Strict: warning events (result validation, clamped progress, ...) that the test did not
    look at (``ctx.warnings()``, ``assert_warned``, a snapshot of the run) fail it at teardown
    (``allow_warnings=True`` or ``strict=False`` in ``@pytest.mark.synapse`` to opt out).
    """
    from ._checked import warnings_ledger
    from ._context import RecordingContext

    state = _state(request)
    client = None if state.backend is None else synapse_backend
    ctx = RecordingContext(env=state.env, client=client, keep_all=state.keep_all_events)
    state.contexts.append(ctx)
    with warnings_ledger() as checked:
        yield ctx
    if _quiet(request):
        return
    if state.strict and not state.allow_warnings:
        from synapse_sdk.plugins.events import WarningEvent

        found = {
            (w.run_id, w.seq): w
            for c in state.all_contexts()
            for w in c.events
            if isinstance(w, WarningEvent) and w.run_id not in checked
        }
        unchecked = list(found.values())
        if unchecked:
            listed = "\n".join(f"  {w.code}: {w.message}" for w in unchecked)
            pytest.fail(
                f"synapse_ctx: the run emitted warnings the test did not check:\n{listed}\n"
                "Assert them with assert_warned(run, code=...), or mark the test "
                "@pytest.mark.synapse(allow_warnings=True).",
                pytrace=False,
            )


@pytest.fixture
def synapse_run(request: pytest.FixtureRequest, synapse_ctx: RecordingContext) -> ActionRunner:
    """Run an action and get its ``Run``: ``synapse_run(action, params)`` or
    ``synapse_run(plugin_dir, 'train', params)``; ``check=False`` keeps a failed run."""
    from ._runner import ActionRunner

    runner = ActionRunner(synapse_ctx)
    _state(request).runner = runner
    return runner


@pytest.fixture
def synapse_snapshot(request: pytest.FixtureRequest) -> SnapshotAssertion:
    """A syrupy snapshot for runs and results: ``assert run == synapse_snapshot``.

    Runs are stored as action, status, params, result, error and one line per event;
    pydantic models field by field; run ids, UUIDs, timestamps, durations and temporary paths
    as stable aliases (``<run-1>``, ``<uuid-1>``, ``<time>``, ``<tmp>/out.csv``).
    ``@pytest.mark.synapse(mask=False)`` keeps the raw values.
    """
    try:
        from ._syrupy import SynapseSnapshotExtension, bind_extension
    except ImportError as exc:  # syrupy is the optional part of the kit
        raise ImportError(
            "synapse_snapshot needs syrupy: pip install 'synapse-sdk[testing]'"
        ) from exc
    from ._snapshot import Masker, default_roots

    state = _state(request)
    tmp_path = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    factory = request.getfixturevalue("tmp_path_factory")
    roots = default_roots(basetemp=factory.getbasetemp(), rootdir=Path(request.config.rootpath))

    def make_masker() -> Masker:
        run_ids = [c.run_id for c in state.all_contexts()]
        return Masker(tmp_path=tmp_path, roots=roots, run_ids=run_ids, mask=state.mask)

    snapshot: SnapshotAssertion = request.getfixturevalue("snapshot")
    try:
        location = Path(
            SynapseSnapshotExtension.get_location(test_location=snapshot.test_location, index=0)
        )
        shown: Path | None = location.relative_to(request.config.rootpath)
    except (AttributeError, TypeError, ValueError):  # another syrupy, or outside the rootdir
        shown = None
    return snapshot.use_extension(bind_extension(make_masker, shown))
