"""Purpose limitation, lawfulness, special categories, children (GDPR Art. 5(1)(b), 6, 8, 9, 10, 35)."""

from __future__ import annotations


from flowaudit.inventory.models import Flow, LegalBasis, Purpose, Role

from ..dpia import screen
from .. import selectors
from ..rule import Context, rule
from ..findings import Hit, Severity, hit, some


@rule("PUR-001", title="Data is used only for the purposes it was collected for, or compatible ones",
      severity=Severity.HIGH, legal=("GDPR Art. 5(1)(b)", "GDPR Art. 6(4)"), subject="flow",
      over=selectors.non_collection_flows,
      remediation="Document an Art. 6(4) compatibility assessment (`compatible_with` on the new purpose), "
                  "ask for consent, or stop using the element for this purpose.",
      example="""
flows:
  - {id: collect, from: users, to: crm, elements: [email], purposes: [service]}
  - {id: to-ads, from: crm, to: ad-platform, elements: [email], purposes: [advertising]}  # fires
purposes:
  - {id: advertising, name: Ads, legal_basis: legitimate-interests}  # not consent, not compatible_with: [service]
""")
def purpose_limitation(ctx: Context, flow: Flow) -> Hit | None:
    """A flow uses an element for a purpose that is not among the purposes of the collection
    flows that brought the element in, nor documented as compatible with one of them
    (`compatible_with`, on either purpose), and the new purpose does not rest on consent
    (Art. 6(4) lets consent stand in for a compatibility assessment).

    Elements that no flow collects from data subjects (generated or derived inside the
    organisation) have no collection purpose to compare with; the rule does not judge them.
    An element collected by flows that state no purpose was collected for none: any later
    purpose is a new one.
    """
    found = ctx.per_lists("new_uses", flow, _new_uses)
    if not found:
        return None
    pairs = [{"element": e, "purpose": p, "collected_for": list(original)} for e, p, original in found]
    first = pairs[0]
    more = f" (and {len(pairs) - 1} more)" if len(pairs) > 1 else ""
    collected = some(first["collected_for"], "purpose") or "no stated purpose"
    return hit(flow, f"uses {first['element']!r} for {first['purpose']!r}, but it was collected for "
                     f"{collected} and no compatibility is documented{more}",
               pairs=pairs)


def _new_uses(ctx: Context, purposes: tuple[str, ...], elements: tuple[str, ...]
              ) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """PUR-001's (element, purpose, the purposes it was collected for) for a flow's purposes and
    elements (`Context.per_lists`: once per pair of lists)."""
    entries = ctx.inventory.purposes
    collected_for = ctx.view.collected_for
    out = []
    for p in purposes:
        purpose = entries[p]
        if purpose.legal_basis is LegalBasis.CONSENT:
            continue
        for e in elements:
            original = collected_for.get(e)
            if original is None or p in original:  # never collected: not judged; collected for nothing: judged
                continue
            if any(q in purpose.compatible_with or p in entries[q].compatible_with for q in original):
                continue
            out.append((e, p, tuple(sorted(original))))
    return tuple(out)


@rule("PUR-002", title="Every processing activity has a legal basis", severity=Severity.HIGH,
      legal=("GDPR Art. 6(1)",), subject="purpose", over=selectors.purposes,
      remediation="Set `legal_basis` to one of the Art. 6(1) bases and document why it applies.",
      example="""
purposes:
  - {id: analytics, name: Analytics}   # fires: no legal_basis
""")
def legal_basis_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose without `legal_basis`: processing without an Art. 6(1) basis is unlawful."""
    if purpose.legal_basis is None:
        return hit(purpose, f"processing activity '{purpose.name}' has no Art. 6(1) legal basis")
    return None


@rule("PUR-003", title="High-risk processing has a DPIA", severity=Severity.HIGH,
      legal=("GDPR Art. 35(1)", "GDPR Art. 35(3)", "WP248 rev.01"), subject="purpose", over=selectors.purposes,
      remediation="Carry out a data-protection impact assessment and record its date in `dpia`; "
                  "`flowaudit dpia` lists the criteria met and the facts behind them.",
      example="""
subjects:
  - {id: customers, name: Customers, locations: [DE], count: 250000}
purposes:
  - {id: scoring, name: Scoring, legal_basis: contract, profiling: true, subjects: [customers]}   # fires: no dpia
""")
def dpia_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """The DPIA screening (`flowaudit.audits.dpia`, the same computation as `flowaudit dpia`)
    finds a DPIA required and the purpose has no `dpia`: an Art. 35(3) case (automated
    decisions with legal or similar effect; special-category or criminal data on a large
    scale), or two or more of WP248 rev.01's nine criteria (evaluation or scoring, automated
    decisions, systematic monitoring, sensitive or highly personal data, large scale — a
    subject count from `limits.large_scale_subjects`, 100,000 by default —, combining
    datasets, vulnerable subjects, innovative technology, blocking a right or service).
    `details.criteria` lists the criteria met. Processing carried out as a processor is left
    to its controller, whose duty the DPIA is (Art. 35(1); the processor assists, Art. 28(3)(f))."""
    if purpose.dpia is not None or purpose.role is not Role.CONTROLLER:
        return None
    result = screen(ctx.view, purpose, ctx.config.limits.get("large_scale_subjects", 100_000))
    if result.verdict != "required":
        return None
    why = ", ".join(result.art35_3) if result.art35_3 else f"{len(result.met)} WP248 criteria"
    return hit(purpose, f"'{purpose.name}' needs a DPIA ({why}: {', '.join(result.met)}) but has none",
               criteria=result.met, art35_3=list(result.art35_3), subject_count=result.subject_count)


def _regimes_of_purpose(ctx: Context, purpose: Purpose) -> list[str]:
    """The EU GDPR and UK GDPR, where the purpose processes data under them: a flow for it
    carries data under the regime, a subject category of it is located in the regime's area, or
    the controller is established there (Art. 3(1))."""
    view, inv = ctx.view, ctx.inventory
    found = []
    for regime in _ART_6_3_REGIMES:
        if regime not in view.law.regime_ids:
            continue
        area = ctx.rulebook.area(regime, ctx.as_of)
        if view.controller.country in area:
            found.append(regime)
            continue
        subjects = set(purpose.subjects)
        for e in purpose.elements:
            subjects.update(inv.elements[e].subjects)
        if any(regime in ctx.rulebook.regimes_of_location(loc, ctx.as_of)
               for s in subjects for loc in inv.subjects[s].locations):
            found.append(regime)
            continue
        if regime in view.regimes_of_purpose(purpose.id):
            found.append(regime)
    return found


# Art. 6(3): the basis for (c) and (e) is laid down by Union or member-state law (EU GDPR), by
# domestic law (UK GDPR, Art. 6(3) as retained).
_ART_6_3_REGIMES = ("gdpr", "uk-gdpr")


@rule("PUR-004", title="A legal obligation or public task rests on the law of the regime's area",
      severity=Severity.HIGH, legal=("GDPR Art. 6(1)(c), (e)", "GDPR Art. 6(3)", "GDPR Art. 48"),
      subject="purpose", over=selectors.purposes,
      remediation="An obligation under a third country's law is no Art. 6(1)(c) basis: find another basis "
                  "(legitimate interests with a balancing test, a contract), and for a foreign authority's "
                  "request use an international agreement such as a mutual legal assistance treaty (Art. 48).",
      example="""
purposes:
  - {id: us-subpoena, name: Answering US subpoenas, legal_basis: legal-obligation, law: US}   # EU data: fires
""")
def foreign_legal_obligation(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose rests on `legal-obligation` or `public-task` and its `law` (the country whose law
    imposes the obligation or task) is outside the area of a regime whose data it processes:
    under the EU GDPR the basis must be laid down by Union or member-state law (Art. 6(3)), so
    an obligation under a third country's law is none, and a third country's judgment or
    authority's decision requiring disclosure counts only under an international agreement
    (Art. 48). The UK GDPR likewise requires domestic law (UK GDPR Art. 6(3)): an EEA law is no
    basis for UK data. A purpose without `law` is not judged."""
    if purpose.legal_basis not in (LegalBasis.LEGAL_OBLIGATION, LegalBasis.PUBLIC_TASK) or purpose.law is None:
        return None
    outside = [r for r in _regimes_of_purpose(ctx, purpose) if purpose.law not in ctx.rulebook.area(r, ctx.as_of)]
    if not outside:
        return None
    names = ", ".join(ctx.rulebook.regime_short_name(r) for r in outside)
    return hit(purpose, f"'{purpose.name}' rests on {purpose.legal_basis.value} under the law of {purpose.law}, "
                        f"which is no basis for data under the {names} (Art. 6(3))",
               law=purpose.law, regimes=outside)


@rule("SPC-001", title="Special-category and criminal data have an Art. 9(2) / Art. 10 condition",
      severity=Severity.CRITICAL, legal=("GDPR Art. 9(1)", "GDPR Art. 9(2)", "GDPR Art. 10"), subject="purpose",
      over=selectors.purposes,
      remediation="Set `special_condition` to the Art. 9(2) condition relied on (for criminal data, the "
                  "Union or member-state law authorising it, Art. 10), or stop processing the data.",
      example="""
purposes:
  - {id: wellbeing, name: Wellbeing, legal_basis: consent, elements: [health-notes]}  # fires: no special_condition
""")
def special_condition_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose needs a special-category element (Art. 9(1)) or criminal-offence data
    (Art. 10) and names no `special_condition`: Art. 6 alone does not make it lawful."""
    if purpose.special_condition is not None:
        return None
    elements = ctx.inventory.elements
    special = [e for e in purpose.elements if elements[e].special or elements[e].criminal]
    if not special:
        return None
    return hit(purpose, f"'{purpose.name}' processes {', '.join(special)} without an Art. 9(2)/10 condition",
               elements=special)


@rule("CHD-001", title="Consent of children is given or authorised by a parent", severity=Severity.HIGH,
      legal=("GDPR Art. 8(1)", "GDPR Art. 8(2)", "DPA 2018 s. 9", "PIPL Art. 31"), subject="purpose",
      over=selectors.purposes,
      remediation="Add an age check and a parental-consent mechanism (`parental_consent: true`), or rely "
                  "on another basis.",
      example="""
subjects:
  - {id: pupils, name: Pupils, locations: [DE], children: true}
purposes:
  - {id: newsletter, name: Newsletter, legal_basis: consent, subjects: [pupils]}   # fires
""")
def parental_consent_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose resting on consent concerns a subject category (the purpose's `subjects` or the
    subjects of its elements) with `children: true` whose `youngest` is below the age of digital
    consent of a country among its locations, and has no `parental_consent`. With no `youngest`,
    the youngest is taken as under 13, below every age. Ages are rulebook data: GDPR Art. 8(1)
    and the member states' choices (16 by default; 13 in BE DK EE FI IS LV MT NO PT SE and GB,
    DPA 2018 s. 9; 14 in AT BG CY IT LT ES; 15 in CZ FR GR SI), PIPL Art. 31 (under 14 in CN).
    Regions expand to their countries (EEA, EU: the EEA's; WORLD: every country with an age).
    A location whose law sets no age of digital consent in the rulebook is not judged."""
    if purpose.legal_basis is not LegalBasis.CONSENT or purpose.parental_consent:
        return None
    inv = ctx.inventory
    subject_ids = set(purpose.subjects)
    for e in purpose.elements:
        subject_ids.update(inv.elements[e].subjects)
    ages = ctx.rulebook.age_of_consent
    eea = ctx.rulebook.area("gdpr", ctx.as_of)
    below: dict[str, dict[str, int]] = {}
    for s in sorted(subject_ids):
        subject = inv.subjects[s]
        if not subject.children:
            continue
        youngest = subject.youngest if subject.youngest is not None else 12
        where: dict[str, int] = {}
        for loc in subject.locations:
            if loc in ("EEA", "EU"):
                countries = sorted(eea)
            elif loc == "WORLD":
                countries = sorted(eea | set(ages.countries))
            else:
                countries = [loc]
            for c in countries:
                age = ages.countries.get(c, ages.default if c in eea else None)
                if age is not None and youngest < age:
                    where[c] = age
        if where:
            below[s] = where
    if not below:
        return None
    children = sorted(below)
    return hit(purpose, f"'{purpose.name}' rests on consent and concerns children below the age of digital "
                        f"consent ({', '.join(children)}) without parental consent",
               subjects=children, age_of_consent={c: a for w in below.values() for c, a in sorted(w.items())})
