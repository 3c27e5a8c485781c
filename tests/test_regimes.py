"""A regime is one folder (docs/regimes.md): the rulebook finds the folders, the catalogue adds
the rule module a folder names, and an extra folder in a copy of the rulebook is picked up
without any other file changing."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from flowaudit.audits.catalogue import CATALOGUE, build_catalogue, regime_modules, rules_of
from flowaudit.audits.engine import run_audit
from flowaudit.audits.rulebook import RULEBOOK_DIR, Rulebook, default_rulebook
from flowaudit.inventory import FlowauditError, load_inventory


def test_every_regime_is_a_folder() -> None:
    book = default_rulebook()
    folders = {p.name for p in RULEBOOK_DIR.iterdir() if (p / "regime.yaml").is_file()}
    assert set(book.regime_ids) == folders
    assert {"gdpr", "uk-gdpr", "pipl"} <= folders
    for regime in book.regime_ids:
        assert (RULEBOOK_DIR / regime / "adequacy.yaml").is_file() or regime not in book.adequacy_lists


def test_regime_modules_come_from_the_folders() -> None:
    modules = regime_modules(default_rulebook())
    assert modules["pipl"].__name__ == "flowaudit.audits.rules.pipl"
    assert {r.id for r in CATALOGUE} >= {r.id for r in rules_of(modules["pipl"])}


FOURTH = {
    "regime.yaml": """
        id: jp-appi
        name: Japan APPI
        short_name: APPI
        law: Act on the Protection of Personal Information (Act No. 57 of 2003)
        source: "APPI Art. 28"
        order: 90
        rules: fourth_regime.rules
        members:
          - {country: JP, since: 2022-04-01}
    """,
    "adequacy.yaml": """
        source: "PPC Notification No. 1 of 2019 (EEA and UK)"
        decisions:
          - {country: GB, decision: "PPC Notification No. 1 of 2019", date: 2019-01-23}
    """,
    "mechanisms.yaml": """
        source: "APPI Art. 28"
        mechanisms:
          adequacy: {kind: adequacy, legal: "APPI Art. 28(1)"}
          explicit-consent: {kind: derogation, legal: "APPI Art. 28(1)"}
    """,
}
FOURTH_RULES = '''
from flowaudit.audits.findings import Severity, hit
from flowaudit.audits.rule import rule, selector

FAMILIES = {"APPI": "Japan"}


@selector("every restricted transfer under the APPI")
def appi_transfers(ctx):
    return list(ctx.view.transfers("jp-appi"))


@rule("APPI-001", title="Personal data of people in Japan leaves Japan with consent", severity=Severity.HIGH,
      legal=("APPI Art. 28(1)",), subject="flow", remediation="Obtain consent.",
      over=appi_transfers, example="flows: []")
def export_without_consent(ctx, t):
    """A transfer out of Japan with no consent."""
    if t.mechanism is None and not t.adequate:
        return hit(t, "leaves Japan without consent")
    return None

'''
INVENTORY = """
organisations:
  - {id: me, name: Me KK, country: JP, relation: self, contact: privacy@me.example}
  - {id: vendor, name: Vendor, country: US, relation: processor, dpa: {signed: 2024-01-01}}
  - {id: uk-vendor, name: UK Vendor, country: GB, relation: processor, dpa: {signed: 2024-01-01}}
subjects:
  - {id: users, name: Users, locations: [JP]}
elements:
  - {id: email, name: Email, category: contact, subjects: [users]}
purposes:
  - {id: service, name: Service, legal_basis: contract, elements: [email], subjects: [users], retention: P1Y}
systems:
  - {id: app, name: App, operator: me, locations: [JP], elements: [email], security: [tls]}
flows:
  - {id: signup, from: users, to: app, elements: [email], purposes: [service]}
  - {id: to-us, from: app, to: vendor, elements: [email], purposes: [service]}
  - {id: to-gb, from: app, to: uk-vendor, elements: [email], purposes: [service]}
"""


def _fourth_regime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    book = tmp_path / "rulebook"
    shutil.copytree(RULEBOOK_DIR, book, ignore=shutil.ignore_patterns("__pycache__"))
    (book / "jp-appi").mkdir()
    for name, text in FOURTH.items():
        (book / "jp-appi" / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    package = tmp_path / "modules" / "fourth_regime"  # a regime kept outside flowaudit: a dotted name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "rules.py").write_text(FOURTH_RULES, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    for name in ("fourth_regime", "fourth_regime.rules"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return book


def test_a_fourth_regime_is_only_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/regimes.md's recipe: a folder and a rule module, and nothing else changes."""
    book = Rulebook(_fourth_regime(tmp_path, monkeypatch))
    assert book.regime_ids[-1] == "jp-appi" and book.regime_name("jp-appi") == "Japan APPI"
    assert book.area("jp-appi", dt.date(2026, 1, 1)) == {"JP"}
    assert book.area("jp-appi", dt.date(2022, 3, 31)) == frozenset()
    assert book.regimes_of_location("JP", dt.date(2026, 1, 1)) == {"jp-appi"}
    consent = next(m for m in book.mechanisms if m.value == "explicit-consent")
    assert "jp-appi" in book.mechanisms[consent].regimes
    rules, families = build_catalogue(book)
    assert "APPI-001" in {r.id for r in rules} and families["APPI"] == "Japan"
    assert "APPI-001" not in {r.id for r in CATALOGUE}, "the shipped catalogue is untouched"

    (tmp_path / "inv.yaml").write_text(INVENTORY, encoding="utf-8")
    result = run_audit(load_inventory(tmp_path / "inv.yaml"), dt.date(2026, 1, 1), rulebook=book)
    fired = {(f.rule, f.subject_id) for f in result.findings}
    assert ("APPI-001", "to-us") in fired
    assert ("APPI-001", "to-gb") not in fired, "GB is adequate for the fourth regime"
    # the generic transfer rules run for it too, with its name in their messages
    trf = [f for f in result.findings if f.rule == "TRF-001" and f.subject_id == "to-us"]
    assert trf and "APPI" in trf[0].message
    only = run_audit(load_inventory(tmp_path / "inv.yaml"), dt.date(2026, 1, 1), rulebook=book, only=["APPI"])
    assert {f.rule for f in only.findings} == {"APPI-001"}


def test_a_folder_naming_a_missing_module_is_a_clear_error(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    book = _fourth_regime(tmp_path, monkeypatch)
    (tmp_path / "modules" / "fourth_regime" / "rules.py").unlink()
    with pytest.raises(FlowauditError, match=re.escape("jp-appi/regime.yaml names rule module 'fourth_regime.rules'")):
        build_catalogue(Rulebook(book))


def test_a_folder_whose_id_is_not_its_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = _fourth_regime(tmp_path, monkeypatch)
    (book / "jp-appi").rename(book / "japan")
    with pytest.raises(FlowauditError, match="id 'jp-appi' is not the folder's name"):
        Rulebook(book)


def test_two_regimes_claiming_one_region_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = _fourth_regime(tmp_path, monkeypatch)
    text = (book / "jp-appi" / "regime.yaml").read_text(encoding="utf-8")
    (book / "jp-appi" / "regime.yaml").write_text(text + "regions: [EEA]\n", encoding="utf-8")
    with pytest.raises(FlowauditError, match="region EEA is claimed by gdpr and jp-appi"):
        Rulebook(book)


@pytest.mark.parametrize("code, problem", [("JP-99", "'JP-99' is not an ISO 3166-2 subdivision"),
                                           ("JP-tokyo", "'JP-tokyo' is not an ISO 3166-2 subdivision code"),
                                           ("XX-13", "'XX' is not an ISO 3166-1 alpha-2 code")])
def test_a_user_rulebooks_subdivisions_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   code: str, problem: str) -> None:
    """A rulebook folder of the user's is checked against ISO 3166-2 (JP-13 is Tokyo; JP-99 is
    none); the shipped one is checked here, not at every start (pycountry's table takes a tenth
    of a second to load)."""
    book = _fourth_regime(tmp_path, monkeypatch)
    regime = book / "jp-appi" / "regime.yaml"
    text = regime.read_text(encoding="utf-8")
    regime.write_text(text.replace("{country: JP", "{country: JP-13", 1), encoding="utf-8")
    Rulebook(book)
    regime.write_text(text.replace("{country: JP", f"{{country: {code}", 1), encoding="utf-8")
    with pytest.raises(FlowauditError, match=re.escape(problem)):
        Rulebook(book)


def test_the_shipped_rulebooks_subdivisions_exist() -> None:
    from flowaudit.inventory.models import iso_subdivisions

    named = {m.country for r in Rulebook().regimes.values() for m in r.members if "-" in m.country}
    assert named and named <= iso_subdivisions()


def test_subject_locations_accept_iso_3166_2_subdivisions() -> None:
    from pydantic import ValidationError

    from flowaudit.inventory.models import Subject

    assert Subject(id="ca", name="Californians", locations=["US-CA", "CH"]).locations == ["US-CA", "CH"]
    with pytest.raises(ValidationError, match="in capitals, 'US-CA'"):
        Subject(id="ca", name="Californians", locations=["us-ca"])
    with pytest.raises(ValidationError, match="ISO 3166-2 subdivision"):
        Subject(id="xx", name="Nowhere", locations=["US-XX"])
    book = default_rulebook()
    assert book.regimes_of_location("US-CA", dt.date(2025, 1, 1)) == {"us-ca-ccpa"}
    assert book.regimes_of_location("US-CA", dt.date(2022, 12, 31)) == frozenset()
    assert book.regimes_of_location("CH", dt.date(2023, 9, 1)) == {"ch-fadp"}
    assert book.regimes_of_location("CH", dt.date(2023, 8, 31)) == frozenset()


def test_regime_option_restricts_audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--regime` audits only the regimes named: their transfers, their own rules, their names."""
    from click.testing import CliRunner

    from flowaudit.cli import main

    example = Path(__file__).resolve().parent.parent / "data" / "examples" / "saas-group"
    out = CliRunner().invoke(main, ["audit", str(example), "--as-of", "2026-03-01", "--regime", "br-lgpd",
                                    "--format", "json"])
    found = {(f["rule"], f["subject"]["id"]) for f in json.loads(out.output)["findings"]}
    assert found == {("TRF-001", "to-helpdesk"), ("TRF-007", "to-mailer")}
    out = CliRunner().invoke(main, ["audit", str(example), "--regime", "nowhere"])
    assert out.exit_code == 2 and "unknown regime 'nowhere'" in out.output
    restricted = default_rulebook().restricted(["ch-fadp"])
    assert restricted.regime_ids == ("ch-fadp",) and default_rulebook().regime_ids[0] == "gdpr"
    assert restricted.area("gdpr", dt.date(2026, 1, 1)), "other regimes' areas stay known"
