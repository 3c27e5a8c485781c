"""China's Personal Information Protection Law: export of personal information (PIPL Art. 38-40)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from flowaudit.inventory.graph import Transfer
from flowaudit.inventory.models import Element, LegalBasis

from ..engine import Context, rule
from ..findings import Hit, Severity, hit

_LEVEL_NAMES = {0: "no mechanism", 2: "a standard contract or certification", 3: "a CAC security assessment"}


@dataclass(frozen=True)
class PiplExport:
    transfer: Transfer
    exempt: bool
    volume: int
    sensitive_volume: int  # individuals whose sensitive personal information the flow carries


def _sensitive_volume(ctx: Context, elements: tuple[Element, ...], volume: int, pipl_subjects: set[str]) -> int:
    """All the flow's individuals when it carries a sensitive category; when only minors make
    it sensitive, the minors: the `count` of the child subject categories, at most the volume."""
    rules = ctx.rulebook.pipl.sensitive
    if any(e.category in rules.categories for e in elements):
        return volume
    if not rules.children:
        return 0
    subjects = ctx.inventory.subjects
    minors = {s for e in elements for s in e.subjects if subjects[s].children and s in pipl_subjects}
    if not minors:
        return 0
    counted = [subjects[s].count for s in minors]
    if any(c is None for c in counted):
        return volume  # minors of unknown number: count the flow as sensitive throughout
    return min(volume, sum(c for c in counted if c is not None))


def pipl_exports(ctx: Context) -> list[PiplExport]:
    """Flows that take personal information of subjects in CN out of CN, with their volume
    (the flow's `volume`, else the `count` of its elements' subject categories located in CN)."""
    cached = ctx.view.__dict__.get("_pipl_exports")
    if cached is not None:
        return cached
    inv = ctx.inventory
    exempt_bases = set(ctx.rulebook.pipl.exempt_bases)
    regimes_of = ctx.rulebook.regimes_of_location
    out = []
    for t in ctx.view.transfers("pipl"):
        flow = t.flow
        exempt = bool(flow.purposes) and all(
            (basis := inv.purposes[p].legal_basis) is not None and basis.value in exempt_bases
            for p in flow.purposes)
        subject_ids = {s for e in t.elements for s in e.subjects
                       if any("pipl" in regimes_of(loc, ctx.as_of) for loc in inv.subjects[s].locations)}
        if flow.volume is not None:
            volume = flow.volume
        else:
            volume = sum(inv.subjects[s].count or 0 for s in subject_ids)
        out.append(PiplExport(t, exempt, volume, _sensitive_volume(ctx, t.elements, volume, subject_ids)))
    ctx.view.__dict__["_pipl_exports"] = out
    return out


def _required_levels(ctx: Context) -> dict[str, tuple[int, int, int]]:
    """Per exporter: (required level, individuals, individuals with sensitive information)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for export in pipl_exports(ctx):
        if export.exempt:
            continue
        total = totals[export.transfer.exporter.id]
        total[0] += export.volume
        total[1] += export.sensitive_volume
    limits = ctx.rulebook.pipl.thresholds
    out = {}
    for exporter, (individuals, sensitive) in totals.items():
        if (individuals > limits.security_assessment["personal_information_above"]
                or sensitive > limits.security_assessment["sensitive_above"]):
            level = 3
        elif (individuals >= limits.standard_contract_or_certification["personal_information_from"]
              or sensitive >= limits.standard_contract_or_certification["sensitive_from"]):
            level = 2
        else:
            level = 0
        out[exporter] = (level, individuals, sensitive)
    return out


@rule("PIPL-001", title="Personal information leaves China under the mechanism its volume requires",
      severity=Severity.HIGH, legal=("PIPL Art. 38", "PIPL Art. 40",
                                     "CAC Provisions on Promoting and Regulating Cross-Border Data Flows (2024) Art. 5, 7, 8"),
      subject="flow", over=lambda ctx: [e for e in pipl_exports(ctx) if not e.exempt],
      remediation="Above 1,000,000 individuals (or 10,000 with sensitive information) per year: a CAC "
                  "security assessment; from 100,000 (or any sensitive information): the CAC standard "
                  "contract filed with the provincial CAC, or certification.",
      example="""
subjects:
  - {id: cn-users, name: Users in China, locations: [CN], count: 2000000}
flows:
  - {id: cn-to-sg, from: cn-crm, to: sg-host, elements: [phone], purposes: [marketing],
     transfer: {mechanism: pipl-standard-contract}}   # 2,000,000 individuals need a security assessment: fires
""")
def pipl_mechanism_insufficient(ctx: Context, export: PiplExport) -> Hit | None:
    """A flow takes personal information of subjects in CN out of CN without the mechanism the
    exporter's yearly volume requires, or with a weaker one. Volumes are summed over the
    exporter's flows leaving CN; flows whose purposes all rest on `contract` are exempt and
    not counted (2024 Provisions Art. 5(1)). Sensitive information: special categories,
    financial, location, children's data (PIPL Art. 28); where only minors make a flow
    sensitive, only the minors (their subject categories' `count`) are counted as sensitive."""
    t = export.transfer
    required, individuals, sensitive = _required_levels(ctx).get(t.exporter.id, (0, 0, 0))
    if required == 0:
        return None
    info = ctx.rulebook.mechanisms[t.mechanism] if t.mechanism else None
    have = info.level if info is not None and info.kind == "pipl" else 0
    if have >= required:
        return None
    stated = t.mechanism.value if t.mechanism else "no mechanism"
    return hit(t, f"{t.exporter.name} exports personal information of {individuals:,} individuals "
                  f"({sensitive:,} with sensitive information) from CN to {t.country}: needs "
                  f"{_LEVEL_NAMES[required]}, has {stated}",
               exporter=t.exporter.id, individuals=individuals, sensitive_individuals=sensitive,
               required=_LEVEL_NAMES[required], mechanism=t.mechanism.value if t.mechanism else None)


@rule("PIPL-002", title="Export of personal information based on consent has separate consent",
      severity=Severity.MEDIUM, legal=("PIPL Art. 39",), subject="flow",
      over=lambda ctx: pipl_exports(ctx),
      remediation="Ask for separate consent to the export, informing of the recipient, its contact details, "
                  "the purposes, the data and how to exercise rights against it; set `separate_consent: true`.",
      example="""
flows:
  - {id: cn-to-us, from: cn-crm, to: us-host, elements: [email], purposes: [newsletter]}   # consent, no separate consent: fires
""")
def separate_consent_missing(ctx: Context, export: PiplExport) -> Hit | None:
    """A flow leaves CN with personal information of subjects in CN, one of its purposes rests
    on consent, and `transfer.separate_consent` is not set."""
    flow = export.transfer.flow
    purposes = ctx.inventory.purposes
    consent = [p for p in flow.purposes if purposes[p].legal_basis is LegalBasis.CONSENT]
    if not consent or (flow.transfer and flow.transfer.separate_consent):
        return None
    return hit(flow, f"exports personal information from CN for {', '.join(consent)} (consent) without "
                     "separate consent to the export", purposes=consent)


RULES = (pipl_mechanism_insufficient, separate_consent_missing)
# The rule families this module adds to the catalogue (data/rulebook/pipl/regime.yaml names it).
FAMILIES = {"PIPL": "China"}
