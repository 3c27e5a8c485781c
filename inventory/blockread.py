"""A line reader for block-style inventory files: the default reader's first try (SPEC §7).

Building a document from libyaml's events (`fastload`) is bounded by libyaml itself: it makes a
Python object for every event, two marks with each, 1.95 million events for a 50,000-flow file
(3.5 s of its 4.4 s). Inventory files, as `flowaudit synth` and `register` write them and as
people write them by hand, use a small part of YAML: block mappings and sequences laid out by
indentation (a sequence may sit at its key's column), `key: value` lines, flow collections
(`elements: [email, full-name]`, or over several lines, each broken after `,`, `[` or `{`),
plain and simple quoted scalars, comments and blank lines. This reader takes exactly that part,
a line at a time: each distinct line head (`  - id`) and each distinct value text is read once
by a regular expression, and the lines are fitted together by their columns (that file: 0.9 s).

It never gives another answer than `fastload`'s reader: scalars are resolved by the same rules
(`fastload.scalar_rules`), and whatever it does not read exactly raises `Unsupported`, after which
the file is read by the event reader as before: tabs, lone carriage returns, document markers and
directives, anchors, aliases and tags, block scalars, `?` keys, scalars over several lines,
escapes, comments inside a flow collection, keys given twice, a line at an unexpected column,
nesting near the limit. It reports no error itself: a malformed file is always declined, so the
errors read as they always have. A file declined only at its end costs one pass of this reader
on top of the event reader's (0.9 s against 4.4 s for that file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import chain, repeat
from typing import Any

import yaml

from .fastload import Unsupported, scalar_readers, scalar_rules
from .models import ID_TEXT


def _chars(but: str = "", space: bool = False) -> str:
    """A character class: what libyaml reads as a printable character on a line (no control
    characters, no line breaks but `\\n` (NEL, U+2028, U+2029), no byte-order mark, no tab),
    without the space unless `space`, and without the ASCII characters in `but`.

    Written as what it excludes: `re` builds a class of wide ranges (`\\xa0-\\ud7ff`) one code
    point at a time, and the expressions below repeat these classes (0.18 s at every start)."""
    controls = r"\x00-\x1f" if space else r"\x00-\x20"
    excluded = "".join(re.escape(c) for c in sorted(set(but)))
    return "[^" + controls + r"\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff" + excluded + "]"


_ANY = _chars()
_INDICATORS = "-?:,[]{}#&*!|>'\"%@`"  # none may start a plain scalar (`-` may, before a non-space)
_COMMENT = "#" + _chars(space=True) + "*"
_SINGLE_CHAR = "(?:" + _chars("'", space=True) + "|'')"  # between single quotes; '' is one quote
_DOUBLE_CHAR = _chars('"\\', space=True)  # between double quotes: no escapes
_SINGLE, _DOUBLE = _SINGLE_CHAR + "*", _DOUBLE_CHAR + "*"
# A plain scalar in block context ends at `: `, ` #` or the line's end; a `:` inside is text
_WORD = f"(?:{_chars(':')}|:(?={_ANY}))"
_PLAIN = f"(?:{_chars(_INDICATORS)}|-(?={_ANY})){_WORD}*(?: +(?!#){_WORD}+)*"
# In a flow collection a plain scalar also ends at `,[]{}`, and a `:` before one of `,?[]{}` is an
# error; `#` is left to the event reader (`a, #b` starts a comment)
_FLOW_WORD = f"(?:{_chars(',[]{}:#')}|:(?={_chars(',?[]{}#')}))"
_FLOW_PLAIN = f"(?:{_chars(_INDICATORS)}|-(?={_FLOW_WORD})){_FLOW_WORD}*(?: +{_FLOW_WORD}+)*"
# libyaml looks for a simple key's `:` at most 1,024 characters on; a key here is far shorter
_KEY = rf"'({_SINGLE_CHAR}{{0,99}})'|\"({_DOUBLE_CHAR}{{0,99}})\"|([A-Za-z0-9_][A-Za-z0-9_.\-]{{0,99}})"
_KEY_CHARS = 100

# What follows `key: ` or `- `: nothing (a comment at most), a scalar or a one-line flow collection
_VALUE = re.compile(
    rf" *(?:(?:([\[{{][^#]*[\]}}])|'({_SINGLE})'|\"({_DOUBLE})\"|({_PLAIN}))(?: +{_COMMENT}| *)|{_COMMENT}|)")
_HEAD = re.compile(rf"( *)(- +)?(?:{_KEY})")  # a line's text before its first `: `
_LINE = re.compile(rf"( *)(- +|-$)?(?:(?:{_KEY}):(?: +|$))?(.*)")
_FLOW_TOKEN = re.compile(rf"[ \n]*(?:([\[\]{{}},])|(:) |'({_SINGLE})'|\"({_DOUBLE})\"|({_FLOW_PLAIN}))")
_FLOW_DEPTH = 16
# Flow collections are read a token at a time, several times slower than block lines: past
# _FLOW_TOKENS_FREE such tokens, more than _FLOW_TOKENS_PER_LINE a line hands the file to libyaml
_FLOW_TOKENS_FREE = 20_000
_FLOW_TOKENS_PER_LINE = 4
# A flow collection left open at a line's end, after `,`, `[` or `{`: it goes on on the next lines
_OPEN_FLOW = re.compile(r" *[\[{].*[,\[{] *")

# Plain words, a list of flow plain scalars: most values, matched without the full expressions
_WORDS = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@/()+-]*(?: [A-Za-z0-9._@/()+-]+)*").fullmatch
_WORD_LIST = re.compile(rf"\[({_FLOW_PLAIN}(?:, {_FLOW_PLAIN})*)\]")

_PENDING = object()  # `key:` or `-` with nothing after it: a nested collection or null follows
_FLOW = object()  # a flow collection (its template is kept apart)
_OPEN = object()  # a flow collection that goes on on the next lines
_UNSEEN = object()
_NOKEY = object()
_SKIP = (None, 0, 0, None, "")  # a blank or comment line


def _pieces(text: str, size: int = 1 << 20) -> Iterator[str]:
    """`text` in pieces of about `size` characters, each cut at a line break (the break itself
    left out), so that their lines are `text`'s: a piece's lines are dropped once read, and the
    next piece's take their memory (all of a 50,000-flow file's at once: 40 MB, 10,000 page
    faults)."""
    start = 0
    while True:
        cut = text.find("\n", start + size)
        if cut < 0:
            yield text[start:]
            return
        yield text[start:cut]
        start = cut + 1


def _inner(template: Any) -> tuple[Any, ...]:
    """The collections inside a flow collection's template, for `_fresh`: (key or index, the
    collection, its own inner collections) each; () for a collection of scalars."""
    items = template.items() if type(template) is dict else enumerate(template)
    return tuple((k, v, _inner(v)) for k, v in items if type(v) is list or type(v) is dict)


def _fresh(template: Any, inner: tuple[Any, ...]) -> Any:
    """A new copy of a flow collection read before (`flows[text]`): new containers, the same
    scalars (a shallow copy, then a copy of each collection inside it)."""
    new = template.copy()
    for key, collection, deeper in inner:
        new[key] = _fresh(collection, deeper)
    return new


class IdLines:
    """Where a file's `id: ...` lines are, noted while reading it: `lines` maps each id to the
    1-based line of its first `id:` key, and `complete` says that every `id:` in the text was
    such a key with an id as its value. Then `lines` is what `SourceFile.id_line`'s scan of the
    text would find (the scan was 0.3 s of a 50,000-flow chain's audit); otherwise the scan runs."""

    __slots__ = ("complete", "lines")

    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.complete = False


_ID_VALUE = re.compile(ID_TEXT).fullmatch
# An entry's `id:` and its id, as `SourceFile.id_line` scans a text for them: `id: x`, `- id: 'x'`,
# `{id: x, ...}`. The pattern starts with its literal, so the regular expression engine jumps from
# one `id:` to the next (a pattern opening with `(?:^|[{,\s-])` tries every position of the text:
# 0.7 s for a 13 MB file against 0.05 s); `id_key_after` checks the character before instead.
ID_LINE = re.compile(rf"""id:\s*["']?({ID_TEXT})["']?\s*(?:[,}}#]|$)""", re.MULTILINE)


def id_key_after(char: str) -> bool:
    """An `id:` after `char` is a key (not the end of another word): a line break, a space, `-`,
    `{` or `,` before it."""
    return char in "{,-" or char.isspace()


def make_line_reader(loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader],
                     max_depth: int) -> Callable[..., Any]:
    """`read(text, ids=None)`: the document `fastload.make_reader(loader, max_depth)` builds from
    `text`, or `Unsupported` when the text is not in the block-style subset this reader takes;
    with an `IdLines`, where its `id:` lines are too."""
    claimed, plain = scalar_rules(loader)
    limit = max_depth - _FLOW_DEPTH - 2  # block levels, with room for a flow collection's

    def read(text: str, ids: IdLines | None = None) -> Any:
        strings: dict[str, str] = {}
        share = strings.setdefault
        scalar, string = scalar_readers(claimed, plain, strings)  # as fastload's reader reads them

        def scalar_of(single: str | None, double: str | None, plain_text: str) -> Any:
            """The value of a scalar matched as `'single'`, `"double"` or plain."""
            if single is not None:
                return string(single.replace("''", "'"))
            if double is not None:
                return string(double)
            return scalar(plain_text)

        def value_of(text: str) -> Any:
            """What follows `key: ` or `- `: a scalar's value, `_PENDING` (nothing), `_FLOW` for a
            flow collection (its template put in `flows[text]`), `_OPEN` for one that goes on on
            the next lines."""
            if _WORDS(text):  # the common value, found without the full expression
                return scalar(text)
            m = _VALUE.fullmatch(text)
            if m is None:
                if _OPEN_FLOW.fullmatch(text):
                    return _OPEN
                raise Unsupported
            flow, single, double, plain_text = m.groups()
            if flow is not None:
                flows[text] = flow_of(flow)
                return _FLOW
            if single is None and double is None and plain_text is None:
                return _PENDING
            return scalar_of(single, double, plain_text)

        def flow_of(text: str) -> tuple[Any, tuple[Any, ...]]:
            """A flow collection's template, and the collections inside it (`_inner`)."""
            m = _WORD_LIST.fullmatch(text)
            if m is not None:  # `[a, b c, d]`, the common case: plain scalars hold no `,`
                return [scalar(word) for word in m.group(1).split(", ")], ()
            tokens: list[tuple[str, Any]] = []
            match, pos, end = _FLOW_TOKEN.match, 0, len(text)
            while pos < end:
                spent[0] += 1
                m = match(text, pos)
                if m is None:
                    raise Unsupported
                bracket, colon, single, double, plain_text = m.groups()
                if bracket is not None:
                    tokens.append((bracket, None))
                elif colon is not None:
                    if m.start(2) != pos:  # `a : b`: a space before the colon
                        raise Unsupported
                    tokens.append((":", None))
                else:  # a scalar; one too long to be read as a key is a value only
                    long = m.end() - m.start() > _KEY_CHARS
                    tokens.append(("long" if long else "scalar", scalar_of(single, double, plain_text)))
                pos = m.end()
            tokens.append(("end", None))
            if spent[0] > _FLOW_TOKENS_FREE and spent[0] > _FLOW_TOKENS_PER_LINE * read_lines[0]:
                # a file written in flow style (`- {id: a, name: A}` entry after entry): libyaml's
                # events read it faster than these tokens, so it goes there, early
                raise Unsupported
            value, at = node(tokens, 0, 0)
            if at != len(tokens) - 1:
                raise Unsupported
            return value, _inner(value)

        def node(tokens: list[tuple[str, Any]], at: int, depth: int) -> tuple[Any, int]:
            kind, value = tokens[at]
            if kind == "scalar" or kind == "long":
                return value, at + 1
            if depth >= _FLOW_DEPTH or kind not in "[{":
                raise Unsupported
            closing = "]" if kind == "[" else "}"
            collection: Any = [] if kind == "[" else {}
            at += 1
            if tokens[at][0] == closing:
                return collection, at + 1
            while True:
                if kind == "[":
                    item, at = node(tokens, at, depth + 1)
                    collection.append(item)
                else:
                    key_kind, key = tokens[at]
                    if key_kind != "scalar" or tokens[at + 1][0] != ":" or key in collection:
                        raise Unsupported
                    collection[key], at = node(tokens, at + 2, depth + 1)
                kind_after = tokens[at][0]
                if kind_after == closing:
                    return collection, at + 1
                if kind_after != ",":
                    raise Unsupported
                at += 1

        def continued(first: str, indent: int, lines: Iterator[str]) -> str:
            """The flow collection that `first` opens, read on to its end from `lines` (each line
            indented past `indent`, each but the last ending in `,`, `[` or `{`): its text, a key
            of `flows`. Lines are joined by a line break, which the flow tokens read as a space
            and no scalar may hold (a key and its `: ` stay on one line; a quoted scalar on
            several is left to libyaml)."""
            parts = [first.rstrip(" ")]
            while True:
                line = next(lines, None)
                if line is None:
                    raise Unsupported
                body = line.strip(" ")
                if len(line) - len(line.lstrip(" ")) <= indent or not body or body[0] == "#":
                    raise Unsupported
                parts.append(body)
                if body[-1] not in ",[{":
                    break
            text = "\n".join(parts)
            if value_of(text) is not _FLOW:
                raise Unsupported
            return text

        def line_of(line: str) -> tuple[Any, int, int, Any, str]:
            """(the key or _NOKEY, indent, the column after `- ` or -1, the value, its text) of a
            line whose head is not simply a key, or _SKIP for a blank or comment line."""
            m = _LINE.fullmatch(line)
            if m is None:
                raise Unsupported
            indent, dash, single, double, plain_key, rest = m.groups()
            value = value_of(rest)
            keyless = single is None and double is None and plain_key is None
            key = _NOKEY if keyless else scalar_of(single, double, plain_key)
            if dash is None:
                if keyless:
                    if value is not _PENDING:  # a scalar on a line of its own
                        raise Unsupported
                    return _SKIP
                return key, len(indent), -1, value, rest
            return key, len(indent), len(indent) + len(dash), value, rest

        def head_of(head: str) -> tuple[int, Any, int, int, bool] | bool:
            """(code, key, indent, the column after `- ` or -1, whether the key is written `id`)
            for the text before a line's first `: `, False when it is not an indented key, with
            or without `- ` before it. The code is the indent of a key without `- `, -2 for one
            with it."""
            m = _HEAD.fullmatch(head)
            if m is None:
                return False
            indent, dash, single, double, plain_key = m.groups()
            key = scalar_of(single, double, plain_key)
            if dash is None:
                return len(indent), key, len(indent), -1, plain_key == "id"
            return -2, key, len(indent), len(indent) + len(dash), plain_key == "id"

        spent, read_lines = [0], [0]  # flow tokens read one by one, and lines so far
        heads: dict[str, Any] = {}
        values: dict[str, Any] = {}
        flows: dict[str, tuple[Any, tuple[Any, ...]]] = {}
        wholes: dict[str, Any] = {}
        # the open collections below the current one; the document itself fills the pending
        # slot of `holder`, at column -1
        holder: list[Any] = [None]
        stack: list[tuple[Any, int, bool]] = []
        cur: Any = holder
        ci, is_map, pending, pending_key = -1, False, True, None
        # the code of a line that is just the next `key: value` of `cur`: its column when `cur`
        # is a mapping and no slot is open, else -3, which no line has
        cc = -3
        # the column of a `- key: value` line that opens the next mapping beside `cur`: that of
        # `seq`, the sequence holding `cur` when `cur` is a mapping and no slot is open, else -3
        sc, seq = -3, holder
        if "\r" in text:  # a file saved on Windows: CR LF is one line break, as libyaml reads it
            text = text.replace("\r\n", "\n")  # (a CR left on its own is declined with the line)
        lines = chain.from_iterable(map(str.split, _pieces(text), repeat("\n")))
        spent[0] = read_lines[0] = 0
        id_lines: dict[str, int] | None = {} if ids is not None else None
        noted = 0  # `id:` lines noted in id_lines, to compare with every `id:` of the text
        for read_lines[0], line in enumerate(lines, 1):
            head, sep, rest = line.partition(": ")
            entry: Any = False
            if sep:
                entry = heads.get(head)
                if entry is None:
                    entry = heads[head] = head_of(head)
            if entry:  # `key: ...` or `- key: ...`
                code, key, i, j, is_id = entry
                value = values.get(rest, _UNSEEN)
                if value is _UNSEEN:  # as `value_of` reads it, the usual plain string without a call
                    value = values[rest] = (share(rest, rest) if _WORDS(rest) and rest[0] not in claimed
                                            else value_of(rest))
                if is_id and id_lines is not None and type(value) is str and _ID_VALUE(value):
                    id_lines.setdefault(value, read_lines[0])
                    noted += 1
                if code == cc and value is not _PENDING and value is not _OPEN:
                    # most lines: the next key of the current mapping, at its column
                    if value is _FLOW:
                        value = _fresh(*flows[rest])
                    if key in cur:  # a key given twice: the full loader says where
                        raise Unsupported
                    cur[key] = value
                    continue
                if i == sc and j == ci and value is not _PENDING and value is not _OPEN:
                    # `- key: value` at the column of the sequence that holds `cur` (a mapping
                    # whose keys are at the column of this key): that sequence's next mapping
                    if value is _FLOW:
                        value = _fresh(*flows[rest])
                    cur = {key: value}
                    seq.append(cur)
                    continue
            else:
                whole = wholes.get(line)
                if whole is None:
                    whole = wholes[line] = line_of(line)
                if whole is _SKIP:
                    continue
                key, i, j, value, rest = whole
            if value is _FLOW or value is _OPEN:
                if value is _OPEN:  # read on: the flow collection is indented past its block
                    rest = continued(rest, i if key is _NOKEY else max(i, j), lines)
                    id_lines = None  # the lines it took are not counted: the scan finds the ids
                value = _fresh(*flows[rest])
                if id_lines is not None and type(value) is dict and "id:" in rest:  # `- {id: x, ...}`
                    m = ID_LINE.search(rest)
                    if (m is not None and m.start() and id_key_after(rest[m.start() - 1])
                            and m.group(1) == value.get("id")):
                        id_lines.setdefault(m.group(1), read_lines[0])
                        noted += 1
            if pending:  # the previous line left a slot: a collection opens here, or it stays null
                pending = False
                if i > ci or (i == ci and j >= 0 and is_map):  # deeper, or a sequence at its key's column
                    new: Any = [] if j >= 0 else {}
                    if is_map:
                        cur[pending_key] = new
                    else:
                        cur[-1] = new
                    stack.append((cur, ci, is_map))
                    if len(stack) > limit:
                        raise Unsupported
                    cur, ci, is_map = new, i, j < 0
            if i != ci or is_map is (j >= 0):
                while i < ci:
                    cur, ci, is_map = stack.pop()
                if i != ci or (is_map and j >= 0):
                    raise Unsupported
                if not is_map and j < 0:  # a key after a sequence at its key's column
                    cur, ci, is_map = stack.pop()
                    if i != ci or not is_map:
                        raise Unsupported
            if is_map:
                if key in cur:
                    raise Unsupported
                if value is _PENDING:
                    cur[key] = None
                    pending, pending_key = True, key
                else:
                    cur[key] = value
            elif key is _NOKEY:
                if value is _PENDING:
                    cur.append(None)
                    pending = True
                else:
                    cur.append(value)
            else:  # `- key: value` opens a mapping at the key's column
                new = {key: None if value is _PENDING else value}
                cur.append(new)
                stack.append((cur, ci, is_map))
                if len(stack) > limit:
                    raise Unsupported
                cur, ci, is_map = new, j, True
                if value is _PENDING:
                    pending, pending_key = True, key
            cc = ci if is_map and not pending else -3
            sc = -3
            if cc >= 0:
                seq, sc, outer_is_map = stack[-1]
                if outer_is_map:
                    sc = -3
        if cur is holder:  # no node at all: left to the event reader
            raise Unsupported
        if ids is not None and id_lines is not None and noted == text.count("id:"):
            ids.lines, ids.complete = id_lines, True
        return holder[0]

    return read
