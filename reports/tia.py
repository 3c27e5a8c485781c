"""Transfer-impact assessments drafted from the graph (`flowaudit tia`, and a section of report.html).

One assessment per restricted transfer that needs one — the question TRF-004 asks
(`audits.rules.transfers.tia_required`: an Art. 46/47 tool to a non-adequate destination under
a regime that requires an assessment) — in the EDPB's six steps (Recommendations 01/2020) as
the CNIL's TIA guide (2025 edition) lays them out:

1. know the transfer: exporter and importer with roles, every country (destination, onward,
   sub-processors), elements with Art. 9/10 flags, subjects and their number, purposes,
   frequency, storage or remote access, the onward chain — all read from the inventory view
   the audit uses (`InventoryView`: its transfers, their paths, the flows they carry on);
2. the transfer tool and its dates;
3. the destination's law and practice, from the country profiles (`audits.countries`);
4. supplementary measures: the flow's `measures` and the systems' `security`, gaps named;
5. procedural steps; 6. re-evaluation, dated (the TIA's date plus the maximum age).

What the inventory cannot know is a question, marked "? to be answered by …", never an answer.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowaudit.audits import AuditResult
from flowaudit.audits.countries import adequacy_history, profile
from flowaudit.audits.rule import Context
from flowaudit.audits.rulebook import Rulebook
from flowaudit.audits.rules.transfers import _add_months, _months_between, tia_required
from flowaudit.inventory.graph import InventoryView, Transfer
from flowaudit.inventory.models import State, TiaOutcome

from .records import BASIS_TEXT, country_name, retention_text

STEPS = (
    ("1", "Know your transfer"),
    ("2", "Identify the transfer tool"),
    ("3", "Assess the law and practice of the destination"),
    ("4", "Identify and adopt supplementary measures"),
    ("5", "Procedural steps"),
    ("6", "Re-evaluate at appropriate intervals"),
)
SHEETS = {"1": "1 Transfer", "2": "2 Tool", "3": "3 Law and practice", "4": "4 Measures",
          "5": "5 Procedural steps", "6": "6 Re-evaluation"}

# EDPB Recommendations 01/2020, Annex 2: technical, contractual and organisational measures.
MEASURE_KIND = {
    "encryption-exporter-keys": "technical (Use Cases 1, 2, 3: encryption, keys held by the exporter in the EEA)",
    "encryption-in-transit": "technical (Use Case 3: transit encryption against access in transit, EO 12333)",
    "pseudonymisation": "technical (Use Case 2: pseudonymised data, additional information held by the exporter)",
    "split-processing": "technical (Use Case 5: split or multi-party processing)",
    "access-controls": "organisational",
    "transparency-reporting": "contractual (importer reports on requests for access, paras 99-108)",
}

QUESTION = "?"


@dataclass
class Row:
    """One line of an assessment: a fact, a question, a gap or an action."""

    item: str
    value: str
    kind: str = "fact"  # fact | question | gap | action | ok
    source: str = ""


@dataclass
class Step:
    number: str
    title: str
    rows: list[Row] = field(default_factory=list)

    def add(self, item: str, value: Any, kind: str = "fact", source: str = "") -> None:
        self.rows.append(Row(item, _text(value), kind, source))


@dataclass
class Assessment:
    transfer: Transfer
    name: str  # file stem: tia-<flow>-<regime>
    date: dt.date  # the draft's date (as-of)
    reevaluate: dt.date
    steps: list[Step]
    countries: list[str]  # every country of step 1 outside the regime's area
    onward: list[dict[str, Any]]  # downstream transfers of the same data
    path: list[str]  # the onward path of this transfer (empty when first-hop)

    @property
    def questions(self) -> list[Row]:
        return [r for s in self.steps for r in s.rows if r.kind == "question"]

    @property
    def gaps(self) -> list[Row]:
        return [r for s in self.steps for r in s.rows if r.kind == "gap"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _ask(who: str, what: str) -> str:
    return f"{QUESTION} to be answered by {who}: {what}"


# --- which transfers -------------------------------------------------------------------------


def needing_tia(result: AuditResult, rulebook: Rulebook | None = None) -> list[Transfer]:
    """Every restricted transfer that needs a TIA, in flow-then-regime order."""
    ctx = Context(result.view, rulebook or result.rulebook, result.config)
    found = [t for t in result.view.transfers() if tia_required(ctx, t)]
    return sorted(found, key=lambda t: (t.flow.id, t.regime))


def onward_transfers(view: InventoryView, t: Transfer) -> tuple[list[str], list[Transfer]]:
    """After this flow: every node the transfer's data reaches (breadth-first, along flows that
    carry part of it under the same regime) and the restricted transfers among those flows.
    Linear in the flows reached."""
    carrying = frozenset(view.carried(t.flow, t.regime))
    seen: dict[str, frozenset[str]] = {t.flow.to: carrying}
    order = [t.flow.to]
    later: list[Transfer] = []
    listed: set[int] = set()
    queue = deque([t.flow.to])
    while queue:
        node = queue.popleft()
        have = seen[node]
        for f in view.flows_from(node):
            carried = have.intersection(view.carried(f, t.regime))
            if not carried:
                continue
            for other in view.transfers_of(f):
                if other.regime == t.regime and id(other) not in listed:
                    listed.add(id(other))
                    later.append(other)
            before = seen.get(f.to)
            if before is None or not carried <= before:
                if before is None:
                    order.append(f.to)
                seen[f.to] = carried if before is None else before | carried
                queue.append(f.to)
    return order, later


# --- the assessment ---------------------------------------------------------------------------


def assess(result: AuditResult, t: Transfer, rulebook: Rulebook | None = None) -> Assessment:
    book = rulebook or result.rulebook
    view = result.view
    inv = view.inventory
    flow = t.flow
    tr = flow.transfer
    as_of = result.as_of
    regime = book.regimes[t.regime]
    area = book.area(t.regime, as_of)
    limit = result.config.limits.get("tia_max_age_months", book.tia_max_age_months)
    steps = {n: Step(n, title) for n, title in STEPS}

    # --- step 1: the transfer -----------------------------------------------------------
    s1 = steps["1"]
    s1.add("Flow", f"{flow.id}: {view.name(flow.from_)} → {view.name(flow.to)}", source=_where(inv, flow.id))
    s1.add("Regime", f"{regime.name} ({regime.law})")
    s1.add("Exporter", f"{t.exporter.name} ({t.exporter.id}; {t.exporter.relation.value}, acting as "
                       f"{t.exporter_role.value}; established in {t.exporter.country} "
                       f"{country_name(t.exporter.country)})")
    s1.add("Importer", f"{t.importer.name} ({t.importer.id}; {t.importer.relation.value}, acting as "
                       f"{t.importer_role.value}; established in {t.importer.country} "
                       f"{country_name(t.importer.country)})")
    s1.add("First hop or onward", "first hop" if t.first_hop else "onward transfer"
           + (" (collection into a processor's system abroad)" if t.via_collection else ""))
    if t.onward:
        s1.add("Onward path (from the first exporter's system)", " → ".join(view.onward_path(t)))
    s1.add("Origin countries",
           ", ".join(f"{c} {country_name(c)}" for c in t.origin_countries) or "data subjects' locations")
    s1.add("Destination countries", ", ".join(f"{c} {country_name(c)}" for c in t.destination_countries))
    reached, later = onward_transfers(view, t)
    onward_countries = sorted({c for n in reached[1:] if not view.is_subject(n) for c in view.countries(n)} - area)
    s1.add("Onward countries (where the data goes next)", ", ".join(onward_countries) or "none modelled")
    subs = [inv.organisations[o] for o in t.importer.subprocessors if o in inv.organisations]
    sub_countries = sorted({o.country for o in subs} - area)
    s1.add("Sub-processors of the importer", "; ".join(f"{o.name} ({o.country})" for o in subs)
           or "none recorded")
    if t.importer.role.value == "processor" and not subs:
        s1.add("Sub-processors", _ask("the importer", "which sub-processors it uses, and where (SCC Clause 9)"),
               "question")
    countries = sorted(set(t.destination_countries) | set(onward_countries) | set(sub_countries))
    s1.add("Every third country involved", ", ".join(f"{c} {country_name(c)}" for c in countries))
    for e in t.elements:
        flags = [e.category.value]
        if e.special:
            flags.append("Art. 9 special category")
        if e.criminal:
            flags.append("Art. 10 criminal-offence data")
        if e.state is not State.IDENTIFIED:
            flags.append(e.state.value)
        s1.add(f"Element {e.id}", f"{e.name} ({'; '.join(flags)})")
    if view.is_subject(flow.from_):  # collection into a processor's system abroad: these subjects only
        subject_ids = [flow.from_]
    else:
        subject_ids = sorted({s for e in t.elements for s in e.subjects if s in inv.subjects})
    for s in subject_ids:
        subject = inv.subjects[s]
        count = f"{subject.count:,} people" if subject.count is not None else "number not recorded"
        s1.add(f"Data subjects {s}", f"{subject.name} ({', '.join(subject.locations)}; {count}"
               + ("; children among them" if subject.children else "") + ")")
    if any(inv.subjects[s].count is None for s in subject_ids):
        s1.add("Number of data subjects", _ask("the data owner", "how many people of each group the flow concerns"),
               "question")
    s1.add("Volume (data subjects per year)", f"{flow.volume:,}" if flow.volume is not None else "")
    if flow.volume is None:
        s1.add("Volume", _ask("the data owner", "how many people a year this flow concerns (`volume`)"), "question")
    for p in flow.purposes:
        purpose = inv.purposes.get(p)
        if purpose is not None:
            basis = BASIS_TEXT[purpose.legal_basis] if purpose.legal_basis else "no legal basis recorded"
            s1.add(f"Purpose {p}", f"{purpose.name} ({basis}; retention: "
                   f"{retention_text(purpose.retention) or 'not recorded'})")
    if not flow.purposes:
        s1.add("Purposes", _ask("the data owner", "what the importer does with the data"), "question")
    s1.add("Frequency", flow.frequency.value)
    system = inv.systems.get(flow.to)
    if system is not None:
        s1.add("Storage or access", f"stored in {system.name} ({system.id}), operated by "
               f"{inv.organisations[system.operator].name}, located in {', '.join(system.locations)}")
    else:
        s1.add("Storage or access", f"disclosed to {t.importer.name}; no system of the importer is modelled")
    s1.add("Remote access", _ask("the importer", "whether staff or sub-processors in other countries can access the "
                                 "data remotely (support, maintenance), and from where"), "question")
    for o in later:
        s1.add("Onward transfer", _onward_text(book, o))
    # --- step 2: the tool ---------------------------------------------------------------
    s2 = steps["2"]
    mechanism = t.mechanism
    assert mechanism is not None  # tia_required
    info = book.mechanisms[mechanism]
    s2.add("Transfer tool", f"{mechanism.value} ({info.legal})")
    if info.since:
        s2.add("Available since", info.since)
    scc = tr.scc if tr else None
    if mechanism.value == "scc":
        expected = book.scc_module(t.exporter_role, t.importer_role)
        stated = scc.module.value if scc and scc.module else None
        s2.add("SCC module", f"{stated or 'not recorded'} (the roles need {expected})",
               "ok" if stated == expected else "gap")
        if scc and scc.version:
            version = book.scc_versions.get(scc.version)
            s2.add("SCC version", f"{scc.version}" + (f" ({version.decision})" if version else ""))
        else:
            s2.add("SCC version", _ask("the DPO", "which set of SCCs was signed"), "question")
        s2.add("Signed", scc.signed if scc and scc.signed else _ask("the DPO", "when the clauses were signed"),
               "fact" if scc and scc.signed else "question")
    if t.importer.role.value == "processor":
        s2.add("Art. 28(3) contract with the importer", f"signed {t.importer.dpa.signed}" if t.importer.dpa
               else "none recorded", "fact" if t.importer.dpa else "gap")
    tia = tr.tia if tr else None
    if tia is not None and tia.date is not None:
        age = _months_between(tia.date, as_of)
        due = _add_months(tia.date, limit)
        state = "within the limit" if due >= as_of else f"older than the {limit}-month limit since {due}"
        s2.add("Existing TIA", f"dated {tia.date}, outcome {tia.outcome.value if tia.outcome else 'not recorded'}; "
               f"{age} full months old on {as_of}, limit {limit} months: {state}",
               "ok" if due >= as_of and tia.outcome is not TiaOutcome.NOT_ACCEPTABLE else "gap")
    else:
        s2.add("Existing TIA", "none recorded: this draft is the first", "gap")
    # --- step 3: law and practice -------------------------------------------------------
    s3 = steps["3"]
    provider_access: list[str] = []
    for c in countries:
        where = f"{c} {country_name(c)}"
        country_profile = profile(c)
        history = adequacy_history(book, c, t.regime)
        for line in history:
            s3.add(f"{where}: adequacy history", line)
        if country_profile is None:
            s3.add(f"{where}: law and practice", _ask("the DPO", f"no country profile for {c} in the rulebook: "
                   "assess its laws on access by public authorities against the European Essential "
                   "Guarantees (EDPB Recommendations 02/2020), with sources"), "question")
            continue
        s3.add(f"{where}: summary", country_profile.summary,
               source=f"country profile reviewed {country_profile.reviewed}")
        for law in country_profile.government_access:
            who = "electronic communication or network service providers" if law.applies_to == "providers" \
                else "any organisation"
            s3.add(f"{where}: {law.law}", f"{law.scope} (binds {who})", source=law.source)
        for r in country_profile.redress:
            s3.add(f"{where}: redress", r.text, source=r.source)
        for note in country_profile.adequacy_notes:
            s3.add(f"{where}: adequacy note", note)
        if country_profile.provider_access:
            provider_access.append(c)
            binding = [law.law for law in country_profile.government_access if law.applies_to == "providers"]
            if binding:
                s3.add(f"{where}: does it apply to the importer?",
                       _ask("the importer", f"whether it is a provider within {', '.join(binding)}"), "question")
        s3.add(f"{where}: practice", _ask("the importer", "how many requests for access by public authorities it "
                                          "received in the last years, and how it answered (SCC Clause 15)"),
               "question")
    # --- step 4: supplementary measures -------------------------------------------------
    s4 = steps["4"]
    measures = list(tr.measures) if tr else []
    for m in measures:
        s4.add(f"Measure {m}", MEASURE_KIND.get(m, "declared on the flow"), "ok")
    if not measures:
        s4.add("Supplementary measures", "none declared on the flow (`transfer.measures`)")
    sending = inv.systems.get(flow.from_)
    for label, sy in (("Exporter's system", sending), ("Importer's system", system)):
        if sy is not None:
            s4.add(f"{label} {sy.id}: security", ", ".join(sy.security) or "none recorded",
                   "fact" if sy.security else "gap")
    ends = [sy for sy in (sending, system) if sy is not None]
    in_transit = "encryption-in-transit" in measures or (bool(ends) and all("tls" in sy.security for sy in ends))
    if not in_transit:
        s4.add("Gap: encryption in transit", "no `encryption-in-transit` measure and no `tls` on the systems: data "
               "can be read on the way (EO 12333-type collection; EDPB Rec. 01/2020 Use Case 3)", "gap")
    readable = [e.id for e in t.elements if e.state is State.IDENTIFIED]
    if provider_access and readable and "encryption-exporter-keys" not in measures:
        s4.add("Gap: data readable in the clear", f"{', '.join(readable[:10])}{' …' if len(readable) > 10 else ''} "
               f"reach {', '.join(provider_access)} readable by the importer, where the country profile says public "
               "authorities can compel access; no `encryption-exporter-keys` (EDPB Rec. 01/2020 Use Cases 1-3; "
               "where the importer needs the data in the clear, Use Cases 6-7: no effective technical measure)",
               "gap")
    sensitive = [e.id for e in t.elements if e.special or e.criminal]
    if sensitive and not measures:
        s4.add("Gap: special-category or criminal data", f"{', '.join(sensitive)} with no supplementary measure "
               "(TRF-010)", "gap")
    if provider_access and "transparency-reporting" not in measures:
        s4.add("Gap: contractual measures", "no `transparency-reporting` commitment by the importer (EDPB Rec. "
               "01/2020 paras 99-108)", "gap")
    if tia is not None and tia.outcome is TiaOutcome.MEASURES_REQUIRED and not measures:
        s4.add("Gap: measures required", f"the TIA of {tia.date} requires supplementary measures; none are listed",
               "gap")
    s4.add("Effectiveness", _ask("the DPO with the importer", "whether the measures, taken together, prevent the "
                                 "access that step 3 found possible"), "question")
    # --- step 5: procedural steps -------------------------------------------------------
    s5 = steps["5"]
    gaps = [r for s in (s1, s2, s3, s4) for r in s.rows if r.kind == "gap"]
    if mechanism.value == "scc":
        s5.add(f"{as_of}: SCCs", "check that the supplementary measures do not contradict the SCCs; a measure "
               "that changes the clauses makes them ad-hoc clauses needing authorisation (EDPB Rec. 01/2020 para 85; "
               "SCC Clause 2)", "action")
    for gap in gaps:
        s5.add(f"{as_of}: close gap", f"{gap.item}: {gap.value}", "action")
    s5.add(f"{as_of}: record the outcome", "set `transfer.tia: {date, outcome}` (and `measures`) on flow "
           f"{flow.id}; keep this assessment available to the supervisory authority (SCC Clause 14(f))", "action")
    # --- step 6: re-evaluation ----------------------------------------------------------
    s6 = steps["6"]
    base = tia.date if tia is not None and tia.date is not None else as_of
    reevaluate = _add_months(base, limit)
    s6.add("Assessment date", base, source="the recorded TIA" if base != as_of else "this draft (as-of date)")
    s6.add("Maximum age", f"{limit} months (rulebook `tia_max_age_months`, configurable)")
    s6.add(f"{reevaluate}: re-evaluate", "re-evaluate the whole assessment by this date", "action")
    s6.add("Earlier triggers", "a change in the destination's law or practice, a new onward transfer or "
           "sub-processor, a change of data or purposes, a court ruling (EDPB Rec. 01/2020 paras 62-63)")
    return Assessment(
        transfer=t, name=f"tia-{flow.id}-{t.regime}", date=as_of, reevaluate=reevaluate,
        steps=[steps[n] for n, _ in STEPS], countries=countries,
        onward=[{"flow": o.flow.id, "exporter": o.exporter.id, "importer": o.importer.id,
                 "countries": list(o.destination_countries),
                 "mechanism": o.mechanism.value if o.mechanism else None} for o in later],
        path=view.onward_path(t) if t.onward else [],
    )


def _onward_text(book: Rulebook, o: Transfer) -> str:
    mechanism = o.mechanism.value if o.mechanism else "no mechanism"
    adequate = " (adequate)" if o.adequate else ""
    return (f"{o.flow.id}: {o.exporter.name} → {o.importer.name} ({', '.join(o.destination_countries)}{adequate}), "
            f"{mechanism}")


def _where(inv: Any, entry_id: str) -> str:
    found = inv.location(entry_id)
    if not found:
        return ""
    file, line = found
    return f"{file}:{line}" if line else file


# --- the workbook -----------------------------------------------------------------------------


def tia_cells(a: Assessment) -> dict[str, list[list[str]]]:
    """The workbook's content, sheet by sheet, as plain strings (also the golden test's dump)."""
    t = a.transfer
    summary = [
        ["Transfer-impact assessment (draft)", ""],
        ["Flow", t.flow.id],
        ["Exporter → importer", f"{t.exporter.name} → {t.importer.name}"],
        ["Countries", ", ".join(a.countries)],
        ["Tool", t.mechanism.value if t.mechanism else ""],
        ["Drafted on", a.date.isoformat()],
        ["Re-evaluate by", a.reevaluate.isoformat()],
        ["Open questions", str(len(a.questions))],
        ["Gaps", str(len(a.gaps))],
        ["Method", "EDPB Recommendations 01/2020 (six steps), as laid out in the CNIL's TIA guide (2025 edition)"],
        ["Marked questions", "a line starting with '? to be answered by' is what the inventory cannot know"],
    ]
    sheets = {"Summary": summary}
    for step in a.steps:
        rows = [[f"Step {step.number}: {step.title} (EDPB Recommendations 01/2020)", "", "", ""],
                ["Item", "Content", "Status", "Source"]]
        rows += [[r.item, r.value, r.kind, r.source] for r in step.rows]
        sheets[SHEETS[step.number]] = rows
    return sheets


def write_tia_xlsx(a: Assessment, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from .excel import _cell, _Styles, save_workbook

    fills = {"gap": ("F8CBAD", "7F1D1D"), "question": ("FFE699", "5C4400"), "ok": ("E2EFDA", "375623"),
             "action": ("DDEBF7", "1F3864")}
    wb = Workbook(write_only=True)
    for name, rows in tia_cells(a).items():
        ws = wb.create_sheet(name)
        styles = _Styles(ws)
        widths = (38, 90, 12, 40) if name != "Summary" else (30, 90)
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = w
        if name != "Summary":
            ws.freeze_panes = "A3"
        for index, row in enumerate(rows):
            if index == 0:
                ws.append([_cell(ws, styles, row[0], bold=True, size=14, wrap=False)])
                continue
            if name != "Summary" and index == 1:
                ws.append([_cell(ws, styles, v, header=True) for v in row])
                continue
            status = row[2] if name != "Summary" else ""
            cells = []
            for j, v in enumerate(row):
                if j == 2 and status in fills:
                    fill, font = fills[status]
                    cells.append(_cell(ws, styles, v, fill=fill, color=font))
                else:
                    cells.append(_cell(ws, styles, v, bold=(j == 0)))
            ws.append(cells)
    save_workbook(wb, path, a.date, f"Transfer-impact assessment {a.transfer.flow.id}")


def write_tias(result: AuditResult, out_dir: Path, flows: list[str] | None = None) -> list[Path]:
    """One workbook per transfer needing a TIA (only those of `flows`, when given); returns the paths."""
    from flowaudit.inventory import FlowauditError

    transfers = needing_tia(result)
    if flows:
        known = set(result.inventory.flows)
        unknown = [f for f in flows if f not in known]
        if unknown:
            from flowaudit.inventory.validate import suggest

            raise FlowauditError("; ".join(f"no flow {f!r}{suggest(f, known)}" for f in unknown))
        wanted = set(flows)
        transfers = [t for t in transfers if t.flow.id in wanted]
        missing = sorted(wanted - {t.flow.id for t in transfers})
        if missing:
            raise FlowauditError(f"no transfer-impact assessment is needed for {', '.join(missing)}: not a restricted "
                                 "transfer on an Art. 46/47 tool to a non-adequate country under a regime that "
                                 "requires one (see TRF-004)")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for t in transfers:
        a = assess(result, t)
        path = out_dir / f"{a.name}.xlsx"
        write_tia_xlsx(a, path)
        written.append(path)
    return written
