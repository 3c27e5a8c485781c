"""The report bundle: ropa.xlsx, report.html, findings.json and dataflow.svg.

Sheets and sections exist, output is byte-identical for the same inventory and as-of date,
nothing half-written remains on error, and hostile inventory strings stay inert text.
"""

from __future__ import annotations

import json
import re
import zipfile
from html import unescape
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from conftest import AS_OF
from flowaudit.audits import default_rulebook
from flowaudit.inventory import FlowauditError, load_inventory
from flowaudit.reports import write_report
from flowaudit.reports.excel import FORMULA_TRIGGERS
from flowaudit.reports.html import script_json
from flowaudit.reports.lineage import render_lineage
from flowaudit.reports.machine import render_json
from flowaudit.reports.records import SAFEGUARDS, ReportData, retention_text

from flowaudit.api import audit
from flowaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
FIXTURES = ROOT / "tests" / "fixtures" / "reports"
INJECTION = FIXTURES / "injection"
FILES = ("ropa.xlsx", "report.html", "findings.json", "dataflow.svg")
SHEETS = ["Controller record", "Processor record", "Transfers", "Findings", "Elements", "Systems", "Recipients",
          "Exposure"]
ICO_COLUMNS = [
    "Business function", "Purpose of processing", "Name and contact details of joint controller",
    "Categories of individuals", "Categories of personal data", "Categories of recipients (and names)",
    "Link to contract with processor", "Names of third countries or international organisations",
    "Safeguards for exceptional transfers", "Retention schedule",
    "General description of technical and organisational security measures", "Art. 6 lawful basis",
    "Art. 9 condition (special category data)", "Legitimate interests (if applicable)",
    "Rights available / automated decision-making and profiling", "Source of personal data",
    "Location of personal data", "DPIA required / date",
]
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', '=HYPERLINK("http://x","y")',
           "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)")


def _report(path: Path, out: Path) -> tuple[object, list[Path]]:
    result = audit(path, AS_OF)
    return result, write_report(result, out, label=path.relative_to(ROOT).as_posix())


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    out = tmp_path_factory.mktemp("example") / "report"
    result, _ = _report(EXAMPLE, out)
    return result, out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    out = tmp_path_factory.mktemp("injection") / "report"
    result, _ = _report(INJECTION, out)
    return result, out


def _header_row(ws) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    """The table's header: the first row whose first cell is in the frozen pane's row above."""
    row = int(re.sub(r"\D", "", ws.freeze_panes)) - 1
    return row, [c.value for c in ws[row] if c.value is not None]


# --- the bundle ------------------------------------------------------------------------------


def test_all_four_files_are_written(example: tuple[object, Path]) -> None:
    _, out = example
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "staging folder left behind"


def test_findings_json_is_the_machine_output(example: tuple[object, Path]) -> None:
    result, out = example
    text = (out / "findings.json").read_text(encoding="utf-8")
    assert text == render_json(result, "data/examples/support-community")  # type: ignore[arg-type]
    assert json.loads(text)["summary"] == result.summary()  # type: ignore[attr-defined]


def test_two_runs_are_byte_identical(tmp_path: Path) -> None:
    for path in (EXAMPLE, INJECTION):
        _report(path, tmp_path / "a")
        _report(path, tmp_path / "b")
        for name in FILES:
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), (path.name, name)


def test_nothing_half_written_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowaudit.reports import bundle

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bundle, "write_xlsx", broken)
    out = tmp_path / "out"
    with pytest.raises(FlowauditError, match="No space left"):
        write_report(audit(EXAMPLE, AS_OF), out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_report_refuses_a_file_as_output_folder(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(FlowauditError, match="not a folder"):
        write_report(audit(EXAMPLE, AS_OF), target)


def test_cli_report(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    run = CliRunner().invoke(main, ["report", str(EXAMPLE), "-o", str(out), "--as-of", "2025-06-01"])
    assert run.exit_code == 0, run.output
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


# --- ropa.xlsx -------------------------------------------------------------------------------


def test_workbook_sheets_headers_filters(example: tuple[object, Path]) -> None:
    result, out = example
    wb = openpyxl.load_workbook(out / "ropa.xlsx")
    assert wb.sheetnames == SHEETS
    ws = wb["Controller record"]
    row, header = _header_row(ws)
    assert header[: len(ICO_COLUMNS)] == ICO_COLUMNS
    assert header[-2:] == ["Source (inventory)", "Purpose id"]
    assert ws.auto_filter.ref.startswith(f"A{row}:")
    above = {ws.cell(r, 1).value for r in range(1, row)}
    assert {"Controller", "Contact details", "Representative (Art. 27)", "Data protection officer"} <= above
    inv = result.inventory  # type: ignore[attr-defined]
    ids = [ws.cell(r, len(header)).value for r in range(row + 1, ws.max_row + 1)]
    assert ids == sorted(p.id for p in inv.purposes.values() if p.role.value == "controller")
    for name in SHEETS[1:]:
        sheet = wb[name]
        assert sheet.freeze_panes, name
        assert sheet.auto_filter.ref, name
    findings = wb["Findings"]
    assert findings.max_row - 1 == len(result.findings)  # type: ignore[attr-defined]
    transfers = wb["Transfers"]
    assert transfers.max_row - 1 == sum(1 for _ in result.view.transfers())  # type: ignore[attr-defined]
    _, theader = _header_row(transfers)
    for column in ("Exporter", "Importer", "Countries", "Regime", "Elements", "Mechanism", "SCC module", "TIA date",
                   "TIA outcome", "Measures", "Onward path", "Status", "Findings"):
        assert column in theader


def test_severity_cells_are_coloured(example: tuple[object, Path]) -> None:
    _, out = example
    ws = openpyxl.load_workbook(out / "ropa.xlsx")["Findings"]
    col = [c.value for c in ws[1]].index("Severity") + 1
    fills = {ws.cell(r, col).value: ws.cell(r, col).fill.fgColor.rgb for r in range(2, ws.max_row + 1)}
    assert len(set(fills.values())) == len(fills) > 1, fills


def test_processor_record_holds_processor_activities(hostile: tuple[object, Path]) -> None:
    _, out = hostile
    ws = openpyxl.load_workbook(out / "ropa.xlsx")["Processor record"]
    row, header = _header_row(ws)
    assert header[0] == "Name and contact details of the controller"
    assert ws.cell(row + 1, len(header)).value == "hosting"


def test_no_cell_is_a_formula(hostile: tuple[object, Path]) -> None:
    _, out = hostile
    with zipfile.ZipFile(out / "ropa.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            xml = archive.read(name).decode("utf-8")
            assert "<f>" not in xml and "<f " not in xml, name
    wb = openpyxl.load_workbook(out / "ropa.xlsx")
    seen = set()
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    assert cell.quotePrefix, (ws.title, cell.coordinate)
                    seen.add(cell.value)
    for text in ('=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1+1"):
        assert text in seen or any(v.startswith(text) for v in seen), text


def test_xlsx_zip_has_fixed_timestamps(example: tuple[object, Path]) -> None:
    _, out = example
    with zipfile.ZipFile(out / "ropa.xlsx") as archive:
        assert {i.date_time for i in archive.infolist()} == {(2025, 6, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode("utf-8")
    assert "2025-06-01T00:00:00Z" in core


# --- report.html -----------------------------------------------------------------------------


def test_html_sections_and_self_containment(example: tuple[object, Path]) -> None:
    _, out = example
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in ("summary", "countries", "findings", "record", "transfers", "diagram", "lineage", "exposure",
                    "inventory"):
        assert f'<section id="{section}"' in html, section
    assert "<svg" in html and "<?xml" not in html and "<!DOCTYPE svg" not in html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert csp and "default-src 'none'" in unescape(csp.group(1)) and "unsafe-inline" not in csp.group(1)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "something would be fetched"
    assert "@import" not in html and "url(" not in html
    assert html.count("<details class=\"lineage\"") == len(load_inventory(EXAMPLE).elements)
    assert "@media print" in html


def test_html_is_inert_for_hostile_strings(hostile: tuple[object, Path]) -> None:
    _, out = hostile
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<script") == 2  # the JSON data block and the report's own script
    lowered = html.lower()
    for needle in ("<img", "<svg onload", "<b>bold", "<b>html", "</script><script"):
        assert needle not in lowered, needle
    data = re.search(r'<script type="application/json" id="flowaudit-data">(.*?)</script>', html, re.DOTALL)
    assert data and "<" not in data.group(1) and "\u2028" not in data.group(1)
    strings = json.loads(data.group(1))["strings"]
    assert any("<script>alert(1)</script>" in s for s in strings)


def test_script_json_escapes_what_ends_a_script() -> None:
    text = script_json({"a": "</script><!-- & \u2028\u2029 >"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029 >"}


# --- records ---------------------------------------------------------------------------------


def test_transfer_safeguards_and_countries(example: tuple[object, Path]) -> None:
    result, _ = example
    data = ReportData(result)  # type: ignore[arg-type]
    assert data.transfer_rows
    assert {r["safeguard"] for r in data.transfer_rows} <= set(SAFEGUARDS)
    total = sum(c["total"] for c in data.countries)
    assert total == sum(len(r["countries"]) for r in data.transfer_rows)
    for c in data.countries:
        assert sum(c["safeguards"]) == c["total"]


@pytest.mark.parametrize("period, text", [("P3Y", "3 years (P3Y)"), ("P1Y6M", "1 year 6 months (P1Y6M)"),
                                          ("PT12H", "12 hours (PT12H)"), ("P1M", "1 month (P1M)"),
                                          ("PT5M", "5 minutes (PT5M)"),
                                          ("until-account-deletion", "until the account is deleted"),
                                          (None, "")])
def test_retention_in_words(period: str | None, text: str) -> None:
    assert retention_text(period) == text


# --- lineage ---------------------------------------------------------------------------------


def test_lineage_text() -> None:
    inv = load_inventory(INJECTION)
    text = render_lineage(inv, "email", AS_OF, default_rulebook())
    assert "Collected from" in text and "Flows carrying it (3)" in text
    assert "collect:" in text and "to-cloud:" in text and "to-partner:" in text
    assert text.index("collect:") < text.index("to-cloud:")  # from the source onwards
    assert "restricted transfer under EU GDPR" in text and "scc c2p 2021" in text
    assert "no mechanism" in text  # to-partner
    assert "Stored in" in text and "crm" in text and "cloud-db" in text
    assert "Reaches 2 external organisations" in text
    assert "US United States" in text and "IN India" in text


def test_lineage_unknown_element_suggests() -> None:
    with pytest.raises(FlowauditError, match="did you mean 'email'"):
        render_lineage(load_inventory(INJECTION), "emial", AS_OF, default_rulebook())


def test_cli_lineage() -> None:
    run = CliRunner().invoke(main, ["lineage", str(INJECTION), "health", "--as-of", "2025-06-01"])
    assert run.exit_code == 0, run.output
    assert "special category" in run.output
    run = CliRunner().invoke(main, ["lineage", str(INJECTION), "helth"])
    assert run.exit_code == 2 and "did you mean 'health'" in run.output


def test_workbook_reads_as_a_regulator_prints_it(example: tuple[object, Path]) -> None:
    """Every sheet prints landscape, one page wide, its header row repeated; findings most
    severe first; an empty processor record says so; adequacy and missing TIAs are named."""
    _, out = example
    wb = openpyxl.load_workbook(out / "ropa.xlsx")
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert ws.print_title_rows, ws.title
        header, _ = _header_row(ws)
        assert ws.print_title_rows == f"${header}:${header}", ws.title
    row, columns = _header_row(wb["Findings"])
    severities = [r[columns.index("Severity")] for r in wb["Findings"].iter_rows(min_row=row + 1, values_only=True)]
    rank = ["critical", "high", "medium", "low", "info"]
    assert severities and severities == sorted(severities, key=rank.index)
    processor = wb["Processor record"]
    texts = [c for r in processor.iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert any(t.startswith("No processing on behalf of other controllers") for t in texts)
    row, columns = _header_row(wb["Transfers"])
    rows = [dict(zip(columns, r, strict=True)) for r in wb["Transfers"].iter_rows(min_row=row + 1, values_only=True)]
    adequate = [r for r in rows if r["Safeguard type"] == "Adequacy decision"]
    assert adequate and all(r["Mechanism"] == "adequacy" for r in adequate)
    assert all(r["TIA date"] and r["TIA outcome"] for r in rows), "a blank TIA cell says none"
