"""From parsed files to a checked `Inventory`: shapes (pydantic), then references and ids.

Every problem is collected with its file, line, column and field before anything raises, so
a user fixes a broken inventory in one pass.
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Any, NamedTuple

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from .errors import InventoryError, Problem
from .loader import SourceFile, _type_name
from .models import (
    KIND_OF_SECTION,
    MAX_ID_LENGTH,
    MAX_INT,
    SECTIONS,
    Element,
    Entry,
    Flow,
    Organisation,
    Purpose,
    Relation,
    Subject,
    System,
    Waiver,
)

_ADAPTERS = {name: TypeAdapter(list[model]) for name, model in SECTIONS.items()}  # type: ignore[valid-type]
_ID = attrgetter("id")
_BATCH = 2000  # entries checked at a time (`InventoryBuilder._validated`)


class Origin(NamedTuple):
    """Where an entry was written: its file and its position in that file's section list (one
    per entry: a tuple, which `InventoryBuilder.add` makes at C speed for a whole section)."""

    source: SourceFile
    section: str
    index: int  # type: ignore[assignment]  # the field, as it reads, not tuple.index (not used)


@dataclass
class Inventory:
    """All entries, checked: every reference resolves and every id is unique."""

    sources: list[SourceFile]
    organisations: dict[str, Organisation] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)
    elements: dict[str, Element] = field(default_factory=dict)
    purposes: dict[str, Purpose] = field(default_factory=dict)
    systems: dict[str, System] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    waivers: list[Waiver] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    waiver_origins: list[Origin] = field(default_factory=list)

    @property
    def controller(self) -> Organisation:
        """The `self` organisation (exactly one, checked)."""
        return next(o for o in self.organisations.values() if o.relation is Relation.SELF)

    def kind_of(self, entry_id: str) -> str | None:
        """organisation, subject, element, purpose, system or flow; None when unknown."""
        origin = self.origins.get(entry_id)
        return KIND_OF_SECTION[origin.section] if origin else None

    def entry(self, entry_id: str) -> Entry | None:
        for table in (self.flows, self.systems, self.elements, self.purposes, self.subjects, self.organisations):
            found = table.get(entry_id)
            if found is not None:
                return found
        return None

    def location(self, entry_id: str) -> tuple[str, int | None] | None:
        """(file, line) of an entry, looked up lazily for the entries something reports; the file
        relative to the inventory's root, as every output names it (SPEC §5)."""
        origin = self.origins.get(entry_id)
        if origin is None:
            return None
        line = origin.source.id_line(entry_id)
        if line is None:
            line, _ = origin.source.locate((origin.section, origin.index))
        return origin.source.relpath, line

    def waiver_location(self, index: int) -> tuple[str, int | None]:
        origin = self.waiver_origins[index]
        line, _ = origin.source.locate((origin.section, origin.index))
        return origin.source.relpath, line


def suggest(value: str, candidates: Iterable[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    if not isinstance(value, str):
        return ""
    pool = list(candidates)
    if len(pool) > 20000:  # difflib is quadratic-ish; keep error reporting fast on huge inventories
        pool = [c for c in pool if c[:1] == value[:1]]
    match = difflib.get_close_matches(value, pool, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60


def _found(value: Any) -> str:
    """What was written instead, short and safe to print (a value may be huge or deeply nested)."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML writes it
    return f"a {_type_name(value)}" if isinstance(value, (dict, list)) else _short.repr(value)


_INTEGER_TEXT = re.compile(r"[-+]?(?:0|[1-9][0-9]*|0x[0-9a-fA-F]+|0o[0-7]+|0b[01]+)")
_FLOAT_TEXT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")


def _wrong_type(kind: str, given: Any) -> str:
    """The message for a value of the wrong type (SPEC §7: no lax coercion), with what to write."""
    found = _found(given)
    if kind.startswith("int_"):
        if isinstance(given, bool):
            hint = " (a boolean)"
        elif isinstance(given, float):
            hint = " (a fraction; write a whole number such as 1000)"
        elif isinstance(given, str) and _INTEGER_TEXT.fullmatch(given.strip()):
            hint = (f" (out of range: at most {MAX_INT})" if abs(int(given.strip(), 0)) > MAX_INT
                    else " (a string: write the number without quotes)")
        elif isinstance(given, str) and _FLOAT_TEXT.fullmatch(given.strip()):
            hint = f" (out of range: at most {MAX_INT})"  # 1e400: past a double, kept as written
        else:
            hint = ""
        return f"expected an integer, found {found}{hint}"
    if kind.startswith("bool_"):
        hint = " (a string: write true or false without quotes)" if isinstance(given, str) else ""
        return f"expected a boolean (true or false), found {found}{hint}"
    # string_type: a number or boolean where text is expected
    hint = f" (quote it: '{found}')" if isinstance(given, (bool, int, float)) else ""
    return f"expected a string, found {found}{hint}"


def _field_name(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for step in loc:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)


def _pydantic_problem(source: SourceFile, section: str, err: ErrorDetails, raw: list[Any]) -> Problem:
    loc = tuple(err["loc"])
    index, rest = loc[0], loc[1:]
    # pydantic puts validator names such as 'function-after[...]' in some locations: drop them
    rest = tuple(s for s in rest if not (isinstance(s, str) and "[" in s and s.endswith("]")))
    kind, message = err["type"], err["msg"]
    if kind == "duplicate_item":  # point at the repeated item, not at its list
        rest = (*rest, err.get("ctx", {}).get("index", 0))
    path: tuple[Any, ...] = (section, index, *rest)
    line, col = source.locate(path)
    entry = raw[index] if isinstance(index, int) and index < len(raw) else None
    entry_id = entry.get("id") if isinstance(entry, dict) else None
    prefix = f"{KIND_OF_SECTION[section]} {entry_id!r}: " if isinstance(entry_id, str) else ""
    field_name = _field_name(rest) if rest else f"{section}[{index}]"
    given = err.get("input")
    if kind in ("extra_forbidden", "invalid_key"):  # invalid_key: a key that is not even a string
        known = _known_keys(SECTIONS[section], rest[:-1])
        field_name = (_field_name(rest[:-1]) + "." if rest[:-1] else "") + str(rest[-1])
        message = f"unknown key {rest[-1]!r}{suggest(str(rest[-1]), known)}; expected one of: {', '.join(known)}"
    elif kind == "missing":
        message = "required field is missing"
    elif kind in ("enum", "literal_error"):
        expected = err.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        hint = suggest(str(given), options) if isinstance(given, (str, int, float)) else ""
        message = f"{_found(given)} is not allowed{hint}; expected {expected}"
    elif kind == "string_pattern_mismatch":
        message = (f"{_found(given)} is not a valid id (lower-case letters, digits, '.', '_', '-', "
                   "starting with a letter or digit)")
    elif kind in ("int_type", "int_parsing", "int_from_float", "bool_type", "bool_parsing", "string_type"):
        message = _wrong_type(kind, given)
    elif kind == "string_too_long":
        message = (f"{_found(given)} is {len(given):,} characters long; an id has at most {MAX_ID_LENGTH}"
                   if isinstance(given, str) else message)
    elif kind in ("duplicate_item", "blank"):
        pass  # the models' own words
    elif kind == "model_type" or kind == "dict_type":
        message = f"expected a mapping, found {_found(given)}"
    elif kind == "list_type":
        message = f"expected a list, found {_found(given)}"
    elif kind.startswith(("date_", "datetime_")):
        message = f"{_found(given)} is not a date; expected YYYY-MM-DD"
    else:
        message = message.removeprefix("Value error, ")
        if given is None or isinstance(given, (dict, list)) or repr(given) not in message:
            message = f"{message} (found {_found(given)})"
    return Problem(source.display, line, col, field_name, prefix + message)


def _is_tag(step: Any) -> bool:
    """A union member's tag in an error location ('str-enum[Mechanism]', 'list[Representative]')."""
    return isinstance(step, str) and "[" in step and step.endswith("]")


def _one_branch(errors: list[ErrorDetails], raw: list[Any]) -> list[ErrorDetails]:
    """For a field that takes one value or a list (`mechanism: scc` or `[scc, uk-addendum]`),
    the errors of the form that was written: a list is checked as a list, so `[scc, scc]` is one
    duplicate, not also "a list is not allowed"; a single value as a single value."""
    kept: list[ErrorDetails] = []
    for err in errors:
        loc = tuple(err["loc"])
        at = next((k for k, step in enumerate(loc) if _is_tag(step)), None)
        if at is None:
            kept.append(err)
            continue
        value: Any = raw
        for step in loc[:at]:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        as_list = "list[" in str(loc[at])
        if as_list == isinstance(value, list):
            kept.append(err)
    return kept or errors


def _known_keys(model: type, nested: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for step in nested:
        if isinstance(step, int):
            continue
        info = current.model_fields.get(step) if hasattr(current, "model_fields") else None
        if info is None:
            return []
        annotation = info.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if hasattr(candidate, "model_fields"):
                current = candidate
                break
            for inner in getattr(candidate, "__args__", ()):
                if hasattr(inner, "model_fields"):
                    current = inner
                    break
    if not hasattr(current, "model_fields"):
        return []
    return [info.alias or name for name, info in current.model_fields.items()]


def build_inventory(sources: list[SourceFile]) -> Inventory:
    """Check shapes, ids and references; raise `InventoryError` listing every problem."""
    builder = InventoryBuilder()
    for source in sources:
        builder.add(source)
    return builder.finish()


class InventoryBuilder:
    """`build_inventory` one file at a time: `add` checks a file's entries (shapes and ids) and
    keeps them; once it returns, nothing reads that file's parsed document again, so a caller
    may drop it (at 1,000,000 flows the documents of every file at once would double the peak
    memory). `finish` checks the references across files and returns the inventory, or raises
    `InventoryError` listing every problem of every file."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.inventory = inv = Inventory([])
        self._tables: dict[str, Any] = {
            "organisations": inv.organisations, "subjects": inv.subjects, "elements": inv.elements,
            "purposes": inv.purposes, "systems": inv.systems, "flows": inv.flows,
        }
        self._broken_ids: set[str] = set()  # entries that failed shape checks: don't cascade into "unknown id"
        self._broken_organisations = False  # nor into "no organisation is self"
        self._home: SourceFile | None = None  # the first file with an organisations section
        self._fields_sets: dict[frozenset[str], frozenset[str]] = {}  # see `Entry._own_fields_set`

    def add(self, source: SourceFile) -> bool:
        """Check the entries of `source` and keep them; True when the file's shape is right
        (every section known, a list, and each entry valid), whatever its ids and references."""
        inv, problems = self.inventory, self.problems
        inv.sources.append(source)
        shape_ok = True
        if self._home is None and "organisations" in source.document:
            self._home = source
        for section, raw in source.document.items():
            if section not in SECTIONS:
                line, col = source.locate((section,))
                problems.append(Problem(source.display, line, col, str(section),
                                        f"unknown section{suggest(str(section), SECTIONS)}; expected one of: "
                                        + ", ".join(SECTIONS)))
                shape_ok = False
                continue
            if raw is None:
                continue
            if not isinstance(raw, list):
                line, col = source.locate((section,))
                problems.append(Problem(source.display, line, col, section,
                                        f"expected a list of entries, found {_found(raw)}"))
                shape_ok = False
                if section == "organisations":
                    self._broken_organisations = True
                continue
            entries: list[Any]
            positions: range | list[int]
            try:
                entries = self._validated(section, raw)
                positions = range(len(entries))
            except ValidationError as exc:
                shape_ok = False
                failed = set()
                for err in _one_branch(exc.errors(), raw):
                    problems.append(_pydantic_problem(source, section, err, raw))
                    failed.add(err["loc"][0])
                self._broken_organisations |= section == "organisations"
                model = SECTIONS[section]
                entries, positions = [], []
                for i, item in enumerate(raw):
                    if i in failed:
                        if isinstance(item, dict) and isinstance(item.get("id"), str):
                            self._broken_ids.add(item["id"])
                        continue
                    entries.append(model.model_validate(item))
                    positions.append(i)
                self._share_fields_sets(entries)
            # an Origin each, made by C code: (source, section, position) as the tuple it is
            places = map(tuple.__new__, repeat(Origin), zip(repeat(source), repeat(section), positions))
            if section == "waivers":
                inv.waivers.extend(entries)  # type: ignore[arg-type]
                inv.waiver_origins.extend(places)
                continue
            table = self._tables[section]
            origins = inv.origins
            ids = list(map(_ID, entries))
            if len(set(ids)) == len(ids) and origins.keys().isdisjoint(ids):  # every id new: in bulk
                origins.update(zip(ids, places, strict=True))
                table.update(zip(ids, entries, strict=True))
                continue
            for entry_id, entry, place in zip(ids, entries, places, strict=True):
                first = origins.get(entry_id)
                if first is not None:
                    line, col = source.locate((section, place.index, "id"))
                    first_file = first.source.display
                    first_line = first.source.locate((first.section, first.index, "id"))[0]
                    problems.append(Problem(source.display, line, col, "id",
                                            f"duplicate id {entry_id!r}: already used by the "
                                            f"{KIND_OF_SECTION[first.section]} at {first_file}:{first_line}"))
                    continue
                origins[entry_id] = place
                table[entry_id] = entry
        return shape_ok

    def _validated(self, section: str, raw: list[Any]) -> list[Any]:
        """The entries of `raw`, checked `_BATCH` at a time: pydantic gives each entry a set of
        the fields it sets (700 bytes), which `_share_fields_sets` replaces by a shared one, so
        the next batch's entries take the memory the last batch's sets leave (fresh memory costs
        the kernel a page fault each 4 KB). An invalid batch: `ValidationError` of the whole
        list, its errors located in it."""
        adapter = _ADAPTERS[section]
        entries: list[Any] = []
        for start in range(0, len(raw), _BATCH):
            try:
                batch = adapter.validate_python(raw[start:start + _BATCH])
            except ValidationError:  # the whole list raises the same errors, each located in it
                entries = adapter.validate_python(raw)
                self._share_fields_sets(entries)
                return entries  # pragma: no cover - a list valid as a whole after an invalid batch
            self._share_fields_sets(batch)
            entries += batch
        return entries

    def _share_fields_sets(self, entries: list[Any]) -> None:
        """One frozen set for the entries that set the same fields (see `Entry._own_fields_set`)."""
        shared = self._fields_sets
        keep = object.__setattr__
        last: dict[int, frozenset[str]] = {}  # by number of fields: the set last shared
        for checked in entries:
            names = checked.__pydantic_fields_set__
            frozen = last.get(len(names))
            if frozen is None or names != frozen:  # most often the entries alike come in turns
                frozen = frozenset(names)
                frozen = last[len(names)] = shared.setdefault(frozen, frozen)
            keep(checked, "__pydantic_fields_set__", frozen)

    def finish(self) -> Inventory:
        """The inventory, once every reference resolves; else `InventoryError` with every problem."""
        inv, problems = self.inventory, self.problems
        problems.extend(_check_references(inv, self._broken_ids, self._broken_organisations, self._home))
        if problems:
            raise InventoryError(problems)
        _apply_defaults(inv)
        return inv


def _check_references(inv: Inventory, broken: set[str], broken_organisations: bool = False,
                      home: SourceFile | None = None) -> list[Problem]:
    problems: list[Problem] = []

    def where(entry_id: str, *path: Any) -> tuple[str, int | None, int | None]:
        origin = inv.origins[entry_id]
        line, col = origin.source.locate((origin.section, origin.index, *path))
        return origin.source.display, line, col

    def check(owner: str, field_name: str, value: str, index: int | None, kinds: tuple[str, ...]) -> None:
        if value in broken:
            return
        kind = inv.kind_of(value)
        if kind in kinds:
            return
        path = (field_name,) if index is None else (field_name, index)
        file, line, col = where(owner, *path)
        wanted = " or ".join(kinds)
        label = field_name if index is None else f"{field_name}[{index}]"
        owner_kind = inv.kind_of(owner)
        if kind is None:
            pool: list[str] = []
            for k in kinds:
                pool.extend(_table(inv, k))
            message = f"{owner_kind} {owner!r}: unknown {wanted} {value!r}{suggest(value, pool)}"
        else:
            article = "an" if kind[0] in "aeiou" else "a"
            wanted_article = "an" if wanted[0] in "aeiou" else "a"
            message = (f"{owner_kind} {owner!r}: {value!r} is {article} {kind}, but {label} must name "
                       f"{wanted_article} {wanted}")
        problems.append(Problem(file, line, col, label, message))

    def check_all(owner: str, field_name: str, values: list[str], kinds: tuple[str, ...]) -> None:
        for i, value in enumerate(values):
            check(owner, field_name, value, i, kinds)

    me = Relation.SELF
    selves = [o for o in inv.organisations.values() if o.relation is me]
    if len(selves) != 1 and not broken_organisations:
        if not selves:
            # point at an organisations section when there is one (`home`), else at the first file
            file, line, col = (home.display, *home.locate(("organisations",))) if home else (
                inv.sources[0].display if inv.sources else "<inventory>", None, None)
            problems.append(Problem(file, line, col, "organisations",
                                    "no organisation has relation: self (the controller); exactly one must"))
        else:
            for org in selves[1:]:
                file, line, col = where(org.id, "relation")
                problems.append(Problem(file, line, col, "relation",
                                        f"organisation {org.id!r}: a second organisation with relation: self "
                                        f"(the first is {selves[0].id!r}); exactly one is allowed"))

    for org in inv.organisations.values():
        if org.subprocessors:
            check_all(org.id, "subprocessors", org.subprocessors, ("organisation",))
    for element in inv.elements.values():
        check_all(element.id, "subjects", element.subjects, ("subject",))
    for purpose in inv.purposes.values():
        check_all(purpose.id, "elements", purpose.elements, ("element",))
        check_all(purpose.id, "subjects", purpose.subjects, ("subject",))
        check_all(purpose.id, "compatible_with", purpose.compatible_with, ("purpose",))
        if purpose.on_behalf_of is not None:
            check(purpose.id, "on_behalf_of", purpose.on_behalf_of, None, ("organisation",))
    for system in inv.systems.values():
        check(system.id, "operator", system.operator, None, ("organisation",))
        check_all(system.id, "elements", system.elements, ("element",))
    endpoint = ("subject", "system", "organisation")
    subjects, systems, organisations = inv.subjects, inv.systems, inv.organisations
    elements, purposes = inv.elements, inv.purposes
    for flow in inv.flows.values():
        # hot loop at 1,000,000 flows: dictionary lookups only; `check` only when something is wrong
        source, target = flow.from_, flow.to
        if source not in systems and source not in organisations and source not in subjects:
            check(flow.id, "from", source, None, endpoint)
        if target not in systems and target not in organisations and target not in subjects:
            check(flow.id, "to", target, None, endpoint)
        elif target == source:
            file, line, col = where(flow.id, "to")
            problems.append(Problem(file, line, col, "to", f"flow {flow.id!r}: goes from {flow.to!r} to itself"))
        elif target in subjects and source in subjects:
            file, line, col = where(flow.id, "to")
            problems.append(Problem(file, line, col, "to", f"flow {flow.id!r}: goes from one data subject "
                                    "category to another; a flow starts or ends at a system or organisation"))
        for value in flow.elements:
            if value not in elements:
                check_all(flow.id, "elements", flow.elements, ("element",))
                break
        for value in flow.purposes:
            if value not in purposes:
                check_all(flow.id, "purposes", flow.purposes, ("purpose",))
                break
    for index, waiver in enumerate(inv.waivers):
        if waiver.subject not in inv.origins and waiver.subject not in broken:
            origin = inv.waiver_origins[index]
            line, col = origin.source.locate((origin.section, origin.index, "subject"))
            problems.append(Problem(origin.source.display, line, col, "subject",
                                    f"waiver of {waiver.rule}: unknown subject {waiver.subject!r}"
                                    f"{suggest(waiver.subject, inv.origins)}"))
    return problems


def _table(inv: Inventory, kind: str) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = {
        "organisation": inv.organisations, "subject": inv.subjects, "element": inv.elements,
        "purpose": inv.purposes, "system": inv.systems, "flow": inv.flows}
    return tables[kind]


def _apply_defaults(inv: Inventory) -> None:
    """Defaults that need another entry: a system is located where its operator is established."""
    for system in inv.systems.values():
        if not system.locations:
            system.locations = [inv.organisations[system.operator].country]
