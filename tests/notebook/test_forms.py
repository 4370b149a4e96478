"""ParamsForm: field types to widgets, bounds, defaults, inline validation, the registry."""

from __future__ import annotations

import datetime
import enum
import math
import pathlib
from typing import Any, Literal, Optional

import ipywidgets as widgets
import pytest
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_core import core_schema

from synapse_sdk.notebook import FieldEditor, FieldSpec, ParamsForm, WidgetRegistry
from synapse_sdk.notebook.forms import NumberBox
from synapse_sdk.plugins.errors import ValidationError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Augment(BaseModel):
    rotate: int = Field(0, ge=0, le=90, description="degrees")
    flip: bool = False


class TrainParams(BaseModel):
    epochs: int = Field(10, ge=1, le=100, title="Epochs", description="Passes over the data")
    lr: float = Field(0.001, gt=0, lt=1)
    batch: int = Field(32, ge=1)
    offset: int = Field(-3, lt=0)
    plain: int = 7
    optimizer: Literal["adam", "sgd"] = "sgd"
    color: Color = Color.BLUE
    shuffle: bool = True
    name: str = "run"
    token: SecretStr = SecretStr("s3cret")
    out_dir: pathlib.Path = pathlib.Path("/tmp/out")
    day: datetime.date = datetime.date(2024, 5, 1)
    at: datetime.datetime = datetime.datetime(2024, 5, 1, 12, 30)
    tags: list[str] = ["a", "b"]
    sizes: list[int] = [1, 2]
    seed: Optional[int] = None  # noqa: UP045 (the typing form must work too)
    note: str | None = "hi"
    augment: Augment = Augment()
    extra: dict[str, int] = {}


def test_each_field_type_gets_its_widget_with_defaults_filled_in():
    form = ParamsForm(TrainParams)
    w = form.widgets
    expected = {
        "epochs": (NumberBox, "10"),
        "lr": (NumberBox, "0.001"),
        "batch": (NumberBox, "32"),
        "offset": (NumberBox, "-3"),
        "plain": (NumberBox, "7"),
        "optimizer": (widgets.Dropdown, "sgd"),
        "color": (widgets.Dropdown, Color.BLUE),
        "shuffle": (widgets.Checkbox, True),
        "name": (widgets.Text, "run"),
        "token": (widgets.Password, "s3cret"),
        "out_dir": (widgets.Text, "/tmp/out"),
        "day": (widgets.DatePicker, datetime.date(2024, 5, 1)),
        "at": (widgets.NaiveDatetimePicker, datetime.datetime(2024, 5, 1, 12, 30)),
        "tags": (widgets.TagsInput, ["a", "b"]),
        "sizes": (widgets.IntsInput, [1, 2]),
        "seed": (NumberBox, ""),  # unticked Optional: empty, not a grey 0
        "note": (widgets.Text, "hi"),
        "extra": (widgets.Textarea, "{}"),
    }
    for name, (cls, value) in expected.items():
        assert type(w[name]) is cls, name
        assert w[name].value == value, name
    assert form.valid
    assert form.value == TrainParams()


def test_a_number_box_keeps_what_was_typed_and_pydantic_judges_it():
    form = ParamsForm(TrainParams)
    box = form.widgets["lr"]
    box.value = "0.0003"  # below the default's decimals, above the exclusive bound gt=0
    assert form.valid and form.value.lr == 0.0003 and box.value == "0.0003"
    box.value = "0"  # the exclusive bound itself: an inline error, not bound + step
    assert box.value == "0" and form.error_of("lr") == "Input should be greater than 0"
    box.value = "1.5"  # above lt=1: not clamped to 0.999
    assert box.value == "1.5" and form.error_of("lr") == "Input should be less than 1"
    assert "less than 1" in form._rows["lr"].error.value
    box.value = "abc"
    assert box.value == "abc" and form.error_of("lr") == "'abc' is not a number"
    form.widgets["epochs"].value = "2.5"
    assert form.error_of("epochs") == "'2.5' is not a whole number"
    form.widgets["epochs"].value = "1e2"  # a whole number written as a float is one
    box.value = "1e-4"
    assert form.valid and (form.value.epochs, form.value.lr) == (100, 1e-4)


def test_numbers_set_from_python_are_shown_exactly():
    form = ParamsForm(TrainParams, values={"lr": 3e-4, "epochs": 20})
    assert (form.widgets["lr"].value, form.widgets["epochs"].value) == ("0.0003", "20")
    form.widgets["offset"].value = 5  # a number assigned in Python, out of bounds (lt=0)
    assert form.widgets["offset"].value == "5"
    assert form.error_of("offset") == "Input should be less than 0"
    form.set_value({"plain": 2.5})  # a value an int field cannot hold: an error, not 2
    assert form.widgets["plain"].value == "2.5"
    assert form.error_of("plain") == "'2.5' is not a whole number"


def test_the_digits_learning_rate_accepts_small_values():
    class DigitsLike(BaseModel):  # the digits example's learning_rate and split
        learning_rate: float = Field(default=0.5, gt=0, le=10)
        validation_split: float = Field(default=0.2, gt=0, lt=0.9)

    form = ParamsForm(DigitsLike)
    form.widgets["learning_rate"].value = "0.005"
    form.widgets["validation_split"].value = "0.05"
    assert form.value == DigitsLike(learning_rate=0.005, validation_split=0.05)


def test_both_bounds_add_a_slider_log_scaled_when_the_range_spans_decades():
    class Ranges(BaseModel):
        epochs: int = Field(10, ge=1, le=100)
        lr: float = Field(1e-3, gt=0, lt=1)
        wide: float = Field(1.0, ge=0.01, le=100)
        dropout: float = Field(0.1, ge=0, le=1)
        count: int = Field(3, gt=0, lt=10)
        batch: int = Field(32, ge=1)

    editors = ParamsForm(Ranges).editors
    epochs, lr, wide, dropout, count = (
        editors[n].slider  # type: ignore[attr-defined]
        for n in ("epochs", "lr", "wide", "dropout", "count")
    )
    assert type(epochs) is widgets.IntSlider and (epochs.min, epochs.max) == (1, 100)
    assert epochs.value == 10 and not epochs.readout  # the box is the readout
    assert type(lr) is widgets.FloatLogSlider and lr.max == 0 and lr.min <= -6
    assert lr.value == pytest.approx(1e-3)
    assert type(wide) is widgets.FloatLogSlider and (wide.min, wide.max) == (-2, 2)
    assert type(dropout) is widgets.FloatSlider and (dropout.min, dropout.max) == (0, 1)
    assert (count.min, count.max) == (1, 9)  # the whole numbers strictly between 0 and 10
    assert editors["batch"].slider is None  # type: ignore[attr-defined]


def test_the_slider_writes_the_box_and_the_box_moves_the_slider_within_range():
    form = ParamsForm(TrainParams)
    box = form.widgets["epochs"]
    slider = form.editors["epochs"].slider  # type: ignore[attr-defined]
    slider.value = 42
    assert box.value == "42" and form.value.epochs == 42
    box.value = "7"
    assert slider.value == 7
    box.value = "500"  # out of range: the slider stays, the box keeps 500 and says why
    assert slider.value == 7 and box.value == "500"
    assert form.error_of("epochs") == "Input should be less than or equal to 100"
    slider.value = 8  # dragging again replaces the typed value
    assert box.value == "8" and form.valid
    lr = form.editors["lr"].slider  # type: ignore[attr-defined]
    lr.value = 10**-3.5
    assert form.widgets["lr"].value == "0.000316" and form.value.lr == 0.000316


def test_labels_and_help_come_from_title_and_description():
    form = ParamsForm(TrainParams)
    label = form._rows["epochs"].label.value
    assert "Epochs" in label and "Passes over the data" in label
    assert ">Out dir<" in form._rows["out_dir"].label.value  # no title: from the name


def test_choices_in_dropdowns_and_values_convert_back():
    form = ParamsForm(TrainParams)
    assert [o[1] for o in form.widgets["optimizer"].options] == ["adam", "sgd"]
    form.widgets["color"].value = Color.RED
    form.widgets["out_dir"].value = "/data/x"
    form.widgets["token"].value = "other"
    value = form.value
    assert value.color is Color.RED
    assert value.out_dir == pathlib.Path("/data/x")
    assert value.token.get_secret_value() == "other"


def test_collections_enums_and_unions():
    class Level(enum.IntEnum):
        LOW = 1
        HIGH = 2

    class Shape(BaseModel):
        kinds: list[Literal["cat", "dog"]] = ["cat"]
        names: set[str] = {"x"}
        sizes: tuple[int, ...] = (1, 2)
        pair: tuple[int, int] = (1, 2)
        level: Level = Level.HIGH
        either: int | str = 5

    form = ParamsForm(Shape)
    w = form.widgets
    assert type(w["kinds"]) is widgets.TagsInput and w["kinds"].allowed_tags == ["cat", "dog"]
    assert type(w["names"]) is widgets.TagsInput and w["names"].value == ["x"]
    assert type(w["sizes"]) is widgets.IntsInput
    assert type(w["level"]) is widgets.Dropdown  # an IntEnum picks from its members
    assert (w["pair"].value, w["either"].value) == ("[1, 2]", "5")  # JSON text
    w["kinds"].value = ["dog", "cat"]
    w["pair"].value = "[3, 4]"
    w["level"].value = Level.LOW
    assert form.value == Shape(kinds=["dog", "cat"], pair=(3, 4), level=Level.LOW)


def test_optional_field_has_an_enable_toggle():
    form = ParamsForm(TrainParams)
    toggle = form.toggle("seed")
    assert toggle.value is False and form.widgets["seed"].disabled
    assert form.value.seed is None
    toggle.value = True
    assert not form.widgets["seed"].disabled
    assert form.error_of("seed") == "enter a number"  # ticked and empty is not None
    form.widgets["seed"].value = 42
    assert form.value.seed == 42
    form.toggle("note").value = False
    assert form.value.note is None
    with pytest.raises(KeyError, match="not Optional"):
        form.toggle("epochs")


def test_nested_model_is_a_sub_form_and_its_errors_land_next_to_its_field():
    form = ParamsForm(TrainParams)
    sub = form.editors["augment"].form  # type: ignore[attr-defined]
    sub.widgets["rotate"].value = 45
    assert form.value.augment == Augment(rotate=45)
    sub.widgets["rotate"].value = 120
    assert form.errors == {"augment.rotate": "Input should be less than or equal to 90"}
    assert "less than or equal to 90" in sub._rows["rotate"].error.value


def test_a_nested_model_title_is_shown_once():
    form = ParamsForm(TrainParams)
    texts = [w.value for w in _walk(form.widget) if isinstance(w, widgets.HTML)]
    assert sum(">Augment<" in t for t in texts) == 1


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_list_fields_have_a_placeholder():
    w = ParamsForm(TrainParams).widgets
    assert w["tags"].placeholder == "type a value, Enter to add"
    assert w["sizes"].placeholder == "type a number, Enter to add"


def test_invalid_input_shows_inline_messages_and_value_raises():
    form = ParamsForm(TrainParams)
    form.widgets["extra"].value = "{not json"
    assert not form.valid
    assert form.error_of("extra").startswith("invalid JSON at line 1 column 2")
    assert "invalid JSON" in form._rows["extra"].error.value
    form.widgets["extra"].value = '{"a": "x"}'
    assert form.errors == {
        "extra.a": "Input should be a valid integer, unable to parse string as an integer"
    }
    assert "a: Input should be a valid integer" in form._rows["extra"].error.value
    with pytest.raises(ValidationError, match=r"1 invalid field\(s\): extra.a") as info:
        _ = form.value
    assert info.value.fields == ["extra.a"]
    form.widgets["extra"].value = '{"a": 1}'
    assert form.valid and form._rows["extra"].error.value == ""
    assert form.value.extra == {"a": 1}


def test_model_level_errors_go_to_the_form_error_slot():
    class Window(BaseModel):
        start: int = 0
        stop: int = 10

        @model_validator(mode="after")
        def ordered(self) -> Window:
            if self.stop <= self.start:
                raise ValueError("stop must be after start")
            return self

    form = ParamsForm(Window)
    form.widgets["stop"].value = 0
    assert not form.valid
    assert "stop must be after start" in form.form_error.value
    assert form.errors == {"(root)": "stop must be after start"}  # no "Value error, " prefix


def test_set_value_fills_the_form_and_rejects_unknown_fields():
    form = ParamsForm(TrainParams, values={"epochs": 3})
    assert form.widgets["epochs"].value == "3"
    form.set_value(TrainParams(epochs=5, seed=9))
    assert form.value.epochs == 5 and form.value.seed == 9
    with pytest.raises(KeyError, match="'epoch' is not a field of TrainParams"):
        form.set_value({"epoch": 1})


def test_users_register_their_own_widget_for_a_type():
    class Rgb(str):
        @classmethod
        def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
            return core_schema.no_info_after_validator_function(cls, core_schema.str_schema())

    class Paint(BaseModel):
        color: Rgb = Rgb("#ff0000")

    registry = WidgetRegistry(parent=None)
    seen: list[FieldSpec] = []

    def color_picker(spec: FieldSpec) -> widgets.Widget:
        seen.append(spec)
        return widgets.ColorPicker(value=spec.default)

    registry.register(Rgb, color_picker)
    form = ParamsForm(Paint, registry=registry)
    assert isinstance(form.widgets["color"], widgets.ColorPicker)
    assert seen[0].name == "color" and seen[0].default == "#ff0000"
    form.widgets["color"].value = "#00ff00"
    assert form.value.color == "#00ff00" and type(form.value.color) is Rgb


def test_a_factory_can_return_a_converting_editor():
    class Csv(FieldEditor):
        def get(self) -> list[str]:
            return [p for p in self.widget.value.split(",") if p]

        def set(self, value: list[str]) -> None:
            self.widget.value = ",".join(value)

    class Cols(BaseModel):
        columns: list[str] = ["x", "y"]
        limit: int = Field(5, ge=0)

    registry = WidgetRegistry()  # inherits the built-in widgets
    registry.register(list[str], lambda spec: Csv(widgets.Text()))
    form = ParamsForm(Cols, registry=registry, values={"columns": ["a", "b"]})
    assert form.widgets["columns"].value == "a,b"
    assert type(form.widgets["limit"]) is NumberBox
    form.widgets["columns"].value = "c,d,e"
    assert form.value.columns == ["c", "d", "e"]
    assert type(ParamsForm(Cols).widgets["columns"]) is widgets.TagsInput  # default untouched


def test_register_widget_changes_the_default_registry(monkeypatch):
    from synapse_sdk.notebook import forms, register_widget

    monkeypatch.setattr(forms.default_registry, "_map", dict(forms.default_registry._map))
    register_widget(bool, lambda spec: widgets.ToggleButton(description="on"))

    class Flags(BaseModel):
        dry_run: bool = True

    form = ParamsForm(Flags)
    assert type(form.widgets["dry_run"]) is widgets.ToggleButton
    assert form.widgets["dry_run"].value is True  # the form fills the default in
    with pytest.raises(TypeError, match="must be callable"):
        register_widget(bool, "not a factory")  # type: ignore[arg-type]


def test_rejects_a_non_model_with_a_hint():
    with pytest.raises(TypeError, match="expects a pydantic model class"):
        ParamsForm(dict)  # type: ignore[arg-type]


# -- required fields and read-only ------------------------------------------------------------


class Needs(BaseModel):
    dataset: int = Field(description="Dataset id")
    rate: float = Field(gt=0)
    name: str
    mode: Literal["fast", "slow"]
    epochs: int = 3


def test_a_required_field_starts_empty_marked_and_the_form_is_invalid():
    form = ParamsForm(Needs)
    w = form.widgets
    assert (w["dataset"].value, w["rate"].value, w["name"].value) == ("", "", "")
    assert w["dataset"].placeholder == "required" and w["mode"].value is None
    for name in ("dataset", "rate", "name", "mode"):
        assert 'title="required">*</span>' in form._rows[name].label.value
        assert form.error_of(name) == "Field required"
    assert "required" not in form._rows["epochs"].label.value
    assert not form.valid
    with pytest.raises(ValidationError, match=r"4 invalid field\(s\)"):
        _ = form.value


def test_a_required_field_is_never_sent_as_zero_or_empty():
    form = ParamsForm(Needs)
    w = form.widgets
    w["dataset"].value = "0"  # zero typed on purpose is a value
    w["rate"].value = "0.5"
    w["name"].value = "run"
    w["mode"].value = "slow"
    assert form.value == Needs(dataset=0, rate=0.5, name="run", mode="slow")
    w["dataset"].value = ""
    w["name"].value = ""
    assert form.errors == {"dataset": "Field required", "name": "Field required"}


def test_a_panel_keeps_run_disabled_until_required_fields_are_set():
    from synapse_sdk.notebook import ActionPanel
    from synapse_sdk.plugins import RuntimeContext, action

    @action(params=Needs)
    def needs(params: Needs, ctx: RuntimeContext) -> int:
        return params.dataset

    panel = ActionPanel(needs)
    assert panel.run_button.disabled and not panel.form.valid
    panel.form.set_value({"dataset": 7, "rate": 1e-3, "name": "x", "mode": "fast"})
    assert not panel.run_button.disabled
    assert panel.run_sync().result == 7


def test_read_only_disables_every_field_and_restores_them():
    form = ParamsForm(TrainParams)
    form.read_only = True
    w = form.widgets
    assert all(w[n].disabled for n in ("epochs", "lr", "name", "color", "seed"))
    assert form.editors["epochs"].slider.disabled  # type: ignore[attr-defined]
    assert form.toggle("seed").disabled
    assert form.editors["augment"].form.widgets["rotate"].disabled  # type: ignore[attr-defined]
    form.read_only = False
    assert not w["epochs"].disabled and not w["name"].disabled
    assert w["seed"].disabled  # still unticked: its box stays off
    assert not form.toggle("seed").disabled


def test_an_action_without_params_model_takes_a_json_object():
    form = ParamsForm(None)
    assert form.valid and form.value == {}
    form.set_value({"items": ["a", "b"]})
    assert form.valid and form.value == {"items": ["a", "b"]}
    form.json_box.value = "[1, 2]"
    assert not form.valid and "must be a JSON object" in form.errors["params"]
    form.json_box.value = '{"items": '
    assert not form.valid and form.errors["params"].startswith("not JSON")
    form.read_only = True
    assert form.json_box.disabled


def test_a_slider_snapping_to_its_nearest_step_never_changes_the_typed_number():
    from pydantic import BaseModel, Field

    class Train(BaseModel):
        learning_rate: float = Field(0.5, gt=0, le=10)
        ratio: float = Field(0.25, ge=0, le=1)

    form = ParamsForm(Train)
    lr = form.editors["learning_rate"]
    # what a browser does when it renders a log slider: its nearest step to 0.5
    lr.slider.value = 10 ** round(math.log10(0.5), 2)
    assert form.widgets["learning_rate"].value == "0.5"
    assert form.value.learning_rate == 0.5
    ratio = form.editors["ratio"]
    ratio.slider.value = 0.25 + ratio.slider.step / 3
    assert form.value.ratio == 0.25
    # a real move (a step or more) still writes the box
    lr.slider.value = 2.0
    assert form.value.learning_rate == 2.0
