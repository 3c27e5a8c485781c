"""The data-flow diagram (graphviz): holders grouped by country, data subjects apart, each
flow coloured by what the audit says about it, with a legend drawn in the diagram itself.

- grey: an ordinary flow; green: a restricted transfer with nothing found; blue, dashed: every
  finding on the flow is waived; otherwise the colour of the worst unwaived finding that names
  the flow (dark red critical, red high, amber medium, teal low or info).
- A safeguard is written once per pair of country clusters (the others say it in their
  tooltip), so edge labels do not pile up; node names wrap rather than being cut.
- Large inventories are drawn at a coarser level so that `dot` finishes in seconds: systems
  folded into their operator above `MAX_NODES` nodes, then organisations folded into their
  country (grouped by regime area).
- `element=E` draws the flows that carry E only (its lineage).

Every label is escaped for DOT (backslashes, quotes) and marked as not-HTML, so no inventory
string changes the graph's structure; graphviz escapes it again in the SVG it writes.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field

import graphviz

from flowaudit.audits import AuditResult
from flowaudit.inventory import FlowauditError
from flowaudit.inventory.models import Flow
from flowaudit.inventory.validate import suggest

from .records import ReportData, country_name

MAX_NODES = 300  # above this, or MAX_EDGES, the drawing folds nodes together (dot is superlinear)
MAX_EDGES = 400
MAX_FOLDED_EDGES = 300  # an aggregated drawing with more edges than this is a hairball: fold further
REGION_NODE = "region."  # + a regime id: the countries of a regime's area, folded into one node
SUBJECTS_NODE = "subjects.ALL"  # at country and region level every category of data subjects is one node
NO_DOT = ("graphviz's dot program is not installed: apt-get install graphviz (Debian/Ubuntu), "
          "brew install graphviz (macOS)")

FILL = {
    "self": ("#dbeafe", "#1d4ed8"),
    "affiliate": ("#e0e7ff", "#4338ca"),
    "processor": ("#f1f5f9", "#475569"),
    "sub-processor": ("#f1f5f9", "#475569"),
    "joint-controller": ("#ede9fe", "#6d28d9"),
    "partner": ("#fef3c7", "#b45309"),
    "third-party": ("#fde68a", "#b45309"),
    "authority": ("#fee2e2", "#b91c1c"),
}
EDGE = {  # status: (colour, pen width, style)
    "critical": ("#7f1d1d", "2.4", "solid"),
    "high": ("#dc2626", "1.9", "solid"),
    "medium": ("#d97706", "1.6", "solid"),
    "low": ("#0891b2", "1.4", "solid"),
    "waived": ("#2563eb", "1.4", "dashed"),
    "transfer": ("#16a34a", "1.4", "solid"),
    "plain": ("#9ca3af", "1.0", "solid"),
}
_RANK = {"plain": 0, "transfer": 1, "waived": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}
FINDING_STATUSES = ("critical", "high", "medium", "low")
LEGEND_EDGES = (
    ("critical", "worst finding critical"), ("high", "worst finding high"), ("medium", "worst finding medium"),
    ("low", "worst finding low or info"), ("waived", "findings all waived"),
    ("transfer", "restricted transfer, nothing found"), ("plain", "flow, nothing found"),
)
NAME_WIDTH = 26  # characters per line of a node's name before it wraps
NAME_LINES = 3
COUNTRY_NODE = "country."  # + an upper-case code: never an inventory id (lower case), never a DOT port
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # C0, DEL, C1 (U+0085 NEL), line/paragraph separators


def dot_text(value: str, limit: int = 48) -> str:
    """A label part, literal in DOT: control characters folded, shortened, backslashes doubled
    (`graphviz.escape`); quotes are escaped when the attribute is quoted."""
    value = _CONTROL.sub(" ", value).strip()
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value.replace("\\", "\\\\")


def wrapped(value: str, width: int = NAME_WIDTH, lines: int = NAME_LINES) -> list[str]:
    """A name over up to `lines` lines of about `width` characters, cut only beyond that."""
    import textwrap

    value = _CONTROL.sub(" ", value).strip()
    parts = textwrap.wrap(value, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return [dot_text(p, width + 2) for p in parts]


def label(*lines: str) -> str:
    """Lines joined with DOT's centred line break, never read as an HTML-like label."""
    return graphviz.nohtml("\\n".join(lines))


@dataclass
class _Node:
    key: str
    lines: list[str]
    cluster: str  # cluster key; "" for none
    shape: str
    fill: str
    border: str
    tooltip: str


@dataclass
class _Edge:
    flows: list[Flow] = field(default_factory=list)
    status: str = "plain"
    mechanisms: set[str] = field(default_factory=set)
    findings: int = 0


def dot_available() -> bool:
    return shutil.which("dot") is not None


class Diagram:
    """Builds the DOT source for the whole inventory or one element's flows."""

    def __init__(self, data: ReportData):
        self.data = data
        self.view = data.view
        self.inv = data.inventory

    # --- what a node is, at each level ---------------------------------------------------

    def _key(self, node: str, level: str) -> str:
        inv = self.inv
        if node in inv.subjects:
            return SUBJECTS_NODE if level in ("country", "region") else node
        if level == "full":
            return node
        system = inv.systems.get(node)
        org_id = system.operator if system is not None else node
        if level == "organisation":
            return org_id
        country = self._country(node)
        if level == "region":
            region = self._region(country)
            if region != "other":
                return REGION_NODE + region
        return COUNTRY_NODE + country

    def _country(self, node: str) -> str:
        system = self.inv.systems.get(node)
        if system is not None and system.locations:
            return system.locations[0]
        org = self.view.operator(node)
        return org.country if org is not None else "??"

    def _region(self, country: str) -> str:
        """A country's regime area, for the country-level drawing."""
        for regime in self.data.rulebook.regime_ids:
            if country in self.data.rulebook.area(regime, self.data.as_of):
                return regime
        return "other"

    def _node(self, key: str, level: str, counts: dict[str, int]) -> _Node:
        inv = self.inv
        if key == SUBJECTS_NODE:
            n = len(inv.subjects)
            return _Node(key, ["Data subjects", f"{n} categor{'ies' if n != 1 else 'y'}"], "subjects", "oval",
                         "#ecfdf5", "#047857", "all categories of data subjects")
        if key in inv.subjects:
            s = inv.subjects[key]
            return _Node(key, [*wrapped(s.name), dot_text(", ".join(s.locations) or "location unknown")],
                         "subjects", "oval", "#ecfdf5", "#047857", dot_text(f"data subjects: {s.name} ({key})", 200))
        if key.startswith(REGION_NODE):
            regime = key[len(REGION_NODE):]
            area = sorted(self.data.rulebook.area(regime, self.data.as_of))
            n = counts.get(key, 0)
            where = f"{area[0]} · {country_name(area[0])}" if len(area) == 1 else f"{len(area)} countries"
            return _Node(key, [dot_text(f"{self.data.regime_name(regime)} area"), dot_text(where),
                               f"{n} holder{'s' if n != 1 else ''}"], "", "box", "#eff6ff", "#1d4ed8",
                         dot_text(f"{self.data.regime_name(regime)}: {', '.join(area)}", 400))
        if key.startswith(COUNTRY_NODE):
            code = key[len(COUNTRY_NODE):]
            region = self._region(code)
            n = counts.get(key, 0)
            cluster = "region:" + region if level == "country" else ("region:other" if region == "other" else "")
            return _Node(key, [dot_text(f"{code} · {country_name(code)}"), f"{n} holder{'s' if n != 1 else ''}"],
                         cluster, "box", "#f8fafc", "#334155", dot_text(country_name(code), 200))
        system = inv.systems.get(key)
        if system is not None:
            org = inv.organisations[system.operator]
            fill, border = FILL[org.relation.value]
            where = ", ".join(system.locations) or org.country
            return _Node(key, [*wrapped(system.name), *wrapped(f"{org.name} · {where}", 34, 2)],
                         "country:" + self._country(key), "cylinder", fill, border,
                         dot_text(f"system {key} operated by {org.name} ({org.relation.value})", 300))
        org = inv.organisations[key]
        fill, border = FILL[org.relation.value]
        lines = [*wrapped(org.name), dot_text(f"{org.relation.value} · {org.country}")]
        if level == "organisation" and counts.get(key):
            lines.append(f"{counts[key]} system{'s' if counts[key] != 1 else ''}")
        return _Node(key, lines, "country:" + org.country, "box3d" if level == "full" else "box", fill, border,
                     dot_text(f"organisation {key}: {org.name} ({org.relation.value}, {org.country})", 300))

    def _flow_status(self, flow: Flow) -> str:
        """The worst unwaived finding's severity (info counts as low), else waived, transfer or plain."""
        found = self.data.findings_by_subject.get(flow.id, ())
        unwaived = [f.severity.value for f in found if not f.waived]
        if unwaived:
            worst = max(unwaived, key=lambda v: _RANK.get(v, _RANK["low"]))
            return worst if worst in FINDING_STATUSES else "low"
        if found:
            return "waived"
        return "transfer" if flow.id in self.data.transfers_by_flow else "plain"

    # --- building --------------------------------------------------------------------------

    def build(self, element: str | None = None) -> graphviz.Digraph:
        inv = self.inv
        if element is not None:
            if element not in inv.elements:
                raise FlowauditError(f"unknown element {element!r}{suggest(element, inv.elements)}")
            flows = self.data.lineage_orders.get(element, [])
            nodes = {n for f in flows for n in (f.from_, f.to)}
            nodes.update(self.data.systems_by_element.get(element, ()))
        else:
            flows = list(inv.flows.values())
            nodes = set(inv.subjects) | set(inv.systems) | {n for f in flows for n in (f.from_, f.to)}
        level = "region"
        for candidate in ("full", "organisation", "country"):
            keys = {self._key(n, candidate) for n in nodes}
            pairs = {(a, b) for a, b in ((self._key(f.from_, candidate), self._key(f.to, candidate)) for f in flows)
                     if a != b}
            if len(keys) <= MAX_NODES and len(pairs) <= (MAX_EDGES if candidate == "full" else MAX_FOLDED_EDGES):
                level = candidate
                break
        return self._graph(flows, nodes, level, element)

    def _graph(self, flows: list[Flow], nodes: set[str], level: str, element: str | None) -> graphviz.Digraph:
        inv = self.inv
        counts: dict[str, int] = defaultdict(int)  # systems per organisation, holders per country
        keys: set[str] = set()
        for n in nodes:
            k = self._key(n, level)
            keys.add(k)
            if level == "organisation" and n in inv.systems:
                counts[k] += 1
            if level in ("country", "region") and n not in inv.subjects:
                counts[k] += 1
        edges: dict[tuple[str, str], _Edge] = defaultdict(_Edge)
        for f in flows:
            a, b = self._key(f.from_, level), self._key(f.to, level)
            if a == b and level != "full":
                continue  # within one organisation or country
            edge = edges[(a, b)]
            edge.flows.append(f)
            status = self._flow_status(f)
            if _RANK[status] > _RANK[edge.status]:
                edge.status = status
            if status in FINDING_STATUSES:
                edge.findings += 1
            for t in self.data.transfers_by_flow.get(f.id, ()):
                if t.mechanism:
                    edge.mechanisms.add(t.mechanism.value)
                else:
                    edge.mechanisms.add("adequacy" if t.adequate else "no safeguard")

        me = self.data.controller
        title = (f"Flows of {element!r} ({inv.elements[element].name})" if element else "Data flows") + \
            f" · {me.name} · as of {self.data.as_of}"
        if level != "full":
            title += f" · aggregated by {level} ({len(inv.systems)} systems, {len(flows)} flows)"
        g = graphviz.Digraph("flowaudit", strict=False)
        g.attr(rankdir="LR", fontname="Helvetica", fontsize="11", labelloc="t", label=label(dot_text(title, 160)),
               nodesep="0.25", ranksep="0.9", newrank="true", tooltip=" ", bgcolor="white")
        g.attr("node", fontname="Helvetica", fontsize="10", style="filled", penwidth="1.2", margin="0.12,0.06")
        g.attr("edge", fontname="Helvetica", fontsize="8", arrowsize="0.7")

        built = {k: self._node(k, level, counts) for k in keys}
        clusters: dict[str, list[_Node]] = defaultdict(list)
        for node in built.values():
            clusters[node.cluster].append(node)
        for cluster in sorted(clusters, key=lambda c: (c != "subjects", c)):
            members = sorted(clusters[cluster], key=lambda n: n.key)
            if not cluster:
                for node in members:
                    self._add_node(g, node)
                continue
            with g.subgraph(name="cluster_" + re.sub(r"[^a-zA-Z0-9_]", "_", cluster)) as sub:
                sub.attr(label=label(self._cluster_label(cluster)), style="rounded,filled",
                         color="#cbd5e1", fillcolor="#f8fafc" if cluster != "subjects" else "#f0fdf4",
                         fontsize="11", fontname="Helvetica-Bold", labeljust="l", tooltip=" ")
                for node in members:
                    self._add_node(sub, node)
        # the safeguards between two clusters, written once on the first edge between them
        between: dict[tuple[str, str], set[str]] = defaultdict(set)
        for (a, b), edge in edges.items():
            between[(built[a].cluster, built[b].cluster)].update(edge.mechanisms)
        labelled: set[tuple[str, str]] = set()
        for (a, b) in sorted(edges):
            edge = edges[(a, b)]
            colour, width, style = EDGE[edge.status]
            attrs: dict[str, str] = {"color": colour, "penwidth": width, "fontcolor": colour}
            if style != "solid":
                attrs["style"] = style
            if level == "full" and len(edge.flows) == 1:
                f = edge.flows[0]
                names = [inv.elements[e].name for e in f.elements[:8]]
                more = f" and {len(f.elements) - 8} more" if len(f.elements) > 8 else ""
                safeguard = f" ({', '.join(sorted(edge.mechanisms))})" if edge.mechanisms else ""
                attrs["tooltip"] = dot_text(f"flow {f.id}{safeguard}: {', '.join(names)}{more}", 400)
                pair = (built[a].cluster, built[b].cluster)
                if edge.mechanisms and pair not in labelled:
                    labelled.add(pair)
                    attrs["label"] = label(dot_text(", ".join(sorted(between[pair])), 40))
                    attrs["fontcolor"] = "#374151"
            else:
                count = len(edge.flows)
                text = f"{count} flow{'s' if count != 1 else ''}"
                if edge.findings:
                    text += f", {edge.findings} with findings"
                if level == "full":
                    attrs["label"] = label(text)
                else:  # no edge labels when folded: they make dot slow; the width and tooltip say it
                    attrs["penwidth"] = f"{min(6.0, float(width) + math.log10(count)):.2f}"
                ids = ", ".join(f.id for f in edge.flows[:5]) + (" …" if count > 5 else "")
                attrs["tooltip"] = dot_text(f"{text}: {ids}", 400)
            g.edge(a, b, **attrs)
        self._legend(g, level)
        return g

    @staticmethod
    def _legend(g: graphviz.Digraph, level: str) -> None:
        """Node shapes and edge colours, as a table in one node (fixed text only, so an
        HTML-like label is safe here; inventory strings never use one)."""
        shapes = ([("oval", "data subjects"), ("cylinder", "system"), ("box3d", "organisation (no modelled system)")]
                  if level == "full" else [("oval", "data subjects"), ("box", {"organisation": "organisation",
                                                                               "country": "country",
                                                                               "region": "regime area or country"
                                                                               }.get(level, level))])
        rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Colours</B></TD></TR>']
        for relation, (fill, border) in FILL.items():
            if relation == "sub-processor":
                continue
            name = "processor or sub-processor" if relation == "processor" else relation
            rows.append(f'<TR><TD BGCOLOR="{fill}" COLOR="{border}" BORDER="1"> </TD>'
                        f'<TD ALIGN="LEFT">{name}</TD></TR>')
        for status, text in LEGEND_EDGES:
            colour, _, style = EDGE[status]
            line = "&#x2505;&#x2505;&#x2505;" if style == "dashed" else "&#x2501;&#x2501;&#x2501;"
            rows.append(f'<TR><TD><FONT COLOR="{colour}">{line}</FONT></TD><TD ALIGN="LEFT">{text}</TD></TR>')
        table = ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="2" BGCOLOR="#ffffff">'
                 + "".join(rows) + "</TABLE>>")
        with g.subgraph(name="cluster_legend") as sub:
            sub.attr(label="Legend", style="rounded", color="#cbd5e1", tooltip="legend", fontsize="10",
                     fontname="Helvetica-Bold", labeljust="l")
            for i, (shape, text) in enumerate(shapes):  # the shapes drawn as they appear
                sub.node(f"legend.SHAPE{i}", label=text, shape=shape, fillcolor="#ffffff", color="#475569",
                         fontsize="9", tooltip="legend")
            sub.node("legend.KEY", label=table, shape="plaintext", style="", fontsize="9", tooltip="legend")

    def _cluster_label(self, cluster: str) -> str:
        if cluster == "subjects":
            return "Data subjects"
        kind, _, code = cluster.partition(":")
        if kind == "country":
            return dot_text(f"{code} · {country_name(code)}")
        if code == "other":
            return "Third countries"
        return dot_text(f"{self.data.regime_name(code)} area")

    @staticmethod
    def _add_node(g: graphviz.Digraph, node: _Node) -> None:
        g.node(node.key, label=label(*node.lines), shape=node.shape, fillcolor=node.fill, color=node.border,
               tooltip=node.tooltip)


def render_source(source: str, fmt: str) -> bytes:
    """DOT source to bytes in `fmt` (svg, png or dot); FlowauditError when dot is missing or fails."""
    if fmt == "dot":
        return source.encode("utf-8")
    if not dot_available():
        raise FlowauditError(NO_DOT)
    try:
        return graphviz.pipe("dot", fmt, source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound as exc:
        raise FlowauditError(NO_DOT) from exc
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise FlowauditError(f"graphviz's dot failed: {detail[-1] if detail else exc}") from exc


def render_graph(result: AuditResult | ReportData, element: str | None = None, fmt: str = "svg") -> bytes:
    """The diagram as SVG, PNG or DOT source (bytes)."""
    if fmt not in ("svg", "png", "dot"):
        raise FlowauditError(f"unknown diagram format {fmt!r}; expected svg, png or dot")
    data = result if isinstance(result, ReportData) else ReportData(result)
    source = Diagram(data).build(element).source
    return render_source(source, fmt)


def placeholder_svg(message: str) -> bytes:
    """A small SVG that says why there is no diagram (dot missing)."""
    from xml.sax.saxutils import escape

    lines = [escape(part) for part in message.split(": ", 1)]
    text = "".join(f'<text x="16" y="{32 + 22 * i}" font-family="sans-serif" font-size="14" fill="#374151">{line}'
                   "</text>" for i, line in enumerate(lines))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{48 + 22 * len(lines)}" '
            f'viewBox="0 0 760 {48 + 22 * len(lines)}"><rect width="100%" height="100%" fill="#f9fafb" '
            f'stroke="#d1d5db"/>{text}</svg>\n').encode()


def strip_prolog(svg: str) -> str:
    """The <svg> element alone, for inlining in HTML: no XML declaration, doctype or comments."""
    start = svg.find("<svg")
    return re.sub(r"<!--.*?-->", "", svg[start:] if start >= 0 else svg, flags=re.DOTALL).strip()

