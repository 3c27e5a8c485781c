"""`flowaudit validate` on broken inventories: exit 2, every problem located (file, line, column
where meaningful) and named (field, id), a suggestion where one helps, no traceback, quick, and
nothing written. Also `flowaudit schema`, the JSON Schema editors use.

Every case runs twice: with the fast YAML reader (ryaml, when installed) and with PyYAML only,
the path taken by files with anchors or tags and by FLOWAUDIT_YAML=pyyaml.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from conftest import write_tree

from flowaudit.cli import main
from flowaudit.inventory import InventoryError, load_inventory, loader

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
SECONDS = 5.0  # "within a few seconds" for any one broken inventory

BASE: dict[str, str] = {
    "organisations.yaml": """\
organisations:
  - id: acme
    name: Acme GmbH
    country: DE
    relation: self
    contact: privacy@acme.example
    dpo: {name: Dana Protector, email: dpo@acme.example}
  - id: cloudco
    name: CloudCo Inc.
    country: US
    relation: processor
    dpa: {signed: 2023-05-01}
    certifications: [eu-us-dpf]
""",
    "data.yaml": """\
subjects:
  - id: customers
    name: Customers
    locations: [EEA]
    count: 25000
elements:
  - id: email
    name: Email address
    category: contact
    subjects: [customers]
  - id: order-history
    name: Order history
    category: behavioural
    subjects: [customers]
purposes:
  - id: order-fulfilment
    name: Order fulfilment
    legal_basis: contract
    elements: [email, order-history]
    subjects: [customers]
    retention: P6Y
""",
    "systems.yaml": """\
systems:
  - id: shop-db
    name: Shop database
    operator: acme
    locations: [DE]
    elements: [email, order-history]
    security: [tls, encryption-at-rest, access-control]
  - id: crm
    name: Customer relationship manager
    operator: cloudco
    locations: [US]
    elements: [email]
    security: [tls, access-control]
""",
    "flows.yaml": """\
flows:
  - id: collect-orders
    from: customers
    to: shop-db
    elements: [email, order-history]
    purposes: [order-fulfilment]
  - id: shop-to-crm
    from: shop-db
    to: crm
    elements: [email]
    purposes: [order-fulfilment]
    transfer:
      mechanism: adequacy
""",
}

BILLION_LAUGHS = """\
organisations:
  - id: acme
    name: Acme GmbH
    country: DE
    relation: self
lol: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
lol1: &l1 [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]
lol2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
lol3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
lol4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
lol5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
lol6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]
lol7: &l7 [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]
lol8: &l8 [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]
lol9: &l9 [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
"""

PROBLEM = re.compile(r"^(?P<file>[^:\s]+):(?:(?P<line>\d+):(?:(?P<col>\d+):)?)? (?P<rest>.*)$")


# --- helpers ----------------------------------------------------------------------------------

@pytest.fixture(params=["fast", "pyyaml"], autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with the default reader and with PyYAML only."""
    if request.param == "pyyaml":
        monkeypatch.setattr(loader, "_ryaml", None, raising=False)
        monkeypatch.setenv("FLOWAUDIT_YAML", "pyyaml")  # for subprocesses
    else:
        monkeypatch.delenv("FLOWAUDIT_YAML", raising=False)
    return request.param


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder that is also the working directory, so messages name `inv/flows.yaml`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def mutate(files: dict[str, str], name: str, old: str, new: str) -> dict[str, str]:
    assert files[name].count(old) == 1, f"{old!r} must occur once in {name}"
    return {**files, name: files[name].replace(old, new)}


write = write_tree


def line_of(text: str, needle: str) -> int:
    """1-based line of the first occurrence of `needle` (which may span lines: its first line)."""
    at = text.index(needle)
    return text.count("\n", 0, at) + 1


def col_of(text: str, needle: str) -> int:
    at = text.index(needle)
    return at - (text.rfind("\n", 0, at) + 1) + 1


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def problems(self) -> list[str]:
        """The problem lines (the summary line dropped)."""
        return [line for line in self.stderr.splitlines() if not re.match(r"^\d+ problems?$", line)]

    def at(self, file: str, line: int | None = None, col: int | None = None) -> str:
        """The one problem reported at file[:line[:col]]; fails with the whole output otherwise."""
        found = []
        for text in self.problems:
            m = PROBLEM.match(text)
            if not m or m["file"] != file:
                continue
            if line is not None and m["line"] != str(line):
                continue
            if col is not None and m["col"] != str(col):
                continue
            found.append(text)
        assert found, f"no problem at {file}:{line}:{col} in:\n{self.stderr}"
        return found[0]


def run_cli(*args: str) -> Outcome:
    """`seconds` is CPU time, not the wall clock: the limits guard against a hang or a blow-up,
    and a loaded machine (CI, parallel workers) stretches the wall clock, not the work."""
    started = time.process_time()
    result = CliRunner().invoke(main, list(args))
    seconds = time.process_time() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    return Outcome(result.exit_code, result.stdout, result.stderr, seconds)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(*args: str, cwd: Path) -> Outcome:
    """As run_cli, timed by the child's CPU time (a hang that sleeps ends at the 60 s timeout)."""
    started = _children_cpu()
    done = subprocess.run([sys.executable, "-m", "flowaudit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return Outcome(done.returncode, done.stdout, done.stderr, _children_cpu() - started)


def invalid(work: Path, target: str = "inv", *, process: bool = False) -> Outcome:
    """Validate `target` below `work`, and check what every broken inventory must give."""
    before = snapshot(work)
    out = run_process("validate", target, cwd=work) if process else run_cli("validate", target)
    assert out.code == 2, f"exit {out.code}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stdout + out.stderr
    assert out.stdout == ""
    assert out.problems, out.stderr
    count = len(out.problems)
    assert out.stderr.rstrip().endswith(f"{count} problem{'s' if count != 1 else ''}")
    assert "nothing was written" not in out.stderr  # validate never writes
    for text in out.problems:
        assert PROBLEM.match(text), f"not located: {text!r}"
    assert out.seconds < SECONDS, f"took {out.seconds:.1f} s"
    assert snapshot(work) == before, "validate wrote or changed a file"
    return out


def broken(work: Path, files: dict[str, str | bytes]) -> Outcome:
    write(work / "inv", files)
    return invalid(work)


# --- a valid inventory ------------------------------------------------------------------------

def test_valid_inventory_exits_0(work: Path) -> None:
    write(work / "inv", BASE)
    before = snapshot(work)
    out = run_cli("validate", "inv")
    assert out.code == 0, out.stderr
    assert "valid (2 organisations, 1 subjects, 2 elements, 1 purposes, 2 systems, 2 flows" in out.stdout
    assert out.stderr == ""
    assert snapshot(work) == before


def test_worked_example_is_valid() -> None:
    out = run_cli("validate", str(EXAMPLE))
    assert out.code == 0, out.stderr


def test_a_single_file_inventory_is_valid(work: Path) -> None:
    (work / "all.yaml").write_text("".join(BASE.values()))
    assert run_cli("validate", "all.yaml").code == 0


# --- malformed YAML and bytes -----------------------------------------------------------------

def test_bad_indentation(work: Path) -> None:
    files = mutate(BASE, "organisations.yaml", "    name: Acme GmbH\n", "      name: Acme GmbH\n")
    out = broken(work, files)
    problem = out.at("inv/organisations.yaml", line_of(files["organisations.yaml"], "      name: Acme"))
    assert "malformed YAML" in problem


def test_unclosed_bracket(work: Path) -> None:
    files = mutate(BASE, "data.yaml", "elements: [email, order-history]\n    subjects: [customers]\n    retention",
                   "elements: [email, order-history\n    subjects: [customers]\n    retention")
    out = broken(work, files)
    (problem,) = out.problems
    m = PROBLEM.match(problem)
    assert m and m["file"] == "inv/data.yaml" and "malformed YAML" in problem
    opened = line_of(files["data.yaml"], "elements: [email, order-history\n")
    assert opened <= int(m["line"]) <= opened + 1  # where the parser noticed: the bracket's line or the next
    assert m["col"]


def test_tab_indentation(work: Path) -> None:
    files = mutate(BASE, "systems.yaml", "    name: Shop database", "\tname: Shop database")
    out = broken(work, files)
    assert "malformed YAML" in out.at("inv/systems.yaml", line_of(files["systems.yaml"], "\tname: Shop"))


def test_two_documents_in_one_file(work: Path) -> None:
    files = {**BASE, "flows.yaml": BASE["flows.yaml"] + "---\nflows: []\n"}
    out = broken(work, files)
    assert "malformed YAML" in out.at("inv/flows.yaml", line_of(files["flows.yaml"], "---"))


def test_non_utf8_bytes(work: Path) -> None:
    text = BASE["data.yaml"].replace("name: Customers", "name: Cust\udcffmers")
    data = text.encode("utf-8", "surrogateescape")
    out = broken(work, {**BASE, "data.yaml": data})
    problem = out.at("inv/data.yaml", line_of(BASE["data.yaml"], "name: Customers"),
                     col_of(BASE["data.yaml"], "name: Customers") + len("name: Cust"))
    assert "not valid UTF-8" in problem and "0xff" in problem


def test_control_character(work: Path) -> None:
    files = mutate(BASE, "systems.yaml", "name: Shop database", "name: Shop\x07database")
    out = broken(work, files)
    problem = out.at("inv/systems.yaml", line_of(files["systems.yaml"], "name: Shop"))
    assert "control characters" in problem or "special characters" in problem


def test_deeply_nested_flow_collections_do_not_crash(work: Path) -> None:
    """libyaml's composer recurses in C: without a depth limit this kills the interpreter."""
    write(work / "inv", {**BASE, "deep.yaml": "flows: " + "[" * 60_000 + "]" * 60_000 + "\n"})
    out = invalid(work, process=True)
    assert "nested more than" in out.at("inv/deep.yaml", 1)


def test_deeply_nested_block_sequences_do_not_crash(work: Path) -> None:
    write(work / "inv", {**BASE, "deep.yaml": "flows:\n  " + "- " * 40_000 + "x\n"})
    out = invalid(work, process=True)
    assert "nested" in out.at("inv/deep.yaml")


# --- wrong types ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    file: str
    old: str
    new: str
    at: str  # text whose line (and column) the problem must point at, in the changed file
    expect: tuple[str, ...]  # fragments of the message: field, id, what was found, the suggestion
    col: bool = True


CASES: dict[str, Case] = {
    "string-for-list": Case("data.yaml", "locations: [EEA]", "locations: EEA", "locations: EEA",
                            ("locations:", "subject 'customers'", "expected a list", "'EEA'")),
    "list-for-mapping": Case("organisations.yaml", "dpa: {signed: 2023-05-01}", "dpa: [2023-05-01]", "dpa:",
                             ("dpa:", "organisation 'cloudco'", "expected a mapping", "list")),
    "count-many": Case("data.yaml", "count: 25000", "count: many", "count: many",
                       ("count:", "subject 'customers'", "integer", "'many'")),
    "count-negative": Case("data.yaml", "count: 25000", "count: -5", "count: -5",
                           ("count:", "subject 'customers'", "greater than or equal to 0")),
    "string-for-bool": Case("data.yaml", "count: 25000", "count: 25000\n    children: maybe", "children: maybe",
                            ("children:", "subject 'customers'", "boolean", "'maybe'")),
    "number-for-string": Case("systems.yaml", "name: Shop database", "name: 42", "name: 42",
                              ("name:", "system 'shop-db'", "string", "42")),
    "empty-value": Case("systems.yaml", "name: Shop database", "name:", "name:",
                        ("name:", "system 'shop-db'", "empty value")),
    "bad-explicit-int": Case("data.yaml", "count: 25000", "count: !!int many", "count: !!int many",
                             ("count:", "subject 'customers'", "'many'")),
    "entry-not-a-mapping": Case("flows.yaml", "flows:\n", "flows:\n  - just-a-string\n", "just-a-string",
                                ("flows[0]", "expected a mapping", "'just-a-string'")),
    "section-not-a-list": Case("systems.yaml", "systems:\n  - id: shop-db", "systems: shop-db\nold:\n  - id: shop-db",
                               "systems:", ("systems:", "expected a list of entries")),
    # references
    "unknown-operator": Case("systems.yaml", "operator: cloudco", "operator: cloudc0", "operator: cloudc0",
                             ("operator:", "system 'crm'", "unknown organisation 'cloudc0'",
                              "did you mean 'cloudco'?")),
    "unknown-flow-endpoint": Case("flows.yaml", "    to: crm", "    to: crn", "to: crn",
                                  ("to:", "flow 'shop-to-crm'", "unknown subject or system or organisation 'crn'",
                                   "did you mean 'crm'?")),
    "unknown-element": Case("data.yaml", "elements: [email, order-history]", "elements: [email, order-histroy]",
                            "order-histroy", ("elements[1]", "purpose 'order-fulfilment'",
                                              "unknown element 'order-histroy'", "did you mean 'order-history'?")),
    "unknown-purpose-on-flow": Case("flows.yaml", "    elements: [email]\n    purposes: [order-fulfilment]",
                                    "    elements: [email]\n    purposes: [order-fulfillment]", "order-fulfillment",
                                    ("purposes[0]", "flow 'shop-to-crm'", "unknown purpose 'order-fulfillment'",
                                     "did you mean 'order-fulfilment'?")),
    "element-as-endpoint": Case("flows.yaml", "    from: shop-db", "    from: email", "from: email",
                                ("from:", "flow 'shop-to-crm'", "'email' is an element",
                                 "subject or system or organisation")),
    "purpose-as-endpoint": Case("flows.yaml", "    to: crm", "    to: order-fulfilment", "to: order-fulfilment",
                                ("to:", "flow 'shop-to-crm'", "'order-fulfilment' is a purpose")),
    "element-as-operator": Case("systems.yaml", "operator: cloudco", "operator: email", "operator: email",
                                ("operator:", "system 'crm'", "'email' is an element", "organisation")),
    # keys, enums, required fields
    "unknown-key": Case("data.yaml", "legal_basis: contract", "legal_bases: contract", "legal_bases",
                        ("legal_bases", "purpose 'order-fulfilment'", "unknown key 'legal_bases'",
                         "did you mean 'legal_basis'?")),
    "unknown-nested-key": Case("flows.yaml", "      mechanism: adequacy", "      mechanism: adequacy\n      tai: {}",
                               "tai:", ("transfer.tai", "flow 'shop-to-crm'", "did you mean 'tia'?")),
    "unknown-enum": Case("data.yaml", "category: behavioural", "category: behavioral", "category: behavioral",
                         ("category:", "element 'order-history'", "'behavioral' is not allowed",
                          "did you mean 'behavioural'?")),
    "unknown-mechanism": Case("flows.yaml", "mechanism: adequacy", "mechanism: sccs", "mechanism: sccs",
                              ("transfer.mechanism", "flow 'shop-to-crm'", "'sccs'", "did you mean 'scc'?")),
    "unknown-relation": Case("organisations.yaml", "relation: processor", "relation: procesor",
                             "relation: procesor", ("relation:", "organisation 'cloudco'",
                                                    "did you mean 'processor'?")),
    "missing-required": Case("data.yaml", "    name: Order fulfilment\n", "", "id: order-fulfilment",
                             ("name:", "purpose 'order-fulfilment'", "required field is missing")),
    "missing-flow-target": Case("flows.yaml", "    to: crm\n", "", "id: shop-to-crm",
                                ("to:", "flow 'shop-to-crm'", "required field is missing")),
    # the controller
    "two-self": Case("organisations.yaml", "relation: processor", "relation: self", "relation: self\n    dpa",
                     ("relation:", "organisation 'cloudco'", "second organisation with relation: self", "'acme'")),
    # countries, dates, durations, ids
    "country-xx": Case("organisations.yaml", "country: US", "country: XX", "country: XX",
                       ("country:", "organisation 'cloudco'", "'XX' is not an ISO 3166-1 alpha-2 country code")),
    "country-uk": Case("organisations.yaml", "country: US", "country: UK", "country: UK",
                       ("country:", "organisation 'cloudco'", "'UK'", "did you mean 'GB'?")),
    "country-name": Case("systems.yaml", "locations: [US]", "locations: [Germany]", "Germany",
                         ("locations[0]", "system 'crm'", "'Germany'", "did you mean 'DE'?")),
    "subject-location-xx": Case("data.yaml", "locations: [EEA]", "locations: [EEA, XX]", "XX",
                                ("locations[1]", "subject 'customers'", "'XX'", "EEA, EU, WORLD")),
    "region-as-system-location": Case("systems.yaml", "locations: [US]", "locations: [EEA]", "EEA",
                                      ("locations[0]", "system 'crm'", "'EEA' is a region", "country")),
    "region-as-organisation-country": Case("organisations.yaml", "country: US", "country: EU", "country: EU",
                                           ("country:", "organisation 'cloudco'", "'EU' is a region")),
    "bad-date": Case("organisations.yaml", "signed: 2023-05-01", "signed: 2023-13-45", "signed:",
                     ("dpa.signed", "organisation 'cloudco'", "date", "2023-13-45")),
    "date-in-words": Case("organisations.yaml", "signed: 2023-05-01", "signed: last spring", "signed:",
                          ("dpa.signed", "organisation 'cloudco'", "date", "'last spring'")),
    "date-as-number": Case("organisations.yaml", "signed: 2023-05-01", "signed: 2023", "signed:",
                           ("dpa.signed", "organisation 'cloudco'", "ISO 8601 date")),
    "bad-duration": Case("data.yaml", "retention: P6Y", "retention: 6 years", "retention:",
                         ("retention:", "purpose 'order-fulfilment'", "'6 years'", "ISO 8601 duration",
                          "until-account-deletion")),
    "empty-duration": Case("data.yaml", "retention: P6Y", "retention: P", "retention:",
                           ("retention:", "purpose 'order-fulfilment'", "'P'", "ISO 8601 duration")),
    "retention-keyword-typo": Case("data.yaml", "retention: P6Y", "retention: until-account-deleted", "retention:",
                                   ("retention:", "did you mean 'until-account-deletion'?")),
    "bad-id": Case("systems.yaml", "id: crm", "id: Bad_ID", "id: Bad_ID",
                   ("id:", "'Bad_ID' is not a valid id", "lower-case")),
    "bad-waiver-rule": Case("flows.yaml", "flows:\n", "waivers:\n  - rule: TRF-01\n    subject: crm\n    reason: r\n"
                            "    approved_by: dpo\n    expires: 2030-01-01\nflows:\n", "rule: TRF-01",
                            ("rule:", "unknown rule 'TRF-01'", "did you mean")),
    "unknown-waiver-subject": Case("flows.yaml", "flows:\n", "waivers:\n  - rule: TRF-001\n    subject: shop-to-cmr\n"
                                   "    reason: r\n    approved_by: dpo\n    expires: 2030-01-01\nflows:\n",
                                   "subject: shop-to-cmr", ("subject:", "unknown subject 'shop-to-cmr'",
                                                            "did you mean 'shop-to-crm'?")),
    # flows
    "flow-to-itself": Case("flows.yaml", "    to: crm", "    to: shop-db", "to: shop-db\n    elements: [email]\n",
                           ("to:", "flow 'shop-to-crm'", "itself")),
    # duplicate key in one mapping (PyYAML would keep the last silently)
    "duplicate-key": Case("organisations.yaml", "    relation: processor\n",
                          "    relation: processor\n    relation: partner\n", "relation: partner",
                          ("relation", "twice"), col=False),
    # unknown top-level section
    "unknown-section": Case("flows.yaml", "flows:\n", "flow:\n", "flow:",
                            ("flow:", "unknown section", "did you mean 'flows'?")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_broken_inventory(work: Path, name: str) -> None:
    case = CASES[name]
    files = mutate(BASE, case.file, case.old, case.new)
    out = broken(work, files)
    text = files[case.file]
    problem = out.at(f"inv/{case.file}", line_of(text, case.at))
    if case.col:
        assert PROBLEM.match(problem)["col"] == str(col_of(text, case.at)), problem
    for fragment in case.expect:
        assert fragment in problem, f"{fragment!r} not in {problem!r}"


def test_field_errors_point_at_the_key(work: Path) -> None:
    """The column is the key's (where an editor puts the cursor), for scalar fields."""
    files = mutate(BASE, "data.yaml", "count: 25000", "count: many")
    out = broken(work, files)
    assert out.at("inv/data.yaml", line_of(files["data.yaml"], "count: many"), 5)


def test_missing_field_points_at_its_entry(work: Path) -> None:
    files = mutate(BASE, "data.yaml", "    name: Order fulfilment\n", "")
    out = broken(work, files)
    text = files["data.yaml"]
    assert out.at("inv/data.yaml", line_of(text, "- id: order-fulfilment"), col_of(text, "id: order-fulfilment"))


# --- cases across files and entries -----------------------------------------------------------

def test_duplicate_id_across_two_files_names_both_places(work: Path) -> None:
    extra = "systems:\n  - id: backup\n    name: Backup\n    operator: acme\n  - id: shop-db\n    name: Second\n" \
            "    operator: acme\n"
    out = broken(work, {**BASE, "more/systems-b.yaml": extra})
    (problem,) = out.problems
    assert "duplicate id 'shop-db'" in problem
    here = f"inv/more/systems-b.yaml:{line_of(extra, 'id: shop-db')}"
    there = f"inv/systems.yaml:{line_of(BASE['systems.yaml'], 'id: shop-db')}"
    assert here in problem and there in problem


def test_duplicate_id_across_kinds(work: Path) -> None:
    files = mutate(BASE, "systems.yaml", "id: crm", "id: email")
    files = mutate(files, "flows.yaml", "    to: crm", "    to: email")
    out = broken(work, files)
    problem = out.at("inv/systems.yaml", line_of(files["systems.yaml"], "id: email"))
    assert "duplicate id 'email'" in problem and "element" in problem
    assert f"inv/data.yaml:{line_of(BASE['data.yaml'], 'id: email')}" in problem


def test_no_self_organisation(work: Path) -> None:
    out = broken(work, mutate(BASE, "organisations.yaml", "relation: self", "relation: affiliate"))
    (problem,) = out.problems
    assert problem.startswith("inv/organisations.yaml:1:1: organisations: no organisation has relation: self")


def test_no_self_is_not_claimed_when_the_self_entry_is_broken(work: Path) -> None:
    """A broken `self` entry is reported as what it is, not also as a missing controller."""
    out = broken(work, mutate(BASE, "organisations.yaml", "    country: DE\n", "    country: Deutschland\n"))
    assert not any("no organisation has relation: self" in p for p in out.problems), out.stderr
    assert "'Deutschland'" in out.at("inv/organisations.yaml", line_of(BASE["organisations.yaml"], "country: DE"))


def test_cycles_are_data_not_errors(work: Path) -> None:
    """A system returning results to the one they came from is normal (SPEC §2): no error."""
    back = "  - id: crm-back\n    from: crm\n    to: shop-db\n    elements: [email]\n    purposes: [order-fulfilment]\n"
    write(work / "inv", {**BASE, "flows.yaml": BASE["flows.yaml"] + back})
    out = run_cli("validate", "inv")
    assert out.code == 0, out.stderr


def test_a_loop_of_different_elements_is_not_a_cycle(work: Path) -> None:
    back = "  - id: crm-back\n    from: crm\n    to: shop-db\n    elements: [order-history]\n" \
           "    purposes: [order-fulfilment]\n"
    write(work / "inv", {**BASE, "flows.yaml": BASE["flows.yaml"] + back})
    assert run_cli("validate", "inv").code == 0


def test_unknown_section_does_not_hide_other_files(work: Path) -> None:
    out = broken(work, mutate(BASE, "systems.yaml", "systems:", "sytems:"))
    assert "did you mean 'systems'?" in out.at("inv/systems.yaml", 1, 1)


def test_top_level_list(work: Path) -> None:
    out = broken(work, {**BASE, "flows.yaml": "- id: a\n  from: b\n  to: c\n"})
    problem = out.at("inv/flows.yaml", 1)
    assert "expected a mapping of sections" in problem and "found a list" in problem


def test_top_level_scalar(work: Path) -> None:
    out = broken(work, {**BASE, "flows.yaml": "just some text\n"})
    assert "found a string" in out.at("inv/flows.yaml", 1)


def test_empty_directory(work: Path) -> None:
    (work / "inv").mkdir()
    (work / "inv" / "README.txt").write_text("not an inventory")
    out = invalid(work)
    assert out.problems == ["inv: no *.yaml or *.yml files in this directory"]


def test_missing_path(work: Path) -> None:
    out = invalid(work, "no-such-inventory")
    assert out.problems == ["no-such-inventory: no such file or directory"]


def test_empty_file_is_only_a_missing_controller(work: Path) -> None:
    (work / "empty.yaml").write_text("# nothing yet\n")
    out = invalid(work, "empty.yaml")
    (problem,) = out.problems
    assert "no organisation has relation: self" in problem


def test_huge_file_is_refused_before_reading(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    write(work / "inv", BASE)
    big = "flows:\n" + "".join(f"  - {{id: f{i}, from: customers, to: shop-db}}\n" for i in range(100))
    (work / "inv" / "flows.yaml").write_text(big)
    out = invalid(work)
    (problem,) = out.problems
    assert problem.startswith("inv/flows.yaml: file is ")
    assert f"{len(big.encode()):,} bytes" in problem and "limit is 1,000 bytes" in problem
    assert "split it" in problem


def test_many_errors_are_all_reported(work: Path) -> None:
    files = mutate(BASE, "data.yaml", "count: 25000", "count: many")
    files = mutate(files, "data.yaml", "category: behavioural", "category: behavioral")
    files = mutate(files, "systems.yaml", "operator: cloudco", "operator: cloudc0")
    files = mutate(files, "organisations.yaml", "country: US", "country: UK")
    files = mutate(files, "flows.yaml", "    to: crm", "    to: order-fulfilment")
    out = broken(work, files)
    assert len(out.problems) >= 5, out.stderr
    assert {PROBLEM.match(p)["file"] for p in out.problems} == {
        "inv/data.yaml", "inv/systems.yaml", "inv/organisations.yaml", "inv/flows.yaml"}
    assert out.stderr.rstrip().endswith(f"{len(out.problems)} problems")


def test_every_malformed_file_is_reported(work: Path) -> None:
    files = mutate(BASE, "flows.yaml", "elements: [email]", "elements: [email")
    files = mutate(files, "data.yaml", "count: 25000", "count: [many")
    files = {**files, "systems.yaml": b"systems: caf\xe9\n"}
    out = broken(work, files)
    assert {PROBLEM.match(p)["file"] for p in out.problems} == {"inv/flows.yaml", "inv/data.yaml",
                                                                 "inv/systems.yaml"}


def test_flow_between_two_subject_categories(work: Path) -> None:
    files = mutate(BASE, "data.yaml", "subjects:\n", "subjects:\n  - id: visitors\n    name: Visitors\n")
    files = mutate(files, "flows.yaml", "    from: customers\n    to: shop-db", "    from: customers\n    to: visitors")
    out = broken(work, files)
    problem = out.at("inv/flows.yaml", line_of(files["flows.yaml"], "to: visitors"), 5)
    assert "flow 'collect-orders'" in problem and "data subject" in problem


# --- anchors, aliases, bombs, tags ------------------------------------------------------------

def test_anchor_and_alias_are_refused(work: Path) -> None:
    files = mutate(BASE, "organisations.yaml", "dpo: {name: Dana Protector", "dpo: &dpo {name: Dana Protector")
    files = mutate(files, "organisations.yaml", "    certifications: [eu-us-dpf]\n",
                   "    certifications: [eu-us-dpf]\n    dpo: *dpo\n")
    out = broken(work, files)
    (problem,) = out.problems
    assert PROBLEM.match(problem)["file"] == "inv/organisations.yaml"
    assert PROBLEM.match(problem)["line"] and PROBLEM.match(problem)["col"]
    assert "anchors and aliases" in problem


def test_merge_key_is_refused(work: Path) -> None:
    files = mutate(BASE, "organisations.yaml", "dpo: {name: Dana Protector", "dpo: &dpo {name: Dana Protector")
    files = mutate(files, "organisations.yaml", "    certifications: [eu-us-dpf]\n",
                   "    certifications: [eu-us-dpf]\n    dpo: {<<: *dpo}\n")
    out = broken(work, files)
    assert "anchors and aliases" in out.problems[0]


def test_billion_laughs_fails_in_well_under_a_second(work: Path) -> None:
    write(work / "inv", {**BASE, "organisations.yaml": BILLION_LAUGHS})
    started = time.process_time()
    with pytest.raises(InventoryError) as caught:
        load_inventory(work / "inv")
    assert time.process_time() - started < 1.0
    (problem,) = caught.value.problems
    assert problem.file == "inv/organisations.yaml" and problem.line is not None
    assert "anchors and aliases" in problem.message
    out = invalid(work)
    assert out.seconds < 1.0


def test_billion_laughs_from_the_command_line(work: Path) -> None:
    write(work / "inv", {**BASE, "organisations.yaml": BILLION_LAUGHS})
    out = invalid(work, process=True)
    assert "anchors and aliases" in out.at("inv/organisations.yaml")


def test_python_tags_are_never_executed(work: Path) -> None:
    files = mutate(BASE, "systems.yaml", "name: Shop database",
                   "name: !!python/object/apply:os.system ['touch pwned']")
    out = broken(work, files)
    assert "malformed YAML" in out.at("inv/systems.yaml", line_of(files["systems.yaml"], "!!python"))
    assert not (work / "pwned").exists()


def test_unknown_local_tag(work: Path) -> None:
    files = mutate(BASE, "systems.yaml", "name: Shop database", "name: !secret Shop database")
    out = broken(work, files)
    assert "malformed YAML" in out.at("inv/systems.yaml", line_of(files["systems.yaml"], "!secret"))


# --- the JSON Schema --------------------------------------------------------------------------

class _JsonLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it: dates stay strings (YAML 1.2)."""


_JsonLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _schema() -> dict:
    out = run_cli("schema")
    assert out.code == 0, out.stderr
    return json.loads(out.stdout)


def test_schema_is_valid_json_schema() -> None:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].startswith("https://json-schema.org/draft/2020-12")
    assert set(schema["properties"]) == {"organisations", "subjects", "elements", "purposes", "systems", "flows",
                                         "waivers"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLE.glob("*.yaml")))
def test_example_files_pass_the_schema(name: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    document = yaml.load((EXAMPLE / name).read_text(encoding="utf-8"), Loader=_JsonLoader)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []


def test_base_files_pass_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    for name, text in BASE.items():
        assert list(validator.iter_errors(yaml.load(text, Loader=_JsonLoader))) == [], name


@pytest.mark.parametrize(("old", "new"), [
    ("legal_basis: contract", "legal_bases: contract"),     # unknown key
    ("category: behavioural", "category: behavioral"),      # unknown enum value
    ("locations: [EEA]", "locations: EEA"),                 # wrong type
    ("id: customers", "id: Customers"),                     # bad id
    ("    name: Customers\n", ""),                          # missing required field
    ("subjects:", "subject:"),                              # unknown section
])
def test_schema_rejects_broken_documents(old: str, new: str) -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    text = BASE["data.yaml"].replace(old, new, 1)
    assert text != BASE["data.yaml"]
    assert list(validator.iter_errors(yaml.load(text, Loader=_JsonLoader)))


def test_schema_to_file_as_documented(work: Path) -> None:
    """docs/inventory.md tells users to run this command and add the modeline; both must work."""
    docs = (ROOT / "docs" / "inventory.md").read_text(encoding="utf-8")
    command = "flowaudit schema -o flowaudit.schema.json"
    modeline = "# yaml-language-server: $schema=./flowaudit.schema.json"
    assert command in docs and modeline in docs
    out = run_cli(*command.split()[1:])
    assert out.code == 0, out.stderr
    written = json.loads((work / "flowaudit.schema.json").read_text(encoding="utf-8"))
    assert written == _schema()
    # a file with the modeline still validates
    files = {name: f"{modeline}\n{text}" for name, text in BASE.items()}
    write(work / "inv", files)
    assert run_cli("validate", "inv").code == 0


def test_documented_example_is_valid_and_passes_the_schema(work: Path) -> None:
    docs = (ROOT / "docs" / "inventory.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", docs, re.DOTALL).group(1)
    (work / "example.yaml").write_text(example, encoding="utf-8")
    out = run_cli("validate", "example.yaml")
    assert out.code == 0, out.stderr
    validator = jsonschema.Draft202012Validator(_schema())
    assert list(validator.iter_errors(yaml.load(example, Loader=_JsonLoader))) == []


def test_schema_offers_countries_and_retention_keywords() -> None:
    defs = _schema()["$defs"]
    assert "GB" in defs["Organisation"]["properties"]["country"]["enum"]
    assert "UK" not in defs["Organisation"]["properties"]["country"]["enum"]
    subject_location = defs["Subject"]["properties"]["locations"]["items"]["anyOf"]
    assert "EEA" in subject_location[0]["enum"] and "CH" in subject_location[0]["enum"]
    assert re.fullmatch(subject_location[1]["pattern"], "US-CA")  # ISO 3166-2 subdivisions
    assert "EEA" not in defs["System"]["properties"]["locations"]["items"]["enum"]
    assert "until-account-deletion" in json.dumps(defs["Purpose"]["properties"]["retention"])


def test_schema_output_folders_are_created(work: Path) -> None:
    out = run_cli("schema", "-o", "editor/schemas/flowaudit.schema.json")
    assert out.code == 0, out.stderr
    assert json.loads((work / "editor" / "schemas" / "flowaudit.schema.json").read_text()) == _schema()


def test_schema_to_a_folder_is_a_clean_error(work: Path) -> None:
    (work / "taken").mkdir()
    before = snapshot(work)
    out = run_cli("schema", "-o", "taken")
    assert out.code == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == "error: taken: Is a directory"
    assert snapshot(work) == before  # no temporary file left behind


@pytest.mark.parametrize("encode", [lambda t: t.replace("\n", "\r\n").encode(),
                                    lambda t: b"\xef\xbb\xbf" + t.encode()], ids=["crlf", "bom"])
def test_windows_line_ends_and_byte_order_mark_keep_lines_right(work: Path, encode: Any) -> None:
    files = mutate(BASE, "data.yaml", "count: 25000", "count: many")
    out = broken(work, {**files, "data.yaml": encode(files["data.yaml"])})
    assert "'many'" in out.at("inv/data.yaml", line_of(files["data.yaml"], "count: many"), 5)
