"""The data-flow diagram: DOT that hostile labels cannot break, deterministic output, folding
of large inventories, one element's lineage, and the fallback when graphviz's dot is missing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import AS_OF, UPDATE_GOLDEN, require_program
from flowaudit.inventory import FlowauditError
from flowaudit.reports import diagram, write_report
from flowaudit.reports.diagram import NO_DOT, render_graph

from flowaudit.api import audit
from flowaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "examples" / "support-community"
INJECTION = ROOT / "tests" / "fixtures" / "reports" / "injection"
GOLDEN = ROOT / "tests" / "fixtures" / "reports" / "injection.dot"


@pytest.fixture(scope="module")
def hostile():  # type: ignore[no-untyped-def]
    return audit(INJECTION, AS_OF)


@pytest.fixture(scope="module")
def example():  # type: ignore[no-untyped-def]
    return audit(EXAMPLE, AS_OF)


def _dot_nodes_edges(svg: str) -> tuple[int, int]:
    return len(re.findall(r'<g id="node\d+" class="node"', svg)), len(re.findall(r'<g id="edge\d+" class="edge"', svg))


def test_dot_golden(hostile) -> None:  # type: ignore[no-untyped-def]
    """The DOT of the hostile fixture, byte for byte (regenerate: FLOWAUDIT_UPDATE_GOLDEN=1 pytest)."""
    dot = render_graph(hostile, fmt="dot").decode("utf-8")
    if UPDATE_GOLDEN:
        GOLDEN.write_text(dot, encoding="utf-8")
    assert dot == GOLDEN.read_text(encoding="utf-8")
    assert render_graph(hostile, fmt="dot") == render_graph(hostile, fmt="dot")


def test_hostile_labels_keep_the_graph_whole(hostile) -> None:  # type: ignore[no-untyped-def]
    require_program("dot", "graphviz draws the diagram")
    dot = render_graph(hostile, fmt="dot")
    done = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    svg = done.stdout.decode("utf-8")
    # subjects: customers; systems: crm, cloud-db; organisation: partner; three flows; and the
    # legend's three shapes and its colour key
    assert _dot_nodes_edges(svg) == (4 + 4, 3)
    assert "<script" not in svg and "<img" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "\\\\server\\share" in svg  # backslashes are literal, not escapes
    assert render_graph(hostile, fmt="svg") == svg.encode("utf-8")


def test_edges_coloured_by_status(hostile) -> None:  # type: ignore[no-untyped-def]
    dot = render_graph(hostile, fmt="dot").decode("utf-8")
    edge = re.compile(r'^\s*(\S+ -> \S+) \[.*?color="(#[0-9a-f]+)"', re.MULTILINE)
    edges = {m.group(1): m.group(2) for m in edge.finditer(dot)}
    assert edges['crm -> partner'] == diagram.EDGE["critical"][0]  # TRF-001 (critical), no mechanism
    assert edges['crm -> "cloud-db"'] == diagram.EDGE["waived"][0]  # TRF-004 waived
    assert edges["customers -> crm"] == diagram.EDGE["plain"][0]


def test_clusters_by_country_and_subjects(example) -> None:  # type: ignore[no-untyped-def]
    dot = render_graph(example, fmt="dot").decode("utf-8")
    assert "subgraph cluster_subjects" in dot
    countries = set(re.findall(r"subgraph cluster_country_([A-Z]{2})", dot))
    assert {"CN", "US"} <= countries
    assert render_graph(example, fmt="dot") == render_graph(example, fmt="dot")


def test_element_lineage_only(example) -> None:  # type: ignore[no-untyped-def]
    inv = example.inventory
    element = next(e for e in sorted(inv.elements) if any(e in f.elements for f in inv.flows.values()))
    dot = render_graph(example, element=element, fmt="dot").decode("utf-8")
    carrying = [f for f in inv.flows.values() if element in f.elements]
    assert len(re.findall(r" -> ", dot)) == len({(f.from_, f.to) for f in carrying})
    assert f"Flows of {element!r}" in dot


def test_unknown_element_suggests(example) -> None:  # type: ignore[no-untyped-def]
    inv = example.inventory
    element = min(inv.elements)
    with pytest.raises(FlowauditError, match=re.escape(f"did you mean {element!r}")):
        render_graph(example, element=element + "x", fmt="dot")


def test_large_inventories_are_folded(example, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    inv = example.inventory
    monkeypatch.setattr(diagram, "MAX_NODES", len(inv.subjects) + len(inv.organisations))
    dot = render_graph(example, fmt="dot").decode("utf-8")
    assert "aggregated by organisation" in dot
    assert not any(re.search(rf"^\s*\"?{re.escape(s)}\"? \[", dot, re.MULTILINE) for s in inv.systems)
    monkeypatch.setattr(diagram, "MAX_NODES", 3)
    dot = render_graph(example, fmt="dot").decode("utf-8")
    assert "aggregated by region" in dot or "aggregated by country" in dot
    assert not any(re.search(rf"^\s*\"?{re.escape(o)}\"? \[", dot, re.MULTILINE) for o in inv.organisations)


def test_without_dot(example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert render_graph(example, fmt="dot").startswith(b"digraph")
    for fmt in ("svg", "png"):
        with pytest.raises(FlowauditError) as caught:
            render_graph(example, fmt=fmt)
        assert str(caught.value) == NO_DOT
    said: list[str] = []
    out = tmp_path / "report"
    write_report(example, out, progress=said.append)
    assert sorted(p.name for p in out.iterdir()) == ["dataflow.svg", "findings.json", "report.html", "ropa.xlsx"]
    svg = (out / "dataflow.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "apt-get install graphviz" in svg
    assert any(m.startswith("warning:") and "graphviz" in m for m in said)
    assert "apt-get install graphviz" in (out / "report.html").read_text(encoding="utf-8")
    run = CliRunner().invoke(main, ["graph", str(EXAMPLE), "--format", "svg"])
    assert run.exit_code == 2 and "dot program is not installed" in run.output


def test_cli_graph(tmp_path: Path) -> None:
    require_program("dot", "graphviz draws the diagram")
    out = tmp_path / "g.png"
    run = CliRunner().invoke(main, ["graph", str(INJECTION), "--format", "png", "-o", str(out),
                                    "--as-of", "2025-06-01"])
    assert run.exit_code == 0, run.output
    assert out.read_bytes().startswith(b"\x89PNG")
    run = CliRunner().invoke(main, ["graph", str(INJECTION), "--format", "dot", "--element", "health"])
    assert run.exit_code == 0 and run.output.startswith("digraph")


def test_edge_colour_is_the_worst_unwaived_severity(example) -> None:  # type: ignore[no-untyped-def]
    from flowaudit.reports.records import ReportData

    data = ReportData(example)
    built = diagram.Diagram(data)
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 1}
    seen = set()
    for flow in example.inventory.flows.values():
        status = built._flow_status(flow)
        unwaived = [f.severity.value for f in data.findings_by_subject.get(flow.id, ()) if not f.waived]
        if unwaived:
            worst = max(unwaived, key=rank.__getitem__)
            assert status == ("low" if worst == "info" else worst), flow.id
            seen.add(status)
    assert {"critical", "high", "medium"} <= seen, "the example shows several severities"


def test_legend_and_one_safeguard_label_per_cluster_pair(example) -> None:  # type: ignore[no-untyped-def]
    dot = render_graph(example, fmt="dot").decode("utf-8")
    assert "subgraph cluster_legend" in dot
    for text in ("data subjects", "system", "worst finding critical", "findings all waived", "partner"):
        assert text in dot, text
    # edge labels are the safeguards written once per pair of clusters: no two edges between the
    # same clusters both carry a label
    from flowaudit.reports.records import ReportData

    data = ReportData(example)
    built = diagram.Diagram(data)
    labelled = [(a, b) for a, b, text in re.findall(r'^\s*(\S+) -> (\S+) \[.*?\blabel="([^"]*)"', dot, re.MULTILINE)
                if not re.match(r"\d+ flows?\b", text)]  # not the count on an edge of several flows
    nodes = {n: built._node(n.strip('"'), "full", {}).cluster for pair in labelled for n in pair}
    pairs = [(nodes[a], nodes[b]) for a, b in labelled]
    assert pairs and len(pairs) == len(set(pairs))
