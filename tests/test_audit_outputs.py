"""`flowaudit audit` end to end: golden JSON, SARIF 2.1.0 against the official schema, JUnit XML,
--as-of, exit codes, rule selection, waivers, configuration, and a rule that raises.

Regenerate the golden files after an intended change of output:

    FLOWAUDIT_UPDATE_GOLDEN=1 python -m pytest tests/test_audit_outputs.py
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import UPDATE_GOLDEN as UPDATE
from flowaudit.audits import catalogue

from flowaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_FIXTURES = ROOT / "tests" / "fixtures" / "golden"
EXAMPLE = ROOT / "data" / "examples" / "support-community"
GOLDEN = ROOT / "tests" / "golden"
SARIF_SCHEMA = ROOT / "tests" / "schemas" / "sarif-2.1.0.json"
AS_OF = "2026-01-01"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root, so that paths in the output are relative and stable."""
    monkeypatch.chdir(ROOT)
    return ROOT


def write_inventory(folder: Path, text: str, name: str = "inventory.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def audit_json(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("audit", str(path), "--format", "json", *args)
    assert code in (0, 1), f"exit {code}: {err}"
    return code, json.loads(out)


def findings_of(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(f["rule"], f["subject"]["id"]): f for f in doc["findings"]}


# --- golden JSON -----------------------------------------------------------------------------

def _normalised(text: str) -> dict[str, Any]:
    doc = json.loads(text)
    doc["version"] = "<version>"  # the golden file should not change with each release
    return doc


@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN_FIXTURES.iterdir() if p.is_dir()))
def test_golden_json(name: str, in_root: Path) -> None:
    code, out, err = run("audit", f"tests/fixtures/golden/{name}", "--format", "json", "--as-of", AS_OF)
    assert code in (0, 1), err
    golden = GOLDEN / f"{name}.json"
    actual = _normalised(out)
    if UPDATE or not golden.exists():
        if not UPDATE:
            pytest.fail(f"{golden} is missing; create it with FLOWAUDIT_UPDATE_GOLDEN=1")
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    assert actual == expected, (f"`flowaudit audit --format json` output changed for {name}; if intended, regenerate "
                                "with FLOWAUDIT_UPDATE_GOLDEN=1 python -m pytest tests/test_audit_outputs.py")


def test_golden_json_shape(in_root: Path) -> None:
    """SPEC §5: tool, version, as_of, inventory, summary, findings sorted by rule then subject id."""
    _, doc = audit_json(Path("tests/fixtures/golden/mixed"), "--as-of", AS_OF)
    assert {"tool", "version", "as_of", "inventory", "summary", "findings"} <= set(doc)
    assert doc["tool"] == "flowaudit" and doc["as_of"] == AS_OF
    assert list(doc["summary"]) == ["critical", "high", "medium", "low", "info"]
    keys = [(f["rule"], f["subject"]["id"]) for f in doc["findings"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert sum(doc["summary"].values()) == len(keys)
    for f in doc["findings"]:
        assert {"rule", "severity", "subject", "message", "legal", "remediation", "details", "waived"} <= set(f)
        # relative to the inventory's root (SPEC §5)
        assert (ROOT / "tests/fixtures/golden/mixed" / f["location"]["file"]).is_file() and f["location"]["line"] >= 1


def test_output_is_deterministic(in_root: Path) -> None:
    first = run("audit", "tests/fixtures/golden/mixed", "--format", "sarif", "--as-of", AS_OF)
    second = run("audit", "tests/fixtures/golden/mixed", "--format", "sarif", "--as-of", AS_OF)
    assert first == second


# --- SARIF -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _id_line(file: Path, subject: str) -> int:
    pattern = re.compile(rf"(?:^|[{{,\s-])id:\s*[\"']?{re.escape(subject)}[\"']?\s*(?:[,}}#]|$)")
    lines = [i for i, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert len(lines) == 1, f"{subject}: `id:` found on lines {lines} of {file}"
    return lines[0]


def test_sarif_validates_and_points_at_id_lines(in_root: Path, sarif_validator) -> None:
    code, out, err = run("audit", "tests/fixtures/golden/mixed", "--format", "sarif", "--as-of", AS_OF)
    assert code == 1, err
    doc = json.loads(out)
    errors = sorted(sarif_validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    assert doc["version"] == "2.1.0"
    run_ = doc["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {r.id for r in catalogue.CATALOGUE}
    results = run_["results"]
    assert results
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        subject = result["properties"]["subject"]["id"]
        physical = result["locations"][0]["physicalLocation"]
        file = ROOT / physical["artifactLocation"]["uri"]
        assert file.is_file()
        assert physical["region"]["startLine"] == _id_line(file, subject), result["ruleId"] + " " + subject
    waived = [r for r in results if r.get("suppressions")]
    assert [(r["ruleId"], r["properties"]["subject"]["id"]) for r in waived] == [("TPX-005", "co-host")]


def test_sarif_validator_rejects_a_broken_log(sarif_validator) -> None:
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}, "results": [{"message": {}, "level": "fatal"}]}]}
    assert len(list(sarif_validator.iter_errors(broken))) >= 2


def test_sarif_of_a_clean_inventory_validates(tmp_path: Path, sarif_validator) -> None:
    path = write_inventory(tmp_path, """
        organisations:
          - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}
    """)
    code, out, _ = run("audit", str(path), "--format", "sarif", "--as-of", AS_OF)
    assert code == 0
    doc = json.loads(out)
    assert not list(sarif_validator.iter_errors(doc))
    assert doc["runs"][0]["results"] == []


# --- JUnit -----------------------------------------------------------------------------------

def test_junit_parses(in_root: Path) -> None:
    _, doc = audit_json(Path("tests/fixtures/golden/mixed"), "--as-of", AS_OF)
    code, out, _ = run("audit", "tests/fixtures/golden/mixed", "--format", "junit", "--as-of", AS_OF)
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    unwaived = sum(1 for f in doc["findings"] if not f["waived"])
    assert int(root.get("failures")) == unwaived
    cases = root.findall("./testsuite/testcase")
    failed = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert len(failed) == unwaived and len(skipped) == 1
    assert {s.get("name").split(" ", 1)[0] for s in root.findall("testsuite")} == \
        {r.id for r in catalogue.CATALOGUE}


# --- --as-of -----------------------------------------------------------------------------------

DPF_IMPORTER = """
    organisations:
      - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}
      - {id: us-vendor, name: US Vendor, country: US, relation: processor, certifications: [eu-us-dpf],
         dpa: {signed: 2019-01-01}}
    subjects:
      - {id: customers, name: Customers, locations: [DE]}
    elements:
      - {id: email, name: Email, category: contact, subjects: [customers]}
    systems:
      - {id: crm, name: CRM, operator: acme, elements: [email]}
    flows:
      - {id: collect, from: customers, to: crm, elements: [email]}
      - {id: to-us, from: crm, to: us-vendor, elements: [email], transfer: {mechanism: adequacy}}
"""


def test_as_of_changes_adequacy(tmp_path: Path) -> None:
    """In 2020 no decision covered DPF-certified importers (Privacy Shield needed its own
    certification); in 2024 the EU-US Data Privacy Framework decision does."""
    path = write_inventory(tmp_path, DPF_IMPORTER)
    code_2020, doc_2020 = audit_json(path, "--as-of", "2020-01-01", "--rule", "TRF-002")
    code_2024, doc_2024 = audit_json(path, "--as-of", "2024-01-01", "--rule", "TRF-002")
    assert ("TRF-002", "to-us") in findings_of(doc_2020) and code_2020 == 1
    assert "privacy-shield" in findings_of(doc_2020)[("TRF-002", "to-us")]["message"]
    assert findings_of(doc_2024) == {} and code_2024 == 0
    assert doc_2020["as_of"] == "2020-01-01" and doc_2024["as_of"] == "2024-01-01"


# --- exit codes and rule selection -------------------------------------------------------------

ONLY_MEDIUM = """
    organisations:
      - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}
    purposes:
      - {id: support, name: Support, legal_basis: contract}
"""


def test_exit_0_when_nothing_at_or_above_fail_on(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, ONLY_MEDIUM)  # GOV-002 and MIN-003: medium
    code, doc = audit_json(path, "--as-of", AS_OF)
    assert code == 0 and doc["summary"]["medium"] >= 1 and doc["summary"]["high"] == 0
    assert run("audit", str(path), "--as-of", AS_OF, "--fail-on", "medium")[0] == 1
    assert run("audit", str(path), "--as-of", AS_OF, "--fail-on", "critical")[0] == 0


def test_exit_1_when_a_finding_reaches_fail_on(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, DPF_IMPORTER)
    assert run("audit", str(path), "--as-of", "2020-01-01")[0] == 1  # TRF-002 is critical
    assert run("audit", str(path), "--as-of", "2020-01-01", "--fail-on", "critical")[0] == 1


@pytest.mark.parametrize("text", [
    "organisations: [\n",  # malformed YAML
    """
    organisations:
      - {id: acme, name: Acme, country: DE, relation: self}
    systems:
      - {id: crm, name: CRM, operator: acne}
    """,  # unknown reference
    """
    organisations:
      - {id: acme, name: Acme, country: XX, relation: self}
    """,  # unknown country
])
def test_exit_2_on_invalid_input(tmp_path: Path, text: str) -> None:
    path = write_inventory(tmp_path, text)
    code, out, err = run("audit", str(path), "--format", "json")
    assert code == 2 and out == ""
    assert "inventory.yaml" in err and "Traceback" not in err


def test_exit_2_on_missing_path(tmp_path: Path) -> None:
    code, _, err = run("audit", str(tmp_path / "nowhere"))
    assert code == 2 and "no such file" in err


def test_exit_2_on_unknown_rule(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, ONLY_MEDIUM)
    code, out, err = run("audit", str(path), "--rule", "TRF-011")
    assert code == 2 and "TRF-011" in err and out == ""
    assert run("audit", str(path), "--skip", "NOPE-001")[0] == 2


def test_rule_and_skip_select_rules(in_root: Path) -> None:
    mixed = Path("tests/fixtures/golden/mixed")
    _, everything = audit_json(mixed, "--as-of", AS_OF)
    all_rules = {f["rule"] for f in everything["findings"]}
    assert {"TRF-003", "TRF-004", "TPX-001", "MIN-002"} <= all_rules

    _, only = audit_json(mixed, "--as-of", AS_OF, "--rule", "TRF-004", "--rule", "TPX-001")
    assert {f["rule"] for f in only["findings"]} == {"TRF-004", "TPX-001"}
    _, comma = audit_json(mixed, "--as-of", AS_OF, "--rule", "TRF-004,TPX-001")
    assert comma["findings"] == only["findings"]

    _, family = audit_json(mixed, "--as-of", AS_OF, "--rule", "TRF")
    assert {f["rule"] for f in family["findings"]} == {r for r in all_rules if r.startswith("TRF-")}

    _, skipped = audit_json(mixed, "--as-of", AS_OF, "--skip", "TRF", "--skip", "MIN-002")
    assert {f["rule"] for f in skipped["findings"]} == {r for r in all_rules if not r.startswith("TRF-")} - {"MIN-002"}

    _, both = audit_json(mixed, "--as-of", AS_OF, "--rule", "TRF", "--skip", "TRF-003")
    assert {f["rule"] for f in both["findings"]} == {r for r in all_rules if r.startswith("TRF-")} - {"TRF-003"}


# --- waivers ---------------------------------------------------------------------------------

WAIVED = """
    organisations:
      - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}
      - {id: co-host, name: Co-host, country: DE, relation: joint-controller}
    waivers:
      - {rule: TPX-005, subject: co-host, reason: Arrangement being signed, approved_by: DPO, expires: EXPIRES}
"""


def test_active_waiver_marks_the_finding_and_does_not_fail(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, WAIVED.replace("EXPIRES", "2026-06-30"))
    code, doc = audit_json(path, "--as-of", AS_OF)
    finding = findings_of(doc)[("TPX-005", "co-host")]
    assert finding["waived"] is True
    assert finding["waiver"] == {"reason": "Arrangement being signed", "approved_by": "DPO", "expires": "2026-06-30"}
    assert "waiver_expired" not in finding
    assert code == 0, "a waived high finding must not count for --fail-on"
    assert doc["summary"]["high"] == 1  # still reported


def test_waiver_is_active_on_its_expiry_date(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, WAIVED.replace("EXPIRES", AS_OF))
    code, doc = audit_json(path, "--as-of", AS_OF)
    assert findings_of(doc)[("TPX-005", "co-host")]["waived"] is True and code == 0


def test_expired_waiver_no_longer_waives(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, WAIVED.replace("EXPIRES", "2025-12-31"))
    code, doc = audit_json(path, "--as-of", AS_OF)
    finding = findings_of(doc)[("TPX-005", "co-host")]
    assert finding["waived"] is False and "waiver" not in finding
    assert finding["waiver_expired"] == {"reason": "Arrangement being signed", "approved_by": "DPO",
                                         "expires": "2025-12-31"}
    assert code == 1


def test_waived_finding_in_golden_fixture(in_root: Path) -> None:
    _, doc = audit_json(Path("tests/fixtures/golden/mixed"), "--as-of", AS_OF)
    found = findings_of(doc)
    assert found[("TPX-005", "co-host")]["waived"] is True
    assert found[("MIN-001", "fax")]["waived"] is False and "waiver_expired" in found[("MIN-001", "fax")]
    assert [(w["rule"], w["subject"]) for w in doc["unused_waivers"]] == [("SEC-001", "cn-crm")]


# --- configuration -----------------------------------------------------------------------------

EXPOSED = """
    organisations:
      - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}
      - {id: mailer, name: Mailer, country: DE, relation: processor}
      - {id: helpdesk, name: Helpdesk, country: DE, relation: processor, dpa: {signed: 2024-01-01}}
      - {id: survey, name: Survey Co, country: DE, relation: processor, dpa: {signed: 2024-01-01}}
    subjects:
      - {id: customers, name: Customers, locations: [DE]}
    elements:
      - {id: email, name: Email, category: contact, subjects: [customers]}
    purposes:
      - {id: service, name: Service, legal_basis: contract, elements: [email], subjects: [customers], retention: P1Y}
    systems:
      - {id: crm, name: CRM, operator: acme, elements: [email], security: [tls]}
    flows:
      - {id: collect, from: customers, to: crm, elements: [email], purposes: [service]}
      - {id: f1, from: crm, to: mailer, elements: [email], purposes: [service]}
      - {id: f2, from: crm, to: helpdesk, elements: [email], purposes: [service]}
      - {id: f3, from: crm, to: survey, elements: [email], purposes: [service]}
"""


def test_pyproject_config_changes_severity_and_limit(tmp_path: Path) -> None:
    path = write_inventory(tmp_path / "inventory", EXPOSED)
    code, doc = audit_json(path, "--as-of", AS_OF)
    found = findings_of(doc)
    assert found[("TPX-001", "mailer")]["severity"] == "high" and code == 1
    assert ("TPX-004", "email") not in found  # three organisations: within the default limit of 5

    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [project]
        name = "privacy-inventory"

        [tool.flowaudit.severity]
        "TPX-001" = "low"

        [tool.flowaudit.limits]
        max_external_organisations = 2
    """), encoding="utf-8")
    code, doc = audit_json(path, "--as-of", AS_OF)
    found = findings_of(doc)
    assert found[("TPX-001", "mailer")]["severity"] == "low"
    assert found[("TPX-004", "email")]["details"]["organisations"] == ["helpdesk", "mailer", "survey"]
    assert "limit 2" in found[("TPX-004", "email")]["message"]
    assert code == 0, "with TPX-001 lowered to low nothing reaches the default --fail-on high"


def test_invalid_config_is_exit_2(tmp_path: Path) -> None:
    path = write_inventory(tmp_path, EXPOSED)
    (tmp_path / "pyproject.toml").write_text('[tool.flowaudit.severity]\n"TPX-001" = "severe"\n', encoding="utf-8")
    code, _, err = run("audit", str(path))
    assert code == 2 and "pyproject.toml" in err


# --- a rule that raises --------------------------------------------------------------------------

def test_a_rule_that_raises_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(ctx, item):
        raise KeyError("no such thing")

    rules = tuple(dataclasses.replace(r, check=broken) if r.id == "TPX-005" else r
                  for r in catalogue.CATALOGUE)
    monkeypatch.setattr(catalogue, "CATALOGUE", rules)
    path = write_inventory(tmp_path, EXPOSED)
    code, doc = audit_json(path, "--as-of", AS_OF, "--rule", "TPX-005")
    assert code == 1, "an unverified subject must fail the build, never pass silently"
    errors = [f for f in doc["findings"] if f["rule"] == "TPX-005"]
    assert {f["subject"]["id"] for f in errors} == {"acme", "mailer", "helpdesk", "survey"}
    for f in errors:
        assert f["subject"]["kind"] == "organisation"
        assert f["severity"] == "critical"
        assert "TPX-005" in f["message"] and repr(f["subject"]["id"]) in f["message"]
        assert "KeyError" in f["details"]["error"]
        assert f["location"]["line"] >= 1


# --- terminal output ---------------------------------------------------------------------------


def test_piped_text_is_one_finding_per_line_with_ids_whole(in_root: Path) -> None:
    """Piped (or written with -o), `audit` prints `file:line: severity RULE kind id: message`,
    one finding a line, no box drawing, so ids can be copied and grepped."""
    _, out, _ = run("audit", str(EXAMPLE), "--as-of", AS_OF)
    _, doc = audit_json(EXAMPLE, "--as-of", AS_OF)  # the same date: findings change with the law's dates
    lines = out.splitlines()
    assert lines[0].startswith("flowaudit audit of ")
    assert lines[-1].startswith("Summary: ")
    body = lines[1:-1]
    assert len(body) == len(doc["findings"])
    assert not any(ch in out for ch in "│─┃━┏┓┗┛╭╮╰╯")
    pattern = re.compile(r"^(\S+:\d+|\S+): (critical|high|medium|low|info) ([A-Z]+-\d{3}) (\w+) (\S+): .+")
    seen = set()
    for line in body:
        m = pattern.match(line)
        assert m, line
        seen.add((m.group(3), m.group(5)))
    assert seen == {(f["rule"], f["subject"]["id"]) for f in doc["findings"]}
    ranks = ["critical", "high", "medium", "low", "info"]
    severities = [pattern.match(line).group(2) for line in body]  # type: ignore[union-attr]
    assert severities == sorted(severities, key=ranks.index)


@pytest.mark.parametrize("width", [60, 80, 200])
def test_terminal_table_follows_the_terminal_width(width: int) -> None:
    from flowaudit.reports.text import render_text

    from flowaudit.api import audit

    result = audit(EXAMPLE, __import__("datetime").date.fromisoformat(AS_OF))
    text = render_text(result, "example", width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    if width >= 200:
        assert any(len(line) > 150 for line in text.splitlines()), "a wide terminal is used"
    for f in result.findings:  # each id whole on one line, where it fits a third of the terminal
        if len(f.subject_id) <= width // 3:
            assert re.search(rf"[│┃] {re.escape(f.subject_id)}\s*[│┃]", text), f.subject_id


# --- the executable ends without freeing the audit (cliutil.finish) ---------------------------

@pytest.mark.parametrize("fmt", ["json", "sarif", "text"])
def test_the_executable_writes_its_whole_output_before_it_ends(fmt: str, in_root: Path, tmp_path: Path) -> None:
    """`flowaudit audit` ends by os._exit, skipping the deallocation of the audit: its stdout and
    its -o file are whole, its exit status is the one the in-process command gives, and nothing
    else of the process is lost (the same bytes as CliRunner's run)."""
    import subprocess
    import sys

    args = ["audit", "tests/fixtures/golden/mixed", "--format", fmt, "--as-of", AS_OF, "--no-cache"]
    code, expected, _ = run(*args)
    assert code == 1  # the fixture has findings at or above high
    piped = subprocess.run([sys.executable, "-m", "flowaudit", *args], capture_output=True, check=False)
    assert (piped.returncode, piped.stdout.decode("utf-8")) == (1, expected)
    out = tmp_path / "out"
    written = subprocess.run([sys.executable, "-m", "flowaudit", *args, "-o", str(out), "--fail-on", "critical"],
                             capture_output=True, check=False)
    clean = run(*args, "--fail-on", "critical")[0]
    assert (written.returncode, out.read_text(encoding="utf-8")) == (clean, expected)
