"""Accountability: representative, record of processing, security (GDPR Art. 3(2), 27, 30, 32)."""

from __future__ import annotations

from typing import Any

from flowaudit.inventory.models import Category, Organisation, Purpose, System

from ..engine import Context, rule
from ..findings import Hit, Severity, hit


@rule("GOV-001", title="A controller outside the EEA that targets EEA subjects has a representative",
      severity=Severity.HIGH, legal=("GDPR Art. 3(2)", "GDPR Art. 27(1)"), subject="organisation",
      over=lambda ctx: [ctx.view.controller],
      remediation="Designate in writing a representative established in a member state where the data "
                  "subjects are (`representative: {name, country}`).",
      example="""
organisations:
  - {id: acme, name: Acme Inc, country: US, relation: self}   # collects from EEA users: fires
""")
def representative_missing(ctx: Context, org: Organisation) -> Hit | None:
    """The `self` organisation is established outside the EEA, collects data from subjects
    located in the EEA (a collection flow from them), and has no `representative` established
    in the EEA. The Art. 27(2) exemption for occasional, low-risk processing is not assumed:
    the EDPB (Guidelines 3/2018) reads it narrowly."""
    area = ctx.rulebook.area("gdpr", ctx.as_of)
    if org.country in area:
        return None
    regimes_of = ctx.rulebook.regimes_of_location
    subjects = ctx.inventory.subjects
    eea_subjects = sorted({f.from_ for f in ctx.view.collection_flows()
                           if any("gdpr" in regimes_of(loc, ctx.as_of) for loc in subjects[f.from_].locations)})
    if not eea_subjects:
        return None
    if org.representative is not None and org.representative.country in area:
        return None
    if org.representative is not None:
        return hit(org, f"'{org.name}' ({org.country}) collects data of EEA subjects; its representative is in "
                        f"{org.representative.country}, outside the EEA", subjects=eea_subjects)
    return hit(org, f"'{org.name}' ({org.country}) collects data of EEA subjects ({', '.join(eea_subjects)}) "
                    "and has no Art. 27 representative in the EEA", subjects=eea_subjects)


def _record_items(ctx: Context) -> list[Any]:
    return [*ctx.inventory.purposes.values(), ctx.view.controller]


@rule("GOV-002", title="Every item of the record of processing can be filled", severity=Severity.MEDIUM,
      legal=("GDPR Art. 30(1)",), subject="purpose or organisation", over=_record_items,
      remediation="Complete the inventory: the purpose's data subjects and elements, the security measures "
                  "of its systems, the controller's contact details.",
      example="""
purposes:
  - {id: misc, name: Misc, legal_basis: consent}   # no subjects, no elements: fires
""")
def record_incomplete(ctx: Context, item: Purpose | Organisation) -> Hit | None:
    """An Art. 30(1) item cannot be filled: a purpose with no `subjects` (categories of data
    subjects, (c)), no `elements` (categories of personal data, (c)), or a system it uses (a
    flow for the purpose starts or ends there) with no `security` (measures, (g)); the
    controller without `contact` (name and contact details, (a))."""
    if isinstance(item, Organisation):
        if item.contact:
            return None
        return hit(item, f"controller '{item.name}' has no contact details for the record", missing=["contact"])
    missing = []
    if not item.subjects:
        missing.append("subjects")
    if not item.elements:
        missing.append("elements")
    systems = ctx.inventory.systems
    insecure = sorted(s for s in ctx.view.purpose_systems.get(item.id, ()) if not systems[s].security)
    if insecure:
        missing.append("security of " + ", ".join(insecure))
    if not missing:
        return None
    return hit(item, f"the record for '{item.name}' lacks {'; '.join(missing)}", missing=missing)


@rule("SEC-001", title="Credentials are hashed and special categories encrypted at rest", severity=Severity.HIGH,
      legal=("GDPR Art. 32(1)",), subject="system", over=lambda ctx: list(ctx.inventory.systems.values()),
      remediation="Store passwords only as salted slow hashes (`password-hashing`); encrypt special-category "
                  "data at rest (`encryption-at-rest`).",
      example="""
systems:
  - {id: auth, name: Auth, operator: acme, elements: [password], security: [tls]}   # fires
""")
def storage_unprotected(ctx: Context, system: System) -> Hit | None:
    """A system stores (lists in `elements`) credentials without `password-hashing`, or
    special-category data without `encryption-at-rest`."""
    elements = ctx.inventory.elements
    problems = []
    credentials = [e for e in system.elements if elements[e].category is Category.CREDENTIALS]
    if credentials and "password-hashing" not in system.security:
        problems.append(f"credentials ({', '.join(credentials)}) without password-hashing")
    special = [e for e in system.elements if elements[e].special]
    if special and "encryption-at-rest" not in system.security:
        problems.append(f"special categories ({', '.join(special)}) without encryption-at-rest")
    if not problems:
        return None
    return hit(system, f"'{system.name}' stores {'; '.join(problems)}", problems=problems)


RULES = (representative_missing, record_incomplete, storage_unprotected)
