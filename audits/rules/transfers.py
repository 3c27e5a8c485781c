"""International transfers (GDPR Chapter V; UK GDPR Chapter V by the same reasoning).

Rules ask the view for restricted transfers (one per flow and regime, SPEC §3); the engine
keeps one finding per rule and flow, with the regimes concerned in its details.
"""

from __future__ import annotations

import datetime as dt

from flowaudit.inventory.anonymity import QUASI_IDENTIFIERS_SINGLING_OUT, identifiers_in_clear
from flowaudit.inventory.graph import Transfer
from flowaudit.inventory.models import Flow, Mechanism, Role, TiaOutcome

from .. import selectors
from ..rule import Context, rule, selector
from ..findings import Hit, Severity, hit
from ..mechanisms import Choice, regime_condition_problem


@selector("every restricted transfer (one per flow and regime) under a regime with a Chapter V (GDPR, UK GDPR)")
def chapter_v_transfers(ctx: Context) -> list[Transfer]:
    return ctx.memo("chapter_v_transfers", _chapter_v_transfers)  # one list for the ten rules that ask


def _chapter_v_transfers(ctx: Context) -> list[Transfer]:
    chapter_v = {r for r in ctx.rulebook.regime_ids if ctx.rulebook.attaches_to_establishments(r)}
    return [t for t in ctx.view.transfers() if t.regime in chapter_v]


def choice(ctx: Context, t: Transfer) -> Choice:
    """The mechanism that counts for the transfer under its regime, and whether it is valid:
    the law (the audit's rulebook, which built the view) decides it once per transfer."""
    return t.choice  # type: ignore[return-value]


def mechanism_problem(ctx: Context, t: Transfer) -> str | None:
    """Why the transfer has no mechanism its regime knows, or one not yet available; None when
    it has one (whose other defects are the other rules' findings). The choice's own reason
    when none counts; else the regime's conditions, asked once per transfer (memoised on the
    context)."""
    c = t.choice
    if c.mechanism is None:  # none counts: the choice says why
        return c.problem  # type: ignore[attr-defined,no-any-return]
    if c.problem is None:  # type: ignore[attr-defined]
        return None  # the law chose it as valid, its regime's conditions first (`mechanisms.problem_of`)
    memo: dict[int, str | None] = ctx.table("mechanism_problems")
    key = id(t)
    if key in memo:
        return memo[key]
    found = memo[key] = regime_condition_problem(ctx.rulebook, t, c.mechanism, ctx.as_of)
    return found


def _art46_tool(ctx: Context, t: Transfer) -> bool:
    """The transfer relies on an Art. 46/47 tool (SCCs, IDTA, UK Addendum, BCRs, ad-hoc clauses,
    codes, certification) that its regime recognises."""
    c = choice(ctx, t)
    return c.kind == "safeguard"


def _p2c_without_eea_data(ctx: Context, t: Transfer) -> bool:
    """A processor returning data to a controller (SCC Module Four, p2c) that does not combine it
    with personal data it collected in the regime's area: Clause 14 (the transfer-impact
    assessment) applies to Module Four only in that case (Decision 2021/914, Annex, Clause 14,
    Module Four), and with it the supplementary measures."""
    if t.exporter_role is not Role.PROCESSOR or t.importer_role is not Role.CONTROLLER:
        return False
    return not ctx.view.combines_area_data(t)


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
    if not t.first_hop or t.adequate or choice(ctx, t).mechanism is Mechanism.ADEQUACY:
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
    if t.adequate or choice(ctx, t).mechanism is not Mechanism.ADEQUACY:
        return None
    reasons = [a.reason for a in t.adequacy if not a.adequate]
    return hit(t, f"{_describe(ctx, t)} relies on adequacy, but {'; '.join(r for r in reasons if r)}",
               **_details(t, reasons=reasons))


def _flows_by_mechanism(ctx: Context) -> dict[Mechanism, list[Flow]]:
    """Per mechanism, the flows whose `transfer:` block names it, in inventory order: one pass
    over the flows for every selector that asks (memoised on the context)."""
    found: dict[Mechanism, list[Flow]] = {}
    for flow in ctx.inventory.flows.values():
        terms = flow.transfer
        if terms is not None:
            for m in terms.mechanisms:
                found.setdefault(m, []).append(flow)
    return found


def _flows_with(ctx: Context, mechanism: Mechanism) -> list[Flow]:
    return ctx.memo("flows_by_mechanism", _flows_by_mechanism).get(mechanism, [])


@selector("every flow whose `transfer:` block names `scc`")
def scc_flows(ctx: Context) -> list[Flow]:
    return _flows_with(ctx, Mechanism.SCC)


@selector("every flow whose `transfer:` block names `bcr`")
def bcr_flows(ctx: Context) -> list[Flow]:
    return _flows_with(ctx, Mechanism.BCR)


@rule("TRF-003", title="SCCs use the module that matches the parties' roles", severity=Severity.MEDIUM,
      legal=("Commission Implementing Decision (EU) 2021/914, Annex, Section I",), subject="flow",
      over=scc_flows,
      remediation="Sign the module for the roles: c2c, c2p, p2p or p2c (exporter role → importer role).",
      example="""
organisations:
  - {id: us-host, name: Host, country: US, relation: processor}
flows:
  # controller → processor needs c2p: fires
  - {id: to-host, from: crm, to: us-host, elements: [email], transfer: {mechanism: scc, scc: {module: c2c}}}
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
    01/2020, step 3) — never adequacy, never an Art. 49 derogation — except a processor's p2c
    return not combined with data it collected in the area (Decision 2021/914, Clause 14,
    Module Four). TRF-004 and `flowaudit tia` both ask this one question."""
    if t.adequate or not _art46_tool(ctx, t) or mechanism_problem(ctx, t) is not None:
        return False
    if not ctx.rulebook.regimes[t.regime].tia_required:
        return False  # LGPD: Resolution CD/ANPD 19/2024 asks for no transfer-impact assessment
    return not _p2c_without_eea_data(ctx, t)


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
    """A restricted transfer to a non-adequate destination that relies on an Art. 46/47 tool
    (SCCs, BCRs, ad-hoc clauses, codes, certification; for the UK the IDTA and the Addendum) —
    never adequacy, never an Art. 49 derogation (it is an exception, not a safeguard whose
    effectiveness is assessed: EDPB Recommendations 01/2020 para 25) — with no TIA, a TIA older
    than the limit (24 months by default; EDPB Rec. 01/2020 asks to re-evaluate at appropriate
    intervals), an outcome `measures-required` with no `measures`,
    or an outcome `not-acceptable` (critical: Schrems II, C-311/18, requires suspension).
    A processor's return to its controller (SCC Module Four, p2c) needs a TIA only when the
    processor combines the data with personal data it collected in the regime's area
    (Decision 2021/914, Annex, Clause 14, Module Four; see `InventoryView.combines_area_data`)."""
    if not tia_required(ctx, t):
        return None
    mechanism = choice(ctx, t).mechanism
    assert mechanism is not None  # an Art. 46/47 tool was chosen
    transfer = t.flow.transfer
    tia = transfer.tia if transfer else None
    if tia is None or tia.date is None:
        return hit(t, f"{_describe(ctx, t)} under {mechanism.value} has no transfer-impact assessment",
                   **_details(t, problem="no-tia"))
    limit = ctx.config.limits.get("tia_max_age_months", ctx.rulebook.tia_max_age_months)
    assert transfer is not None  # the TIA came from it
    if tia.outcome is TiaOutcome.NOT_ACCEPTABLE:
        return hit(t, f"{_describe(ctx, t)}: the TIA of {tia.date} found the transfer not acceptable, yet it goes on",
                   severity=Severity.CRITICAL, **_details(t, problem="not-acceptable", tia_date=tia.date))
    if _add_months(tia.date, limit) < ctx.as_of:
        age = _months_between(tia.date, ctx.as_of)
        return hit(t, f"{_describe(ctx, t)}: the TIA of {tia.date} is older than the {limit}-month limit "
                      f"({age} full months)",
                   **_details(t, problem="stale-tia", tia_date=tia.date, age_months=age))
    if tia.outcome is TiaOutcome.MEASURES_REQUIRED and not transfer.measures:
        return hit(t, f"{_describe(ctx, t)}: the TIA requires supplementary measures but none are listed",
                   **_details(t, problem="measures-missing", tia_date=tia.date))
    return None


@rule("TRF-005", title="Art. 49 derogations are used only where they are available", severity=Severity.HIGH,
      legal=("GDPR Art. 49(1)", "GDPR Recital 111", "EDPB Guidelines 2/2018"), subject="flow",
      over=chapter_v_transfers,
      remediation="Put an Art. 46 safeguard (SCCs, BCRs; the IDTA or the UK Addendum for UK data) in place for "
                  "regular transfers; keep derogations for occasional, non-repetitive ones.",
      example="""
flows:
  - {id: to-partner, from: crm, to: partner, elements: [email], frequency: continuous,
     transfer: {mechanism: explicit-consent}}   # fires
""")
def derogation_not_available(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer under the EU or UK GDPR relies on an Art. 49(1) derogation (no
    valid adequacy or Art. 46 safeguard is declared beside it) that is not available for its
    frequency: `contract-necessity`, `legal-claims` or `compelling-legitimate-interests` on a flow
    that is not `occasional` (Recital 111; Art. 49(1) second subparagraph: "not repetitive"), or
    `explicit-consent` for a `continuous` flow (EDPB Guidelines 2/2018 §2.1: the derogations are
    exceptions, not for systematic transfers). `vital-interests`, `public-interest` and
    `public-register` have no such limit. Which regimes apply the limit is rulebook data: the
    Swiss FADP (Art. 17) and the LGPD (Art. 33) do not."""
    c = choice(ctx, t)
    if c.kind != "derogation" or c.mechanism is None or c.problem is None:
        return None
    return hit(t, f"{_describe(ctx, t)} relies on the Art. 49 derogation {c.mechanism.value} for a "
                  f"{t.flow.frequency.value} transfer: {c.problem}",
               **_details(t, mechanism=c.mechanism.value, frequency=t.flow.frequency.value))


@rule("TRF-006", title="Data claimed anonymised before transfer is anonymous", severity=Severity.HIGH,
      legal=("GDPR Recital 26", "WP29 Opinion 05/2014 on anonymisation techniques"), subject="flow",
      over=selectors.anonymised_flows,
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
    direct_elements, quasi_elements = identifiers_in_clear(ctx.view.inventory_elements(flow))
    direct = [e.id for e in direct_elements]
    quasi = [e.id for e in quasi_elements]
    if direct:
        return hit(flow, f"claims anonymisation but carries direct identifiers ({', '.join(direct)})",
                   direct=direct, quasi=quasi)
    if len(quasi) >= QUASI_IDENTIFIERS_SINGLING_OUT:
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
    if t.first_hop or t.adequate or choice(ctx, t).mechanism is Mechanism.ADEQUACY:
        return None
    problem = mechanism_problem(ctx, t)
    if problem is None:
        return None
    path, length = ctx.view.onward_chain(t)
    return hit(t, f"onward transfer {_describe(ctx, t)}: {problem} (chain {' → '.join(path)})",
               **_details(t, path=path, path_length=length, scc_module=_suggested_module(ctx, t)))


@rule("TRF-008", title="SCCs are a version that still counts for the regime of the data", severity=Severity.HIGH,
      legal=("Commission Implementing Decision (EU) 2021/914 Art. 4",
             "UK IDTA and Addendum transitional provisions (DPA 2018 s. 119A)"), subject="flow",
      over=chapter_v_transfers,
      remediation="Replace the old clauses: the 2021 SCCs (Decision 2021/914, right module) for EU data; the "
                  "IDTA, or the 2021 SCCs with the UK Addendum, for UK data.",
      example="""
flows:
  - {id: to-us, from: crm, to: us-host, elements: [email],
     transfer: {mechanism: scc, scc: {module: c2p, version: 2010}}}   # fires
""")
def scc_outdated(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer to a non-adequate destination relies on SCCs of a version before 2021
    (2001, 2004, 2010) that have lapsed for the regime of its data on the as-of date. EU data
    (Decision 2021/914 Art. 4): signed after 2021-09-27, or relied on from 2022-12-27. UK data
    (transitional provisions of the IDTA and the Addendum): signed after 2022-09-21, or relied on
    from 2024-03-21. A contract signed in time is still valid before those dates, and the rule
    stays quiet; another valid mechanism declared beside the old clauses counts instead."""
    if t.adequate:
        return None
    c = choice(ctx, t)
    if c.mechanism is not Mechanism.SCC or c.problem is None:
        return None
    terms = t.flow.transfer
    version = terms.scc.version if terms and terms.scc else None
    if version is None or version >= 2021:
        return None
    decision = ctx.rulebook.scc_versions[version].decision
    return hit(t, f"{_describe(ctx, t)}: {c.problem}", **_details(t, version=version, decision=decision))


@rule("TRF-009", title="BCRs bind both parties", severity=Severity.HIGH, legal=("GDPR Art. 47(1)",),
      subject="flow", over=bcr_flows,
      remediation="Use BCRs only between members of the same approved group; otherwise sign SCCs.",
      example="""
organisations:
  - {id: vendor, name: Vendor, country: IN, relation: processor}   # no bcr_group
flows:
  - {id: to-vendor, from: crm, to: vendor, elements: [email], transfer: {mechanism: bcr}}   # fires
""")
def bcr_outside_group(ctx: Context, flow: Flow) -> Hit | None:
    """A flow relies on `bcr`, but its exporter and importer are not both members of the same
    `bcr_group`: binding corporate rules bind only the group that adopted them. (With several
    mechanisms declared, this is reported whenever BCRs are among them.)"""
    exporter, importer, _ = ctx.view.parties(flow)
    if exporter is None or importer is None:
        return None
    if exporter.bcr_group and exporter.bcr_group == importer.bcr_group:
        return None
    return hit(flow, f"relies on BCRs, but {exporter.name} ({exporter.bcr_group or 'no BCR group'}) and "
                     f"{importer.name} ({importer.bcr_group or 'no BCR group'}) are not in the same group",
               exporter_group=exporter.bcr_group, importer_group=importer.bcr_group)


@selector("every restricted transfer under a regime with a Chapter V that carries special-category (Art. 9) or "
          "criminal (Art. 10) data")
def sensitive_transfers(ctx: Context) -> list[Transfer]:
    sensitive = {e.id for e in ctx.inventory.elements.values() if e.special or e.criminal}
    if not sensitive:  # most inventories' transfers: none to look at
        return []
    return [t for t in chapter_v_transfers(ctx) if any(e.id in sensitive for e in t.elements)]


@rule("TRF-010", title="Special-category data sent to a non-adequate country has supplementary measures",
      severity=Severity.HIGH, legal=("GDPR Art. 9", "GDPR Art. 46", "EDPB Recommendations 01/2020"),
      subject="flow", over=sensitive_transfers,
      remediation="Add supplementary measures (encryption with exporter-held keys, pseudonymisation, "
                  "split processing) and list them in `transfer.measures`.",
      example="""
flows:
  - {id: to-us, from: hr, to: us-payroll, elements: [health-notes],
     transfer: {mechanism: scc, scc: {module: c2p, version: 2021}}}   # no measures: fires
""")
def special_data_without_measures(ctx: Context, t: Transfer) -> Hit | None:
    """A restricted transfer to a non-adequate destination carries special-category (Art. 9)
    or criminal (Art. 10) data, its `measures` are empty, and it relies on an Art. 46/47 tool,
    or on an Art. 49 derogation that is not available for it (TRF-005). Supplementary measures
    belong to the Art. 46 tools (EDPB Recommendations 01/2020): a valid, occasional derogation
    needs none, and a flow with no mechanism at all is TRF-001's finding. A processor's p2c
    return that needs no TIA (Clause 14, Module Four) needs no measures either."""
    if t.adequate or not ctx.rulebook.regimes[t.regime].tia_required:
        return None  # supplementary measures follow from the assessment a regime asks for (not LGPD)
    c = choice(ctx, t)
    if not (c.kind == "safeguard" or (c.kind == "derogation" and c.problem is not None)):
        return None
    if _p2c_without_eea_data(ctx, t):
        return None
    sensitive = [e.id for e in t.elements if e.special or e.criminal]
    if not sensitive:
        return None
    if t.flow.transfer and t.flow.transfer.measures:
        return None
    return hit(t, f"{_describe(ctx, t)} carries {', '.join(sensitive)} with no supplementary measures",
               **_details(t, sensitive=sensitive, mechanism=c.mechanism.value if c.mechanism else None))
