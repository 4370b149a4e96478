"""``ParamsForm``: a pydantic params model as an ipywidgets form.

Each field gets a widget from a type -> widget registry (:func:`register_widget` adds or
replaces an entry); every edit re-validates the whole model with pydantic and puts each error
message next to the field it concerns. ``form.value`` returns the validated model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import enum
import json
import math
import pathlib
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, Union, get_args, get_origin

import ipywidgets as widgets
from ipywidgets import Checkbox, Textarea, Widget
from pydantic import BaseModel, SecretStr
from pydantic import ValidationError as PydanticValidationError
from pydantic.fields import FieldInfo
from traitlets import CUnicode, TraitError

from ..plugins._html import esc as _esc
from ..plugins.errors import ValidationError, format_loc
from ._widgets import LABEL_PX, LABEL_WIDTH, close_tree

__all__ = [
    "FieldEditor",
    "FieldSpec",
    "NumberBox",
    "NumberEditor",
    "ParamsForm",
    "WidgetRegistry",
    "default_registry",
    "register_widget",
]

_MISSING: Any = object()


class FieldInputError(ValueError):
    """A value the widget itself cannot turn into input (e.g. malformed JSON text)."""


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """What a widget factory is told about one field.

    ``annotation`` is the field type with ``Optional`` removed (``optional`` says whether None
    is allowed); the bounds come from the field's constraints (``Field(ge=..., lt=...)``).
    ``required`` is true for a field without a default that must be filled in: its widget
    starts empty, and an empty value is left out so that pydantic reports the field missing.
    """

    name: str
    annotation: Any
    title: str
    description: str | None = None
    default: Any = _MISSING
    optional: bool = False
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: float | None = None
    max_length: int | None = None
    field_info: FieldInfo | None = None
    required: bool = False

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING and self.default is not None

    def replace(self, **changes: Any) -> FieldSpec:
        return dataclasses.replace(self, **changes)


class FieldEditor:
    """One field's editor: ``widget`` is displayed; ``get`` / ``set`` move values in and out.

    Factories may return a plain ipywidgets value widget (wrapped in this class) or a subclass
    for values that need converting. ``get`` raises :class:`FieldInputError` for input the
    widget cannot turn into a value.
    """

    def __init__(self, widget: widgets.Widget) -> None:
        self.widget = widget

    @property
    def input(self) -> widgets.Widget:
        """The widget holding the value (``widget`` may be a box around it)."""
        return self.widget

    def get(self) -> Any:
        return self.widget.value

    def set(self, value: Any) -> None:
        self.widget.value = value

    def observe(self, callback: Callable[[], None]) -> None:
        self.input.observe(lambda _change: callback(), names="value")

    def set_disabled(self, disabled: bool) -> None:
        if hasattr(self.widget, "disabled"):  # TagsInput & co. (ipywidgets 8.1) have none
            self.widget.disabled = disabled

    def show_errors(self, errors: list[tuple[tuple[Any, ...], str]]) -> list[str]:
        """Show errors located inside this field (``loc`` relative to it); return the ones it
        cannot place (shown next to the field by the caller)."""
        return [msg if not loc else f"{format_loc(loc)}: {msg}" for loc, msg in errors]


Factory = Callable[[FieldSpec], "widgets.Widget | FieldEditor"]


class WidgetRegistry:
    """Maps a field type to a widget factory; the most specific registered class wins.

    An exact registration (a class or a generic alias such as ``list[str]``) wins; then
    ``Literal`` / ``Enum`` (dropdowns), collections, dicts and nested models; then the nearest
    registered base class in the annotation's MRO (registering ``str`` covers ``str``
    subclasses); then JSON text. A new registry inherits the built-in one (``register_widget``
    edits that one) unless ``parent`` says otherwise; ``parent=None`` starts empty.
    """

    def __init__(self, parent: WidgetRegistry | object | None = _MISSING) -> None:
        self._map: dict[Any, Factory] = {}
        if parent is _MISSING:
            parent = globals().get("default_registry")
        self._parent: WidgetRegistry | None = parent  # type: ignore[assignment]

    def register(self, tp: Any, factory: Factory) -> None:
        """Use ``factory(spec)`` for fields of type ``tp`` (and its subclasses)."""
        if not callable(factory):
            raise TypeError(f"widget factory for {tp!r} must be callable, got {factory!r}")
        self._map[tp] = factory

    def lookup(self, tp: Any) -> Factory | None:
        """The factory registered for ``tp`` or its nearest base class, or None."""
        candidates = tp.__mro__ if isinstance(tp, type) else (tp,)
        registry: WidgetRegistry | None = self
        while registry is not None:
            for cls in candidates:
                try:
                    factory = registry._map.get(cls)
                except TypeError:  # unhashable annotation objects
                    factory = None
                if factory is not None:
                    return factory
            registry = registry._parent
        return None

    def _exact(self, tp: Any) -> Factory | None:
        registry: WidgetRegistry | None = self
        while registry is not None:
            factory = registry._map.get(tp)
            if factory is not None:
                return factory
            registry = registry._parent
        return None

    def editor_for(self, spec: FieldSpec) -> FieldEditor:
        """Build the editor for ``spec`` (falls back to JSON text for unknown types)."""
        tp = spec.annotation
        factory = self._exact(tp) if _hashable(tp) else None
        if factory is None:
            factory = _generic_factory(tp, self)
        if factory is None:
            factory = self.lookup(tp)
        if factory is None:
            factory = _json_editor
        made = factory(spec)
        return made if isinstance(made, FieldEditor) else FieldEditor(made)


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
    except TypeError:
        return False
    return True


# -- built-in factories ----------------------------------------------------------------------


class NumberBox(widgets.Text):
    """A text box holding a number exactly as typed: never clamped, rounded or reformatted.

    A number assigned from Python (``box.value = 3e-4``) is shown as its shortest text
    (``'0.0003'``); the form parses the text and pydantic judges it, so a value out of bounds
    or not a number is an inline error next to the field, never a silent change.
    """

    value = CUnicode("", help="The number as typed").tag(sync=True)


def _number_text(value: Any) -> str:
    """The text that shows ``value`` exactly (``repr`` is the shortest round-trip form)."""
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def _parse_number(text: str, *, integer: bool) -> int | float:
    try:
        return int(text) if integer else float(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        raise FieldInputError(f"{text!r} is not a number") from None
    if number.is_integer():  # "1e3" or "20.0" for an int field
        return int(number)
    raise FieldInputError(f"{text!r} is not a whole number")


def _valid_range(spec: FieldSpec, integer: bool) -> tuple[float, float] | None:
    """The bounds a companion slider spans (exclusive bounds as they are), or None."""
    low = spec.ge if spec.ge is not None else spec.gt
    high = spec.le if spec.le is not None else spec.lt
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return None
    if integer:
        low = math.floor(low) + 1 if spec.ge is None else math.ceil(low)
        high = math.ceil(high) - 1 if spec.le is None else math.floor(high)
    return (low, high) if low < high else None


def _companion_slider(spec: FieldSpec, integer: bool) -> widgets.Widget | None:
    """A slider beside the box when both bounds exist: logarithmic when the range spans
    decades (a positive range over 100x, or one open at zero such as ``gt=0, le=10``)."""
    span = _valid_range(spec, integer)
    if span is None:
        return None
    low, high = span
    common: dict[str, Any] = {"readout": False, "layout": widgets.Layout(width="180px")}
    if integer:
        return widgets.IntSlider(
            min=int(low), max=int(high), step=int(spec.multiple_of or 1), **common
        )
    open_at_zero = low == 0 and spec.ge is None  # gt=0: any positive magnitude is valid
    if spec.multiple_of is None and high > 0 and (open_at_zero or (low > 0 and high >= 100 * low)):
        top = math.log10(high)
        bottom = math.log10(low) if low > 0 else math.floor(top) - 6
        default = spec.default if isinstance(spec.default, (int, float)) else None
        if open_at_zero and default is not None and default > 0:
            bottom = min(bottom, math.floor(math.log10(default)) - 1)
        return widgets.FloatLogSlider(min=bottom, max=top, step=0.01, base=10, **common)
    step: float = spec.multiple_of or 10.0 ** math.floor(math.log10((high - low) / 100))
    return widgets.FloatSlider(min=low, max=high, step=step, **common)


class NumberEditor(FieldEditor):
    """An int or float field: a :class:`NumberBox`, with a slider beside it when both bounds
    exist. Dragging the slider writes the box; typing in the box moves the slider when the
    number is within its range and never the other way round, so the box keeps what was typed.
    An empty box is a missing value for a required field and an error otherwise.
    """

    def __init__(self, spec: FieldSpec, *, integer: bool) -> None:
        self.integer = integer
        self.required = spec.required
        self.box = NumberBox(
            placeholder="required" if spec.required else "",
            layout=widgets.Layout(width="140px"),
        )
        self.slider = _companion_slider(spec, integer)
        self._syncing = False
        if self.slider is None:
            super().__init__(self.box)
            return
        super().__init__(widgets.HBox([self.box, self.slider]))
        self.box.observe(self._box_changed, names="value")
        self.slider.observe(self._slider_changed, names="value")

    @property
    def input(self) -> widgets.Widget:
        return self.box

    def get(self) -> Any:
        text = self.box.value.strip()
        if not text:
            if self.required:
                return None  # the form leaves the field out: pydantic says it is required
            raise FieldInputError("enter a number")
        return _parse_number(text, integer=self.integer)

    def set(self, value: Any) -> None:
        self.box.value = _number_text(value)

    def set_disabled(self, disabled: bool) -> None:
        self.box.disabled = disabled
        if self.slider is not None:
            self.slider.disabled = disabled

    def _box_changed(self, change: Any) -> None:
        if self._syncing or self.slider is None:
            return
        try:
            number = _parse_number(change["new"].strip(), integer=self.integer)
        except FieldInputError:
            return
        low, high = self._slider_range()
        if low <= number <= high:
            self._syncing = True
            try:
                self.slider.value = number
            finally:
                self._syncing = False

    def _slider_changed(self, change: Any) -> None:
        slider = self.slider
        if self._syncing or slider is None:
            return
        value = change["new"]
        if self._is_snap_of_box(value):
            # the slider put itself on its nearest step to what the box holds (a browser
            # rendering it does so): not a user's move, and the box keeps what was typed
            return
        if isinstance(slider, widgets.FloatLogSlider):
            text = f"{value:.3g}"
        elif self.integer:
            text = str(int(value))
        else:
            digits = max(0, -math.floor(math.log10(slider.step)))
            text = repr(round(value, digits))
        self._syncing = True
        try:
            self.box.value = text
        finally:
            self._syncing = False

    def _is_snap_of_box(self, value: float) -> bool:
        """True when ``value`` is within half a slider step of the number in the box."""
        slider = self.slider
        assert slider is not None
        try:
            number = _parse_number(self.box.value.strip(), integer=self.integer)
        except FieldInputError:
            return False
        if isinstance(slider, widgets.FloatLogSlider):
            if number <= 0 or value <= 0:
                return False
            distance = abs(math.log(value, slider.base) - math.log(number, slider.base))
        else:
            distance = abs(value - number)
        return distance <= slider.step / 2 * (1 + 1e-9)

    def _slider_range(self) -> tuple[float, float]:
        slider = self.slider
        assert slider is not None
        if isinstance(slider, widgets.FloatLogSlider):
            return slider.base**slider.min, slider.base**slider.max
        return slider.min, slider.max


def _int_widget(spec: FieldSpec) -> FieldEditor:
    return NumberEditor(spec, integer=True)


def _float_widget(spec: FieldSpec) -> FieldEditor:
    return NumberEditor(spec, integer=False)


def _bool_widget(spec: FieldSpec) -> widgets.Widget:
    return widgets.Checkbox(value=bool(spec.default) if spec.has_default else False, indent=False)


def _str_widget(spec: FieldSpec) -> widgets.Widget:
    value = str(spec.default) if spec.has_default else ""
    if spec.max_length is not None and spec.max_length >= 200:
        return widgets.Textarea(value=value)
    return widgets.Text(value=value, placeholder="" if spec.has_default else "required")


class _TextValueEditor(FieldEditor):
    """Text shown for values that pydantic builds back from a string (Path, SecretStr, ...)."""

    def set(self, value: Any) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        self.widget.value = "" if value is None else str(value)


# ParamsForm fills the defaults in through ``set``.
def _secret_widget(spec: FieldSpec) -> FieldEditor:
    return _TextValueEditor(widgets.Password(value=""))


def _path_widget(spec: FieldSpec) -> FieldEditor:
    return _TextValueEditor(widgets.Text(placeholder="path"))


def _date_widget(spec: FieldSpec) -> widgets.Widget:
    return widgets.DatePicker(value=spec.default if spec.has_default else None)


def _datetime_widget(spec: FieldSpec) -> widgets.Widget:
    value = spec.default if spec.has_default else None
    if value is not None and value.tzinfo is not None:
        return widgets.DatetimePicker(value=value)
    return widgets.NaiveDatetimePicker(value=value)


def _choices(tp: Any) -> list[tuple[str, Any]] | None:
    if get_origin(tp) is Literal:
        return [(str(v), v) for v in get_args(tp)]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [(str(m.value), m) for m in tp]
    return None


def _dropdown(spec: FieldSpec) -> widgets.Widget:
    options = _choices(spec.annotation) or []
    values = [v for _, v in options]
    if spec.has_default and spec.default in values:
        value = spec.default
    else:  # a required choice starts unchosen: nothing is picked for the user
        value = None if spec.required else values[0]
    return widgets.Dropdown(options=options, value=value)


_TAGS_HINT = "type a value, Enter to add"
_NUMBERS_HINT = "type a number, Enter to add"


class _ListEditor(FieldEditor):
    def get(self) -> Any:
        return list(self.widget.value)

    def set(self, value: Any) -> None:
        self.widget.value = [] if value is None else list(value)


def _list_widget(spec: FieldSpec) -> FieldEditor:
    (item,) = get_args(spec.annotation) or (str,)
    initial = list(spec.default) if spec.has_default else []
    if item is int:
        return _ListEditor(widgets.IntsInput(value=initial, placeholder=_NUMBERS_HINT))
    if item is float:
        return _ListEditor(widgets.FloatsInput(value=initial, placeholder=_NUMBERS_HINT))
    choices = _choices(item)
    if choices is not None:
        tags = [label for label, _ in choices]
        return _ChoiceListEditor(
            widgets.TagsInput(
                value=[str(getattr(v, "value", v)) for v in initial],
                allowed_tags=tags,
                allow_duplicates=False,
                placeholder="pick: " + ", ".join(tags),
            ),
            dict(choices),
        )
    return _ListEditor(widgets.TagsInput(value=[str(v) for v in initial], placeholder=_TAGS_HINT))


class _ChoiceListEditor(_ListEditor):
    def __init__(self, widget: widgets.Widget, choices: dict[str, Any]) -> None:
        super().__init__(widget)
        self._choices = choices

    def get(self) -> Any:
        return [self._choices.get(tag, tag) for tag in self.widget.value]

    def set(self, value: Any) -> None:
        self.widget.value = [str(getattr(v, "value", v)) for v in value or []]


class _JsonEditor(FieldEditor):
    """Any value as JSON text; malformed text is a field error, never an exception."""

    def get(self) -> Any:
        text = self.widget.value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FieldInputError(
                f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc

    def set(self, value: Any) -> None:
        if hasattr(value, "model_dump"):
            value = value.model_dump(mode="json")
        text = "" if value is None else json.dumps(value, default=str)
        if len(text) > 60:  # long values read better one item per line
            text = json.dumps(value, indent=1, default=str)
        self.widget.value = text


def _json_editor(spec: FieldSpec) -> FieldEditor:
    editor = _JsonEditor(
        widgets.Textarea(placeholder="JSON", layout=widgets.Layout(width="320px", height="60px"))
    )
    if spec.has_default:
        editor.set(spec.default)
    return editor


_TOGGLE_PX = 24


class _OptionalEditor(FieldEditor):
    """An enable toggle for the inner editor; unticked means None.

    The form puts the toggle at the end of the label column, so the inputs of every row start
    at the same x whether a row has a toggle or not.
    """

    def __init__(self, inner: FieldEditor, enabled: bool) -> None:
        self.inner = inner
        self.toggle = widgets.Checkbox(
            value=enabled,
            indent=False,
            layout={"width": f"{_TOGGLE_PX}px", "margin": "0"},
            tooltip="set a value (unticked: None)",
        )
        super().__init__(inner.widget)
        inner.set_disabled(not enabled)
        self.toggle.observe(lambda _c: inner.set_disabled(not self.toggle.value), names="value")

    @property
    def input(self) -> widgets.Widget:
        return self.inner.input

    def get(self) -> Any:
        return self.inner.get() if self.toggle.value else None

    def set(self, value: Any) -> None:
        self.toggle.value = value is not None
        if value is not None:
            self.inner.set(value)

    def observe(self, callback: Callable[[], None]) -> None:
        self.toggle.observe(lambda _change: callback(), names="value")
        self.inner.observe(callback)

    def set_disabled(self, disabled: bool) -> None:
        self.toggle.disabled = disabled
        self.inner.set_disabled(disabled or not self.toggle.value)

    def show_errors(self, errors: list[tuple[tuple[Any, ...], str]]) -> list[str]:
        return self.inner.show_errors(errors)


class _ModelEditor(FieldEditor):
    """A nested model: a bordered sub-form whose errors land next to its own fields (its
    title is the row's label, shown once)."""

    def __init__(self, form: ParamsForm) -> None:
        self.form = form
        super().__init__(
            widgets.VBox(
                [form.widget],
                layout=widgets.Layout(border="1px solid #ccc", padding="4px", margin="2px 0"),
            )
        )

    def get(self) -> Any:
        return self.form.raw_value()

    def set(self, value: Any) -> None:
        self.form.set_value(value)

    def observe(self, callback: Callable[[], None]) -> None:
        self.form.on_change(callback)

    def set_disabled(self, disabled: bool) -> None:
        self.form.set_disabled(disabled)

    def show_errors(self, errors: list[tuple[tuple[Any, ...], str]]) -> list[str]:
        return self.form._show_errors(errors)


def _generic_factory(tp: Any, registry: WidgetRegistry) -> Factory | None:
    origin = get_origin(tp)
    if origin is Literal or (isinstance(tp, type) and issubclass(tp, enum.Enum)):
        return _dropdown  # before the MRO lookup: an IntEnum is an int but picks from a list
    if origin in (list, set, frozenset, tuple) or tp in (list, set, frozenset):
        args = get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return _json_editor
        item = args[0] if args else str
        if item in (str, int, float) or _choices(item) is not None:
            if origin in (set, frozenset) or origin is tuple:
                return _json_editor if item not in (str, int, float) else _list_widget_for(origin)
            return _list_widget
        return _json_editor
    if origin in (dict, Mapping) or tp is dict:
        return _json_editor
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return lambda spec: _ModelEditor(
            ParamsForm(
                spec.annotation,
                registry=registry,
                values=spec.default if spec.has_default else None,
            )
        )
    return None


def _list_widget_for(origin: Any) -> Factory:
    # Sets and variadic tuples edit like lists; pydantic converts the list back.
    def factory(spec: FieldSpec) -> FieldEditor:
        args = get_args(spec.annotation)
        return _list_widget(spec.replace(annotation=list[args[0]]))  # type: ignore[valid-type]

    return factory


default_registry = WidgetRegistry(parent=None)
for _tp, _factory in (
    (int, _int_widget),
    (float, _float_widget),
    (bool, _bool_widget),
    (str, _str_widget),
    (SecretStr, _secret_widget),
    (pathlib.PurePath, _path_widget),
    (_dt.date, _date_widget),
    (_dt.datetime, _datetime_widget),
    (enum.Enum, _dropdown),
):
    default_registry.register(_tp, _factory)


def register_widget(tp: Any, factory: Factory) -> None:
    """Use ``factory(spec: FieldSpec)`` to build the widget of every field of type ``tp``.

    ``factory`` returns an ipywidgets value widget (its ``value`` goes to pydantic as is) or a
    :class:`FieldEditor` for values that need converting.
    """
    default_registry.register(tp, factory)


# -- the form --------------------------------------------------------------------------------


def _split_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin is Union or (sys.version_info >= (3, 10) and origin is types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        optional = len(args) < len(get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return typing.Union[tuple(args)], optional  # noqa: UP007 (built at run time)
    return tp, False


def _field_spec(name: str, info: FieldInfo, values: Mapping[str, Any] | None) -> FieldSpec:
    annotation, optional = _split_optional(info.annotation)
    constraints: dict[str, Any] = {}
    for meta in info.metadata:
        for key in ("ge", "gt", "le", "lt", "multiple_of", "max_length"):
            value = getattr(meta, key, None)
            if value is not None:
                constraints[key] = value
    if values is not None and name in values:
        default = values[name]
    elif info.default_factory is not None:
        default = info.default_factory()  # type: ignore[call-arg]
    elif info.is_required():
        default = _MISSING
    else:
        default = info.default
    return FieldSpec(
        name=name,
        annotation=annotation,
        title=info.title or name.replace("_", " ").capitalize(),
        description=info.description,
        default=default,
        optional=optional,
        field_info=info,
        required=info.is_required() and not optional,
        **constraints,
    )


def _free_params(text: str) -> tuple[dict[str, Any], str]:
    """The params typed in the JSON box of a form without a params model, or why not."""
    if not text.strip():
        return {}, ""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if not isinstance(value, dict):
        return {}, f"params must be a JSON object ({{...}}), not {type(value).__name__}"
    return value, ""


def _message(error: Mapping[str, Any]) -> str:
    """pydantic's message without the ``Value error, `` its validators' errors start with."""
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ") if error.get("type") == "value_error" else msg


_BOX_STYLE = (
    "display:inline-block;min-width:140px;padding:1px 6px;border:1px solid #9e9e9e;"
    "background:#fff;color:#000"
)


def _snapshot_value(editor: FieldEditor) -> str:
    """A field's current value as static HTML (a box, a tick, a sub-form)."""
    if isinstance(editor, _ModelEditor):
        return f'<div style="border:1px solid #ccc;padding:4px">{editor.form.snapshot_html()}</div>'
    if isinstance(editor, _OptionalEditor) and not editor.toggle.value:
        return f'<span style="{_BOX_STYLE.replace("color:#000", "color:#999")}">None</span>'
    widget = editor.input
    if isinstance(widget, widgets.Checkbox):
        return "&#9745;" if widget.value else "&#9744;"
    if isinstance(widget, widgets.Password):
        value: Any = "\u2022" * 8 if widget.value else ""
    elif isinstance(widget, widgets.Dropdown):
        value = widget.label or ""
    else:
        value = getattr(widget, "value", "")
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    elif value is None:
        value = ""
    return f'<span style="{_BOX_STYLE}">{_esc(value) or "&nbsp;"}</span>'


class _Row:
    def __init__(self, spec: FieldSpec, editor: FieldEditor) -> None:
        self.spec = spec
        self.editor = editor
        help_html = (
            f'<div style="color:#777;font-size:11px;line-height:1.2">{_esc(spec.description)}</div>'
            if spec.description
            else ""
        )
        marker = (
            ' <span class="synapse-required" style="color:#c62828" title="required">*</span>'
            if spec.required
            else ""
        )
        toggle = editor.toggle if isinstance(editor, _OptionalEditor) else None
        # an Optional field's toggle ends the label column: every input starts at one x
        width = f"{LABEL_PX - _TOGGLE_PX}px" if toggle is not None else LABEL_WIDTH
        self.label = widgets.HTML(
            f'<span title="{_esc(spec.description or spec.name)}">{_esc(spec.title)}</span>'
            f"{marker}{help_html}",
            layout=widgets.Layout(width=width, min_width=width),
        )
        self.error = widgets.HTML("", layout=widgets.Layout(margin="0 0 0 8px"))
        self.error.add_class("synapse-field-error")
        head = [self.label] if toggle is None else [self.label, toggle]
        self.widget = widgets.HBox([*head, editor.widget, self.error])

    def set_error(self, messages: list[str]) -> None:
        text = "; ".join(messages)
        self.error.value = f'<span style="color:#c62828">{_esc(text)}</span>' if text else ""


class ParamsForm:
    """An ipywidgets form for a pydantic model, validated on every edit.

    ``form.widget`` is the displayed box (the form also displays itself); ``form.value`` is the
    validated model (raising :class:`~synapse_sdk.plugins.errors.ValidationError` while it is
    invalid); ``form.valid`` and ``form.errors`` (dotted field path -> message) tell why.
    ``values`` pre-fills fields (a dict or a model instance) over the model's defaults.
    """

    def __init__(
        self,
        model: type[BaseModel] | None,
        *,
        registry: WidgetRegistry | None = None,
        values: Any = None,
    ) -> None:
        if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(
                f"ParamsForm expects a pydantic model class, got {model!r}; for an action use "
                "ActionPanel(action) or ParamsForm(as_spec(action).params_model)"
            )
        self.model = model
        self.registry = registry or default_registry
        if hasattr(values, "model_dump"):
            values = values.model_dump()
        self._callbacks: list[Callable[[], None]] = []
        self._rows: dict[str, _Row] = {}
        self.errors: dict[str, str] = {}
        self._error_list: list[tuple[tuple[Any, ...], str]] = []
        self.valid = True
        self._read_only = False
        self._value: Any = None
        fields = model.model_fields if model is not None else {}
        for name, info in fields.items():
            spec = _field_spec(name, info, values)
            editor = self.registry.editor_for(spec.replace(optional=False))
            if spec.has_default:
                # Factories need not fill the default in; the form does, through the editor.
                # A widget that cannot show the default keeps its own initial value.
                with contextlib.suppress(TraitError, TypeError, ValueError):
                    editor.set(spec.default)
            if spec.optional:
                editor = _OptionalEditor(editor, enabled=spec.default not in (None, _MISSING))
            row = _Row(spec, editor)
            editor.observe(self._changed)
            self._rows[name] = row
        self.form_error = widgets.HTML("")
        self.form_error.add_class("synapse-form-error")
        children: list[widgets.Widget] = [row.widget for row in self._rows.values()]
        # an action without a params model takes a plain object: one JSON box for it
        self._free: Textarea | None = None
        if model is None:
            self._free = widgets.Textarea(
                value=json.dumps(values) if values else "",
                placeholder='{"name": "value"}  (a JSON object; empty means {})',
                description="params",
                layout=widgets.Layout(width="480px"),
            )
            self._free.observe(lambda _change: self._changed(), names="value")
            children.append(self._free)
        self.widget = widgets.VBox([*children, self.form_error])
        self.validate()

    # -- access ------------------------------------------------------------------------------

    @property
    def editors(self) -> dict[str, FieldEditor]:
        """Field name -> its editor (``editors[name].widget`` is the input widget)."""
        return {name: row.editor for name, row in self._rows.items()}

    @property
    def widgets(self) -> dict[str, Widget]:
        """Field name -> the input widget (for an Optional field, its inner widget)."""
        return {name: row.editor.input for name, row in self._rows.items()}

    @property
    def json_box(self) -> Textarea | None:
        """The JSON box of a form without a params model (None for a model's form)."""
        return self._free

    def toggle(self, name: str) -> Checkbox:
        """The enable toggle of an Optional field."""
        editor = self._rows[name].editor
        if not isinstance(editor, _OptionalEditor):
            raise KeyError(f"field {name!r} is not Optional: it has no enable toggle")
        return editor.toggle

    def error_of(self, name: str) -> str:
        """The message shown next to field ``name`` ('' when it is valid)."""
        return self.errors.get(name, "")

    @property
    def value(self) -> Any:
        """The validated model (a dict for an action without params model)."""
        if not self.valid:
            problems = "; ".join(f"{k}: {v}" for k, v in self.errors.items())
            raise ValidationError(
                f"The form has {len(self.errors)} invalid field(s): {problems}",
                errors=[{"loc": loc, "msg": msg, "type": "form"} for loc, msg in self._error_list],
                hint="fix the fields marked in red",
            )
        return self._value

    def raw_value(self) -> dict[str, Any]:
        """The widgets' values as a dict, before validation (bad JSON text raises)."""
        return {name: row.editor.get() for name, row in self._rows.items()}

    def set_value(self, values: Any) -> None:
        """Fill fields from a dict or model instance (unknown keys raise KeyError)."""
        if hasattr(values, "model_dump"):
            values = values.model_dump()
        if self._free is not None:  # no params model: the JSON box holds them
            self._free.value = json.dumps(values) if values else ""
            self.validate()
            return
        for name, value in (values or {}).items():
            if name not in self._rows:
                raise KeyError(f"{name!r} is not a field of {self._model_name()}")
            self._rows[name].editor.set(value)
        self.validate()

    def set_disabled(self, disabled: bool) -> None:
        self._read_only = disabled
        for row in self._rows.values():
            row.editor.set_disabled(disabled)
        if self._free is not None:
            self._free.disabled = disabled

    @property
    def read_only(self) -> bool:
        """True while the fields cannot be edited (the panel sets it while a run goes on)."""
        return self._read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        if bool(value) != self._read_only:
            self.set_disabled(bool(value))

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every edit (after re-validation)."""
        self._callbacks.append(callback)

    def _model_name(self) -> str:
        return self.model.__name__ if self.model is not None else "the form"

    # -- validation --------------------------------------------------------------------------

    def _changed(self) -> None:
        self.validate()
        for callback in list(self._callbacks):
            callback()

    def validate(self) -> bool:
        """Re-validate the widgets' values; update inline messages; return ``valid``."""
        errors: list[tuple[tuple[Any, ...], str]] = []
        data: dict[str, Any] = {}
        input_errors: list[tuple[tuple[Any, ...], str]] = []
        for name, row in self._rows.items():
            try:
                value = row.editor.get()
            except FieldInputError as exc:
                input_errors.append(((name,), str(exc)))
                continue
            if row.spec.required and (value is None or (isinstance(value, str) and not value)):
                continue  # left out: pydantic names it missing, it is never sent as 0 or ""
            data[name] = value
        if self.model is not None:
            try:
                self._value = self.model.model_validate(data)
            except PydanticValidationError as exc:
                # the fields whose text did not parse have their message already, and the
                # model's own checks ran on a default in their place: not the user's values
                failed = {loc[0] for loc, _msg in input_errors}
                errors = [
                    (tuple(e["loc"]), _message(e))
                    for e in exc.errors()
                    if not (e["loc"][0] in failed if e["loc"] else input_errors)
                ]
            errors = input_errors + errors
        else:
            errors = input_errors
            if self._free is not None:
                data, free_error = _free_params(self._free.value)
                if free_error:
                    errors = [(("params",), free_error)]
            if not errors:
                self._value = data
        self._error_list = errors
        self.errors = {format_loc(loc): msg for loc, msg in errors}
        leftover = self._show_errors(errors)
        self.form_error.value = (
            f'<span style="color:#c62828">{_esc("; ".join(leftover))}</span>' if leftover else ""
        )
        self.valid = not errors
        if errors:
            self._value = None
        return self.valid

    def _show_errors(self, errors: list[tuple[tuple[Any, ...], str]]) -> list[str]:
        by_field: dict[str, list[tuple[tuple[Any, ...], str]]] = {}
        leftover: list[str] = []
        for loc, msg in errors:
            if loc and loc[0] in self._rows:
                by_field.setdefault(str(loc[0]), []).append((tuple(loc[1:]), msg))
            else:
                leftover.append(f"{format_loc(loc)}: {msg}" if loc else msg)
        for name, row in self._rows.items():
            row.set_error(row.editor.show_errors(by_field.get(name, [])))
        return leftover

    # -- display -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every widget of the form (a closed form cannot be shown again)."""
        close_tree(self.widget)

    def snapshot_html(self) -> str:
        """The form as plain HTML (labels, values, errors): what a saved notebook shows where
        the live widgets cannot render (an untrusted notebook in JupyterLab, a static page)."""
        rows = []
        for row in self._rows.values():
            spec = row.spec
            marker = ' <span style="color:#c62828">*</span>' if spec.required else ""
            help_html = (
                f'<div style="color:#777;font-size:11px">{_esc(spec.description)}</div>'
                if spec.description
                else ""
            )
            error = self.errors.get(spec.name) or next(
                (m for k, m in self.errors.items() if k.startswith(spec.name + ".")), ""
            )
            rows.append(
                f'<tr><td style="width:{LABEL_WIDTH};padding:2px 0;vertical-align:top;'
                f'text-align:left">{_esc(spec.title)}{marker}{help_html}</td>'
                f'<td style="padding:2px 0;vertical-align:top;text-align:left">'
                f"{_snapshot_value(row.editor)}</td>"
                f'<td style="padding:2px 8px;vertical-align:top;text-align:left;color:#c62828">'
                f"{_esc(error)}</td></tr>"
            )
        if not rows:
            return "<div><i>This action takes no params.</i></div>"
        return (
            '<table class="synapse-form-snapshot" style="border-collapse:collapse;'
            f'font-size:13px">{"".join(rows)}</table>{self.form_error.value}'
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(data, dict):  # a widget that can render, with a static twin
            data = {**data, "text/plain": repr(self), "text/html": self.snapshot_html()}
        return data

    def __repr__(self) -> str:
        state = "valid" if self.valid else f"{len(self.errors)} error(s)"
        return f"ParamsForm({self._model_name()}, {state})"
