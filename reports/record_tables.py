"""The inventory tables: findings, elements, systems, recipients, the exposure matrix,
and the lineage order."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cached_property
from typing import Any

from flowaudit.audits.catalogue import BY_ID, FAMILIES
from flowaudit.audits.findings import Finding
from flowaudit.inventory.models import (
    Flow,
    Relation,
)

from .records_base import (
    ReportBase,
    Table,
    _located,
    join,
)


class InventoryTables(ReportBase):
    """The inventory tables: findings, elements, systems, recipients, exposure, lineage."""

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
