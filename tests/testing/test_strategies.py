"""synapse_testing.strategies: params a model accepts, params it must reject, and the one-line
property test of an action."""

import enum
import importlib
import re
import sys
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

hypothesis = pytest.importorskip("hypothesis", reason="needs the 'strategies' extra")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from synapse_sdk.plugins import (  # noqa: E402
    ActionDefinitionError,
    RuntimeContext,
    ValidationError,
    action,
    run_action,
)
from synapse_sdk.plugins.errors import NotFoundError  # noqa: E402
from synapse_testing import FakeBackend  # noqa: E402
from synapse_testing.strategies import (  # noqa: E402
    KINDS,
    assert_runs_for_any_params,
    invalid_params,
    params,
)

FAST = settings(max_examples=60, database=None, deadline=None)


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Augment(BaseModel):
    rotate: float = Field(0.0, ge=-180, le=180)
    flip: bool = False


class Params(BaseModel):
    name: str = Field(pattern=r"^[a-z]{2,5}$")
    epochs: int = Field(10, ge=1, le=100)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    stride: int = Field(4, multiple_of=4, ge=0, le=64)
    mode: Literal["fast", "slow"] = "fast"
    color: Color = Color.RED
    augment: Augment = Augment()
    warmup: Annotated[int, Field(ge=0)] | None = None
    tags: list[str] = Field(default_factory=list, max_length=3)
    size: tuple[int, int] = (8, 8)
    weights: dict[str, float] = {}
    batch: int = Field(8, alias="batchSize", gt=0)
    low: int = 0
    high: int = 10

    @model_validator(mode="after")
    def low_below_high(self) -> "Params":
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


@action(name="fit")
def fit(params: Params, ctx: RuntimeContext) -> int:
    return params.epochs


# -- params() ---------------------------------------------------------------------------------


@FAST
@given(params(Params))
def test_drawn_params_keep_every_declared_constraint(drawn):
    model = Params.model_validate(drawn)
    assert 1 <= model.epochs <= 100
    assert 0 < model.learning_rate <= 1
    assert model.stride % 4 == 0 and 0 <= model.stride <= 64
    assert re.search(r"^[a-z]{2,5}$", model.name)
    assert model.warmup is None or model.warmup >= 0
    assert len(model.tags) <= 3 and -180 <= model.augment.rotate <= 180
    assert model.low <= model.high  # the model validator's rejections are filtered out


@FAST
@given(params(Params))
def test_drawn_params_are_what_a_user_passes_and_run(drawn):
    assert "batch" not in drawn  # the alias is the key the model reads
    assert isinstance(drawn.get("color", "red"), str)  # enum values, JSON-like
    assert run_action(fit, drawn).ok


COVERAGE = settings(max_examples=400, database=None, deadline=None, derandomize=True)


def test_params_reach_every_kind_of_value():
    seen = set()

    @COVERAGE
    @given(params(Params))
    def collect(drawn):
        seen.update(
            label
            for label, hit in [
                ("slow", drawn.get("mode") == "slow"),
                ("blue", drawn.get("color") == "blue"),
                ("default epochs", "epochs" not in drawn),
                ("epochs at the bound", drawn.get("epochs") in (1, 100)),
                ("warmup set", isinstance(drawn.get("warmup"), int)),
                ("nested flip", drawn.get("augment", {}).get("flip") is True),
                ("three tags", len(drawn.get("tags", ())) == 3),
                ("batchSize", "batchSize" in drawn),
            ]
            if hit
        )

    collect()
    assert len(seen) == 8, seen


def test_overrides_fix_a_field_by_value_or_strategy():
    @FAST
    @given(params(Params, epochs=3, mode=st.just("slow"), augment=params(Augment, flip=True)))
    def check(drawn):
        assert drawn["epochs"] == 3 and drawn["mode"] == "slow"
        assert drawn["augment"]["flip"] is True

    check()


def test_an_override_of_an_unknown_field_says_did_you_mean():
    with pytest.raises(TypeError, match=r"no field 'epoch'; did you mean 'epochs'\?"):
        params(Params, epoch=3)


def test_a_field_of_an_unknown_type_names_the_field_and_the_fix():
    class Opaque:
        def __init__(self, handle):  # nothing says what a handle is
            self.handle = handle

    class Odd(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        thing: Opaque

    with pytest.raises(ActionDefinitionError, match=r"Odd\.thing") as caught:
        params(Odd)
    assert "params(Model, thing=st.just(...))" in str(caught.value)


def test_recursive_and_optional_models_are_drawn():
    class Node(BaseModel):
        value: int = Field(ge=0)
        children: list["Node"] = []
        parent: "Node | None" = None

    Node.model_rebuild()

    depths = set()

    @settings(max_examples=30, database=None, deadline=None)
    @given(params(Node))
    def check(drawn):
        Node.model_validate(drawn)
        depths.add(isinstance(drawn.get("parent"), dict) or bool(drawn.get("children")))

    check()
    assert depths == {True, False}  # nested as well as flat trees


def test_a_validator_rejecting_almost_everything_fails_the_health_check():
    class Picky(BaseModel):
        code: int

        @field_validator("code")
        @classmethod
        def only_one(cls, value: int) -> int:
            if value != 7_654_321:
                raise ValueError("not the code")
            return value

    @settings(max_examples=10, database=None)
    @given(params(Picky))
    def check(drawn):
        pass

    with pytest.raises(hypothesis.errors.FailedHealthCheck, match="filter"):
        check()
    assert HealthCheck.filter_too_much  # the check a user may suppress for such a model


# -- invalid_params() -------------------------------------------------------------------------


@FAST
@given(invalid_params(Params))
def test_invalid_params_are_rejected_by_a_run_naming_the_field(bad):
    with pytest.raises(ValidationError) as caught:
        run_action(fit, bad.params)
    assert bad.named_by(caught.value), (bad, caught.value.fields)
    assert bad.field in str(caught.value)  # the message a user reads names it too


def test_invalid_params_break_each_kind_of_constraint():
    seen = set()

    @COVERAGE
    @given(invalid_params(Params))
    def collect(bad):
        seen.add((bad.kind, bad.field))

    collect()
    wanted = {
        ("bounds", "epochs"),
        ("bounds", "augment.rotate"),
        ("length", "tags"),
        ("pattern", "name"),
        ("choice", "mode"),
        ("choice", "color"),
        ("type", "learning_rate"),
        ("missing", "name"),
    }
    assert wanted <= seen, wanted - seen
    assert {kind for kind, _ in seen} == set(KINDS)


def test_an_unknown_key_is_a_misspelling_the_run_rejects():
    @settings(max_examples=20, database=None)
    @given(invalid_params(Params, kinds=["unknown"]))
    def check(bad):
        assert bad.kind == "unknown" and bad.field.endswith("_typo")
        with pytest.raises(ValidationError, match="unknown field"):
            run_action(fit, bad.params)

    check()


def test_invalid_params_kinds_restrict_the_breaks():
    @FAST
    @given(invalid_params(Params, kinds=["missing"]))
    def check(bad):
        assert bad.kind == "missing" and bad.field == "name"
        assert "name" not in bad.params

    check()


def test_invalid_params_rejects_an_unknown_kind():
    with pytest.raises(TypeError, match="kinds must be among"):
        invalid_params(Params, kinds=["bound"])


# -- assert_runs_for_any_params() -------------------------------------------------------------


class Steps(BaseModel):
    n: int = Field(3, ge=0, le=6)


def test_a_well_behaved_action_passes():
    @action(name="count")
    def count(params: Steps, ctx: RuntimeContext) -> int:
        for i in range(params.n + 1):
            ctx.set_progress(i, params.n or 1, step="count")
        if params.n == 0:
            ctx.set_progress(1, 1, step="count")
        return params.n

    assert_runs_for_any_params(count, settings=FAST)


def test_an_untyped_error_for_valid_params_fails_with_the_params_and_traceback():
    @action(name="lookup")
    def lookup(params: Steps, ctx: RuntimeContext) -> int:
        table = {i: i for i in range(5)}
        return table[params.n]  # 5 and 6 are valid params but not in the table

    with pytest.raises(AssertionError) as caught:
        assert_runs_for_any_params(lookup, settings=FAST)
    text = str(caught.value)
    assert "action 'lookup' failed with an untyped KeyError" in text
    assert "params: Steps(n=5)" in text  # shrunk to the smallest failing params
    assert "return table[params.n]" in text and "hint: declare the constraint" in text


def test_typed_errors_and_allowed_types_pass():
    @action(name="fetch")
    def fetch(params: Steps, ctx: RuntimeContext) -> int:
        if params.n > 4:
            raise NotFoundError("dataset", params.n)
        if params.n == 4:
            raise KeyError(params.n)
        return params.n

    assert_runs_for_any_params(fetch, settings=FAST, allowed=(KeyError,))


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ([(2, 4), (1, 4), (4, 4)], "progress of step 'load' went backwards: 0.5 -> 0.25"),
        ([(1, 4), (3, 4)], "progress of step 'load' did not reach its total"),
    ],
)
def test_progress_must_be_monotonic_and_complete(updates, message):
    @action(name="load")
    def load(params: Steps, ctx: RuntimeContext) -> None:
        for current, total in updates:
            ctx.set_progress(current, total, step="load")

    with pytest.raises(AssertionError, match=re.escape(message)):
        assert_runs_for_any_params(load, settings=FAST)


def test_each_example_gets_a_freshly_seeded_backend():
    seen = []

    @action(name="read")
    def read(params: Steps, ctx: RuntimeContext) -> int:
        seen.append(ctx.client)
        return len(ctx.client.list_data_units(1))

    def seed(backend: FakeBackend) -> None:
        backend.add_dataset("digits", files={f"{i}.txt": str(i) for i in range(3)})

    assert_runs_for_any_params(read, backend=seed, max_examples=5)
    assert len(seen) == len({id(b) for b in seen}) >= 2
    assert all(isinstance(b, FakeBackend) for b in seen)


def test_without_hypothesis_the_import_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "synapse_testing.strategies")
    with pytest.raises(ImportError, match=re.escape("pip install 'synapse-sdk[strategies]'")):
        importlib.import_module("synapse_testing.strategies")
