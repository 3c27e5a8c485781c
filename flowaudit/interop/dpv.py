"""`flowaudit export dpv`: the record of processing as JSON-LD in the W3C Data Privacy
Vocabulary (DPV 2.x, the release named in `data/mappings/dpv.yaml`).

One `dpv:PersonalDataHandling` per purpose (processing activity) with its purpose, personal
data (typed with DPV-PD classes), data subjects, legal bases (GDPR Art. 6(1) and 9(2) from the
EU-GDPR extension), data controller, recipients, storage duration, and each restricted
transfer of its flows as a `dpv:Transfer`/`dpv:CrossBorderTransfer` with exporter, importer,
third countries, its legal basis (adequacy, Art. 46 tool or Art. 49 derogation) and its
safeguards. Subjects, elements and organisations are nodes of their own, referenced by id.
Identifiers are URNs (`urn:flowaudit:<controller>:<kind>/<id>`) unless a base IRI is given.
Output is deterministic: sorted, no timestamps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flowaudit.audits import AuditResult
from flowaudit.inventory.periods import RETENTION_KEYWORDS

from .common import mapping

_RETENTION_EVENT = {"until-account-deletion": "until the account is deleted",
                    "until-purpose-fulfilled": "until the purpose is fulfilled",
                    "statutory": "the period the law prescribes"}


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def document(result: AuditResult, base: str | None = None) -> dict[str, Any]:
    from flowaudit import __version__

    inv, view = result.inventory, result.view
    data = mapping("dpv")
    me = inv.controller
    context: dict[str, Any] = dict(data["namespaces"])
    context["fa"] = base or f"urn:flowaudit:{me.id}:"

    def node(kind: str, ident: str) -> str:
        return f"fa:{kind}/{ident}"

    def loc(code: str) -> str | None:
        return f"loc:{code}" if code != "WORLD" else None

    graph: list[dict[str, Any]] = [{
        "@id": "fa:record", "dct:title": f"Record of processing activities: {me.name}",
        "dct:conformsTo": _ref(data["release_iri"]), "dct:creator": f"flowaudit {__version__}",
        "dct:date": {"@value": result.as_of.isoformat(), "@type": "xsd:date"},
    }]
    for o in sorted(inv.organisations.values(), key=lambda o: o.id):
        entry: dict[str, Any] = {"@id": node("organisation", o.id),
                                 "@type": ["dpv:LegalEntity", *data["relations"][o.relation.value]],
                                 "dpv:hasName": o.name, "dpv:hasLocation": _ref(f"loc:{o.country}")}
        if o.contact:
            entry["dpv:hasContact"] = o.contact
        if o.dpo is not None and (o.dpo.name or o.dpo.email):
            entry["dpv:hasDataProtectionOfficer"] = {
                "@type": "dpv:DataProtectionOfficer", "dpv:hasName": o.dpo.name or "",
                **({"dpv:hasContact": o.dpo.email} if o.dpo.email else {})}
        if isinstance(o.representative, list):
            reps = o.representative
        else:
            reps = [o.representative] if o.representative else []
        if reps:
            entry["dpv:hasRepresentative"] = [{"@type": "dpv:Representative", "dpv:hasName": r.name,
                                               "dpv:hasLocation": _ref(f"loc:{r.country}")} for r in reps]
        graph.append(entry)
    for s in sorted(inv.subjects.values(), key=lambda s: s.id):
        locations = [x for x in (loc(c) for c in s.locations) if x]
        graph.append({"@id": node("subject", s.id),
                      "@type": ["dpv:DataSubject", *(["dpv:Child"] if s.children else [])],
                      "dct:title": s.name, **({"dpv:hasLocation": [_ref(x) for x in locations]} if locations else {})})
    for e in sorted(inv.elements.values(), key=lambda e: e.id):
        types = ["dpv:PersonalData", data["categories"][e.category.value]]
        if e.special:
            types.append("dpv:SpecialCategoryPersonalData")
        if e.state.value == "pseudonymised":
            types.append("dpv:PseudonymisedData")
        elif e.state.value == "anonymised":
            types = ["dpv:AnonymisedData", data["categories"][e.category.value]]
        graph.append({"@id": node("element", e.id), "@type": types, "dct:title": e.name})

    flows_by_purpose: dict[str, list[Any]] = {}
    for f in inv.flows.values():
        for pid in f.purposes:
            flows_by_purpose.setdefault(pid, []).append(f)
    transfers_by_flow: dict[str, list[Any]] = {}
    for t in view.transfers():
        transfers_by_flow.setdefault(t.flow.id, []).append(t)

    for p in sorted(inv.purposes.values(), key=lambda p: p.id):
        flows = sorted(flows_by_purpose.get(p.id, []), key=lambda f: f.id)
        handling: dict[str, Any] = {
            "@id": node("handling", p.id), "@type": "dpv:PersonalDataHandling", "dct:title": p.name,
            "dpv:hasPurpose": {"@id": node("purpose", p.id), "@type": "dpv:Purpose", "dct:title": p.name,
                               **({"dct:description": p.description} if p.description else {})},
        }
        if p.elements:
            handling["dpv:hasPersonalData"] = [_ref(node("element", e)) for e in p.elements]
        subjects = list(p.subjects) or sorted({s for e in p.elements if e in inv.elements
                                               for s in inv.elements[e].subjects})
        if subjects:
            handling["dpv:hasDataSubject"] = [_ref(node("subject", s)) for s in subjects]
        bases = []
        if p.legal_basis is not None:
            bases.append(_ref(data["legal_basis"][p.legal_basis.value]))
        if p.special_condition is not None:
            bases.append(_ref(data["special_condition"][p.special_condition.value]))
        if bases:
            handling["dpv:hasLegalBasis"] = bases
        controller = p.on_behalf_of if p.on_behalf_of and p.on_behalf_of in inv.organisations else me.id
        handling["dpv:hasDataController"] = _ref(node("organisation", controller))
        if p.role.value == "processor":
            handling["dpv:hasDataProcessor"] = _ref(node("organisation", me.id))
        recipients = set()
        for f in flows:
            importer = view.operator(f.to)
            if importer is not None and importer.id not in (me.id, controller):
                recipients.add(importer.id)
        for sid in view.purpose_systems.get(p.id, ()):
            operator = inv.systems[sid].operator
            if operator not in (me.id, controller):
                recipients.add(operator)
        if recipients:
            handling["dpv:hasRecipient"] = [_ref(node("organisation", o)) for o in sorted(recipients)]
        if p.retention:
            handling["dpv:hasStorageCondition"] = {"@type": "dpv:StorageDuration",
                                                   "dpv:hasDuration": _duration(p.retention)}
        processing = []
        for f in flows:
            for t in sorted(transfers_by_flow.get(f.id, []), key=lambda t: t.regime):
                processing.append(_transfer(t, node, data))
        if processing:
            handling["dpv:hasProcessing"] = processing
        graph.append(handling)
    return {"@context": context, "@graph": graph}


def _duration(period: str) -> dict[str, Any]:
    if period in RETENTION_KEYWORDS:
        return {"@type": "dpv:UntilEventDuration", "dct:description": _RETENTION_EVENT[period]}
    return {"@type": "dpv:TemporalDuration", "dpv:hasDuration": {"@value": period, "@type": "xsd:duration"}}


def _transfer(t: Any, node: Any, data: dict[str, Any]) -> dict[str, Any]:
    flow = t.flow
    entry: dict[str, Any] = {
        "@id": node("transfer", f"{flow.id}/{t.regime}"), "@type": ["dpv:Transfer", "dpv:CrossBorderTransfer"],
        "dct:title": f"{flow.id} ({t.regime})",
        "dpv:hasDataExporter": _ref(node("organisation", t.exporter.id)),
        "dpv:hasDataImporter": _ref(node("organisation", t.importer.id)),
        "dpv:hasThirdCountry": [_ref(f"loc:{c}") for c in t.destination_countries],
        "dpv:hasPersonalData": [_ref(node("element", e.id)) for e in t.elements],
    }
    transfer = flow.transfer
    mechanisms = []
    raw = transfer.mechanism if transfer is not None else None
    for m in (raw if isinstance(raw, list) else [raw] if raw is not None else []):
        term = data["mechanisms"].get(m.value)
        mechanisms.append(_ref(term) if term else {"@type": data["mechanism_other"], "dct:title": m.value})
    if mechanisms:
        entry["dpv:hasLegalBasis"] = mechanisms
    safeguards: list[Any] = []
    if transfer is not None and raw is not None:
        description = ", ".join(m.value for m in (raw if isinstance(raw, list) else [raw]))
        if transfer.scc is not None:
            scc = transfer.scc
            description += " (" + ", ".join(str(x) for x in (
                scc.module.value if scc.module else None, scc.version, f"signed {scc.signed}" if scc.signed else None)
                if x) + ")"
        safeguards.append({"@type": "dpv:SafeguardForDataTransfer", "dct:description": description})
    for measure in (transfer.measures if transfer is not None else []):
        term = data["measures"].get(measure)
        safeguards.append(_ref(term) if term else {"@type": "dpv:SafeguardForDataTransfer", "dct:description": measure})
    if transfer is not None and transfer.tia is not None and transfer.tia.date is not None:
        safeguards.append({"@type": "dpv:DataTransferImpactAssessment",
                           "dct:date": {"@value": transfer.tia.date.isoformat(), "@type": "xsd:date"},
                           **({"dct:description": transfer.tia.outcome.value} if transfer.tia.outcome else {})})
    if safeguards:
        entry["dpv:hasTechnicalOrganisationalMeasure"] = safeguards
    return entry


def write_dpv(result: AuditResult, path: Path, base: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document(result, base), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
