"""The words, helpers and shared indexes of the report data (`records.ReportData`): the
legal wording of bases and conditions, retention and country names, the `Table` shape, and
`ReportBase`, which holds the audit result, its view and the indexes every part uses.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from flowaudit.audits import AuditResult
from flowaudit.audits.findings import SEVERITIES, Finding
from flowaudit.inventory.graph import InventoryView, Transfer
from flowaudit.inventory.models import (
    Flow,
    LegalBasis,
    Organisation,
    SpecialCondition,
)
from flowaudit.inventory.periods import duration_parts
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


def retention_text(period: str | None) -> str:
    """'P3Y' -> '3 years (P3Y)'; the keywords in words."""
    if not period:
        return ""
    if period in RETENTION_TEXT:
        return RETENTION_TEXT[period]
    parts = duration_parts(period)
    if not parts:
        return period
    return f"{' '.join(f'{n} {unit}' + ('' if n == '1' else 's') for n, unit in parts)} ({period})"


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
    """The inventory by the name of its root folder (or its one file), as every output names it:
    the same from any working folder and however the path was written (SPEC §5)."""
    roots = {s.root for s in inventory.sources}
    if len(roots) == 1 and "" not in roots:
        return roots.pop()
    displays = [s.relpath for s in inventory.sources]
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


class ReportBase:
    """What every part of the report data shares: the audit result, its view, and indexes."""

    def __init__(self, result: AuditResult, label: str | None = None):
        self.result = result
        self.inventory: Inventory = result.inventory
        self.view: InventoryView = result.view
        self.as_of = result.as_of
        self.controller: Organisation = self.inventory.controller
        self.label = label if label is not None else inventory_label(self.inventory)
        self.rulebook = result.rulebook  # the law the audit ran with (restricted by --regime, or another)

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
        return self.rulebook.regime_name(regime)

    def safeguard(self, t: Transfer) -> str:
        """The class of safeguard a restricted transfer rests on (see SAFEGUARDS)."""
        if t.adequate:
            return "adequacy"
        mechanism = t.mechanism
        if mechanism is None:
            findings = self.findings_by_subject.get(t.flow.id, ())
            if t.regime == "pipl" and not any(f.rule == "PIPL-001" for f in findings):
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
