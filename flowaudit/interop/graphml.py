"""`flowaudit export graphml`: the data-flow graph through networkx, for Gephi, yEd or a graph
database. Nodes are data subjects, systems and organisations; edges are flows (a multigraph:
two flows between the same nodes stay two edges, keyed by flow id). GraphML attributes are
scalars, so lists (elements, purposes, countries) are written joined with "; "."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flowaudit.audits import AuditResult


def _join(values: Any) -> str:
    return "; ".join(str(v) for v in values)


def graph(result: AuditResult) -> Any:
    import networkx as nx

    inv, view = result.inventory, result.view
    restricted: dict[str, list[str]] = {}
    for t in view.transfers():
        restricted.setdefault(t.flow.id, []).append(t.regime)
    failing = {f.subject_id for f in result.findings if f.subject_kind == "flow" and not f.waived}
    g = nx.MultiDiGraph(name=inv.controller.name)
    for s in sorted(inv.subjects.values(), key=lambda s: s.id):
        g.add_node(s.id, kind="subject", name=s.name, countries=_join(s.locations), children=s.children)
    for o in sorted(inv.organisations.values(), key=lambda o: o.id):
        g.add_node(o.id, kind="organisation", name=o.name, countries=o.country, relation=o.relation.value)
    for sy in sorted(inv.systems.values(), key=lambda s: s.id):
        g.add_node(sy.id, kind="system", name=sy.name, countries=_join(view.countries(sy.id)), operator=sy.operator,
                   elements=_join(sy.elements), security=_join(sy.security))
    for f in sorted(inv.flows.values(), key=lambda f: f.id):
        mechanism = f.transfer.mechanism if f.transfer else None
        if isinstance(mechanism, list):
            mechanism_text = _join(m.value for m in mechanism)
        else:
            mechanism_text = mechanism.value if mechanism is not None else ""
        g.add_edge(f.from_, f.to, key=f.id, id=f.id, elements=_join(f.elements), purposes=_join(f.purposes),
                   frequency=f.frequency.value, mechanism=mechanism_text,
                   restricted=f.id in restricted, regimes=_join(sorted(set(restricted.get(f.id, [])))),
                   findings=f.id in failing)
        g.nodes[f.from_].setdefault("kind", "unknown")
    return g


def write_graphml(result: AuditResult, path: Path) -> Path:
    import networkx as nx

    path.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph(result), path, encoding="utf-8", prettyprint=True)
    return path
