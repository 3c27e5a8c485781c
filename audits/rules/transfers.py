"""International transfers (GDPR Chapter V; UK GDPR Chapter V by the same reasoning).

Rules ask the view for restricted transfers (one per flow and regime, SPEC §3); the engine
keeps one finding per rule and flow, with the regimes concerned in its details.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flowaudit.inventory.graph import Transfer
from flowaudit.inventory.models import Flow, Identifier, Mechanism, State, TiaOutcome

from ..engine import Context, rule
from ..findings import Hit, Severity, hit

def chapter_v_transfers(ctx: Context) -> list[Transfer]:
    """Restricted transfers under the regimes with a Chapter V (GDPR, UK GDPR)."""
    law = ctx.rulebook
    return [t for t in ctx.view.transfers() if law.attaches_to_establishments(t.regime)]


def mechanism_problem(ctx: Context, t: Transfer) -> str | None:
    """Why the transfer's mechanism does not count under its regime; None when it does. Each
    regime's mechanisms.yaml says which mechanisms it recognises, from and until when, and on
    what conditions (EU SCCs under the FADP only with the Swiss amendments; under the LGPD,
    clauses other than the ANPD's only until 2025-08-23 and then with the ANPD's approval)."""
    mechanism = t.mechanism
    if mechanism is None:
        return "no transfer mechanism"
    name = ctx.rulebook.regime_short_name(t.regime)
    info = ctx.rulebook.mechanism_for(t.regime, mechanism)
    if info is None:
        return f"{mechanism.value} is not a transfer mechanism under the {name}"
    if info.since is not None and ctx.as_of < info.since:
        return f"{mechanism.value} is only available from {info.since}"
    if info.until is not None and ctx.as_of >= info.until:
        why = f": {info.notes}" if info.notes else ""
        return f"{mechanism.value} no longer counts under the {name} from {info.until}{why}"
    if info.requires and (info.requires_from is None or ctx.as_of >= info.requires_from):
        missing = [f"transfer.{path}: {str(value).lower()}" for path, value in info.requires.items()
                   if _field(t.flow.transfer, path) != value]
        if missing:
            return f"{mechanism.value} counts under the {name} only with {', '.join(missing)}"
    return None


def _field(block: object, path: str) -> object:
    """A dotted field of the flow's `transfer` block (`scc.swiss_amendments`), None when absent."""
    for part in path.split("."):
        block = getattr(block, part, None)
    return block


def _describe(ctx: Context, t: Transfer) -> str:
    return f"{t.exporter.name} → {t.importer.name} ({t.country}, {ctx.rulebook.regime_short_name(t.regime)})"


def _details(t: Transfer, **more: object) -> dict:
    return {"regime": t.regime, "exporter": t.exporter.id, "importer": t.importer.id,
            "countries": list(t.destination_countries), "elements": [e.id for e in t.elements], **more}


def _suggested_module(ctx: Context, t: Transfer) -> str:
    return ctx.rulebook.scc_module(t.exporter_role, t.importer_role)


@rule("TRF-001", title="A first-hop restricted transfer has a Chapter V mechanism", severity=Severity.CRITICAL,
      legal=("GDPR Art. 44", "GDPR Art. 46(1)"), subject="flow", over=chapter_v_transfers,
      remediation="Rely on an adequacy decision, or sign the SCCs (module by roles: controller→controller "
                  "c2c, controller→processor c2p, processor→processor p2p, processor→controller p2c) with a TIA.",
      example="""
flows:
  - {id: to-us, from: crm, to: us-analytics, elements: [email], purposes: [analytics]}  # no transfer: fires
""")
def first_hop_without_mechanism(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer whose exporter got the data from the data subjects or holds it in
    the regime's area, to a destination with no adequacy decision in force and in scope, with
    no mechanism (or one the regime does not know, such as a PIPL contract for GDPR data).
    A claimed `adequacy` that does not hold is TRF-002's finding, not this one."""
    if not t.first_hop or t.adequate or t.mechanism is Mechanism.ADEQUACY:
        return None
    problem = mechanism_problem(ctx, t)
    if problem is None:
        return None
    module = _suggested_module(ctx, t)
    hint = ctx.rulebook.regimes[t.regime].clauses_hint.format(module=module)
    return hit(t, f"{_describe(ctx, t)}: {problem}; {hint}",
               **_details(t, scc_module=module, adequacy=[a.reason for a in t.adequacy]))


@rule("TRF-002", title="A transfer relying on adequacy goes where a decision applies", severity=Severity.CRITICAL,
      legal=("GDPR Art. 45(1)", "GDPR Art. 45(3)"), subject="flow", over=chapter_v_transfers,
      remediation="Use another mechanism (SCCs with a TIA), or make sure the importer is within the "
                  "decision's scope (e.g. certified under the EU-US Data Privacy Framework).",
      example="""
flows:
  - id: to-in
    from: crm
    to: in-vendor            # India: no adequacy decision
    elements: [email]
    transfer: {mechanism: adequacy}   # fires
""")
def adequacy_does_not_apply(ctx: Context, t: Transfer) -> Hit | None:
    """The flow relies on `adequacy` but a destination country has no decision in force on the
    as-of date, or the importer or data is outside the decision's scope (the USA only for
    certified importers; Canada and Japan only for the private sector; Korea without credit data)."""
    if t.mechanism is not Mechanism.ADEQUACY or t.adequate:
        return None
    reasons = [a.reason for a in t.adequacy if not a.adequate]
    return hit(t, f"{_describe(ctx, t)} relies on adequacy, but {'; '.join(r for r in reasons if r)}",
               **_details(t, reasons=reasons))


def _flows_with(ctx: Context, kinds: Iterable[str] = (), mechanisms: Iterable[Mechanism] = ()) -> list[Flow]:
    wanted_kinds, wanted = set(kinds), set(mechanisms)
    book = ctx.rulebook.mechanisms
    out = []
    for flow in ctx.inventory.flows.values():
        m = flow.transfer.mechanism if flow.transfer else None
        if m is not None and (m in wanted or book[m].kind in wanted_kinds):
            out.append(flow)
    return out


@rule("TRF-003", title="SCCs use the module that matches the parties' roles", severity=Severity.MEDIUM,
      legal=("Commission Implementing Decision (EU) 2021/914, Annex, Section I",), subject="flow",
      over=lambda ctx: _flows_with(ctx, mechanisms=[Mechanism.SCC]),
      remediation="Sign the module for the roles: c2c, c2p, p2p or p2c (exporter role → importer role).",
      example="""
organisations:
  - {id: us-host, name: Host, country: US, relation: processor}
flows:
  - {id: to-host, from: crm, to: us-host, elements: [email], transfer: {mechanism: scc, scc: {module: c2c}}}  # controller→processor needs c2p: fires
""")
def scc_module_mismatch(ctx: Context, flow: Flow) -> Hit | None:
    """A flow declares `scc` and its module is missing or is not the one for the roles: the
    exporter's and importer's roles (processor when the relation is processor or
    sub-processor, controller otherwise) select Module One to Four."""
    exporter, importer, _ = ctx.view.parties(flow)
    if exporter is None or importer is None or exporter.id == importer.id:
        return None
    expected = ctx.rulebook.scc_module(exporter.role, importer.role)
    stated = flow.transfer.scc.module if flow.transfer and flow.transfer.scc else None
    if stated is not None and stated.value == expected:
        return None
    said = f"module {stated.value}" if stated else "no module"
    return hit(flow, f"SCCs with {said}, but {exporter.name} ({exporter.role.value}) → {importer.name} "
                     f"({importer.role.value}) needs module {expected}",
               stated=stated.value if stated else None, expected=expected)


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the last day of the month when it has fewer days)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _months_between(earlier: dt.date, later: dt.date) -> int:
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    return months - (1 if later.day < earlier.day else 0)


def tia_required(ctx: Context, t: Transfer) -> bool:
    """The transfer needs a transfer-impact assessment: a restricted transfer to a non-adequate
    destination on an Art. 46/47 tool that counts under its regime (EDPB Recommendations
    01/2020, step 3). TRF-004 and `flowaudit tia` both ask this one question."""
    if t.adequate or t.mechanism is None or ctx.rulebook.mechanisms[t.mechanism].kind != "safeguard":
        return False
    if not ctx.rulebook.regimes[t.regime].tia_required:
        return False  # LGPD: Resolution CD/ANPD 19/2024 asks for no transfer-impact assessment
    return mechanism_problem(ctx, t) is None


@rule("TRF-004", title="Transfers on Art. 46/47 safeguards have a current transfer-impact assessment",
      severity=Severity.HIGH, legal=("GDPR Art. 46(1)", "EDPB Recommendations 01/2020"), subject="flow",
      over=chapter_v_transfers,
      remediation="Carry out (or renew) a transfer-impact assessment; where it requires supplementary "
                  "measures, implement and list them; where it is not acceptable, suspend the transfer.",
      example="""
flows:
  - id: to-us
    from: crm
    to: us-vendor
    elements: [email]
    transfer: {mechanism: scc, scc: {module: c2p, version: 2021}}   # no tia: fires
""")
def tia_problem(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer to a non-adequate destination under an Art. 46/47 safeguard (SCCs,
    BCRs, ad-hoc clauses, codes, certification; for the UK also the IDTA and the Addendum) with
    no TIA, a TIA older than the limit (24 months by default; EDPB Rec. 01/2020 asks to
    re-evaluate at appropriate intervals), an outcome `measures-required` with no `measures`,
    or an outcome `not-acceptable` (critical: Schrems II, C-311/18, requires suspension)."""
    if not tia_required(ctx, t):
        return None
    transfer = t.flow.transfer
    tia = transfer.tia if transfer else None
    limit = ctx.config.limits.get("tia_max_age_months", ctx.rulebook.tia_max_age_months)
    if tia is None or tia.date is None:
        return hit(t, f"{_describe(ctx, t)} under {t.mechanism.value} has no transfer-impact assessment",
                   **_details(t, problem="no-tia"))
    assert transfer is not None  # the TIA came from it
    if tia.outcome is TiaOutcome.NOT_ACCEPTABLE:
        return hit(t, f"{_describe(ctx, t)}: the TIA of {tia.date} found the transfer not acceptable, yet it goes on",
                   severity=Severity.CRITICAL, **_details(t, problem="not-acceptable", tia_date=tia.date))
    if _add_months(tia.date, limit) < ctx.as_of:
        age = _months_between(tia.date, ctx.as_of)
        return hit(t, f"{_describe(ctx, t)}: the TIA of {tia.date} is older than the {limit}-month limit ({age} full months)",
                   **_details(t, problem="stale-tia", tia_date=tia.date, age_months=age))
    if tia.outcome is TiaOutcome.MEASURES_REQUIRED and not transfer.measures:
        return hit(t, f"{_describe(ctx, t)}: the TIA requires supplementary measures but none are listed",
                   **_details(t, problem="measures-missing", tia_date=tia.date))
    return None


@rule("TRF-005", title="Art. 49 derogations are used only for occasional transfers", severity=Severity.HIGH,
      legal=("GDPR Art. 49(1)", "EDPB Guidelines 2/2018"), subject="flow",
      over=lambda ctx: _flows_with(ctx, kinds=["derogation"]),
      remediation="Put an Art. 46 safeguard (SCCs, BCRs) in place for regular transfers; keep derogations "
                  "for occasional, non-repetitive ones.",
      example="""
flows:
  - {id: to-partner, from: crm, to: partner, elements: [email], frequency: continuous,
     transfer: {mechanism: explicit-consent}}   # fires
""")
def derogation_not_occasional(ctx: Context, flow: Flow) -> Hit | None:
    """A flow relies on an Art. 49(1) derogation and its `frequency` is not `occasional`: the
    EDPB reads the derogations restrictively, as exceptions for occasional and non-repetitive
    transfers (Guidelines 2/2018, section 1)."""
    if flow.frequency.value == "occasional":
        return None
    regimes = {t.regime for t in ctx.view.transfers_of(flow)} or set(ctx.view.regimes_of_flow(flow))
    if not any(ctx.rulebook.regimes[r].derogations_occasional_only for r in regimes):
        return None  # FADP Art. 17 and LGPD Art. 33 set no "occasional" limit on their exceptions
    transfer = flow.transfer
    assert transfer is not None and transfer.mechanism is not None  # `over` picked it by its mechanism
    mechanism = transfer.mechanism
    return hit(flow, f"relies on the Art. 49 derogation {mechanism.value} for a {flow.frequency.value} transfer",
               mechanism=mechanism.value, frequency=flow.frequency.value)


@rule("TRF-006", title="Data claimed anonymised before transfer is anonymous", severity=Severity.HIGH,
      legal=("GDPR Recital 26", "WP29 Opinion 05/2014 on anonymisation techniques"), subject="flow",
      over=lambda ctx: [f for f in ctx.inventory.flows.values() if f.transfer and f.transfer.anonymised],
      remediation="Anonymise the identifiers (aggregate, generalise) before the flow, or treat it as a "
                  "transfer of personal data with a mechanism.",
      example="""
flows:
  - {id: stats-out, from: warehouse, to: us-lab, elements: [email, age-band],
     transfer: {anonymised: true}}   # email is a direct identifier: fires
""")
def anonymisation_does_not_hold(ctx: Context, flow: Flow) -> Hit | None:
    """`transfer.anonymised: true`, but the flow carries a direct identifier that is not in
    anonymised state, or three or more quasi-identifiers that are not (which together single
    a person out). Such a flow stays a transfer of personal data."""
    elements = ctx.view.inventory_elements(flow)
    live = [e for e in elements if e.state is not State.ANONYMISED]
    direct = [e.id for e in live if e.identifier is Identifier.DIRECT]
    quasi = [e.id for e in live if e.identifier is Identifier.QUASI]
    if direct:
        return hit(flow, f"claims anonymisation but carries direct identifiers ({', '.join(direct)})",
                   direct=direct, quasi=quasi)
    if len(quasi) >= 3:
        return hit(flow, f"claims anonymisation but carries {len(quasi)} quasi-identifiers ({', '.join(quasi)})",
                   direct=direct, quasi=quasi)
    return None


@rule("TRF-007", title="An onward transfer has a Chapter V mechanism", severity=Severity.HIGH,
      legal=("GDPR Art. 44",), subject="flow", over=chapter_v_transfers,
      remediation="Make the importer sign onward-transfer terms (SCC Clause 8.7/8.8) or the right module "
                  "with its own importer; see details.path for the chain.",
      example="""
flows:
  - {id: f1, from: eu-crm, to: us-host, elements: [email], transfer: {mechanism: scc, scc: {module: c2p}}}
  - {id: f2, from: us-host, to: in-support, elements: [email]}   # onward, no mechanism: fires
""")
def onward_without_mechanism(ctx: Context, t: Transfer) -> Hit | None:
    """An onward transfer (the exporter neither collected the data from the subjects nor holds
    it in the regime's area) to a non-adequate destination with no mechanism. Art. 44 extends
    Chapter V to onward transfers. `details.path` lists the nodes from the first exporter's
    system to this flow's destination."""
    if t.first_hop or t.adequate or t.mechanism is Mechanism.ADEQUACY:
        return None
    problem = mechanism_problem(ctx, t)
    if problem is None:
        return None
    path = t.path
    return hit(t, f"onward transfer {_describe(ctx, t)}: {problem} (chain {' → '.join(path)})",
               **_details(t, path=path, path_length=t.path_length, scc_module=_suggested_module(ctx, t)))


@rule("TRF-008", title="SCCs are the 2021 version", severity=Severity.HIGH,
      legal=("Commission Implementing Decision (EU) 2021/914 Art. 4",), subject="flow",
      over=lambda ctx: _flows_with(ctx, mechanisms=[Mechanism.SCC]),
      remediation="Replace the old clauses with the 2021 SCCs (Decision 2021/914) and the right module.",
      example="""
flows:
  - {id: to-us, from: crm, to: us-host, elements: [email],
     transfer: {mechanism: scc, scc: {module: c2p, version: 2010}}}   # fires
""")
def scc_outdated(ctx: Context, flow: Flow) -> Hit | None:
    """SCCs of a version before 2021 (2001, 2004, 2010). Decision 2021/914 Art. 4: the old sets
    could not be signed after 2021-09-27 and lost all effect on 2022-12-27. Before that date
    (`--as-of` in the past) a contract signed in time was still valid, and the rule stays quiet."""
    scc = flow.transfer.scc if flow.transfer else None
    if scc is None or scc.version is None or scc.version >= 2021:
        return None
    version = ctx.rulebook.scc_versions[scc.version]
    if version.void_from and ctx.as_of >= version.void_from:
        why = f"lost all effect on {version.void_from}"
    elif version.no_new_after and scc.signed and scc.signed > version.no_new_after:
        why = f"could not be signed after {version.no_new_after} (signed {scc.signed})"
    else:
        return None
    return hit(flow, f"relies on the {scc.version} SCCs ({version.decision}), which {why}",
               version=scc.version, decision=version.decision)


@rule("TRF-009", title="BCRs bind both parties", severity=Severity.HIGH, legal=("GDPR Art. 47(1)",),
      subject="flow", over=lambda ctx: _flows_with(ctx, mechanisms=[Mechanism.BCR]),
      remediation="Use BCRs only between members of the same approved group; otherwise sign SCCs.",
      example="""
organisations:
  - {id: vendor, name: Vendor, country: IN, relation: processor}   # no bcr_group
flows:
  - {id: to-vendor, from: crm, to: vendor, elements: [email], transfer: {mechanism: bcr}}   # fires
""")
def bcr_outside_group(ctx: Context, flow: Flow) -> Hit | None:
    """A flow relies on `bcr`, but its exporter and importer are not both members of the same
    `bcr_group`: binding corporate rules bind only the group that adopted them."""
    exporter, importer, _ = ctx.view.parties(flow)
    if exporter is None or importer is None:
        return None
    if exporter.bcr_group and exporter.bcr_group == importer.bcr_group:
        return None
    return hit(flow, f"relies on BCRs, but {exporter.name} ({exporter.bcr_group or 'no BCR group'}) and "
                     f"{importer.name} ({importer.bcr_group or 'no BCR group'}) are not in the same group",
               exporter_group=exporter.bcr_group, importer_group=importer.bcr_group)


@rule("TRF-010", title="Special-category data sent to a non-adequate country has supplementary measures",
      severity=Severity.HIGH, legal=("GDPR Art. 9", "GDPR Art. 46", "EDPB Recommendations 01/2020"),
      subject="flow", over=chapter_v_transfers,
      remediation="Add supplementary measures (encryption with exporter-held keys, pseudonymisation, "
                  "split processing) and list them in `transfer.measures`.",
      example="""
flows:
  - {id: to-us, from: hr, to: us-payroll, elements: [health-notes],
     transfer: {mechanism: scc, scc: {module: c2p, version: 2021}}}   # no measures: fires
""")
def special_data_without_measures(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer to a non-adequate destination carries special-category (Art. 9)
    or criminal (Art. 10) data and its `measures` are empty, whatever the mechanism."""
    if t.adequate or not ctx.rulebook.regimes[t.regime].tia_required:
        return None  # supplementary measures follow from the assessment a regime asks for (not LGPD)
    sensitive = [e.id for e in t.elements if e.special or e.criminal]
    if not sensitive:
        return None
    if t.flow.transfer and t.flow.transfer.measures:
        return None
    return hit(t, f"{_describe(ctx, t)} carries {', '.join(sensitive)} with no supplementary measures",
               **_details(t, sensitive=sensitive))


RULES = (first_hop_without_mechanism, adequacy_does_not_apply, scc_module_mismatch, tia_problem,
         derogation_not_occasional, anonymisation_does_not_hold, onward_without_mechanism, scc_outdated,
         bcr_outside_group, special_data_without_measures)
