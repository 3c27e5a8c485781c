"""`flowaudit diff`: two inventories (paths or git revisions) compared: entries, transfers, findings."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF_TEXT as AS_OF

from flowaudit.cli import main
from flowaudit.register import register_entry

FIXTURE = Path(__file__).parent / "fixtures" / "register" / "inventory"
TRANSFER = {"id": "crm-to-us-host", "from": "crm", "to": "us-host", "elements": ["email"], "purposes": ["support"]}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with two commits: the inventory, then a transfer to a US processor with no mechanism."""
    for key, value in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@example.org"),
                       ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@example.org"),
                       ("GIT_CONFIG_NOSYSTEM", "1"), ("GIT_CONFIG_GLOBAL", "/dev/null")):
        monkeypatch.setenv(key, value)
    root = tmp_path / "repo"
    shutil.copytree(FIXTURE, root / "inventory")
    (root / "README.yaml").write_text("not: [an inventory\n")  # the repository holds other YAML too
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "inventory")
    register_entry(root / "inventory", "flow", dict(TRANSFER))
    git(root, "commit", "-q", "-am", "add a transfer")
    monkeypatch.chdir(root)
    return root


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["diff", *args, "--as-of", AS_OF], catch_exceptions=False)


def test_diff_of_two_revisions_names_the_added_transfer_and_the_new_finding(repo: Path) -> None:
    text = run("HEAD~1", "HEAD", "--path", "inventory/")
    assert text.exit_code == 0, text.output
    assert "+ flow crm-to-us-host" in text.output
    assert "+ flow crm-to-us-host [GDPR] Acme GmbH (DE) → US Hosting Inc. (US), to US, mechanism none" in text.output
    assert "+ CRITICAL TRF-001 flow crm-to-us-host" in text.output
    assert "[inventory/flows.yaml:16]" in text.output  # named by its path in the tree

    report = json.loads(run("HEAD~1", "HEAD", "--path", "inventory/", "--format", "json").output)
    assert report["old"]["kind"] == "git" and report["old"]["path"] == "inventory"
    assert report["new"]["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert report["entries"]["added"] == [{"id": "crm-to-us-host", "kind": "flow"}]
    assert report["entries"]["removed"] == [] and report["entries"]["changed"] == []
    [transfer] = report["transfers"]["added"]
    assert (transfer["flow"], transfer["regime"], transfer["mechanism"]) == ("crm-to-us-host", "gdpr", None)
    assert transfer["exporter"]["id"] == "acme" and transfer["importer"]["id"] == "us-host"
    assert transfer["countries"] == ["US"]
    assert report["transfers"]["removed"] == []
    new = {(f["rule"], f["subject"]["id"]) for f in report["findings"]["new"]}
    assert ("TRF-001", "crm-to-us-host") in new
    assert report["findings"]["resolved"] == []
    assert report["summary"]["findings"]["new_by_severity"]["critical"] >= 1
    trf = next(f for f in report["findings"]["new"] if f["rule"] == "TRF-001")
    assert trf["location"] == {"file": "inventory/flows.yaml", "line": 16}

    markdown = run("HEAD~1", "HEAD", "--path", "inventory/", "--format", "markdown").output
    assert markdown.startswith("<!-- flowaudit-diff -->\n## flowaudit: `HEAD~1`")
    assert "### New findings" in markdown
    assert "| 🔴 critical | TRF-001 | flow `crm-to-us-host` |" in markdown
    assert "### Restricted transfers (1)" in markdown
    assert "| ➕ added | `crm-to-us-host` | GDPR | Acme GmbH (DE) → US Hosting Inc. (US) | US | **none** |" in markdown
    assert "| ➕ added | flow | `crm-to-us-host` |" in markdown


def test_reversed_diff_resolves_the_finding_and_removes_the_transfer(repo: Path) -> None:
    report = json.loads(run("HEAD", "HEAD~1", "--path", "inventory", "--format", "json").output)
    assert report["entries"]["removed"] == [{"id": "crm-to-us-host", "kind": "flow"}]
    assert [t["flow"] for t in report["transfers"]["removed"]] == ["crm-to-us-host"]
    assert ("TRF-001", "crm-to-us-host") in {(f["rule"], f["subject"]["id"]) for f in report["findings"]["resolved"]}
    assert report["findings"]["new"] == []


def test_changed_fields_and_a_changed_transfer(repo: Path) -> None:
    flows = repo / "inventory" / "flows.yaml"
    flows.write_text(flows.read_text().replace(
        "    to: us-host\n    elements: [email]\n    purposes: [support]\n",
        "    to: us-host\n    elements: [email]\n    purposes: [support]\n"
        "    transfer: {mechanism: scc, scc: {module: c2p, version: 2021}}\n"))
    data = repo / "inventory" / "data.yaml"
    data.write_text(data.read_text().replace("retention: P3Y", "retention: P5Y"))
    git(repo, "commit", "-q", "-am", "sign SCCs, keep support data longer")
    report = json.loads(run("HEAD~1", "HEAD", "--path", "inventory", "--format", "json").output)
    changed = {(c["kind"], c["id"]): c for c in report["entries"]["changed"]}
    assert changed[("purpose", "support")]["changes"] == [{"field": "retention", "old": "P3Y", "new": "P5Y"}]
    assert changed[("flow", "crm-to-us-host")]["fields"] == [
        "transfer.mechanism", "transfer.scc.module", "transfer.scc.version"]
    [transfer] = report["transfers"]["changed"]
    assert transfer["mechanism"] == "scc" and "mechanism" in transfer["fields"]
    resolved = {(f["rule"], f["subject"]["id"]) for f in report["findings"]["resolved"]}
    assert ("TRF-001", "crm-to-us-host") in resolved
    text = run("HEAD~1", "HEAD", "--path", "inventory").output
    assert "  ~ purpose support:\n      retention: P3Y → P5Y\n" in text
    assert "      transfer.mechanism: none → scc\n" in text


def test_a_revision_against_the_working_tree_takes_the_path_from_the_other_side(repo: Path) -> None:
    result = run("HEAD~1", "inventory", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["old"]["path"] == "inventory" and report["new"]["kind"] == "path"
    assert [t["flow"] for t in report["transfers"]["added"]] == ["crm-to-us-host"]


def test_two_folders(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(FIXTURE, old)
    shutil.copytree(FIXTURE, new)
    register_entry(new, "flow", dict(TRANSFER))
    result = run(str(old), str(new), "-o", str(tmp_path / "out" / "diff.md"), "--format", "markdown")
    assert result.exit_code == 0 and result.output == ""
    assert "TRF-001" in (tmp_path / "out" / "diff.md").read_text()
    same = run(str(old), str(old), "--format", "markdown").output
    assert "No change to the inventory's entries, transfers or findings." in same


def test_json_is_deterministic(repo: Path) -> None:
    first = run("HEAD~1", "HEAD", "--path", "inventory", "--format", "json").output
    assert first == run("HEAD~1", "HEAD", "--path", "inventory", "--format", "json").output


def test_fail_on_counts_only_new_findings(repo: Path) -> None:
    assert run("HEAD~1", "HEAD", "--path", "inventory", "--fail-on", "high").exit_code == 1
    assert run("HEAD", "HEAD~1", "--path", "inventory", "--fail-on", "high").exit_code == 0


def test_invalid_side_exits_2_and_names_it(repo: Path) -> None:
    (repo / "inventory" / "broken.yaml").write_text("flows: [{id: x, from: crm, to: nowhere}]\n")
    git(repo, "add", "inventory/broken.yaml")
    git(repo, "commit", "-q", "-m", "broken")
    result = run("HEAD~1", "HEAD", "--path", "inventory")
    assert result.exit_code == 2
    assert "NEW HEAD (" in result.output and "not a valid inventory" in result.output
    assert "inventory/broken.yaml:1" in result.output and "nowhere" in result.output

    result = run("no-such-branch", "HEAD~1", "--path", "inventory")
    assert result.exit_code == 2
    assert "OLD 'no-such-branch': neither an existing path nor a git revision" in result.output
    result = run("HEAD~1", "HEAD~1", "--path", "nothing-here")
    assert result.exit_code == 2 and "no inventory files at 'nothing-here'" in result.output
    # the whole repository is not an inventory: the message says to use --path
    result = run("HEAD~1", "HEAD~1")
    assert result.exit_code == 2 and "OLD HEAD~1" in result.output and "README.yaml:" in result.output
    assert "name the inventory folder with --path" in result.output


def test_a_changed_tia_is_a_field_level_change_and_a_changed_transfer(repo: Path) -> None:
    """Issue 14: a TIA date change showed as two identical-looking truncated JSON blobs, and
    "Restricted transfers: 0 changed"."""
    flows = repo / "inventory" / "flows.yaml"
    signed = ("    transfer: {mechanism: scc, scc: {module: c2p, version: 2021, signed: 2022-01-05},\n"
              "               tia: {date: 2023-01-10, outcome: acceptable}}\n")
    flows.write_text(flows.read_text().replace(
        "    to: us-host\n    elements: [email]\n    purposes: [support]\n",
        "    to: us-host\n    elements: [email]\n    purposes: [support]\n" + signed))
    git(repo, "commit", "-q", "-am", "SCCs and a TIA")
    flows.write_text(flows.read_text().replace("tia: {date: 2023-01-10, outcome: acceptable}",
                                               "tia: {date: 2025-02-01, outcome: acceptable},\n"
                                               "               measures: [encryption-in-transit]"))
    git(repo, "commit", "-q", "-am", "TIA renewed")
    report = json.loads(run("HEAD~1", "HEAD", "--path", "inventory", "--format", "json").output)
    [flow] = report["entries"]["changed"]
    assert flow["changes"] == [
        {"field": "transfer.measures", "old": [], "new": ["encryption-in-transit"]},
        {"field": "transfer.tia.date", "old": "2023-01-10", "new": "2025-02-01"},
    ]
    assert report["summary"]["transfers"]["changed"] == 1
    [transfer] = report["transfers"]["changed"]
    assert transfer["fields"] == ["tia.date", "measures"]
    text = run("HEAD~1", "HEAD", "--path", "inventory").output
    assert "      transfer.tia.date: 2023-01-10 → 2025-02-01\n" in text
    assert "Restricted transfers: 0 added, 0 removed, 1 changed" in text
    assert "      tia.date: 2023-01-10 → 2025-02-01\n" in text
    markdown = run("HEAD~1", "HEAD", "--path", "inventory", "--format", "markdown").output
    assert "`transfer.tia.date`: 2023-01-10 → 2025-02-01" in markdown
    assert "`transfer.measures`: \\[\\] → \\[encryption-in-transit\\]" in markdown
    assert "✏️ changed: `tia.date`: 2023-01-10 → 2025-02-01" in markdown
