"""Processors, sub-processors, partners and third parties (GDPR Art. 5(1)(f), 26, 28, 30(1)(d))."""

from __future__ import annotations

from flowaudit.inventory.anonymity import is_personal
from flowaudit.inventory.models import Element, Flow, Organisation, Relation, Role

from .. import selectors
from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit


@rule("TPX-001", title="Processors that receive personal data have an Art. 28 contract", severity=Severity.HIGH,
      legal=("GDPR Art. 28(3)",), subject="organisation", over=selectors.organisations,
      remediation="Sign a data-processing agreement with the Art. 28(3) terms and record `dpa: {signed: DATE}`.",
      example="""
organisations:
  - {id: mailer, name: Mailer, country: DE, relation: processor}   # receives flows, no dpa: fires
""")
def processor_without_dpa(ctx: Context, org: Organisation) -> Hit | None:
    """A processor or sub-processor receives personal data (a flow ends at it or at a system it
    operates, or a system it operates stores personal data) and has no `dpa`."""
    if org.role is not Role.PROCESSOR or org.dpa is not None:
        return None
    if org.id not in ctx.view.receiving_organisations:
        return None
    return hit(org, f"{org.relation.value} '{org.name}' receives personal data without a data-processing agreement")


def flows_into(ctx: Context, relations: tuple[Relation, ...]) -> list[Flow]:
    """The flows that end at an organisation of one of `relations` or at a system it operates, in
    inventory order: found from the few such nodes, not by asking every flow's destination
    (none at all for most inventories and relations)."""
    nodes = {node for node, operator in ctx.view.operators.items() if operator.relation in relations}
    if not nodes:
        return []
    return [flow for flow in ctx.inventory.flows.values() if flow.to in nodes]


@selector("every flow of personal data from a processor to a sub-processor (another organisation)")
def processor_to_subprocessor(ctx: Context) -> list[Flow]:
    view = ctx.view
    out = []
    for flow in flows_into(ctx, (Relation.SUB_PROCESSOR,)):
        exporter, importer, _ = view.parties(flow)
        if (exporter is not None and importer is not None and exporter.id != importer.id
                and exporter.role is Role.PROCESSOR and importer.relation is Relation.SUB_PROCESSOR
                and view.personal_elements(flow)):
            out.append(flow)
    return out


@rule("TPX-002", title="Sub-processors are authorised by the controller", severity=Severity.HIGH,
      legal=("GDPR Art. 28(2)", "GDPR Art. 28(4)"), subject="organisation", over=processor_to_subprocessor,
      remediation="Authorise the sub-processor (add it to the processor's `subprocessors`) after checking its "
                  "guarantees, or have the processor stop using it.",
      example="""
organisations:
  - {id: host, name: Host, country: DE, relation: processor, dpa: {signed: 2024-01-01}, subprocessors: []}
  - {id: backup, name: Backup Co, country: DE, relation: sub-processor, dpa: {signed: 2024-01-01}}   # fires
flows:
  - {id: f, from: host-db, to: backup, elements: [email]}
""")
def unauthorised_subprocessor(ctx: Context, flow: Flow) -> Hit | None:
    """A sub-processor receives personal data from a processor (or another sub-processor
    acting as processor) whose `subprocessors` does not list it: Art. 28(2) requires the
    controller's prior authorisation. The finding names the sub-processor."""
    exporter, importer, _ = ctx.view.parties(flow)
    assert exporter is not None and importer is not None
    if importer.id in exporter.subprocessors:
        return None
    return hit(importer, f"sub-processor '{importer.name}' receives data from '{exporter.name}', which is not "
                         "authorised to engage it", processors=[exporter.id], flows=[flow.id])


def _sensitive_reasons(ctx: Context, element: Element) -> list[str]:
    reasons = []
    if element.special:
        reasons.append("special category")
    if element.criminal:
        reasons.append("criminal")
    if element.category.value == "credentials":
        reasons.append("credentials")
    subjects = ctx.inventory.subjects
    children = [s for s in element.subjects if subjects[s].children]
    if children:
        reasons.append(f"children's data: {', '.join(children)}")
    return reasons


@selector("every flow that carries elements to a partner or a third party (the organisation or a system it operates)")
def flows_to_partners(ctx: Context) -> list[Flow]:
    return [flow for flow in flows_into(ctx, _PARTNERS) if flow.elements]


_PARTNERS = (Relation.PARTNER, Relation.THIRD_PARTY)


@rule("TPX-003", title="Sensitive data does not reach partners or third parties", severity=Severity.HIGH,
      legal=("GDPR Art. 5(1)(f)", "GDPR Art. 9"), subject="flow",
      over=flows_to_partners,
      remediation="Stop disclosing this data to the partner or third party, or anonymise it first; if the "
                  "disclosure is necessary, document the Art. 9(2) condition and the safeguards.",
      example="""
organisations:
  - {id: ad-partner, name: Ad Partner, country: FR, relation: partner}
flows:
  - {id: f, from: crm, to: ad-partner, elements: [password]}   # credentials reach a partner: fires
""")
def sensitive_to_third_party(ctx: Context, flow: Flow) -> Hit | None:
    """A flow ends at a partner or third-party (the organisation or a system it operates) and
    carries special-category, criminal or credentials data, or data of a subject category that
    includes children (`children: true`), not in anonymised state."""
    importer = ctx.view.operator(flow.to)
    if importer is None or importer.relation not in _PARTNERS:
        return None
    elements = ctx.inventory.elements
    found = {}
    for e in flow.elements:
        element = elements[e]
        if not is_personal(element):
            continue
        reasons = _sensitive_reasons(ctx, element)
        if reasons:
            found[e] = reasons
    if not found:
        return None
    # name the reason with the elements it concerns, e.g. "children's data: child-members-cn
    # (username, real-name)", so the reader sees why without opening the inventory
    by_reason: dict[str, list[str]] = {}
    for e, reasons in found.items():
        for reason in reasons:
            by_reason.setdefault(reason, []).append(e)
    why = "; ".join(f"{reason} ({', '.join(ids)})" for reason, ids in by_reason.items())
    return hit(flow, f"{why} reach{'es' if len(found) == 1 else ''} {importer.relation.value} '{importer.name}'",
               importer=importer.id, elements=found)


@rule("TPX-004", title="An element's exposure stays limited", severity=Severity.LOW,
      legal=("GDPR Art. 5(1)(f)", "GDPR Art. 30(1)(d)"), subject="element",
      over=selectors.personal_elements,
      remediation="Review who needs the element; cut flows to organisations and countries that do not.",
      example="""
flows:   # email reaches six external organisations (limit 5): fires
  - {id: f1, from: crm, to: mailer, elements: [email]}
  - {id: f2, from: crm, to: helpdesk-co, elements: [email]}
  - {id: f3, from: crm, to: ad-partner, elements: [email]}
  - {id: f4, from: crm, to: survey-co, elements: [email]}
  - {id: f5, from: crm, to: host-db, elements: [email]}       # a system operated by host-co
  - {id: f6, from: host-db, to: backup-co, elements: [email]}  # onward: counts too
""")
def wide_exposure(ctx: Context, element: Element) -> Hit | None:
    """The element reaches, directly or onward, more than `max_external_organisations` (5)
    organisations other than the controller, or is received in more than `max_countries` (3)
    countries other than the controller's own. `details` lists them."""
    reach = ctx.view.reach.get(element.id)
    if reach is None:
        return None
    home = ctx.view.controller.country
    countries = sorted(c for c in reach.countries if c != home)
    organisations = reach.organisations  # a set: `details` keep the first 20 in order (`cap_lists`)
    max_orgs = ctx.config.limit("max_external_organisations")
    max_countries = ctx.config.limit("max_countries")
    parts = []
    if len(organisations) > max_orgs:
        parts.append(f"{len(organisations)} external organisations (limit {max_orgs})")
    if len(countries) > max_countries:
        parts.append(f"{len(countries)} countries besides {home} (limit {max_countries})")
    if not parts:
        return None
    return hit(element, f"'{element.name}' reaches {' and '.join(parts)}",
               organisations=organisations, countries=countries)


@rule("TPX-005", title="Joint controllers have an Art. 26 arrangement", severity=Severity.HIGH,
      legal=("GDPR Art. 26(1)",), subject="organisation", over=selectors.organisations,
      remediation="Agree and record the Art. 26 arrangement (`arrangement: {signed: DATE}`) and publish its essence.",
      example="""
organisations:
  - {id: co-host, name: Co-host, country: DE, relation: joint-controller}   # fires
""")
def joint_controller_without_arrangement(ctx: Context, org: Organisation) -> Hit | None:
    """A joint controller without `arrangement`."""
    if org.relation is Relation.JOINT_CONTROLLER and org.arrangement is None:
        return hit(org, f"joint controller '{org.name}' has no Art. 26 arrangement")
    return None
