"""What the Art. 30 record, the transfer report and the exposure matrix say, computed once
from the audit result and its inventory view, and shared by the Excel, HTML and diagram
renderers. Everything here is plain data (strings, numbers, lists), in a stable order, so the
renderers stay simple and their output deterministic.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from flowaudit.audits import AuditResult, Severity, default_rulebook
from flowaudit.audits.rulebook import Rulebook
from flowaudit.audits.catalogue import BY_ID, FAMILIES
from flowaudit.audits.dpia import screen
from flowaudit.audits.findings import SEVERITIES, Finding
from flowaudit.inventory.graph import InventoryView, Transfer
from flowaudit.inventory.models import Flow, LegalBasis, Organisation, Purpose, Relation, Role, SpecialCondition
from flowaudit.inventory.validate import Inventory

# --- words ---------------------------------------------------------------------------------

BASIS_TEXT = {
    LegalBasis.CONSENT: "Art. 6(1)(a) consent",
    LegalBasis.CONTRACT: "Art. 6(1)(b) contract",
    LegalBasis.LEGAL_OBLIGATION: "Art. 6(1)(c) legal obligation",
    LegalBasis.VITAL_INTERESTS: "Art. 6(1)(d) vital interests",
    LegalBasis.PUBLIC_TASK: "Art. 6(1)(e) public task",
    LegalBasis.LEGITIMATE_INTERESTS: "Art. 6(1)(f) legitimate interests",
}

CONDITION_TEXT = {
    SpecialCondition.EXPLICIT_CONSENT: "Art. 9(2)(a) explicit consent",
    SpecialCondition.EMPLOYMENT: "Art. 9(2)(b) employment and social security",
    SpecialCondition.VITAL_INTERESTS: "Art. 9(2)(c) vital interests",
    SpecialCondition.NOT_FOR_PROFIT: "Art. 9(2)(d) not-for-profit body",
    SpecialCondition.MADE_PUBLIC: "Art. 9(2)(e) manifestly made public",
    SpecialCondition.LEGAL_CLAIMS: "Art. 9(2)(f) legal claims",
    SpecialCondition.SUBSTANTIAL_PUBLIC_INTEREST: "Art. 9(2)(g) substantial public interest",
    SpecialCondition.HEALTH_CARE: "Art. 9(2)(h) health or social care",
    SpecialCondition.PUBLIC_HEALTH: "Art. 9(2)(i) public health",
    SpecialCondition.ARCHIVING_RESEARCH: "Art. 9(2)(j) archiving, research, statistics",
}

# The rights Arts. 15-22 give under each Art. 6 basis (the ICO's lawful-basis table): access
# (Art. 15), rectification (16) and restriction (18) always; erasure (17) not under a legal
# obligation or public task; portability (20) under consent and contract; objection (21)
# under public task and legitimate interests; consent can be withdrawn (7(3)).
RIGHTS = {
    LegalBasis.CONSENT: "access, rectification, erasure, restriction, portability, withdraw consent",
    LegalBasis.CONTRACT: "access, rectification, erasure, restriction, portability",
    LegalBasis.LEGAL_OBLIGATION: "access, rectification, restriction",
    LegalBasis.VITAL_INTERESTS: "access, rectification, erasure, restriction",
    LegalBasis.PUBLIC_TASK: "access, rectification, restriction, objection",
    LegalBasis.LEGITIMATE_INTERESTS: "access, rectification, erasure, restriction, objection",
}

RETENTION_TEXT = {
    "until-account-deletion": "until the account is deleted",
    "until-purpose-fulfilled": "until the purpose is fulfilled",
    "statutory": "statutory period",
}

# Safeguard classes of a restricted transfer, in the order the country grid shows them.
SAFEGUARDS = ("adequacy", "safeguard", "derogation", "pipl", "not-required", "none")
SAFEGUARD_TEXT = {
    "adequacy": "Adequacy decision",
    "safeguard": "Art. 46/47 safeguard",
    "derogation": "Art. 49 derogation",
    "pipl": "PIPL mechanism",
    "not-required": "None required",
    "none": "No safeguard",
}
STATUSES = ("finding", "waived", "ok")
SEVERITY_NAMES = tuple(s.value for s in SEVERITIES)


_DURATION = re.compile(r"^P(?:([\d.,]+)Y)?(?:([\d.,]+)M)?(?:([\d.,]+)W)?(?:([\d.,]+)D)?"
                       r"(?:T(?:([\d.,]+)H)?(?:([\d.,]+)M)?(?:([\d.,]+)S)?)?$")
_UNIT_NAMES = ("year", "month", "week", "day", "hour", "minute", "second")


def retention_text(period: str | None) -> str:
    """'P3Y' -> '3 years (P3Y)'; the keywords in words."""
    if not period:
        return ""
    if period in RETENTION_TEXT:
        return RETENTION_TEXT[period]
    m = _DURATION.match(period)
    if not m:
        return period
    parts = [f"{n} {unit}{'' if n == '1' else 's'}" for n, unit in zip(m.groups(), _UNIT_NAMES) if n]
    return f"{' '.join(parts)} ({period})" if parts else period


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    if code in ("EEA", "EU", "WORLD"):
        return {"EEA": "European Economic Area", "EU": "European Union", "WORLD": "worldwide"}[code]
    import pycountry

    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return getattr(found, "common_name", None) or found.name


def join(items: Iterable[Any], sep: str = "; ") -> str:
    return sep.join(str(i) for i in items if i not in (None, ""))


def inventory_label(inventory: Inventory) -> str:
    """The inventory as the user named it, relative to the working folder where possible:
    one file's path, or the folder that holds all the files."""
    displays = [s.display for s in inventory.sources]
    if not displays:
        return ""
    if len(displays) == 1:
        return displays[0]
    try:
        return os.path.commonpath(displays)
    except ValueError:
        return displays[0]


def _located(inventory: Inventory, entry_id: str) -> str:
    where = inventory.location(entry_id)
    if where is None:
        return ""
    file, line = where
    return f"{file}:{line}" if line else file


# --- the report data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A sheet or an HTML table: named columns and rows of plain values."""

    name: str
    columns: tuple[str, ...]
    rows: list[list[Any]]


class ReportData:
    """Everything the renderers show, computed lazily, once."""

    def __init__(self, result: AuditResult, label: str | None = None):
        self.result = result
        self.inventory: Inventory = result.inventory
        self.view: InventoryView = result.view
        self.as_of = result.as_of
        self.controller: Organisation = self.inventory.controller
        self.label = label if label is not None else inventory_label(self.inventory)
        law = result.view.law  # the rulebook the audit ran with (restricted by --regime, or another)
        self.rulebook = law if isinstance(law, Rulebook) else default_rulebook()

    # --- shared indexes ------------------------------------------------------------------

    def name(self, node: str) -> str:
        return self.view.name(node)

    @cached_property
    def findings_by_subject(self) -> dict[str, list[Finding]]:
        found: dict[str, list[Finding]] = defaultdict(list)
        for f in self.result.findings:
            found[f.subject_id].append(f)
        return dict(found)

    def flow_status(self, flow_id: str) -> str:
        """finding (an unwaived finding names the flow), waived (only waived ones) or ok."""
        found = self.findings_by_subject.get(flow_id)
        if not found:
            return "ok"
        return "finding" if any(not f.waived for f in found) else "waived"

    def rule_ids(self, subject_id: str) -> str:
        return join((f.rule + (" (waived)" if f.waived else "") for f in self.findings_by_subject.get(subject_id, ())),
                    ", ")

    @cached_property
    def flows_by_purpose(self) -> dict[str, list[Flow]]:
        found: dict[str, list[Flow]] = defaultdict(list)
        for flow in self.inventory.flows.values():
            for p in flow.purposes:
                found[p].append(flow)
        return dict(found)

    @cached_property
    def flows_by_element(self) -> dict[str, list[Flow]]:
        found: dict[str, list[Flow]] = defaultdict(list)
        for flow in self.inventory.flows.values():
            for e in flow.elements:
                found[e].append(flow)
        return dict(found)

    @cached_property
    def systems_by_element(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for system in self.inventory.systems.values():
            for e in system.elements:
                found[e].append(system.id)
        return {e: sorted(s) for e, s in found.items()}

    @cached_property
    def purposes_by_element(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = defaultdict(list)
        for purpose in self.inventory.purposes.values():
            for e in purpose.elements:
                found[e].append(purpose.id)
        return {e: sorted(p) for e, p in found.items()}

    @cached_property
    def transfers(self) -> list[Transfer]:
        return sorted(self.view.transfers(), key=lambda t: (t.flow.id, t.regime))

    @cached_property
    def transfers_by_flow(self) -> dict[str, list[Transfer]]:
        found: dict[str, list[Transfer]] = defaultdict(list)
        for t in self.transfers:
            found[t.flow.id].append(t)
        return dict(found)

    def regime_name(self, regime: str) -> str:
        found = self.rulebook.regimes.get(regime)
        return found.name if found else regime

    def safeguard(self, t: Transfer) -> str:
        """The class of safeguard a restricted transfer rests on (see SAFEGUARDS)."""
        if t.adequate:
            return "adequacy"
        mechanism = t.mechanism
        if mechanism is None:
            if t.regime == "pipl" and not any(f.rule == "PIPL-001" for f in self.findings_by_subject.get(t.flow.id, ())):
                return "not-required"  # below the CAC volume thresholds (SPEC §8)
            return "none"
        info = self.rulebook.mechanism_for(t.regime, mechanism)
        if info is None or info.kind == "adequacy":  # not a mechanism of this regime, or a claimed adequacy
            return "none"  # adequacy claimed where no decision is in force or in scope
        return info.kind

    def safeguard_detail(self, t: Transfer) -> str:
        kind = self.safeguard(t)
        if kind == "adequacy":
            return "adequacy: " + join(sorted({a.decision for a in t.adequacy if a.decision}), ", ")
        mechanism = t.mechanism
        if mechanism is None:
            return "none required (below PIPL thresholds)" if kind == "not-required" else "none"
        text = mechanism.value
        scc = t.flow.transfer.scc if t.flow.transfer else None
        if mechanism.value == "scc" and scc is not None:
            text += " " + join((scc.module.value if scc.module else None, scc.version), " ")
        if kind == "none":
            text += " (no decision in force or in scope)"
        return text

    def org_text(self, org: Organisation) -> str:
        return f"{org.name} ({org.relation.value}, {org.country})"

    # --- Art. 30(1) -----------------------------------------------------------------------

    CONTROLLER_COLUMNS = (
        "Business function", "Purpose of processing", "Name and contact details of joint controller",
        "Categories of individuals", "Categories of personal data", "Categories of recipients (and names)",
        "Link to contract with processor", "Names of third countries or international organisations",
        "Safeguards for exceptional transfers", "Retention schedule",
        "General description of technical and organisational security measures", "Art. 6 lawful basis",
        "Art. 9 condition (special category data)", "Legitimate interests (if applicable)",
        "Rights available / automated decision-making and profiling", "Source of personal data",
        "Location of personal data", "DPIA required / date", "DPIA screening (WP248)", "Findings", "Source (inventory)", "Purpose id",
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
        rep = me.representative
        dpo = me.dpo
        joint = sorted((o for o in self.inventory.organisations.values() if o.relation is Relation.JOINT_CONTROLLER),
                       key=lambda o: o.id)
        return [
            ("Controller", f"{me.name} ({country_name(me.country)}, {me.country})"),
            ("Contact details", me.contact or "not recorded"),
            ("Representative (Art. 27)", f"{rep.name} ({country_name(rep.country)})" if rep else "none recorded"),
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
                f["rights"], f["sources"], f["locations"], f["dpia"], f["screening"], self.rule_ids(purpose.id), f["provenance"],
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
                controller = f"{owner.name} ({country_name(owner.country)})" + (f", {owner.contact}" if owner.contact else "")
                rep_dpo = join((f"representative: {owner.representative.name} ({owner.representative.country})"
                                if owner.representative else None,
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

    # --- transfers ------------------------------------------------------------------------

    TRANSFER_COLUMNS = (
        "Flow", "From", "To", "Exporter", "Importer", "Countries", "Regime", "Elements", "Mechanism",
        "SCC module", "SCC version / signed", "TIA date", "TIA outcome", "Measures", "First hop / onward",
        "Onward path", "Safeguard type", "Safeguard", "Status", "Findings",
    )

    @cached_property
    def transfer_rows(self) -> list[dict[str, Any]]:
        rows = []
        for t in self.transfers:
            flow = t.flow
            tr = flow.transfer
            scc = tr.scc if tr else None
            tia = tr.tia if tr else None
            status = self.flow_status(flow.id)
            rows.append({
                "flow": flow.id, "from": self.name(flow.from_), "to": self.name(flow.to),
                "exporter": self.org_text(t.exporter), "importer": self.org_text(t.importer),
                "countries": list(t.destination_countries), "regime": t.regime,
                "regime_name": self.regime_name(t.regime),
                "elements": [e.name for e in t.elements],
                "mechanism": t.mechanism.value if t.mechanism else "",
                "scc_module": scc.module.value if scc and scc.module else "",
                "scc": join((scc.version, scc.signed), " / ") if scc else "",
                "tia_date": tia.date.isoformat() if tia and tia.date else "",
                "tia_outcome": tia.outcome.value if tia and tia.outcome else "",
                "measures": list(tr.measures) if tr else [],
                "hop": "first hop" if t.first_hop else "onward",
                "path": list(t.path) if t.onward else [],
                "safeguard": self.safeguard(t), "safeguard_detail": self.safeguard_detail(t),
                "status": status, "findings": self.rule_ids(flow.id),
            })
        return rows

    @cached_property
    def transfer_table(self) -> Table:
        rows = [[r["flow"], r["from"], r["to"], r["exporter"], r["importer"], join(r["countries"], ", "),
                 r["regime_name"], join(r["elements"], ", "), r["mechanism"] or ("adequacy" if r["safeguard"] == "adequacy" else "none"),
                 r["scc_module"], r["scc"], r["tia_date"] or "none", r["tia_outcome"] or "none", join(r["measures"], ", "), r["hop"], join(r["path"], " → "),
                 SAFEGUARD_TEXT[r["safeguard"]], r["safeguard_detail"], r["status"], r["findings"]] for r in self.transfer_rows]
        return Table("Transfers", self.TRANSFER_COLUMNS, rows)

    @cached_property
    def countries(self) -> list[dict[str, Any]]:
        """Per destination country: transfers by safeguard class, regimes, importers, data categories."""
        by: dict[str, dict[str, Any]] = {}
        elements = self.inventory.elements
        for t, row in zip(self.transfers, self.transfer_rows):
            for c in t.destination_countries:
                entry = by.setdefault(c, {"country": c, "name": country_name(c), "total": 0,
                                          "safeguards": Counter(), "status": Counter(), "regimes": set(),
                                          "importers": set(), "categories": set()})
                entry["total"] += 1
                entry["safeguards"][row["safeguard"]] += 1
                entry["status"][row["status"]] += 1
                entry["regimes"].add(self.regime_name(t.regime))
                entry["importers"].add(t.importer.name)
                entry["categories"].update(elements[e.id].category.value for e in t.elements)
        out = []
        for c in sorted(by, key=lambda c: (-by[c]["total"], c)):
            entry = by[c]
            out.append({
                "country": c, "name": entry["name"], "total": entry["total"],
                "safeguards": [entry["safeguards"].get(s, 0) for s in SAFEGUARDS],
                "findings": entry["status"].get("finding", 0), "waived": entry["status"].get("waived", 0),
                "regimes": sorted(entry["regimes"]), "importers": sorted(entry["importers"]),
                "categories": sorted(entry["categories"]),
            })
        return out

    @cached_property
    def transfer_summary(self) -> dict[str, int]:
        counts = Counter(r["safeguard"] for r in self.transfer_rows)
        return {s: counts.get(s, 0) for s in SAFEGUARDS}

    # --- findings -------------------------------------------------------------------------

    FINDING_COLUMNS = ("Rule", "Title", "Severity", "Subject kind", "Subject", "Message", "Legal", "Remediation",
                       "Waived", "Location", "Regime")

    def finding_regimes(self, f: Finding) -> list[str]:
        regime = f.details.get("regime")
        if isinstance(regime, str):
            return [regime]
        if isinstance(regime, (list, tuple)):
            return sorted(str(r) for r in regime)
        if f.rule.startswith("PIPL"):
            return ["pipl"]
        if f.subject_kind == "flow":
            return sorted({t.regime for t in self.transfers_by_flow.get(f.subject_id, ())})
        return []

    @staticmethod
    def waiver_text(f: Finding) -> str:
        if f.waived and f.waiver is not None:
            return f"waived until {f.waiver.expires}: {f.waiver.reason} (approved by {f.waiver.approved_by})"
        if f.waiver_expired is not None:
            return f"waiver expired {f.waiver_expired.expires}: {f.waiver_expired.reason}"
        return ""

    @staticmethod
    def location_text(f: Finding) -> str:
        if f.location is None:
            return ""
        file, line = f.location
        return f"{file}:{line}" if line else file

    @cached_property
    def finding_table(self) -> Table:
        rows = [[f.rule, f.title, f.severity.value, f.subject_kind, f.subject_id, f.message, join(f.legal),
                 f.remediation, self.waiver_text(f) or "no", self.location_text(f),
                 join((self.regime_name(r) for r in self.finding_regimes(f)), ", ")]
                # most severe first, as on the HTML page (findings.json keeps rule-then-subject order)
                for f in sorted(self.result.findings, key=lambda f: (-f.severity.rank, f.rule, f.subject_id))]
        return Table("Findings", self.FINDING_COLUMNS, rows)

    @cached_property
    def family_counts(self) -> list[tuple[str, str, int]]:
        counts = Counter(f.rule.split("-")[0] for f in self.result.findings)
        return [(fam, title, counts.get(fam, 0)) for fam, title in FAMILIES.items()]

    @cached_property
    def regime_summary(self) -> list[dict[str, Any]]:
        """Per regime of the rulebook whose data the inventory holds: its name, the flows carrying
        its data, its restricted transfers and the findings that concern it (the summary panel)."""
        flows: Counter[str] = Counter()
        for flow in self.inventory.flows.values():
            for regime in self.view.regimes_of_flow(flow):
                flows[regime] += 1
        transfers = Counter(t.regime for t in self.transfers)
        findings: Counter[str] = Counter()
        for f in self.result.findings:
            for regime in self.finding_regimes(f):
                findings[regime] += 1
        return [{"id": r, "name": self.regime_name(r), "flows": flows[r], "transfers": transfers[r],
                 "findings": findings[r]} for r in self.rulebook.regime_ids if flows[r] or findings[r]]

    def rule_title(self, rule_id: str) -> str:
        r = BY_ID.get(rule_id)
        return r.title if r else rule_id

    # --- inventory tables -----------------------------------------------------------------

    @cached_property
    def element_table(self) -> Table:
        inv = self.inventory
        reach = self.view.reach
        collected = self.view.collected_for
        columns = ("Element", "Name", "Category", "Identifier", "State", "Subjects", "Needed by purposes",
                   "Collected for", "Stored in systems", "Flows", "Restricted transfers",
                   "External organisations reached", "Countries reached", "Findings", "Source (inventory)")
        rows = []
        for e in sorted(inv.elements):
            el = inv.elements[e]
            flows = self.flows_by_element.get(e, [])
            transfers = sum(1 for f in flows if f.id in self.transfers_by_flow)
            r = reach.get(e)
            rows.append([
                e, el.name, el.category.value, el.identifier.value if el.identifier else "", el.state.value,
                join(el.subjects, ", "), join(self.purposes_by_element.get(e, ()), ", "),
                join(sorted(collected.get(e, ())), ", "), join(self.systems_by_element.get(e, ()), ", "),
                len(flows), transfers, join(sorted(r.organisations) if r else (), ", "),
                join(sorted(r.countries) if r else (), ", "), self.rule_ids(e),
                join((el.source, _located(inv, e)), " — "),
            ])
        return Table("Elements", columns, rows)

    @cached_property
    def system_table(self) -> Table:
        inv = self.inventory
        columns = ("System", "Name", "Operator", "Relation", "Locations", "Elements stored", "Security measures",
                   "Purposes", "Flows in", "Flows out", "Findings", "Source (inventory)")
        purposes_of: dict[str, set[str]] = defaultdict(set)
        for p, systems in self.view.purpose_systems.items():
            for s in systems:
                purposes_of[s].add(p)
        rows = []
        for s in sorted(inv.systems):
            sy = inv.systems[s]
            op = inv.organisations.get(sy.operator)
            rows.append([
                s, sy.name, op.name if op else sy.operator, op.relation.value if op else "",
                join(sy.locations, ", "), join(sy.elements, ", "), join(sy.security, ", "),
                join(sorted(purposes_of.get(s, ())), ", "), len(self.view.flows_into(s)),
                len(self.view.flows_from(s)), self.rule_ids(s), join((sy.source, _located(inv, s)), " — "),
            ])
        return Table("Systems", columns, rows)

    @cached_property
    def received(self) -> dict[str, dict[str, int]]:
        """Per external organisation, per element: the flows that deliver it to the organisation
        or one of its systems (0 when only stored there)."""
        view = self.view
        me = self.controller.id
        found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        operator_of: dict[str, str | None] = {}
        for flow in self.inventory.flows.values():
            to = flow.to
            if to not in operator_of:
                op = view.operator(to)
                operator_of[to] = op.id if op is not None else None
            org = operator_of[to]
            if org is None or org == me:
                continue
            counts = found[org]
            for e in flow.elements:
                counts[e] += 1
        for system in self.inventory.systems.values():
            if system.operator != me:
                counts = found[system.operator]
                for e in system.elements:
                    counts.setdefault(e, 0)
        return {o: dict(c) for o, c in found.items()}

    @cached_property
    def recipient_table(self) -> Table:
        inv = self.inventory
        columns = ("Organisation", "Name", "Relation", "Country", "Contact", "DPA signed", "Art. 26 arrangement",
                   "Certifications", "BCR group", "Authorised sub-processors", "Public body", "Receives personal data",
                   "Elements received", "Children's data received", "Flows in", "Findings", "Source (inventory)")
        receiving = self.view.receiving_organisations
        flows_in: Counter[str] = Counter()
        for flow in inv.flows.values():
            op = self.view.operator(flow.to)
            if op is not None:
                flows_in[op.id] += 1
        children = {e for e, el in inv.elements.items()
                    if any(s in inv.subjects and inv.subjects[s].children for s in el.subjects)}
        rows = []
        for o in sorted(inv.organisations):
            org = inv.organisations[o]
            if org.relation is Relation.SELF:
                continue
            received = self.received.get(o, {})
            rows.append([
                o, org.name, org.relation.value, org.country, org.contact or "",
                org.dpa.signed.isoformat() if org.dpa else "",
                org.arrangement.signed.isoformat() if org.arrangement else "", join(org.certifications, ", "),
                org.bcr_group or "", join(org.subprocessors, ", "), "yes" if org.public_body else "no",
                "yes" if o in receiving else "no", join(sorted(received), ", "),
                join(sorted(e for e in received if e in children), ", "), flows_in.get(o, 0),
                self.rule_ids(o), join((org.source, _located(inv, o)), " — "),
            ])
        return Table("Recipients", columns, rows)

    @cached_property
    def exposure(self) -> dict[str, Any]:
        """Elements × external organisations: flows delivering each element (None: not reached)."""
        inv = self.inventory
        reach = self.view.reach
        orgs = sorted({o for r in reach.values() for o in r.organisations} | set(self.received),
                      key=lambda o: (inv.organisations[o].relation.value, o))
        col = {o: i for i, o in enumerate(orgs)}
        rows: list[dict[str, Any]] = []
        for e in sorted(inv.elements):
            r = reach.get(e)
            values: list[int | None] = [None] * len(orgs)
            for o in (r.organisations if r else ()):
                values[col[o]] = 0
            for o in orgs:
                n = self.received.get(o, {}).get(e)
                if n is not None:
                    values[col[o]] = n
            if any(v is not None for v in values):
                rows.append({"element": e, "name": inv.elements[e].name, "category": inv.elements[e].category.value,
                             "values": values})
        # the most exposed elements first: most organisations reached, then most flows
        rows.sort(key=lambda r: (-sum(1 for v in r["values"] if v is not None), -sum(v or 0 for v in r["values"]),
                                 r["element"]))
        return {
            "organisations": [{"id": o, "name": inv.organisations[o].name,
                               "relation": inv.organisations[o].relation.value,
                               "country": inv.organisations[o].country} for o in orgs],
            "rows": rows,
        }

    # --- lineage --------------------------------------------------------------------------

    @cached_property
    def lineage_orders(self) -> dict[str, list[Flow]]:
        """Per element, the flows carrying it in `InventoryView.lineage` order (sources first,
        breadth-first from collection), computed for all elements in one pass over the flows."""
        out: dict[str, list[Flow]] = {}
        for element, carrying in self.flows_by_element.items():
            out[element] = self.view.order_lineage(carrying)
        return out


__all__ = [
    "SAFEGUARDS",
    "SAFEGUARD_TEXT",
    "SEVERITY_NAMES",
    "STATUSES",
    "ReportData",
    "Severity",
    "Table",
    "country_name",
    "inventory_label",
    "retention_text",
]
