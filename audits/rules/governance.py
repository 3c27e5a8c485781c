"""Accountability: representative, record of processing, security (GDPR Art. 3(2), 27, 30, 32)."""

from __future__ import annotations

from typing import Any

from flowaudit.inventory.anonymity import processes_only_anonymous_data
from flowaudit.inventory.models import Category, Organisation, Purpose, System

from ..dpia import purpose_subjects, screen
from .. import selectors
from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit

# Regimes whose Art. 27 reaches a controller through targeting (GDPR and UK GDPR Art. 3(2)), and
# the Swiss FADP (Art. 14); a representative counts for the regime of its country.
_ART_27_REGIMES = ("gdpr", "uk-gdpr")
_FADP = "ch-fadp"


def _fadp_high_risk(ctx: Context, subjects: set[str]) -> bool:
    """FADP Art. 14(1): the processing of these subjects' data is large-scale, regular and high
    risk: a purpose concerning them for which the DPIA screening (§9) says a DPIA is required."""
    limit = ctx.config.limits.get("large_scale_subjects", 100_000)
    for purpose in ctx.inventory.purposes.values():
        if subjects & set(purpose_subjects(ctx.view, purpose)) and \
                screen(ctx.view, purpose, limit).verdict == "required":
            return True
    return False


@rule("GOV-001", title="A controller outside a regime's area that targets people there has a representative there",
      severity=Severity.HIGH, legal=("GDPR Art. 3(2)", "GDPR Art. 27", "UK GDPR Art. 27", "FADP Art. 14"),
      subject="organisation",
      over=selectors.the_controller,
      remediation="Designate in writing a representative established where the data subjects are: for the EU "
                  "GDPR in a member state (EEA), for the UK GDPR in the UK (`representative: [{name, country}, "
                  "...]`, one per regime).",
      example="""
organisations:
  - {id: acme, name: Acme Inc, country: US, relation: self}   # collects from EEA users: fires
""")
def representative_missing(ctx: Context, org: Organisation) -> Hit | None:
    """The `self` organisation is not established in a regime's area, collects data of subjects
    located there (a collection flow from them: targeting, GDPR and UK GDPR Art. 3(2)), and has
    no `representative` whose country is in that area (an EEA representative counts for the EU
    GDPR, one in GB for the UK GDPR; one in GB does not count for the EU, nor one in the EEA for
    the UK). One finding; `details.regimes` lists each regime missing one. Not where Art. 27(2)
    exempts: a public authority or body (b), or processing that is occasional and includes no
    special-category or criminal data at large scale (a) — read as every collection flow from
    that area `occasional` and none carrying special-category or criminal data. Under the Swiss
    FADP (Art. 14) a private controller abroad needs a representative in Switzerland only for
    regular, large-scale, high-risk processing of people there: collection flows not all
    occasional, and a purpose concerning them for which the DPIA screening requires a DPIA."""
    if org.public_body:
        return None
    law = ctx.rulebook
    subjects = ctx.inventory.subjects
    missing: dict[str, list[str]] = {}
    for regime in (*_ART_27_REGIMES, _FADP):
        if regime not in law.regime_ids:
            continue
        area = law.area(regime, ctx.as_of)
        if not area or org.country in area:
            continue
        flows = [f for f in ctx.view.collection_flows()
                 if any(regime in law.regimes_of_location(loc, ctx.as_of) for loc in subjects[f.from_].locations)]
        if not flows:
            continue
        if any(r.country in area for r in org.representatives):
            continue
        elements = ctx.inventory.elements
        exempt = all(f.frequency.value == "occasional"
                     and not any(elements[e].special or elements[e].criminal for e in f.elements) for f in flows)
        if regime == _FADP:
            # FADP Art. 14: only for regular (not occasional), large-scale, high-risk processing
            exempt = all(f.frequency.value == "occasional" for f in flows) or \
                not _fadp_high_risk(ctx, {f.from_ for f in flows})
        if exempt:
            continue
        missing[regime] = sorted({f.from_ for f in flows})
    if not missing:
        return None
    regimes = list(missing)
    where = "; ".join(f"{ctx.rulebook.regime_short_name(r)} ({', '.join(s)})" for r, s in missing.items())
    elsewhere = [f"{r.name} ({r.country})" for r in org.representatives]
    also = f"; its representative {', '.join(elsewhere)} does not count there" if elsewhere else ""
    return hit(org, f"'{org.name}' ({org.country}) targets people where it has no establishment and no Art. 27 "
                    f"representative: {where}{also}",
               regimes=regimes, subjects={r: s for r, s in missing.items()})


@selector("every purpose, and the controller")
def record_items(ctx: Context) -> list[Any]:
    return [*ctx.inventory.purposes.values(), ctx.view.controller]


@rule("GOV-002", title="Every item of the record of processing can be filled", severity=Severity.MEDIUM,
      legal=("GDPR Art. 30(1)",), subject="purpose or organisation", over=record_items,
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
    controller without `contact` (name and contact details, (a)). Not for a purpose whose
    elements are all anonymised (Recital 26: no personal data)."""
    if isinstance(item, Organisation):
        if item.contact:
            return None
        return hit(item, f"controller '{item.name}' has no contact details for the record", missing=["contact"])
    if processes_only_anonymous_data(item, ctx.inventory.elements):
        return None  # anonymous information is not personal data (Recital 26): no Art. 30 row is owed
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
      legal=("GDPR Art. 32(1)",), subject="system", over=selectors.systems,
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
