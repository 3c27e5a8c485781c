"""report.html: one self-contained file (inline CSS, JS and SVG; nothing fetched).

The summary, the country × safeguard grid, the controller's contacts and the lineage outline
are rendered by Jinja (autoescaped). The big tables (findings, transfers, the record, the
inventory, lineage flows, the exposure matrix) travel as one JSON document in a
`<script type="application/json">` block, strings interned in one table, and are rendered a
page at a time by the inline script with `textContent` only: usable at 100,000 flows.

Defence in depth against inventory strings running as script: Jinja autoescaping, JSON with
`<`, `>`, `&`, U+2028 and U+2029 escaped, DOM built from text nodes, and a Content Security
Policy that allows only the report's own script and style (by hash) and no network at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from flowaudit.audits.findings import SEVERITIES
from flowaudit.reports.meta import version

from .records import SAFEGUARD_TEXT, SAFEGUARDS, SEVERITY_NAMES, ReportData, country_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEVERITY_TEXT = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low", "info": "Info"}
SAFEGUARD_COLOURS = {
    "adequacy": "#15803d", "safeguard": "#4ade80", "derogation": "#f59e0b", "pipl": "#0d9488",
    "not-required": "#cbd5e1", "none": "#dc2626",
}


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `</script>`, no `<!--`, no line terminators that
    JavaScript would read as the end of a string."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


class Strings:
    """Interned strings: repeated names travel once; rows hold indexes."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.table: list[str] = []

    def __call__(self, value: Any) -> int:
        text = "" if value is None else str(value)
        found = self.index.get(text)
        if found is None:
            found = self.index[text] = len(self.table)
            self.table.append(text)
        return found

    def many(self, values: Iterable[Any]) -> list[int]:
        return [self(v) for v in values]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


FIX_FIRST_LIMIT = 12


def finding_anchor(f: Any) -> str:
    """A stable fragment for one finding (rule and subject id; ids are URL-safe by the format)."""
    return f"{f.rule}--{f.subject_id}"


def _fix_first(data: ReportData) -> tuple[list[dict[str, Any]], int]:
    """Unwaived critical and high findings, most severe first; within a severity the rules with
    the most findings first (one fix, e.g. signing SCCs with a vendor, often clears several)."""
    urgent = [f for f in data.result.findings if not f.waived and f.severity.value in ("critical", "high")]
    per_rule: dict[tuple[str, str], int] = {}
    for f in urgent:
        per_rule[(f.severity.value, f.rule)] = per_rule.get((f.severity.value, f.rule), 0) + 1
    urgent.sort(key=lambda f: (-f.severity.rank, -per_rule[(f.severity.value, f.rule)], f.rule, f.subject_id))
    return [{"severity": f.severity.value, "rule": f.rule, "title": f.title, "kind": f.subject_kind,
             "subject": f.subject_id, "name": _subject_name(data, f.subject_kind, f.subject_id),
             "message": f.message, "remediation": f.remediation, "legal": "; ".join(f.legal),
             "anchor": finding_anchor(f)} for f in urgent[:FIX_FIRST_LIMIT]], len(urgent)


def _subject_name(data: ReportData, kind: str, subject_id: str) -> str:
    inv = data.inventory
    tables: dict[str, dict[str, Any]] = {"organisation": inv.organisations, "subject": inv.subjects,
                                         "element": inv.elements, "purpose": inv.purposes, "system": inv.systems}
    table = tables.get(kind)
    entry = table.get(subject_id) if table is not None else None
    return getattr(entry, "name", "") or ""


def children_elements(data: ReportData) -> set[str]:
    """Elements whose data subjects include children (`children: true`)."""
    inv = data.inventory
    return {e for e, el in inv.elements.items()
            if any(s in inv.subjects and inv.subjects[s].children for s in el.subjects)}


def _direct_collections(data: ReportData) -> list[dict[str, str]]:
    """Collections from data subjects straight into a controller established outside the area
    of every regime that protects them: not a transfer (EDPB Guidelines 05/2021), so not listed
    among the transfers; shown so that an auditor sees why."""
    inv, view, rulebook, as_of = data.inventory, data.view, data.rulebook, data.as_of
    transferred = data.transfers_by_flow
    out = []
    for flow in sorted(inv.flows.values(), key=lambda f: f.id):
        if inv.kind_of(flow.from_) != "subject" or flow.id in transferred:
            continue
        op = view.operator(flow.to)
        if op is None or op.relation.value in ("processor", "sub-processor"):
            continue
        subject = inv.subjects[flow.from_]
        regimes = {r for loc in subject.locations for r in rulebook.regimes_of_location(loc, as_of)}
        if not regimes or any(op.country in rulebook.area(r, as_of) for r in regimes):
            continue
        out.append({"flow": flow.id, "subjects": subject.name, "to": view.name(flow.to), "controller": op.name,
                    "country": op.country})
    return out


def _payload(data: ReportData) -> dict[str, Any]:
    s = Strings()
    result = data.result
    findings = []
    # most severe first on the page (findings.json keeps rule-then-subject order)
    for f in sorted(result.findings, key=lambda f: (-f.severity.rank, f.rule, f.subject_id)):
        findings.append([
            s(f.rule), s(f.title), SEVERITY_NAMES.index(f.severity.value), s(f.subject_kind), s(f.subject_id),
            s(f.message), s("; ".join(f.legal)), s(f.remediation), 1 if f.waived else 0, s(data.waiver_text(f)),
            s(data.location_text(f)), s.many(data.finding_regimes(f)),
            s(_subject_name(data, f.subject_kind, f.subject_id)), s(finding_anchor(f)),
        ])
    transfers = []
    for r in data.transfer_rows:
        transfers.append([
            s(r["flow"]), s(r["from"]), s(r["to"]), s(r["exporter"]), s(r["importer"]), s.many(r["countries"]),
            s(r["regime"]), s.many(r["elements"]), s(r["mechanism"]), s(r["scc_module"]), s(r["scc"]),
            s(r["tia_date"]), s(r["tia_outcome"]), s.many(r["measures"]), s(r["hop"]), s.many(r["path"]),
            SAFEGUARDS.index(r["safeguard"]), s(r["safeguard_detail"]), ("finding", "waived", "ok").index(r["status"]),
            s(r["findings"]),
        ])

    def table(t: Any) -> dict[str, Any]:
        """Strings interned; a column whose every value is a number stays numeric."""
        numeric = [i for i in range(len(t.columns))
                   if t.rows and all(isinstance(row[i], int) and not isinstance(row[i], bool) for row in t.rows)]
        keep = set(numeric)
        return {"columns": list(t.columns), "numeric": numeric,
                "rows": [[v if i in keep else s(v) for i, v in enumerate(row)] for row in t.rows]}

    # lineage: nodes and flows once, per element the flows in lineage order
    view = data.view
    inv = data.inventory
    node_index: dict[str, int] = {}
    nodes: list[list[int]] = []

    def node(n: str) -> int:
        found = node_index.get(n)
        if found is None:
            op = view.operator(n)
            kind = inv.kind_of(n) or ""
            where = ", ".join(view.countries(n))
            holder = f"{op.name} ({op.relation.value})" if op is not None else "data subjects"
            found = node_index[n] = len(nodes)
            nodes.append([s(view.name(n)), s(n), s(kind), s(where), s(holder)])
        return found

    flow_index: dict[str, int] = {}
    flows: list[list[Any]] = []
    for element in sorted(data.lineage_orders):
        for flow in data.lineage_orders[element]:
            if flow.id in flow_index:
                continue
            flow_index[flow.id] = len(flows)
            texts = [f"{data.regime_name(t.regime)} → {', '.join(t.destination_countries)}: {data.safeguard_detail(t)}"
                     + ("" if t.first_hop else " (onward)") for t in data.transfers_by_flow.get(flow.id, ())]
            flows.append([s(flow.id), node(flow.from_), node(flow.to),
                          ("finding", "waived", "ok").index(data.flow_status(flow.id)), s.many(texts),
                          s.many(flow.purposes)])
    lineage = []
    reach = view.reach
    for element in sorted(inv.elements):
        reached = reach.get(element)
        lineage.append({
            "flows": [flow_index[f.id] for f in data.lineage_orders.get(element, [])],
            "stored": [node(x) for x in data.systems_by_element.get(element, [])],
            "orgs": s.many(f"{inv.organisations[o].name} ({inv.organisations[o].relation.value}, "
                           f"{inv.organisations[o].country})" for o in sorted(reached.organisations))
            if reached else [],
            "countries": s.many(f"{c} {country_name(c)}" for c in sorted(reached.countries)) if reached else [],
            "subjects": s.many(f"{inv.subjects[x].name} ({', '.join(inv.subjects[x].locations)})"
                               for x in inv.elements[element].subjects if x in inv.subjects),
        })
    exposure = data.exposure
    children = children_elements(data)
    payload = {
        "findings": findings,
        "transfers": transfers,
        "controller": table(data.controller_record),
        "record_names": [[inv.purposes[row[-1]].name, inv.purposes[row[-1]].description or ""]
                         for row in data.controller_record.rows],
        "processor": table(data.processor_record),
        "elements": table(data.element_table),
        "systems": table(data.system_table),
        "recipients": table(data.recipient_table),
        "lineage": {"nodes": nodes, "flows": flows, "elements": lineage},
        "exposure": {"orgs": [[s(o["name"]), s(o["relation"]), s(o["country"]), s(o["id"])]
                              for o in exposure["organisations"]],
                     "rows": [[s(r["element"]), s(r["name"]), s(r["category"]), r["values"],
                               1 if r["element"] in children else 0] for r in exposure["rows"]]},
        "regimes": {r: data.regime_name(r) for r in data.rulebook.regime_ids},
        "severities": list(SEVERITY_NAMES),
        "safeguards": [[k, SAFEGUARD_TEXT[k]] for k in SAFEGUARDS],
    }
    payload["strings"] = s.table
    return payload


def _bars(counts: list[int], width: float = 180.0) -> list[dict[str, Any]]:
    """Stacked-bar segments (x, width, colour, title) for one country's transfers by safeguard."""
    total = sum(counts) or 1
    x = 0.0
    out = []
    for kind, n in zip(SAFEGUARDS, counts, strict=True):
        if not n:
            continue
        w = width * n / total
        out.append({"x": round(x, 2), "w": round(max(w, 0.5), 2), "colour": SAFEGUARD_COLOURS[kind],
                    "title": f"{SAFEGUARD_TEXT[kind]}: {n}"})
        x += w
    return out


def render_html(data: ReportData, diagram_svg: str | None, diagram_note: str | None = None) -> str:
    env = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    result = data.result
    inv = data.inventory
    summary = result.summary()
    waived_by_severity = {s.value: 0 for s in SEVERITIES}
    for f in result.findings:
        if f.waived:
            waived_by_severity[f.severity.value] += 1
    families = data.family_counts
    family_max = max((n for _, _, n in families), default=0) or 1
    countries = data.countries
    scale = max((c["total"] for c in countries), default=1)
    for c in countries:
        c["bars"] = _bars(c["safeguards"], 180.0 * math.sqrt(c["total"] / scale) if scale else 180.0)
    lineage = []
    reach = data.view.reach
    for e in sorted(inv.elements):
        el = inv.elements[e]
        r = reach.get(e)
        flows = data.flows_by_element.get(e, [])
        lineage.append({
            "id": e, "name": el.name, "category": el.category.value, "special": el.special or el.criminal,
            "flows": len(flows), "transfers": sum(1 for f in flows if f.id in data.transfers_by_flow),
            "orgs": len(r.organisations) if r else 0, "countries": len(r.countries) if r else 0,
            "findings": sum(1 for f in flows if data.flow_status(f.id) == "finding"),
        })
    fix_first, fix_total = _fix_first(data)
    from .assess_html import assessment_context

    context = {
        "assessments": assessment_context(data),  # DPIA screening and TIAs (templates/assessments.html.j2)
        "fix_first": fix_first,
        "fix_total": fix_total,
        "direct_collections": _direct_collections(data),
        "title": f"Record of processing and transfer audit: {data.controller.name}",
        "controller": data.controller,
        "as_of": data.as_of.isoformat(),
        "label": data.label,
        "version": version(),
        "counts": {"organisations": len(inv.organisations), "subjects": len(inv.subjects),
                   "elements": len(inv.elements), "purposes": len(inv.purposes), "systems": len(inv.systems),
                   "flows": len(inv.flows), "transfers": len(data.transfers)},
        "severities": [{"key": k, "text": SEVERITY_TEXT[k], "count": summary[k], "waived": waived_by_severity[k]}
                       for k in SEVERITY_NAMES],
        "total_findings": len(result.findings),
        "waived": result.waived_count,
        "unused_waivers": result.unused_waivers,
        "families": [{"key": k, "title": t, "count": n, "w": round(200 * n / family_max, 1)} for k, t, n in families],
        "regimes": data.regime_summary,
        "safeguards": [{"key": k, "text": SAFEGUARD_TEXT[k], "count": data.transfer_summary[k],
                        "colour": SAFEGUARD_COLOURS[k]} for k in SAFEGUARDS],
        "transfer_findings": sum(1 for r in data.transfer_rows if r["status"] == "finding"),
        "countries": countries,
        "safeguard_keys": SAFEGUARDS,
        "safeguard_text": SAFEGUARD_TEXT,
        "safeguard_colours": SAFEGUARD_COLOURS,
        "block": data.controller_block,
        "processor_rows": len(data.processor_record.rows),
        "diagram": diagram_svg,
        "diagram_note": diagram_note,
        "lineage": lineage,
        "css": css,
        "js": js,
        "csp": f"default-src 'none'; script-src {csp_hash(js)}; style-src {csp_hash(css)}; img-src data:; "
               "base-uri 'none'; form-action 'none'",
        "data_json": script_json(_payload(data)),
    }
    return env.get_template("report.html.j2").render(context)
