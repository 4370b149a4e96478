"""@action marks a function, keeps it callable, and is validated when turned into a spec."""

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.plugins import ActionDefinitionError, RuntimeContext, action, as_spec
from synapse_sdk.plugins.enums import PluginCategory


class ConvertParams(BaseModel):
    input_path: str
    output_format: str = Field(default="yolo", description="Target format")


class ConvertResult(BaseModel):
    output_path: str
    file_count: int


@action(
    name="convert",
    description="Convert dataset to target format",
    params=ConvertParams,
    result=ConvertResult,
    category=PluginCategory.CUSTOM,
)
def convert(params: ConvertParams, ctx: RuntimeContext) -> ConvertResult:
    ctx.set_progress(0, 100)
    ctx.set_progress(100, 100)
    return ConvertResult(output_path=params.input_path + "." + params.output_format, file_count=42)


def test_decorator_sets_the_spec_attributes():
    assert convert._is_action is True
    assert convert._action_name == "convert"
    assert convert._action_description == "Convert dataset to target format"
    assert convert._action_params is ConvertParams
    assert convert._action_result is ConvertResult
    assert convert._action_category is PluginCategory.CUSTOM


def test_decorated_function_stays_directly_callable():
    result = convert(ConvertParams(input_path="/data/a"), RuntimeContext())
    assert result == ConvertResult(output_path="/data/a.yolo", file_count=42)


def test_defaults_name_from_function_and_description_from_docstring():
    @action()
    def resize(params, ctx):
        """Resize every image.

        More text."""

    assert resize._action_name == "resize"
    assert resize._action_description == "Resize every image."
    assert resize._action_params is None


def test_bare_decorator_works():
    @action
    def noop(params, ctx):
        return 1

    assert noop._is_action is True
    assert as_spec(noop).name == "noop"


def test_params_model_is_taken_from_the_annotation_when_not_given():
    @action()
    def annotated(params: ConvertParams, ctx):
        return params.input_path

    assert as_spec(annotated).params_model is ConvertParams


def test_signature_that_cannot_take_params_and_ctx_is_rejected_naming_the_function():
    @action()
    def broken(params):
        return params

    with pytest.raises(ActionDefinitionError) as info:
        as_spec(broken)
    assert "broken" in str(info.value)
    assert "(params, ctx)" in str(info.value)
    assert info.value.action == "broken"
    assert __file__ in str(info.value)


def test_keyword_only_ctx_is_rejected():
    @action()
    def kwonly(params, *, ctx):
        return params

    with pytest.raises(ActionDefinitionError, match="kwonly"):
        as_spec(kwonly)


def test_non_model_params_is_rejected_at_spec_time():
    @action(params=dict)  # type: ignore[arg-type]
    def bad(params, ctx):
        return params

    with pytest.raises(ActionDefinitionError, match="params model of action 'bad'"):
        as_spec(bad)


def test_spec_is_cached_and_the_function_is_not_mutated():
    before = dict(vars(convert))
    spec1 = as_spec(convert)
    spec2 = as_spec(convert)
    assert spec1 is spec2
    assert dict(vars(convert)) == before
    assert spec1.kind == "function"
    assert spec1.entrypoint == f"{__name__}:convert"
