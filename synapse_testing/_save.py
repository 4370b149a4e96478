"""``save_as_test``: keep a run you just watched as a pytest regression test.

It writes three things into the plugin's tests folder:

- ``test_saved_<plugin>_<action>.py``: replays the action with the same params on the kit's
  :class:`~synapse_testing.FakeBackend` and compares the run with its snapshot;
- ``__snapshots__/<that name>.ambr``: the baseline, a snapshot of *this* run, masked as every
  kit snapshot is (run ids, UUIDs, times, durations, temporary paths);
- ``saved/<that name>/``: what the run read from its backend (``backend.json`` and
  ``files.bin``), recorded by a :class:`~synapse_sdk.clients.ReadRecorder` around its client,
  within ``max_seed_bytes``.

Before writing, the run is replayed once exactly as the test will replay it (``verify=True``):
when the replay does not give this run's snapshot (the action reads something the backend
reads do not cover, depends on the clock, on randomness, or on which backend it ran with), the
differences are raised as a :class:`SaveTestError` and nothing is written.
"""

from __future__ import annotations

import difflib
import json
import keyword
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any, Literal

from synapse_sdk.plugins.errors import PluginError
from synapse_sdk.plugins.run import Run
from synapse_sdk.plugins.spec import ActionSpec, as_spec

from .saved import Seed, outline

__all__ = [
    "DEFAULT_MAX_SEED_BYTES",
    "SaveTestError",
    "SavedTest",
    "SavedTestExistsError",
    "save_as_test",
]

#: The most a saved run's backend reads may weigh on disk (records and file bytes): 10 MiB.
DEFAULT_MAX_SEED_BYTES = 10 * 1024 * 1024

_DIFF_LINES = 60


class SaveTestError(PluginError):
    """A run cannot be kept as a test as asked; ``.action`` is the run's action."""

    def __init__(self, message: str, *, action: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.action = action


class SavedTestExistsError(SaveTestError, FileExistsError):
    """The test (or its snapshot or saved data) is there already; ``.paths`` lists them."""

    def __init__(self, action: str, paths: list[Path]) -> None:
        self.paths = paths
        shown = ", ".join(str(p) for p in paths)
        super().__init__(
            f"a saved test of {action!r} exists already: {shown}",
            action=action,
            hint="pass overwrite=True to replace it, or name='...' to save another one",
        )


@dataclass
class SavedTest:
    """What :func:`save_as_test` wrote: paths, sizes in bytes and the pytest command."""

    test_name: str
    test_file: Path
    snapshot_file: Path
    data_dir: Path | None
    sizes: dict[str, int] = field(default_factory=dict)
    outline: bool = False
    verified: bool = False
    seconds: float = 0.0

    @property
    def command(self) -> str:
        """The command that runs the saved test."""
        return f"pytest {self.test_file}"

    def __str__(self) -> str:
        size = sum(self.sizes.values())
        check = "replayed once: matches" if self.verified else "not replayed"
        return f"saved {self.test_file} ({size:,} bytes in all; {check}); run: {self.command}"


# -- the target: what the test runs -------------------------------------------------------------


@dataclass
class _Target:
    spec: ActionSpec
    env: dict[str, str]
    label: str  # for names: the plugin's code, or the module
    root: Path | None  # the plugin's directory
    ref: str | None  # a module name (plugin or action object's module)
    qualname: str | None  # an action object: its name in ``ref``


def _target(run: Run, plugin: Any) -> _Target:
    from synapse_sdk.plugins import loading

    if plugin is None:  # a run of a plugin knows it; else look in the loading cache
        plugin = getattr(run, "plugin", None) or _cached_plugin(run.action)
    if isinstance(plugin, (str, os.PathLike)):
        resolved = loading.resolve(plugin, run.action)
        discovery = resolved.plugin
        code = str(discovery.config_data.get("code") or "") if discovery.config_data else ""
        if discovery.root is not None:
            return _Target(
                resolved.spec, resolved.env, code or discovery.root.name, discovery.root, None, None
            )
        ref = os.fspath(plugin)
        return _Target(resolved.spec, resolved.env, code or ref, None, ref, None)
    spec = as_spec(plugin)
    if spec.name != run.action:
        raise SaveTestError(
            f"the run is of action {run.action!r}, not of {spec.name!r}",
            action=run.action,
            hint="pass the action (or plugin) the run was made with",
        )
    module, _, qualname = (spec.entrypoint or "").partition(":")
    if not module or module == "__main__" or "." in qualname:
        raise SaveTestError(
            f"action {run.action!r} is defined where a test file cannot import it "
            f"({spec.entrypoint or 'a local function'})",
            action=run.action,
            hint="define it in a module (or a plugin) and pass that, e.g. "
            "save_as_test(run, 'path/to/plugin')",
        )
    return _Target(spec, {}, module.rpartition(".")[2], None, module, qualname)


def _cached_plugin(action: str) -> str:
    """The plugin reference a run of ``action`` was loaded from, when exactly one plugin in the
    loading cache has an action of that name."""
    from synapse_sdk.plugins import loading

    refs = {}
    for (key, name), resolved in list(loading._ACTIONS.items()):
        if name == action:
            ref = key if isinstance(key, str) else os.path.join(key[1], key[0])
            root = resolved.plugin.root
            refs[str(root) if root is not None else ref] = ref
    if len(refs) == 1:
        return next(iter(refs.values()))
    found = (
        f"found in {len(refs)} loaded plugins: {', '.join(sorted(refs))}"
        if refs
        else ("no plugin loaded in this process has it")
    )
    raise SaveTestError(
        f"which plugin is action {action!r} of? {found}",
        action=action,
        hint="pass the plugin: save_as_test(run, 'path/to/plugin') (or the action object)",
    )


# -- params and seed ---------------------------------------------------------------------------


def _json_params(run: Run, spec: ActionSpec) -> Any:
    params = run.params
    dump = getattr(params, "model_dump", None)
    value = dump(mode="json", by_alias=True) if dump is not None else params
    try:
        again = spec.validate_params(value)
    except PluginError as exc:
        raise SaveTestError(
            f"the params of this run of {run.action!r} do not validate again as written: {exc}",
            action=run.action,
            hint="params must survive a JSON round trip to be saved in a test file",
        ) from exc
    if again != params:
        raise SaveTestError(
            f"the params of this run of {run.action!r} change in a JSON round trip: "
            f"{params!r} -> {again!r}",
            action=run.action,
            hint="params must survive a JSON round trip to be saved in a test file",
        )
    return value


def _seed(run: Run, reads: Any, limit: int) -> Seed:
    """The seed of the replay: what ``reads`` (a ReadRecorder) saw, checked against ``limit``."""
    if reads is None:
        return Seed()
    got = reads.reads()
    units: dict[int, list[dict[str, Any]]] = {}
    for dataset_id, by_position in got.data_units.items():
        end = max(by_position, default=-1) + 1
        missing = [p for p in range(end) if p not in by_position]
        if missing:  # listed from an offset: the units before it keep their places
            start = missing[0]
            for position, unit in enumerate(
                reads.list_units(dataset_id, start, end - start), start
            ):
                by_position.setdefault(position, dict(unit))
        units[dataset_id] = [by_position[p] for p in range(end) if p in by_position]
        if dataset_id not in got.datasets and dataset_id not in got.data_collections:
            got.datasets[dataset_id] = dict(reads.client.get_dataset(dataset_id))
    seed = Seed(
        datasets=[got.datasets[k] for k in sorted(got.datasets)],
        data_units=units,
        models=[got.models[k] for k in sorted(got.models)],
        storages=[got.storages[k] for k in sorted(got.storages)],
        data_collections=[got.data_collections[k] for k in sorted(got.data_collections)],
        projects=[got.projects[k] for k in sorted(got.projects)],
        next_ids=dict(got.first_created),
    )
    known = _file_sizes(seed)
    planned = sum(known.get(sha, 0) for sha in got.files)
    if planned > limit:
        _too_big(run, planned, limit, seed, got.files)
    total = 0
    for sha in sorted(got.files):
        data = reads.file_bytes(sha)
        seed.files[sha] = data
        total += len(data)
        if total > limit:
            _too_big(run, total, limit, seed, got.files)
    text, _ = seed.encode()
    if total + len(text) > limit:
        _too_big(run, total + len(text), limit, seed, got.files)
    return seed


def _file_sizes(seed: Seed) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for units in seed.data_units.values():
        for unit in units:
            for record in unit.get("files", {}).values():
                sizes[record["sha256"]] = int(record["size"])
    for model in seed.models:
        sizes[model["file"]["sha256"]] = int(model["file"]["size"])
    return sizes


def _too_big(run: Run, size: int, limit: int, seed: Seed, files: set[str]) -> None:
    sizes = _file_sizes(seed)
    heavy = sorted(((sizes.get(sha, 0), sha) for sha in files), reverse=True)[:3]
    shown = ", ".join(f"{sha[:12]}… {n:,} B" for n, sha in heavy if n)
    raise SaveTestError(
        f"this run of {run.action!r} read {len(files)} files and "
        f"{sum(len(u) for u in seed.data_units.values())} data units from its backend: "
        f"{size:,} bytes or more to save, over the limit of {limit:,} bytes"
        + (f" (largest files: {shown})" if shown else ""),
        action=run.action,
        hint="save a run on a smaller slice of the data, or raise max_seed_bytes=",
    )


# -- what the snapshot holds -----------------------------------------------------------------


def _pytest_rootdir(start: Path) -> Path:
    """The rootdir pytest finds for tests under ``start`` (the first folder up with a pytest
    configuration); paths under it are masked ``<rootdir>/...``."""
    checks = (
        ("pytest.ini", None),
        (".pytest.ini", None),
        ("pyproject.toml", "[tool.pytest"),
        ("tox.ini", "[pytest]"),
        ("setup.cfg", "[tool:pytest]"),
    )
    for folder in (start, *start.parents):
        for name, marker in checks:
            candidate = folder / name
            if candidate.is_file():
                if marker is None:
                    return folder
                try:
                    if marker in candidate.read_text(encoding="utf-8", errors="replace"):
                        return folder
                except OSError:
                    continue
    return start.parent


def _snapshot_text(view: Any, run_id: str, rootdir: Path) -> str:
    """What ``assert view == synapse_snapshot`` stores for ``view`` in a test under
    ``rootdir`` (the kit's masker, syrupy's amber serializer)."""
    from syrupy.extensions.amber import AmberDataSerializer

    from ._masking import Masker, default_roots
    from ._snapshot import snapshot_data

    masker = Masker(roots=default_roots(basetemp=None, rootdir=rootdir), run_ids=[run_id])
    return str(AmberDataSerializer.serialize(snapshot_data(view, masker)))


def _replay(target: _Target, params: Any, seed: Seed, env: Mapping[str, str] | None) -> Run:
    """The run the saved test makes: same spec and params, a FakeBackend seeded with
    ``seed``, the plugin's config env under ``env``, in a RecordingContext."""
    from synapse_sdk.plugins.runner import run_action

    from ._backend import FakeBackend
    from ._context import RecordingContext

    backend = FakeBackend()
    seed.apply(backend)
    ctx = RecordingContext(env={**target.env, **(env or {})}, client=backend)
    return run_action(target.spec, params, ctx=ctx)


def _diff(baseline: str, replay: str) -> str:
    lines = list(
        difflib.unified_diff(
            baseline.splitlines(), replay.splitlines(), "this run", "replay", lineterm="", n=1
        )
    )
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... ({len(lines) - _DIFF_LINES} more lines)"]
    return "\n".join(lines)


# -- the test file -----------------------------------------------------------------------------


def _identifier(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_").lower()
    return name or "action"


def _test_name(target: _Target, action: str, name: str | None) -> str:
    if name is None:
        name = f"saved_{_identifier(target.label)}_{_identifier(action)}"
    name = _identifier(name)
    if not name.startswith("test_"):
        name = f"test_{name}"
    if keyword.iskeyword(name) or not name.isidentifier():
        raise ValueError(f"name={name!r} is not a valid test name")
    return name


def _plugin_line(target: _Target, tests_dir: Path) -> str:
    if target.root is None:
        return f"PLUGIN = {target.ref!r}"
    root, here = target.root.resolve(), tests_dir.resolve()
    if here == root or root in here.parents:
        depth = len(here.relative_to(root).parts)
        return "PLUGIN = HERE" if depth == 0 else f"PLUGIN = HERE.parents[{depth - 1}]"
    relative = Path(os.path.relpath(root, here)).as_posix()
    return f"PLUGIN = (HERE / {relative!r}).resolve()"


def _source(
    *,
    target: _Target,
    action: str,
    test_name: str,
    params: Any,
    tests_dir: Path,
    seeded: bool,
    env: Mapping[str, str] | None,
    use_outline: bool,
    failed: bool,
) -> str:
    imports = ["from pathlib import Path", "", "import pytest"]
    kit = []
    if seeded:
        kit.append("seed_from")
    if use_outline:
        kit.append("outline")
    if kit:
        imports += ["", f"from synapse_testing.saved import {', '.join(kit)}"]
    if target.qualname is not None:
        imports.append(f"from {target.ref} import {target.qualname}")
        call = f"synapse_run({target.qualname}, PARAMS"
        plugin_lines: list[str] = []
    else:
        call = f"synapse_run(PLUGIN, {_literal(action, 0)}, PARAMS"
        plugin_lines = [_plugin_line(target, tests_dir)]
    call += ", check=False)" if failed else ")"
    marker: list[str] = []
    if seeded:
        marker.append(f'backend=seed_from(HERE / "saved" / "{test_name}")')
    if env:
        marker.append(f"env={_literal(dict(env), 0)}")
    params_text = _literal(params, 0)
    compared = "outline(run)" if use_outline else "run"
    where = (
        "each step's first and last progress and metrics report and how many there were"
        if use_outline
        else "its params, result, error and every event"
    )
    doc = [
        f'"""A run of {action!r} kept as a test by synapse_testing.save_as_test.',
        "",
        "The action runs again with the same params on the kit's FakeBackend"
        + (f", seeded with\nwhat the run read (saved/{test_name}/)" if seeded else "")
        + ",",
        f"and the run is compared with the saved one ({where}:",
        f"__snapshots__/{test_name}.ambr). A change you meant? Accept it with",
        f"    pytest {test_name}.py --snapshot-update",
        '"""',
    ]
    lines = [
        *doc,
        "",
        *imports,
        "",
        "HERE = Path(__file__).resolve().parent",
        *plugin_lines,
        f"PARAMS = {params_text}",
        "",
        "",
    ]
    if marker:
        lines.append(f"@pytest.mark.synapse({', '.join(marker)})")
    lines += [
        f"def {test_name}(synapse_run, synapse_snapshot):",
        f"    run = {call}",
        f"    assert {compared} == synapse_snapshot",
        "",
    ]
    return "\n".join(lines)


def _literal(value: Any, depth: int) -> str:
    """``value`` (JSON data) as Python source, one item a line when it is long."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, dict):
        items = [
            f"{_literal(str(k), depth + 1)}: {_literal(v, depth + 1)}" for k, v in value.items()
        ]
        brackets = "{}"
    elif isinstance(value, (list, tuple)):
        items = [_literal(v, depth + 1) for v in value]
        brackets = "[]"
    else:
        raise TypeError(f"not JSON data: {value!r}")
    flat = brackets[0] + ", ".join(items) + brackets[1]
    if len(flat) + 4 * depth <= 80 and "\n" not in flat:
        return flat
    pad = "    " * (depth + 1)
    inner = "".join(f"{pad}{item},\n" for item in items)
    return f"{brackets[0]}\n{inner}{'    ' * depth}{brackets[1]}"


def _write_snapshot(path: Path, test_name: str, text: str) -> None:
    from syrupy.data import Snapshot, SnapshotCollection
    from syrupy.extensions.amber import AmberDataSerializer

    path.parent.mkdir(parents=True, exist_ok=True)
    collection = SnapshotCollection(location=str(path))
    collection.add(Snapshot(name=test_name, data=text))
    AmberDataSerializer.write_file(collection)


# -- the door ----------------------------------------------------------------------------------


def save_as_test(
    run: Run,
    plugin: Any = None,
    *,
    reads: Any = None,
    tests_dir: str | os.PathLike[str] | None = None,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    overwrite: bool = False,
    max_seed_bytes: int = DEFAULT_MAX_SEED_BYTES,
    verify: bool = True,
    baseline: Literal["run", "replay"] = "run",
) -> SavedTest:
    """Keep ``run`` as a pytest test in the plugin's tests folder; return what was written.

    ``plugin`` is the plugin the run was made from (its directory, config.yaml or module
    name) or the action object (a function or class importable from a module); by default the
    one plugin loaded in this process that has the run's action. ``reads`` is the
    :class:`~synapse_sdk.clients.ReadRecorder` the run's client was wrapped in: what it read
    seeds the test's fake backend (at most ``max_seed_bytes`` on disk, records and file bytes;
    more raises SaveTestError). Without it the replay starts from an empty fake backend.

    ``tests_dir`` defaults to ``<plugin>/tests``; ``name`` to ``test_saved_<plugin>_<action>``.
    An existing test of that name is not replaced unless ``overwrite=True``
    (SavedTestExistsError). ``env`` is laid over config.yaml's env, as for the run.

    ``verify=True`` replays the run first, as the test will, and raises SaveTestError with the
    differences when the replay's snapshot is not this run's; ``baseline='replay'`` keeps the
    replay's snapshot instead (the differences are then what the fake backend changes, e.g. a
    result naming the backend). A run whose record left events out (past 256 progress reports
    of one step) is compared as its :func:`~synapse_testing.saved.outline`.
    """
    started = perf_counter()
    target = _target(run, plugin)
    if tests_dir is None:
        if target.root is None:
            raise SaveTestError(
                f"action {run.action!r} is not from a plugin directory: where do its tests go?",
                action=run.action,
                hint="pass tests_dir='path/to/tests'",
            )
        tests_dir = target.root / "tests"
    folder = Path(tests_dir)
    test_name = _test_name(target, run.action, name)
    test_file = folder / f"{test_name}.py"
    snapshot_file = folder / "__snapshots__" / f"{test_name}.ambr"
    data_dir = folder / "saved" / test_name
    existing = [p for p in (test_file, snapshot_file, data_dir) if p.exists()]
    if existing and not overwrite:
        raise SavedTestExistsError(run.action, existing)

    params = _json_params(run, target.spec)
    seed = _seed(run, reads, max_seed_bytes)
    use_outline = bool(run.omitted)
    rootdir = _pytest_rootdir(folder.resolve())

    def view(r: Run) -> Any:
        return outline(r) if use_outline else r

    text = _snapshot_text(view(run), run.run_id, rootdir)
    if verify or baseline == "replay":
        replay = _replay(target, params, seed, env)
        replayed = _snapshot_text(view(replay), replay.run_id, rootdir)
        if baseline == "replay":
            text = replayed
        elif replayed != text:
            raise SaveTestError(
                f"a replay of this run of {run.action!r} on the fake backend differs from "
                f"it, so the saved test would fail at once:\n{_diff(text, replayed)}",
                action=run.action,
                hint="a result that names the backend, the time or a random value differs by "
                "nature: baseline='replay' keeps the replay's snapshot; data read outside the "
                "backend client is not saved (pass reads=ReadRecorder(client) for the client)",
            )

    if overwrite:
        for path in existing:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    seeded = bool(seed)
    if seeded:
        for path in seed.write(data_dir):
            sizes[str(path.relative_to(folder))] = path.stat().st_size
    _write_snapshot(snapshot_file, test_name, text)
    sizes[str(snapshot_file.relative_to(folder))] = snapshot_file.stat().st_size
    source = _source(
        target=target,
        action=run.action,
        test_name=test_name,
        params=params,
        tests_dir=folder,
        seeded=seeded,
        env=env,
        use_outline=use_outline,
        failed=not run.ok,
    )
    test_file.write_text(source, encoding="utf-8")
    sizes[test_file.name] = test_file.stat().st_size
    return SavedTest(
        test_name=test_name,
        test_file=test_file,
        snapshot_file=snapshot_file,
        data_dir=data_dir if seeded else None,
        sizes=sizes,
        outline=use_outline,
        verified=verify and baseline == "run",
        seconds=perf_counter() - started,
    )
