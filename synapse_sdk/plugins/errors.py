"""The one exception hierarchy of synapse-sdk.

Every error a user can cause is one of these, with the field path, the file:line or the
action name in its message, a hint saying how to fix it, and the original exception chained
(``raise ... from e``)::

    PluginError                      base of everything below; has .hint
    ├── ValidationError              invalid params (also a ValueError); .errors, .action
    ├── ActionNotFoundError          unknown action name (also a LookupError); .available
    ├── ActionDefinitionError        an action is written wrongly (also a TypeError)
    │   └── StepError                a step or step registry is used wrongly; .step, .available
    ├── ConfigError                  config.yaml / plugin layout; .path, .line, .column
    │   └── PluginLoadError          an entrypoint does not import; .action, .entrypoint
    ├── ExecutionError               the action raised; the original is .__cause__
    │   └── WorkerLostError          the worker process running it died; .exit_code
    ├── CancelledError               the run was cancelled
    ├── PlatformRequiredError        needs a platform service this run lacks; .feature, .override
    └── BackendError                 a backend (LocalBackend, HTTP, ...) failed; .backend
        ├── NotFoundError            no such dataset/model/job/file (also a LookupError); .kind, .id
        ├── IntegrityError           a stored file does not match its checksum; .expected, .actual
        ├── UnsafePathError          a stored name would escape its root (also a ValueError); .name
        └── BackendNotConfiguredError  a helper needs ctx.client but none is set
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "ActionDefinitionError",
    "ActionNotFoundError",
    "BackendError",
    "BackendNotConfiguredError",
    "CancelledError",
    "ConfigError",
    "ExecutionError",
    "IntegrityError",
    "NotFoundError",
    "PlatformRequiredError",
    "PluginError",
    "PluginLoadError",
    "StepError",
    "UnsafePathError",
    "ValidationError",
    "WorkerLostError",
    "did_you_mean",
]


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``word``, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


class PluginError(Exception):
    """Base of every error synapse-sdk raises for something the user can fix.

    ``str(err)`` is the message followed by an indented ``hint:`` line when there is a hint.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ValidationError(PluginError, ValueError):
    """Params (or another user value) failed validation.

    ``errors`` holds pydantic-style error dicts (``loc``, ``msg``, ``type``, ``input``), so the
    field path of each problem is ``err['loc']``.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        action: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.errors = list(errors)
        self.action = action

    @property
    def fields(self) -> list[str]:
        """Dotted field paths of every error, in order (``'augmentation.rotate'``)."""
        return [format_loc(err.get("loc", ())) for err in self.errors]


class ActionNotFoundError(PluginError, LookupError):
    """An action name that the plugin does not define."""

    def __init__(self, action: str, available: Iterable[str], *, plugin: str | None = None) -> None:
        self.action = action
        self.available = sorted(available)
        self.plugin = plugin
        where = f" in plugin {plugin!r}" if plugin else ""
        listing = ", ".join(self.available) or "(none)"
        guess = did_you_mean(action, self.available)
        if guess:
            hint = f"did you mean {guess!r}?"
        elif not self.available:
            hint = "the plugin defines no actions: add one under `actions:` in its config.yaml"
        else:
            hint = "use one of the names above (`synapse actions PLUGIN` lists them)"
        super().__init__(
            f"Action {action!r} not found{where}; available actions: {listing}", hint=hint
        )


class ActionDefinitionError(PluginError, TypeError):
    """An action is defined wrongly (bad signature, bad params model, ...)."""

    def __init__(self, message: str, *, action: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.action = action


class StepError(ActionDefinitionError):
    """A step or step registry is used wrongly: duplicate or unknown step name, bad weight,
    a result read before its step ran. ``.step`` is the step name, ``.available`` the known ones."""

    def __init__(
        self,
        message: str,
        *,
        step: str | None = None,
        available: Iterable[str] = (),
        action: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, action=action, hint=hint)
        self.step = step
        self.available = list(available)


class ConfigError(PluginError):
    """A plugin's config.yaml (or layout) is invalid; points at file:line:column."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        location = ""
        if path is not None:
            location = str(path)
            if line is not None:
                location += f":{line}"
                if column is not None:
                    location += f":{column}"
            location += ": "
        super().__init__(location + message, hint=hint)


class PluginLoadError(ConfigError):
    """An action's entrypoint cannot be imported or found; the import error is ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        entrypoint: str | None = None,
        plugin_dir: str | None = None,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.action = action
        self.entrypoint = entrypoint
        self.plugin_dir = plugin_dir
        super().__init__(message, path=path, line=line, column=column, hint=hint)


class ExecutionError(PluginError):
    """The action raised; the original exception is ``__cause__`` (and ``.original``)."""

    def __init__(self, message: str, *, action: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.action = action

    @property
    def original(self) -> BaseException | None:
        return self.__cause__


class WorkerLostError(ExecutionError):
    """The worker process running the action died or stopped answering (task, job, Ray).

    ``exit_code`` is the worker's exit code (negative: killed by that signal) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        exit_code: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            message,
            action=action,
            hint=hint
            or "the worker was killed or crashed (out of memory, os._exit, a crash in a native "
            "library); its stderr or the job log says more",
        )
        self.exit_code = exit_code


class CancelledError(PluginError):
    """The run was cancelled (``ctx.cancel()``, Cancel button, Ctrl-C, executor stop)."""

    def __init__(self, message: str = "The run was cancelled", *, action: str | None = None):
        super().__init__(message)
        self.action = action


class PlatformRequiredError(PluginError, NotImplementedError):
    """An action needs a service of the Synapse platform that this run has no way to reach (a
    model served by another plugin, the task API).

    ``.feature`` names the service, ``.override`` the method a plugin (or a test) overrides to
    provide it instead, ``.action`` the action. A NotImplementedError, like any hook to fill in.
    """

    def __init__(
        self,
        feature: str,
        *,
        override: str | None = None,
        action: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.feature = feature
        self.override = override
        self.action = action
        who = f"Action {action!r}" if action else "This action"
        if hint is None and override:
            hint = f"override {override} in the action's class (a test can override it too)"
        super().__init__(
            f"{who} needs {feature} from the Synapse platform, which this run cannot reach",
            hint=hint,
        )


class BackendError(PluginError):
    """A backend operation failed; ``backend`` names the backend (e.g. its root or URL)."""

    def __init__(self, message: str, *, backend: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.backend = backend


class NotFoundError(BackendError, LookupError):
    """No record of ``kind`` ('dataset', 'data_unit', 'model', 'job', 'file') with ``id``."""

    def __init__(
        self, kind: str, id: object, *, backend: str | None = None, hint: str | None = None
    ) -> None:
        self.kind = kind
        self.id = id
        where = f" in backend {backend}" if backend else ""
        if hint is None and kind in ("dataset", "model", "job"):
            hint = f"list what exists with `synapse backend {kind}s`"
        super().__init__(f"No {kind} with id {id!r}{where}", backend=backend, hint=hint)


class IntegrityError(BackendError):
    """A stored file's content does not match its recorded sha256 (corruption or tampering)."""

    def __init__(
        self, path: str, *, expected: str, actual: str, backend: str | None = None
    ) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Stored file {path} is corrupt: its sha256 is {actual}, the record says {expected}",
            backend=backend,
            hint="the file was changed outside synapse-sdk; upload it again",
        )


class UnsafePathError(BackendError, ValueError):
    """A stored name (or a path being imported) would escape its root directory."""

    def __init__(self, name: str, reason: str, *, backend: str | None = None) -> None:
        self.name = name
        self.reason = reason
        super().__init__(
            f"Unsafe name {name!r}: {reason}",
            backend=backend,
            hint="use a relative path inside the root, without '..', a drive or a symlink "
            "pointing outside",
        )


class BackendNotConfiguredError(BackendError):
    """A helper needs a backend client (``ctx.client``) but the run has none."""

    def __init__(self, helper: str, *, action: str | None = None) -> None:
        self.helper = helper
        self.action = action
        who = f"Action {action!r}" if action else "This action"
        super().__init__(
            f"{who} calls {helper}, which needs a backend, but the run has no client "
            "(ctx.client is None)",
            hint="pass client=LocalBackend() (from synapse_sdk.clients import LocalBackend; it "
            "stores everything under $SYNAPSE_HOME, default ./.synapse) to run_action, or run "
            "`synapse run PLUGIN ACTION --backend` (the CLI then uses that LocalBackend, and "
            "does so by default once the directory exists)",
        )


def format_loc(loc: Iterable[Any]) -> str:
    """Format a pydantic ``loc`` tuple as a dotted path: ``('a', 0, 'b') -> 'a[0].b'``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"
