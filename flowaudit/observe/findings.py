"""From aggregated traffic to OBS-001..004 findings (SPEC §10). The aggregates are small (one
row per pair of nodes, per system with unknown hosts, per node and country), so the decisions
are plain Python over them; the rules' metadata is the catalogue's."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowaudit.audits import Config, Finding, Severity
from flowaudit.audits.catalogue import BY_ID
from flowaudit.inventory.models import Flow, iso_countries
from flowaudit.inventory.validate import Inventory

from .aggregates import Aggregates, Usage, iso

DETAILS_MAX = 20  # SPEC §5: longer lists are cut, with their full count beside


@dataclass(frozen=True)
class Window:
    since_us: int | None
    until_us: int | None  # exclusive

    def as_details(self, agg: Aggregates) -> dict[str, Any]:
        return {"from": iso(self.since_us if self.since_us is not None else agg.first_us),
                "to": iso(self.until_us if self.until_us is not None else agg.last_us)}


def _cut(items: list[Any]) -> dict[str, Any]:
    return {"items": items[:DETAILS_MAX], "total": len(items)} if len(items) > DETAILS_MAX else {"items": items}


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def _usage_text(u: Usage) -> str:
    first, last = (iso(u.first_us) or "")[:10], (iso(u.last_us) or "")[:10]
    span = first if first == last else f"{first} to {last}"
    return f"{u.count:,} connections, {_human_bytes(u.bytes)}, {span}"


def _total(usages: Iterable[Usage]) -> Usage:
    items = list(usages)
    return Usage(sum(u.count for u in items), sum(u.bytes for u in items),
                 min(u.first_us for u in items), max(u.last_us for u in items))


class _Nodes:
    """What `observe` needs to know about systems and organisations."""

    def __init__(self, inventory: Inventory):
        self.inv = inventory
        self.operator = {s.id: s.operator for s in inventory.systems.values()}
        self.systems_of: dict[str, list[str]] = {}
        for s in inventory.systems.values():
            self.systems_of.setdefault(s.operator, []).append(s.id)

    def kind(self, node: str) -> str:
        return "system" if node in self.inv.systems else "organisation"

    def tokens(self, node: str) -> list[tuple[str, str]]:
        """How a node can match a flow's end: itself; as the operator of a system at that end
        ('up'); as a system of the organisation at that end ('down')."""
        out = [("eq", node)]
        if node in self.operator:
            out.append(("down", self.operator[node]))
        else:
            out.append(("up", node))
        return out

    def flow_tokens(self, end: str) -> list[tuple[str, str]]:
        out = [("eq", end)]
        if end in self.operator:
            out.append(("up", self.operator[end]))
        elif end in self.inv.organisations:
            out.append(("down", end))
        return out

    def mapped_as(self, end: str, has_endpoints: set[str]) -> str | None:
        """The node traffic of a flow's end would map to, or None when it cannot be observed."""
        if end in has_endpoints:
            return end
        if end in self.operator:
            return self.operator[end] if self.operator[end] in has_endpoints else None
        if end in self.inv.organisations and any(s in has_endpoints for s in self.systems_of.get(end, ())):
            return end
        return None

    def declared_countries(self, node: str) -> set[str]:
        inv = self.inv
        if node in inv.systems:
            system = inv.systems[node]
            return set(system.locations) or {inv.organisations[system.operator].country}
        org = inv.organisations[node]
        countries = {org.country}
        for sid in self.systems_of.get(node, ()):
            countries |= set(inv.systems[sid].locations)
        return countries

    def related(self, a: str, b: str) -> bool:
        """A system and its own operator organisation: not two parties."""
        return self.operator.get(a) == b or self.operator.get(b) == a


def observed_findings(inventory: Inventory, agg: Aggregates, window: Window, config: Config) -> list[Finding]:
    nodes = _Nodes(inventory)
    has_endpoints = {s.id for s in inventory.systems.values() if s.endpoints}
    has_endpoints |= {o.id for o in inventory.organisations.values() if o.endpoints}
    index: dict[tuple[tuple[str, str], tuple[str, str]], list[Flow]] = {}
    for flow in inventory.flows.values():
        if flow.from_ in inventory.subjects or flow.to in inventory.subjects:
            continue
        for a, b in ((flow.from_, flow.to), (flow.to, flow.from_)):
            for ta in nodes.flow_tokens(a):
                for tb in nodes.flow_tokens(b):
                    index.setdefault((ta, tb), []).append(flow)

    findings: list[Finding] = []
    seen_flows: set[str] = set()
    undeclared: dict[str, list[tuple[str, Any]]] = {}
    for pair in agg.pairs:
        covering = {f.id for ts in nodes.tokens(pair.source) for td in nodes.tokens(pair.destination)
                    for f in index.get((ts, td), ())}
        seen_flows |= covering
        if not covering and not nodes.related(pair.source, pair.destination):
            undeclared.setdefault(pair.source, []).append((pair.destination, pair))

    def make(rule_id: str, kind: str, subject: str, message: str, **details: Any) -> None:
        rule = BY_ID[rule_id]
        if rule_id in config.skip or rule.family in config.skip:
            return
        severity: Severity = config.severity.get(rule_id, rule.severity)
        findings.append(Finding(rule_id, rule.title, severity, kind, subject, message, rule.legal,
                                rule.remediation, details))

    for source, items in undeclared.items():
        items.sort(key=lambda item: (-item[1].usage.bytes, -item[1].usage.count, item[0]))
        total = _total(p.usage for _, p in items)
        names = ", ".join(f"{nodes.kind(d)} {d!r}" for d, _ in items[:3]) + (
            f" and {len(items) - 3} more" if len(items) > 3 else "")
        destinations = [{"node": d, "kind": nodes.kind(d), **p.usage.as_details(), "hosts": list(p.hosts),
                         **({"elements": list(p.elements)} if p.elements else {})} for d, p in items]
        make("OBS-001", nodes.kind(source), source,
             f"traffic from {nodes.kind(source)} {source!r} to {names} with no declared flow ({_usage_text(total)})",
             **total.as_details(), destinations=_cut(destinations))

    for unknown in agg.unknown:
        if unknown.source not in inventory.systems:
            continue
        top = ", ".join(h.host for h in unknown.top[:3])
        make("OBS-002", "system", unknown.source,
             f"traffic to {unknown.hosts_total:,} host{'s' if unknown.hosts_total != 1 else ''} that no endpoint "
             f"maps, top by volume: {top} ({_usage_text(unknown.usage)})",
             **unknown.usage.as_details(), hosts_total=unknown.hosts_total,
             hosts=[{"host": h.host, **h.usage.as_details()} for h in unknown.top])

    span = window.as_details(agg)
    for flow in sorted(inventory.flows.values(), key=lambda f: f.id):
        if flow.id in seen_flows or flow.from_ in inventory.subjects or flow.to in inventory.subjects:
            continue
        sender, receiver = nodes.mapped_as(flow.from_, has_endpoints), nodes.mapped_as(flow.to, has_endpoints)
        if sender is None or receiver is None or sender == receiver:
            continue
        make("OBS-003", "flow", flow.id,
             f"declared flow {flow.from_} → {flow.to} shows no traffic between {span['from'] or '?'} and "
             f"{span['to'] or '?'}", window=span, observed_as=[sender, receiver])

    codes = iso_countries()
    wrong: dict[str, list[Any]] = {}
    for row in agg.countries:
        if row.country in codes and row.country not in nodes.declared_countries(row.destination):
            wrong.setdefault(row.destination, []).append(row)
    for node, rows in wrong.items():
        rows.sort(key=lambda r: (-r.usage.bytes, -r.usage.count, r.country))
        declared = sorted(nodes.declared_countries(node))
        shown = ", ".join(r.country for r in rows)
        make("OBS-004", nodes.kind(node), node,
             f"traffic to {nodes.kind(node)} {node!r} answers from {shown}, which the inventory does not declare "
             f"(declared: {', '.join(declared)}; {_usage_text(_total(r.usage for r in rows))})",
             declared=declared,
             countries=[{"country": r.country, **r.usage.as_details(), "hosts": list(r.hosts)} for r in rows])
    for f in findings:
        f.location = inventory.location(f.subject_id)
    return sorted(findings, key=lambda f: f.sort_key)
