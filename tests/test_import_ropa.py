"""`flowaudit import ropa`: workbooks laid out as the ICO's templates, flowaudit's own
ropa.xlsx, the DPO round trip (`--into`), and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import flowaudit
from conftest import EXAMPLE
from flowaudit.cli import main
from flowaudit.interop.common import NEEDS_REVIEW
from flowaudit.interop.ropa_edit import set_field
from flowaudit.interop.ropa_in import match_heading
from flowaudit.inventory import load_inventory
from ico_template import CONTROLLER_HEADINGS, CONTROLLER_ROWS, write_ico_controller, write_ico_processor


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_ico_controller_template(tmp_path: Path) -> None:
    book = write_ico_controller(tmp_path / "ico.xlsx")
    res = run("import", "ropa", str(book), "-o", str(tmp_path / "inv"))
    assert res.exit_code == 0, res.output
    inv = load_inventory(tmp_path / "inv")
    me = inv.controller
    assert (me.name, me.country) == ("Acme Widgets Ltd", "GB")
    assert me.dpo.name == "Dana Pratt" and me.dpo.email == "dpo@acme.example"
    assert me.representative.country == "IE"
    payroll = inv.purposes["payroll"]
    assert (payroll.legal_basis.value, payroll.special_condition.value, payroll.retention) == (
        "contract", "employment", "P6Y")
    assert payroll.business_function == "Human resources"
    categories = {inv.elements[e].category.value for e in payroll.elements}
    assert categories >= {"financial", "government-id", "special:health"}
    newsletter = inv.purposes["newsletter"]
    assert newsletter.legal_basis.value == "consent" and newsletter.retention is None
    assert "Until the customer unsubscribes" in newsletter.notes and newsletter.notes.startswith(NEEDS_REVIEW)
    assert newsletter.profiling and str(newsletter.dpia.date) == "2024-02-10"
    mailshot = inv.organisations["mailshot-inc"]
    assert (mailshot.relation.value, mailshot.country) == ("processor", "US")
    assert inv.organisations["hmrc"].relation.value == "authority"
    to_mailshot = next(f for f in inv.flows.values() if f.to == "mailshot-inc")
    assert to_mailshot.transfer.mechanism.value == "idta"
    india = next(o for o in inv.organisations.values() if o.country == "IN")
    assert any(f.to == india.id and f.transfer is not None for f in inv.flows.values())
    system = next(iter(inv.systems.values()))
    assert {"encryption-at-rest", "access-control", "logging"} <= set(system.security)
    report = (tmp_path / "inv" / "import-report.md").read_text()
    assert "'Narnia' not understood" in report and "row 7, column H" in report
    # and the result reports end to end
    assert run("audit", str(tmp_path / "inv"), "-o", str(tmp_path / "a.txt")).exit_code in (0, 1)


def test_ico_processor_template(tmp_path: Path) -> None:
    book = write_ico_processor(tmp_path / "p.xlsx")
    assert run("import", "ropa", str(book), "-o", str(tmp_path / "inv")).exit_code == 0
    inv = load_inventory(tmp_path / "inv")
    assert inv.controller.name == "HostCo GmbH" and inv.controller.country == "DE"
    purpose = inv.purposes["hosting-the-client-s-crm"]
    assert purpose.role.value == "processor"
    assert inv.organisations[purpose.on_behalf_of].name == "Client plc"


@pytest.mark.parametrize(("heading", "field"), [
    ("PURPOSE OF PROCESSING", "purpose"), ("Purpose  of the processing", "purpose"),
    ("Categories of individuals ", "subjects"), ("Categories of data subjects", "subjects"),
    ("Art 6 lawful basis", "basis"), ("Article 6 lawful basis for processing personal data", "basis"),
    ("Retention schedule (if possible)", "retention"), ("Retention schedules", "retention"),
    ("Names of third countries or international organisations that personal data is transferred to", "countries"),
    ("Safeguards for exceptional transfers", "safeguards"), ("Source (inventory)", None), ("Findings", None),
    ("Colour", None),
])
def test_headings_match_tolerantly(heading: str, field: str | None) -> None:
    assert match_heading(heading) == field


def test_reworded_headings_still_import(tmp_path: Path) -> None:
    headings = [h.upper().replace("(IF POSSIBLE)", "").replace("PURPOSE OF PROCESSING", "Purpose of the processing")
                for h in CONTROLLER_HEADINGS]
    rows = [{h.upper().replace("(IF POSSIBLE)", "").replace("PURPOSE OF PROCESSING", "Purpose of the processing"): v
             for h, v in row.items()} for row in CONTROLLER_ROWS]
    book = write_ico_controller(tmp_path / "ico.xlsx", rows, headings=headings)
    assert run("import", "ropa", str(book), "-o", str(tmp_path / "inv")).exit_code == 0
    assert load_inventory(tmp_path / "inv").purposes["payroll"].retention == "P6Y"


def test_unknown_layout_lists_the_expected_columns(tmp_path: Path) -> None:
    book = write_ico_controller(tmp_path / "x.xlsx", [{"Colour": "red"}], headings=["Colour", "Size", "Shape"])
    res = run("import", "ropa", str(book), "-o", str(tmp_path / "inv"))
    assert res.exit_code == 2
    assert "no sheet is laid out as a record of processing" in res.output
    assert "Purpose of processing" in res.output and "Retention schedule" in res.output
    assert not (tmp_path / "inv").exists()
    (tmp_path / "not.xlsx").write_text("hello")
    res = run("import", "ropa", str(tmp_path / "not.xlsx"), "-o", str(tmp_path / "inv"))
    assert res.exit_code == 2 and "not an Excel workbook" in res.output


def test_a_row_without_purpose_names_sheet_row_column(tmp_path: Path) -> None:
    rows = [*CONTROLLER_ROWS, {"Business function": "Sales", "Categories of individuals": "Customers"}]
    book = write_ico_controller(tmp_path / "ico.xlsx", rows)
    res = run("import", "ropa", str(book), "-o", str(tmp_path / "inv"))
    assert res.exit_code == 2
    assert "sheet 'Processing activities', row 8, column B ('Purpose of processing')" in res.output


def test_no_country_for_the_controller(tmp_path: Path) -> None:
    book = write_ico_controller(tmp_path / "ico.xlsx", details=False)
    res = run("import", "ropa", str(book), "-o", str(tmp_path / "inv"))
    assert res.exit_code == 2 and "--country" in res.output
    assert run("import", "ropa", str(book), "-o", str(tmp_path / "inv"), "--country", "GB").exit_code == 0


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ropa.xlsx as `flowaudit report` writes it for the worked example (the workbook only)."""
    from flowaudit.reports.excel import write_xlsx
    from flowaudit.reports.records import ReportData

    path = tmp_path_factory.mktemp("report") / "ropa.xlsx"
    write_xlsx(ReportData(flowaudit.audit(EXAMPLE)), path)
    return path


@pytest.fixture
def reported(tmp_path: Path, workbook: Path) -> tuple[Path, Path]:
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    return inventory, workbook


def test_own_ropa_into_a_new_inventory(reported: tuple[Path, Path], tmp_path: Path) -> None:
    inventory, book = reported
    assert run("import", "ropa", str(book), "-o", str(tmp_path / "new")).exit_code == 0
    new, old = load_inventory(tmp_path / "new"), load_inventory(inventory)
    assert set(new.purposes) == set(old.purposes)
    for pid, p in old.purposes.items():
        assert (new.purposes[pid].legal_basis, new.purposes[pid].retention) == (p.legal_basis, p.retention), pid
    assert new.controller.country == old.controller.country


def _edit(book: Path, purpose: str, changes: dict[str, str], target: Path) -> Path:
    wb = load_workbook(book)
    ws = wb["Controller record"]
    header = next(r for r in ws.iter_rows() if any(c.value == "Purpose id" for c in r))
    cols = {c.value: c.column for c in header}
    for r in range(header[0].row + 1, ws.max_row + 1):
        if ws.cell(r, cols["Purpose id"]).value == purpose:
            for column, value in changes.items():
                old = ws.cell(r, cols[column]).value or ""
                ws.cell(r, cols[column]).value = value.replace("{old}", old)
    wb.save(target)
    return target


def test_round_trip_report_edit_import_into(reported: tuple[Path, Path], tmp_path: Path) -> None:
    inventory, book = reported
    before = {p.name: p.read_text() for p in inventory.glob("*.yaml")}
    edited = _edit(book, "community-services", {
        "Retention schedule": "6 years",
        "Art. 6 lawful basis": "Art. 6(1)(f) legitimate interests",
        "Categories of recipients (and names)": "{old}; processor: Zendesk Inc. (US)",
    }, tmp_path / "edited.xlsx")
    res = run("import", "ropa", str(edited), "--into", str(inventory))
    assert res.exit_code == 0, res.output
    # the diff is printed
    assert "~ purpose community-services" in res.output
    assert "contract → legitimate-interests" in res.output and "→ P6Y" in res.output
    assert "+ organisation zendesk-inc" in res.output and "TRF-001" in res.output
    inv = load_inventory(inventory)
    purpose = inv.purposes["community-services"]
    assert (purpose.retention, purpose.legal_basis.value) == ("P6Y", "legitimate-interests")
    zendesk = inv.organisations["zendesk-inc"]
    assert (zendesk.relation.value, zendesk.country) == ("processor", "US")
    assert any(f.to == "zendesk-inc" and "community-services" in f.purposes for f in inv.flows.values())
    # comments and every untouched line are kept: only the edited lines differ
    after = {p.name: p.read_text() for p in inventory.glob("*.yaml")}
    old_lines, new_lines = before["purposes.yaml"].splitlines(), after["purposes.yaml"].splitlines()
    assert [line for line in old_lines if line.lstrip().startswith("#")] == [
        line for line in new_lines if line.lstrip().startswith("#")]
    import difflib

    changed = [d for d in difflib.ndiff(old_lines, new_lines) if d[:2] in ("+ ", "- ")]
    assert sorted(changed) == sorted(["+     retention: P6Y", "-     legal_basis: contract",
                                      "+     legal_basis: legitimate-interests"])
    assert after["organisations.yaml"].startswith(before["organisations.yaml"].rstrip("\n"))
    # applying the same workbook again changes nothing
    res = run("import", "ropa", str(edited), "--into", str(inventory))
    assert res.exit_code == 0 and "nothing to apply" in res.output


def test_into_bad_cell_exit_2_with_sheet_row_column(reported: tuple[Path, Path], tmp_path: Path) -> None:
    inventory, book = reported
    before = {p.name: p.read_bytes() for p in inventory.glob("*.yaml")}
    edited = _edit(book, "community-services", {"Retention schedule": "for a while"}, tmp_path / "bad.xlsx")
    res = run("import", "ropa", str(edited), "--into", str(inventory))
    assert res.exit_code == 2
    assert "sheet 'Controller record', row" in res.output and "('Retention schedule')" in res.output
    assert "'for a while' is not understood" in res.output
    edited = _edit(book, "community-services", {"Purpose id": "community-service"}, tmp_path / "bad2.xlsx")
    res = run("import", "ropa", str(edited), "--into", str(inventory))
    assert res.exit_code == 2 and "did you mean 'community-services'?" in res.output
    assert {p.name: p.read_bytes() for p in inventory.glob("*.yaml")} == before


def test_into_needs_flowaudits_own_workbook(tmp_path: Path) -> None:
    book = write_ico_controller(tmp_path / "ico.xlsx")
    res = run("import", "ropa", str(book), "--into", str(EXAMPLE))
    assert res.exit_code == 2 and "Purpose id" in res.output
    res = run("import", "ropa", str(book))
    assert res.exit_code == 2 and "either -o DIR" in res.output


def test_set_field_keeps_every_other_byte() -> None:
    raw = ("# team file\npurposes:\n  - id: a   # the first\n    name: A\n    retention: P1Y  # short\n"
           "  - id: b\n    name: B\n    elements: [x,\n               y]\n")
    assert set_field(raw, "purposes", 0, "retention", "P6Y") == raw.replace("retention: P1Y", "retention: P6Y")
    added = set_field(raw, "purposes", 1, "legal_basis", "contract")
    assert added == raw.replace("  - id: b\n", "  - id: b\n    legal_basis: contract\n")
