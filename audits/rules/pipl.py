"""China's Personal Information Protection Law: export of personal information (PIPL Art. 38-40)
and its legal bases (Art. 13).

Volumes follow the CAC Provisions on Promoting and Regulating Cross-Border Data Flows (in force
2024-03-22) as SPEC §8 sets them out: distinct individuals since 1 January, per exporter, over
its flows leaving CN that are not exempt (Art. 5), in two classes counted apart — sensitive
personal information, and personal information that is not sensitive, whose count leaves out
the individuals of the sensitive class. Individuals are not counted twice because several flows
carry them: per class, the count is the smaller of the sum of the flows' `volume`s and the sum
of the `count`s of the distinct subject categories carried. Thresholds include their number
("以上"). Before 2024-03-22 the earlier measures apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowaudit.inventory.anonymity import is_personal
from flowaudit.inventory.graph import Transfer
from flowaudit.inventory.models import Element, LegalBasis, Purpose, Subject

from .. import selectors
from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit

_LEVEL_NAMES = {0: "no mechanism", 2: "a standard contract or certification", 3: "a CAC security assessment"}
_CLASS_NAMES = {"sensitive": "sensitive personal information", "other": "personal information that is not sensitive"}


@dataclass(frozen=True)
class PiplExport:
    """One flow taking personal information of subjects in CN out of CN."""

    transfer: Transfer
    exemption: str | None  # why it is exempt and not counted (2024 Provisions Art. 5), or None
    sensitive_subjects: frozenset[str]  # CN subject categories whose sensitive information it carries
    other_subjects: frozenset[str]  # CN subject categories whose other information it carries

    @property
    def exempt(self) -> bool:
        return self.exemption is not None


@dataclass(frozen=True)
class PiplVolumes:
    """One exporter's yearly volumes and the level each class requires."""

    sensitive: int
    other: int
    sensitive_level: int
    other_level: int
    regime: str  # "2024 provisions" or "earlier measures"

    def required(self, export: PiplExport) -> tuple[int, str | None]:
        """The strongest mechanism among the classes the flow carries, and the class that decided."""
        found: tuple[int, str | None] = (0, None)
        if export.sensitive_subjects and self.sensitive_level > found[0]:
            found = (self.sensitive_level, "sensitive")
        if export.other_subjects and self.other_level > found[0]:
            found = (self.other_level, "other")
        return found


def is_minor(subject: Subject, under: int) -> bool:
    """The subject category includes minors under `under` (PIPL Art. 28, 31): its `youngest` is
    below, or `children: true` with no `youngest` (assumed under 14)."""
    if subject.youngest is not None:
        return subject.youngest < under
    return subject.children


def element_sensitive(ctx: Context, element: Element) -> bool:
    """PIPL Art. 28: the element's own `sensitive`, else its category's default."""
    if element.sensitive is not None:
        return element.sensitive
    return element.category in ctx.rulebook.pipl.sensitive.categories


def _in_cn(ctx: Context, subject: Subject) -> bool:
    regimes_of = ctx.rulebook.regimes_of_location
    return any("pipl" in regimes_of(loc, ctx.as_of) for loc in subject.locations)


def _exemption(ctx: Context, purposes: list[Purpose]) -> str | None:
    """Art. 5 of the 2024 Provisions: every purpose of the flow is necessary for a contract with
    the individual (5(1)), for cross-border HR management under labour rules (5(2)), or to
    protect life, health or property in an emergency (5(3))."""
    if not purposes or ctx.as_of < ctx.rulebook.pipl.effective:
        return None
    rules = ctx.rulebook.pipl.exemptions
    reasons = []
    for p in purposes:
        basis = p.legal_basis.value if p.legal_basis else None
        if p.business_function == rules.hr.business_function and basis in rules.hr.bases:
            reasons.append("HR management (Art. 5(2))")
        elif basis in rules.bases:
            reasons.append("contract with the individual (Art. 5(1))" if basis == "contract"
                           else "emergency protecting life, health or property (Art. 5(3))")
        else:
            return None
    return "; ".join(sorted(set(reasons)))


def pipl_exports(ctx: Context) -> list[PiplExport]:
    """Flows that take personal information of subjects in CN out of CN, with the CN subject
    categories whose sensitive and other information each carries (memoised on the view)."""
    return ctx.memo("pipl_exports", _pipl_exports)


def _pipl_exports(ctx: Context) -> list[PiplExport]:
    inv = ctx.inventory
    under = ctx.rulebook.pipl.sensitive.minors_under
    out = []
    for t in ctx.view.transfers("pipl"):
        sensitive: set[str] = set()
        other: set[str] = set()
        for e in t.elements:
            if not is_personal(e):
                continue
            is_sensitive = element_sensitive(ctx, e)
            for s in e.subjects:
                subject = inv.subjects[s]
                if not _in_cn(ctx, subject):
                    continue
                # all information of minors under 14 is sensitive (PIPL Art. 28(1))
                (sensitive if is_sensitive or is_minor(subject, under) else other).add(s)
        exemption = _exemption(ctx, [inv.purposes[p] for p in t.flow.purposes])
        out.append(PiplExport(t, exemption, frozenset(sensitive), frozenset(other)))
    return out


def _count(ctx: Context, flows: list[tuple[PiplExport, frozenset[str]]], subjects: set[str]) -> int:
    """Distinct individuals of one class: the smaller of the sum of the flows' volumes and the sum
    of the counts of the distinct subject categories (each known sum; 0 when neither is known)."""
    inv = ctx.inventory
    counts = [inv.subjects[s].count for s in subjects]
    by_subjects = sum(c for c in counts if c is not None) if all(c is not None for c in counts) else None
    volumes = []
    for export, carried in flows:
        volume = export.transfer.flow.volume
        if volume is None:
            own = [inv.subjects[s].count for s in carried]
            volume = sum(c for c in own if c is not None) if all(c is not None for c in own) else None
        volumes.append(volume)
    by_volume = sum(v for v in volumes if v is not None) if all(v is not None for v in volumes) else None
    known = [n for n in (by_volume, by_subjects) if n is not None]
    return min(known) if known else 0


def volumes(ctx: Context) -> dict[str, PiplVolumes]:
    """Per exporter, the two classes' counts and the mechanism level each requires."""
    return ctx.memo("pipl_volumes", _volumes)


def _volumes(ctx: Context) -> dict[str, PiplVolumes]:
    book = ctx.rulebook.pipl
    current = ctx.as_of >= book.effective
    by_exporter: dict[str, list[PiplExport]] = {}
    for export in pipl_exports(ctx):
        if not export.exempt:
            by_exporter.setdefault(export.transfer.exporter.id, []).append(export)
    out = {}
    for exporter, exports in by_exporter.items():
        sensitive_subjects = set().union(*(e.sensitive_subjects for e in exports))
        other_subjects = set().union(*(e.other_subjects for e in exports)) - sensitive_subjects
        sensitive = _count(ctx, [(e, e.sensitive_subjects) for e in exports if e.sensitive_subjects],
                           sensitive_subjects)
        other_flows = [(e, e.other_subjects - sensitive_subjects) for e in exports
                       if e.other_subjects - sensitive_subjects]
        other = _count(ctx, other_flows, other_subjects)
        if current:
            sa, sc = book.thresholds.security_assessment, book.thresholds.standard_contract_or_certification
            s_level = 3 if sensitive >= sa["sensitive_from"] else 2 if sensitive >= sc["sensitive_from"] else 0
            o_level = 3 if other >= sa["personal_information_from"] else \
                2 if other >= sc["personal_information_from"] else 0
            out[exporter] = PiplVolumes(sensitive, other, s_level, o_level, "2024 provisions")
        else:
            # the earlier measures: one level for every export of the exporter
            limits = book.earlier.security_assessment
            processed = sum(s.count or 0 for s in ctx.inventory.subjects.values() if _in_cn(ctx, s))
            level = 3 if (processed >= limits["processed_from"] or sensitive + other >= limits["exported_from"]
                          or sensitive >= limits["sensitive_exported_from"]) else 2
            out[exporter] = PiplVolumes(sensitive, other, level, level, "earlier measures")
    return out


@selector("every export of personal information of subjects in CN out of CN (a restricted transfer under PIPL)")
def exports(ctx: Context) -> list[PiplExport]:
    return pipl_exports(ctx)


@selector("every export of personal information out of CN whose purposes do not all rest on an exempt basis "
          "(the rulebook's `exempt_bases`, e.g. contract)")
def non_exempt_exports(ctx: Context) -> list[PiplExport]:
    return [e for e in pipl_exports(ctx) if not e.exempt]


@rule("PIPL-001", title="Personal information leaves China under the mechanism its volume requires",
      severity=Severity.HIGH,
      legal=("PIPL Art. 38", "PIPL Art. 40",
             "CAC Provisions on Promoting and Regulating Cross-Border Data Flows (2024) Art. 5, 7, 8"),
      subject="flow", over=non_exempt_exports,
      remediation="From 1,000,000 individuals (non-sensitive) or 10,000 (sensitive information) a year: a CAC "
                  "security assessment; from 100,000 (non-sensitive) or any sensitive information: the CAC "
                  "standard contract filed with the provincial CAC, or certification.",
      example="""
subjects:
  - {id: cn-users, name: Users in China, locations: [CN], count: 2000000}
flows:
  - {id: cn-to-sg, from: cn-crm, to: sg-host, elements: [phone], purposes: [marketing],
     transfer: {mechanism: pipl-standard-contract}}   # 2,000,000 individuals need a security assessment: fires
""")
def pipl_mechanism_insufficient(ctx: Context, export: PiplExport) -> Hit | None:
    """A flow that is not exempt takes personal information of subjects in CN out of CN without
    the mechanism its exporter's yearly volumes require for the classes it carries, or with a
    weaker one. Classes: sensitive personal information (PIPL Art. 28: special categories,
    criminal, government ids, financial accounts, whereabouts, and all information of minors
    under 14 — `youngest` below 14, or `children: true` with no `youngest`; an element's
    `sensitive` overrides its category) and the rest, counted apart and without counting the
    sensitive class's individuals again. A security assessment from 1,000,000 (other) or 10,000
    (sensitive) individuals; a standard contract or certification from 100,000 (other) or 1
    (sensitive); below 100,000 other individuals nothing (2024 Provisions Art. 5(4), 7, 8).
    Exempt and not counted: flows whose purposes all rest on a contract with the individual,
    HR management (`business_function: hr` on contract or legal obligation) or vital interests
    (Art. 5(1)-(3)). For `--as-of` dates before 2024-03-22 the earlier measures apply: a security
    assessment where the exporter processes information of 1,000,000 individuals, or exports
    that of 100,000 (10,000 sensitive), otherwise a standard contract, with no exemption."""
    t = export.transfer
    found = volumes(ctx).get(t.exporter.id)
    if found is None:
        return None
    required, decided_by = found.required(export)
    if required == 0:
        return None
    info = ctx.rulebook.mechanisms[t.mechanism] if t.mechanism else None
    have = info.level if info is not None and info.kind == "pipl" else 0
    if have >= required:
        return None
    stated = t.mechanism.value if t.mechanism else "no mechanism"
    why = f"the {_CLASS_NAMES[decided_by]} decides" if decided_by else ""
    if found.regime == "earlier measures":
        why = "the earlier measures (before 2024-03-22) apply"
    return hit(t, f"{t.exporter.name} exports from CN, since 1 January, sensitive personal information of "
                  f"{found.sensitive:,} individuals and other personal information of {found.other:,}: this flow "
                  f"to {t.country} needs {_LEVEL_NAMES[required]} ({why}), has {stated}",
               exporter=t.exporter.id, sensitive_individuals=found.sensitive, other_individuals=found.other,
               deciding_class=decided_by, measures=found.regime, required=_LEVEL_NAMES[required],
               mechanism=t.mechanism.value if t.mechanism else None)


@rule("PIPL-002", title="Export of personal information based on consent has separate consent",
      severity=Severity.MEDIUM, legal=("PIPL Art. 39",), subject="flow",
      over=exports,
      remediation="Ask for separate consent to the export, informing of the recipient, its contact details, "
                  "the purposes, the data and how to exercise rights against it; set `separate_consent: true`.",
      example="""
flows:
  # consent, no separate consent: fires
  - {id: cn-to-us, from: cn-crm, to: us-host, elements: [email], purposes: [newsletter]}
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


def _cn_subjects_of(ctx: Context, purpose: Purpose) -> list[str]:
    """Subject categories located in CN whose personal information the purpose processes: its
    `subjects`, and the subjects of its elements that are not anonymised (when every element is
    anonymised it processes no personal information)."""
    inv = ctx.inventory
    live = [inv.elements[e] for e in purpose.elements if is_personal(inv.elements[e])]
    if purpose.elements and not live:
        return []
    found = set(purpose.subjects)
    for e in live:
        found.update(e.subjects)
    return sorted(s for s in found if _in_cn(ctx, inv.subjects[s]))


@rule("PIPL-003", title="Personal information of people in China rests on a basis PIPL provides",
      severity=Severity.HIGH, legal=("PIPL Art. 13",), subject="purpose",
      over=selectors.purposes,
      remediation="PIPL Art. 13 has no legitimate-interests basis: obtain consent (separate consent where "
                  "Art. 29, 39 require it), or rely on a contract with the individual, HR management, a legal "
                  "duty, an emergency, news reporting or information already made public, as Art. 13 lists.",
      example="""
subjects:
  - {id: cn-users, name: Users in China, locations: [CN]}
purposes:
  - {id: fraud, name: Anti-fraud, legal_basis: legitimate-interests, subjects: [cn-users]}   # fires
""")
def pipl_basis_missing(ctx: Context, purpose: Purpose) -> Hit | None:
    """A purpose processes personal information of subjects located in CN (its `subjects`, or the
    subjects of its elements that are not anonymised) on `legitimate-interests`: PIPL Art. 13
    lists consent, contracts with the individual and HR management, legal duties, public-health
    emergencies, news reporting, information made public, and other cases laws provide — no
    legitimate interests of the handler."""
    if purpose.legal_basis is not LegalBasis.LEGITIMATE_INTERESTS:
        return None
    cn = _cn_subjects_of(ctx, purpose)
    if not cn:
        return None
    return hit(purpose, f"'{purpose.name}' processes personal information of people in China ({', '.join(cn)}) "
                        "on legitimate interests, which PIPL Art. 13 does not provide", subjects=cn)
FAMILIES = {"PIPL": "China"}
