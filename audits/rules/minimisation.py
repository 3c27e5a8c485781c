"""Data minimisation and storage limitation (GDPR Art. 5(1)(c), 5(1)(e), 25, 30(1)(f))."""

from __future__ import annotations

from flowaudit.inventory.anonymity import processes_only_anonymous_data
from flowaudit.inventory.models import Element, Flow, Identifier, Purpose, State

from .. import selectors
from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit


@rule("MIN-001", title="Every element collected or stored is needed by a purpose", severity=Severity.MEDIUM,
      legal=("GDPR Art. 5(1)(c)",), subject="element",
      over=selectors.elements,
      remediation="Stop collecting and delete the element, or name the purpose that needs it.",
      example="""
elements:
  - {id: fax, name: Fax number, category: contact}
systems:
  - {id: crm, name: CRM, operator: acme, elements: [fax]}   # fax stored, no purpose lists it: fires
""")
def element_not_needed(ctx: Context, element: Element) -> Hit | None:
    """An element collected from data subjects (a flow from a subject carries it) or stored
    (a system lists it) that no purpose lists in its `elements`."""
    view = ctx.view
    if element.id in view.needed_elements:
        return None
    how = [w for w, present in (("collected", element.id in view.collected_elements),
                                ("stored", element.id in view.stored_elements)) if present]
    if not how:
        return None
    return hit(element, f"'{element.name}' is {' and '.join(how)} but no purpose needs it", how=how)


@rule("MIN-002", title="A flow carries only what its purposes need", severity=Severity.MEDIUM,
      legal=("GDPR Art. 5(1)(c)",), subject="flow",
      over=selectors.flows_with_elements,
      remediation="Remove the element from the flow, or add it to the purpose that needs it.",
      example="""
flows:
  # newsletter needs only email: fires
  - {id: f1, from: crm, to: mailer, elements: [email, birthdate], purposes: [newsletter]}
""")
def flow_carries_unneeded(ctx: Context, flow: Flow) -> Hit | None:
    """A flow carries an element that none of the flow's purposes lists (a flow with no
    purpose needs nothing)."""
    unneeded = ctx.per_lists("unneeded", flow, _unneeded)
    if not unneeded:
        return None
    extra = list(unneeded)
    why = ("the flow has no purpose" if not flow.purposes
           else f"none of its purposes ({', '.join(flow.purposes)}) needs {'it' if len(extra) == 1 else 'them'}")
    return hit(flow, f"carries {', '.join(extra)}; {why}", elements=extra)


def _unneeded(ctx: Context, purposes: tuple[str, ...], elements: tuple[str, ...]) -> tuple[str, ...]:
    """The elements none of the purposes lists (`Context.per_lists`: once per pair of lists)."""
    entries = ctx.inventory.purposes
    needed: set[str] = set()
    for p in purposes:
        needed.update(entries[p].elements)
    return tuple(e for e in elements if e not in needed)


@rule("MIN-003", title="Every processing activity has a retention period", severity=Severity.MEDIUM,
      legal=("GDPR Art. 5(1)(e)", "GDPR Art. 30(1)(f)", "GDPR Recital 26"), subject="purpose",
      over=selectors.purposes,
      remediation="Set `retention` (an ISO 8601 duration such as P2Y, or until-account-deletion, "
                  "until-purpose-fulfilled, statutory with notes).",
      example="""
purposes:
  - {id: support, name: Support, legal_basis: contract}   # fires: no retention
""")
def retention_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose without `retention`: the record of processing must state time limits for erasure.
    Not for a purpose whose elements are all anonymised: anonymous information is not personal
    data, and storage limitation does not reach it (Recital 26)."""
    if purpose.retention is None and not processes_only_anonymous_data(purpose, ctx.inventory.elements):
        return hit(purpose, f"'{purpose.name}' has no retention period")
    return None


@selector("every flow that carries elements for purposes that all `need` pseudonymised or anonymised data")
def pseudonymous_flows(ctx: Context) -> list[Flow]:
    purposes = ctx.inventory.purposes
    pseudonymous = {p for p, purpose in purposes.items() if purpose.needs is not State.IDENTIFIED}
    if not pseudonymous:  # most inventories: no purpose asks for less than identified data
        return []
    return [f for f in ctx.inventory.flows.values()
            if f.purposes and f.elements and pseudonymous.issuperset(f.purposes)]


@rule("MIN-004", title="Pseudonymous purposes get no direct identifiers", severity=Severity.MEDIUM,
      legal=("GDPR Art. 5(1)(c)", "GDPR Art. 25(1)"), subject="flow",
      over=pseudonymous_flows,
      remediation="Pseudonymise or drop the direct identifiers before the flow (data protection by design).",
      example="""
purposes:
  - {id: stats, name: Statistics, legal_basis: legitimate-interests, needs: pseudonymised}
flows:
  - {id: f2, from: crm, to: warehouse, elements: [email], purposes: [stats]}   # email is a direct identifier: fires
""")
def identifiers_not_needed(ctx: Context, flow: Flow) -> Hit | None:
    """Every purpose of the flow `needs` pseudonymised or anonymised data, yet the flow carries
    a direct identifier in identified state."""
    purposes = ctx.inventory.purposes
    if any(purposes[p].needs is State.IDENTIFIED for p in flow.purposes):
        return None
    elements = ctx.inventory.elements
    direct = [e for e in flow.elements
              if elements[e].identifier is Identifier.DIRECT and elements[e].state is State.IDENTIFIED]
    if not direct:
        return None
    return hit(flow, f"carries direct identifiers ({', '.join(direct)}) although its purposes need only "
                     "pseudonymised or anonymised data", elements=direct)
