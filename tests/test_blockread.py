"""The line reader (block-style YAML, a line at a time) gives exactly the answer of the readers
behind it (libyaml's events, then the full loader) or declines with `Unsupported`: never another
value, and never a document for a file those readers refuse."""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_fastload import TRICKY, same

from flowaudit.inventory import loader
from flowaudit.inventory.blockread import IdLines
from flowaudit.inventory.fastload import TooDeep, Unsupported
from flowaudit.inventory.loader import MAX_DEPTH, SourceFile, _Loader, _read_fast, _read_lines, read_file
from flowaudit.synth import synthesize
from flowaudit.synth.shapes import chain


class Refused:
    """The readers behind the line reader refuse the text."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"Refused({self.error!r})"


def reference(text: str) -> object:
    """What the loader makes of `text` without the line reader: the event reader's document, the
    full loader's where the event reader hands over, or `Refused`."""
    try:
        return _read_fast(text)
    except Unsupported:
        pass
    except (yaml.YAMLError, TooDeep) as exc:
        return Refused(exc)
    try:
        return yaml.load(text, Loader=_Loader)
    except Exception as exc:  # whatever the loader turns into a problem
        return Refused(exc)


def check(text: str) -> str:
    """The line reader's answer is the reference's, or it declines; which of the two it did."""
    expected = reference(text)
    try:
        got = _read_lines(text)
    except Unsupported:
        return "declined"
    assert not isinstance(expected, Refused), (text, got, expected)
    assert same(got, expected), (text, got, expected)
    return "read by lines"


# -- (a) trees written by PyYAML's dumper in its styles, and in the compact style by hand ----------

INDICATORS = " -?:,[]{}#&*!|>'\"%@`~."
words = (st.sampled_from(TRICKY) | st.text(alphabet="abcXYZ019" + INDICATORS, max_size=8)
         | st.text(max_size=6))
scalars = words | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
keys = st.sampled_from(TRICKY) | st.text(alphabet="abcXYZ019_-. :#'\"", min_size=1, max_size=8) | st.integers()
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                     max_leaves=25)
styles = st.fixed_dictionaries({
    "default_flow_style": st.sampled_from([False, None]), "indent": st.sampled_from([2, 4]),
    "width": st.sampled_from([12, 80, 10**6]), "allow_unicode": st.booleans(), "sort_keys": st.just(False)})


@settings(max_examples=400, deadline=None)
@given(tree=trees, style=styles)
def test_trees_dumped_by_pyyaml(tree: object, style: dict[str, object]) -> None:
    event(check(yaml.safe_dump({"root": tree}, **style)))  # type: ignore[call-overload]


def one_line(value: object) -> str:
    """`value` in flow style on one line, as PyYAML writes it."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**9, allow_unicode=True).rstrip("\n") \
        .removesuffix("\n...")


def compact(node: dict[object, object] | list[object], indent: int = 0, comments: bool = False) -> list[str]:
    """`node` in block style as people write inventories: a sequence at its key's column, a
    mapping in a sequence starting on the item's line, scalars and empty collections on one line."""
    pad, note = " " * indent, "  # note" if comments else ""
    lines: list[str] = []
    items = node.items() if isinstance(node, dict) else ((None, v) for v in node)
    for key, value in items:
        lead = f"{pad}{one_line(key)}:" if isinstance(node, dict) else f"{pad}-"
        if isinstance(value, dict) and value:
            inner = compact(value, indent + 2, comments)
            if isinstance(node, dict):
                lines += [lead + note, *inner]
            else:  # `- key: value`, the mapping's other keys under the first
                lines += [f"{lead} {inner[0][indent + 2:]}", *inner[1:]]
        elif isinstance(value, list) and value:
            lines += [lead + note, *compact(value, indent if isinstance(node, dict) else indent + 2, comments)]
        else:
            lines.append(f"{lead} {one_line(value)}{note}")
    return lines


@settings(max_examples=300, deadline=None)
@given(tree=st.dictionaries(keys, trees, min_size=1, max_size=4), comments=st.booleans())
def test_trees_written_in_the_compact_style(tree: dict[object, object], comments: bool) -> None:
    text = "\n".join(["# written by hand", *compact(tree, 0, comments), ""])
    event(check(text))


plain_words = st.from_regex(r"\A[a-z][a-z0-9.@-]{0,12}( [a-z0-9]{1,5})?\Z") | st.integers(-5, 10**6) | st.booleans()
plain_keys = st.from_regex(r"\A[a-z_][a-z0-9_-]{0,10}\Z")
# a sequence in a sequence is `- - x` in block style: left to the event reader (no inventory has one)
plain_mappings: st.SearchStrategy[dict[str, object]] = st.deferred(
    lambda: st.dictionaries(plain_keys, plain_words | plain_sequences | plain_mappings, max_size=3))
plain_sequences = st.lists(plain_words | plain_mappings, max_size=3)


@settings(max_examples=150, deadline=None)
@given(tree=plain_mappings.filter(bool), comments=st.booleans())
def test_inventory_like_trees_take_the_line_path(tree: dict[object, object], comments: bool) -> None:
    """Plain words, numbers and booleans in either style are read by lines, never declined."""
    for text in ("\n".join([*compact(tree, 0, comments), ""]),
                 yaml.safe_dump(tree, default_flow_style=False, sort_keys=False, width=10**6)):
        assert check(text) == "read by lines", text


# -- (b) real inventory files, damaged: the same answer, a decline, never a value for an error ----

@functools.cache
def sources() -> tuple[str, ...]:
    """The shipped examples, the test fixtures, and what `flowaudit synth` writes (both shapes,
    also with CR LF line breaks)."""
    files = sorted((ROOT / "data" / "examples").rglob("*.yaml")) + sorted((ROOT / "tests" / "fixtures").rglob("*.yaml"))
    with tempfile.TemporaryDirectory(prefix="blockread-") as name:
        folder = Path(name)
        synthesize(folder / "synth", 80, seed=3)
        chain(folder / "chain", 12)
        written = sorted((folder / "synth").rglob("*.yaml")) + sorted((folder / "chain").rglob("*.yaml"))
        texts = [f.read_text(encoding="utf-8").removeprefix("\ufeff") for f in files + written]
        texts += [f.read_text(encoding="utf-8").replace("\n", "\r\n") for f in written]  # as saved on Windows
        return tuple(texts)


DAMAGE = [*" \t\n-:#[]{},'\"&*!|>?%@`.~0aZ\\\ré", ": ", " #", "- ", " :", ", ", "\n  ", "\n- "]


@st.composite
def damaged(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(sources()))
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["insert", "delete", "replace", "indent", "indent", "repeat"]))
        if how in ("indent", "repeat"):  # a line moved left or right, or written again further on
            lines = text.split("\n")
            at = draw(st.integers(0, len(lines) - 1))
            if how == "repeat":
                lines.insert(draw(st.integers(at, min(at + 6, len(lines)))), lines[at])
            else:
                shift = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
                body = lines[at].lstrip(" ")
                lines[at] = " " * max(0, len(lines[at]) - len(body) + shift) + body
            text = "\n".join(lines)
            continue
        lines = text.split("\n")  # a place in a line, whatever the line's length
        line = draw(st.integers(0, len(lines) - 1))
        at = sum(len(x) + 1 for x in lines[:line]) + draw(st.integers(0, len(lines[line])))
        char = draw(st.sampled_from(DAMAGE))
        text = {"insert": text[:at] + char + text[at:], "delete": text[:at] + text[at + 1:],
                "replace": text[:at] + char + text[at + 1:]}[how]
    return text


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=damaged())
def test_damaged_inventory_files(text: str) -> None:
    event(check(text))


def test_every_source_file_gives_the_same_document() -> None:
    assert all(check(text) for text in sources())


# -- (c) what `synth` writes and the shipped examples take the line path (it cannot silently rot)

BLOCK_SCALAR = re.compile(r":[ ]+[|>][-+]?[ ]*$", re.MULTILINE)


def test_synth_outputs_take_the_line_path(tmp_path: Path) -> None:
    synthesize(tmp_path / "synth", 200, seed=7)
    chain(tmp_path / "chain", 30)
    files = sorted(tmp_path.rglob("*.yaml"))
    assert len(files) > 5
    for file in files:
        assert check(file.read_text(encoding="utf-8")) == "read by lines", file


def test_shipped_examples_take_the_line_path_unless_they_use_block_scalars() -> None:
    read_by_lines = []
    for file in sorted((ROOT / "data" / "examples").rglob("*.yaml")):
        text = file.read_text(encoding="utf-8")
        outcome = check(text)
        assert (outcome == "declined") == bool(BLOCK_SCALAR.search(text)), (file, outcome)
        if outcome != "declined":
            read_by_lines.append(file)
    assert len(read_by_lines) >= 6


def test_the_loader_reads_them_without_libyaml_events(tmp_path: Path) -> None:
    """The loader tries the line reader first: with the event reader out of the way, what it
    takes still loads, with its strings shared as the event reader shares them."""
    synthesize(tmp_path, 100, seed=5)

    def no_events(text: str) -> object:
        raise AssertionError("the event reader was asked")

    with mock.patch.object(loader, "_read_fast", no_events):
        for file in sorted(tmp_path.rglob("*.yaml")):
            source, problems = read_file(file, parser="pyyaml")
            assert source is not None and not problems, file


def test_one_object_per_string_and_new_containers_for_each_flow_collection() -> None:
    doc = _read_lines("a: [x, {k: [x]}]\nb: [x, {k: [x]}]\nc: x\nd: 'x'\ne:\n- x\n")
    xs = [doc["a"][0], doc["a"][1]["k"][0], doc["b"][0], doc["c"], doc["d"], doc["e"][0]]
    assert len({id(x) for x in xs}) == 1
    assert doc["a"] == doc["b"] and doc["a"] is not doc["b"]
    assert doc["a"][1] is not doc["b"][1] and doc["a"][1]["k"] is not doc["b"][1]["k"]


# -- (d) what the line reader reads, and each construct it leaves to the readers behind it ---------

READ = {
    "a: 1\nb: [x, y]\n": {"a": 1, "b": ["x", "y"]},
    "flows:\n- id: x\n  to: y\n- id: z\n": {"flows": [{"id": "x", "to": "y"}, {"id": "z"}]},
    "a:\n  - 1\n  -\n  - b: 2\n    c:\n    - 3\nd:\n": {"a": [1, None, {"b": 2, "c": [3]}], "d": None},
    "t: {mechanism: scc, scc: {module: p2p, version: 2021, signed: 2024-01-15}}\n":
        {"t": {"mechanism": "scc", "scc": {"module": "p2p", "version": 2021, "signed": "2024-01-15"}}},
    "a: x y  # note\nb: 'it''s: #1'\nc: \"q: [1]\"\nd: special:health\n":
        {"a": "x y", "b": "it's: #1", "c": "q: [1]", "d": "special:health"},
    "- {id: a,\n   b: [c,\n       d]}\n": [{"id": "a", "b": ["c", "d"]}],
    "a: b  # CR LF\r\nc:\r\n- [d,\r\n   e]\r\n": {"a": "b", "c": [["d", "e"]]},
    "a: true\nb: ~\nc: 1.5\nd: 0x1F\ne: 007\nf: yes\n":
        {"a": True, "b": None, "c": 1.5, "d": 31, "e": "007", "f": "yes"},
}


@pytest.mark.parametrize("text", list(READ))
def test_what_it_reads(text: str) -> None:
    assert check(text) == "read by lines"
    assert same(_read_lines(text), READ[text])


DECLINED = {
    "tab": "a:\tb\n",
    "carriage return on its own": "a: b\rc: d\n",
    "document start": "---\na: b\n",
    "document end": "a: b\n...\n",
    "directive": "%YAML 1.1\n---\na: b\n",
    "anchor and alias": "a: &x b\nc: *x\n",
    "tag": "a: !!str 1\n",
    "literal block scalar": "a: |\n  text\n",
    "folded block scalar": "a: >-\n  text\n",
    "complex key": "? a\n: b\n",
    "plain scalar on two lines": "a: b\n  c\n",
    "quoted scalar on two lines": "a: 'b\n  c'\n",
    "scalar on the next line": "a:\n  b\n",
    "backslash escape": 'a: "b\\tc"\n',
    "mapping in a value": "a: b: c\n",
    "comment in a flow collection": "a: [b, #c\n  d]\n",
    "flow collection left open": "a: [b, c\n",
    "flow collection not indented": "a: [b,\nc]\n",
    "key not simple": "[a]: b\n",
    "key with a space": "a b: c\n",
    "key given twice": "a: 1\na: 2\n",
    "key given twice in a flow mapping": "a: {b: 1, b: 2}\n",
    "unexpected indentation": "a:\n  b: 1\n c: 2\n",
    "sequence under a scalar": "a: 1\n- b\n",
    "deeper line after a key at a slot's column": "a:\nb: 1\n  c: 2\n",
    "scalar document": "just text\n",
    "empty document": "# nothing\n",
    "long key": "k" * 200 + ": v\n",
    "nested sequence on one line": "- - a\n",
}


@pytest.mark.parametrize("text", list(DECLINED.values()), ids=list(DECLINED))
def test_what_it_leaves_to_the_event_reader(text: str) -> None:
    with pytest.raises(Unsupported):
        _read_lines(text)
    check(text)


def test_nesting_past_the_limit_is_reported_by_the_event_reader(tmp_path: Path) -> None:
    deep = "".join(f"{'  ' * k}a:\n" for k in range(MAX_DEPTH + 1)) + "  " * (MAX_DEPTH + 1) + "b: 1\n"
    with pytest.raises(Unsupported):
        _read_lines(deep)
    path = tmp_path / "deep.yaml"
    path.write_text(deep, encoding="utf-8")
    source, problems = read_file(path, parser="pyyaml")
    assert source is None
    assert [(p.line, p.message) for p in problems] == [
        (MAX_DEPTH + 1, f"nested more than {MAX_DEPTH} levels deep; an inventory needs six")]


@pytest.mark.parametrize("but, space", [("", False), ("", True), (":", False), ("'", True), ('"\\', True),
                                        ("-?:,[]{}#&*!|>'\"%@`", False), (",[]{}:#", False)])
def test_character_classes_are_what_libyaml_prints(but: str, space: bool) -> None:
    """`_chars` is written as what it excludes (compiled a hundred times faster than its wide
    ranges): the same characters as libyaml's printable set on a line, less tab, line breaks,
    the byte-order mark, the space unless asked and the characters in `but`."""
    from flowaudit.inventory.blockread import _chars

    def printable(c: int) -> bool:  # libyaml's, less the line breaks and the tab
        return (0x20 <= c <= 0x7E or 0xA0 <= c <= 0xD7FF or 0xE000 <= c <= 0xFFFD or c >= 0x10000) \
            and c not in (0x2028, 0x2029, 0xFEFF)

    points = [*range(0x3000), *range(0xD700, 0xE100), *range(0xFE00, 0x10100), 0x10FFFF]
    pattern = re.compile(_chars(but, space))
    for c in points:
        expected = printable(c) and chr(c) not in but and (space or c != 0x20)
        assert bool(pattern.fullmatch(chr(c))) == expected, hex(c)


def test_a_file_written_in_flow_style_goes_to_libyaml_early() -> None:
    """Flow collections are read a token at a time, slower than libyaml's events: a file of
    `- {id: ..., name: ...}` entries is declined within its first few thousand lines (the
    200,000-element shape took twice as long through the line reader), while a block file's
    short lists (`elements: [email, full-name]`) stay on the line path."""
    from flowaudit.inventory import blockread

    entries = "".join(f"- {{id: e-{i:06d}, name: Element {i}, category: contact, subjects: [s-{i % 7}]}}\n"
                      for i in range(20_000))
    text = "elements:\n" + entries
    calls = 0
    real = blockread._FLOW_TOKEN.match

    def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    with mock.patch.object(blockread, "_FLOW_TOKEN", mock.Mock(match=counting)), pytest.raises(Unsupported):
        _read_lines(text)
    assert calls <= blockread._FLOW_TOKENS_FREE + 100  # declined early, not at the end
    assert _read_fast(text)["elements"][19_999]["id"] == "e-019999"
    block = "".join(f"- id: e-{i:06d}\n  name: Element {i}\n  subjects: [s-{i % 7}, t]\n" for i in range(20_000))
    assert len(_read_lines("elements:\n" + block)["elements"]) == 20_000


# -- (d) where the `id:` lines are, noted while reading: what `SourceFile.id_line`'s scan finds

def id_lines_outcome(text: str) -> str:
    """The reader's `IdLines` for `text` against the scan of `SourceFile.id_line`: equal whenever
    the reader says they are complete."""
    ids = IdLines()
    try:
        _read_lines(text, ids)
    except (Unsupported, TooDeep):
        return "declined"
    if not ids.complete:
        return "incomplete"
    scanned = SourceFile(Path("x.yaml"), "x.yaml", text)
    scanned.id_line("")
    assert ids.lines == scanned._id_lines, text
    return "complete"


ID_LINES = {  # text -> whether the reader's notes stand for the scan
    "organisations:\n- id: a\n  name: A\n- id: b\n  id2: x\n": True,
    "flows:\n  - id: 'a'\n  - id: \"b\"  # quoted\n  -   id: c\n": True,
    "x:\n  id: a\n  y:\n    id: b\n- id: a\n": False,  # not YAML the reader takes: declined
    "a:\n- id: x\n- id: x\n": True,  # the first line of an id given twice
    "# valid: no\na:\n- id: x\n": False,  # an `id:` in a comment
    "a:\n- xid: x\n  id: y\n": False,  # in another key
    "a:\n- 'id': x\n": True,  # a quoted key: no `id:` in the text, and none found
    "a:\n- id: Foo\n": False,  # not an id: the scan skips it
    "a:\n- id: 1.5\n": False,  # a number to the reader, an id to the scan
    "a:\n- {id: x}\n- id: y\n": True,  # an entry written as a flow mapping
    "a:\n- {name: n,id: x, b: [c]}\n": True,
    "a:\n- {id: x, paid: b}\n": False,  # another `id:` on its line
    "a:\n- {xid: x}\n": False,
    "a:\n- {id: X}\n": False,
    "a:\n- id: x\n  b: [p,\n     q]\n- id: y\n": False,  # lines read on by a flow collection
    "a: b\n": True,  # no ids at all
}


@pytest.mark.parametrize("text", ID_LINES)
def test_id_lines_noted_while_reading(text: str) -> None:
    outcome = id_lines_outcome(text)
    assert (outcome == "complete") == ID_LINES[text], outcome


def test_id_lines_of_every_source_file_and_of_what_synth_writes(tmp_path: Path) -> None:
    outcomes = [id_lines_outcome(text) for text in sources()]
    assert "complete" in outcomes
    synthesize(tmp_path / "synth", 200, seed=7)
    chain(tmp_path / "chain", 30)
    for file in sorted(tmp_path.rglob("*.yaml")):
        text = file.read_text(encoding="utf-8")
        assert id_lines_outcome(text) == "complete", file
        source, _ = read_file(file, parser="pyyaml")  # the loader keeps them: no scan later
        assert source is not None and source._id_lines is not None, file


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=damaged())
def test_id_lines_of_damaged_files(text: str) -> None:
    event(id_lines_outcome(text))
