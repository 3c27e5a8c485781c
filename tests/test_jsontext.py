"""reports.jsontext writes what `json.dumps(value, indent=2, ensure_ascii=False)` writes, byte for byte."""

from __future__ import annotations

import json
import math

import pytest
from flowaudit.reports import jsontext
from hypothesis import given, settings
from hypothesis import strategies as st

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text())
keys = st.text() | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5)
                      | st.tuples(inner, inner), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(values)
def test_same_bytes_as_the_standard_encoder(value: object) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False)
    assert jsontext.dumps(value) == expected
    assert jsontext.dumpb(value, end="\n") == (expected + "\n").encode("utf-8")


@pytest.mark.parametrize("value", [
    {}, [], "", {"a": []}, {"a": {}}, [[]], ["é", "\u2028", "\x00", '"\\'], {"k": ["x", 1]}, [math.inf, -math.inf],
    {2: "a", 2.5: "b", True: "c", None: "d"}, {"subject": {"kind": "flow", "id": "f-1"}, "legal": ["GDPR Art. 44"]},
])
def test_edge_cases(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_nan_and_unknown_types() -> None:
    assert jsontext.dumps([math.nan]) == json.dumps([math.nan], indent=2)
    with pytest.raises(TypeError):
        jsontext.dumps({"a": {1, 2}})
    with pytest.raises(TypeError):
        jsontext.dumps({(1, 2): "tuple key"})


@pytest.mark.parametrize("items", [[], [{"a": 1}], [{"a": [1, "x"]}, "s", [], {}]])
def test_a_stream_is_written_as_its_list(items: list[object]) -> None:
    value = {"before": 1, "findings": jsontext.Stream(iter(items)), "after": []}
    expected = json.dumps({"before": 1, "findings": items, "after": []}, indent=2, ensure_ascii=False)
    assert jsontext.dumps(value) == expected
    value["findings"] = jsontext.Stream(iter(items))
    assert jsontext.dumpb(value) == expected.encode("utf-8")
