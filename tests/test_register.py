"""`flowaudit register`: validated before writing, layout kept, atomic, serialised, audited."""

from __future__ import annotations

import difflib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import AS_OF_TEXT as AS_OF
from flowaudit.inventory import load_inventory
from flowaudit.inventory.edit import append_entry

from flowaudit.cli import main
from flowaudit.register import PAUSE_ENV, register_entry

FIXTURE = Path(__file__).parent / "fixtures" / "register" / "inventory"


@pytest.fixture
def inv(tmp_path: Path) -> Path:
    target = tmp_path / "inventory"
    shutil.copytree(FIXTURE, target)
    return target


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (hidden ones too, except the lock) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != ".flowaudit.lock"}


def only_insertions(old: str, new: str, keepends: bool = True) -> list[str]:
    """The lines `new` adds to `old`; fails when any line of `old` was changed or removed."""
    a, b = old.splitlines(keepends=keepends), new.splitlines(keepends=keepends)
    inserted = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        assert tag in ("equal", "insert"), f"{tag}: {a[i1:i2]!r} -> {b[j1:j2]!r}"
        if tag == "insert":
            inserted.extend(b[j1:j2])
    return inserted


# --- layout -----------------------------------------------------------------------------------

def test_register_flow_keeps_comments_key_order_and_layout(inv: Path) -> None:
    before = (inv / "flows.yaml").read_text()
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", "email",
                 "--elements", "full-name", "--purposes", "support,newsletter", "--id", "crm-to-mailer-2",
                 "--source", "ticket OPS-12: mail merge", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    after = (inv / "flows.yaml").read_text()
    added = only_insertions(before, after)
    assert added == [
        "  - id: crm-to-mailer-2\n",
        "    from: crm\n",
        "    to: de-mailer\n",
        "    elements: [email, full-name]\n",
        "    purposes: [support, newsletter]\n",
        "    source: 'ticket OPS-12: mail merge'\n",
    ]
    # appended to the list, before the comment that closes the file
    assert after.endswith("    source: 'ticket OPS-12: mail merge'\n\n# end of flows\n")
    assert "written" in result.output and "flows.yaml:16" in result.output
    flows = load_inventory(inv).flows
    assert list(flows)[-1] == "crm-to-mailer-2"
    assert flows["crm-to-mailer-2"].elements == ["email", "full-name"]


def test_register_system_and_element_go_to_the_files_holding_them(inv: Path) -> None:
    data_before = (inv / "data.yaml").read_text()
    result = run("register", "element", str(inv), "--id", "phone", "--name", "Phone number",
                 "--category", "contact", "--subjects", "customers", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    added = only_insertions(data_before, (inv / "data.yaml").read_text())
    assert added[0] == "  - id: phone\n"
    # appended after the last element, not at the end of the file (purposes follow)
    text = (inv / "data.yaml").read_text()
    assert text.index("id: phone") < text.index("purposes:")
    assert "No findings concern element 'phone'" in result.output  # neither collected nor stored yet

    systems_before = (inv / "systems.yaml").read_text()
    result = run("register", "system", str(inv), "--id", "ticketing", "--name", "Ticketing", "--operator", "acme",
                 "--locations", "DE,FR", "--elements", "email", "--security", "tls", "--security",
                 "access-control,logging", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    added = only_insertions(systems_before, (inv / "systems.yaml").read_text())
    assert "    locations: [DE, FR]\n" in added
    assert "    security: [tls, access-control, logging]\n" in added
    assert load_inventory(inv).systems["ticketing"].locations == ["DE", "FR"]


def test_section_and_file_created_when_missing(inv: Path) -> None:
    orgs_before = (inv / "organisations.yaml").read_text()
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                 "--purposes", "newsletter", "--file", "organisations.yaml", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    orgs_after = (inv / "organisations.yaml").read_text()
    assert orgs_after.startswith(orgs_before)
    assert orgs_after[len(orgs_before):] == ("\nflows:\n  - id: crm-to-de-mailer\n    from: crm\n    to: de-mailer\n"
                                             "    elements: [email, full-name]\n    purposes: [newsletter]\n")

    result = run("register", "element", str(inv), "--id", "ticket-text", "--name", "Ticket text",
                 "--category", "content", "--file", "team-support/elements.yaml", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "(new file)" in result.output
    assert (inv / "team-support" / "elements.yaml").read_text().startswith("elements:\n  - id: ticket-text\n")
    assert "ticket-text" in load_inventory(inv).elements


def test_default_flow_id_is_derived_and_made_unique(inv: Path) -> None:
    for elements in ("email,full-name", "full-name"):
        result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", elements,
                     "--purposes", "newsletter", "--as-of", AS_OF)
        assert result.exit_code == 0, result.output
    assert {"crm-to-de-mailer", "crm-to-de-mailer-2"} <= set(load_inventory(inv).flows)


def test_permissions_of_the_file_are_kept(inv: Path) -> None:
    os.chmod(inv / "flows.yaml", 0o640)
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                 "--purposes", "newsletter", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert (inv / "flows.yaml").stat().st_mode & 0o777 == 0o640


def test_single_file_inventory(tmp_path: Path) -> None:
    merged: dict[str, list] = {}
    for f in sorted(FIXTURE.glob("*.yaml")):
        for key, value in yaml.safe_load(f.read_text()).items():
            merged.setdefault(key, []).extend(value)
    path = tmp_path / "inventory.yaml"
    path.write_text("# the whole inventory in one file\n" + yaml.safe_dump(merged, sort_keys=False))
    result = run("register", "flow", str(path), "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                 "--purposes", "newsletter", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "crm-to-de-mailer" in load_inventory(path).flows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inventory.yaml"]  # no lock, no leftovers


# --- refusals ----------------------------------------------------------------------------------

REFUSALS = {
    "unknown element": (["flow", "--from", "crm", "--to", "us-host", "--elements", "email,emial",
                         "--purposes", "support"], "did you mean 'email'?"),
    "unknown endpoint": (["flow", "--from", "crm", "--to", "us-hots", "--elements", "email",
                          "--purposes", "support"], "did you mean 'us-host'?"),
    "duplicate flow id": (["flow", "--id", "signup", "--from", "crm", "--to", "us-host", "--elements", "email",
                           "--purposes", "support"], "flow 'signup': the id is already used by the flow at"),
    "duplicate id of another kind": (["system", "--id", "email", "--name", "X", "--operator", "acme"],
                                     "system 'email': the id is already used by the element at"),
    "bad category": (["element", "--id", "phone", "--name", "Phone", "--category", "contcat"],
                     "did you mean 'contact'?"),
    "bad mechanism": (["flow", "--from", "crm", "--to", "us-host", "--elements", "email", "--purposes", "support",
                       "--mechanism", "sccs"], "did you mean 'scc'?"),
    "bad country": (["system", "--id", "s2", "--name", "S", "--operator", "acme", "--locations", "DE,XX"],
                    "'XX' is not an ISO 3166-1 alpha-2 country code"),
    "bad id": (["element", "--id", "Phone Number", "--name", "Phone", "--category", "contact"],
               "is not a valid id"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_registration_exits_2_with_a_suggestion_and_writes_nothing(inv: Path, case: str) -> None:
    args, expected = REFUSALS[case]
    before = snapshot(inv)
    result = run("register", args[0], str(inv), *args[1:])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "nothing was written" in result.output
    assert snapshot(inv) == before  # byte-identical, and no temporary file left behind


def test_registration_into_an_invalid_inventory_is_refused(inv: Path) -> None:
    (inv / "broken.yaml").write_text("flows: [{id: x, from: crm, to: nowhere}]\n")
    before = snapshot(inv)
    result = run("register", "element", str(inv), "--id", "phone", "--name", "Phone", "--category", "contact")
    assert result.exit_code == 2
    assert "nowhere" in result.output
    assert snapshot(inv) == before


# --- the audit after writing -------------------------------------------------------------------

def test_transfer_without_mechanism_exits_1_and_names_the_scc_module(inv: Path) -> None:
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    assert "TRF-001" in result.output and "critical" in result.output.lower()
    assert "SCC module for these roles: c2p" in result.output
    assert "transfer: {mechanism: scc, scc: {module: c2p, version: 2021}}" in result.output
    assert "Rely on an adequacy decision" in result.output  # the remediation
    assert "crm-to-us-host" in load_inventory(inv).flows  # written, then audited


def test_transfer_with_the_wrong_module_gets_trf_003_and_the_right_module(inv: Path) -> None:
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "us-host", "--elements", "email",
                 "--purposes", "support", "--scc-module", "c2c", "--scc-version", "2021", "--as-of", AS_OF,
                 "--fail-on", "critical")
    assert result.exit_code == 0, result.output  # TRF-003 is medium, TRF-004 high: below critical
    assert "TRF-001" not in result.output
    assert "TRF-003" in result.output and "SCC module for these roles: c2p" in result.output
    flow = load_inventory(inv).flows["crm-to-us-host"]
    assert flow.transfer is not None and flow.transfer.mechanism.value == "scc"


def test_clean_registration_exits_0(inv: Path) -> None:
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                 "--purposes", "support,newsletter", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "No findings concern flow 'crm-to-de-mailer'" in result.output


def test_findings_on_organisations_the_flow_newly_triggers(inv: Path) -> None:
    text = (inv / "organisations.yaml").read_text()
    (inv / "organisations.yaml").write_text(text + "  - {id: fr-printer, name: Printer SARL, country: FR, "
                                            "relation: processor}\n")
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "fr-printer", "--elements", "full-name",
                 "--purposes", "support", "--as-of", AS_OF)
    assert result.exit_code == 1, result.output
    assert "TPX-001 organisation fr-printer [new]" in result.output


# --- concurrency and crashes -------------------------------------------------------------------

def _register_process(inv: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowaudit", "register", "flow", str(inv), *args,
                             "--as-of", AS_OF], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})


def test_eight_concurrent_registrations_all_land(inv: Path) -> None:
    (inv / "extra.yaml").write_text("elements:\n" + "".join(
        f"  - {{id: el-{i}, name: E{i}, category: contact, subjects: [customers]}}\n" for i in range(8)))
    procs = []
    for i in range(8):
        ident = ["--id", f"conc-{i}"] if i % 2 else []  # half derive their id: they must not collide
        procs.append(_register_process(inv, "--from", "crm", "--to", "de-mailer", "--elements", f"el-{i}",
                                       "--purposes", "newsletter", *ident))
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, (out + err).decode()
    flows = load_inventory(inv).flows  # still valid
    assert {f"conc-{i}" for i in (1, 3, 5, 7)} <= set(flows)
    assert {"crm-to-de-mailer", "crm-to-de-mailer-2", "crm-to-de-mailer-3", "crm-to-de-mailer-4"} <= set(flows)
    assert len(flows) == 2 + 8


def test_a_process_killed_mid_write_leaves_the_old_file(inv: Path) -> None:
    before = (inv / "flows.yaml").read_bytes()
    proc = _register_process(inv, "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                             "--purposes", "newsletter", env={PAUSE_ENV: "30"})

    def written() -> bool:  # the temporary file exists as soon as it is opened; wait for its text
        return any(b"crm-to-de-mailer" in tmp.read_bytes() for tmp in inv.glob(".flows.yaml.*.tmp"))

    deadline = time.monotonic() + 20
    while not written():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the writer never reached its pause"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert (inv / "flows.yaml").read_bytes() == before
    [leftover] = inv.glob(".flows.yaml.*.tmp")  # the complete new text, never moved into place
    assert b"crm-to-de-mailer" in leftover.read_bytes()
    assert "crm-to-de-mailer" not in load_inventory(inv).flows  # valid; the hidden temp file is not read
    # the lock died with the process: the next registration goes through
    result = run("register", "flow", str(inv), "--from", "crm", "--to", "de-mailer", "--elements", "email,full-name",
                 "--purposes", "newsletter", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "crm-to-de-mailer" in load_inventory(inv).flows
    assert not list(inv.glob(".flows.yaml.*.tmp"))  # the killed writer's leftover is cleaned up


# --- splicing edge cases -----------------------------------------------------------------------

ENTRY = {"id": "n1", "from": "a", "to": "on", "elements": ["yes", "x"], "notes": "two\nlines: #"}


@pytest.mark.parametrize("text", [
    "",
    "# only a comment\n",
    "flows:\n",
    "flows:   # none yet\nsystems: []\n",
    "flows: ~  # none\n",
    "flows: []\n",
    "flows: [{id: a}]  # inline\n",
    "flows:\n- id: a\n  to: b\n",
    "flows:\n  - {id: a, to: b}\n  - {id: c,\n     to: d}\n# end\n",
    "flows:\n  - id: a\n    notes: |\n      # not a comment\n      x\n\n  # trailing\nsystems: []\n",
    "flows:\n  - id: a\n    elements: [p,\n      q\n    ]\n",
    "flows:\n  - id: a\n    to: b",
    "flows:\r\n  - id: a\r\n    to: b\r\n",
    "\ufeffflows:\n  - id: a\n",
])
def test_splice_appends_and_keeps_everything_else(text: str) -> None:
    new, line = append_entry(text, "flows", ENTRY)
    doc = yaml.safe_load(new.lstrip("\ufeff"))
    old = (yaml.safe_load(text.lstrip("\ufeff")) or {}) if text.strip() else {}
    assert doc["flows"] == [*(old.get("flows") or []), ENTRY]  # 'on' and 'yes' stay strings
    assert {k: v for k, v in doc.items() if k != "flows"} == {k: v for k, v in old.items() if k != "flows"}
    assert new.splitlines()[line - 1].lstrip(" -\ufeff").startswith("id: n1")
    if "[{" not in text and "~" not in text and "[]" not in text:
        only_insertions(text, new, keepends=False)  # every original line kept as it was
    if "\r\n" in text:
        assert new.count("\r\n") == new.count("\n")


def test_register_entry_api(inv: Path) -> None:
    reg = register_entry(inv, "element", {"id": "phone", "name": "Phone", "category": "contact"})
    assert reg.entry_id == "phone" and reg.file.name == "data.yaml" and not reg.created_file
    assert "phone" in reg.inventory.elements
    assert reg.before_inventory() is not None and "phone" not in reg.before_inventory().elements
