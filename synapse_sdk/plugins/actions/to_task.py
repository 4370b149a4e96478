"""``ToTaskAction``: fill annotation tasks with data (the reference synapse-sdk's path).

A pre-annotation plugin writes data into the annotation tasks of a project, either converted
from a file each task's data unit carries (``method='file'``, the file of
``target_specification_name``) or from a model's answer (``method='inference'``)::

    class ToTask(ToTaskAction):
        def convert_data_from_file(self, primary_file_url, primary_file_name,
                                   data_file_url, data_file_name, task_data=None):
            return {"annotations": read_labels(data_file_url)}

Tasks live on the Synapse platform, and synapse_sdk's backends keep none: :meth:`fetch_tasks`
and :meth:`submit_task_data` raise :class:`~synapse_sdk.plugins.errors.PlatformRequiredError`
unless a plugin (or a test) overrides them. Everything between them runs here:
:meth:`annotate_task` picks a task's files and calls the conversion hooks, and
:meth:`execute` counts successes and failures per task, with progress and metrics. In
inference mode :meth:`run_inference` posts to ``SYNAPSE_INFERENCE_URL`` of the run's env
(see :mod:`synapse_sdk.plugins.actions.auto_label`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .._compat import module_getattr
from ..enums import PluginCategory
from ..errors import (
    ActionDefinitionError,
    CancelledError,
    PlatformRequiredError,
    ValidationError,
)
from ._common import CategoryAction

if TYPE_CHECKING:
    from ..context import RuntimeContext

__all__ = [
    "TaskProcessStatus",
    "ToTaskAction",
    "ToTaskContext",
    "ToTaskMethod",
    "ToTaskParams",
    "ToTaskResult",
]


class ToTaskMethod(str, Enum):
    """Where a task's data comes from: a file of its data unit, or a model's answer."""

    FILE = "file"
    INFERENCE = "inference"

    def __str__(self) -> str:
        return self.value


class TaskProcessStatus(str, Enum):
    """Outcome of one task (the ``status`` of an ``annotate_task_data`` log event)."""

    SUCCESS = "success"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class ToTaskParams(BaseModel):
    """Params of ``ToTaskAction``, as the platform sends them.

    ``agent``, ``pre_processor`` and ``batch_size`` are accepted and kept in
    ``self.context.params``; tasks are processed one by one here.
    """

    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(min_length=1, description="Name of this pre-annotation run")
    description: str | None = None
    project: int = Field(description="Project whose tasks are filled")
    agent: int | None = Field(default=None, description="Platform agent that runs the job")
    task_filters: dict[str, Any] = Field(default_factory=dict)
    method: ToTaskMethod = ToTaskMethod.FILE
    target_specification_name: str | None = Field(
        default=None, description="File specification holding each task's data (method 'file')"
    )
    model: int | None = Field(default=None, description="Model the pre-processor runs")
    pre_processor: int | None = Field(default=None, description="Pre-processor plugin release")
    pre_processor_params: dict[str, Any] = Field(default_factory=dict)
    batch_size: int = Field(default=1, ge=1)
    # `schema` would shadow BaseModel.schema(): the field has another name, the key is kept
    task_schema: Literal["dm_schema_v1", "any"] = Field(default="dm_schema_v1", alias="schema")


class ToTaskResult(BaseModel):
    """Counts of a to-task run and the failed tasks (``{'task_id', 'error'}``)."""

    status: str = "SUCCEEDED"
    message: str
    total_tasks: int
    success_count: int
    failed_count: int
    failures: list[dict[str, Any]] = Field(default_factory=list)


@dataclass
class ToTaskContext:
    """The state of one run, as ``self.context`` (None before :meth:`ToTaskAction.execute`).

    ``params`` are the run's params as a dict (by their keys: ``schema``, not
    ``task_schema``).
    """

    runtime_ctx: RuntimeContext | None = None
    params: dict[str, Any] = field(default_factory=dict)
    task_ids: list[int] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    success_count: int = 0
    failed_count: int = 0

    @property
    def total_tasks(self) -> int:
        return len(self.task_ids)


class ToTaskAction(CategoryAction[ToTaskParams]):
    """Fill the tasks of a project (category ``pre_annotation``).

    Override: :meth:`convert_data_from_file` (method ``file``) or
    :meth:`convert_data_from_inference` and :meth:`setup_inference_params` (method
    ``inference``); :meth:`fetch_tasks` and :meth:`submit_task_data` to reach tasks without
    the platform; :meth:`run_inference` to call the model another way. A task is a dict
    with ``id``, ``data`` and ``data_unit`` (``{'files': ...}``: by specification name, or a
    list, each file with ``url``, ``is_primary`` and a name), as the platform sends it.
    """

    action_name = "to_task"
    category = PluginCategory.PRE_ANNOTATION
    params_model = ToTaskParams
    result_model = ToTaskResult

    #: the run's state while :meth:`execute` runs
    context: ToTaskContext | None = None
    #: seconds :meth:`run_inference` waits for the model's answer
    inference_timeout: float = 300.0

    # -- what a plugin overrides -------------------------------------------------------------

    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The task data made from a task's data file (method ``file``)."""
        raise self._missing_hook("convert_data_from_file", ToTaskMethod.FILE)

    def convert_data_from_inference(
        self, inference_data: Any, task_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The task data made from the model's answer (method ``inference``)."""
        raise self._missing_hook("convert_data_from_inference", ToTaskMethod.INFERENCE)

    def setup_inference_params(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_files: list[dict[str, Any]],
        *,
        model_id: int | None = None,
        pre_processor_params: dict[str, Any] | None = None,
        pre_processor_config: dict[str, Any] | None = None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What :meth:`run_inference` sends for one task (method ``inference``); empty by
        default. ``data_files`` are the task's other files (``url``, ``file_name``,
        ``specification_name``); ``pre_processor_config`` is None here (the platform's
        plugin release record)."""
        return {}

    def fetch_tasks(self) -> Iterable[dict[str, Any]]:
        """The tasks of ``params.project`` matching ``params.task_filters``. Tasks live on
        the platform: raises :class:`PlatformRequiredError` unless overridden."""
        raise PlatformRequiredError(
            f"the task API (the tasks of project {self.params.project})",
            override="fetch_tasks(self)",
            action=self._name(),
        )

    def submit_task_data(self, task_id: int, data: dict[str, Any]) -> None:
        """Write ``data`` into task ``task_id``. Tasks live on the platform: raises
        :class:`PlatformRequiredError` unless overridden."""
        raise PlatformRequiredError(
            f"the task API (writing the data of task {task_id})",
            override="submit_task_data(self, task_id, data)",
            action=self._name(),
        )

    def run_inference(
        self, inference_params: dict[str, Any], task_data: dict[str, Any] | None = None
    ) -> Any:
        """The model's answer for one task: posts ``inference_params`` to
        ``SYNAPSE_INFERENCE_URL`` of the run's env, else raises :class:`PlatformRequiredError`
        (the platform runs ``params.pre_processor``)."""
        from ._serving import call_model

        return call_model(
            self.ctx,
            inference_params,
            feature=f"the model of pre-processor {self.params.pre_processor!r}",
            override="run_inference(self, inference_params, task_data)",
            owner=type(self).__name__,
            timeout=self.inference_timeout,
        )

    # -- the workflow ------------------------------------------------------------------------

    def annotate_task(self, task: dict[str, Any]) -> dict[str, Any]:
        """The data for ``task``: its files through the hooks of ``params.method``. A task
        that lacks what the method needs raises ValueError naming the task."""
        task_id = task.get("id")
        files = (task.get("data_unit") or {}).get("files")
        if not files:
            raise ValueError(f"task {task_id} has no data unit files")
        primary = next(
            (f for f in _iter_files(files) if f.get("is_primary") and f.get("url")), None
        )
        if primary is None:
            raise ValueError(f"task {task_id} has no primary file with a url")
        if self.params.method is ToTaskMethod.FILE:
            spec = self.params.target_specification_name
            target = _find_spec(files, spec)
            if target is None or not target.get("url"):
                raise ValueError(f"task {task_id} has no {spec!r} file with a url")
            return self.convert_data_from_file(
                primary["url"],
                _file_name(primary),
                target["url"],
                _file_name(target),
                task_data=task,
            )
        inference_params = self.setup_inference_params(
            primary["url"],
            _file_name(primary),
            list(_data_files(files)),
            model_id=self.params.model,
            pre_processor_params=dict(self.params.pre_processor_params),
            pre_processor_config=None,
            task_data=task,
        )
        answer = self.run_inference(inference_params, task)
        if not answer:
            raise ValueError(f"the model answered nothing for task {task_id}")
        return self.convert_data_from_inference(answer, task_data=task)

    def execute(self) -> ToTaskResult:
        """Annotate every task of :meth:`fetch_tasks` and submit its data; a task that fails
        is counted and logged (``annotate_task_data`` events) and the run goes on."""
        params = self.params
        if params.method is ToTaskMethod.FILE and not params.target_specification_name:
            raise ValidationError(
                f"Invalid params for action {self._name()!r}: target_specification_name is "
                "required when method is 'file'",
                errors=[
                    {
                        "loc": ("target_specification_name",),
                        "msg": "required when method is 'file'",
                        "type": "missing",
                        "input": None,
                    }
                ],
                action=self._name(),
                hint="name the file specification that holds each task's data, or use "
                "method 'inference'",
            )
        context = self.context = ToTaskContext(self.ctx, params.model_dump(by_alias=True))
        tasks = list(self.fetch_tasks())
        for task in tasks:
            if not isinstance(task, Mapping) or "id" not in task:
                raise ActionDefinitionError(
                    f"{type(self).__name__}.fetch_tasks() returned {task!r}, which is not a task",
                    action=self._name(),
                    hint="return dicts with 'id', 'data' and 'data_unit' ({'files': ...})",
                )
        context.task_ids = [task["id"] for task in tasks]
        total = len(tasks)
        for index, task in enumerate(tasks, 1):
            self.ctx.check_cancelled()
            try:
                self.submit_task_data(task["id"], self.annotate_task(task))
            except (ActionDefinitionError, PlatformRequiredError, CancelledError):
                raise  # the action, not this task, is wrong
            except Exception as exc:
                context.failed_count += 1
                context.failures.append({"task_id": task["id"], "error": str(exc)})
                self._task_event(task, TaskProcessStatus.FAILED, index, total, str(exc))
            else:
                context.success_count += 1
                self._task_event(task, TaskProcessStatus.SUCCESS, index, total)
            self.set_progress(index, total)
            self.set_metrics(
                {
                    "success": context.success_count,
                    "failed": context.failed_count,
                    "stand_by": total - index,
                }
            )
        return ToTaskResult(
            message=f"to_task completed. success={context.success_count}, "
            f"failed={context.failed_count}",
            total_tasks=context.total_tasks,
            success_count=context.success_count,
            failed_count=context.failed_count,
            failures=context.failures,
        )

    # -- internals ---------------------------------------------------------------------------

    def _name(self) -> str | None:
        return self.ctx.action_name or type(self).action_name

    def _task_event(
        self,
        task: Mapping[str, Any],
        status: TaskProcessStatus,
        index: int,
        total: int,
        error: str | None = None,
    ) -> None:
        data = {
            "task_id": task.get("id"),
            "status": status.value,
            "method": self.params.method.value,
            "index": index,
            "total": total,
        }
        if error is not None:
            data["error"] = error
        self.log("annotate_task_data", data)
        if error is not None:
            self.logger.error("Task %s failed: %s", task.get("id"), error)

    def _missing_hook(self, hook: str, method: ToTaskMethod) -> ActionDefinitionError:
        return ActionDefinitionError(
            f"{type(self).__name__} runs with method {method.value!r} but does not define {hook}()",
            action=self._name(),
            hint=f"define `def {hook}(self, ...)` in {type(self).__name__} (see ToTaskAction)",
        )


def _iter_files(files: Any) -> Iterator[dict[str, Any]]:
    values = files.values() if isinstance(files, Mapping) else files
    for value in values:
        if isinstance(value, Mapping):
            yield dict(value)


def _file_name(info: Mapping[str, Any]) -> str | None:
    for key in ("file_name_original", "filename", "name"):
        if info.get(key):
            return str(info[key])
    return None


def _find_spec(files: Any, spec: str | None) -> dict[str, Any] | None:
    if not spec:
        return None
    if isinstance(files, Mapping) and isinstance(files.get(spec), Mapping):
        return dict(files[spec])
    for info in _iter_files(files):
        if spec in (info.get("specification"), info.get("specification_name")):
            return info
    return None


def _data_files(files: Any) -> Iterator[dict[str, Any]]:
    """The non-primary files with a url, each as ``{url, file_name, specification_name}``."""
    if isinstance(files, Mapping):
        pairs: Iterable[tuple[Any, Any]] = files.items()
    else:
        pairs = ((None, info) for info in files)
    for key, info in pairs:
        if not isinstance(info, Mapping) or info.get("is_primary") or not info.get("url"):
            continue
        spec = (
            key if key is not None else info.get("specification") or info.get("specification_name")
        )
        yield {"url": info["url"], "file_name": _file_name(info), "specification_name": spec}


__getattr__ = module_getattr(__name__, lambda: __all__)
