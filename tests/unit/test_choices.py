"""agora.choices.OneOf: a text field closed to a set of values, validated and published as a Literal."""

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from agora.choices import OneOf

Color = Annotated[str, OneOf(("red", "green", "blue"))]


def test_a_value_of_the_set_is_accepted_and_kept_as_text():
    assert TypeAdapter(Color).validate_python("green") == "green"


@pytest.mark.parametrize("value", ["purple", "RED", "", 1, None])
def test_anything_else_is_refused(value):
    with pytest.raises(ValidationError):
        TypeAdapter(Color).validate_python(value)


def test_the_published_schema_is_the_literals():
    assert TypeAdapter(Color).json_schema() == TypeAdapter(Literal["red", "green", "blue"]).json_schema()
    assert TypeAdapter(Color).json_schema() == {"enum": ["red", "green", "blue"], "type": "string"}


def test_in_a_model_the_fields_description_stays_beside_the_enum():
    class Paint(BaseModel):
        color: Color = Field(description="What it looks like")

    class Reference(BaseModel):
        color: Literal["red", "green", "blue"] = Field(description="What it looks like")

    assert Paint.model_json_schema()["properties"] == Reference.model_json_schema()["properties"]
    assert Paint(color="red").model_dump_json() == '{"color":"red"}'


def test_the_values_keep_their_order_and_may_come_from_an_iterator():
    assert OneOf(c for c in ("b", "a")).values == ("b", "a")


def test_an_empty_set_is_refused():
    with pytest.raises(ValueError):
        OneOf(())
