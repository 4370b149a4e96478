"""``BaseExporter``: the reference synapse-sdk's export template, writing local files.

An export plugin of the reference subclasses ``BaseExporter`` and overrides its template
methods; an export action builds it and calls :meth:`~BaseExporter.export`::

    class Exporter(BaseExporter):
        def convert_data(self, data):
            return {**data, "data": to_coco(data["data"])}

    class ExportDataset(BaseExportAction[Params]):
        def execute(self):
            items = self.dataset_export_items(self.params.dataset)
            return self.export_with(Exporter, items, name=self.params.name)

``export()`` writes into ``path_root/<name>`` (``<name>(1)``, ... when it exists): each item's
``data`` as ``labels/<file stem>.json`` and, with ``save_original_file``, its original file
in ``origin_files/``; per-item failures go to ``error_file_list.json`` and the run goes on.
An item is ``{'id', 'files': {...}, 'data'}``; its original file is ``files['url']`` (a local
path, a ``file://`` or an ``http(s)://`` URL), ``files['path']``, or ``files['sha256']`` of
the run's backend. ``self.run`` turns the reference's logging calls into the run's events.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import BackendNotConfiguredError, ValidationError

if TYPE_CHECKING:
    from ...context import RuntimeContext

__all__ = ["BaseExporter", "ExportStatus", "ExporterRunAdapter", "MetricsRecord"]

#: steps of an export's progress
CONVERT_STEP = "convert_data"
SAVE_STEP = "save_files"


class ExportStatus(str, Enum):
    """Outcome of one file of an export."""

    SUCCESS = "success"
    FAILED = "failed"
    STAND_BY = "stand_by"

    def __str__(self) -> str:
        return self.value


@dataclass
class MetricsRecord:
    """Counts of one kind of file (originals, label files) during an export."""

    stand_by: int = 0
    success: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# annotations inside ExporterRunAdapter, whose own MetricsRecord attribute shadows the class
_Record = MetricsRecord

_LEVELS = {"success": "info", "danger": "error"}


def _level(level: Any, default: str) -> str:
    """A log level of the run's events from the reference's ``LogLevel`` (or its name)."""
    if level is None:
        return default
    name = str(getattr(level, "value", level)).lower()
    name = _LEVELS.get(name, name)
    return name if name in ("debug", "info", "warning", "error", "critical") else "info"


class ExporterRunAdapter:
    """``exporter.run``: the reference's logging calls of an exporter, as the run's events.

    ``log_dev_event`` is a ``dev_event`` log event (debug unless ``level`` says otherwise),
    ``log_metrics`` a metrics event for its step, ``export_log_*_file`` an
    ``export_original_file`` / ``export_data_file`` log event per file, ``set_progress`` the
    progress of the export's current step.
    """

    MetricsRecord = MetricsRecord

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        #: the step ``set_progress`` reports to when it names none
        self.step: str | None = None

    def log_message(self, message: Any, level: Any = "info", **kwargs: Any) -> None:
        self.ctx.log_message(message, level, **kwargs)

    def log_export_event(self, event_code: str, item_id: Any) -> None:
        self.ctx.log(event_code, {"item_id": item_id})

    def log_dev_event(
        self, message: str, data: Mapping[str, Any] | None = None, level: Any = None
    ) -> None:
        self.ctx.log(
            "dev_event",
            {"message": message, "data": dict(data or {})},
            level=_level(level, "debug"),
        )

    def set_progress(self, current: float, total: float, step: str | None = None) -> None:
        self.ctx.set_progress(current, total, step or self.step)

    def log_metrics(self, record: _Record, step: str) -> None:
        self.ctx.set_metrics(record.to_dict(), step)

    def export_log_original_file(
        self, item_id: Any, file_info: Mapping[str, Any], status: ExportStatus, error_msg: str
    ) -> None:
        self._file_event("export_original_file", item_id, file_info, status, error_msg)

    def export_log_data_file(
        self, item_id: Any, file_info: Mapping[str, Any], status: ExportStatus, error_msg: str
    ) -> None:
        self._file_event("export_data_file", item_id, file_info, status, error_msg)

    def end_log(self) -> None:
        self.ctx.end_log()

    def _file_event(
        self,
        event: str,
        item_id: Any,
        file_info: Mapping[str, Any],
        status: ExportStatus,
        error_msg: str,
    ) -> None:
        data = {"target_id": item_id, **file_info, "status": ExportStatus(status).value}
        if error_msg:
            data["error"] = error_msg
        failed = status == ExportStatus.FAILED
        self.ctx.log(event, data, level="warning" if failed else "info")


class BaseExporter:
    """The helper an export action uses to write items as files (not an action itself).

    Run it from a ``BaseExportAction``: ``self.export_with(Exporter, items, name=...)``.

    ``BaseExporter(ctx, export_items, path_root, **params)``: ``params`` holds ``name`` (the
    output directory's name, required), ``count`` (how many items, for progress),
    ``save_original_file`` and anything the plugin reads (``self.params``).

    Override (template methods): :meth:`before_convert`, :meth:`convert_data`,
    :meth:`after_convert`; :meth:`save_as_json`, :meth:`save_original_file`,
    :meth:`setup_output_directories`, :meth:`additional_file_saving`,
    :meth:`process_file_saving`; :meth:`export` itself for another layout.
    """

    #: directory of the label files under the export directory (None: none is made)
    label_output_dirname: str | None = "labels"
    #: whether ``export()`` saves originals into ``origin_files/`` when asked to
    sdk_managed_original_files: bool = True
    #: seconds an http(s) download of an original file may take
    download_timeout: float = 300.0

    def __init__(
        self,
        ctx: RuntimeContext,
        export_items: Iterable[Any],
        path_root: str | os.PathLike[str],
        **params: Any,
    ) -> None:
        self.ctx = ctx
        self.export_items = export_items
        self.path_root = Path(path_root)
        self.params = params
        self.run = ExporterRunAdapter(ctx)
        self._stems: set[str] = set()
        self._stem_of: dict[Any, str] = {}

    # -- template methods --------------------------------------------------------------------

    def before_convert(self, data: Any) -> Any:
        """Prepare one item before :meth:`convert_data` (unchanged by default)."""
        return data

    def convert_data(self, data: Any) -> Any:
        """Convert one item to the export's format (unchanged by default)."""
        return data

    def after_convert(self, data: Any) -> Any:
        """Finish one converted item (unchanged by default)."""
        return data

    def process_data_conversion(self, export_item: Any) -> Any:
        """``after_convert(convert_data(before_convert(item)))``."""
        return self.after_convert(self.convert_data(self.before_convert(export_item)))

    def setup_output_directories(
        self, unique_export_path: Path, save_original_file_flag: bool
    ) -> dict[str, Path]:
        """Make the output directories; return them by role (``label_output_path``,
        ``origin_files_output_path``)."""
        paths: dict[str, Path] = {}
        if self.label_output_dirname:
            paths["label_output_path"] = unique_export_path / self.label_output_dirname
        if save_original_file_flag:
            paths["origin_files_output_path"] = unique_export_path / "origin_files"
        for path in paths.values():
            path.mkdir(parents=True, exist_ok=True)
        return paths

    def additional_file_saving(self, unique_export_path: Path) -> None:
        """Write files about the whole export once every item is saved (nothing by default).
        An exception here fails the export."""

    def get_original_file_name(self, files: Any) -> str | None:
        """The original file name of an item's ``files`` (``file_name_original``)."""
        return files.get("file_name_original") if isinstance(files, Mapping) else None

    def save_as_json(
        self, result: Mapping[str, Any], base_path: Path, error_file_list: list[Any]
    ) -> ExportStatus:
        """Write ``result['data']`` to ``base_path/<file stem>.json`` (the stem of the
        original file's name, else the item's id)."""
        item_id = result.get("id")
        raw = self.get_original_file_name(result.get("files"))
        name = _leaf(raw) if raw else _leaf(str(item_id)) if item_id is not None else None
        if name is None:
            return self._failed_data(item_id, "<unknown>.json", error_file_list, "no file name")
        file_name = f"{self._output_stem(item_id, name)}.json"
        data = result.get("data")
        if data is None:
            self.run.log_export_event("NULL_DATA_DETECTED", item_id)
            return self._failed_data(item_id, file_name, error_file_list, "data is null")
        try:
            with (base_path / file_name).open("w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
        except (OSError, TypeError, ValueError) as exc:
            return self._failed_data(item_id, file_name, error_file_list, str(exc))
        self.run.export_log_data_file(item_id, {"file_name": file_name}, ExportStatus.SUCCESS, "")
        return ExportStatus.SUCCESS

    def save_original_file(
        self, result: Mapping[str, Any], base_path: Path, error_file_list: list[Any]
    ) -> ExportStatus:
        """Copy (or download) the item's original file into ``base_path``, keeping its name
        (a later item with the same name gets ``<stem>__<id>``)."""
        item_id = result.get("id")
        files = result.get("files")
        if not isinstance(files, Mapping):
            files = {}
        raw = self.get_original_file_name(files)
        name = _leaf(raw) if raw else None
        if name is None:
            return self._failed_original(
                item_id, "<unknown>", error_file_list, "the item names no file_name_original"
            )
        file_name = self._output_stem(item_id, name) + Path(name).suffix
        try:
            self._fetch_original(files, base_path / file_name)
        except Exception as exc:  # any failure of one file is that file's, the export goes on
            message = str(exc) or type(exc).__name__
            return self._failed_original(item_id, file_name, error_file_list, message)
        self.run.export_log_original_file(
            item_id, {"file_name": file_name}, ExportStatus.SUCCESS, ""
        )
        return ExportStatus.SUCCESS

    def process_file_saving(
        self,
        final_data: Any,
        unique_export_path: Path,
        save_original_file_flag: bool,
        errors_json_file_list: list[Any],
        errors_original_file_list: list[Any],
        original_file_metrics_record: MetricsRecord,
        data_file_metrics_record: MetricsRecord,
        no: int,
    ) -> bool:
        """Save item ``no`` (1-based): its original (when asked), then its label file,
        updating the metrics records; False when its label file failed."""
        self.run.set_progress(no, self._count(), SAVE_STEP)
        if save_original_file_flag:
            status = self.save_original_file(
                final_data, unique_export_path / "origin_files", errors_original_file_list
            )
            _count_status(original_file_metrics_record, status)
            self.run.log_metrics(original_file_metrics_record, "original_file")
        label_dir = unique_export_path / (self.label_output_dirname or "labels")
        label_dir.mkdir(parents=True, exist_ok=True)
        status = self.save_as_json(final_data, label_dir, errors_json_file_list)
        _count_status(data_file_metrics_record, status)
        self.run.log_metrics(data_file_metrics_record, "data_file")
        return status != ExportStatus.FAILED

    # -- the pipeline ------------------------------------------------------------------------

    def export(
        self,
        export_items: Iterable[Any] | None = None,
        results: Any = None,
        **_kwargs: Any,
    ) -> dict[str, Any]:
        """Convert and save every item (``export_items`` or the constructor's) and return
        ``{'export_path', 'output_path', 'exported_count', 'failed_count'}``.

        ``export_path`` is ``path_root`` (as the reference returns it), ``output_path`` the
        directory written. Progress goes to steps ``convert_data`` and ``save_files``.
        """
        items = self.export_items if export_items is None else export_items
        output = self._create_unique_export_path(self._name())
        self.run.log_message(f"Exporting to {output}.")
        save_originals = bool(self.params.get("save_original_file")) and (
            self.sdk_managed_original_files
        )
        self.setup_output_directories(output, save_originals)
        total = self._count()
        originals = MetricsRecord(stand_by=total if save_originals else 0)
        labels = MetricsRecord(stand_by=total)
        self.original_file_metrics_record = originals
        self.data_file_metrics_record = labels
        errors_json: list[Any] = []
        errors_original: list[Any] = []
        for no, item in enumerate(items, 1):
            self.ctx.check_cancelled()
            self.run.step = CONVERT_STEP
            self.run.set_progress(no, total)
            final = self.process_data_conversion(item)
            self.run.step = SAVE_STEP
            self.process_file_saving(
                final, output, save_originals, errors_json, errors_original, originals, labels, no
            )
        self.run.step = None
        self.additional_file_saving(output)
        if errors_json or errors_original:
            report = {"json_file_name": errors_json, "origin_file_name": errors_original}
            (output / "error_file_list.json").write_text(
                json.dumps(report, indent=4, ensure_ascii=False), encoding="utf-8"
            )
        self.run.log_message(
            f"Exported {labels.success} items ({labels.failed} failed) to {output}.",
            "success" if not labels.failed else "warning",
        )
        return {
            "export_path": str(self.path_root),
            "output_path": str(output),
            "exported_count": labels.success,
            "failed_count": labels.failed,
        }

    #: the metrics records of the running (or last) export
    original_file_metrics_record: MetricsRecord | None = None
    data_file_metrics_record: MetricsRecord | None = None

    # -- internals ---------------------------------------------------------------------------

    def _name(self) -> str:
        name = self.params.get("name")
        leaf = _leaf(name) if isinstance(name, str) else None
        if leaf is None or leaf != name:
            raise ValidationError(
                f"{type(self).__name__} needs params['name'], the name of the directory to "
                f"write under {self.path_root}; got {name!r}",
                errors=[{"loc": ("name",), "msg": "a plain directory name", "type": "value_error"}],
                hint=f"build it as {type(self).__name__}(ctx, items, path_root, name='my_export')",
            )
        return name

    def _count(self) -> int:
        count = self.params.get("count")
        if isinstance(count, int):
            return count
        items = self.export_items
        return len(items) if isinstance(items, (list, tuple)) else 0

    def _create_unique_export_path(self, base_name: str) -> Path:
        """``path_root/base_name``, or ``base_name(1)``, ``(2)``, ... when taken; created."""
        self.path_root.mkdir(parents=True, exist_ok=True)
        candidate, n = self.path_root / base_name, 0
        while True:
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                n += 1
                candidate = self.path_root / f"{base_name}({n})"

    def _output_stem(self, item_id: Any, name: str) -> str:
        """The stem item ``item_id``'s files are written under, unique in this export."""
        known = self._stem_of.get(item_id) if item_id is not None else None
        if known is not None:
            return known
        stem = wanted = Path(name).stem
        n = 1
        while stem in self._stems:
            stem = f"{wanted}__{item_id}" if n == 1 else f"{wanted}__{item_id}_{n}"
            n += 1
        if stem != wanted:
            self.run.log_dev_event(
                f"{name!r} is already written in this export: item {item_id} is saved as {stem!r}",
                {"item_id": item_id, "original_name": name, "output_stem": stem},
                "warning",
            )
        self._stems.add(stem)
        if item_id is not None:
            self._stem_of[item_id] = stem
        return stem

    def _fetch_original(self, files: Mapping[str, Any], dest: Path) -> None:
        source = files.get("url") or files.get("path")
        if isinstance(source, str) and source.startswith(("http://", "https://")):
            _download(source, dest, self.download_timeout)
        elif isinstance(source, str) and source.startswith("file://"):
            from urllib.parse import unquote, urlparse

            shutil.copyfile(unquote(urlparse(source).path), dest)
        elif isinstance(source, (str, os.PathLike)) and source:
            shutil.copyfile(source, dest)
        elif files.get("sha256"):
            client = self.ctx.client
            if client is None:
                raise BackendNotConfiguredError("BaseExporter.save_original_file()")
            client.download_file(files["sha256"], dest)
        else:
            raise ValueError("the item's files have no url, path or sha256")

    def _failed_data(
        self, item_id: Any, name: str, errors: list[Any], message: str
    ) -> ExportStatus:
        errors.append([name, message])
        self.run.export_log_data_file(item_id, {"file_name": name}, ExportStatus.FAILED, message)
        return ExportStatus.FAILED

    def _failed_original(
        self, item_id: Any, name: str, errors: list[Any], message: str
    ) -> ExportStatus:
        errors.append([name, message])
        self.run.export_log_original_file(
            item_id, {"file_name": name}, ExportStatus.FAILED, message
        )
        return ExportStatus.FAILED


def _leaf(name: str) -> str | None:
    """The last part of ``name`` (``\\`` read as ``/``), or None for no file name at all."""
    leaf = Path(name.replace("\\", "/")).name
    return None if leaf in ("", ".", "..") else leaf


def _count_status(record: MetricsRecord, status: ExportStatus) -> None:
    record.stand_by -= 1
    if status == ExportStatus.FAILED:
        record.failed += 1
    else:
        record.success += 1


def _download(url: str, dest: Path, timeout: float) -> None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer, dest.open("wb") as out:
            shutil.copyfileobj(answer, out)
    except BaseException:
        dest.unlink(missing_ok=True)  # no half-written original is left behind
        raise
