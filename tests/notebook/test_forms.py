"""ParamsForm: field types to widgets, bounds, defaults, inline validation, the registry."""

from __future__ import annotations

import datetime
import enum
import pathlib
from typing import Any, Literal, Optional

import ipywidgets as widgets
import pytest
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_core import core_schema

from synapse_sdk.notebook import FieldEditor, FieldSpec, ParamsForm, WidgetRegistry
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
        "epochs": (widgets.IntSlider, 10),
        "lr": (widgets.FloatSlider, 0.001),
        "batch": (widgets.BoundedIntText, 32),
        "offset": (widgets.BoundedIntText, -3),
        "plain": (widgets.IntText, 7),
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
        "seed": (widgets.IntText, 0),
        "note": (widgets.Text, "hi"),
        "extra": (widgets.Textarea, "{}"),
    }
    for name, (cls, value) in expected.items():
        assert type(w[name]) is cls, name
        assert w[name].value == value, name
    assert form.valid
    assert form.value == TrainParams()


def test_bounds_are_honoured_inclusive_and_exclusive():
    w = ParamsForm(TrainParams).widgets
    assert (w["epochs"].min, w["epochs"].max) == (1, 100)
    # exclusive float bounds move one step inwards: 0 < lr < 1 with step 0.001
    assert (w["lr"].min, w["lr"].max, w["lr"].step) == (0.001, 0.999, 0.001)
    assert w["lr"].readout_format == ".3f"  # not the "0.00" readout of a 0.01 step
    assert w["batch"].min == 1 and w["batch"].max >= 2**31
    assert w["offset"].max == -1 and w["offset"].min <= -(2**31)  # lt=0 for an int is <= -1


def test_a_range_narrower_than_a_step_keeps_its_raw_bounds_and_pydantic_judges():
    class Tiny(BaseModel):
        eps: float = Field(0.5, gt=0.4, lt=0.6, multiple_of=0.5)

    form = ParamsForm(Tiny)
    w = form.widgets["eps"]
    assert (w.min, w.max) == (0.4, 0.6)
    assert form.value.eps == 0.5


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
    assert form.errors == {"(root)": "Value error, stop must be after start"}


def test_set_value_fills_the_form_and_rejects_unknown_fields():
    form = ParamsForm(TrainParams, values={"epochs": 3})
    assert form.widgets["epochs"].value == 3
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
    assert type(form.widgets["limit"]) is widgets.BoundedIntText
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
