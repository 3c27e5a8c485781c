"""The fast reader (PyYAML's C parser, documents built from its events) gives exactly the
full loader's answer, or hands the file to it (`Unsupported`): never a different value."""

from __future__ import annotations

import math

import pytest
import yaml
from flowaudit.inventory.fastload import Unsupported
from flowaudit.inventory.loader import _Loader, _read_fast
from hypothesis import given, settings
from hypothesis import strategies as st

TRICKY = ["NO", "no", "yes", "on", "off", "y", "true", "True", "TRUE", "tRUE", "false", "null", "Null", "~", "",
          "0", "007", "0x1F", "0o17", "0b101", "1_000", "1e3", "1e400", "-1e400", ".inf", "-.inf", ".nan", "1.5",
          "+3", "-0", "123456789012345678901234567890", "2023-01-01", "2023-13-45", "12:30", "1:20", "=", "<<",
          "a b", "P3Y", "cust.full-name", "é", "#not", "x: y", "- z", "[a]", "{b}"]


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def check(text: str) -> None:
    try:
        expected = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        with pytest.raises((yaml.YAMLError, Unsupported)) as fast:
            _read_fast(text)
        if isinstance(fast.value, yaml.MarkedYAMLError) and isinstance(exc, yaml.MarkedYAMLError):
            assert str(fast.value) == str(exc)
        return
    try:
        got = _read_fast(text)
    except Unsupported:
        return
    assert same(got, expected), (text, got, expected)


@pytest.mark.parametrize("word", TRICKY)
def test_plain_and_quoted_scalars(word: str) -> None:
    for text in (f"k: {word}\n", f"k: [{word}]\n", f"- {word}\n", f"k: '{word}'\n", f'k: "{word}"\n', f"{word}: 1\n"):
        check(text)


@pytest.mark.parametrize("text", [
    "", "---\n", "--- 1\n", "a: 1\na: 2\n", "? [a]\n: 1\n", "{[a]: 1}\n", "--- 1\n--- 2\n", "a: {b: [c, {d: e}]}\n",
    "a: [1, 2\n", "a: b: c\n", "a:\n  - b\n  - c\nd: ~\n", "'k': v\n", "1: one\n2: two\n", "null: x\n",
    "a: |\n  text\n  more\n", "a: >\n  folded\n  text\n", "a: 'it''s'\n", 'a: "tab\\there"\n',
])
def test_documents(text: str) -> None:
    check(text)


scalars = st.sampled_from(TRICKY) | st.text(max_size=8) | st.integers() | st.floats(allow_nan=False)
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(TRICKY) | st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(trees, st.booleans())
def test_dumped_trees(tree: object, flow: bool) -> None:
    check(yaml.safe_dump({"root": tree}, default_flow_style=flow, allow_unicode=True))
