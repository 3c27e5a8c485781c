"""Red-team cases (issue 9, item 6): waivers and configuration that name no rule, and waivers with
an empty reason or approver, were accepted silently. Each is now an error (exit 2, no traceback,
nothing written) naming the file, the line and the field, with the closest rule id.

Valid names stay valid: a waiver or `[severity]` names one rule of the catalogue (OBS rules of
observed traffic included); `skip`, `--rule` and `--skip` may also name a family (`TPX`); and a
rule of a regime left out by `--regime` is still a rule.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF_TEXT, write_tree

from flowaudit.cli import main

ORG = "organisations:\n  - {id: acme, name: Acme, country: DE, relation: self, contact: privacy@acme.example}\n"
BASE = {
    "organisations.yaml": ORG,
    "subjects.yaml": "subjects:\n  - {id: users, name: Users, locations: [DE]}\n",
    "elements.yaml": ("elements:\n  - {id: email, name: Email, category: contact, subjects: [users]}\n"
                      "  - {id: fax, name: Fax, category: contact, subjects: [users]}\n"),
    "purposes.yaml": ("purposes:\n  - {id: service, name: Service, legal_basis: contract, elements: [email],"
                      " subjects: [users], retention: P1Y}\n"),
    "systems.yaml": ("systems:\n  - {id: crm, name: CRM, operator: acme, locations: [DE], elements: [email, fax],"
                     " security: [tls]}\n"),
    "flows.yaml": "flows:\n  - {id: signup, from: users, to: crm, elements: [email, fax], purposes: [service]}\n",
}
WAIVER = """\
waivers:
  - rule: MIN-001
    subject: fax
    reason: Fax numbers kept until the old CRM is retired
    approved_by: Dana Schmidt (DPO)
    expires: 2026-12-31
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.output


def inventory(tmp_path: Path, waiver: str | None = WAIVER, **extra: str | bytes) -> Path:
    files: dict[str, str | bytes] = dict(BASE)
    if waiver is not None:
        files["waivers.yaml"] = waiver
    files.update({name.replace("__", "."): text for name, text in extra.items()})
    return write_tree(tmp_path / "inv", files)


def refused(inv: Path, *more: str) -> str:
    """`validate` (when the problem is in the inventory) and `audit -o` both exit 2 and write nothing."""
    out_file = inv.parent / "findings.json"
    code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT, "--format", "json", "-o", str(out_file), *more)
    assert code == 2, out
    assert not out_file.exists()
    return out


def test_the_valid_waiver_waives(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT, "--format", "json")
    assert code == 0, out
    assert '"waived": 1' in out


# --- waivers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rule", "closest"), [("MIN-01", "MIN-001"), ("MIN-0001", "MIN-001"), ("min-001", "MIN-001"),
                                                ("TRF-099", "TRF-009"), ("XYZ-001", None)])
def test_a_waiver_of_an_unknown_rule_is_an_error(tmp_path: Path, rule: str, closest: str | None) -> None:
    inv = inventory(tmp_path, WAIVER.replace("MIN-001", rule))
    code, out = run("validate", str(inv))
    assert code == 2, out
    for text in (out, refused(inv)):
        where = r"inv/waivers\.yaml:2:5: rule: waiver of 'fax': unknown rule "
        assert re.search(where + re.escape(repr(rule)), text), text
        if closest:
            assert f"(did you mean {closest!r}?)" in text, text


@pytest.mark.parametrize(("field", "value"), [("reason", "''"), ("reason", "'   '"), ("approved_by", "''"),
                                              ("approved_by", '"\\t"'), ("reason", "")])
def test_a_waiver_with_an_empty_reason_or_approver_is_an_error(tmp_path: Path, field: str, value: str) -> None:
    lines = WAIVER.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(field + ":"))
    lines[at] = f"    {field}: {value}".rstrip()
    inv = inventory(tmp_path, "\n".join(lines) + "\n")
    code, out = run("validate", str(inv))
    assert code == 2, out
    expected = "expected a string, found an empty value" if value == "" else "is empty: a waiver says why"
    assert re.search(rf"inv/waivers\.yaml:{at + 1}:5: {field}: .*{re.escape(expected)}", out), out
    refused(inv)


def test_a_waiver_may_name_a_rule_of_observed_traffic(tmp_path: Path) -> None:
    inv = inventory(tmp_path, WAIVER.replace("MIN-001", "OBS-001").replace("subject: fax", "subject: signup"))
    assert run("validate", str(inv))[0] == 0


def test_a_waiver_of_a_regime_left_out_is_still_a_rule(tmp_path: Path) -> None:
    inv = inventory(tmp_path, WAIVER.replace("MIN-001", "PIPL-001").replace("subject: fax", "subject: signup"))
    code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT, "--regime", "gdpr")
    assert code == 0, out


def test_register_refuses_before_writing_when_a_waiver_names_no_rule(tmp_path: Path) -> None:
    inv = inventory(tmp_path, WAIVER.replace("MIN-001", "MIN-01"))
    before = {p.name: p.read_bytes() for p in inv.iterdir()}
    code, out = run("register", "flow", str(inv), "--from", "crm", "--to", "acme", "--elements", "email",
                    "--purposes", "service")
    assert code == 2, out
    assert "unknown rule 'MIN-01' (did you mean 'MIN-001'?)" in out
    assert {p.name: p.read_bytes() for p in inv.iterdir()} == before


# --- configuration ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "line", "expected"), [
    ("flowaudit.toml", '[severity]\n"MIN-01" = "low"\n', 2,
     "severity: unknown rule 'MIN-01' (did you mean 'MIN-001'?)"),
    ("flowaudit.toml", 'fail_on = "high"\nskip = ["TPX-004", "TPX-04"]\n', 2,
     "skip: unknown rule 'TPX-04' (did you mean 'TPX-004'?)"),
    ("flowaudit.toml", 'skip = ["TRANSFERS"]\n', 1, "skip: unknown rule 'TRANSFERS'"),
    ("flowaudit.toml", '[severity]\nTRF = "low"\n', 2, "severity: 'TRF' is a family; [severity] names one rule"),
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.flowaudit.severity]\n"GOV-01" = "low"\n', 5,
     "severity: unknown rule 'GOV-01' (did you mean 'GOV-001'?)"),
    ("pyproject.toml", '[tool.flowaudit]\nskip = ["SEC-01"]\n', 2,
     "skip: unknown rule 'SEC-01' (did you mean 'SEC-001'?)"),
])
def test_configuration_naming_an_unknown_rule_is_an_error(tmp_path: Path, name: str, content: str, line: int,
                                                          expected: str) -> None:
    inv = inventory(tmp_path)
    (inv / name).write_text(content, encoding="utf-8")
    out = refused(inv)
    assert f"{name}:{line}: {expected}" in out, out


def test_configuration_may_skip_a_family_and_name_any_regime_rule(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    (inv / "flowaudit.toml").write_text('skip = ["TPX", "PIPL-001"]\n[severity]\n"OBS-001" = "low"\n'
                                        '"PIPL-002" = "low"\n', encoding="utf-8")
    for extra in ((), ("--regime", "gdpr")):
        code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT, *extra)
        assert code == 0, out


# --- the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--rule", "MIN-01", "unknown rule 'MIN-01' (did you mean 'MIN-001'?)"),
    ("--skip", "SEC-01", "unknown rule 'SEC-01' (did you mean 'SEC-001'?)"),
    ("--rule", "TRF-001,MIN-9", "unknown rule 'MIN-9'"),
    ("--skip", "TRANSFER", "unknown rule 'TRANSFER'"),
])
def test_rule_and_skip_options_naming_an_unknown_rule_are_errors(tmp_path: Path, option: str, value: str,
                                                                 expected: str) -> None:
    out = refused(inventory(tmp_path), option, value)
    assert f"{option}: {expected}" in out, out


def test_rule_and_skip_options_take_families_and_rules_of_regimes_left_out(tmp_path: Path) -> None:
    inv = inventory(tmp_path)
    for extra in (("--rule", "MIN"), ("--skip", "TPX,PIPL-001", "--regime", "gdpr"), ("--rule", "PIPL-001",
                                                                                     "--regime", "gdpr")):
        code, out = run("audit", str(inv), "--as-of", AS_OF_TEXT, *extra)
        assert code in (0, 1), out
