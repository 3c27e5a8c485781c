"""The second worked example, data/examples/saas-group: its audit is exactly what its README
explains line by line, on the README's date and on the dates either side of the decisions."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from flowaudit.audits.engine import run_audit
from flowaudit.inventory import load_inventory

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "saas-group"

PINNED = {
    dt.date(2026, 3, 1): {("TRF-001", "to-helpdesk"), ("TRF-004", "to-mailer"), ("TRF-007", "to-mailer"),
                          ("CCPA-001", "pixel"), ("CCPA-002", "adreach")},
    # the day before the ANPD recognised the EU/EEA: the claimed adequacy does not hold yet
    dt.date(2026, 1, 25): {("TRF-001", "to-helpdesk"), ("TRF-004", "to-mailer"), ("TRF-007", "to-mailer"),
                           ("CCPA-001", "pixel"), ("CCPA-002", "adreach"), ("TRF-002", "br-to-platform")},
    # the day before the Swiss-US DPF counted; EU SCCs still counted for LGPD data; the TIA was fresh
    dt.date(2024, 9, 14): {("TRF-001", "to-backup"), ("TRF-002", "br-to-platform"),
                           ("CCPA-001", "pixel"), ("CCPA-002", "adreach")},
}


@pytest.mark.parametrize("as_of", sorted(PINNED), ids=str)
def test_saas_group_audit_is_pinned(as_of: dt.date) -> None:
    result = run_audit(load_inventory(EXAMPLE), as_of)
    assert {(f.rule, f.subject_id) for f in result.findings} == PINNED[as_of]


def test_readme_table_is_the_audit() -> None:
    """The README's table of findings names exactly the pinned pairs of its date."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    table = text.split("## What the audit finds on 2026-03-01", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| ([A-Z]+-\d{3}) \| `([a-z0-9.-]+)` \|", table, re.MULTILINE))
    assert rows == PINNED[dt.date(2026, 3, 1)]


def test_every_entry_says_what_it_models() -> None:
    for path in sorted(EXAMPLE.glob("*.yaml")):
        for section, entries in yaml.safe_load(path.read_text(encoding="utf-8")).items():
            for entry in entries:
                assert entry.get("notes"), f"{path.name}: {section} entry {entry.get('id')} has no notes"


def test_the_example_reaches_every_new_regime() -> None:
    result = run_audit(load_inventory(EXAMPLE), dt.date(2026, 3, 1))
    regimes = {t.regime for t in result.view.transfers()}
    assert {"gdpr", "ch-fadp", "br-lgpd"} <= regimes
    assert any(result.view.carried(f, "us-ca-ccpa") for f in result.inventory.flows.values())


def test_reports_show_the_new_regimes() -> None:
    """The Excel Transfers sheet's regime column and the HTML summary name the regimes from the
    rulebook; the summary lists the CCPA too, which has findings but no transfers."""
    from flowaudit.reports.records import ReportData

    data = ReportData(run_audit(load_inventory(EXAMPLE), dt.date(2026, 3, 1)))
    summary = {r["id"]: r for r in data.regime_summary}
    assert [r["name"] for r in data.regime_summary] == ["EU GDPR", "Swiss FADP", "Brazil LGPD", "California CCPA"]
    assert summary["us-ca-ccpa"]["transfers"] == 0 and summary["us-ca-ccpa"]["findings"] == 2
    assert summary["br-lgpd"]["findings"] == 2 and summary["ch-fadp"]["findings"] == 1
    assert {data.regime_name(t.regime) for t in data.transfers} == {"EU GDPR", "Swiss FADP", "Brazil LGPD"}
