"""`flowaudit register` finishes the job (issue 14, item 1): a repeated flow is refused and
`--update` changes it in place; `register organisation`; what clears a TIA finding; "written"
before the findings; a duplicate id reported once; and the small words (item 9)."""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flowaudit.inventory import load_inventory

from flowaudit.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "register" / "inventory"
AS_OF = "2025-06-01"
US_FLOW = ["--from", "crm", "--to", "us-host", "--elements", "email", "--purposes", "support"]


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(FIXTURE, target)
    return target


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def changed_lines(old: str, new: str) -> list[str]:
    return [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_repeating_a_flow_is_refused_with_a_hint(inv: Path) -> None:
    assert run("register", "flow", str(inv), *US_FLOW, "--as-of", AS_OF).exit_code == 1  # TRF-001
    before = (inv / "flows.yaml").read_bytes()
    result = run("register", "flow", str(inv), *US_FLOW, "--mechanism", "scc", "--scc-module", "c2p",
                 "--as-of", AS_OF)
    assert result.exit_code == 2, result.output
    assert "flow 'crm-to-us-host'" in result.output and "--update" in result.output
    assert "flows.yaml:" in result.output
    assert (inv / "flows.yaml").read_bytes() == before
    assert "crm-to-us-host-2" not in load_inventory(inv).flows


def test_update_changes_the_flow_in_place_and_clears_the_finding(inv: Path) -> None:
    assert run("register", "flow", str(inv), *US_FLOW, "--as-of", AS_OF).exit_code == 1
    flows = inv / "flows.yaml"
    flows.write_text(flows.read_text().replace("  - id: crm-to-us-host\n",
                                               "  # hosting, added in the ticket OPS-7\n  - id: crm-to-us-host\n"))
    before = flows.read_text()
    result = run("register", "flow", str(inv), *US_FLOW, "--update", "--scc-module", "c2p", "--scc-signed",
                 "2024-03-01", "--tia-date", "2025-02-01", "--tia-outcome", "acceptable", "--measures",
                 "encryption-in-transit,pseudonymisation", "--as-of", AS_OF)
    assert any(line.startswith("updated: ") for line in result.output.splitlines()), result.output
    assert "TRF-001" not in result.output and "TRF-004" not in result.output
    after = flows.read_text()
    assert changed_lines(before, after) == [
        "+    transfer:",
        "+      mechanism: scc",
        "+      scc: {module: c2p, version: 2021, signed: 2024-03-01}",
        "+      tia: {date: 2025-02-01, outcome: acceptable}",
        "+      measures: [encryption-in-transit, pseudonymisation]",
    ]
    assert "# hosting, added in the ticket OPS-7" in after  # comments kept
    inventory = load_inventory(inv)
    flow = inventory.flows["crm-to-us-host"]
    assert flow.transfer is not None and flow.transfer.tia is not None
    assert str(flow.transfer.tia.date) == "2025-02-01" and flow.transfer.measures == [
        "encryption-in-transit", "pseudonymisation"]
    assert len([f for f in inventory.flows.values() if f.to == "us-host"]) == 1


def test_update_by_id_changes_one_field(inv: Path) -> None:
    before = (inv / "flows.yaml").read_text()
    result = run("register", "flow", str(inv), "--update", "--id", "crm-to-mailer", "--purposes",
                 "newsletter,support", "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.output
    assert changed_lines(before, (inv / "flows.yaml").read_text()) == [
        "-    purposes: [newsletter]", "+    purposes: [newsletter, support]"]


def test_update_of_nothing_says_so(inv: Path) -> None:
    result = run("register", "flow", str(inv), *US_FLOW, "--update", "--mechanism", "adequacy")
    assert result.exit_code == 2
    assert "no flow with from 'crm' to 'us-host'" in result.output and "without --update" in result.output


def test_scc_module_without_version_says_what_it_assumed(inv: Path) -> None:
    result = run("register", "flow", str(inv), *US_FLOW, "--scc-module", "c2p", "--as-of", AS_OF)
    assert "assumed 2021" in result.output
    flow = load_inventory(inv).flows["crm-to-us-host"]
    assert flow.transfer is not None and flow.transfer.scc is not None and flow.transfer.scc.version == 2021


def test_written_comes_before_the_findings_and_exit_1_is_documented(inv: Path) -> None:
    result = run("register", "flow", str(inv), *US_FLOW, "--as-of", AS_OF)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("written: ") and "flows.yaml:" in lines[0]
    assert "TRF-001" in result.output and "is written" in lines[-1]
    for command in ([], ["flow"], ["system"], ["organisation"], ["element"]):
        help_text = run("register", *command, "--help").output
        assert "1  written, and a finding" in help_text, command


def test_register_organisation_then_a_system_it_operates(inv: Path) -> None:
    result = run("register", "organisation", str(inv), "--id", "fr-printer", "--name", "Printer SARL",
                 "--country", "fr", "--relation", "processor", "--dpa-signed", "2024-01-15", "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.output
    assert result.output.startswith("written: ") and "organisations.yaml:" in result.output
    assert "  - id: fr-printer\n    name: Printer SARL\n    country: FR\n    relation: processor\n" \
           "    dpa: {signed: 2024-01-15}\n" in (inv / "organisations.yaml").read_text()
    result = run("register", "system", str(inv), "--id", "print-queue", "--name", "Print queue",
                 "--operator", "fr-printer", "--as-of", AS_OF)
    assert result.exit_code in (0, 1), result.output
    assert load_inventory(inv).systems["print-queue"].operator == "fr-printer"


def test_unknown_operator_says_how_to_add_one(inv: Path) -> None:
    result = run("register", "system", str(inv), "--id", "s2", "--name", "S", "--operator", "fr-printer")
    assert result.exit_code == 2
    assert "flowaudit register organisation" in result.output and "--id fr-printer" in result.output


def test_a_duplicate_id_across_kinds_is_reported_once_on_the_new_entry(inv: Path) -> None:
    result = run("register", "system", str(inv), "--id", "email", "--name", "X", "--operator", "acme",
                 "--file", "a-first.yaml")  # a file read before data.yaml: the validator would blame data.yaml
    assert result.exit_code == 2
    problems = [line for line in result.output.splitlines() if "email" in line]
    assert len(problems) == 1, result.output
    assert problems[0].startswith(str(inv / "a-first.yaml") + ":") or "a-first.yaml:" in problems[0]
    assert "already used by the element at" in problems[0] and "data.yaml:" in problems[0]
    assert "1 problem; nothing was written" in result.output
    assert not (inv / "a-first.yaml").exists()


def test_a_reference_to_the_wrong_kind_says_an_organisation(inv: Path) -> None:
    result = run("register", "system", str(inv), "--id", "s2", "--name", "S", "--operator", "email")
    assert result.exit_code == 2
    assert "must name an organisation" in result.output


# --- small words (issue 14, item 9) -----------------------------------------------------------------

def test_validate_never_says_nothing_was_written(inv: Path) -> None:
    (inv / "broken.yaml").write_text("flows: [{id: x, from: crm, to: nowhere}]\n")
    result = run("validate", str(inv))
    assert result.exit_code == 2
    assert "nowhere" in result.output and "nothing was written" not in result.output


def test_a_bad_date_says_the_expected_format(inv: Path) -> None:
    text = (inv / "organisations.yaml").read_text().replace("signed: 2023-02-01", "signed: 2023-02-30")
    (inv / "organisations.yaml").write_text(text)
    result = run("validate", str(inv))
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD" in result.output and "Input should be" not in result.output


def test_readme_starts_newcomers_in_a_venv_and_diffs_a_real_inventory() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    two_commands = readme.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    assert "python3 -m venv .venv && . .venv/bin/activate" in two_commands
    assert two_commands.index("python3 -m venv") < two_commands.index("pip install -e")
    paths = re.findall(r"flowaudit diff \S+ \S+ --path (\S+)", readme)
    assert paths and all((root / p).is_dir() for p in paths), paths


def test_no_skip_message_names_a_path_outside_the_repository() -> None:
    """A skip reason is printed in every test summary; it names programs and files by name."""
    tests = Path(__file__).resolve().parent
    for source in sorted(tests.glob("*.py")):
        text = source.read_text(encoding="utf-8")
        for reason in re.findall(r"(?:skip\(|reason=)\s*(f?\"[^\"]*\"|f?'[^']*')", text):
            assert not re.search(r"\{(SPEC|path\w*|ROOT)\}|/(usr|work|tmp|home|root)/", reason), (source.name, reason)
