"""`flowaudit export fides`: the inventory as one fideslang manifest (YAML).

- `organization`: `self`, its contact as the controller, its DPO and representative;
- `data_subject`, `data_category`, `data_use`: the inventory's own subjects, elements and
  purposes as taxonomy extensions below fideslang's default keys (an element of category
  contact becomes `user.contact.<id>`; a purpose becomes a data use below the key its legal
  basis suggests), each tagged `flowaudit:<id>` so that an import gives the same ids back;
- `system`: each system with one privacy declaration per purpose it takes part in (its
  elements, subjects, legal basis, Art. 9 condition, retention), `egress`/`ingress` for the
  flows between systems (with their data categories), `ingress` of type `user` for collection,
  and on the declarations the systems each purpose's data goes to and comes from;
- an organisation that receives flows with no modelled system becomes a system of
  `system_type: Organisation` tagged `flowaudit:organisation`, with its legal name, address
  (country) and responsibility.

`flowaudit import fides` reads this back into the same systems, purposes and flows.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from flowaudit.audits import AuditResult
from flowaudit.inventory.models import LegalBasis, Relation, SpecialCondition, System

from .common import dump_yaml, mapping

ID_TAG = "flowaudit:"
ORG_TAG = "flowaudit:organisation"
_USE_OF_BASIS = {
    LegalBasis.CONSENT: "functional", LegalBasis.CONTRACT: "essential.service",
    LegalBasis.LEGAL_OBLIGATION: "essential.legal_obligation", LegalBasis.VITAL_INTERESTS: "essential",
    LegalBasis.PUBLIC_TASK: "essential", LegalBasis.LEGITIMATE_INTERESTS: "essential",
}
_RESPONSIBILITY = {Relation.PROCESSOR: ["Processor"], Relation.SUB_PROCESSOR: ["Sub-Processor"]}


def _key(parent: str, ident: str) -> str:
    return f"{parent}.{ident.replace('.', '_')}"


def manifest(result: AuditResult) -> dict[str, Any]:
    inv = result.inventory
    data = mapping("fideslang")
    basis_text = {v: k for k, v in data["legal_basis"].items()}
    special_text = {v: k for k, v in data["special_category_legal_basis"].items()}
    me = inv.controller
    org_key = me.id
    organization: dict[str, Any] = {"fides_key": org_key, "name": me.name, "tags": [ID_TAG + me.id]}
    if me.contact:
        organization["controller"] = {"name": me.name, "address": _country_name(me.country), "email": me.contact,
                                      "phone": ""}
    else:
        organization["controller"] = {"name": me.name, "address": _country_name(me.country), "email": "", "phone": ""}
    if me.dpo is not None:
        organization["data_protection_officer"] = {"name": me.dpo.name or "", "address": _country_name(me.country),
                                                   "email": me.dpo.email or "", "phone": ""}
    if isinstance(me.representative, list):
        reps = me.representative
    else:
        reps = [me.representative] if me.representative else []
    if reps:
        organization["representative"] = {"name": reps[0].name, "address": _country_name(reps[0].country),
                                          "email": "", "phone": ""}

    categories = {e.id: _key(data["export_categories"][e.category.value], e.id) for e in inv.elements.values()}
    data_category = [{"fides_key": categories[e.id], "name": e.name, "parent_key": data["export_categories"][
        e.category.value], "tags": [ID_TAG + e.id], **({"description": e.notes} if e.notes else {})}
        for e in sorted(inv.elements.values(), key=lambda e: e.id)]
    uses = {}
    data_use = []
    for p in sorted(inv.purposes.values(), key=lambda p: p.id):
        parent = _USE_OF_BASIS.get(p.legal_basis, "essential") if p.legal_basis else "essential"
        uses[p.id] = _key(parent, p.id)
        data_use.append({"fides_key": uses[p.id], "name": p.name, "parent_key": parent, "tags": [ID_TAG + p.id],
                         **({"description": p.description} if p.description else {})})
    data_subject = [{"fides_key": s.id, "name": s.name,
                     "tags": [ID_TAG + s.id,
                              *([f"flowaudit:locations:{','.join(s.locations)}"] if s.locations else [])]}
                    for s in sorted(inv.subjects.values(), key=lambda s: s.id)]

    # per system and purpose: the elements, subjects, and the systems the data goes to / comes from
    decl: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    egress: dict[str, dict[str, list[str]]] = defaultdict(dict)
    ingress: dict[str, dict[str, tuple[str, list[str]]]] = defaultdict(dict)
    org_nodes = {f.to for f in inv.flows.values() if f.to in inv.organisations}
    org_nodes |= {f.from_ for f in inv.flows.values() if f.from_ in inv.organisations}

    def node_key(node: str) -> str:
        return node

    def declaration(system: str, purpose: str) -> dict[str, Any]:
        found = decl[system].get(purpose)
        if found is None:
            found = decl[system][purpose] = {"elements": [], "subjects": [], "egress": [], "ingress": []}
        return found

    for f in sorted(inv.flows.values(), key=lambda f: f.id):
        carried = [categories[e] for e in f.elements if e in categories]
        src_is_node = f.from_ in inv.systems or f.from_ in org_nodes
        for pid in f.purposes:
            for end in (f.from_, f.to):
                if end in inv.systems or end in org_nodes:
                    d = declaration(end, pid)
                    d["elements"] = list(dict.fromkeys([*d["elements"], *f.elements]))
            if f.from_ in inv.subjects and (f.to in inv.systems or f.to in org_nodes):
                d = declaration(f.to, pid)
                d["subjects"] = list(dict.fromkeys([*d["subjects"], f.from_]))
            if src_is_node and (f.to in inv.systems or f.to in org_nodes):
                declaration(f.from_, pid)["egress"].append(node_key(f.to))
                declaration(f.to, pid)["ingress"].append(node_key(f.from_))
        if src_is_node and (f.to in inv.systems or f.to in org_nodes):
            prior = egress[f.from_].get(f.to, [])
            egress[f.from_][f.to] = list(dict.fromkeys([*prior, *carried]))
        elif f.from_ in inv.subjects and (f.to in inv.systems or f.to in org_nodes):
            kind, prior = ingress[f.to].get(f.from_, ("user", []))
            ingress[f.to][f.from_] = (kind, list(dict.fromkeys([*prior, *carried])))
    systems = []
    nodes: list[tuple[str, System | None]] = [(s.id, s) for s in sorted(inv.systems.values(), key=lambda s: s.id)]
    nodes += [(o, None) for o in sorted(org_nodes)]
    for node, system in nodes:
        declarations = []
        for pid in sorted(decl.get(node, {})):
            purpose = inv.purposes[pid]
            d = decl[node][pid]
            subjects = d["subjects"] or sorted({s for e in d["elements"] for s in inv.elements[e].subjects}) or list(
                purpose.subjects)
            entry: dict[str, Any] = {
                "name": purpose.name, "data_use": uses[pid],
                "data_categories": [categories[e] for e in d["elements"]], "data_subjects": subjects,
            }
            if purpose.legal_basis is not None:
                entry["legal_basis_for_processing"] = basis_text[purpose.legal_basis.value]
            if purpose.special_condition is not None:
                entry["processes_special_category_data"] = True
                entry["special_category_legal_basis"] = special_text[SpecialCondition(purpose.special_condition).value]
            if purpose.retention:
                entry["retention_period"] = purpose.retention
            if d["egress"]:
                entry["egress"] = sorted(set(d["egress"]))
            if d["ingress"]:
                entry["ingress"] = sorted(set(d["ingress"]))
            declarations.append(entry)
        if system is not None:
            operator = inv.organisations[system.operator]
            doc: dict[str, Any] = {"fides_key": system.id, "name": system.name, "organization_fides_key": org_key,
                                   "system_type": "Service", "tags": [ID_TAG + system.id]}
            if operator.relation is not Relation.SELF:
                doc["legal_name"] = operator.name
                doc["legal_address"] = _country_name(operator.country)
                doc["responsibility"] = _RESPONSIBILITY.get(operator.relation, [])
                doc["tags"].append(f"flowaudit:operator:{operator.id}:{operator.relation.value}")
            if system.security:
                doc["data_security_practices"] = ", ".join(system.security)
            if system.elements:
                doc["dataset_references"] = [f"{system.id}_data"]
        else:
            org = inv.organisations[node]
            doc = {"fides_key": node, "name": org.name, "organization_fides_key": org_key,
                   "system_type": "Organisation",
                   "tags": [ORG_TAG, f"flowaudit:operator:{org.id}:{org.relation.value}"],
                   "legal_name": org.name, "legal_address": _country_name(org.country),
                   "responsibility": _RESPONSIBILITY.get(org.relation, [])}
        if egress.get(node):
            doc["egress"] = [{"fides_key": node_key(t), "type": "system", "data_categories": cats}
                             for t, cats in sorted(egress[node].items())]
        flows_in = [src for src, targets in egress.items() if node in targets]
        ingress_list = [{"fides_key": node_key(src), "type": "system", "data_categories": egress[src][node]}
                        for src in sorted(flows_in)]
        ingress_list += [{"fides_key": subj, "type": "user", "data_categories": cats}
                         for subj, (_, cats) in sorted(ingress.get(node, {}).items())]
        if ingress_list:
            doc["ingress"] = ingress_list
        doc["privacy_declarations"] = declarations
        systems.append(doc)
    datasets = [{"fides_key": f"{s.id}_data", "name": f"{s.name}: stored data", "organization_fides_key": org_key,
                 "collections": [{"name": "elements", "fields": [
                     {"name": e, "data_categories": [categories[e]]} for e in s.elements]}]}
                for s in sorted(inv.systems.values(), key=lambda s: s.id) if s.elements]
    return {"organization": [organization], "data_subject": data_subject, "data_category": data_category,
            "data_use": data_use, "system": systems, "dataset": datasets}


def _country_name(code: str) -> str:
    """An address that names the country and ends with its code (what the importer reads)."""
    from flowaudit.reports.records import country_name

    return f"{country_name(code)}, {code}"


def write_fides(result: AuditResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"fideslang manifest of the flowaudit inventory of {result.inventory.controller.name}, written by "
              "`flowaudit export fides`.\nRead it back with `flowaudit import fides`; load it into Fides with "
              "`fides push`.")
    path.write_text(dump_yaml(manifest(result), header), encoding="utf-8")
    return path
