"""The shared contract shapes: what the document says about a field is what the server does with it."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, model_validator

from agora.contracts import Money, Shape, omittable, refuse_cleared


class Changes(BaseModel):
    name: str | None = omittable(min_length=1)
    note: str | None = None

    @model_validator(mode="after")
    def _not_cleared(self) -> Changes:
        refuse_cleared(self)
        return self


def test_a_field_that_may_be_left_out_but_not_cleared_is_documented_without_null():
    schema = Changes.model_json_schema()["properties"]
    assert schema["name"] == {"type": "string", "minLength": 1, "title": "Name"}
    assert {"type": "null"} in schema["note"]["anyOf"], "an ordinary optional field stays nullable"
    assert "name" not in Changes.model_json_schema().get("required", [])


def test_such_a_field_may_be_left_out_or_set_but_sending_null_is_refused():
    assert Changes().model_fields_set == set()
    assert Changes(name="x").name == "x"
    assert Changes(note=None).note is None
    with pytest.raises(ValidationError, match="name cannot be null"):
        Changes(name=None)


def test_money_leaves_as_a_json_number_of_at_most_two_decimals():
    class Price(Shape):
        price: Money

    assert Price(price="19.99").model_dump_json() == '{"price":19.99}'
    assert Price(price=20).model_dump_json() == '{"price":20}'
    assert Price.model_json_schema(mode="serialization")["properties"]["price"]["type"] == "number"
