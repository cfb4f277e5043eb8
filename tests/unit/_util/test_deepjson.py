"""JSON decoding past the recursion limit: the same values as json.loads, at any depth."""

from __future__ import annotations

import json
import math
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gitward._util.deepjson import loads, loads_iteratively
from tests.unit.properties.strategies import joined, json_values


@given(json_values, st.sampled_from([None, 2]))
def test_the_same_values_as_json_loads(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent)
    assert loads_iteratively(text) == json.loads(text)


@given(joined(['{"a":', "[", "]", "{", "}", ",", ":", '"', "1", "-", "e", "true", "nul", " "]))
@example('{"a": 1,}')
@example("[1 2]")
@example('{"a" 1}')
@example("[] x")
@example("")
@example("-")
@example("NaN")
def test_malformed_text_fails_as_json_loads_does(text: str) -> None:
    try:
        expected = json.loads(text)
    except json.JSONDecodeError:
        with pytest.raises(json.JSONDecodeError):
            loads_iteratively(text)
        return
    # Compared as JSON text: NaN decodes to a float that equals nothing, itself included.
    assert json.dumps(loads_iteratively(text)) == json.dumps(expected)


def test_constants_and_numbers() -> None:
    decoded = loads_iteratively('[true, false, null, -0.5e3, 12, "\\u00e9\\n", NaN, -Infinity]')
    assert decoded[:6] == [True, False, None, -500.0, 12, "é\n"]
    assert math.isnan(decoded[6])
    assert decoded[7] == -math.inf


def test_deeper_than_the_recursion_limit() -> None:
    depth = sys.getrecursionlimit() * 10
    text = '{"a":' * depth + "[1, {}]" + "}" * depth
    with pytest.raises(RecursionError):
        json.loads(text)
    value = loads(text)
    for _ in range(depth):
        value = value["a"]
    assert value == [1, {}]
    assert loads('{"b": [2]}') == {"b": [2]}  # the C decoder, when it can
