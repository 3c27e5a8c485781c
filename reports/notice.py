"""`flowaudit notice`: the information of GDPR Art. 13 (data collected from the data subject)
or Art. 14 (data obtained otherwise) for one group of data subjects, drafted from the inventory.

Sections follow the Articles' order: controller, representative and DPO (13(1)(a)-(b));
purposes, legal bases and legitimate interests (13(1)(c)-(d)); categories of data (14(1)(d));
recipients (13(1)(e)); where the data is processed and the transfers with their safeguards
and how to obtain a copy (13(1)(f)); retention (13(2)(a)); rights, consent withdrawal and
complaint (13(2)(b)-(d)); whether the data is required (13(2)(e)); sources (14(2)(f));
automated decisions and profiling (13(2)(f)). Whatever the inventory lacks is a gap, listed
at the end — never papered over.

The group's data is followed through the graph: from the group's collection flows (and the
flows that bring data about them from other organisations) along every flow that carries
part of it on; the recipients, countries and transfers are those of the flows reached, and
the transfers are the view's restricted transfers under the regimes of the group's locations.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from flowaudit.audits import AuditResult
from flowaudit.audits.dpia import purpose_subjects
from flowaudit.audits.rulebook import Rulebook
from flowaudit.inventory import FlowauditError
from flowaudit.inventory.anonymity import is_personal, processes_only_anonymous_data
from flowaudit.inventory.graph import Transfer
from flowaudit.inventory.models import Flow, LegalBasis, Relation, Role

from .mdtext import md
from .records import BASIS_TEXT, CONDITION_TEXT, RIGHTS, country_name, retention_text

TEMPLATES = Path(__file__).resolve().parent / "templates"

RECIPIENT_CATEGORY = {
    Relation.AFFILIATE: "companies of our group",
    Relation.PROCESSOR: "service providers acting on our behalf (processors)",
    Relation.SUB_PROCESSOR: "sub-contractors of our service providers (sub-processors)",
    Relation.JOINT_CONTROLLER: "joint controllers",
    Relation.PARTNER: "business partners",
    Relation.THIRD_PARTY: "other third parties",
    Relation.AUTHORITY: "public authorities",
}

MECHANISM_TEXT = {
    "scc": "standard contractual clauses adopted by the European Commission",
    "bcr": "binding corporate rules",
    "ad-hoc-clauses": "contractual clauses authorised by a supervisory authority",
    "code-of-conduct": "an approved code of conduct with binding commitments of the importer",
    "certification": "an approved certification with binding commitments of the importer",
    "explicit-consent": "your explicit consent to the transfer",
    "contract-necessity": "the transfer is necessary for a contract with you or in your interest",
    "public-interest": "important reasons of public interest",
    "legal-claims": "the establishment, exercise or defence of legal claims",
    "vital-interests": "the protection of vital interests",
    "public-register": "the transfer is made from a public register",
    "compelling-legitimate-interests": "our compelling legitimate interests (occasional transfer, "
                                       "the supervisory authority informed)",
    "idta": "the UK International Data Transfer Agreement",
    "uk-addendum": "the UK Addendum to the European Commission's standard contractual clauses",
}

REQUIREMENT_TEXT = {
    LegalBasis.CONTRACT: "needed to provide the service under our terms: without it we cannot provide it",
    LegalBasis.LEGAL_OBLIGATION: "required by law",
    LegalBasis.CONSENT: "voluntary: you decide whether to give your consent",
}

COMPLAINT = {
    "gdpr": "the data-protection supervisory authority of the EEA country where you live or work or where the "
            "alleged infringement took place (GDPR Art. 77)",
    "uk-gdpr": "the Information Commissioner's Office (ico.org.uk) (UK GDPR Art. 77)",
}


@dataclass
class Item:
    label: str
    text: str
    gap: bool = False


@dataclass
class Section:
    key: str
    title: str
    article: str
    items: list[Item] = field(default_factory=list)

    def add(self, label: str, text: str, gap: bool = False) -> None:
        self.items.append(Item(label, text, gap))


@dataclass
class Notice:
    controller: str
    subjects: list[str]  # ids
    subject_names: list[str]
    articles: str  # "13", "14" or "13 and 14"
    as_of: dt.date
    regimes: list[str]
    sections: list[Section]
    purposes: list[str]  # ids covered
    recipients: dict[str, list[str]]  # category -> organisation names
    countries: list[str]  # every country where the group's data is held or received, outside the group's own
    gaps: list[str]

    @property
    def title(self) -> str:
        return f"Privacy notice: {self.controller}"


def _reach(result: AuditResult, group: set[str], elements: set[str]) -> tuple[list[Flow], dict[str, set[str]]]:
    """Flows carrying the group's data (from its collection flows, and from organisations that
    supply data about it to the controller), and per supplying organisation the elements."""
    view = result.view
    inv = view.inventory
    me = inv.controller.id
    bit = {e: 1 << i for i, e in enumerate(sorted(elements))}
    have: dict[str, int] = defaultdict(int)
    queue: deque[str] = deque()
    reached: dict[str, Flow] = {}
    supplied: dict[str, set[str]] = defaultdict(set)

    def mask_of(flow: Flow) -> int:
        m = 0
        for e in flow.elements:
            m |= bit.get(e, 0)
        return m

    def push(flow: Flow, carried: int) -> None:
        reached[flow.id] = flow
        before = have[flow.to]
        if before | carried != before:
            have[flow.to] = before | carried
            queue.append(flow.to)

    for s in sorted(group):
        for flow in view.flows_from(s):
            carried = mask_of(flow)
            if carried:
                push(flow, carried)
    for flow in inv.flows.values():
        if view.is_subject(flow.from_):
            continue
        source, target = view.operator(flow.from_), view.operator(flow.to)
        if source is not None and target is not None and source.id != me and target.id == me:
            carried = mask_of(flow)
            if carried:
                push(flow, carried)
                if source.role is Role.CONTROLLER:  # a processor's data is ours, not another source
                    supplied[source.id].update(e for e in flow.elements if e in bit)
    while queue:
        node = queue.popleft()
        m = have[node]
        for flow in view.flows_from(node):
            carried = m & mask_of(flow)
            if carried:
                push(flow, carried)
    order = {f: i for i, f in enumerate(inv.flows)}
    return sorted(reached.values(), key=lambda f: order[f.id]), supplied


def build_notice(result: AuditResult, subjects: list[str] | None = None,
                 rulebook: Rulebook | None = None) -> Notice:
    book = rulebook or result.rulebook
    view = result.view
    inv = view.inventory
    as_of = result.as_of
    unknown = [s for s in subjects or () if s not in inv.subjects]
    if unknown:
        from flowaudit.inventory.validate import suggest

        raise FlowauditError("; ".join(f"no data subjects {s!r}{suggest(s, inv.subjects)}" for s in unknown))
    group = set(subjects) if subjects else set(inv.subjects)
    me = inv.controller
    gaps: list[str] = []
    sections: list[Section] = []

    regimes = sorted({r for s in group for loc in inv.subjects[s].locations
                      for r in book.regimes_of_location(loc, as_of)})
    chapter_v = [r for r in regimes if book.attaches_to_establishments(r)]
    element_ids = {e for e, el in inv.elements.items() if group & set(el.subjects) and is_personal(el)}
    flows, supplied = _reach(result, group, element_ids)
    collected = {e for f in flows if f.from_ in group for e in f.elements if e in element_ids}
    obtained = {e for es in supplied.values() for e in es} - collected
    articles = "13 and 14" if collected and obtained else ("13" if collected or not obtained else "14")
    purposes = [p for p in sorted(inv.purposes) if group & set(purpose_subjects(view, inv.purposes[p]))]
    purposes += sorted({p for f in flows for p in f.purposes if p in inv.purposes} - set(purposes))
    purposes = [p for p in purposes if not processes_only_anonymous_data(inv.purposes[p], inv.elements)]

    # 1. controller, representative, DPO: Art. 13(1)(a)-(b), 14(1)(a)-(b)
    s = Section("controller", "Who is responsible for your data", "Art. 13(1)(a)-(b), 14(1)(a)-(b)")
    s.add("Controller", f"{me.name} ({country_name(me.country)})")
    if me.contact:
        s.add("Contact", me.contact)
    else:
        s.add("Contact", "no contact details recorded for the controller (inventory field contact)", gap=True)
    reps = me.representative if isinstance(me.representative, list) else ([me.representative]
                                                                           if me.representative else [])
    for r in chapter_v:
        area = book.area(r, as_of)
        if me.country in area:
            continue
        theirs = [rep for rep in reps if rep.country in area]
        name = book.regime_name(r)
        if theirs:
            for rep in theirs:
                s.add(f"Representative ({name}, Art. 27)", f"{rep.name} ({country_name(rep.country)})")
        else:
            s.add(f"Representative ({name}, Art. 27)",
                  f"none recorded: {me.name} is established outside the area of the {name} and offers its services "
                  f"to people there (inventory field representative)", gap=True)
    if me.dpo and (me.dpo.name or me.dpo.email):
        s.add("Data protection officer", ", ".join(x for x in (me.dpo.name, me.dpo.email) if x))
    else:
        s.add("Data protection officer", "none recorded: give the DPO's contact details, or confirm that no DPO "
              "is designated (Art. 37) and name the contact for privacy questions (inventory field dpo)", gap=True)
    sections.append(s)

    # 2. purposes and legal bases: Art. 13(1)(c)-(d)
    s = Section("purposes", "Why we use your data, and on what legal basis", "Art. 13(1)(c)-(d), 14(1)(c), 14(2)(b)")
    for p in purposes:
        purpose = inv.purposes[p]
        basis = purpose.legal_basis
        text = BASIS_TEXT[basis] if basis else ""
        if purpose.special_condition is not None:
            text += f"; for special categories of data, {CONDITION_TEXT[purpose.special_condition]}"
        if basis is None:
            s.add(purpose.name, "no legal basis recorded (inventory field legal_basis)", gap=True)
            continue
        if basis is LegalBasis.LEGITIMATE_INTERESTS and not purpose.description:
            s.add(purpose.name, f"{text}; the legitimate interests pursued are not described (inventory field "
                  "description)", gap=True)
            continue
        if basis is LegalBasis.LEGITIMATE_INTERESTS:
            text += ": the interest pursued is the purpose described"
        if purpose.description:
            text = f"{purpose.description} — {text}"
        s.add(purpose.name, text)
    if not purposes:
        s.add("Purposes", "no purpose concerns these data subjects", gap=True)
    sections.append(s)

    # 3. categories of data: Art. 14(1)(d) (given for Art. 13 too: it makes the rest readable)
    s = Section("data", "What data we use", "Art. 14(1)(d)")
    by_category: dict[str, list[str]] = defaultdict(list)
    for e in sorted(element_ids):
        el = inv.elements[e]
        by_category[el.category.value].append(el.name)
    for category, names in sorted(by_category.items()):
        s.add(category, ", ".join(names))
    sections.append(s)

    # 4. recipients: Art. 13(1)(e)
    s = Section("recipients", "Who receives your data", "Art. 13(1)(e), 14(1)(e)")
    recipients: dict[str, dict[str, str]] = defaultdict(dict)
    for f in flows:
        org = view.operator(f.to)
        if org is None or org.id == me.id:
            continue
        recipients[RECIPIENT_CATEGORY[org.relation]][org.id] = f"{org.name} ({country_name(org.country)})"
    for category in sorted(recipients):
        s.add(category, "; ".join(recipients[category][o] for o in sorted(recipients[category])))
    if not recipients:
        s.add("Recipients", "no organisation other than the controller receives this data")
    sections.append(s)

    # 5. where the data is processed, and transfers: Art. 13(1)(f), 14(1)(f)
    s = Section("transfers", "Where your data is processed, and transfers outside your region",
                "Art. 13(1)(f), 14(1)(f), 46, 49")
    home = {c for r in chapter_v for c in book.area(r, as_of)} | {
        loc for g in group for loc in inv.subjects[g].locations}
    countries: set[str] = set()
    held: dict[str, set[str]] = defaultdict(set)
    for f in flows:
        if view.is_subject(f.to):
            continue
        org = view.operator(f.to)
        for c in view.countries(f.to):
            held[c].add(view.name(f.to))
            countries.add(c)
        if org is not None:
            countries.add(org.country)
    for c in sorted(held):
        if c not in home:
            s.add(f"{country_name(c)} ({c})", "your data is held or received there: " + ", ".join(sorted(held[c])))
    transfers: dict[tuple[str, str], Transfer] = {}
    for f in flows:
        for t in view.transfers_of(f):
            if t.regime in chapter_v:
                transfers[(f.id, t.regime)] = t
    contact = me.contact or "the contact above"
    lines: dict[tuple[str, str, bool], list[str]] = defaultdict(list)  # (head, text, gap) -> flows
    for key in sorted(transfers):
        t = transfers[key]
        where = ", ".join(f"{country_name(c)} ({c})" for c in t.destination_countries)
        regime = book.regime_name(t.regime)
        head = f"Transfer to {t.importer.name}, {where}"
        if t.adequate:
            decisions = ", ".join(sorted({a.decision for a in t.adequacy if a.decision}))
            lines[(head, f"an adequacy decision applies ({decisions}; {regime} Art. 45)", False)].append(t.flow.id)
            continue
        m = t.mechanism
        info = book.mechanisms.get(m) if m is not None else None
        if m is None or info is None or t.regime not in info.regimes or info.kind == "adequacy":
            why = "no mechanism" if m is None else m.value + ", which does not count here"
            lines[(head, f"no safeguard the notice could name ({regime} Chapter V): {why}", True)].append(t.flow.id)
            continue
        text = f"{MECHANISM_TEXT.get(m.value, m.value)} ({regime} {info.legal})"
        if info.kind == "safeguard":
            text += f"; you can obtain a copy of these safeguards from {contact}"
        lines[(head, text, False)].append(t.flow.id)
    for (head, text, gap), flow_ids in lines.items():
        s.add(head, f"{text} (flows: {', '.join(flow_ids)})" if gap else text, gap=gap)
    if not transfers and not any(c not in home for c in held):
        s.add("Transfers", "your data stays in your region")
    sections.append(s)

    # 6. retention: Art. 13(2)(a)
    s = Section("retention", "How long we keep your data", "Art. 13(2)(a), 14(2)(a)")
    for p in purposes:
        purpose = inv.purposes[p]
        if purpose.retention:
            s.add(purpose.name, retention_text(purpose.retention))
        else:
            s.add(purpose.name, "no retention period recorded (inventory field retention)", gap=True)
    sections.append(s)

    # 7. rights, consent withdrawal, complaint: Art. 13(2)(b)-(d)
    s = Section("rights", "Your rights", "Art. 13(2)(b)-(d), 14(2)(c)-(e), 15-22, 77")
    bases = sorted({b for p in purposes if (b := inv.purposes[p].legal_basis) is not None},
                   key=lambda b: b.value)
    for basis in bases:
        names = [inv.purposes[p].name for p in purposes if inv.purposes[p].legal_basis is basis]
        s.add(f"Where we rely on {BASIS_TEXT[basis]}", f"{RIGHTS[basis]} ({'; '.join(names)})")
    if LegalBasis.CONSENT in bases:
        s.add("Consent", "you may withdraw your consent at any time, without affecting the lawfulness of processing "
              "before the withdrawal (Art. 7(3))")
    s.add("How to exercise them", f"write to {contact}")
    for r in chapter_v:
        s.add(f"Complaint ({book.regime_name(r)})",
              f"you may lodge a complaint with {COMPLAINT.get(r, 'a supervisory authority')}")
    sections.append(s)

    # 8. statutory or contractual requirement: Art. 13(2)(e)
    if collected:
        s = Section("requirement", "Whether you must give us your data", "Art. 13(2)(e)")
        for p in purposes:
            purpose = inv.purposes[p]
            known = REQUIREMENT_TEXT.get(purpose.legal_basis) if purpose.legal_basis else None
            if known:
                s.add(purpose.name, known)
            else:
                s.add(purpose.name, "? to be answered by the purpose owner: whether providing the data is required, "
                      "and what happens if it is not provided", gap=True)
        sections.append(s)

    # 9. sources: Art. 14(2)(f)
    if obtained or supplied:
        s = Section("sources", "Where we obtain data about you", "Art. 14(1)(d), 14(2)(f)")
        for org_id in sorted(supplied):
            org = inv.organisations[org_id]
            element_names = ", ".join(inv.elements[e].name for e in sorted(supplied[org_id]))
            s.add(f"{org.name} ({country_name(org.country)})", element_names)
        sections.append(s)

    # 10. automated decisions and profiling: Art. 13(2)(f)
    s = Section("automated", "Automated decisions and profiling", "Art. 13(2)(f), 14(2)(g), 22")
    automated = [inv.purposes[p] for p in purposes if inv.purposes[p].automated_decisions or inv.purposes[p].profiling]
    for purpose in automated:
        kinds = [k for k, on in (("automated decisions", purpose.automated_decisions),
                                 ("profiling", purpose.profiling)) if on]
        s.add(purpose.name, f"{' and '.join(kinds)}: ? to be answered by the purpose owner: meaningful information "
              "about the logic involved, and the significance and envisaged consequences for you", gap=True)
    if not automated:
        s.add("Automated decisions", "we take no decision based solely on automated processing, and do no profiling")
    sections.append(s)

    # children: Art. 8 and Recital 58 (a notice children can understand)
    children = sorted(g for g in group if inv.subjects[g].children)
    if children:
        s = Section("children", "Children", "Art. 8, 12(1); Recital 58")
        s.add("Children among these data subjects", ", ".join(inv.subjects[c].name for c in children)
              + ": write this notice so that a child can understand it (Art. 12(1))")
        sections.append(s)

    for sec in sections:
        for item in sec.items:
            if item.gap:
                gaps.append(f"{sec.title} — {item.label}: {item.text}")
    return Notice(
        controller=me.name, subjects=sorted(group), subject_names=[inv.subjects[g].name for g in sorted(group)],
        articles=articles, as_of=as_of, regimes=[book.regime_name(r) for r in regimes], sections=sections,
        purposes=purposes, recipients={k: [recipients[k][o] for o in sorted(recipients[k])] for k in recipients},
        countries=sorted(countries - home), gaps=gaps,
    )


def _env(markdown: bool) -> jinja2.Environment:
    if markdown:
        # every {{ expression }} goes through md(): an inventory string is never Markdown or HTML
        return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=False,
                                  finalize=md, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                  lstrip_blocks=True, keep_trailing_newline=True)
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True)


def render_notice(notice: Notice, fmt: str) -> str:
    if fmt not in ("md", "html"):
        raise FlowauditError(f"unknown notice format {fmt!r}: the output file ends in .md or .html")
    return _env(fmt == "md").get_template(f"notice.{fmt}.j2").render(n=notice)
