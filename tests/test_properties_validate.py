"""Property tests of loading and validation (hypothesis).

- Random valid inventories (small id pools, every reference resolving, flows acyclic per
  element), dumped to YAML over one to three files, load and validate, with either YAML reader.
- Random corruptions of them (a required key deleted, a reference renamed to an unknown id, an
  id duplicated, an enum value garbled, a value of the wrong type, random bytes inserted, the
  text truncated, an anchor and alias added) never raise anything but `InventoryError`, and
  every problem in it names a file and says something.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from conftest import write_tree
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flowaudit.inventory import Inventory, InventoryError, load_inventory, loader

SETTINGS = settings(max_examples=90, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COUNTRIES = ["DE", "FR", "IE", "NO", "US", "GB", "CN", "JP", "IN", "BR", "CH", "CA"]
REGIONS = ["EEA", "EU", "WORLD"]
RELATIONS = ["affiliate", "processor", "sub-processor", "joint-controller", "partner", "third-party", "authority"]
CATEGORIES = ["identity", "government-id", "contact", "account", "credentials", "online-identifier", "device",
              "location", "behavioural", "content", "demographic", "professional", "financial", "criminal",
              "special:health", "special:biometric", "special:religious"]
BASES = ["consent", "contract", "legal-obligation", "vital-interests", "public-task", "legitimate-interests"]
CONDITIONS = ["explicit-consent", "employment", "legal-claims", "health-care", "archiving-research"]
STATES = ["identified", "pseudonymised", "anonymised"]
RETENTIONS = ["P3Y", "P90D", "P1Y6M", "PT12H", "P2W", "until-account-deletion", "until-purpose-fulfilled",
              "statutory"]
MECHANISMS = ["adequacy", "scc", "bcr", "explicit-consent", "contract-necessity", "idta", "uk-addendum",
              "pipl-standard-contract", "certification"]
RULES = ["TRF-001", "MIN-002", "PUR-003", "TPX-004", "GOV-001"]
ENUM_FIELDS = {  # section -> fields holding an enum value
    "organisations": ["relation"], "elements": ["category", "state", "identifier"],
    "purposes": ["legal_basis", "special_condition", "needs", "role"], "flows": ["frequency"],
}
REQUIRED = {
    "organisations": ["id", "name", "country", "relation"], "subjects": ["id", "name"],
    "elements": ["id", "name", "category"], "purposes": ["id", "name"], "systems": ["id", "name", "operator"],
    "flows": ["id", "from", "to"], "waivers": ["rule", "subject", "reason", "approved_by", "expires"],
}
REFERENCES = {  # section -> (field, is a list)
    "organisations": [("subprocessors", True)], "elements": [("subjects", True)],
    "purposes": [("elements", True), ("subjects", True), ("compatible_with", True), ("on_behalf_of", False)],
    "systems": [("operator", False), ("elements", True)],
    "flows": [("from", False), ("to", False), ("elements", True), ("purposes", True)],
}
ID_SECTIONS = ["organisations", "subjects", "elements", "purposes", "systems", "flows"]

# ids: the inventory's syntax, short, so that pools collide and suggestions have work to do
ids = st.from_regex(r"\A[a-z0-9][a-z0-9._-]{0,9}\Z")
# free text, and strings that YAML 1.1 and 1.2 read differently when left unquoted
TRICKY = ["no", "Yes", "on", "off", "y", "1e3", "+.5", "0o17", "007", "1_000", "1:20", "2024-01-01", "=", "~", "<<",
          "NULL", ".inf", "0x1F", "true"]
names = st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd", "Po")), min_size=1,
                max_size=24).map(str.strip).filter(bool) | st.sampled_from(TRICKY)
dates = st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31))


def subset(draw: st.DrawFn, pool: list[str], max_size: int = 3) -> list[str]:
    if not pool:
        return []
    return draw(st.lists(st.sampled_from(pool), max_size=max_size, unique=True))


def maybe(draw: st.DrawFn, entry: dict[str, Any], key: str, strategy: st.SearchStrategy[Any]) -> None:
    if draw(st.booleans()):
        entry[key] = draw(strategy)


@st.composite
def inventories(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """A valid inventory as Python data: exactly one `self`, every reference resolving, and
    flows following a random order of the nodes (so no element can flow in a circle)."""
    n = {"organisations": draw(st.integers(1, 4)), "subjects": draw(st.integers(1, 3)),
         "elements": draw(st.integers(1, 5)), "purposes": draw(st.integers(0, 3)),
         "systems": draw(st.integers(1, 4)), "flows": draw(st.integers(0, 8))}
    pool: list[str] = []
    for i, candidate in enumerate(draw(st.lists(ids, min_size=sum(n.values()), max_size=sum(n.values())))):
        while candidate in pool:  # unique across the inventory, without rejecting draws
            candidate += f"-{i}"
        pool.append(candidate)
    taken = iter(pool)
    id_of = {section: [next(taken) for _ in range(count)] for section, count in n.items()}
    orgs, subjects, elements = id_of["organisations"], id_of["subjects"], id_of["elements"]
    purposes, systems = id_of["purposes"], id_of["systems"]

    inv: dict[str, list[dict[str, Any]]] = {s: [] for s in (*ID_SECTIONS, "waivers")}
    for i, oid in enumerate(orgs):
        org: dict[str, Any] = {"id": oid, "name": draw(names), "country": draw(st.sampled_from(COUNTRIES)),
                               "relation": "self" if i == 0 else draw(st.sampled_from(RELATIONS))}
        maybe(draw, org, "contact", names)
        maybe(draw, org, "dpo", st.fixed_dictionaries({"name": names}, optional={"email": names}))
        maybe(draw, org, "representative", st.fixed_dictionaries({"name": names,
                                                                  "country": st.sampled_from(COUNTRIES)}))
        maybe(draw, org, "dpa", st.fixed_dictionaries({"signed": dates}))
        maybe(draw, org, "subprocessors", st.just(subset(draw, orgs[1:])))
        maybe(draw, org, "certifications", st.lists(st.sampled_from(["eu-us-dpf", "apec-cbpr"]), unique=True))
        maybe(draw, org, "bcr_group", names)
        maybe(draw, org, "public_body", st.booleans())
        inv["organisations"].append(org)
    for sid in subjects:
        subject: dict[str, Any] = {"id": sid, "name": draw(names)}
        maybe(draw, subject, "locations", st.lists(st.sampled_from(COUNTRIES + REGIONS), unique=True, max_size=3))
        maybe(draw, subject, "children", st.booleans())
        maybe(draw, subject, "count", st.integers(0, 10**7))
        inv["subjects"].append(subject)
    for eid in elements:
        element: dict[str, Any] = {"id": eid, "name": draw(names), "category": draw(st.sampled_from(CATEGORIES)),
                                   "subjects": subset(draw, subjects)}
        maybe(draw, element, "identifier", st.sampled_from(["direct", "quasi", "none"]))
        maybe(draw, element, "state", st.sampled_from(STATES))
        inv["elements"].append(element)
    for pid in purposes:
        purpose: dict[str, Any] = {"id": pid, "name": draw(names), "elements": subset(draw, elements),
                                   "subjects": subset(draw, subjects)}
        maybe(draw, purpose, "legal_basis", st.sampled_from(BASES))
        maybe(draw, purpose, "special_condition", st.sampled_from(CONDITIONS))
        maybe(draw, purpose, "retention", st.sampled_from(RETENTIONS))
        maybe(draw, purpose, "needs", st.sampled_from(STATES))
        maybe(draw, purpose, "profiling", st.booleans())
        maybe(draw, purpose, "compatible_with", st.just(subset(draw, [p for p in purposes if p != pid])))
        maybe(draw, purpose, "dpia", st.fixed_dictionaries({"date": dates}))
        if draw(st.booleans()):
            purpose["role"] = "processor"
            purpose["on_behalf_of"] = draw(st.sampled_from(orgs))
        inv["purposes"].append(purpose)
    for yid in systems:
        system: dict[str, Any] = {"id": yid, "name": draw(names), "operator": draw(st.sampled_from(orgs)),
                                  "elements": subset(draw, elements)}
        maybe(draw, system, "locations", st.lists(st.sampled_from(COUNTRIES), unique=True, min_size=1, max_size=2))
        maybe(draw, system, "security", st.lists(st.sampled_from(["tls", "encryption-at-rest", "logging"]),
                                                 unique=True))
        inv["systems"].append(system)

    # flows go forward in a random order of the nodes; subjects only ever start one
    order = draw(st.permutations(subjects + systems + orgs))
    rank = {node: i for i, node in enumerate(order)}
    targets = systems + orgs
    for fid in id_of["flows"]:
        source = draw(st.sampled_from(order))
        later = [t for t in targets if rank[t] > rank[source]]
        flow: dict[str, Any] = {"id": fid, "from": source}
        if later:
            flow["to"] = draw(st.sampled_from(later))
            flow["elements"] = subset(draw, elements)
        else:  # a step back carries no element, so no element flows in a circle
            flow["to"] = draw(st.sampled_from([t for t in targets if t != source]))
            flow["elements"] = []
        flow["purposes"] = subset(draw, purposes)
        maybe(draw, flow, "frequency", st.sampled_from(["continuous", "periodic", "occasional"]))
        maybe(draw, flow, "volume", st.integers(0, 10**6))
        if draw(st.booleans()):
            transfer: dict[str, Any] = {"mechanism": draw(st.sampled_from(MECHANISMS))}
            maybe(draw, transfer, "scc", st.fixed_dictionaries(
                {}, optional={"module": st.sampled_from(["c2c", "c2p", "p2p", "p2c"]),
                              "version": st.sampled_from([2021, 2010]), "signed": dates}))
            maybe(draw, transfer, "tia", st.fixed_dictionaries(
                {"date": dates}, optional={"outcome": st.sampled_from(["acceptable", "measures-required"])}))
            maybe(draw, transfer, "measures", st.lists(st.sampled_from(["encryption-in-transit",
                                                                         "pseudonymisation"]), unique=True))
            maybe(draw, transfer, "anonymised", st.booleans())
            flow["transfer"] = transfer
        inv["flows"].append(flow)
    for _ in range(draw(st.integers(0, 2))):
        inv["waivers"].append({"rule": draw(st.sampled_from(RULES)), "subject": draw(st.sampled_from(pool)),
                               "reason": draw(names), "approved_by": draw(names), "expires": draw(dates)})
    for entries in inv.values():  # `source` and `notes` may go on any entry
        for entry in entries:
            maybe(draw, entry, "source", names)
    return {section: entries for section, entries in inv.items() if entries}


# --- writing YAML -----------------------------------------------------------------------------

_NOT_PLAIN = re.compile(r"[-+.0-9~]|(?:true|false|null|yes|no|on|off|y|n)$", re.IGNORECASE)


class _Dumper(yaml.SafeDumper):
    """Quotes every string that a YAML 1.1 or 1.2 reader could take for something else, as a
    careful author would; anything else stays plain."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "'" if _NOT_PLAIN.match(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


@st.composite
def layouts(draw: st.DrawFn, inv: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """The inventory split over one to three files (one below a subfolder); a section may be split."""
    files = ["inventory.yaml", "team-b.yaml", "teams/c.yml"][: draw(st.integers(1, 3))]
    out: dict[str, dict[str, Any]] = {f: {} for f in files}
    for section, entries in inv.items():
        for entry in entries:
            out[draw(st.sampled_from(files))].setdefault(section, []).append(entry)
    return out


write = write_tree


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="flowaudit-prop-") as name:
        yield Path(name)


READERS = ("fast", "pyyaml")


def load_with(reader: str, path: Path) -> Inventory:
    if reader == "pyyaml":
        with mock.patch.object(loader, "_ryaml", None):
            return load_inventory(path)
    return load_inventory(path)


def outcome(path: Path) -> dict[str, InventoryError | Inventory]:
    """Load with each reader; anything but InventoryError propagates (and fails the test)."""
    results: dict[str, InventoryError | Inventory] = {}
    for reader in READERS:
        try:
            results[reader] = load_with(reader, path)
        except InventoryError as exc:
            results[reader] = exc
    return results


def check_clean(error: InventoryError) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.file, problem
        assert problem.message.strip(), problem
        assert "Traceback" not in problem.message


# --- properties -------------------------------------------------------------------------------

@SETTINGS
@given(data=st.data(), inv=inventories())
def test_valid_inventories_load(data: st.DataObject, inv: dict[str, list[dict[str, Any]]]) -> None:
    files = data.draw(layouts(inv))
    with folder() as root:
        write(root, {name: dump(doc) for name, doc in files.items()})
        for reader, result in outcome(root).items():
            assert isinstance(result, Inventory), f"{reader}: {result}"
            assert set(result.flows) == {f["id"] for f in inv.get("flows", [])}
            assert set(result.organisations) == {o["id"] for o in inv["organisations"]}
            assert result.controller.id == inv["organisations"][0]["id"]
            assert len(result.waivers) == len(inv.get("waivers", []))
            for system in result.systems.values():
                assert system.locations  # defaulted from the operator


def _entries(inv: dict[str, list[dict[str, Any]]], sections: list[str] | None = None) -> list[tuple[str, int]]:
    return [(s, i) for s, entries in inv.items() if sections is None or s in sections for i in range(len(entries))]


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """A valid inventory and one change that makes it invalid, applied to its data."""
    inv = draw(inventories())
    all_ids = [e["id"] for s in ID_SECTIONS for e in inv.get(s, [])]
    kinds = ["delete-required", "wrong-type", "unknown-reference", "duplicate-id", "garbage-enum"]
    kind = draw(st.sampled_from(kinds))
    if kind == "delete-required":
        section, i = draw(st.sampled_from(_entries(inv)))
        del inv[section][i][draw(st.sampled_from(REQUIRED[section]))]
    elif kind == "wrong-type":
        section, i = draw(st.sampled_from(_entries(inv)))
        entry = inv[section][i]
        key = draw(st.sampled_from(sorted(entry)))
        entry[key] = draw(st.sampled_from([{"zz-unknown": [1]}, [{"zz": None}]])) if key not in (
            "subjects", "elements", "purposes", "subprocessors", "compatible_with", "locations", "security",
            "certifications") else {"zz-unknown": 1}
    elif kind == "unknown-reference":
        candidates = [(s, i, f, many) for s, i in _entries(inv, list(REFERENCES)) for f, many in REFERENCES[s]
                      if inv[s][i].get(f)]
        if not candidates:  # every inventory has a system with an operator
            candidates = [("systems", 0, "operator", False)]
        section, i, key, many = draw(st.sampled_from(candidates))
        unknown = draw(ids.filter(lambda x: x not in all_ids))
        if many:
            inv[section][i][key][draw(st.integers(0, len(inv[section][i][key]) - 1))] = unknown
        else:
            inv[section][i][key] = unknown
    elif kind == "duplicate-id":
        section, i = draw(st.sampled_from(_entries(inv, ID_SECTIONS)))
        other = draw(st.sampled_from([x for x in all_ids if x != inv[section][i]["id"]] or all_ids))
        if other == inv[section][i]["id"]:  # a single-entry inventory: copy the entry instead
            inv[section].append(dict(inv[section][i]))
        else:
            inv[section][i]["id"] = other
    else:
        candidates = [(s, i, f) for s, i in _entries(inv, list(ENUM_FIELDS)) for f in ENUM_FIELDS[s]
                      if f in inv[s][i]]
        if not candidates:
            candidates = [("organisations", 0, "relation")]
        section, i, key = draw(st.sampled_from(candidates))
        inv[section][i][key] = draw(st.text(string.ascii_lowercase + "-:", min_size=1, max_size=12).filter(
            lambda v: v not in ("self", "processor") and not _NOT_PLAIN.match(v)) | st.integers(100, 999))
    return kind, inv


@SETTINGS
@given(data=st.data(), case=corrupted())
def test_corrupted_inventories_give_a_clean_error(data: st.DataObject,
                                                  case: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    kind, inv = case
    files = data.draw(layouts(inv))
    with folder() as root:
        write(root, {name: dump(doc) for name, doc in files.items()})
        for reader, result in outcome(root).items():
            assert isinstance(result, InventoryError), f"{reader}: {kind} was accepted"
            check_clean(result)
            # a change to the data (not to the YAML) is always located on a line
            assert all(p.line is not None for p in result.problems), f"{reader}: {result}"


@st.composite
def text_damage(draw: st.DrawFn, text: str) -> str | bytes:
    """The YAML text, damaged: bytes inserted, cut short, or an anchor and alias added."""
    kind = draw(st.sampled_from(["insert", "truncate", "alias", "replace-line", "unquote"]))
    data = text.encode("utf-8")
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
            [b"\t", b"\x00", b"\xff", b": ", b"- ", b"[", b"{", b"]", b"&a ", b"*a", b"!!int ", b"'", b'"', b"#",
             b"\n  ", b"\n---\n", b"%YAML 1.1\n", b"? ", b"<<: "]))
        return data[:at] + junk + data[at:]
    if kind == "truncate":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "unquote":  # what an author writes: `name: no`, `name: 1e3`, `notes: 2024-01-01`
        quoted = list(re.finditer(r"'([^'\n]*)'", text))
        if quoted:
            m = draw(st.sampled_from(quoted))
            return text[: m.start()] + m.group(1) + text[m.end():]
        return text.replace("name: ", "name: no #", 1)
    lines = text.splitlines(keepends=True)
    if kind == "replace-line":
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        lines[i:i + 1] = [draw(st.sampled_from(["  - *x\n", "x: &x [1]\n", "    name: [\n", "  -\tid: q\n",
                                                 "   id: x\n", "flows: {\n", "waivers: 3\n"]))]
        return "".join(lines)
    # an anchor on the first value of a list entry and an alias to it further down
    keyed = [i for i, line in enumerate(lines) if re.match(r"^  - \w+: \S", line)]
    if len(keyed) < 2:
        return text + "extra: &anchor [a]\nmore: *anchor\n"
    first, second = sorted(draw(st.lists(st.sampled_from(keyed), min_size=2, max_size=2, unique=True)))
    lines[first] = re.sub(r"^(  - \w+: )", r"\1&anchor ", lines[first])
    lines[second] = re.sub(r"^(  - \w+: ).*$", r"\1*anchor", lines[second])
    return "".join(lines)


@SETTINGS
@given(data=st.data(), inv=inventories())
def test_damaged_yaml_gives_a_clean_error_and_the_same_verdict_with_both_readers(
        data: st.DataObject, inv: dict[str, list[dict[str, Any]]]) -> None:
    """Damaged text never raises anything but InventoryError; and a file means the same whichever
    reader takes it: ryaml (YAML 1.2) for most files, PyYAML for those with anchors or tags, or
    when FLOWAUDIT_YAML=pyyaml."""
    files = {name: dump(doc) for name, doc in data.draw(layouts(inv)).items()}
    victim = data.draw(st.sampled_from(sorted(files)))
    damaged = {**files, victim: data.draw(text_damage(files[victim]))}
    with folder() as root:
        write(root, damaged)
        results = outcome(root)
        for result in results.values():
            event(type(result).__name__)
            if isinstance(result, InventoryError):
                check_clean(result)
        verdicts = {reader: type(result).__name__ for reader, result in results.items()}
        assert len(set(verdicts.values())) == 1, f"{verdicts}: {results}"


number_like = (st.sampled_from(TRICKY)
               | st.text(alphabet="0123456789+-.eExXoOb_:~", min_size=1, max_size=7)
               | st.from_regex(r"\A[-+]?(?:[0-9]{0,3}\.?[0-9]{0,3})(?:[eE][-+]?[0-9]{1,2})?\Z"))


@settings(max_examples=200, deadline=None)
@given(value=number_like)
def test_a_plain_scalar_means_the_same_to_both_readers(value: str) -> None:
    """`name: 1e3` is a number, `name: 007` a string, whichever reader takes the file."""
    with folder() as root:
        path = root / "x.yaml"
        path.write_text(f"subjects:\n  - id: s\n    name: {value}\n", encoding="utf-8")
        fast, fast_problems = loader.read_file(path)
        with mock.patch.object(loader, "_ryaml", None):
            slow, slow_problems = loader.read_file(path)
    if fast is None or slow is None:  # not YAML at all (`- ` in flow context...): both refuse it
        assert fast is None and slow is None and fast_problems and slow_problems
        return
    a, b = fast.document["subjects"][0]["name"], slow.document["subjects"][0]["name"]
    assert (type(a), repr(a)) == (type(b), repr(b)), value  # repr: nan equals nan
