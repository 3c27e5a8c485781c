"""`flowaudit import fides`: Fides' own sample manifests, the benchmark's synthetic ones, a
crafted manifest for each mapping, and bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT, write_tree
from flowaudit.cli import main
from flowaudit.interop.common import NEEDS_REVIEW, mapping, retention_period
from flowaudit.interop.fides_in import import_fides
from flowaudit.inventory import load_inventory
from flowaudit.inventory.models import Category

FIDES = ROOT / "tests" / "fixtures" / "fides"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def sections(folder: Path) -> dict[str, dict[str, dict]]:
    found: dict[str, dict[str, dict]] = {}
    for file in folder.glob("*.yaml"):
        for key, entries in yaml.safe_load(file.read_text()).items():
            found.setdefault(key, {}).update({e["id"]: e for e in entries})
    return found


def test_sample_project_imports_validates_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "inv"
    result = run("import", "fides", str(FIDES / "sample_project"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "6 systems" in result.output
    inv = load_inventory(out)
    me = inv.controller
    assert (me.name, me.country) == ("Cookie House", "US")  # from "…, New York, NY, USA"
    assert me.dpo is not None and me.dpo.email == "dpo@example.com"
    assert me.representative is not None and me.representative.name == "Rep Resentative"
    assert set(inv.systems) == {"cookie-house", "cookie-house-loyalty-database", "cookie-house-postgresql-database",
                                "cookie-house-customer-database", "cookie-house-marketing-system",
                                "cookie-house-custom-request-fields-database"}
    # dataset fields become the elements a system stores, filed under SPEC categories
    assert inv.elements["contact-email"].category is Category.CONTACT
    assert inv.elements["financial-bank-account"].category is Category.FINANCIAL
    assert "contact-email" in inv.systems["cookie-house-postgresql-database"].elements
    assert inv.elements["device-cookie-id"].category is Category.ONLINE_IDENTIFIER
    # declarations become purposes; egress becomes flows
    assert set(inv.purposes) == {"essential.service", "functional.service.improve",
                                 "marketing.advertising.first_party.targeted"}
    assert inv.purposes["essential.service"].business_function == "Engineering"
    edges = {(f.from_, f.to) for f in inv.flows.values()}
    assert ("cookie-house-postgresql-database", "cookie-house") in edges
    assert ("cookie-house-marketing-system", "cookie-house-customer-database") in edges
    # the custom-request-fields database declares only `system` data: no personal data flows from it
    assert not any(f.from_ == "cookie-house-custom-request-fields-database" for f in inv.flows.values())
    # what could not be mapped is in the report and in notes, never silent
    report = (out / "import-report.md").read_text()
    assert "policy `sample_policy`" in report and "system.operations" in report
    assert "no legal basis" in report
    assert inv.subjects["customer"].notes.startswith(NEEDS_REVIEW)
    assert inv.purposes["essential.service"].legal_basis is None  # not guessed
    assert inv.elements["user-data"].notes.startswith(NEEDS_REVIEW)  # top-level `user`


def test_sample_project_then_report_end_to_end(tmp_path: Path) -> None:
    import flowaudit

    out = tmp_path / "inv"
    assert run("import", "fides", str(FIDES / "sample_project"), "-o", str(out)).exit_code == 0
    written = flowaudit.report(out, tmp_path / "report", progress=lambda m: None)
    names = {p.name for p in written}
    assert {"ropa.xlsx", "report.html", "findings.json"} <= names
    result = run("audit", str(out), "--format", "json", "-o", str(tmp_path / "f.json"))
    assert result.exit_code in (0, 1)


def test_demo_resources(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert run("import", "fides", str(FIDES / "demo_resources"), "-o", str(out)).exit_code == 0
    inv = load_inventory(out)
    assert set(inv.purposes) == {"analyze-customer-behaviour-for-improvements", "collect-data-for-marketing"}
    flow = inv.flows["demo-marketing-system-to-demo-analytics-system"]
    assert flow.elements == ["device-cookie-id"]  # what both systems declare
    assert flow.purposes == ["analyze-customer-behaviour-for-improvements"]
    # the system's dataset reference: the fields it stores (system.operations is not personal data)
    stored = set(inv.systems["demo-analytics-system"].elements)
    assert {"contact-email", "name", "contact-address-state", "unique-id"} <= stored
    assert inv.controller.name == "Demo Organization"


def test_benchmark_synthetic_manifests(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import fides_compare
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from flowaudit.synth import synthesize

    synthesize(tmp_path / "syn", 300, 7)
    counts = fides_compare.write_fides_manifest(tmp_path / "syn", tmp_path / "manifest")
    # no organization document: the country must be given
    result = run("import", "fides", str(tmp_path / "manifest"), "-o", str(tmp_path / "x"))
    assert result.exit_code == 2 and "--country" in result.output and not (tmp_path / "x").exists()
    result = run("import", "fides", str(tmp_path / "manifest"), "-o", str(tmp_path / "inv"), "--country", "DE")
    assert result.exit_code == 0, result.output
    inv = load_inventory(tmp_path / "inv")
    assert len(inv.systems) == counts["systems"]
    assert inv.controller.country == "DE"
    # every declaration's data use became a purpose; every user ingress a collection flow
    assert inv.purposes and any(inv.subjects.get(f.from_) for f in inv.flows.values())
    assert run("audit", str(tmp_path / "inv"), "-o", str(tmp_path / "a.txt")).exit_code in (0, 1)


CRAFTED = {
    "org.yml": """
organization:
  - fides_key: acme
    name: Acme GmbH
    controller: {name: Legal, address: "Hauptstr. 1, 10115 Berlin, Germany", email: privacy@acme.example, phone: "1"}
    data_protection_officer: {name: Dee Pio, address: "Berlin, Germany", email: dpo@acme.example, phone: "2"}
""",
    "systems.yml": """
system:
  - fides_key: shop
    name: Shop
    system_type: Application
    data_security_practices: TLS everywhere, encryption at rest, role-based access control
    ingress: [{fides_key: shopper_x, type: user}]
    egress: [{fides_key: crm, type: system, data_categories: [user.contact.email]}]
    privacy_declarations:
      - name: Orders
        data_use: essential.service
        data_categories: [user.contact.email, user.financial.credit_card, user.childrens]
        data_subjects: [customer]
        legal_basis_for_processing: Contract
        retention_period: "6 years after the last order"
      - name: Health add-on
        data_use: essential.service
        data_categories: [user.health_and_medical]
        data_subjects: [customer]
        legal_basis_for_processing: Consent
        special_category_legal_basis: Explicit consent
        retention_period: whenever we like
  - fides_key: crm
    name: CRM
    system_type: Service
    legal_name: Salesy Inc.
    legal_address: 1 Market St, San Francisco, CA, United States
    responsibility: [Processor]
    third_country_transfers: [IND]
    legal_basis_for_transfers: [SCCs]
    privacy_declarations:
      - name: Tax records
        data_use: essential.legal_obligation
        data_categories: [user.contact.email, user.custom_thing, acme.secret]
        data_subjects: [customer]
""",
}


def test_each_mapping(tmp_path: Path) -> None:
    write_tree(tmp_path / "m", CRAFTED)
    result = import_fides(tmp_path / "m")
    out = tmp_path / "inv"
    assert run("import", "fides", str(tmp_path / "m"), "-o", str(out)).exit_code == 0
    inv = load_inventory(out)
    s = sections(out)
    assert inv.controller.country == "DE" and inv.controller.dpo.name == "Dee Pio"
    orders, health, tax = inv.purposes["orders"], inv.purposes["health-add-on"], inv.purposes["tax-records"]
    assert orders.legal_basis.value == "contract" and orders.retention == "P6Y"
    assert health.special_condition.value == "explicit-consent" and health.retention is None
    assert "whenever we like" in s["purposes"]["health-add-on"]["notes"]
    assert tax.legal_basis.value == "legal-obligation"  # the data use states it
    # user.childrens marks the subjects as children, it is no element
    assert inv.subjects["customer"].children is True
    assert not any("childrens" in e for e in inv.elements)
    # an unmapped category: filed as content, marked, reported
    custom = inv.elements["custom-thing"]  # below `user`: filed as `user` is, and marked
    assert custom.category is Category.IDENTITY and custom.notes.startswith(NEEDS_REVIEW)
    unknown = inv.elements["acme-secret"]  # no rule at all: content, marked
    assert unknown.category is Category.CONTENT and unknown.notes.startswith(NEEDS_REVIEW)
    # security practices: keywords become measures
    assert set(inv.systems["shop"].security) == {"tls", "encryption-at-rest", "access-control"}
    # the vendor named by legal_name operates the CRM
    vendor = inv.organisations[inv.systems["crm"].operator]
    assert (vendor.name, vendor.country, vendor.relation.value) == ("Salesy Inc.", "US", "processor")
    # egress with data categories: exactly those; ingress from users: collection flows
    assert inv.flows["shop-to-crm"].elements == ["contact-email"]
    assert {f.from_ for f in inv.flows.values() if f.to == "shop"} == {"customer"}
    # third_country_transfers: a flow to a recipient in India with the SCCs
    to_india = [f for f in inv.flows.values()
                if inv.organisations.get(f.to) and inv.organisations[f.to].country == "IN"]
    assert len(to_india) == 1 and to_india[0].transfer.mechanism.value == "scc"
    assert {r.kind for r in result.reviews} >= {"subject", "element", "purpose", "organisation", "flow"}


@pytest.mark.parametrize(("files", "expected"), [
    ({"s.yml": "system:\n  - fides_key: a\n    privacy_declarations:\n      - data_categories: [user.name]\n"},
     "s.yml: system a: privacy_declarations[0]: missing `data_use`"),
    ({"s.yml": "system:\n  - name: no key\n"}, "s.yml: system: missing `fides_key`"),
    ({"s.yml": "system: 3\n"}, "s.yml: system: expected a list of mappings"),
    ({"s.yml": "system: [\n"}, "s.yml: not a YAML/JSON file"),
    ({"s.yml": "system:\n  - fides_key: a\n    egress: [3]\n    privacy_declarations: []\n"},
     "s.yml: system a: egress[0]: expected a mapping with `fides_key`"),
])
def test_bad_input_exit_2_names_file_and_key(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    write_tree(tmp_path / "m", {**files, "o.yml": CRAFTED["org.yml"]})
    result = run("import", "fides", str(tmp_path / "m"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert expected in result.output
    assert not (tmp_path / "out").exists()


def test_not_a_manifest(tmp_path: Path) -> None:
    write_tree(tmp_path / "m", {"s.yml": "flows: []\n"})
    result = run("import", "fides", str(tmp_path / "m" / "s.yml"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "s.yml: not a fideslang manifest" in result.output
    result = run("import", "fides", str(tmp_path / "m"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "no fideslang manifest found" in result.output
    result = run("import", "fides", str(tmp_path / "nowhere"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "no such file" in result.output


def test_output_folder_must_be_new(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.yaml").write_text("x")
    result = run("import", "fides", str(FIDES / "demo_resources"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "not empty" in result.output
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.yaml"]


def test_mapping_file_covers_fideslang_default_taxonomy() -> None:
    data = mapping("fideslang")
    rules = data["data_categories"]
    for key in data["data_category_names"]:
        parts = key.split(".")
        matched = next(".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in rules)
        assert matched != "user" or key == "user", f"default category {key} falls back to `user`"
    for rule in rules.values():
        if "category" in rule:
            Category(rule["category"])
    for category, key in data["export_categories"].items():
        Category(category)
        assert key in rules
    for category in Category:
        assert category.value in data["export_categories"]


@pytest.mark.parametrize(("text", "period"), [
    ("6 years", "P6Y"), ("six years after the contract ends", "P6Y"), ("90 days", "P90D"), ("P3Y", "P3Y"),
    ("3 years (P3Y)", "P3Y"), ("18 months", "P18M"), ("until the account is deleted", "until-account-deletion"),
    ("statutory period", "statutory"), ("whenever", None), ("1 year or 2 years", None), ("", None),
])
def test_retention_phrases(text: str, period: str | None) -> None:
    assert retention_period(text) == period
