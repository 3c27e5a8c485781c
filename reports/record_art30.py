"""The Art. 30 record of processing: the controller's record (Art. 30(1)) and the
processor's (Art. 30(2)), as the ICO template orders their columns."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import Any

from flowaudit.audits.dpia import screen
from flowaudit.inventory.models import (
    LegalBasis,
    Organisation,
    Purpose,
    Relation,
    Role,
)

from .records_base import (
    BASIS_TEXT,
    CONDITION_TEXT,
    RIGHTS,
    ReportBase,
    Table,
    _located,
    country_name,
    join,
    retention_text,
)


class Art30Record(ReportBase):
    """The Art. 30 records: the controller's (Art. 30(1)) and the processor's (Art. 30(2))."""

    # --- Art. 30(1) -----------------------------------------------------------------------

    CONTROLLER_COLUMNS = (
        "Business function", "Purpose of processing", "Name and contact details of joint controller",
        "Categories of individuals", "Categories of personal data", "Categories of recipients (and names)",
        "Link to contract with processor", "Names of third countries or international organisations",
        "Safeguards for exceptional transfers", "Retention schedule",
        "General description of technical and organisational security measures", "Art. 6 lawful basis",
        "Art. 9 condition (special category data)", "Legitimate interests (if applicable)",
        "Rights available / automated decision-making and profiling", "Source of personal data",
        "Location of personal data", "DPIA required / date", "DPIA screening (WP248)", "Findings", "Source (inventory)",
        "Purpose id",
    )
    PROCESSOR_COLUMNS = (
        "Name and contact details of the controller", "Controller's representative and DPO",
        "Business function", "Categories of processing", "Categories of individuals",
        "Categories of personal data", "Sub-processors and recipients",
        "Names of third countries or international organisations", "Safeguards for exceptional transfers",
        "General description of technical and organisational security measures", "Retention schedule",
        "Findings", "Source (inventory)", "Purpose id",
    )

    @cached_property
    def controller_block(self) -> list[tuple[str, str]]:
        """Art. 30(1)(a): the controller, its representative, its DPO, the joint controllers."""
        me = self.controller
        reps = me.representatives
        dpo = me.dpo
        joint = sorted((o for o in self.inventory.organisations.values() if o.relation is Relation.JOINT_CONTROLLER),
                       key=lambda o: o.id)
        return [
            ("Controller", f"{me.name} ({country_name(me.country)}, {me.country})"),
            ("Contact details", me.contact or "not recorded"),
            ("Representative (Art. 27)",
             join(f"{r.name} ({country_name(r.country)})" for r in reps) or "none recorded"),
            ("Data protection officer", join((dpo.name, dpo.email), ", ") if dpo else "none recorded"),
            ("Joint controllers", join(f"{o.name} ({o.country})" + (f", {o.contact}" if o.contact else "")
                                        for o in joint) or "none"),
            ("Record as of", self.as_of.isoformat()),
            ("Inventory", self.label),
        ]

    def _purpose_facts(self, purpose: Purpose) -> dict[str, Any]:
        inv, view = self.inventory, self.view
        flows = self.flows_by_purpose.get(purpose.id, [])
        me = self.controller.id
        subject_ids = list(purpose.subjects)
        if not subject_ids:
            subject_ids = sorted({s for e in purpose.elements if e in inv.elements for s in inv.elements[e].subjects})
        subjects = [inv.subjects[s].name for s in subject_ids if s in inv.subjects]
        by_category: dict[str, list[str]] = defaultdict(list)
        for e in purpose.elements:
            element = inv.elements.get(e)
            if element is not None:
                by_category[element.category.value].append(element.name)
        data = join(f"{c}: {', '.join(names)}" for c, names in sorted(by_category.items()))
        recipients: dict[str, Organisation] = {}
        sources: dict[str, str] = {}
        for flow in flows:
            importer = view.operator(flow.to)
            if importer is not None and importer.id != me:
                recipients[importer.id] = importer
            if view.is_subject(flow.from_):
                sources[flow.from_] = f"directly from {inv.subjects[flow.from_].name}"
            else:
                exporter = view.operator(flow.from_)
                if exporter is not None and exporter.id != me and (importer is None or importer.id == me):
                    sources[exporter.id] = f"{exporter.name} ({exporter.relation.value})"
        systems = sorted(view.purpose_systems.get(purpose.id, ()))
        for s in systems:
            operator = inv.organisations.get(inv.systems[s].operator)
            if operator is not None and operator.id != me:
                recipients.setdefault(operator.id, operator)
        by_relation: dict[str, list[str]] = defaultdict(list)
        for org in sorted(recipients.values(), key=lambda o: o.id):
            by_relation[org.relation.value].append(f"{org.name} ({org.country})")
        recipient_text = join(f"{rel}: {', '.join(names)}" for rel, names in sorted(by_relation.items()))
        processors = [o for o in sorted(recipients.values(), key=lambda o: o.id) if o.role is Role.PROCESSOR]
        contracts = join(f"{o.name}: " + (f"DPA signed {o.dpa.signed}" if o.dpa else "no DPA recorded")
                         for o in processors)
        joint = [o for o in sorted(recipients.values(), key=lambda o: o.id) if o.relation is Relation.JOINT_CONTROLLER]
        joint_text = join(f"{o.name} ({o.country})" + (f", {o.contact}" if o.contact else "")
                          + (f"; Art. 26 arrangement {o.arrangement.signed}" if o.arrangement else "")
                          for o in joint)
        countries: set[str] = set()
        safeguards: dict[str, None] = {}
        for flow in flows:
            for t in self.transfers_by_flow.get(flow.id, ()):
                countries.update(t.destination_countries)
                safeguards[f"{t.country} ({self.regime_name(t.regime)}): {self.safeguard_detail(t)}"] = None
        security = sorted({m for s in systems for m in inv.systems[s].security})
        locations = join(f"{inv.systems[s].name} ({', '.join(inv.systems[s].locations)})" for s in systems)
        special = [inv.elements[e] for e in purpose.elements if e in inv.elements
                   and (inv.elements[e].special or inv.elements[e].criminal)]
        if purpose.special_condition is not None:
            condition = CONDITION_TEXT[purpose.special_condition]
        elif special:
            condition = "MISSING for " + ", ".join(e.name for e in special)
        else:
            condition = "not applicable"
        basis = purpose.legal_basis
        legit = ""
        if basis is LegalBasis.LEGITIMATE_INTERESTS:
            legit = purpose.description or purpose.notes or "legitimate interests not described"
        adm = []
        adm.append("profiling: yes" if purpose.profiling else "profiling: no")
        adm.append("automated decisions: yes" if purpose.automated_decisions else "automated decisions: no")
        rights = (RIGHTS[basis] if basis else "depends on the lawful basis (none recorded)") + "; " + ", ".join(adm)
        screening = screen(view, purpose, self.result.config.limits.get("large_scale_subjects", 100_000))
        if purpose.dpia is not None:
            dpia = f"yes, {purpose.dpia.date}"
        elif screening.verdict == "required":
            dpia = "required, none recorded"
        else:
            dpia = screening.verdict
        provenance = join((purpose.source, _located(inv, purpose.id)), " — ")
        return {
            "subjects": join(subjects), "data": data, "recipients": recipient_text, "contracts": contracts,
            "joint": joint_text, "countries": join((f"{c} ({country_name(c)})" for c in sorted(countries)), ", "),
            "safeguards": join(safeguards), "retention": retention_text(purpose.retention),
            "security": join(security, ", "), "basis": BASIS_TEXT[basis] if basis else "MISSING",
            "condition": condition, "legit": legit, "rights": rights,
            "sources": join(sources[k] for k in sorted(sources)), "locations": locations, "dpia": dpia,
            "provenance": provenance, "processors": processors, "screening": screening.summary(),
            "description": purpose.description or "",
        }

    @cached_property
    def controller_record(self) -> Table:
        rows = []
        for purpose in sorted(self.inventory.purposes.values(), key=lambda p: p.id):
            if purpose.role is not Role.CONTROLLER:
                continue
            f = self._purpose_facts(purpose)
            rows.append([
                purpose.business_function or "", purpose.name + (f": {f['description']}" if f["description"] else ""),
                f["joint"], f["subjects"], f["data"], f["recipients"], f["contracts"], f["countries"],
                f["safeguards"], f["retention"], f["security"], f["basis"], f["condition"], f["legit"],
                f["rights"], f["sources"], f["locations"], f["dpia"], f["screening"], self.rule_ids(purpose.id),
                f["provenance"],
                purpose.id,
            ])
        return Table("Controller record", self.CONTROLLER_COLUMNS, rows)

    @cached_property
    def processor_record(self) -> Table:
        rows = []
        orgs = self.inventory.organisations
        for purpose in sorted(self.inventory.purposes.values(), key=lambda p: p.id):
            if purpose.role is not Role.PROCESSOR:
                continue
            f = self._purpose_facts(purpose)
            owner = orgs.get(purpose.on_behalf_of or "")
            if owner is not None:
                contact = f", {owner.contact}" if owner.contact else ""
                controller = f"{owner.name} ({country_name(owner.country)}){contact}"
                rep_dpo = join(("representative: " + join(f"{r.name} ({r.country})" for r in owner.representatives)
                                if owner.representatives else None,
                                f"DPO: {join((owner.dpo.name, owner.dpo.email), ', ')}" if owner.dpo else None))
            else:
                controller, rep_dpo = "not recorded (on_behalf_of)", ""
            rows.append([
                controller, rep_dpo, purpose.business_function or "",
                purpose.name + (f": {f['description']}" if f["description"] else ""), f["subjects"], f["data"],
                f["recipients"], f["countries"], f["safeguards"], f["security"], f["retention"],
                self.rule_ids(purpose.id), f["provenance"], purpose.id,
            ])
        return Table("Processor record", self.PROCESSOR_COLUMNS, rows)
