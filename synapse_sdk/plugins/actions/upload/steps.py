"""The default upload workflow as context steps (the reference synapse-sdk's ``upload.steps``).

=====================  ======  =========================================================
step                   weight  does
=====================  ======  =========================================================
initialize             0.05    storage, working folder, project
process_metadata       0.10    a .xlsx / .csv sheet of per-file metadata (skipped without)
analyze_collection     0.05    the data collection and its file specifications
organize_files         0.15    files grouped into data units by relative path and stem
validate_files         0.10    required specifications, extensions, size limit
upload_files           0.30    files stored in the backend (checksummed, retried)
generate_data_units    0.20    data units made in batches (never twice: keyed by content)
cleanup                0.05    a summary event
=====================  ======  =========================================================

A file that cannot be used is reported with :meth:`UploadContext.lose` (never dropped
silently). Rolling back ``upload_files`` removes the files this run stored that nothing else
uses; rolling back ``generate_data_units`` removes the data units this run made.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..._compat import module_getattr
from ...errors import BackendError, CancelledError, IntegrityError, NotFoundError
from ...steps import BaseStep, StepResult
from .context import UploadContext
from .spill import external_sorted

__all__ = [
    "EXCLUDED_NAMES",
    "AnalyzeCollectionStep",
    "CleanupStep",
    "GenerateDataUnitsStep",
    "InitializeStep",
    "OrganizeFilesStep",
    "ProcessMetadataStep",
    "UploadFilesStep",
    "ValidateFilesStep",
    "default_upload_steps",
]

#: File and folder names never uploaded (system litter).
EXCLUDED_NAMES = frozenset(
    {".DS_Store", "Thumbs.db", "desktop.ini", "@eaDir", "#recycle", "__pycache__", ".git"}
)
# Files read into memory per upload call at most (small files; larger ones go by path).
_READ_MAX = 64 * 1024
_UPLOAD_BATCH = 200
# Checksums released per backend call: each call looks through the data units made since
# those files came (LocalBackend), so fewer, larger calls; memory stays bounded by it.
_RELEASE_BATCH = 10_000
# Data unit ids deleted per backend call (a rollback).
_DELETE_BATCH = 1000
T = TypeVar("T")


def default_upload_steps() -> list[BaseStep[UploadContext]]:
    """New instances of the eight default steps, in order."""
    return [
        InitializeStep(),
        ProcessMetadataStep(),
        AnalyzeCollectionStep(),
        OrganizeFilesStep(),
        ValidateFilesStep(),
        UploadFilesStep(),
        GenerateDataUnitsStep(),
        CleanupStep(),
    ]


def _failed(error: str) -> StepResult[Any]:
    return StepResult(success=False, error=error)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), read as they come."""
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def _path(value: str | os.PathLike[str]) -> Path:
    """``value`` as a Path (without building a new one: that costs microseconds a file)."""
    return value if isinstance(value, Path) else Path(value)


def _inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` resolved; ValueError when it leaves ``root``."""
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"{what} {relative!r} leads outside the storage folder {root}")
    return target


# -- 1. initialize -------------------------------------------------------------------------


class InitializeStep(BaseStep[UploadContext]):
    """Get the storage (and project) and the working folder of single-path mode."""

    name = "initialize"
    progress_weight = 0.05

    def execute(self, context: UploadContext) -> StepResult[Any]:
        client = context.client
        storage_id = context.params.get("storage")
        try:
            context.storage = client.get_storage(storage_id)  # type: ignore[arg-type]
        except NotFoundError as exc:
            return _failed(
                f"storage {storage_id} does not exist ({exc.hint or exc}); register a folder "
                "with `synapse backend storages add NAME PATH`"
            )
        root = Path(context.storage["path"])
        if not root.is_dir():
            return _failed(f"the folder of storage {storage_id}, {root}, does not exist")
        if context.use_single_path:
            try:
                cwd = _inside(root.resolve(), str(context.params["path"]), "path")
            except ValueError as exc:
                return _failed(str(exc))
            if not cwd.is_dir():
                return _failed(
                    f"path {context.params['path']!r} is not a folder of storage "
                    f"{context.storage['name']!r} ({cwd})"
                )
            context.pathlib_cwd = cwd
        project_id = context.params.get("project")
        if project_id:
            try:
                context.project = client.get_project(project_id)
            except NotFoundError as exc:
                return _failed(f"project {project_id} does not exist ({exc})")
        context.set_progress(1, 1)
        return StepResult(data={"storage_id": storage_id, "pathlib_cwd": context.pathlib_cwd})

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        context.storage = None
        context.pathlib_cwd = None


# -- 2. process metadata -------------------------------------------------------------------


class ProcessMetadataStep(BaseStep[UploadContext]):
    """Read ``excel_metadata_path``: a sheet whose first row names the columns, whose first
    column is a file name (with or without extension) and whose other columns become the
    metadata of that file's data unit. ``.xlsx`` needs the ``upload-excel`` extra; ``.csv``
    needs nothing. Skipped when no sheet is given."""

    name = "process_metadata"
    progress_weight = 0.1

    def can_skip(self, context: UploadContext) -> bool:
        return not context.params.get("excel_metadata_path")

    def execute(self, context: UploadContext) -> StepResult[Any]:
        given = str(context.params["excel_metadata_path"])
        path = self._locate(context, given)
        if path is None:
            return _failed(
                f"excel_metadata_path {given!r} was not found in the working folder or the storage"
            )
        try:
            rows = _read_sheet(path)
            header = [str(h).strip() if h is not None else "" for h in next(rows)]
        except StopIteration:
            return _failed(f"the metadata sheet {path} is empty")
        except ImportError:
            raise
        except Exception as exc:
            return _failed(f"cannot read the metadata sheet {path}: {type(exc).__name__}: {exc}")
        if len(header) < 2 or not all(header[1:]):
            return _failed(
                f"the metadata sheet {path} needs a header row: the file name column, then "
                f"one named column per metadata field (got {header})"
            )
        metadata: dict[str, dict[str, Any]] = {}
        for row in rows:
            if not row or row[0] in (None, ""):
                continue
            cells = zip(header[1:], row[1:], strict=False)  # short rows: missing cells
            values = {k: _cell(v) for k, v in cells if v not in (None, "")}
            metadata[str(row[0]).strip()] = values
        context.excel_metadata = metadata
        context.log("upload_metadata_loaded", {"file": path.name, "rows": len(metadata)})
        return StepResult(data={"rows": len(metadata)})

    @staticmethod
    def _locate(context: UploadContext, given: str) -> Path | None:
        candidates = [Path(given)] if os.path.isabs(given) else []
        if context.pathlib_cwd is not None:
            candidates.append(context.pathlib_cwd / given)
        if context.storage is not None:
            candidates.append(Path(context.storage["path"]) / given)
        return next((c for c in candidates if c.is_file()), None)

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        context.excel_metadata = None


def _read_sheet(path: Path) -> Iterator[Sequence[Any]]:
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as f:
            yield from csv.reader(f)
        return
    try:
        import openpyxl  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ImportError(
            f"reading the metadata sheet {path.name} needs openpyxl: "
            "pip install 'synapse-sdk[upload-excel]' (or give a .csv sheet)"
        ) from exc
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        yield from book.active.iter_rows(values_only=True)
    finally:
        book.close()


def _cell(value: Any) -> Any:
    """A JSON value for a sheet cell (dates and times as ISO text)."""
    if isinstance(value, (str, int, float, bool)):
        return value
    iso = getattr(value, "isoformat", None)
    return iso() if callable(iso) else str(value)


# -- 3. analyze collection -----------------------------------------------------------------


class AnalyzeCollectionStep(BaseStep[UploadContext]):
    """Get the data collection and its file specifications."""

    name = "analyze_collection"
    progress_weight = 0.05

    def execute(self, context: UploadContext) -> StepResult[Any]:
        collection_id = context.params.get("data_collection")
        try:
            collection = context.client.get_data_collection(collection_id)  # type: ignore[arg-type]
        except NotFoundError as exc:
            return _failed(
                f"data collection {collection_id} does not exist ({exc.hint or exc}); create "
                "one with `synapse backend collections add NAME --spec image:required`"
            )
        if not collection["file_specifications"]:
            return _failed(f"data collection {collection_id} has no file specifications")
        context.data_collection = collection
        context.set_progress(1, 1)
        return StepResult(data={"file_specifications": collection["file_specifications"]})

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        context.data_collection = None


# -- 4. organize files ---------------------------------------------------------------------


class OrganizeFilesStep(BaseStep[UploadContext]):
    """Group files into data units: files of different specifications whose path relative
    to their specification's folder is the same up to the extension make one unit
    (``image/a/1.jpg`` + ``label/a/1.json``). A unit missing a required specification, or a
    second file for the same specification and stem, is reported lost."""

    name = "organize_files"
    progress_weight = 0.15

    def execute(self, context: UploadContext) -> StepResult[Any]:
        specs = context.file_specifications
        folders = self._folders(context, specs)
        if isinstance(folders, str):
            return _failed(folders)
        names = list(folders)
        required = [s["name"] for s in specs if s["is_required"]]
        primary = next((s["name"] for s in specs if s["is_primary"]), specs[0]["name"])
        metadata = context.excel_metadata or {}
        counted = [0]
        # Every file as (unit key, specification, path), sorted on disk beyond a few
        # thousand: one folder of a million files costs no more memory than one of ten.
        found = external_sorted(
            self._found(context, folders, counted),
            chunk=context.list_chunk,
            directory=context.scratch_dir,
        )
        organized = context.new_list()
        for key, entries in itertools.groupby(found, key=lambda e: e[0]):
            files: dict[str, Path] = {}
            for _, index, path in entries:
                spec_name = names[index]
                other = files.get(spec_name)
                if other is not None:
                    context.lose(
                        path,
                        f"{context.display_path(other)} already gives specification "
                        f"{spec_name!r} of data unit {key!r} (same name, another extension)",
                    )
                else:
                    files[spec_name] = Path(path)
            missing = [r for r in required if r not in files]
            if missing:
                for found_path in files.values():
                    context.lose(
                        found_path,
                        f"data unit {key!r} has no file for required specification "
                        f"{', '.join(repr(m) for m in missing)}",
                    )
                continue
            main = files.get(primary) or next(iter(files.values()))
            meta: dict[str, Any] = {
                "origin_file_stem": main.stem,
                "origin_file_extension": main.suffix.lower(),
                "data_unit_key": key,
            }
            if metadata:
                extra = metadata.get(main.name) or metadata.get(main.stem) or metadata.get(key)
                if extra:
                    meta.update(extra)
            organized.append({"files": files, "meta": meta})
        context.organized_files = organized
        context.set_progress(1, 1)
        context.log(
            "upload_files_organized",
            {"files": counted[0], "data_units": len(organized), "folders": sorted(folders)},
        )
        return StepResult(data={"organized_files": len(organized)})

    @staticmethod
    def _found(
        context: UploadContext, folders: Mapping[str, tuple[Path, bool]], counted: list[int]
    ) -> Iterator[tuple[str, int, str]]:
        """``(unit key, specification index, path)`` of every file, as the folders list
        them; ``counted[0]`` counts them."""
        for index, (folder, recursive) in enumerate(folders.values()):
            prefix = len(str(folder).rstrip("/\\")) + 1  # "/" as a folder: "/a" -> "a"
            for path in _walk(str(folder), recursive):
                relative = path[prefix:].replace(os.sep, "/")
                yield os.path.splitext(relative)[0], index, path
                counted[0] += 1
                if counted[0] % 1000 == 0:
                    context.check_cancelled()

    @staticmethod
    def _folders(
        context: UploadContext, specs: Sequence[Mapping[str, Any]]
    ) -> dict[str, tuple[Path, bool]] | str:
        """Each specification's folder and whether to recurse, or why there is none."""
        assert context.storage is not None, "initialize runs first"
        root = Path(context.storage["path"]).resolve()
        names = [s["name"] for s in specs]
        if context.use_single_path:
            cwd = context.pathlib_cwd
            assert cwd is not None, "initialize runs first"
            recursive = bool(context.params.get("is_recursive", True))
            found = {n: (cwd / n, recursive) for n in names if (cwd / n).is_dir()}
            if not found and len(names) == 1:  # one specification: its files may be right here
                found = {names[0]: (cwd, recursive)}
            if not found:
                return (
                    f"{cwd} has no folder named after a file specification "
                    f"({', '.join(names)}); put each kind of file in its own sub-folder"
                )
            return found
        assets: Mapping[str, Any] = context.params.get("assets") or {}
        unknown = sorted(set(assets) - set(names))
        if unknown:
            return f"assets {unknown} are not file specifications of the collection ({names})"
        found = {}
        for name, asset in assets.items():
            try:
                folder = _inside(root, str(asset["path"]), f"assets.{name}.path")
            except ValueError as exc:
                return str(exc)
            if not folder.is_dir():
                return f"assets.{name}.path {asset['path']!r} is not a folder of the storage"
            found[name] = (folder, bool(asset.get("is_recursive", True)))
        return found

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        context.organized_files = []


def _walk(folder: str, recursive: bool) -> Iterator[str]:
    """Paths of the regular files below ``folder``, in the order the system lists them,
    skipping hidden and system names and symlinks (a link could lead out of the storage)."""
    subfolders = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name in EXCLUDED_NAMES or entry.is_symlink():
                    continue
                if entry.is_file():
                    yield entry.path
                elif recursive and entry.is_dir():
                    subfolders.append(entry.path)
    except OSError:
        return
    for sub in subfolders:
        yield from _walk(sub, recursive)


# -- 5. validate ---------------------------------------------------------------------------


class ValidateFilesStep(BaseStep[UploadContext]):
    """Check every file against its specification's extensions, the action's allowed
    extensions (``get_allowed_extensions()``) and ``max_file_size_mb``. A bad file of an
    optional specification is left out of its data unit; one of a required specification
    takes its data unit out. Every file left out is reported lost, with why."""

    name = "validate_files"
    progress_weight = 0.1

    def execute(self, context: UploadContext) -> StepResult[Any]:
        specs = {s["name"]: s for s in context.file_specifications}
        allowed = context.allowed_extensions
        limit = context.max_file_size_bytes
        kept = context.new_list()
        for group in context.organized_files.read_only():  # changed groups go into kept
            files: dict[str, Any] = group["files"]
            problems: dict[str, str] = {}
            for spec_name, path in files.items():
                problem = _check(_path(path), specs.get(spec_name), allowed, limit)
                if problem:
                    problems[spec_name] = problem
            if not problems:
                kept.append(group)
                continue
            fatal = [n for n in problems if n in specs and specs[n]["is_required"]]
            for spec_name, problem in problems.items():
                context.lose(files[spec_name], problem)
            if fatal:
                first = fatal[0]
                why = f"its data unit was dropped: {Path(files[first]).name} {problems[first]}"
                for spec_name, path in files.items():
                    if spec_name not in problems:
                        context.lose(path, why)
                continue
            group["files"] = {n: p for n, p in files.items() if n not in problems}
            kept.append(group)
        context.organized_files = kept
        if not kept:
            return _failed(
                f"no usable files: {len(context.lost_files)} file(s) lost" + _first_reasons(context)
            )
        context.set_progress(1, 1)
        return StepResult(data={"validated": len(kept)})


def _check(path: Path, spec: Mapping[str, Any] | None, allowed: Any, limit: int) -> str | None:
    suffix = path.suffix.lower()
    if spec is None:
        return "matches no file specification of the collection"
    extensions = spec.get("extensions") or []
    if extensions and suffix not in extensions:
        return (
            f"has extension {suffix or '(none)'!r}; specification {spec['name']!r} accepts "
            f"{', '.join(extensions)}"
        )
    if allowed:
        accepted = _allowed_for(allowed, spec.get("file_type", ""), spec["name"])
        if accepted is not None and suffix not in accepted:
            return (
                f"has extension {suffix or '(none)'!r}; this upload accepts "
                f"{', '.join(sorted(accepted)) or 'none'} for {spec['name']!r}"
            )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if size > limit:
        return f"is {size:,} bytes, over the limit of {limit:,} bytes (max_file_size_mb)"
    return None


def _allowed_for(allowed: Any, file_type: str, spec_name: str) -> set[str] | None:
    """Accepted suffixes: ``allowed`` is a list for every file, or ``{file type or spec
    name: [suffixes]}`` (a file type it does not name is not restricted)."""
    if isinstance(allowed, Mapping):
        chosen = allowed.get(file_type, allowed.get(spec_name))
        if chosen is None:
            return None
    else:
        chosen = allowed
    return {"." + str(e).lower().lstrip(".") for e in chosen}


def _first_reasons(context: UploadContext, n: int = 3) -> str:
    shown = "; ".join(f"{f.file}: {f.reason}" for f in context.lost_files[:n])
    return f" (e.g. {shown})" if shown else ""


# -- 6. upload files -----------------------------------------------------------------------


class UploadFilesStep(BaseStep[UploadContext]):
    """Store the files of every data unit in the backend, a batch at a time.

    Files are hashed while read; content the backend holds already is not sent again
    (``verify_data_files_checksums``); the sha256 the backend answers must be the one
    computed here. A failed batch is tried again (``upload_max_retries``); a file that still
    cannot be stored is reported lost and its data unit left out. Stored files are held by
    the run's session until cleanup (or the rollback) releases them: released files that no
    data unit uses are deleted.
    """

    name = "upload_files"
    progress_weight = 0.3
    batch_size = _UPLOAD_BATCH

    def execute(self, context: UploadContext) -> StepResult[Any]:
        client = context.client
        groups = context.organized_files
        total = len(groups)
        context.set_progress(0, total)
        done = 0
        for batch in _batches(groups.read_only(), self.batch_size):
            context.check_cancelled()
            self._upload_batch(context, client, batch)
            done += len(batch)
            context.set_progress(done, total)
        if not context.uploaded_files:
            return _failed("no file could be uploaded" + _first_reasons(context))
        return StepResult(
            data={"uploaded_files": len(context.uploaded_files)},
            rollback_data={"session": context.session},
        )

    def _upload_batch(
        self, context: UploadContext, client: Any, batch: list[dict[str, Any]]
    ) -> None:
        # read and hash every file of the batch once
        hashed: list[tuple[dict[str, Any], dict[str, tuple[str, int, bytes | None]]]] = []
        for group in batch:
            files: dict[str, tuple[str, int, bytes | None]] = {}
            for spec_name, path in group["files"].items():
                try:
                    files[spec_name] = _digest(_path(path))
                except OSError as exc:
                    files = {}
                    self._drop(context, group, path, f"cannot be read: {exc.strerror or exc}")
                    break
            if files:
                hashed.append((group, files))
        wanted = sorted({sha for _, files in hashed for sha, _, _ in files.values()})
        held = set(
            _retrying(context, lambda: client.verify_data_files_checksums(wanted), "checking")
        )
        # send what the backend lacks, once per content
        sources: dict[str, tuple[Any, str]] = {}
        for group, files in hashed:
            for spec_name, (sha, _, data) in files.items():
                if sha not in held and sha not in sources:
                    path = _path(group["files"][spec_name])
                    sources[sha] = (data if data is not None else path, path.name)
        stored: dict[str, Any] = {}
        if sources:
            order = list(sources)
            try:
                records = _retrying(
                    context,
                    lambda: client.upload_data_files(
                        [sources[s][0] for s in order],
                        names=[sources[s][1] for s in order],
                        session=context.session,
                    ),
                    "uploading",
                )
            except (BackendError, OSError) as exc:
                for group, _ in hashed:
                    self._drop(context, group, None, f"upload failed: {exc}")
                return
            stored = {sha: rec for sha, rec in zip(order, records, strict=True)}
            context.sent_files += len(order)
        for group, files in hashed:
            entry: dict[str, Any] = {}
            for spec_name, (sha, size, _) in files.items():
                path = _path(group["files"][spec_name])
                record = stored.get(sha)
                if record is not None and record["sha256"] != sha:
                    entry = {}
                    self._drop(context, group, path, "changed while it was being uploaded")
                    break
                entry[spec_name] = {"name": path.name, "sha256": sha, "size": size,
                                    "path": str(path)}  # fmt: skip
            if entry:
                context.uploaded_files.append({"files": entry, "meta": group["meta"]})

    @staticmethod
    def _drop(context: UploadContext, group: Mapping[str, Any], bad: Any, reason: str) -> None:
        for path in group["files"].values():
            if bad is None or path == bad:
                context.lose(path, reason)
            else:
                context.lose(path, f"its data unit was dropped: {Path(bad).name} {reason}")

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        _release(context)
        context.uploaded_files = []


def _release(context: UploadContext) -> int:
    """End this run's hold on the files it uploaded (those no data unit uses are deleted),
    a thousand checksums per backend call."""
    units = context.uploaded_files.read_only()
    shas = (f["sha256"] for unit in units for f in unit["files"].values())
    client = context.client
    return sum(
        client.release_data_files(batch, session=context.session)
        for batch in _batches(shas, _RELEASE_BATCH)
    )


def _count_files(units: Iterable[Mapping[str, Any]]) -> int:
    return sum(len(unit["files"]) for unit in units)


def _digest(path: Path) -> tuple[str, int, bytes | None]:
    """sha256 and size of a file; its bytes too when small (sent as they are, read once)."""
    with open(path, "rb") as f:
        first = f.read(_READ_MAX + 1)
        if len(first) <= _READ_MAX:
            return hashlib.sha256(first).hexdigest(), len(first), first
        digest = hashlib.sha256(first)
        size = len(first)
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, None


def _retrying(context: UploadContext, call: Callable[[], T], doing: str) -> T:
    """``call()``, tried again after a transient backend failure (not after a missing
    record, an unsafe name or a checksum mismatch), ``upload_max_retries`` times."""
    attempts = context.max_retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (NotFoundError, IntegrityError, CancelledError):
            raise
        except BackendError as exc:
            if attempt == attempts:
                raise
            context.log(
                "upload_retry",
                {"doing": doing, "attempt": attempt, "error": str(exc).splitlines()[0]},
                level="warning",
            )
            context.check_cancelled()
            time.sleep(min(0.1 * 2 ** (attempt - 1), 2.0))
    raise AssertionError("unreachable")  # pragma: no cover


# -- 7. generate data units ----------------------------------------------------------------


class GenerateDataUnitsStep(BaseStep[UploadContext]):
    """Make a data unit of each group of uploaded files, ``creating_data_unit_batch_size``
    per backend call (each call all or nothing). A unit is keyed by its files' content, so a
    unit the collection has already is counted in ``existing_data_units``, not made again."""

    name = "generate_data_units"
    progress_weight = 0.2

    def execute(self, context: UploadContext) -> StepResult[Any]:
        client = context.client
        assert context.data_collection is not None, "analyze_collection runs first"
        collection_id = context.data_collection["id"]
        uploaded = context.uploaded_files
        total = len(uploaded)
        size = context.batch_size
        context.set_progress(0, total)
        done = 0
        for batch in _batches(uploaded.read_only(), size):
            context.check_cancelled()
            units = [
                {
                    "files": {
                        spec: {"name": f["name"], "sha256": f["sha256"], "size": f["size"]}
                        for spec, f in unit["files"].items()
                    },
                    "meta": unit["meta"],
                }
                for unit in batch
            ]
            answers = _retrying(
                context,
                lambda units=units: client.create_data_units(collection_id, units),  # type: ignore[misc]
                "making data units",
            )
            for unit, answer in zip(batch, answers, strict=True):
                if answer["created"]:
                    context.data_units.append(
                        {"id": answer["id"], "files": unit["files"], "meta": unit["meta"]}
                    )
                else:
                    context.existing_data_units += 1
            done += len(batch)
            context.set_progress(done, total)
        return StepResult(
            data={"data_units": len(context.data_units)},
            rollback_data={"collection": collection_id},
        )

    def rollback(self, context: UploadContext, result: StepResult[Any] | None = None) -> None:
        collection = context.data_collection
        if collection is not None:
            made = (unit["id"] for unit in context.data_units.read_only())
            for ids in _batches(made, _DELETE_BATCH):
                context.client.delete_data_units(collection["id"], ids)
        context.data_units = []


# -- 8. cleanup ----------------------------------------------------------------------------


class CleanupStep(BaseStep[UploadContext]):
    """Release the uploaded files to the data units now using them and log what the upload
    made (``upload_summary``). The scratch folder goes when the run ends."""

    name = "cleanup"
    progress_weight = 0.05

    def execute(self, context: UploadContext) -> StepResult[Any]:
        files = _count_files(context.uploaded_files.read_only())
        summary = {
            "uploaded_files": context.sent_files,
            "reused_files": files - context.sent_files,
            "data_units": len(context.data_units),
            "existing_data_units": context.existing_data_units,
            "lost_files": len(context.lost_files),
        }
        _release(context)
        level = "warning" if context.lost_files else "info"
        context.log("upload_summary", summary, level=level)
        context.set_progress(1, 1)
        return StepResult(data=summary)


__getattr__ = module_getattr(__name__, lambda: __all__)
