"""PyYAML's C parser with a lean builder: the default reader's fast path (SPEC §7).

`yaml.load(text, Loader=CSafeLoader)` spends most of its time in Python, not in libyaml: the
composer turns every event into a node (calling back into Python to resolve each one) and the
generic `SafeConstructor` walks the nodes again (a generator per mapping and sequence, a
dispatch per node). libyaml's events alone cost a fraction of that. An inventory file that uses
no tags, anchors or aliases (the loader checks; those go through the full loader) has only
implicit tags, so the document can be built straight from the events: a quoted scalar is a
string, and a plain one that starts with a character no implicit resolver claims is a string
without a regular expression.

The answer is the full loader's own, value for value: the same resolvers decide every other
plain scalar and the same constructors build its value; whatever this path does not handle
exactly (a key given twice, an unhashable key, several documents, an anchor or a tag) raises
`Unsupported`, and the caller reads the file with the full loader, which accepts it or reports
the problem with its line and column. Errors of the YAML syntax itself come from libyaml either
way, so they read the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml import events
from yaml.nodes import ScalarNode

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"


_UNSEEN = object()


class Unsupported(Exception):
    """This document needs the full loader (which then accepts it or reports the problem)."""


class TooDeep(Exception):
    """A collection nested deeper than the reader's limit; `mark` is where it opens."""

    def __init__(self, mark: Any) -> None:
        super().__init__("nested too deeply")
        self.mark = mark


def scalar_rules(loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader]) -> tuple[frozenset[str], Callable[[str], Any]]:
    """How `loader` reads an untagged plain scalar, for a reader that builds documents itself:
    the first characters some implicit resolver claims (a plain scalar starting with any other
    character is a string, without a regular expression), and `plain(text)`, the value the
    loader's own resolvers and constructors give `text`."""
    table = loader.yaml_implicit_resolvers
    if table.get(None) or loader.yaml_path_resolvers:
        raise TypeError("the fast readers assume no wildcard or path resolvers")
    claimed = frozenset(k for k, resolvers in table.items() if k and resolvers)
    helper = loader("")  # resolves and constructs single scalars; keeps no state between calls
    resolve, constructors = helper.resolve, helper.yaml_constructors

    def plain(value: str) -> Any:
        tag = resolve(ScalarNode, value, (True, False))
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        return constructors[tag](helper, ScalarNode(tag, value))

    return claimed, plain


def scalar_readers(claimed: frozenset[str], plain: Callable[[str], Any], strings: dict[str, str] | None = None,
                   ) -> tuple[Callable[[str], Any], Callable[[str], str]]:
    """For one read of a file, (`scalar(text)`: a plain scalar's value, `string(text)`: a quoted
    one's). Each plain text is resolved once however often it recurs (the same dates, versions
    and keys on every entry), and each string is one object per text (the same ids throughout a
    file, which the checked entries keep): both readers build their documents with these. A
    reader that shares strings itself too passes its `strings` (text -> the one object)."""
    if strings is None:
        strings = {}
    share = strings.setdefault
    resolved: dict[str, Any] = {}

    def scalar(text: str) -> Any:
        if text and text[0] not in claimed:  # a string: no resolver claims its first character
            return share(text, text)
        value = resolved.get(text, _UNSEEN)
        if value is _UNSEEN:
            value = resolved[text] = plain(text)
        return value

    def string(text: str) -> str:
        return share(text, text)

    return scalar, string


def make_reader(loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader], max_depth: int) -> Callable[[str], Any]:
    """`read(text)` building the document exactly as `loader` (a CSafeLoader subclass with the
    inventory's resolvers and constructors) would, for a file without tags, anchors or aliases.
    A collection nested more than `max_depth` levels deep raises `TooDeep` where it opens: the
    check costs one comparison per collection, so no file needs a separate pass over its events
    (the builder keeps its own stack, so depth never threatens the interpreter here)."""
    from yaml._yaml import CParser  # libyaml; the loader falls back to PyYAML's own without it

    claimed, plain = scalar_rules(loader)
    scalar, alias = events.ScalarEvent, events.AliasEvent
    map_start, map_end = events.MappingStartEvent, events.MappingEndEvent
    seq_start, seq_end = events.SequenceStartEvent, events.SequenceEndEvent
    doc_start, doc_end = events.DocumentStartEvent, events.DocumentEndEvent

    def read(text: str) -> Any:
        parser = CParser(text)
        try:
            get = parser.get_event
            stack: list[list[Any]] = []
            items: list[Any] = []
            documents = 0
            root = None
            scalar_value, string = scalar_readers(claimed, plain)
            while True:
                event: Any = get()
                if event is None:
                    break
                kind = event.__class__
                if kind is scalar:
                    if event.anchor is not None or event.tag is not None:
                        raise Unsupported
                    items.append(scalar_value(event.value) if event.implicit[0] else string(event.value))
                elif kind is map_start or kind is seq_start:
                    if event.anchor is not None or event.tag is not None:
                        raise Unsupported
                    stack.append(items)
                    if len(stack) > max_depth:
                        raise TooDeep(event.start_mark)
                    items = []
                elif kind is map_end:
                    pairs = items
                    items = stack.pop()
                    try:
                        mapping = dict(zip(pairs[0::2], pairs[1::2], strict=True))
                    except TypeError:  # an unhashable key
                        raise Unsupported from None
                    if 2 * len(mapping) != len(pairs):  # a key given twice
                        raise Unsupported
                    items.append(mapping)
                elif kind is seq_end:
                    sequence = items
                    items = stack.pop()
                    items.append(sequence)
                elif kind is doc_start:
                    documents += 1
                    if documents > 1:  # the full loader says "expected a single document"
                        raise Unsupported
                    items = []
                elif kind is doc_end:
                    root = items[0] if items else None
                elif kind is alias:
                    raise Unsupported
            return root
        except yaml.MarkedYAMLError as exc:
            # newer libyaml stops deep flow nesting itself, its scanner running ahead of the events
            if "nesting depth" in str(exc) and exc.problem_mark is not None:
                raise TooDeep(exc.problem_mark) from None
            raise
        finally:
            parser.dispose()

    return read
