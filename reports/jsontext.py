"""Indented JSON, byte for byte what `json.dumps(value, indent=2, ensure_ascii=False)` writes,
in a fraction of its time.

The standard library encodes with C only without `indent`; with it, Python 3.11 falls back to a
generator per container and a `yield` per token, which made writing the findings of a 50,000-flow
chain cost as much as auditing it. Here every string still goes through the C escaper and a
container of strings is joined in one call; the layout (two spaces, `", "` nowhere, `": "` after
a key) is the standard encoder's, and tests/test_jsontext.py holds the two together.
"""

from __future__ import annotations

import functools
from json.encoder import encode_basestring  # the C escaper (ensure_ascii=False), when built
from collections.abc import Callable, Iterable
from typing import Any

_INDENT = "  "
_CONSTANTS: dict[Any, str] = {True: "true", False: "false", None: "null"}


@functools.lru_cache(maxsize=1024)
def _key_text(key: str) -> str:
    """A string key's text and its colon, kept for the keys that recur (`"regime": `): a
    finding's details use a handful of keys, written 50,000 times for a 50,000-flow chain."""
    return encode_basestring(key) + ": "


Writer = Callable[[Any, list[str], str], None]


class Stream:
    """A list written item by item as `iterable` yields them, each item's text joined before the
    next is made: a large list (the findings) never exists as dicts and small strings all at once.
    `write(item, out, newline)` appends an item's text (`write` below by default): a writer of
    its own for a kind of item must append exactly what `write` would for the item's value."""

    def __init__(self, iterable: Iterable[Any], write: Writer | None = None) -> None:
        self.iterable = iterable
        self.write = write


def dumps(value: Any, end: str = "") -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False) + end` for dicts, lists, tuples, strings,
    numbers, booleans and None (anything else raises TypeError, as there); a `Stream` is written
    as the list of what it yields. (`end` is joined with the rest: adding it afterwards would
    copy the whole text, 130 MB at 1,000,000 flows.)"""
    out: list[str] = []
    _write(value, out, "\n")
    out.append(end)
    return "".join(out)


def dumpb(value: Any, end: str = "") -> bytes:
    """`dumps(value, end).encode("utf-8")`, encoded piece by piece (a `Stream`'s item at a time):
    the whole text never exists as one `str`, which one non-ASCII character (a `→` in a message)
    makes two or four bytes a character, and is not encoded again as a whole (a 50,000-flow
    chain's findings: 68 MB of UTF-8 that were 136 MB of text first)."""
    out: list[Any] = _Encoded()  # a `Stream` appends each item's bytes as soon as it is written
    _write(value, out, "\n")
    out.append(end)
    for i, piece in enumerate(out):  # each piece freed as its bytes replace it
        if type(piece) is str:
            out[i] = piece.encode("utf-8")
    return b"".join(out)


class _Encoded(list):  # type: ignore[type-arg]
    """`dumpb`'s parts: a stream's items go in as UTF-8, so that their text is freed at once
    (the findings of a 50,000-flow chain: 136 MB of text never alive together)."""


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return encode_basestring(key)
    if key is True or key is False or key is None:
        return '"' + _CONSTANTS[key] + '"'
    if isinstance(key, int):
        return '"' + int.__repr__(key) + '"'
    if isinstance(key, float):
        return '"' + _float(key) + '"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _scalar(value: Any) -> str | None:
    """The text of a scalar, or None for a container."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or value is True or value is False:
        return _CONSTANTS[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, (dict, list, tuple)):
        return None
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _write(value: Any, out: list[str], newline: str) -> None:
    """Append `value`'s text; `newline` is a line break and the current indentation."""
    if isinstance(value, Stream):
        _write_stream(value, out, newline)
        return
    text = _scalar(value)
    if text is not None:
        out.append(text)
        return
    if not value:
        out.append("{}" if isinstance(value, dict) else "[]")
        return
    if isinstance(value, dict):
        _write_dict(value, out, newline)
        return
    inner = newline + _INDENT
    try:  # a list of ids, countries, legal references: one join (the C escaper refuses a non-string)
        out.append("[" + inner + ("," + inner).join(map(encode_basestring, value)) + newline + "]")
        return
    except TypeError:
        pass
    out.append("[")
    separator = inner
    for item in value:
        out.append(separator)
        _write(item, out, inner)
        separator = "," + inner
    out.append(newline + "]")


def _write_dict(value: dict[Any, Any], out: list[str], newline: str) -> None:
    """A non-empty dict: most (a finding's details, a pair of PUR-001's) are written by
    `write_flat_dict` without a call per value; any other a value at a time."""
    if write_flat_dict(value, out, newline):
        return
    inner = newline + _INDENT
    separator = "{" + inner
    for key, item in value.items():
        out.append(separator + (_key_text(key) if type(key) is str else _key(key) + ": "))
        separator = "," + inner
        _write(item, out, inner)
    out.append(newline + "}")


def write_dict(value: dict[Any, Any], out: list[str], newline: str) -> None:
    """`write` for a non-empty dict."""
    _write_dict(value, out, newline)


def write_flat_dict(value: dict[Any, Any], out: list[str], newline: str) -> bool:
    """`write_dict` for a non-empty dict of the shape most findings' details have (string keys;
    strings, integers, booleans, None and lists of strings as values), returning True; False, with
    nothing appended, for any other dict, which the caller makes JSON-ready first. The shape is
    found out while writing: telling it beforehand took a fifth of the writing's time (a pass
    over the values' types, then one per list)."""
    inner = newline + _INDENT
    deeper = inner + _INDENT
    between = "," + deeper
    parts = []
    for key, item in value.items():
        if type(key) is not str:
            return False
        kind = type(item)
        if kind is str:
            parts.append(_key_text(key) + encode_basestring(item))
        elif kind is list:
            if not item:
                parts.append(_key_text(key) + "[]")
                continue
            try:  # the C escaper refuses a non-string (and writes a `str` subclass as its text)
                parts.append(_key_text(key) + "[" + deeper + between.join(map(encode_basestring, item)) + inner + "]")
            except TypeError:
                return False
        elif kind is int:
            parts.append(_key_text(key) + int.__repr__(item))
        elif item is None or kind is bool:
            parts.append(_key_text(key) + _CONSTANTS[item])
        else:
            return False
    out.append("{" + inner + ("," + inner).join(parts) + newline + "}")
    return True


def write(value: Any, out: list[str], newline: str) -> None:
    """Append the text of `value` at the indentation that `newline` (a line break and the
    indentation of the line `value` starts on) gives."""
    _write(value, out, newline)


def _write_stream(stream: Stream, out: list[Any], newline: str) -> None:
    inner = newline + _INDENT
    separator = "[" + inner
    write_item = stream.write or _write
    encoded = type(out) is _Encoded
    for item in stream.iterable:
        pieces = [separator]
        write_item(item, pieces, inner)
        out.append("".join(pieces).encode("utf-8") if encoded else "".join(pieces))
        separator = "," + inner
    out.append("[]" if separator.startswith("[") else newline + "]")
